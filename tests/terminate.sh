# terminate: every process ends cleanly, with its documented exit code, and
# none is left behind.
#   - after TERMINATE, subscribers, publisher and a hub run with
#     --exit-on-terminate all exit 0;
#   - --drain-timeout bounds how long that hub waits for a subscriber;
#   - SIGTERM or SIGINT: the hub exits 0, the others 143 or 130;
#   - the demo, interrupted, stops and reaps all its children (130, 143);
#   - the demo names a child that fails and exits 70.
. "$(dirname "$0")/lib.sh"

no_process_on_ports() {
    if pgrep -f -- ":$((PORT_BASE + 1))" >/dev/null; then
        pgrep -af -- ":$((PORT_BASE + 1))" >&2
        fail "$1"
    fi
}

# TERMINATE ends the run, the hub's too.
start_hub --exit-on-terminate
for name in s1 s2; do
    start $name "$HERALD" sub --backend "$BACKEND" --control "$CONTROL" --name $name
done
start s3 "$HERALD" sub --backend "$BACKEND" --control "$CONTROL" --name s3 --max-messages 1
start pub "$HERALD" pub --frontend "$FRONTEND" --control "$CONTROL" --events 3 \
    --interval 0 --wait-subscribers 3
for name in pub s1 s2 s3 hub; do
    finish $name 0 10
done
check_story s1 3
grep -q "TERMINATE passed" "$TMP/hub.err" || fail "the hub did not say why it exited"

# A subscriber that does not leave: the hub exits at its drain timeout
# anyway, and the subscriber still reads everything queued for it.
start_hub --exit-on-terminate --drain-timeout 300
start late "$HERALD" sub --backend "$BACKEND" --control "$CONTROL" --name late --ready-delay 1500
start pub "$HERALD" pub --frontend "$FRONTEND" --control "$CONTROL" --events 2 \
    --interval 0 --wait-subscribers 1
finish pub 0
finish hub 0 5
grep -q "2 subscriptions, 0 publishers and 0 hubs below remain" "$TMP/hub.err" \
    || fail "the hub did not report the subscriber it left behind"
finish late 0
check_story late 2

# Signals: a clean exit within a second, with the documented code.
start_hub
start waiting "$HERALD" sub --backend "$BACKEND" --control "$CONTROL" --name waiting
start waiter "$HERALD" pub --frontend "$FRONTEND" --control "$CONTROL" --wait-subscribers 5
start watcher "$HERALD" stats --control "$CONTROL" --topic event --expect 7
expect_count event 1
kill -TERM "$(pid_of waiting)"
finish waiting 143 1
kill -INT "$(pid_of waiter)"
finish waiter 130 1
kill -TERM "$(pid_of watcher)"
finish watcher 143 1
kill -INT "$(pid_of hub)"
finish hub 0 1

# The demo, interrupted mid-story, stops every child and reaps it.
for signal in INT TERM; do
    start demo "$HERALD" demo --frontend "$FRONTEND_BIND" --backend "$BACKEND_BIND" \
        --control "$CONTROL_BIND" --subscribers 3 --events 1000 --seed 1
    expect_count event 3 10000
    kill -$signal "$(pid_of demo)"
    if [ $signal = INT ]; then finish demo 130 5; else finish demo 143 5; fi
    no_process_on_ports "a demo child outlived the demo (SIG$signal)"
done

# A child that fails is named, the others are stopped, the demo exits 70.
start_hub
start demo "$HERALD" demo --frontend "$FRONTEND_BIND" --backend "$BACKEND_BIND" \
    --control "$CONTROL_BIND" --subscribers 2
finish demo 70 10
grep -q "lost child: hub exited with 69" "$TMP/demo.err" \
    || fail "the demo did not name its failed hub: $(cat "$TMP/demo.err")"
kill -TERM "$(pid_of hub)"
finish hub 0 2
no_process_on_ports "a child of the failed demo is still running"
echo "terminate: clean exits, right codes, nothing left behind"
