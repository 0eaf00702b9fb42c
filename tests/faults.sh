# faults: herald keeps its counts and its promises through faults.
#   - a subscriber that stops answering while its connection stays open
#     (SIGSTOP) leaves the count within the heartbeat's dead-peer time, and
#     comes back when it resumes;
#   - the hub killed with SIGKILL and started again on the same endpoints:
#     subscribers reconnect and resubscribe, counts recover exactly, and a
#     publisher's events reach every subscriber;
#   - a publisher killed mid-stream: hub and subscribers carry on, and a new
#     publisher's events arrive, with no gap reported;
#   - a publisher whose connection drops while it publishes (the hub killed
#     and restarted under it) cannot prove its events arrived: it says so
#     and exits 65, and the subscriber reports the gap;
#   - a subscriber that is alive but reads nothing for longer than the
#     heartbeat's dead-peer time, its queue full (so libzmq reads no pings
#     from the hub either), is not taken for dead: its own pings keep it.
. "$(dirname "$0")/lib.sh"

# s3 below must stay stopped for longer than its idle timeout plus the
# second a wake-up may be late by (HERALD_LATE_MS): the hub drops it after
# 3 heartbeats, so 3 x HEARTBEAT > 1000 + 1000.
HEARTBEAT=${FAULTS_HEARTBEAT:-1000}
start_hub --heartbeat "$HEARTBEAT"
for name in s1 s2; do
    start $name "$HERALD" sub --backend "$BACKEND" --control "$CONTROL" --name $name --idle-timeout 30000
done
# s3 is stopped for longer than its idle timeout: woken up, it must wait
# again rather than take the time it was stopped for silence.
expect_count event 2
start s3 "$HERALD" sub --backend "$BACKEND" --control "$CONTROL" --name s3 --idle-timeout 1000
# Ready means counted; stopped at once, so that its idle time runs while
# it is stopped, however slow the machine.
timeout 20 tail -n +1 -f --pid="$(pid_of s3)" "$TMP/s3.out" | grep -q -m1 "s3 is ready now to read" \
    || fail "s3 was never ready: $(cat "$TMP/s3.err")"
kill -STOP "$(pid_of s3)"

# Stopped: pings go unanswered, the hub drops the connection.
expect_count event 2 $((HEARTBEAT * 4 + 1000))
kill -CONT "$(pid_of s3)"
expect_count event 3 5000
kill -TERM "$(pid_of s3)"
finish s3 143
expect_count event 2

# The hub dies and comes back on the same endpoints.
kill -KILL "$(pid_of hub)"
finish hub 137
start_hub --heartbeat "$HEARTBEAT"
expect_count event 2 5000
start pub1 "$HERALD" pub --frontend "$FRONTEND" --control "$CONTROL" --events 3 --interval 0 \
    --no-terminate --wait-subscribers 2
finish pub1 0

# A publisher killed mid-stream, then another that finishes the run.
start pub2 "$HERALD" pub --frontend "$FRONTEND" --control "$CONTROL" --events 100000 \
    --interval 1 --no-terminate --wait-subscribers 2
kill -KILL "$(pid_of pub2)"
finish pub2 137
start pub3 "$HERALD" pub --frontend "$FRONTEND" --control "$CONTROL" --events 2 --interval 0 \
    --wait-subscribers 2
finish pub3 0
for name in s1 s2; do
    finish $name 0
    # pub1's three events, some of pub2's, then pub3's two and TERMINATE.
    awk -v name=$name '
        $0 == name " got message: THIS IS EVENT-1" { ones++ }
        END { if (ones < 2) { print name ": " ones " EVENT-1 lines"; exit 1 } }
    ' "$TMP/$name.out" >&2 || fail "$name did not hear every publisher"
    tail -n 3 "$TMP/$name.out" | cmp -s - <(printf '%s\n' "$name got message: THIS IS EVENT-2" \
        "$name got message: TERMINATE" "$name is terminating!") \
        || fail "$name did not end with pub3's events: $(tail -n 3 "$TMP/$name.out")"
    ! grep -q "lost" "$TMP/$name.err" || fail "$name reported a gap: $(cat "$TMP/$name.err")"
done
expect_count event 0

start s4 "$HERALD" sub --backend "$BACKEND" --control "$CONTROL" --name s4 --idle-timeout 30000
expect_count event 1
start pub4 "$HERALD" pub --frontend "$FRONTEND" --control "$CONTROL" --events 10000 --interval 1 \
    --no-count --no-terminate --wait-subscribers 1
timeout 20 tail -n +1 -f --pid="$(pid_of s4)" "$TMP/s4.out" | grep -q -m1 "got message" \
    || fail "s4 got no event from pub4"
# s4 is held back while the hub restarts, until the new hub has taken some
# of pub4's events: those reach no subscriber, so s4 has a gap for certain
# (left to chance, s4 may be back before pub4 and miss nothing).
kill -STOP "$(pid_of s4)"
kill -KILL "$(pid_of hub)"
finish hub 137
start_hub --heartbeat "$HEARTBEAT"
deadline=$((SECONDS + 10))
until [ "$(stats_field in)" -gt 0 ]; do
    [ $SECONDS -lt $deadline ] || fail "the new hub took no event from pub4 in 10 s"
done
kill -CONT "$(pid_of s4)"
expect_count event 1 5000
kill -0 "$(pid_of pub4)" 2>/dev/null || fail "pub4 was done before s4 was back"
finish pub4 65 60
grep -q "connection to the hub at $FRONTEND dropped" "$TMP/pub4.err" \
    || fail "pub4 did not say why: $(tail -n 1 "$TMP/pub4.err")"
# s4 reports the gap; when the run ends, its exit code says so too (65).
timeout 30 tail -n +1 -f --pid="$(pid_of s4)" "$TMP/s4.err" | grep -q -m1 "s4 lost [0-9]* events" \
    || fail "s4 did not report the gap"
start pub6 "$HERALD" pub --frontend "$FRONTEND" --control "$CONTROL" --events 1 --interval 0 \
    --wait-subscribers 1
finish pub6 0
finish s4 65
grep -q "s4 read [0-9]* messages, lost [1-9]" "$TMP/s4.err" || fail "s4's last line hides the loss"

kill -TERM "$(pid_of hub)"
finish hub 0 5

start_hub --heartbeat "$HEARTBEAT" --hwm 1000
start late "$HERALD" sub --backend "$BACKEND" --control "$CONTROL" --name late --hwm 1000 \
    --ready-delay $((HEARTBEAT * 8)) --idle-timeout 30000
expect_count event 1
start pub5 "$HERALD" pub --frontend "$FRONTEND" --control "$CONTROL" --events 3000 --interval 0 \
    --size 10000 --no-count --wait-subscribers 1
finish pub5 0 60
# While it waits to read, the count must not fall: the hub answers as soon
# as it does, or says TIMEOUT with the count once late starts reading.
"$CTL" "$CONTROL" --timeout $((HEARTBEAT * 10)) WAIT event 0 0 $((HEARTBEAT * 8)) \
    >"$TMP/wait.out" || fail "the hub did not answer WAIT"
[ "$(head -n 1 "$TMP/wait.out")" = TIMEOUT ] \
    || fail "late left the count while it waited to read: $(tr '\n' ' ' <"$TMP/wait.out")"
[ "$(stats_field subscribers_left)" -eq 0 ] || fail "late was dropped and came back"
timeout 30 tail -n +1 -f --pid="$(pid_of late)" "$TMP/late.out" | grep -q -m1 "late got message" \
    || fail "late read nothing"
kill -TERM "$(pid_of late)"
finish late "65|143"
kill -TERM "$(pid_of hub)"
finish hub 0 5
echo "faults: stopped subscriber dropped and back, hub restarted, publisher killed"
