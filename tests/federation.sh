# federation: hubs on four hosts (tests/hosts.sh) acting as one. A root hub
# on a, leaves on b, c and d below it (--upstream), each bound to its own
# host's address; subscribers and publishers use the hub of their host.
#   1. 30 subscribers over the four hubs; a publisher on the root and one
#      on leaf b, 2,000 events each, each waiting for 30: every subscriber
#      reads every event of both, in each publisher's order, exactly once,
#      and both publishers count 30 before every event.
#   2. 9 subscribers on the leaves and a publisher on the root; leaf d
#      killed (SIGKILL): the root's count drops by d's 3 at once; d
#      started again: its subscribers, never restarted, are counted again.
#      Then host c cut off (no FIN, no RST): the count drops by c's 3
#      within 3 heartbeats, at the root and at leaf b; c healed: they
#      are counted again. c's and d's subscribers report their gaps and
#      exit 65; b's lose nothing and exit 0. A publisher on c that
#      published through the cut is told that what it sent up may be lost,
#      and exits 69.
#   3. A publisher on leaf d ends the run with TERMINATE: every subscriber
#      ends, and every hub (--exit-on-terminate) exits 0, the leaves before
#      the root; a leaf with no subscriber at all too.
#   4. Two hubs each --upstream of the other: the link that would close the
#      loop is refused, with one line on each side.
#   5. The federation through CURVE: a root that lets in only its leaf's
#      key on the federation port; a story across it; a hub with another
#      key is refused.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hosts.sh"

EVENTS=2000
HEARTBEAT=500

now_ms() {
    echo $((${EPOCHREALTIME/./} / 1000))
}

hosts_make 4
ROOT_FEDERATION="tcp://$(host_addr a):$((PORT_BASE + 9))"

# fed_hub HOST [OPTIONS]: hub_HOST on HOST's address, waited for.
fed_hub() {
    local host=$1
    shift
    hub_on "$host"
    start "hub_$host" on "$host" "$HERALD" hub --frontend "$FRONTEND_BIND" \
        --backend "$BACKEND_BIND" --control "$CONTROL_BIND" --federation "$FEDERATION_BIND" \
        --heartbeat $HEARTBEAT --exit-on-terminate "$@"
    # A CURVE hub is asked with its own key pair, as its health check does.
    local key=""
    while [ $# -gt 0 ]; do
        [ "$1" = --curve-secret ] && key="--curve-secret $2"
        shift
    done
    on "$host" "$HERALD" stats --control "$CONTROL" --wait-timeout 5000 $key >/dev/null \
        || fail "hub_$host did not answer on $CONTROL"
}

# count_on HOST N [MS]: HOST's hub counts N subscribers of 'event', the
# whole federation's, within MS (default 3000).
count_on() {
    hub_on "$1"
    expect_count_on "$1" event "$2" "${3:-3000}"
}

# subs HOST NAME... : subscribers on HOST, at HOST's hub, printing JSON.
subs() {
    local host=$1
    shift
    hub_on "$host"
    for name in "$@"; do
        start "$name" on "$host" "$HERALD" sub --backend "$BACKEND" --control "$CONTROL" \
            --format json --heartbeat $HEARTBEAT --idle-timeout 60000 $SUB_OPTIONS
    done
}

# check_json NAME PUBLISHERS EVENTS: NAME read EVENTS events of each of
# PUBLISHERS publishers, each publisher's in order from 1, each once.
check_json() {
    awk -v name="$1" -v publishers="$2" -v events="$3" '
        /"layout":"herald"/ {
            match($0, /"publisher":"[0-9a-f]*"/); p = substr($0, RSTART + 13, 16)
            match($0, /"sequence":[0-9]*/); s = substr($0, RSTART + 11, RLENGTH - 11) + 0
            if (!(p in last)) { seen++; last[p] = 0 }
            if (s != last[p] + 1) { print name ": publisher " p ": " s " after " last[p]; bad = 1; exit }
            last[p] = s
        }
        END {
            if (bad) exit 1
            if (seen != publishers) { print name ": " seen + 0 " publishers, expected " publishers; exit 1 }
            for (p in last) if (last[p] != events) { print name ": " last[p] " events of " p; exit 1 }
        }' "$TMP/$1.out" >&2 || fail "$1 did not read every event of $2 publishers in order"
}

note "1. 30 subscribers on four hosts, publishers on the root and on a leaf"
fed_hub a
for host in b c d; do
    fed_hub $host --upstream "$ROOT_FEDERATION"
done
SUB_OPTIONS="--max-messages $((2 * EVENTS))"
NAMES=""
for host in a b c d; do
    count=$([ $host = a ] && echo 6 || echo 8)
    list=$(seq -f "$host%g" 1 "$count")
    subs $host $list
    NAMES="$NAMES $list"
done
for host in a b c d; do
    count_on $host 30 10000
done
hub_on a
start pub_root on a "$HERALD" pub --frontend "$FRONTEND" --control "$CONTROL" \
    --events $EVENTS --interval 0 --no-terminate --wait-subscribers 30
hub_on b
start pub_leaf on b "$HERALD" pub --frontend "$FRONTEND" --control "$CONTROL" \
    --events $EVENTS --interval 0 --no-terminate --wait-subscribers 30
for pub in pub_root pub_leaf; do
    finish $pub 0 120
    [ "$(sort -u "$TMP/$pub.out")" = "Publisher has 30 subscribers" ] \
        && [ "$(wc -l <"$TMP/$pub.out")" -eq $EVENTS ] \
        || fail "$pub did not count 30 before each of its events: $(sort "$TMP/$pub.out" | uniq -c)"
done
for name in $NAMES; do
    finish "$name" 0 60
    check_json "$name" 2 $EVENTS
done
for host in a b c d; do
    count_on $host 0
done
hub_on a
on a "$HERALD" stats --control "$CONTROL" >"$TMP/root.stats"
links=$(grep -o '"state":"joined","hubs":1' "$TMP/root.stats" | wc -l)
[ "$links" -eq 3 ] || fail "the root does not show its 3 leaves joined: $(cat "$TMP/root.stats")"

note "2. leaf d killed and started again; host c cut off and healed"
SUB_OPTIONS="--verbose"
subs b b11 b12 b13
subs c c11 c12 c13
subs d d11 d12 d13
for host in a b c d; do
    count_on $host 9 10000
done
hub_on a
start pub_run on a "$HERALD" pub --frontend "$FRONTEND" --control "$CONTROL" --events 1000000 \
    --interval 1 --no-count --no-terminate --wait-subscribers 9
for name in c11 c12 c13 d11 d12 d13; do
    # A gap is a jump in the publisher's sequence: they must have read
    # before the faults for later events to show one.
    timeout 20 tail -n +1 -f --pid="$(pid_of $name)" "$TMP/$name.out" | grep -q -m1 '"sequence"' \
        || fail "$name got nothing from pub_run"
done
kill -KILL "$(pid_of hub_d)"
finish hub_d 137
count_on a 6 $((HEARTBEAT * 3))
count_on b 6 $((HEARTBEAT * 3))
fed_hub d --upstream "$ROOT_FEDERATION"
count_on a 9 10000
count_on d 9 10000

# A publisher on c, on a topic nobody reads, publishing through the cut:
# what it sent up before c knew the root was gone is lost, so its final
# probe must not say that everything arrived.
hub_on c
start pub_cut on c "$HERALD" pub --frontend "$FRONTEND" --control "$CONTROL" --topic other \
    --events 6000 --interval 1 --no-terminate
timeout 20 tail -n +1 -f --pid="$(pid_of pub_cut)" "$TMP/pub_cut.out" | grep -q -m1 "Publisher has" \
    || fail "pub_cut did not start publishing"
cut_at=$(now_ms)
host_cut c
# The root drops the link 2 heartbeats after its first unanswered ping,
# which goes at most one heartbeat after the cut: within 3 heartbeats (a
# quarter more for the processes that ask, on a loaded machine), and no
# sooner than 2 less a round trip (1.5 are asked).
count_on a 6 $((HEARTBEAT * 3 + HEARTBEAT / 4))
dropped_ms=$(($(now_ms) - cut_at))
count_on b 6 1000
[ $((dropped_ms * 2)) -ge $((HEARTBEAT * 3)) ] \
    || fail "c's subscribers left ${dropped_ms} ms after the cut: sooner than heartbeats can tell"
healed_at=$(now_ms)
host_heal c
count_on a 9 10000
back_ms=$(($(now_ms) - healed_at))
count_on c 9 3000
for name in c11 c12 c13 d11 d12 d13; do
    timeout 20 tail -n +1 -f --pid="$(pid_of $name)" "$TMP/$name.err" | grep -q -m1 "lost" \
        || fail "$name reported no gap: $(tail -n 3 "$TMP/$name.err")"
done
kill -TERM "$(pid_of pub_run)"
finish pub_run 143
finish pub_cut 69 60
grep -q "lost its link to the root hub" "$TMP/pub_cut.err" \
    || fail "pub_cut did not say why: $(tail -n 2 "$TMP/pub_cut.err")"

note "3. TERMINATE from a leaf ends every subscriber, then every hub, leaves first"
# A leaf on a with no client at all: TERMINATE reaches it all the same.
start hub_idle on a "$HERALD" hub --frontend "ipc://$TMP/idle-front" --backend "ipc://$TMP/idle-back" \
    --control "tcp://127.0.0.1:$((PORT_BASE + 7))" --federation "tcp://127.0.0.1:$((PORT_BASE + 8))" \
    --upstream "$ROOT_FEDERATION" --heartbeat $HEARTBEAT --exit-on-terminate
timeout 20 tail -n +1 -f --pid="$(pid_of hub_idle)" "$TMP/hub_idle.err" \
    | grep -q -m1 "joined the federation below" || fail "hub_idle did not join: $(cat "$TMP/hub_idle.err")"
hub_on d
start pub_end on d "$HERALD" pub --frontend "$FRONTEND" --control "$CONTROL" --events 10 \
    --interval 0 --no-count --wait-subscribers 9
finish pub_end 0 60
for name in b11 b12 b13; do
    finish $name 0
    grep -q " read [0-9]* messages, lost 0$" "$TMP/$name.err" \
        || fail "$name lost events: $(tail -n 2 "$TMP/$name.err")"
done
for name in c11 c12 c13 d11 d12 d13; do
    finish $name 65
done
for host in b c d; do
    finish hub_$host 0 20
done
finish hub_idle 0 20
finish hub_a 0 20
grep -q "0 publishers and 0 hubs below remain: exiting" "$TMP/hub_a.err" \
    || fail "the root did not exit after its leaves: $(tail -n 3 "$TMP/hub_a.err")"

note "4. a loop refused"
# Two hubs on a, each the other's upstream.
E_FED="tcp://127.0.0.1:$((PORT_BASE + 3))" F_FED="tcp://127.0.0.1:$((PORT_BASE + 4))"
start hub_e on a "$HERALD" hub --frontend "ipc://$TMP/e-front" --backend "ipc://$TMP/e-back" \
    --control "tcp://127.0.0.1:$((PORT_BASE + 5))" --federation "$E_FED" --upstream "$F_FED"
start hub_f on a "$HERALD" hub --frontend "ipc://$TMP/f-front" --backend "ipc://$TMP/f-back" \
    --control "tcp://127.0.0.1:$((PORT_BASE + 6))" --federation "$F_FED" --upstream "$E_FED"
for hub in hub_e hub_f; do
    timeout 20 tail -n +1 -f --pid="$(pid_of $hub)" "$TMP/$hub.err" \
        | grep -q -m1 "refused" || fail "$hub said nothing of the loop: $(cat "$TMP/$hub.err")"
done
# Each refusal is one line at the hub that refuses and one at the hub
# refused. Which link is refused depends on which HELLO arrives first, and
# when both cross, both are.
refusing=$(cat "$TMP/hub_e.err" "$TMP/hub_f.err" \
    | grep -c " E .* refused hub [0-9a-f]* from .* below: a link to it would close a loop")
refused=$(cat "$TMP/hub_e.err" "$TMP/hub_f.err" \
    | grep -c " E .* refused this hub: a link to it would close a loop.*; not retrying$")
[ "$refusing" -ge 1 ] && [ "$refusing" -le 2 ] && [ "$refusing" = "$refused" ] \
    || fail "not one line on each side of each refusal ($refusing, $refused):" \
        "$(cat "$TMP/hub_e.err" "$TMP/hub_f.err")"
kill -TERM "$(pid_of hub_e)" "$(pid_of hub_f)"
finish hub_e 0
finish hub_f 0

note "5. the federation through CURVE"
for who in root leaf stranger client; do
    "$HERALD" keygen --out "$TMP/$who.cert" >/dev/null || fail "keygen $who"
done
mkdir "$TMP/hubs"
cp "$TMP/leaf.cert" "$TMP/hubs/"
fed_hub a --curve-secret "$TMP/root.cert_secret" --curve-allow-federation "$TMP/hubs"
fed_hub b --upstream "$ROOT_FEDERATION" --curve-secret "$TMP/leaf.cert_secret" \
    --curve-upstream-key "$TMP/root.cert"
fed_hub c --upstream "$ROOT_FEDERATION" --curve-secret "$TMP/stranger.cert_secret" \
    --curve-upstream-key "$TMP/root.cert"
hub_on b
start curve_sub on b "$HERALD" sub --backend "$BACKEND" --control "$CONTROL" --name curve_sub \
    --curve-server-key "$TMP/leaf.cert" --curve-secret "$TMP/client.cert_secret"
hub_on a
on a "$HERALD" stats --control "$CONTROL" --curve-server-key "$TMP/root.cert" --topic event \
    --expect 1 --wait-timeout 10000 >/dev/null || fail "the CURVE root did not count the leaf's subscriber"
hub_on c
on c "$HERALD" stats --control "$CONTROL" --curve-server-key "$TMP/stranger.cert" --topic event \
    --expect 0 --wait-timeout 1000 >/dev/null || fail "the stranger hub counts another's subscriber"
hub_on a
on a "$HERALD" stats --control "$CONTROL" --curve-server-key "$TMP/root.cert" \
    | grep -o '"handshakes_refused":{[^}]*}' >"$TMP/refused.json"
grep -q '"federation":[1-9]' "$TMP/refused.json" \
    || fail "the root refused no handshake on its federation port: $(cat "$TMP/refused.json")"
start curve_pub on a "$HERALD" pub --frontend "$FRONTEND" --control "$CONTROL" \
    --curve-server-key "$TMP/root.cert" --events 20 --interval 0 --wait-subscribers 1
finish curve_pub 0 30
finish curve_sub 0 30
check_story curve_sub 20
finish hub_b 0 20
finish hub_a 0 20
# The stranger never joined: TERMINATE never reached it.
kill -TERM "$(pid_of hub_c)"
finish hub_c 0

hosts_remove || fail "the test hosts did not end cleanly"
echo "federation: 30 subscribers on 4 hosts read $EVENTS events of a root and a leaf publisher;" \
    "leaf killed and back; c cut off, dropped after ${dropped_ms} ms (heartbeat $HEARTBEAT ms)," \
    "counted again ${back_ms} ms after the heal; TERMINATE ended every hub; loop refused; CURVE"
