# bad_input: bad input gets a clear one-line error and a documented exit
# code; nothing the network sends can stop the hub.
#   - bad options, values and environment variables: exit 64, one line on
#     stderr naming the culprit, nothing on stdout; --help and --version: 0;
#   - a hub that cannot bind, a hub that does not answer, subscribers that
#     never come, a hub that goes quiet: exit 69 with one line;
#   - garbage, truncated ZMTP greetings and half-open connections on every
#     hub port: the hub keeps forwarding;
#   - messages on the frontend that are not herald events: counted, dropped,
#     never forwarded;
#   - malformed control requests: an ERROR reply, and the hub lives on.
. "$(dirname "$0")/lib.sh"

[ -x "$CTL" ] || fail "set CTL to the herald_ctl test tool"
[ -x "$RAWPEER" ] || fail "set RAWPEER to the herald_rawpeer test tool"

# exits CODE CULPRIT COMMAND...: COMMAND exits CODE with one stderr line
# that contains CULPRIT; a usage error (64) prints nothing on stdout.
exits() {
    expected=$1 culprit=$2
    shift 2
    code=0
    "$@" >"$TMP/exits.out" 2>"$TMP/exits.err" || code=$?
    [ "$code" -eq "$expected" ] || fail "'$*' exited with $code, expected $expected"
    [ "$(wc -l <"$TMP/exits.err")" -eq 1 ] || fail "'$*' wrote: $(cat "$TMP/exits.err")"
    grep -qF -- "$culprit" "$TMP/exits.err" || fail "'$*' did not name $culprit: $(cat "$TMP/exits.err")"
    [ "$expected" -ne 64 ] || [ ! -s "$TMP/exits.out" ] || fail "'$*' printed on stdout"
    # Every usage error has one shape: "herald ROLE: ..." ("herald: ..."
    # before the role is known).
    [ "$expected" -ne 64 ] || grep -qE '^herald( [a-z]+)?: ' "$TMP/exits.err" \
        || fail "'$*' wrote an error of another shape: $(cat "$TMP/exits.err")"
}

# finish_story SUB N: a publisher's N events reach SUB, whole, in order;
# then the hub stops.
finish_story() {
    start p "$HERALD" pub --frontend "$FRONTEND" --control "$CONTROL" --events "$2" \
        --interval 0 --wait-subscribers 1
    finish p 0
    finish "$1" 0
    check_story "$1" "$2"
    kill -TERM "$(pid_of hub)"
    finish hub 0 5
}

exits 64 "missing role" "$HERALD"
exits 64 "'bogus'" "$HERALD" bogus
for role in hub pub sub demo stats; do
    exits 64 "'--bogus'" "$HERALD" $role --bogus
    exits 64 "stray" "$HERALD" $role stray
    "$HERALD" $role --help | grep -q "^usage: herald $role" || fail "$role --help"
done
exits 64 "--events: 'abc'" "$HERALD" pub --events abc
# inproc reaches only the process itself: no herald role can use it.
exits 64 "--backend: 'inproc://herald' is not an endpoint" "$HERALD" hub --backend inproc://herald
exits 64 "--events needs a value" "$HERALD" pub --events
exits 64 "--wait-timeout: '-5'" "$HERALD" pub --wait-timeout -5
exits 64 "--max-message-size: '0'" "$HERALD" hub --max-message-size 0
exits 64 "--upstream with --curve-secret needs --curve-upstream-key" "$HERALD" hub \
    --upstream tcp://127.0.0.1:1 --curve-secret "$TMP/none"
exits 64 "--curve-upstream-key needs --upstream and --curve-secret" "$HERALD" hub \
    --curve-upstream-key "$TMP/none"
exits 64 "--upstream: 'nowhere' is not an endpoint" "$HERALD" hub --upstream nowhere
# A typo in a variable is not ignored in silence, whatever the role.
exits 64 "herald sub: unknown variable HERALD_WAIT_SUBSCRIBER (did you mean HERALD_WAIT_SUBSCRIBERS?)" \
    env HERALD_WAIT_SUBSCRIBER=2 "$HERALD" sub
exits 64 "herald pub: unknown option '--wait-subscriber' (did you mean --wait-subscribers?)" \
    "$HERALD" pub --wait-subscriber 2
exits 64 "herald sub: --events is an option of pub or demo, not of sub" "$HERALD" sub --events 3
exits 64 "HERALD_EVENTS: '-3'" env HERALD_EVENTS=-3 "$HERALD" pub
exits 64 "HERALD_BACKEND" env HERALD_BACKEND=nowhere "$HERALD" sub
exits 64 "--frontend: '5559'" "$HERALD" hub --frontend 5559
exits 64 "reserved" "$HERALD" sub --topic '$herald/probe'
exits 64 "--exit-on-terminate: 'maybe'" "$HERALD" hub --exit-on-terminate=maybe
exits 64 "--subscribers: '0'" "$HERALD" demo --subscribers 0
exits 64 "--name" "$HERALD" sub --name ""
exits 64 "--expect needs --topic" "$HERALD" stats --expect 1
"$HERALD" --help | grep -q "^usage: herald ROLE" || fail "--help"
"$HERALD" --version | grep -q "^herald [0-9]" || fail "--version"
# A role's own variables only: another role's bad value is not its concern.
HERALD_EVENTS=abc "$HERALD" sub --help >/dev/null || fail "sub read HERALD_EVENTS"

# Unavailable: exit 69, one line that says what.
start_hub
exits 69 "cannot bind frontend to $FRONTEND_BIND" "$HERALD" hub --frontend "$FRONTEND_BIND"
exits 69 "no hub at tcp://127.0.0.1:$((PORT_BASE + 5)): nothing accepted a connection" \
    "$HERALD" stats --control "tcp://127.0.0.1:$((PORT_BASE + 5))" --wait-timeout 300
# A client whose hub is not there says so within a second, then waits its
# time, then names the cause; a subscriber never claims to be ready.
for role in stats sub; do
    code=0
    "$HERALD" $role --control "tcp://127.0.0.1:$((PORT_BASE + 5))" --wait-timeout 1500 \
        >"$TMP/nohub.out" 2>"$TMP/nohub.err" || code=$?
    [ $code -eq 69 ] || fail "$role without a hub exited $code, expected 69"
    [ ! -s "$TMP/nohub.out" ] || fail "$role without a hub printed: $(cat "$TMP/nohub.out")"
    grep -q "W $role.* waiting for the hub at tcp://127.0.0.1:$((PORT_BASE + 5)) (is herald hub running?)" \
        "$TMP/nohub.err" || fail "$role did not say it waits: $(cat "$TMP/nohub.err")"
    grep -q "E $role.* no hub at tcp://127.0.0.1:$((PORT_BASE + 5)): nothing accepted" "$TMP/nohub.err" \
        || fail "$role did not name the cause: $(cat "$TMP/nohub.err")"
done
exits 69 "counted 0 of 1 subscribers" "$HERALD" pub --frontend "$FRONTEND" --control "$CONTROL" \
    --wait-subscribers 1 --wait-timeout 300
exits 69 "heard nothing for 300 ms" "$HERALD" sub --backend "$BACKEND" --control "$CONTROL" --idle-timeout 300
exits 69 "has 0 subscribers, not 2" "$HERALD" stats --control "$CONTROL" --topic event \
    --expect 2 --wait-timeout 200

# Messages that are not herald events, on a ZeroMQ connection to the
# frontend: broken headers, short ones, several frames. Each is a plain
# publication, counted as one and forwarded (docs/protocol.md); those on
# reserved topics are counted as invalid and dropped; and the hub forwards
# on. herald_ctl proves with a probe that the hub has taken them.
zeros='\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01'
"$CTL" "$CONTROL" --timeout 10000 --publish "$FRONTEND" \
    event --then \
    event "H\x01$zeros" --then \
    'event\x00H\x02' --then \
    "event\x00H\x01${zeros}x" --then \
    "event\x00H\x02${zeros}" '' --then \
    "\$herald/other\x00H\x02${zeros}x" --then \
    '$herald/probe' >"$TMP/ctl.out" || fail "no probe reached the hub after the bad events"
grep -q "^OK$" "$TMP/ctl.out" || fail "herald_ctl --publish got: $(cat "$TMP/ctl.out")"
[ "$(stats_field invalid)" -eq 2 ] || fail "the hub counted $(stats_field invalid) of 2 reserved"
[ "$(stats_field plain_in)" -eq 5 ] || fail "the hub counted $(stats_field plain_in) of 5 plain"
[ "$(stats_field in)" -eq 0 ] || fail "the hub took a broken event for one of its own"
start s3 "$HERALD" sub --backend "$BACKEND" --control "$CONTROL" --name s3 --idle-timeout 10000
start p3 "$HERALD" pub --frontend "$FRONTEND" --control "$CONTROL" --events 2 --interval 0 \
    --wait-subscribers 1 --wait-timeout 10000
finish p3 0
finish s3 0
check_story s3 2

# Garbage on every port, and connections left half-open, while the hub
# carries a run.
# The hub may hang up before a sender is done: that is fine.
send() {
    (trap - EXIT; "$@") >"/dev/tcp/127.0.0.1/$port" 2>/dev/null || true
}
for offset in 0 1 2; do
    port=$((PORT_BASE + offset))
    send printf 'GET / HTTP/1.0\r\n\r\n'
    send head -c 65536 /dev/urandom
    send printf '\377\0\0\0\0\0\0\0\001\177\003'     # a greeting cut short
done
exec 7<>/dev/tcp/127.0.0.1/$PORT_BASE
exec 8<>/dev/tcp/127.0.0.1/$((PORT_BASE + 1))
exec 9<>/dev/tcp/127.0.0.1/$((PORT_BASE + 2))
start s "$HERALD" sub --backend "$BACKEND" --control "$CONTROL" --name s --idle-timeout 10000
start p "$HERALD" pub --frontend "$FRONTEND" --control "$CONTROL" --events 5 --interval 0 \
    --wait-subscribers 1 --wait-timeout 10000
finish p 0
finish s 0
check_story s 5
exec 7>&- 8>&- 9>&-

# Malformed control requests: an ERROR reply, then business as usual.
error_reply() {
    "$CTL" "$CONTROL" "$@" >"$TMP/ctl.out" || fail "no reply to: $*"
    grep -q "^ERROR$" "$TMP/ctl.out" || fail "'$*' got: $(cat "$TMP/ctl.out")"
}
error_reply FOO
error_reply count event
error_reply COUNT
error_reply PING extra
error_reply WAIT event 5 3 100
error_reply WAIT event 1 1 99999999999
error_reply PROBE "" 100
error_reply "$(printf '\001\002\377')"
error_reply a b c d e f g h i
error_reply --dealer ""
error_reply --dealer STATS extra
"$CTL" "$CONTROL" --dealer COUNT event | grep -q "^OK$" || fail "DEALER COUNT"
# Past the size limit libzmq drops the connection: no reply, no harm.
if "$CTL" "$CONTROL" --timeout 500 PING --big 100000 >/dev/null 2>&1; then
    fail "a 100 kB request got a reply"
fi
"$CTL" "$CONTROL" PING | grep -q "^OK$" || fail "the hub stopped answering"
[ "$(stats_field errors)" -ge 11 ] || fail "the hub did not count the bad requests"
# A client that never reads its replies: the hub's queue to it is bounded
# (it drops the rest), and it goes on answering everyone else.
"$CTL" "$CONTROL" --unread 100000 STATS >"$TMP/ctl.out" 2>&1 \
    || fail "no answer while a client left 100000 replies unread: $(cat "$TMP/ctl.out")"
grep -q "^OK$" "$TMP/ctl.out" || fail "STATS beside a deaf client got: $(cat "$TMP/ctl.out")"
"$CTL" "$CONTROL" PING | grep -q "^OK$" || fail "the hub stopped answering after a deaf client"
# Waiting requests go with their client: one that parks day-long WAITs and
# leaves takes them along (at most 16 per connection meanwhile).
code=0
"$CTL" "$CONTROL" --timeout 300 --unread 20 WAIT nobody 1 1 86400000 >/dev/null 2>&1 || code=$?
[ $code -eq 69 ] || fail "a WAIT for nobody got an answer (exit $code)"
deadline=$((SECONDS + 5))
until [ "$(stats_field waiting)" -eq 0 ]; do
    [ $SECONDS -lt $deadline ] || fail "the hub kept $(stats_field waiting) requests of a client gone"
done
# A hub full of waiting requests (64 clients holding 16 each, the most it
# holds) makes a client ask again until there is room, within its
# --wait-timeout: here, once those clients have gone.
for index in $(seq 64); do
    start "flood$index" "$CTL" "$CONTROL" --timeout 3000 --unread 15 WAIT nobody 1 1 86400000
done
deadline=$((SECONDS + 10))
until [ "$(stats_field waiting)" -eq 1024 ]; do
    [ $SECONDS -lt $deadline ] || fail "the flood holds $(stats_field waiting) requests, not 1024"
done
"$HERALD" pub --frontend "$FRONTEND" --control "$CONTROL" --events 1 --wait-timeout 20000 \
    >"$TMP/busy.out" 2>"$TMP/busy.err" || fail "a client of a full hub gave up: $(cat "$TMP/busy.err")"
grep -q "holds too many waiting requests; asking again" "$TMP/busy.err" \
    || fail "the client never found the hub full: $(cat "$TMP/busy.err")"
for index in $(seq 64); do
    finish "flood$index" 69
done

kill -TERM "$(pid_of hub)"
finish hub 0 5

# A frame over --max-message-size drops only the peer that sent it: that
# publisher cannot prove its events arrived (65), the others go on.
start_hub --max-message-size 2000
start s "$HERALD" sub --backend "$BACKEND" --control "$CONTROL" --name s --idle-timeout 10000
expect_count event 1
start big "$HERALD" pub --frontend "$FRONTEND" --control "$CONTROL" --events 3 --interval 0 \
    --size 5000 --no-count --no-terminate
finish big 65
finish_story s 5

# Subscriptions up to --max-topic-size are counted; a longer one drops its
# sender (a raw ZMTP peer) before libzmq stores it: one of 120 kB, removed
# again, overflows the stack of libzmq's subscription trie and used to
# kill the hub.
start_hub --max-topic-size 200
start s "$HERALD" sub --backend "$BACKEND" --control "$CONTROL" --name s --idle-timeout 10000
expect_count event 1
A200=$(head -c 200 /dev/zero | tr '\0' a)
start raw "$RAWPEER" $((PORT_BASE + 1)) --hold +200
expect_count "$A200" 1 5000
kill -TERM "$(pid_of raw)"
finish raw 143
expect_count "$A200" 0
for size in 201 120000; do
    "$RAWPEER" $((PORT_BASE + 1)) +$size -$size \
        || fail "the hub kept a peer that sent a $size-byte subscription"
done
expect_count a 0
expect_count event 1
finish_story s 5

# A STATS reply stays bounded, however many subscriptions there are:
# 1,024 of up to 1,024 bytes (half a megabyte of names) are counted, and
# those past the list's budget are counted as unlisted.
start_hub
# shellcheck disable=SC2046
start many "$RAWPEER" $((PORT_BASE + 1)) --hold $(seq -f '+%g' 1 1024)
timeout 20 tail -n +1 -f --pid="$(pid_of many)" "$TMP/many.out" | grep -q -m1 "^sent$" \
    || fail "the raw peer could not send its subscriptions"
deadline=$((SECONDS + 10))
until [ "$(stats_field subscriptions_total)" -eq 1024 ]; do
    [ $SECONDS -lt $deadline ] || fail "the hub holds $(stats_field subscriptions_total) of 1024"
done
"$HERALD" stats --control "$CONTROL" >"$TMP/stats.json" || fail "no STATS beside 1,024 subscriptions"
[ "$(wc -c <"$TMP/stats.json")" -lt $((1024 * 1024)) ] || fail "a STATS reply of $(wc -c <"$TMP/stats.json") bytes"
[ "$(stats_field subscriptions_unlisted)" -gt 0 ] || fail "every subscription was listed"
kill -TERM "$(pid_of many)"
finish many 143
kill -TERM "$(pid_of hub)"
finish hub 0 5
echo "bad_input: clear errors, right codes, the hub unharmed"
