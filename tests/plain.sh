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
#     from herald's events.
. "$(dirname "$0")/lib.sh"

PYTHON=/usr/bin/python3
if ! "$PYTHON" -c 'import zmq' 2>/dev/null; then
    echo "plain: skipped: $PYTHON cannot import zmq (apt-get install python3-zmq)" >&2
    exit 77
fi

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
        "$name got message: single frame" "$name got message: " "$name got message: " \
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
echo "plain: every layout forwarded whole, told, counted; a plain TERMINATE ends herald's subscribers"
