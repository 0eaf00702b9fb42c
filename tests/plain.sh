# plain: publications in any layout, from a plain pyzmq publisher, reach a
# plain pyzmq subscriber verbatim and herald's subscribers as stories.
#   - a multipart message, a single frame with a space, a topic alone, a
#     frame with 0x00 and binary bytes: each forwarded whole, in order,
#     and never a probe (the publisher proves its path with probes in the
#     multipart layout);
#   - herald sub prints each payload (the frames after the topic, joined by
#     a space; or the frame after its topic and one space), and a plain
#     TERMINATE frame ends it, exit 0;
#   - the hub counts them as plain publications, per topic too, apart
#     from herald's events;
#   - with --no-drop-slow, 300 multipart publications wait whole in the
#     hub for a slow subscriber: it and a fast one read every one, whole,
#     in order.
. "$(dirname "$0")/lib.sh"

need_pyzmq

start_hub
for name in h1 h2; do
    start $name "$HERALD" sub --backend "$BACKEND" --control "$CONTROL" --name $name \
        --idle-timeout 10000
done
"$PYTHON" "$(dirname "$0")/plain.py" "$FRONTEND" "$BACKEND" "$CONTROL" 3 >"$TMP/plain.out" 2>&1 \
    || fail "the plain subscriber: $(cat "$TMP/plain.out")"
for name in h1 h2; do
    finish $name 0
    printf '%s\n' "$name is ready now to read" "$name got message: hello world" \
        "$name got message: single frame" "$name got message:  after an empty frame" \
        "$name got message: " \
        "$name got message: binary." "$name got message: TERMINATE" "$name is terminating!" \
        | cmp -s - "$TMP/$name.out" || fail "$name's story: $(cat "$TMP/$name.out")"
done
[ "$(stats_field plain_in)" -eq 6 ] || fail "the hub counted $(stats_field plain_in) plain publications in"
[ "$(stats_field plain_out)" -eq 6 ] || fail "the hub counted $(stats_field plain_out) plain publications out"
[ "$(stats_field in)" -eq 0 ] || fail "the hub counted plain publications as herald events"
"$HERALD" stats --control "$CONTROL" | grep -q '"event":{"in":0,"out":0,"plain_in":4,"plain_out":4}' \
    || fail "the hub's counters for 'event': $("$HERALD" stats --control "$CONTROL")"
kill -TERM "$(pid_of hub)"
finish hub 0 5

# With --no-drop-slow, a multipart publication that meets a full queue
# waits whole in the hub: a slow subscriber and a fast one both read all
# 300, each whole and in order.
start_hub --no-drop-slow --hwm 5
start slow "$HERALD" sub --backend "$BACKEND" --control "$CONTROL" --format text --hwm 5 \
    --delay 2 --max-messages 300 --idle-timeout 20000
"$HERALD" stats --control "$CONTROL" --topic event --expect 1 --wait-timeout 10000 >/dev/null \
    || fail "the slow subscriber was not counted"
"$PYTHON" - "$FRONTEND" "$BACKEND" "$CONTROL" >"$TMP/held.out" 2>&1 <<'PY' || fail "$(cat "$TMP/held.out")"
import os, sys, zmq
frontend, backend, control = sys.argv[1:4]
ctx = zmq.Context()
ctx.linger = 0
sub = ctx.socket(zmq.SUB)
sub.rcvtimeo = 20000
sub.connect(backend)
sub.subscribe(b"event")
req = ctx.socket(zmq.REQ)
req.connect(control)
req.send_multipart([b"WAIT", b"event", b"2", b"2", b"10000"])
if req.recv_multipart()[0] != b"OK":
    sys.exit("the hub did not count the fast subscriber")
pub = ctx.socket(zmq.PUB)
pub.sndhwm = 0
pub.connect(frontend)
nonce = os.urandom(16).hex().encode()
req.send_multipart([b"PROBE", nonce, b"10000"])
while not req.poll(10):
    pub.send_multipart([b"$herald/probe", nonce])
req.recv_multipart()
for index in range(300):
    pub.send_multipart([b"event", b"%d" % index, b"x" * 1000])
for index in range(300):
    got = sub.recv_multipart()
    if got != [b"event", b"%d" % index, b"x" * 1000]:
        sys.exit(f"the fast subscriber read {got[:2]} where {index} was due")
print("PASS")
PY
finish slow 0 60
seq 0 299 | sed 's/$/ '"$(printf 'x%.0s' $(seq 1000))"'/' | cmp -s - "$TMP/slow.out" \
    || fail "the slow subscriber read: $(head -c 300 "$TMP/slow.out")"
[ "$(stats_field plain_out)" -eq 300 ] || fail "the hub handed $(stats_field plain_out) of 300 on"
kill -TERM "$(pid_of hub)"
finish hub 0 5
echo "plain: every layout forwarded whole, told, counted; a plain TERMINATE ends herald's subscribers; multipart held whole for a slow subscriber"
