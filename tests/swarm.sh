# swarm: the story as a Docker Swarm stack (docker/stack.yml), for real.
#   - the stack file is valid (docker stack config, where the client has it);
#   - the image builds from docker/Dockerfile on the base image of
#     docker/base-image.sh, as for the containers test;
#   - on a one-node swarm (made with docker swarm init when the engine is in
#     none), `docker stack deploy` runs a root hub, a leaf hub below it on
#     the node (global mode), 5 subscribers at the leaf (through sockets
#     in a volume of the node) and a publisher at the root, each a task of its own on the stack's overlay network, with
#     no start order: every client waits for its hub by itself, the leaf
#     joins the root when it can, and the publisher waits until the root
#     counts the 5 subscribers of its federation;
#   - the root is reached by DNS round robin (endpoint_mode dnsrr), not
#     through a virtual IP;
#   - every task ends by itself with exit code 0 and is not restarted: one
#     task per replica, each complete;
#   - each subscriber (sub-subscriber-<slot>-1) reads EVENT-1 first, every
#     event in order, then TERMINATE, and terminates; the publisher counts
#     all 5 subscribers before each of its 9 events; the leaf joined the
#     root; each hub saw TERMINATE pass and left, the root after the leaf
#     (from the service logs).
# It removes the stack, its network and volume, the images it built and,
# if it made the swarm, the swarm (and docker_gwbridge, if that came with
# it), then checks that nothing of them is left; tests/stack.sh, which
# swarm_nodes shares, does most of it. Its names carry its pid, so that it
# never touches what another test run made on the same engine. With no
# Docker engine reachable (DOCKER_HOST, or the default socket) it is
# skipped (exit 77); docker/engine.sh starts one.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"

SUBSCRIBERS=5
NODES=1
STACK=heraldswarm$$
IMAGE=herald-swarm:$STACK
# Node labels on a swarm that a test made: whether it made docker_gwbridge
# too, and which runs use the swarm. The last run out leaves it.
MADE_LABEL=herald.test.swarm.made
USER_LABEL=herald.test.swarm.user.$STACK

skip() {
    echo "SKIP ($TEST): $*" >&2
    trap - EXIT
    rm -rf "$TMP"
    exit 77
}

command -v docker >/dev/null 2>&1 || skip "docker is not installed (docker/engine.sh install)"

# 1. The stack file is valid and has the three services (Debian's 20.10
# client has no 'stack config': the deploy checks it then).
if docker stack --help 2>/dev/null | grep -q "^  config "; then
    stack_env docker stack config --compose-file "$STACK_YML" >"$TMP/config.yml" 2>"$TMP/config.err" \
        || { cat "$TMP/config.err" >&2; fail "docker stack config rejects $STACK_YML"; }
    services=$(awk '/^[a-z]/ { in_services = ($1 == "services:"); next }
                    in_services && /^  [a-z]+:$/ { sub(/:$/, "", $1); print $1 }' "$TMP/config.yml" \
        | sort | tr '\n' ' ')
    [ "$services" = "hub leaf publisher subscriber " ] || fail "services are '$services'"
    # Each one reached by its tasks' addresses, never through a virtual IP.
    [ "$(grep -c '^ *endpoint_mode: dnsrr$' "$TMP/config.yml")" -eq 4 ] \
        || fail "not every service has endpoint_mode dnsrr"
    # No limit of subscribers per node unless asked for.
    ! grep -q "max_replicas_per_node" "$TMP/config.yml" \
        || fail "the subscribers have a limit per node: $(grep max_replicas_per_node "$TMP/config.yml")"
    note "docker stack config: valid, services $services, each dnsrr"
fi

if ! timeout 30 docker info >/dev/null 2>"$TMP/info.err"; then
    skip "no Docker engine reachable at ${DOCKER_HOST:-the default socket}:" \
        "$(tail -n 1 "$TMP/info.err") (start one: docker/engine.sh start)"
fi

swarm_state() {
    docker info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}'
}
state=$(swarm_state)
case $state in
"active true" | "inactive "*) ;;
"active false") skip "this engine is a swarm worker: a stack is deployed from a manager" ;;
*) skip "this engine's swarm is '$state'" ;;
esac

# What this run makes, for the cleanup: the stack (and through it its
# services, tasks, containers and network), the images of its build, and
# perhaps the swarm.
IMAGES_BEFORE=$TMP/images.before
: >"$BUILD_LOG"
node=""

labels() {
    docker node inspect --format '{{range $k, $v := .Spec.Labels}}{{$k}}={{$v}} {{end}}' "$node" \
        | tr ' ' '\n' | grep -v '^$' || true
}
docker_cleanup() {
    ok=yes
    if [ $STACK_DEPLOYED = yes ] || [ -n "$(stack_left)" ]; then
        stack_remove || ok=no
    fi
    # The images: the one it built, and the rest of its build.
    docker image rm "$IMAGE" >/dev/null 2>&1 || true
    remove_built_images "$IMAGES_BEFORE" "$BUILD_LOG"
    # The swarm, if a test made it and no other run uses it.
    if [ -n "$node" ]; then
        docker node update --label-rm "$USER_LABEL" "$node" >/dev/null 2>&1 || true
        made=$(labels | sed -n "s/^$MADE_LABEL=//p")
        users=$(labels | grep -c "^herald\.test\.swarm\.user\." || true)
        if [ -n "$made" ] && [ "$users" -eq 0 ] && [ -z "$(docker service ls --quiet)" ]; then
            docker swarm leave --force >"$TMP/leave.log" 2>&1 || cat "$TMP/leave.log" >&2
            # The network that joined the swarm's containers to the host
            # came with the swarm; the engine lets it go once the last of
            # its endpoints has. Should the engine still count one that no
            # container has (stack.sh's stack_remove), it stays until the
            # engine restarts, and the test says so.
            if [ "$made" = with-gwbridge ]; then
                deadline=$(($(date +%s) + 30))
                until docker network rm docker_gwbridge >"$TMP/gwbridge.log" 2>&1 \
                    || ! docker network inspect docker_gwbridge >/dev/null 2>&1 \
                    || [ "$(date +%s)" -ge "$deadline" ]; do
                    sleep 0.5
                done
                if docker network inspect docker_gwbridge >/dev/null 2>&1; then
                    echo "WARNING ($TEST): docker_gwbridge, made with the swarm, is left:" \
                        "$(tail -n 1 "$TMP/gwbridge.log")" >&2
                fi
            fi
            if [ "$(swarm_state)" != "inactive false" ]; then
                echo "the swarm made by a test is left: $(swarm_state)" >&2
                ok=no
            fi
            note "left the swarm that a test made"
        elif [ -n "$made" ]; then
            note "a swarm made by a test stays: $users other runs or" \
                "$(docker service ls --quiet | wc -l) services use it"
        fi
    fi
    left=$(stack_left)
    # shellcheck disable=SC2086 # one line
    [ -z "$left" ] || { echo "stack $STACK left:" $left >&2; ok=no; }
    left=$(built_images "$IMAGES_BEFORE" "$BUILD_LOG")
    # shellcheck disable=SC2086
    [ -z "$left" ] || { echo "images of $STACK's build left:" $left >&2; ok=no; }
    if [ $ok = no ]; then
        echo "FAIL ($TEST): services, containers, networks, images or the swarm of $STACK are left" >&2
        return 1
    fi
}

# The base image: pulled, or built where no registry answers. It stays.
"$ROOT/docker/base-image.sh" 2>"$TMP/base.err" || { cat "$TMP/base.err" >&2; fail "no base image"; }
docker images --all --quiet --no-trunc | sort -u >"$IMAGES_BEFORE"
trap 'code=$?; docker_cleanup || { [ "$code" -ne 0 ] || code=1; }; (exit "$code"); cleanup' EXIT

# 2. A swarm: the engine's own, or a one-node swarm made here, on loopback,
# its overlay networks in 198.18.0.0/16 (a range for tests).
if [ "$state" = "inactive false" ]; then
    gwbridge=with-gwbridge
    ! docker network inspect docker_gwbridge >/dev/null 2>&1 || gwbridge=without-gwbridge
    if docker swarm init --advertise-addr 127.0.0.1 --listen-addr 127.0.0.1:2377 \
        --default-addr-pool 198.18.0.0/16 --default-addr-pool-mask-length 24 \
        >"$TMP/init.log" 2>&1; then
        node=$(docker info --format '{{.Swarm.NodeID}}')
        docker node update --label-add "$MADE_LABEL=$gwbridge" "$node" >/dev/null
        note "made a one-node swarm (node $node)"
    elif [ "$(swarm_state)" != "active true" ]; then
        # (Another run may have made one just now: then it is used.)
        cat "$TMP/init.log" >&2
        fail "docker swarm init failed"
    fi
fi
node=${node:-$(docker info --format '{{.Swarm.NodeID}}')}
docker node update --label-add "$USER_LABEL=1" "$node" >/dev/null \
    || fail "cannot label node $node"

# 3. The image, from the same Dockerfile and base image as the containers
# test; no cache, so that no layer of it is another run's.
stack_build

# 4. Deploy. The image is on this node only: ask no registry for it.
stack_deploy

# 5. Wait until every task has ended: complete, failed, rejected, shut down.
stack_wait

# 6. One task per replica, each complete with exit code 0: none failed and
# none was started again. Each task's output, from the service logs.
stack_check_tasks

# 7. Each subscriber told the whole story; the publisher counted them all.
stack_check_story

# 8. The leaf joined the root; each hub saw TERMINATE pass and everyone
# leave (the root: the leaf too), then left.
stack_check_hubs
