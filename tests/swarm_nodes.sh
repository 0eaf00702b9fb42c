# swarm_nodes: the story as a Docker Swarm stack (docker/stack.yml) across
# two nodes, each a Docker engine of its own on a test host of its own.
#   - two test hosts, a and b (tests/hosts.sh: network namespaces joined
#     by a bridge); in each a dockerd (docker/engine.sh start, with
#     DOCKER_NETNS), its data, sockets and pid file under this test's
#     directory, its host name the host's namespace's, its bridge and
#     address pool in 198.19.K.0/24 (K as in the hosts' 198.18.K.0/24);
#   - a swarm of the two: a is its manager (swarm init on a's address,
#     overlays in 198.19.K.128/25), b joins as a worker; both Ready;
#   - the image built once, by a third dockerd of the test's own: the
#     nodes reach nothing but each other, and the build's apt-get needs a
#     Debian mirror, so that one runs in the machine's own network
#     namespace, where it makes no bridge and changes no firewall rule (its
#     builds use the host's network); docker save on it, docker load on
#     each node; then it is stopped and removed;
#   - `docker stack deploy` on a, with SUBSCRIBERS=4 and
#     SUBSCRIBERS_PER_NODE=2: a root hub, a leaf hub on each node (global
#     mode), 2 subscribers on each node and a publisher, on an overlay
#     network across both;
#   - every task ends by itself, complete with exit code 0, one per replica
#     and one leaf on each node; the two leaves ran on different nodes, and
#     the subscribers 2 on each; both leaves joined the root (the same
#     one), which took 2 hubs in and saw both leave; every subscriber told
#     the whole story; the publisher counted 4 before each of its 9 events;
#     every hub left once TERMINATE had passed.
# Then it removes the stack, the swarm on both nodes, the three dockerds and
# their data (with every image), and the test hosts, and fails if any is
# left. It never touches the Docker engine at DOCKER_HOST: its names,
# addresses and engines are its own. Skipped (77) with one line without
# root, docker and dockerd, nsenter and unshare, or network namespaces,
# except in CI (CI=true), where that fails.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hosts.sh"

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ENGINE=$ROOT/docker/engine.sh
# Every docker command of this test talks to one of its own engines: by
# default the manager, node a.
export DOCKER_HOST="unix://$TMP/engine-a/docker.sock"
STACK_ENGINES="unix://$TMP/engine-a/docker.sock unix://$TMP/engine-b/docker.sock"
. "$(dirname "$0")/stack.sh"

SUBSCRIBERS=4
SUBSCRIBERS_PER_NODE=2
NODES=2
STACK=heraldnodes
IMAGE=herald-swarm-nodes:test
POOL=198.19.${HOSTS_NET##*.} # the nodes' bridges and overlays: 198.19.K.0/24
SWARM_LIMIT=60               # seconds for the two nodes to be Ready
ENGINES=""                   # the engines started, in order

for tool in docker dockerd nsenter unshare; do
    command -v $tool >/dev/null 2>&1 || hosts_skip "$tool is not installed (docker/engine.sh install)"
done

# dk NAME ARGS...: docker ARGS on engine NAME.
dk() {
    local name=$1
    shift
    DOCKER_HOST="unix://$TMP/engine-$name/docker.sock" docker "$@"
}

# engine_start NAME [VARIABLE=VALUE...]: a dockerd of this test's, its
# directory $TMP/engine-NAME, started by docker/engine.sh with the
# variables given.
engine_start() {
    local name=$1
    shift
    ENGINES="$ENGINES $name"
    env DOCKER_DIR="$TMP/engine-$name" "$@" "$ENGINE" start >/dev/null 2>"$TMP/engine-$name.err" \
        || { cat "$TMP/engine-$name.err" >&2; fail "dockerd $name did not start"; }
}

# engine_stop NAME: stops it and removes its directory (its log is kept
# beside it); 1 if anything of it is left.
engine_stop() {
    local name=$1 dir=$TMP/engine-$1 started
    started=$(date +%s)
    [ ! -e "$dir/dockerd.log" ] || cp "$dir/dockerd.log" "$TMP/dockerd-$name.log"
    DOCKER_DIR=$dir "$ENGINE" stop 2>>"$TMP/engine-$name.err" || true
    note "dockerd $name stopped and removed in $(($(date +%s) - started))s"
    if [ -e "$dir" ] || grep -q " $dir/" /proc/mounts; then
        echo "dockerd $name left: $dir, and $(grep -c " $dir/" /proc/mounts) mounts in it" >&2
        return 1
    fi
    ENGINES=$(echo "$ENGINES" | tr ' ' '\n' | grep -vx "$name" | tr '\n' ' ')
}

# nodes_cleanup: lib.sh's cleanup hook, before hosts.sh's (which then fails
# the test if a dockerd still runs on a test host): the stack, the swarm on
# both nodes (the worker first), every engine; 1 if anything is left.
nodes_cleanup() {
    local ok=0 started name pids pid
    started=$(date +%s)
    if [ "$STACK_DEPLOYED" = yes ]; then
        stack_remove || ok=1
    fi
    for name in b a; do
        case " $ENGINES " in *" $name "*) ;; *) continue ;; esac
        [ "$(dk $name info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null)" != inactive ] || continue
        dk $name swarm leave --force >"$TMP/leave-$name.log" 2>&1 || cat "$TMP/leave-$name.log" >&2
        [ "$(dk $name info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null)" = inactive ] \
            || { echo "node $name is still in the swarm" >&2; ok=1; }
    done
    # Both nodes at once: each takes some seconds.
    pids=""
    for name in $ENGINES; do
        engine_stop "$name" &
        pids="$pids $!"
    done
    for pid in $pids; do
        wait "$pid" || ok=1
    done
    [ $ok -eq 0 ] || { echo "FAIL ($TEST): the stack, the swarm or an engine of the test is left" >&2; }
    note "removed the stack, the swarm and the engines in $(($(date +%s) - started))s"
    return $ok
}

hosts_make 2
cleanup_hook nodes_cleanup

# 1. The image, built once by an engine in this machine's network
# namespace, with no bridge and no firewall rules of its own; its base image
# pulled or made by docker/base-image.sh (debootstrap, where no registry
# answers).
started=$(date +%s)
engine_start build DOCKER_OPTIONS="--bridge none --iptables=false --ip-forward=false --ip-masq=false"
DOCKER_HOST="unix://$TMP/engine-build/docker.sock" "$ROOT/docker/base-image.sh" 2>"$TMP/base.err" \
    || { cat "$TMP/base.err" >&2; fail "no base image"; }
note "base image ready in $(($(date +%s) - started))s: $(tail -n 1 "$TMP/base.err")"
DOCKER_HOST="unix://$TMP/engine-build/docker.sock" stack_build --network host

# 2. Two nodes, each a dockerd on its own test host, and a swarm of them.
started=$(date +%s)
engine_start a DOCKER_NETNS="/run/netns/$HOSTS_PREFIX-a" \
    DOCKER_OPTIONS="--bip $POOL.1/28 --default-address-pool base=$POOL.32/27,size=27"
engine_start b DOCKER_NETNS="/run/netns/$HOSTS_PREFIX-b" \
    DOCKER_OPTIONS="--bip $POOL.17/28 --default-address-pool base=$POOL.64/27,size=27"
dk a swarm init --advertise-addr "$(host_addr a)" --listen-addr "$(host_addr a):2377" \
    --default-addr-pool "$POOL.128/25" --default-addr-pool-mask-length 26 >"$TMP/init.log" 2>&1 \
    || { cat "$TMP/init.log" >&2; fail "docker swarm init failed on a"; }
token=$(dk a swarm join-token --quiet worker)
dk b swarm join --advertise-addr "$(host_addr b)" --listen-addr "$(host_addr b):2377" --token "$token" \
    "$(host_addr a):2377" >"$TMP/join.log" 2>&1 \
    || { cat "$TMP/join.log" >&2; fail "docker swarm join failed on b"; }
deadline=$((started + SWARM_LIMIT))
until [ "$(dk a node ls --format '{{.Status}} {{.Availability}}' | grep -c '^Ready Active$')" -eq 2 ]; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
        dk a node ls >&2
        fail "the two nodes are not both Ready after ${SWARM_LIMIT}s"
    fi
    sleep 0.2
done
note "a swarm of two nodes, $(dk a node ls --format '{{.Hostname}}' | tr '\n' ' ')ready" \
    "$(($(date +%s) - started))s after the first dockerd started"

# 3. The image on both nodes, and the engine that built it gone.
started=$(date +%s)
dk build save --output "$TMP/image.tar" "$IMAGE" || fail "docker save of $IMAGE failed"
loads=""
for name in a b; do
    dk $name load --input "$TMP/image.tar" >"$TMP/load-$name.log" 2>&1 &
    loads="$loads $!"
done
for pid in $loads; do
    wait "$pid" || true
done
rm -f "$TMP/image.tar"
for name in a b; do
    dk $name image inspect "$IMAGE" >/dev/null 2>&1 \
        || { cat "$TMP/load-$name.log" >&2; fail "the image did not load on $name"; }
done
engine_stop build || fail "the engine that built the image is left"
note "the image on both nodes in $(($(date +%s) - started))s"

# 4. Deploy on the manager, wait until every task has ended, one task per
# replica and per node, each complete with exit code 0.
stack_deploy
stack_wait
stack_check_tasks

# 5. Where they ran: a leaf on each node, 2 subscribers on each.
nodes=$(dk a node ls --quiet | sort | tr '\n' ' ')
leaves=$(awk '{ print $5 }' "$TMP/leaf.state" | sort -u | tr '\n' ' ')
[ "$leaves" = "$nodes" ] || fail "the leaves ran on nodes $leaves; the nodes are $nodes"
for node in $nodes; do
    here=$(awk -v node="$node" '$5 == node' "$TMP/subscriber.state" | wc -l)
    [ "$here" -eq $SUBSCRIBERS_PER_NODE ] \
        || fail "$here subscribers ran on node $node, expected $SUBSCRIBERS_PER_NODE"
done
hostname_of() {
    dk a node inspect --format '{{.Description.Hostname}}' "$(awk '{ print $5 }' "$TMP/$1.state")"
}
note "a leaf on each node, $SUBSCRIBERS_PER_NODE subscribers on each; the root on $(hostname_of hub)," \
    "the publisher on $(hostname_of publisher)"

# 6. The story, and the federation of the root and the two leaves.
stack_check_story
stack_check_hubs
