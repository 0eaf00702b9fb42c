# multihost: one hub, its clients on other hosts (tests/hosts.sh): the hub
# on host a, bound to a's address alone; subscribers on b and c; publishers
# on d.
#   - 6 subscribers, 3 on b and 3 on c, read all 2,000 events of a
#     publisher that waited for them, in order, and exit 0; the publisher
#     counts 6 before each event;
#   - c cut off (no FIN, no RST) while a publisher publishes: the hub drops
#     c's 3 subscribers by its heartbeats, 3 of them after the first ping
#     that goes unanswered, so 3 to 4 heartbeats after the cut (1.9 s of
#     500 ms here); healed, they reconnect by themselves (the hub resets
#     their old connections when their pings get through again) and the
#     count is 6 again, about 0.3 s after the heal here;
#   - c's subscribers then report the events they missed, as one gap each
#     that matches what they printed, and exit 65 at the end of the run;
#     b's lose nothing and exit 0.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hosts.sh"

EVENTS=2000
HEARTBEAT=500
# Reconnecting after the heal waits on TCP: the subscribers' unanswered
# pings are sent again at doubling intervals (0.2 s, 0.4 s...), the first
# one after the heal meets the hub's reset, and they connect again. After
# a cut of about 2 s, the next of them comes within about 2 s of the heal.
RECONNECT_MS=10000

now_ms() {
    echo $((${EPOCHREALTIME/./} / 1000))
}

hosts_make 4
start_hub_on a --heartbeat $HEARTBEAT
# Bound to a's address alone: not to loopback, even on a.
code=0
on a "$HERALD" stats --control "tcp://127.0.0.1:$((PORT_BASE + 2))" --wait-timeout 300 \
    >/dev/null 2>&1 || code=$?
[ $code -eq 69 ] || fail "a hub answered on a's loopback (stats exited $code, expected 69)"

# start_subs N...: subscribers bN on b and cN on c.
start_subs() {
    for n in "$@"; do
        for host in b c; do
            start $host$n on $host "$HERALD" sub --backend "$BACKEND" --control "$CONTROL" \
                --name $host$n --heartbeat $HEARTBEAT --idle-timeout 60000 $SUB_OPTIONS
        done
    done
    expect_count_on d event 6 10000
}

# peers HOST: how many of the hub's subscriber connections come from HOST.
peers() {
    on a ss -Htn state established "( sport = :$((PORT_BASE + 1)) )" \
        | awk -v addr="$(host_addr "$1")" '{ split($4, peer, ":") } peer[1] == addr { n++ }
            END { print n + 0 }'
}

# 1. The story across hosts.
SUB_OPTIONS=""
start_subs 1 2 3
[ "$(peers b) $(peers c)" = "3 3" ] \
    || fail "the hub's subscribers are not 3 from b and 3 from c: $(peers b) and $(peers c)"
start pub1 on d "$HERALD" pub --frontend "$FRONTEND" --control "$CONTROL" --events $EVENTS \
    --interval 0 --wait-subscribers 6
finish pub1 0 60
[ "$(sort -u "$TMP/pub1.out")" = "Publisher has 6 subscribers" ] \
    && [ "$(wc -l <"$TMP/pub1.out")" -eq $EVENTS ] \
    || fail "pub1 did not count 6 before each of its $EVENTS events: $(sort "$TMP/pub1.out" | uniq -c)"
for name in b1 b2 b3 c1 c2 c3; do
    finish $name 0
    check_story $name $EVENTS
done
expect_count_on d event 0

# 2. c cut off while pub2 publishes, then healed.
SUB_OPTIONS="--verbose"     # the last line, "read N messages, lost M", even with no loss
start_subs 4 5 6
start pub2 on d "$HERALD" pub --frontend "$FRONTEND" --control "$CONTROL" --events 1000000 \
    --interval 1 --no-count --no-terminate --wait-subscribers 6
for name in c4 c5 c6; do
    # A gap is a jump in a publisher's sequence: c's subscribers must have
    # read from pub2 before the cut for the later events to show one.
    timeout 20 tail -n +1 -f --pid="$(pid_of $name)" "$TMP/$name.out" | grep -q -m1 "got message" \
        || fail "$name got nothing from pub2"
done
left_before=$(stats_field_on d subscribers_left)
cut_at=$(now_ms)
host_cut c
# The hub drops a subscriber 3 heartbeats after the first of its pings that
# goes unanswered: the one in flight at the cut, or the next, at most one
# heartbeat later. So no sooner than 3 heartbeats less a round trip (2.5
# are asked), and within 4 (and a second more, for a busy machine).
expect_count_on d event 3 $((HEARTBEAT * 4 + 1000))
dropped_ms=$(($(now_ms) - cut_at))
[ $((dropped_ms * 2)) -ge $((HEARTBEAT * 5)) ] \
    || fail "c's subscribers left ${dropped_ms} ms after the cut: sooner than heartbeats can tell"
[ "$(stats_field_on d subscribers_left)" -eq $((left_before + 3)) ] \
    || fail "the hub did not drop exactly c's 3 subscribers: $(on d "$HERALD" stats --control "$CONTROL")"
healed_at=$(now_ms)
host_heal c
expect_count_on d event 6 $RECONNECT_MS
back_ms=$(($(now_ms) - healed_at))
[ "$(peers b) $(peers c)" = "3 3" ] \
    || fail "after the heal, not 3 subscribers from b and 3 from c: $(peers b) and $(peers c)"
[ "$(stats_field_on d subscribers_left)" -eq $((left_before + 3)) ] \
    || fail "subscribers left the hub again after the heal"
for name in c4 c5 c6; do
    timeout 20 tail -n +1 -f --pid="$(pid_of $name)" "$TMP/$name.err" | grep -q -m1 "$name lost" \
        || fail "$name reported no gap after the heal: $(tail -n 3 "$TMP/$name.err")"
done
kill -TERM "$(pid_of pub2)"
finish pub2 143

# pub3 ends the run: all 6 read all of its events.
start pub3 on d "$HERALD" pub --frontend "$FRONTEND" --control "$CONTROL" --events $EVENTS \
    --interval 0 --no-count --wait-subscribers 6
finish pub3 0 60

# check_run NAME GAPS: NAME read pub2's events in order with GAPS jumps,
# then pub3's all, TERMINATE, and left; its stderr reports exactly those
# jumps, and its last line the total read and lost.
check_run() {
    awk -v name="$1" -v events=$EVENTS -v gaps="$2" -v err="$TMP/$1.err" '
        function problem(text) { print name ": line " NR ": " text ": " $0; bad = 1; exit 1 }
        NR == 1 { if ($0 != name " is ready now to read") problem("not ready first"); next }
        $0 ~ "^" name " got message: THIS IS EVENT-[0-9]+$" {
            k = substr($NF, 7) + 0
            read++
            if (!third && k == 1 && last) third = 1
            if (!third) {
                if (!last && k != 1) problem("pub2 did not start at EVENT-1")
                if (last && k != last + 1) {
                    jumps++
                    missing += k - last - 1
                    expect[jumps] = name " lost " (k - last - 1) " events from publisher "
                    range[jumps] = "(sequence " (last + 1) ".." (k - 1) ")"
                }
                last = k
            } else if (k != ++pub3) problem("expected pub3 EVENT-" pub3)
            next
        }
        $0 == name " got message: TERMINATE" {
            if (pub3 != events) problem("TERMINATE after " pub3 " of pub3 events")
            terminated = 1; read++; next
        }
        $0 == name " is terminating!" { if (!terminated) problem("left before TERMINATE"); done = 1; next }
        { problem("unexpected line") }
        END {
            if (bad) exit 1
            if (!done) { print name ": never terminated"; exit 1 }
            if (jumps != gaps) { print name ": " jumps + 0 " gaps in pub2 events, expected " gaps; exit 1 }
            while ((getline line < err) > 0) {
                if (line ~ " lost [0-9]+ events from publisher ") {
                    reported++
                    if (index(line, expect[reported]) == 0 || index(line, range[reported]) == 0) {
                        print name ": reported " line "; printed " expect[reported] range[reported]
                        exit 1
                    }
                }
                if (line ~ " read [0-9]+ messages, lost [0-9]+$") final = line
            }
            if (reported != jumps) { print name ": " reported + 0 " gaps reported, " jumps + 0 " printed"; exit 1 }
            if (final !~ (" " name " read " read " messages, lost " missing + 0 "$")) {
                print name ": last line \"" final "\", expected read " read ", lost " missing + 0
                exit 1
            }
            printf "%s: %d of pub2 events, %d missed\n", name, last, missing
        }' "$TMP/$1.out" >&2 || fail "$1 did not tell its run as it happened"
}
for name in b4 b5 b6; do
    finish $name 0
    check_run $name 0
done
for name in c4 c5 c6; do
    finish $name 65
    check_run $name 1
done
expect_count_on d event 0

kill -TERM "$(pid_of hub)"
finish hub 0 5
hosts_remove || fail "the test hosts did not end cleanly"
echo "multihost: 6 subscribers on 2 hosts read $EVENTS events each; c cut off, dropped" \
    "after ${dropped_ms} ms (heartbeat $HEARTBEAT ms), counted again ${back_ms} ms after the heal," \
    "its subscribers reported their gap and exited 65"
