# python_client: the Python client (clients/python/herald.py, on pyzmq),
# written from docs/protocol.md alone, keeps herald's guarantee both ways.
#   1. the Python publisher (example_pub.py) waits for 10 herald subs,
#      publishes 2,000 events with no interval and TERMINATE: every one
#      gets every event in order and ends on TERMINATE, exit 0; the
#      publisher's final probe says all reached the hub (exit 0), and the
#      hub forwarded exactly 2,001;
#   2. herald pub --wait-subscribers 10 to 10 Python subscribers
#      (example_sub.py): each is counted, gets all 2,000 in order with no
#      gap, and exits 0 on TERMINATE;
#   3. a Python publisher that sends TERMINATE alone ends herald subs, and
#      a hub run with --exit-on-terminate;
#   4. the API in one process (tests/python_client.py): layouts, publisher
#      ids and sequences, gaps and repeats reported, plain publications,
#      Timeout, Unreachable, HubError, and "try again" retried; then
#      example_sub.py exits 65 after a publisher skips sequence numbers;
#   5. the hub last: 5 Python subscribers and the Python publisher start
#      before the hub, and each socket reconnects on its own timer, so that
#      only the probes show when a path is open: every event arrives.
# Skipped (77) where /usr/bin/python3 cannot import zmq.
. "$(dirname "$0")/lib.sh"

need_pyzmq
CLIENT="$(cd "$(dirname "$0")/../clients/python" && pwd)"
# The client is imported from the source tree: leave no __pycache__ there.
export PYTHONDONTWRITEBYTECODE=1
SUBSCRIBERS=10
EVENTS=2000

stop_hub() {
    kill -TERM "$(pid_of hub)"
    finish hub 0 5
}

note "1. a Python publisher, $SUBSCRIBERS herald subs, $EVENTS events"
start_hub
i=1
while [ $i -le $SUBSCRIBERS ]; do
    start "h$i" "$HERALD" sub --backend "$BACKEND" --control "$CONTROL" --name "h$i" \
        --idle-timeout 30000
    i=$((i + 1))
done
start pypub "$PYTHON" "$CLIENT/example_pub.py" --frontend "$FRONTEND" --control "$CONTROL" \
    --events $EVENTS --interval 0 --wait-subscribers $SUBSCRIBERS --no-count
finish pypub 0 120
i=1
while [ $i -le $SUBSCRIBERS ]; do
    finish "h$i" 0 60
    check_story "h$i" $EVENTS
    i=$((i + 1))
done
expect_count event 0
[ "$(stats_field in)" -eq $((EVENTS + 1)) ] \
    || fail "the hub forwarded $(stats_field in) events, expected $((EVENTS + 1))"
[ "$(stats_field terminate)" -eq 1 ] || fail "the hub saw $(stats_field terminate) TERMINATEs"

note "2. herald pub, $SUBSCRIBERS Python subscribers, $EVENTS events"
i=1
while [ $i -le $SUBSCRIBERS ]; do
    start "p$i" "$PYTHON" "$CLIENT/example_sub.py" --backend "$BACKEND" --control "$CONTROL" \
        --name "p$i" --idle-timeout 30
    i=$((i + 1))
done
start pub "$HERALD" pub --frontend "$FRONTEND" --control "$CONTROL" --events $EVENTS \
    --interval 0 --wait-subscribers $SUBSCRIBERS --no-count
finish pub 0 120
i=1
while [ $i -le $SUBSCRIBERS ]; do
    finish "p$i" 0 60
    check_story "p$i" $EVENTS
    grep -q "p$i read $((EVENTS + 1)) messages, lost 0" "$TMP/p$i.err" \
        || fail "p$i's last line: $(tail -n 1 "$TMP/p$i.err")"
    i=$((i + 1))
done
expect_count event 0
stop_hub

note "3. a Python publisher's TERMINATE ends herald subs and the hub"
start_hub --exit-on-terminate
for name in t1 t2 t3; do
    start $name "$HERALD" sub --backend "$BACKEND" --control "$CONTROL" --name $name \
        --idle-timeout 30000
done
start pypub "$PYTHON" "$CLIENT/example_pub.py" --frontend "$FRONTEND" --control "$CONTROL" \
    --events 0 --wait-subscribers 3
for name in pypub t1 t2 t3; do
    finish $name 0 30
done
for name in t1 t2 t3; do
    check_story $name 0
done
finish hub 0 15
grep -q "TERMINATE passed" "$TMP/hub.err" || fail "the hub did not say why it exited"

note "4. the API in one process, and a gap"
start_hub
"$PYTHON" "$(dirname "$0")/python_client.py" "$FRONTEND" "$BACKEND" "$CONTROL" \
    "tcp://127.0.0.1:$((PORT_BASE + 3))" "$(pid_of hub)" >"$TMP/api.out" 2>&1 \
    || fail "python_client.py: $(grep -v '^ok' "$TMP/api.out")"
[ "$(tail -n 1 "$TMP/api.out")" = PASS ] || fail "python_client.py did not say PASS"
grep -q "api lost 2 events from publisher [0-9a-f]\{16\} (sequence 4..5)" "$TMP/api.out" \
    || fail "the subscriber did not log its gap: $(cat "$TMP/api.out")"

# example_sub.py after a gap: it reads to TERMINATE, then exits 65.
start gappy "$PYTHON" "$CLIENT/example_sub.py" --backend "$BACKEND" --control "$CONTROL" \
    --name gappy --idle-timeout 30
"$PYTHON" - "$CLIENT" "$FRONTEND" "$CONTROL" <<'EOF' >"$TMP/skipper.out" 2>&1 \
    || fail "the skipping publisher: $(cat "$TMP/skipper.out")"
import sys
sys.path.insert(0, sys.argv[1])
import herald
with herald.Publisher(sys.argv[2], sys.argv[3], timeout=10) as pub:
    pub.wait_subscribers("event", 1, 10)
    pub.publish("event", "THIS IS EVENT-1")
    pub.sequence += 3
    pub.publish("event", "THIS IS EVENT-5")
    pub.terminate()
EOF
finish gappy 65 30
printf '%s\n' "gappy is ready now to read" "gappy got message: THIS IS EVENT-1" \
    "gappy got message: THIS IS EVENT-5" "gappy got message: TERMINATE" "gappy is terminating!" \
    | cmp -s - "$TMP/gappy.out" || fail "gappy's story: $(cat "$TMP/gappy.out")"
grep -q "gappy lost 3 events from publisher [0-9a-f]\{16\} (sequence 2..4)" "$TMP/gappy.err" \
    || fail "gappy did not log its gap: $(cat "$TMP/gappy.err")"
stop_hub

note "5. the hub last"
for name in l1 l2 l3 l4 l5; do
    start $name "$PYTHON" "$CLIENT/example_sub.py" --backend "$BACKEND" --control "$CONTROL" \
        --name $name --idle-timeout 30
done
start pypub "$PYTHON" "$CLIENT/example_pub.py" --frontend "$FRONTEND" --control "$CONTROL" \
    --events $EVENTS --interval 0 --wait-subscribers 5 --no-count
start_hub
finish pypub 0 120
for name in l1 l2 l3 l4 l5; do
    finish $name 0 60
    check_story $name $EVENTS
done
[ "$(stats_field in)" -eq $((EVENTS + 1)) ] \
    || fail "the hub forwarded $(stats_field in) events, expected $((EVENTS + 1))"
stop_hub
echo "python_client: the Python client publishes to and reads from herald's own, every event in order"
