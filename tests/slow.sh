# slow: one slow subscriber neither stalls nor slows the others.
#
# The publisher sends about 1000 events a second, the slow subscriber reads
# 250. With the default policy (--drop-slow) a subscriber whose queue is
# full misses events and says so: the fast subscribers get every event
# while the slow one has read only a few, and the slow one reports its gap.
# With --no-drop-slow nothing is lost anywhere and everyone goes at the
# slowest one's pace. Big events (10 kB) fill the kernel's socket buffers
# after a few thousand, so queues do overflow.
. "$(dirname "$0")/lib.sh"

EVENTS=${SLOW_EVENTS:-10000}
SIZE=10000

note "--drop-slow (the default): $EVENTS events of $SIZE bytes, one subscriber reading one per 4 ms"
start_hub --hwm 1000
for name in f1 f2; do
    start "$name" "$HERALD" sub --backend "$BACKEND" --control "$CONTROL" --name "$name" --idle-timeout 60000
done
start slow "$HERALD" sub --backend "$BACKEND" --control "$CONTROL" --name slow --delay 4 --hwm 1000 \
    --idle-timeout 600000
expect_count event 3 5000
start p "$HERALD" pub --frontend "$FRONTEND" --control "$CONTROL" --events "$EVENTS" \
    --interval 1 --no-count --size "$SIZE" --wait-subscribers 3
finish f1 0 120
finish f2 0 120
read=$(($(wc -l <"$TMP/slow.out") - 1))
check_story f1 "$EVENTS"
check_story f2 "$EVENTS"
[ "$read" -lt $((EVENTS / 2)) ] \
    || fail "the slow subscriber had read $read of $EVENTS events when the fast ones were done: they waited for it"
note "the fast subscribers got all $EVENTS events while the slow one had read $read"
finish p 0 60
# The slow one reads what its queue held, then finds the gap and says so.
timeout 120 tail -n +1 -f --pid="$(pid_of slow)" "$TMP/slow.err" | grep -q -m1 "slow lost " \
    || fail "the slow subscriber did not report its gap: $(tail -n 3 "$TMP/slow.err")"
# TERMINATE itself may have found room in its queue: then it leaves, with
# 65 for the events it lost.
kill -TERM "$(pid_of slow)" 2>/dev/null || true
finish slow "65|143" 10
grep -q "slow read [0-9]* messages, lost [1-9][0-9]*$" "$TMP/slow.err" \
    || fail "the slow subscriber's last line does not report the loss: $(tail -n 1 "$TMP/slow.err")"
note "$(grep "slow lost " "$TMP/slow.err" | head -n 1 | sed 's/.* W sub\[[0-9]*\] //')"
# The hub counted every event in and out, per topic: the loss was past it.
"$HERALD" stats --control "$CONTROL" >"$TMP/stats.json"
grep -q "\"topics\":{.*\"event\":{\"in\":$EVENTS,\"out\":$EVENTS," "$TMP/stats.json" \
    || fail "the hub's counts for 'event': $(cat "$TMP/stats.json")"
grep -q "\"TERMINATE\":{\"in\":1,\"out\":1," "$TMP/stats.json" \
    || fail "the hub's counts for TERMINATE: $(cat "$TMP/stats.json")"
kill -TERM "$(pid_of hub)"
finish hub 0 5

BLOCKED=$((EVENTS * 2 / 5))
note "--no-drop-slow: $BLOCKED events, everyone waits for the slow one, nothing is lost"
start_hub --hwm 1000 --no-drop-slow
for name in f1 f2; do
    start "$name" "$HERALD" sub --backend "$BACKEND" --control "$CONTROL" --name "$name" --idle-timeout 60000
done
start slow "$HERALD" sub --backend "$BACKEND" --control "$CONTROL" --name slow --delay 4 --hwm 1000 \
    --idle-timeout 60000
expect_count event 3 5000
start p "$HERALD" pub --frontend "$FRONTEND" --control "$CONTROL" --events "$BLOCKED" \
    --interval 1 --no-count --size "$SIZE" --wait-subscribers 3
for name in f1 f2 slow p; do
    finish "$name" 0 120
done
for name in f1 f2 slow; do
    check_story "$name" "$BLOCKED"
done
kill -TERM "$(pid_of hub)"
finish hub 0 5
echo "slow: fast subscribers unaffected, the slow one's loss reported; --no-drop-slow loses nothing"
