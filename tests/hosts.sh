# hosts.sh - test hosts: several machines on one, for what crosses a network.
# Sourced after lib.sh.
#
#   hosts_make N           N hosts, a, b, c...: each a network namespace of
#                          its own, loopback up, and one veth into a bridge
#                          that joins them all
#   on HOST COMMAND...     runs COMMAND inside HOST (ip netns exec); composes
#                          with lib.sh's start: start NAME on HOST CMD...
#   host_addr HOST         HOST's address, 198.18.K.I (K from PORT_BASE)
#   host_cut HOST          unplugs HOST's cable at the bridge: nothing more
#                          crosses, in either direction, and no FIN or RST is
#                          sent for any connection
#   host_heal HOST         plugs it in again
#   hub_on HOST            points FRONTEND, BACKEND, CONTROL and FEDERATION
#                          (and the *_BIND ones) at HOST's address, on this
#                          test's ports
#   start_hub_on HOST [OPTIONS]   lib.sh's start_hub, on HOST
#   expect_count_on HOST TOPIC N [MS]   lib.sh's expect_count, asked from HOST
#   stats_field_on HOST NAME            lib.sh's stats_field, asked from HOST
#   hosts_remove           ends the hosts (cleanup does it anyway)
#
# Every name made here starts with hn<PORT_BASE>- (namespaces hn28700-a...,
# the bridge's namespace hn28700-sw, the veths hn28700-a inside a host and
# hn28700-a-s on the bridge): tests and sessions side by side never share
# one. The bridge lives in a namespace of its own, not in the root one,
# where Docker's iptables (FORWARD policy DROP, with bridge-nf-call-iptables
# on) drops whatever a bridge forwards; nothing made here is visible in the
# root namespace at all.
#
# lib.sh's cleanup then ends it all, whatever happened: it first stops the
# processes it started, then kills anything still running inside a host
# (and fails the test, as it does for its own processes), deletes every
# namespace with this test's prefix, and fails the test if anything with
# that prefix is left.
#
# Test hosts need root and ip (iproute2); without them, or where no network
# namespace can be made, the test is skipped (77) with one line saying why,
# except in CI (CI=true), where that fails the test.

HOSTS_PREFIX="hn$PORT_BASE"
HOSTS_SWITCH="$HOSTS_PREFIX-sw"     # the namespace that holds the bridge
HOSTS_BRIDGE="$HOSTS_PREFIX-br"
HOSTS_NET="198.18.$((PORT_BASE / 10 % 256))"  # a /24 per test, ten ports apart
HOSTS=""                            # the hosts made, in order

hosts_skip() {
    if [ "${CI:-}" = true ]; then
        fail "$1 (CI=true: CI runs this test, it never skips it)"
    fi
    echo "SKIP ($TEST): $1" >&2
    exit 77
}

# hosts_ip ARGS...: ip ARGS, or fail with what ip said.
hosts_ip() {
    ip "$@" 2>"$TMP/hosts.err" || fail "ip $*: $(head -n 3 "$TMP/hosts.err")"
}

# The namespaces with this test's prefix, made by this run or left by one
# that was killed.
hosts_namespaces() {
    ip netns list 2>/dev/null | awk -v prefix="$HOSTS_PREFIX-" \
        'index($1, prefix) == 1 { print $1 }'
}

# hosts_kill_inside: kill whatever still runs in this test's namespaces,
# saying what; returns 1 if there was anything.
hosts_kill_inside() {
    local ns pids found=0 deadline
    for ns in $(hosts_namespaces); do
        pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
        [ -n "${pids// /}" ] || continue
        found=1
        echo "$TEST: still running in test host $ns, killed:$(for pid in $pids; do
            printf ' %s (%s)' "$pid" "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c 1-60)"
        done)" >&2
        kill -KILL $pids 2>/dev/null
    done
    [ $found -eq 1 ] || return 0
    deadline=$((SECONDS + 10))
    for ns in $(hosts_namespaces); do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
            wait "$pid" 2>/dev/null     # our own children: reap them
        done
        while [ -n "$(ip netns pids "$ns" 2>/dev/null)" ] && [ $SECONDS -lt $deadline ]; do
            sleep 0.1
        done
    done
    return 1
}

# hosts_remove: end every test host and the bridge; fail (return 1, in
# cleanup) if a process had to be killed, or if anything with this test's
# prefix is left.
hosts_remove() {
    local forced=0 ns left
    hosts_kill_inside || forced=1
    for ns in $(hosts_namespaces); do
        ip netns delete "$ns" 2>"$TMP/hosts.err" \
            || { echo "cannot delete $ns: $(cat "$TMP/hosts.err")" >&2; forced=1; }
    done
    HOSTS=""
    # Nothing of this test's is left: no namespace, and nothing in the root
    # namespace (where nothing was ever made).
    left="$(hosts_namespaces | tr '\n' ' ')$(ip -o link show 2>/dev/null \
        | awk -F': ' -v prefix="$HOSTS_PREFIX-" 'index($2, prefix) == 1 { printf "%s ", $2 }')"
    if [ -n "$left" ]; then
        echo "FAIL ($TEST): test hosts left behind: $left" >&2
        forced=1
    fi
    return $forced
}

# hosts_cleanup: lib.sh's cleanup hook.
hosts_cleanup() {
    hosts_remove
}

# hosts_leftovers: namespaces with this prefix before anything was made are
# an earlier run's, killed before its cleanup (ctest's timeout kills with
# SIGKILL): removed, if nothing runs in them; if something does, it may be
# another run with the same PORT_BASE, and this one stops.
hosts_leftovers() {
    local ns old
    old=$(hosts_namespaces | tr '\n' ' ')
    [ -n "$old" ] || return 0
    for ns in $old; do
        [ -z "$(ip netns pids "$ns" 2>/dev/null)" ] \
            || fail "test hosts ${old}are in use: processes $(ip netns pids "$ns" | tr '\n' ' ')in" \
                "$ns. Another run with PORT_BASE=$PORT_BASE? If not, end them: for ns in $old;" \
                "do ip netns pids \$ns | xargs -r kill -KILL; ip netns delete \$ns; done"
    done
    for ns in $old; do
        hosts_ip netns delete "$ns"
    done
    note "removed test hosts an earlier run left: $old"
}

# hosts_make N: make N test hosts, a, b, c..., each with loopback up and
# one address, 198.18.K.1, .2, ..., on a veth into one bridge.
hosts_make() {
    local count=$1 index host ns
    [ "$count" -ge 1 ] && [ "$count" -le 26 ] || fail "hosts_make: 1 to 26 hosts, not $count"
    [ -z "$HOSTS" ] || fail "hosts_make: hosts made already:$HOSTS"
    [ "$(id -u)" -eq 0 ] || hosts_skip "test hosts are network namespaces, which need root"
    command -v ip >/dev/null 2>&1 || hosts_skip "test hosts need ip (iproute2), which is not installed"
    hosts_leftovers
    cleanup_hook hosts_cleanup
    ip netns add "$HOSTS_SWITCH" 2>"$TMP/hosts.err" \
        || hosts_skip "cannot make a network namespace: $(head -n 1 "$TMP/hosts.err")"
    hosts_ip -n "$HOSTS_SWITCH" link add "$HOSTS_BRIDGE" type bridge
    hosts_ip -n "$HOSTS_SWITCH" link set "$HOSTS_BRIDGE" up
    for index in $(seq 1 "$count"); do
        host=$(printf "\\$(printf %o $((96 + index)))")
        ns="$HOSTS_PREFIX-$host"
        hosts_ip netns add "$ns"
        # Both ends are made where they live, so neither is ever seen in the
        # root namespace.
        hosts_ip link add "$ns" netns "$ns" type veth peer name "$ns-s" netns "$HOSTS_SWITCH"
        hosts_ip -n "$HOSTS_SWITCH" link set "$ns-s" master "$HOSTS_BRIDGE" up
        hosts_ip -n "$ns" link set lo up
        hosts_ip -n "$ns" address add "$HOSTS_NET.$index/24" dev "$ns"
        hosts_ip -n "$ns" link set "$ns" up
        HOSTS="$HOSTS $host"
    done
}

# host_known HOST: fail unless HOST was made.
host_known() {
    case " $HOSTS " in
    *" $1 "*) ;;
    *) fail "no test host '$1' (hosts:${HOSTS:- none})" ;;
    esac
}

# on HOST COMMAND...: COMMAND inside HOST. In the test's own shell it runs
# as a child; in a subshell (start's background job, a pipeline, $(...)) it
# replaces the subshell, so that start's pid is COMMAND's own and its exit
# code and signals are COMMAND's (ip netns exec execs too). So in a subshell,
# nothing after `on` runs: ( on a cmd; more ) never gets to more.
on() {
    host_known "$1"
    local ns="$HOSTS_PREFIX-$1"
    shift
    if [ "$BASHPID" != "$$" ]; then
        exec ip netns exec "$ns" "$@"
    fi
    ip netns exec "$ns" "$@"
}

host_addr() {
    local index=0 known
    for known in $HOSTS; do
        index=$((index + 1))
        if [ "$known" = "$1" ]; then
            echo "$HOSTS_NET.$index"
            return 0
        fi
    done
    fail "no test host '$1' (hosts:${HOSTS:- none})"
}

host_cut() {
    host_known "$1"
    hosts_ip -n "$HOSTS_SWITCH" link set "$HOSTS_PREFIX-$1-s" down
}

host_heal() {
    host_known "$1"
    hosts_ip -n "$HOSTS_SWITCH" link set "$HOSTS_PREFIX-$1-s" up
}

# hub_on HOST: this test's endpoints on HOST's address.
hub_on() {
    local addr
    addr=$(host_addr "$1")
    FRONTEND_BIND="tcp://$addr:$PORT_BASE"
    BACKEND_BIND="tcp://$addr:$((PORT_BASE + 1))"
    CONTROL_BIND="tcp://$addr:$((PORT_BASE + 2))"
    FEDERATION_BIND="tcp://$addr:$((PORT_BASE + 9))"
    FRONTEND=$FRONTEND_BIND
    BACKEND=$BACKEND_BIND
    CONTROL=$CONTROL_BIND
    FEDERATION=$FEDERATION_BIND
}

# start_hub_on HOST [OPTIONS]: start_hub, on HOST's address, asked from HOST.
start_hub_on() {
    local host=$1
    shift
    hub_on "$host"
    start hub on "$host" "$HERALD" hub --frontend "$FRONTEND_BIND" --backend "$BACKEND_BIND" \
        --control "$CONTROL_BIND" "$@"
    on "$host" "$HERALD" stats --control "$CONTROL" --wait-timeout 5000 >"$TMP/hub.stats" \
        || fail "the hub did not answer on $CONTROL"
    grep -q "\"pid\":$(pid_of hub)," "$TMP/hub.stats" \
        || fail "another hub answers on $CONTROL: $(cat "$TMP/hub.stats")"
}

expect_count_on() {
    on "$1" "$HERALD" stats --control "$CONTROL" --topic "$2" --expect "$3" \
        --wait-timeout "${4:-1000}" >/dev/null 2>"$TMP/expect.err" \
        || fail "hub count for '$2', asked from $1: $(cat "$TMP/expect.err")"
}

stats_field_on() {
    on "$1" "$HERALD" stats --control "$CONTROL" | grep -o "\"$2\":[0-9]*" | head -n 1 | cut -d: -f2
}
