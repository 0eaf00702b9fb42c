# capture: with CURVE on, all traffic is encrypted: a capture on the hub's
# ports holds no plaintext payload.
#   - tcpdump records every packet on this test's three ports while a hub, a
#     subscriber and a publisher tell the story through CURVE;
#   - that capture holds the CURVE greetings on all three ports (it saw the
#     right connections), but neither the topic, nor the events' text, nor
#     TERMINATE, the probe topic or any control verb;
#   - the same story without CURVE, captured the same way on the same ports,
#     holds every one of them, each event on both hops: the check finds
#     plaintext when there is some.
# Skipped (77) where tcpdump is not installed (sh scripts/deps.sh test
# installs it), or where it may not capture (that needs root or
# CAP_NET_RAW).
command -v tcpdump >/dev/null 2>&1 || { echo "SKIP: tcpdump is not installed"; exit 77; }
. "$(dirname "$0")/lib.sh"

TOPIC=herald-capture-marker
EVENTS=5
# What must not cross the wire in clear: the topic, the payload, the end of
# the story, the publisher's probe topic and every control verb it uses.
NEEDLES="$TOPIC|THIS IS EVENT|TERMINATE|\$herald/probe|WAIT|PROBE|COUNT|STATS"

mkdir "$TMP/allowed"
for who in hub alice; do
    "$HERALD" keygen --out "$TMP/$who.cert" >/dev/null || fail "keygen $who"
done
cp "$TMP/alice.cert" "$TMP/allowed/"

# The capture takes this test's three ports, and a fourth where nothing
# listens: a connection refused there after the story is the capture's last
# word, and once it is in the file, everything before it is too.
SENTINEL=$((PORT_BASE + 3))
FILTER="tcp and (port $PORT_BASE or port $((PORT_BASE + 1)) or port $((PORT_BASE + 2))"
FILTER="$FILTER or port $SENTINEL)"

# start_capture NAME: record the ports on lo into $TMP/NAME.pcap; return
# once tcpdump says it is listening. Its stderr comes through a fifo: the
# first lines are read here, the rest goes to $TMP/NAME.err. With
# --immediate-mode each packet takes a slot of lo's MTU (64 kB) in the
# kernel's ring: tcpdump's default 2 MB holds about 30 and drops the rest
# when tcpdump is slow to run; 16 MB hold more than twice a whole run.
start_capture() {
    mkfifo "$TMP/$1.fifo"
    start "$1" sh -c 'fifo=$1; shift; exec "$@" 2>"$fifo"' sh "$TMP/$1.fifo" \
        tcpdump -i lo -n -s 0 -B 16384 -U --immediate-mode -Z root -w "$TMP/$1.pcap" "$FILTER"
    exec 3<"$TMP/$1.fifo"
    listening=no
    while read -r -t 10 line <&3; do
        echo "$line" >>"$TMP/$1.err"
        case $line in *"listening on lo"*) listening=yes && break ;; esac
    done
    if [ $listening = no ] && grep -q -i "permi" "$TMP/$1.err"; then
        echo "SKIP: tcpdump may not capture here (it needs root or CAP_NET_RAW)"
        exit 77
    fi
    [ $listening = yes ] || fail "tcpdump did not start listening: $(cat "$TMP/$1.err")"
    start "$1-stderr" sh -c 'exec cat <&3 >>"$1"' sh "$TMP/$1.err"
    exec 3<&-
}

# stop_capture NAME: wait until the capture holds the refused connection to
# the sentinel port, then stop tcpdump with SIGINT (which drops what it has
# not written yet): it exits 0 and recorded packets. Every TCP stream it
# holds is whole, from its SYN and without a gap in its sequence numbers.
# Its packets, decoded as text, go to $TMP/NAME.txt.
stop_capture() {
    (exec 4<>"/dev/tcp/127.0.0.1/$SENTINEL") 2>/dev/null || true
    tries=0
    until [ "$(tcpdump -r "$TMP/$1.pcap" -n "port $SENTINEL" 2>/dev/null | wc -l)" -ge 2 ]; do
        tries=$((tries + 1))
        [ $tries -le 200 ] || fail "$1 did not record the connection to port $SENTINEL within 10 s"
        sleep 0.05
    done
    kill -INT "$(pid_of "$1")"
    finish "$1-stderr" 0 10     # ends when tcpdump closes its stderr
    finish "$1" 0 5
    captured=$(sed -n 's/^\([0-9]*\) packets\{0,1\} captured$/\1/p' "$TMP/$1.err")
    [ "${captured:-0}" -gt 0 ] || fail "$1 recorded no packets: $(tr '\n' ' ' <"$TMP/$1.err")"
    tcpdump -r "$TMP/$1.pcap" -n -S >"$TMP/$1.flows" 2>"$TMP/$1.read.err" \
        || fail "cannot read $1.pcap: $(cat "$TMP/$1.read.err")"
    awk '
        # 127.0.0.1.A > 127.0.0.1.B: Flags [S.], seq X[:Y], ack Z, ..., length N
        $2 != "IP" { next }
        { flow = $3 " > " $5; flags = $7; seq = "" }
        / seq [0-9]/ { seq = $0; sub(/.* seq /, "", seq); sub(/,.*/, "", seq) }
        flags ~ /R/ || seq == "" { next }
        {
            split(seq, range, ":"); from = range[1]; to = (2 in range) ? range[2] : from
            if (flags ~ /S/) { next_seq[flow] = (from + 1) % 4294967296; next }
            if (!(flow in next_seq)) { print flow ": no SYN"; bad = 1; next }
            ahead = (from - next_seq[flow] + 4294967296) % 4294967296
            if (ahead > 0 && ahead < 2147483648) { print flow ": gap before " from; bad = 1 }
            if (flags ~ /F/) to = (to + 1) % 4294967296
            if ((to - next_seq[flow] + 4294967296) % 4294967296 < 2147483648) next_seq[flow] = to
        }
        END { exit bad }' "$TMP/$1.flows" >"$TMP/$1.gaps" \
        || fail "$1 missed packets: $(head -n 3 "$TMP/$1.gaps" | tr '\n' ' ')"
    tcpdump -r "$TMP/$1.pcap" -n -A >"$TMP/$1.txt" 2>/dev/null
    note "$1: $captured packets, every stream whole ($(grep "dropped by kernel" "$TMP/$1.err"))"
}

# occurrences NAME STRING [FILTER]: how often STRING appears in NAME's
# packets (those matching the tcpdump FILTER, if one is given).
occurrences() {
    if [ -n "${3:-}" ]; then
        tcpdump -r "$TMP/$1.pcap" -n -A "$3" 2>/dev/null | grep -a -o -F -- "$2" | wc -l
    else
        grep -a -o -F -- "$2" "$TMP/$1.txt" | wc -l
    fi
}

# story RUN yes|no: the hub, a subscriber and a publisher of EVENTS events on
# TOPIC, with CURVE or without, under a capture named RUN.
story() {
    run=$1
    hub_keys=() client_keys=()      # ctest runs the tests with bash
    if [ "$2" = yes ]; then
        hub_keys=(--curve-secret "$TMP/hub.cert_secret" --curve-allow "$TMP/allowed")
        client_keys=(--curve-server-key "$TMP/hub.cert" --curve-secret "$TMP/alice.cert_secret")
    fi
    start_capture "$run"
    start "$run-hub" "$HERALD" hub --frontend "$FRONTEND_BIND" --backend "$BACKEND_BIND" \
        --control "$CONTROL_BIND" "${hub_keys[@]}"
    "$HERALD" stats --control "$CONTROL" --wait-timeout 5000 "${client_keys[@]}" \
        >"$TMP/$run-hub.stats" || fail "the $run hub did not answer on $CONTROL"
    grep -q "\"pid\":$(pid_of "$run-hub")," "$TMP/$run-hub.stats" \
        || fail "another hub answers on $CONTROL: $(cat "$TMP/$run-hub.stats")"
    start "$run-sub" "$HERALD" sub --backend "$BACKEND" --control "$CONTROL" --name "$run-sub" --topic "$TOPIC" \
        --idle-timeout 10000 "${client_keys[@]}"
    start "$run-pub" "$HERALD" pub --frontend "$FRONTEND" --control "$CONTROL" --topic "$TOPIC" \
        --events "$EVENTS" --interval 0 --wait-subscribers 1 "${client_keys[@]}"
    finish "$run-pub" 0
    finish "$run-sub" 0
    check_story "$run-sub" "$EVENTS"
    kill -TERM "$(pid_of "$run-hub")"
    finish "$run-hub" 0 5
    stop_capture "$run"
}

# Through CURVE: no plaintext anywhere, and the CURVE greetings on every
# port, so the capture saw the hub's connections.
story curve yes
found=""
IFS='|'
for needle in $NEEDLES; do
    [ "$(occurrences curve "$needle")" -eq 0 ] || found="$found '$needle'"
done
unset IFS
[ -z "$found" ] || fail "plaintext in the CURVE capture:$found (see $TMP/curve.txt)"
for port in "$PORT_BASE" $((PORT_BASE + 1)) $((PORT_BASE + 2)); do
    [ "$(occurrences curve CURVE "tcp port $port")" -ge 2 ] \
        || fail "the capture holds no CURVE handshake on port $port"
done
grep -q "CURVE on" "$TMP/curve-hub.err" || fail "the hub did not say CURVE is on"

# Without CURVE, on the same ports: every needle is there, so the check above
# can see plaintext. Each event crosses two hops, publisher to hub and hub to
# subscriber.
story plain no
grep -q "CURVE off" "$TMP/plain-hub.err" || fail "the hub did not say CURVE is off"
[ "$(occurrences plain CURVE)" -eq 0 ] || fail "the plaintext capture holds a CURVE handshake"
missing=""
IFS='|'
for needle in $NEEDLES; do
    [ "$(occurrences plain "$needle")" -gt 0 ] || missing="$missing '$needle'"
done
unset IFS
[ -z "$missing" ] || fail "the plaintext capture lacks:$missing; the check cannot see plaintext"
for event in $(seq 1 "$EVENTS"); do
    [ "$(occurrences plain "THIS IS EVENT-$event")" -ge 2 ] \
        || fail "the plaintext capture holds EVENT-$event fewer than twice"
done

echo "capture: through CURVE no plaintext on the wire; without CURVE the same check finds it"
