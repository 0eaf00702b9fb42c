# fds: a hub out of file descriptors says so once, clearly, and goes on
# serving the connections it has.
#
# The hub runs under `ulimit -n 48` (soft and hard, so it cannot raise
# it): four subscribers and a publisher connect, then forty more
# subscribers try to, and most find no descriptor left.
. "$(dirname "$0")/lib.sh"

LIMIT=48
EXTRA=40
EVENTS=40

start hub sh -c 'ulimit -n "$1" && shift && exec "$@"' limit "$LIMIT" \
    "$HERALD" hub --frontend "$FRONTEND_BIND" --backend "$BACKEND_BIND" --control "$CONTROL_BIND"
"$HERALD" stats --control "$CONTROL" --wait-timeout 5000 >/dev/null \
    || fail "the hub did not answer on $CONTROL"
grep -q "up to $LIMIT file descriptors" "$TMP/hub.err" || fail "the hub did not log its limit of $LIMIT"
for index in 1 2 3 4; do
    start "s$index" "$HERALD" sub --backend "$BACKEND" --control "$CONTROL" --name "s$index" --idle-timeout 30000
done
expect_count event 4 5000
# The publisher connects now, and publishes for about 4 s.
start p "$HERALD" pub --frontend "$FRONTEND" --control "$CONTROL" --events "$EVENTS" \
    --interval 100 --wait-subscribers 4
timeout 20 tail -n +1 -f --pid="$(pid_of p)" "$TMP/p.out" | grep -q -m1 "^Publisher has" \
    || fail "the publisher did not start: $(tail -n 2 "$TMP/p.err")"
for index in $(seq 1 "$EXTRA"); do
    start "x$index" "$HERALD" sub --backend "$BACKEND" --control "$CONTROL" --name "x$index" \
        --idle-timeout 60000 --wait-timeout 120000
done
timeout 20 tail -n +1 -f --pid="$(pid_of hub)" "$TMP/hub.err" | grep -q -m1 "cannot accept" \
    || fail "the hub did not log running out of descriptors"
kill -0 "$(pid_of p)" 2>/dev/null || fail "the publisher was done before the hub ran out"
note "$(grep "cannot accept" "$TMP/hub.err" | sed 's/.* E hub\[[0-9]*\] //')"
finish p 0 60
for index in 1 2 3 4; do
    finish "s$index" 0 30
    check_story "s$index" "$EVENTS"
done
# The extra subscribers that got in may have read TERMINATE; the rest
# still wait for the hub (longer than this test lasts, even under the
# sanitizers, where a hub out of descriptors answers handshakes slowly).
for index in $(seq 1 "$EXTRA"); do
    kill -TERM "$(pid_of "x$index")" 2>/dev/null || true
    finish "x$index" "0|143" 10
done
[ "$(grep -c "cannot accept" "$TMP/hub.err")" -eq 1 ] \
    || fail "the hub logged running out more than once: $(grep -c "cannot accept" "$TMP/hub.err")"
failures=$(stats_field accept_failures)
[ "$failures" -gt 0 ] || fail "the hub did not count failed accepts"
note "$failures failed accepts counted"
kill -TERM "$(pid_of hub)"
finish hub 0 5
echo "fds: out of descriptors logged once; every connected subscriber got every event"
