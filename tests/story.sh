# story: `herald demo` tells the seed's story, exactly, and leaves nothing behind.
#   - it exits 0;
#   - every subscriber is ready, reads EVENT-1 first, then the events in
#     order, and terminates (after TERMINATE, or saying it has had enough);
#   - each "Publisher has N subscribers" counts the subscribers alive then;
#   - the same --seed makes the same choices.
. "$(dirname "$0")/lib.sh"

SUBSCRIBERS=5
EVENTS=9

run_demo() {    # run_demo NAME SEED
    start "$1" "$HERALD" demo --frontend "$FRONTEND_BIND" --backend "$BACKEND_BIND" \
        --control "$CONTROL_BIND" --subscribers $SUBSCRIBERS --events $EVENTS --seed "$2" \
        --verbose
    finish "$1" 0 60
}

check_demo() {  # check_demo NAME
    awk -v subscribers=$SUBSCRIBERS -v events=$EVENTS '
        function problem(text) { print "line " NR ": " text ": " $0; bad = 1; exit 1 }
        /^Publisher has [0-9]+ subscribers$/ {
            counts++
            alive = subscribers - gone
            # A subscriber that said it is terminating since the last count
            # may not have closed its connection yet: its disconnect is in
            # flight. Anyone who left earlier must not be counted.
            if (counts == 1 && $3 != subscribers) problem("first count must be all " subscribers)
            if ($3 < alive || $3 > alive + recent) problem("alive: " alive ", just left: " recent)
            recent = 0
            next
        }
        /^Subscriber[0-9]+ / {
            name = $1
            if (done[name]) problem(name " spoke after terminating")
            if ($0 == name " is ready now to read") {
                if (ready[name]++) problem("ready twice")
                next
            }
            if (!ready[name]) problem(name " spoke before it was ready")
            if ($0 ~ / got message: THIS IS EVENT-[0-9]+$/) {
                k = substr($NF, 7)
                if (k != got[name] + 1) problem("expected EVENT-" got[name] + 1)
                if (k > counts) problem("event before its count line")
                got[name] = k
                next
            }
            if ($0 == name " got message: TERMINATE") {
                if (got[name] != events) problem("TERMINATE before the last event")
                terminated[name] = 1
                next
            }
            if ($0 == name " has enough reading!") { enough[name] = 1; next }
            if ($0 == name " is terminating!") {
                if (!terminated[name] && !enough[name]) problem("left without a reason")
                done[name] = 1; gone++; recent++
                next
            }
            problem("unexpected line")
        }
        { problem("unexpected line") }
        END {
            if (bad) exit 1
            if (counts != events) { print counts " count lines, expected " events; exit 1 }
            for (i = 0; i < subscribers; i++) {
                name = "Subscriber" i
                if (!done[name]) { print name " never terminated"; exit 1 }
                if (got[name] < 1) { print name " never read EVENT-1"; exit 1 }
            }
        }' "$TMP/$1.out" >&2 || fail "$1 told the story wrong"
}

for seed in 1 2 3; do
    run_demo "demo-$seed" "$seed"
    check_demo "demo-$seed" "$seed"
done

# The same seed, the same random choices.
run_demo demo-1-again 1
check_demo demo-1-again 1
grep 'ready after' "$TMP/demo-1.err" | sed 's/^.*demo\[[0-9]*\] //' >"$TMP/plan-1"
grep 'ready after' "$TMP/demo-1-again.err" | sed 's/^.*demo\[[0-9]*\] //' >"$TMP/plan-1-again"
[ "$(wc -l <"$TMP/plan-1")" -eq $SUBSCRIBERS ] || fail "the demo did not log its plan"
cmp -s "$TMP/plan-1" "$TMP/plan-1-again" || fail "the same seed made different choices"

# The demo reaped every child: nothing on this test's ports remains.
if pgrep -f -- ":$((PORT_BASE + 1))" >/dev/null; then
    fail "a demo child is still running"
fi
echo "story: 4 demos told the story exactly"
