# exit_codes: the exit-code table of docs/operations.md, role by role.
#   Each role is made to end each way the table lists for it, and its code
#   checked; internal and system errors (70, 71), which nothing outside a
#   process can cause, are caused with tests/inject.c (a failing zmq_poll,
#   a failing fork). At the end, every code in the table must have been
#   seen, so that the table and the code cannot drift apart.
. "$(dirname "$0")/lib.sh"

[ -x "$CTL" ] || fail "set CTL to the herald_ctl test tool"
[ -e "$INJECT" ] || fail "set INJECT to libherald_inject.so"

SEEN=" "
NOWHERE="tcp://127.0.0.1:$((PORT_BASE + 5))"

# ends ROLE CODE WHY COMMAND...: COMMAND (herald ROLE ...) exits CODE.
ends() {
    role=$1 expected=$2 why=$3
    shift 3
    code=0
    "$@" >"$TMP/ends.out" 2>"$TMP/ends.err" || code=$?
    [ "$code" -eq "$expected" ] \
        || fail "$role, $why: exit $code, expected $expected: $(tail -n 3 "$TMP/ends.err")"
    SEEN="$SEEN$expected "
}

# ends_on_signal ROLE SIGNAL CODE COMMAND...: COMMAND, once it waits for
# a hub that never comes, is stopped by SIGNAL and exits CODE.
ends_on_signal() {
    role=$1 signal=$2 expected=$3
    shift 3
    start "$role-$signal" "$@"
    timeout 10 tail -n +1 -f --pid="$(pid_of "$role-$signal")" "$TMP/$role-$signal.err" \
        | grep -q -m1 "waiting for the hub" || fail "$role never said it waits for the hub"
    kill -"$signal" "$(pid_of "$role-$signal")"
    finish "$role-$signal" "$expected" 10
    SEEN="$SEEN$expected "
}

injected() {
    env INJECT_FAIL="$1" LD_PRELOAD="$INJECT" ASAN_OPTIONS=verify_asan_link_order=0 "${@:2}"
}

"$HERALD" keygen --out "$TMP/key.cert" >/dev/null || fail "keygen"
BADKEY="--curve-secret=$TMP/nothing"  # a key file that is not there

# hub
start_hub
ends hub 64 "unknown option" "$HERALD" hub --bogus
ends hub 69 "endpoint in use" "$HERALD" hub --frontend "$FRONTEND_BIND" \
    --backend "tcp://*:$((PORT_BASE + 6))" --control "tcp://*:$((PORT_BASE + 7))"
ends hub 70 "poll fails" injected zmq_poll "$HERALD" hub --frontend "tcp://*:$((PORT_BASE + 5))" \
    --backend "tcp://*:$((PORT_BASE + 6))" --control "tcp://*:$((PORT_BASE + 7))" \
    --federation "tcp://*:$((PORT_BASE + 8))"
ends hub 78 "unreadable key" "$HERALD" hub "$BADKEY" --control "tcp://*:$((PORT_BASE + 7))"

# pub
ends pub 0 "every event reached the hub" "$HERALD" pub --frontend "$FRONTEND" \
    --control "$CONTROL" --events 2 --interval 0 --no-terminate
ends pub 64 "bad value" "$HERALD" pub --events many
ends pub 69 "no hub" "$HERALD" pub --control "$NOWHERE" --wait-timeout 200
ends pub 70 "poll fails" injected zmq_poll "$HERALD" pub --frontend "$FRONTEND" \
    --control "$CONTROL"
ends pub 78 "unreadable key" "$HERALD" pub --curve-server-key "$TMP/key.cert" "$BADKEY"
ends_on_signal pub INT 130 "$HERALD" pub --control "$NOWHERE"
ends_on_signal pub TERM 143 "$HERALD" pub --control "$NOWHERE"

# sub
start gap "$HERALD" sub --backend "$BACKEND" --control "$CONTROL" --name gap
expect_count event 1
# Publisher 7's events 1 and 3 on gap's topic, 2 on another, then its
# TERMINATE: gap sees sequence 3 after 1, reports the gap and exits 65.
header='\x00H\x02\x00\x00\x00\x00\x00\x00\x00\x07\x00\x00\x00\x00\x00\x00\x00'
"$CTL" "$CONTROL" --publish "$FRONTEND" "event${header}\x01one" --then "other${header}\x02two" \
    --then "event${header}\x03three" --then "TERMINATE${header}\x04TERMINATE" >/dev/null \
    || fail "herald_ctl could not publish"
finish gap 65
SEEN="${SEEN}65 "
grep -q "gap lost 1 events from publisher 0000000000000007 (sequence 2..2)" "$TMP/gap.err" \
    || fail "gap did not report its gap: $(cat "$TMP/gap.err")"
start whole "$HERALD" sub --backend "$BACKEND" --control "$CONTROL" --name whole
start pub "$HERALD" pub --frontend "$FRONTEND" --control "$CONTROL" --events 1 --interval 0 \
    --wait-subscribers 1
finish pub 0
finish whole 0
SEEN="${SEEN}0 "
ends sub 64 "another role's option" "$HERALD" sub --events 3
ends sub 69 "no hub" "$HERALD" sub --control "$NOWHERE" --wait-timeout 200
ends sub 69 "nothing to read" "$HERALD" sub --backend "$BACKEND" --control "$CONTROL" \
    --idle-timeout 200
ends sub 70 "poll fails" injected zmq_poll "$HERALD" sub --backend "$BACKEND" \
    --control "$CONTROL"
ends sub 78 "unreadable key" "$HERALD" sub --curve-server-key "$TMP/key.cert" "$BADKEY"
ends_on_signal sub INT 130 "$HERALD" sub --control "$NOWHERE"
ends_on_signal sub TERM 143 "$HERALD" sub --control "$NOWHERE"

# stats
ends stats 0 "the hub answered" "$HERALD" stats --control "$CONTROL"
ends stats 64 "--expect without --topic" "$HERALD" stats --expect 1
ends stats 69 "no hub" "$HERALD" stats --control "$NOWHERE" --wait-timeout 200
ends stats 69 "count not reached" "$HERALD" stats --control "$CONTROL" --topic event \
    --expect 3 --wait-timeout 200
ends stats 70 "poll fails" injected zmq_poll "$HERALD" stats --control "$CONTROL"
ends stats 78 "unreadable key" "$HERALD" stats --curve-server-key "$TMP/key.cert" "$BADKEY"
ends_on_signal stats INT 130 "$HERALD" stats --control "$NOWHERE"
ends_on_signal stats TERM 143 "$HERALD" stats --control "$NOWHERE"

# The hub exits 0 on a signal.
kill -TERM "$(pid_of hub)"
finish hub 0 5
SEEN="${SEEN}0 "

# demo (SIGINT and SIGTERM: the terminate test)
DEMO_PORTS="--frontend=tcp://*:$((PORT_BASE + 5)) --backend=tcp://*:$((PORT_BASE + 6))
    --control=tcp://*:$((PORT_BASE + 7))"
# shellcheck disable=SC2086
ends demo 0 "the story told" "$HERALD" demo $DEMO_PORTS --subscribers 1 --events 1 --interval 0
ends demo 64 "no events" "$HERALD" demo --events 0
start_hub
# shellcheck disable=SC2086
ends demo 70 "its hub cannot bind" "$HERALD" demo --frontend "$FRONTEND_BIND" \
    --backend="tcp://*:$((PORT_BASE + 6))" --control="tcp://*:$((PORT_BASE + 7))" --subscribers 1
grep -q "lost child: hub exited with 69" "$TMP/ends.err" || fail "the demo did not name its child"
# shellcheck disable=SC2086
ends demo 71 "fork fails" injected fork "$HERALD" demo $DEMO_PORTS --subscribers 1
kill -TERM "$(pid_of hub)"
finish hub 0 5

# keygen
ends keygen 0 "written" "$HERALD" keygen --out "$TMP/other.cert"
ends keygen 64 "stray argument" "$HERALD" keygen stray
ends pub 66 "no such file" "$HERALD" pub --lines "$TMP/no/such/file" --control "$NOWHERE"
ends pub 66 "no such file" "$HERALD" pub --file "$TMP/no/such/file" --control "$NOWHERE"
ends keygen 73 "no such folder" "$HERALD" keygen --out "$TMP/no/such/folder/key.cert"
ends keygen 73 "a key pair there already" "$HERALD" keygen --out "$TMP/other.cert"

# Every code in the table has been seen.
docs="$(dirname "$0")/../docs/operations.md"
table=$(sed -n '/^## Exit codes/,/^## /p' "$docs" | grep -oE '^\| [0-9, ]+ \|' | grep -oE '[0-9]+')
[ -n "$table" ] || fail "no exit code table in $docs"
for code in $table; do
    case "$SEEN" in
    *" $code "*) ;;
    *) fail "exit code $code is in $docs but no role was made to end with it" ;;
    esac
done
echo "exit_codes: every code in the table, from the roles that document it"
