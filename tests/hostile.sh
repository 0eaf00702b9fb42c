# hostile: the hub's counts against ordinary and hostile subscribers. The
# rule: COUNT topic is the number of live connections to the backend that
# hold at least one subscription that is a prefix of the topic, the sockets
# an event on it reaches, each once. Each case runs against a hub of its
# own, in tests/hostile.py (pyzmq, and herald_rawpeer for what no libzmq
# socket sends):
#   duplicate        a SUB subscribes to 'event' twice: 1; after one
#                    unsubscribe (libzmq sends none) still 1; after two, 0
#   duplicate_close  the same SUB closes: 0, no ghost
#   overlap          one SUB holding '', 'e', ... 'event': 1 for 'event',
#                    'e' and 'x', and it reads each event once; five: 5
#   forged_cancel    5 subscribers on 'event'; a raw peer's 5 cancels of
#                    'event' change nothing (one peer for each form of
#                    cancel: a \x00 message, a CANCEL command)
#   inflate          a raw peer subscribing 1000 times to 'inflate': 1,
#                    then 0 once it left (each form again)
#   churn            200 connections that subscribe and close in six ways,
#                    reusing descriptors, beside 5 long-lived: 5, and STATS
#                    agrees
#   oversize         a subscription of 120 kB (raw peer, then pyzmq): the
#                    hub lives and does not count it
#   scale            100,000 distinct subscriptions on 10 connections: all
#                    counted, COUNT still answers (times printed, not judged)
# Every case runs, and the test fails at the end naming those that failed,
# each with its "FAIL case: stage: what: expected X, got Y" line.
# HOSTILE_CASES="inflate churn" runs only those; HOSTILE_KEEP_GOING=1 makes
# a case go on after its first failed check and report every one.
. "$(dirname "$0")/lib.sh"

RAWPEER=${RAWPEER:?set RAWPEER to the herald_rawpeer test tool}
[ -x "$RAWPEER" ] || fail "RAWPEER is not a program: $RAWPEER"
need_pyzmq
HELPER="$(dirname "$0")/hostile.py"
ALL="duplicate duplicate_close overlap forged_cancel inflate churn oversize scale limit impostor forged_probe"
CASES=${HOSTILE_CASES:-$ALL}

failed=""
for case in $CASES; do
    note "case $case"
    start_hub
    outcome=0
    RAWPEER="$RAWPEER" "$PYTHON" "$HELPER" "$case" "$FRONTEND" "$BACKEND" "$CONTROL" \
        >"$TMP/$case.log" 2>&1 || outcome=$?
    if [ "$outcome" -eq 0 ] && [ "$(tail -n 1 "$TMP/$case.log")" != "PASS $case" ]; then
        echo "FAIL $case: hostile.py exited 0 without saying PASS $case" >>"$TMP/$case.log"
        outcome=1
    elif [ "$outcome" -ne 0 ] && [ "$outcome" -ne 1 ]; then
        echo "FAIL $case: hostile.py exited with $outcome" >>"$TMP/$case.log"
    fi
    # The hub must outlive every case.
    if kill -0 "$(pid_of hub)" 2>/dev/null; then
        kill -TERM "$(pid_of hub)"
        # A watchdog, not a wait: a hub that held a million subscriptions
        # on a loaded machine may take seconds to free them.
        finish hub 0 30
    else
        echo "FAIL $case: the hub is gone: $(tail -n 1 "$TMP/hub.err")" >>"$TMP/$case.log"
        outcome=1
        finish hub "$(seq -s '|' 0 255)" 5
    fi
    cp "$TMP/hub.err" "$TMP/$case.hub.err"
    sed 's/^/    /' "$TMP/$case.log" >&2
    [ "$outcome" -eq 0 ] || failed="$failed $case"
done
[ -z "$failed" ] || fail "cases failed:$failed"
echo "hostile: every count exact against ordinary and hostile subscribers"
