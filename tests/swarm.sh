# swarm: the story as a Docker Swarm stack (docker/stack.yml), for real.
#   - the stack file is valid (docker stack config, where the client has it);
#   - the image builds from docker/Dockerfile on the base image of
#     docker/base-image.sh, as for the containers test;
#   - on a one-node swarm (made with docker swarm init when the engine is in
#     none), `docker stack deploy` runs a root hub, a leaf hub below it on
#     the node (global mode), 5 subscribers at the leaf and a publisher at
#     the root, each a task of its own on the stack's overlay network, with
#     no start order: every client waits for its hub by itself, the leaf
#     joins the root when it can, and the publisher waits until the root
#     counts the 5 subscribers of its federation;
#   - the hubs are reached by DNS round robin (endpoint_mode dnsrr), not
#     through a virtual IP;
#   - every task ends by itself with exit code 0 and is not restarted: one
#     task per replica, each complete;
#   - each subscriber (sub-subscriber-<slot>-1) reads EVENT-1 first, every
#     event in order, then TERMINATE, and terminates; the publisher counts
#     all 5 subscribers before each of its 9 events; the leaf joined the
#     root; each hub saw TERMINATE pass and left, the root after the leaf
#     (from the service logs).
# It removes the stack, its network, the images it built and, if it made the
# swarm, the swarm (and docker_gwbridge, if that came with it), then checks
# that nothing of them is left. Its names carry its pid, so that it never
# touches what another test run made on the same engine. With no Docker
# engine reachable (DOCKER_HOST, or the default socket) it is skipped (exit
# 77); docker/engine.sh starts one.
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$(dirname "$0")/.." && pwd)
STACK_YML=$ROOT/docker/stack.yml
SUBSCRIBERS=5
EVENTS=9   # the publisher's default
STACK=heraldswarm$$
IMAGE=herald-swarm:$STACK
BUILD_LIMIT=480 # seconds: the build installs packages inside the image
RUN_LIMIT=240   # seconds: the clients wait 120 s for the hub (and the
                # publisher for the subscribers); a hub without TERMINATE
                # never ends
CLEAN_LIMIT=120 # seconds for the stack's tasks, containers and network to go
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
# The stack file reads these two; nothing else from the caller's environment.
stack_env() {
    env IMAGE="$IMAGE" SUBSCRIBERS=$SUBSCRIBERS "$@"
}

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
BUILD_LOG=$TMP/build.log
: >"$BUILD_LOG"
node=""
deployed=no

stack_left() {
    # (A node that has left its swarm has no services.)
    [ "$(swarm_state)" = "inactive false" ] \
        || docker service ls --quiet --filter "label=com.docker.stack.namespace=$STACK"
    docker ps --all --quiet --filter "label=com.docker.stack.namespace=$STACK"
    docker network ls --quiet --filter "label=com.docker.stack.namespace=$STACK"
}
labels() {
    docker node inspect --format '{{range $k, $v := .Spec.Labels}}{{$k}}={{$v}} {{end}}' "$node" \
        | tr ' ' '\n' | grep -v '^$' || true
}
docker_cleanup() {
    ok=yes
    # The stack: its services go at once, their containers and then the
    # network a little later.
    if [ $deployed = yes ] || [ -n "$(stack_left)" ]; then
        # The tasks' containers one at a time first: removed all at once,
        # as 'stack rm' does, they sometimes leave the engine counting an
        # endpoint on docker_gwbridge that no container has, and that
        # network can then not be removed until the engine restarts.
        for id in $(docker ps --all --quiet --filter "label=com.docker.stack.namespace=$STACK"); do
            docker rm --force "$id" >/dev/null 2>&1 || true
        done
        docker stack rm "$STACK" >"$TMP/rm.log" 2>&1 || cat "$TMP/rm.log" >&2
        deadline=$(($(date +%s) + CLEAN_LIMIT))
        while [ -n "$(stack_left)" ] && [ "$(date +%s)" -lt "$deadline" ]; do
            sleep 0.5
        done
        # A network whose containers have gone, but that stayed.
        for network in $(docker network ls --quiet --filter "label=com.docker.stack.namespace=$STACK"); do
            docker network rm "$network" >/dev/null 2>&1 || true
        done
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
            # container has (see above), it stays until the engine
            # restarts, and the test says so.
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
started=$(date +%s)
timeout "$BUILD_LIMIT" docker build --no-cache --file "$ROOT/docker/Dockerfile" --tag "$IMAGE" \
    "$ROOT" >"$BUILD_LOG" 2>&1 || {
    tail -n 30 "$BUILD_LOG" >&2
    fail "the image did not build within ${BUILD_LIMIT}s"
}
note "built $IMAGE in $(($(date +%s) - started))s"

# 4. Deploy. The image is on this node only: ask no registry for it.
started=$(date +%s)
deployed=yes
stack_env docker stack deploy --resolve-image never --compose-file "$STACK_YML" "$STACK" \
    >"$TMP/deploy.log" 2>&1 || { cat "$TMP/deploy.log" >&2; fail "docker stack deploy failed"; }
mode=$(docker service inspect --format '{{.Spec.EndpointSpec.Mode}}' "${STACK}_hub")
[ "$mode" = dnsrr ] || fail "the hub's endpoint mode is '$mode', expected dnsrr"
driver=$(docker network inspect --format '{{.Driver}}' "${STACK}_herald")
[ "$driver" = overlay ] || fail "the stack's network is '$driver', expected overlay"

# Every task of a service, one line each: slot (0 for a global service's),
# state, desired state, exit code.
tasks_of() {
    docker service ps --quiet --no-trunc "${STACK}_$1" >"$TMP/$1.tasks"
    # shellcheck disable=SC2046 # one word per task
    [ ! -s "$TMP/$1.tasks" ] || docker inspect --type task --format \
        '{{.ID}} {{with index . "Slot"}}{{.}}{{else}}0{{end}} {{.Status.State}} {{.DesiredState}} {{with index .Status "ContainerStatus"}}{{index . "ExitCode"}}{{else}}-{{end}} {{index .Status "Err"}}' \
        $(cat "$TMP/$1.tasks")
}
# 5. Wait until every task has ended: complete, failed, rejected, shut down.
deadline=$((started + RUN_LIMIT))
while :; do
    for service in hub leaf publisher subscriber; do
        tasks_of $service >"$TMP/$service.state"
    done
    running=$(cat "$TMP"/*.state | awk '$3 !~ /^(complete|failed|rejected|shutdown|orphaned|remove)$/' | wc -l)
    count=$(cat "$TMP"/*.state | wc -l)
    [ "$running" -ne 0 ] || [ "$count" -lt $((SUBSCRIBERS + 3)) ] || break
    if [ "$(date +%s)" -ge "$deadline" ]; then
        cat "$TMP"/*.state >&2
        fail "the stack still runs after ${RUN_LIMIT}s ($running tasks of $count)"
    fi
    sleep 0.5
done
note "every task ended $(($(date +%s) - started))s after the deploy"

# 6. One task per replica, each complete with exit code 0: none failed and
# none was started again. Each task's output, from the service logs.
failed=no
for service in hub leaf publisher subscriber; do
    expected=1
    [ $service != subscriber ] || expected=$SUBSCRIBERS
    [ "$(wc -l <"$TMP/$service.state")" -eq $expected ] || {
        echo "$service: $(wc -l <"$TMP/$service.state") tasks, expected $expected" >&2
        failed=yes
    }
    while read -r id slot state _ exit_code error; do
        if [ "$state" != complete ] || [ "$exit_code" != 0 ]; then
            echo "$service.$slot ($id): $state, exit code $exit_code $error" >&2
            failed=yes
        fi
        docker service logs --raw "$id" >"$TMP/$service.$slot.out" 2>"$TMP/$service.$slot.err" \
            || fail "no logs for task $id"
    done <"$TMP/$service.state"
done
if [ $failed = yes ]; then
    tail -n 5 "$TMP"/*.err >&2
    fail "not every task ran once and exited 0"
fi
note "$((SUBSCRIBERS + 3)) tasks, one per replica (and one leaf on the node), every one complete with exit code 0"

# 7. Each subscriber: its name from its host name (subscriber-<slot>, pid 1),
# and the whole story.
for slot in $(seq 1 $SUBSCRIBERS); do
    name=sub-subscriber-$slot-1
    [ -e "$TMP/subscriber.$slot.out" ] || fail "no subscriber in slot $slot"
    cp "$TMP/subscriber.$slot.out" "$TMP/$name.out"
    check_story "$name" $EVENTS
done
note "subscribers sub-subscriber-{1..$SUBSCRIBERS}-1: each read EVENT-1 to EVENT-$EVENTS in order, then TERMINATE"

# 8. The publisher: a count before each event, each of all the subscribers
# (none leaves before TERMINATE), and nothing else.
counts=$(grep -cx "Publisher has $SUBSCRIBERS subscribers" "$TMP/publisher.1.out" || true)
lines=$(wc -l <"$TMP/publisher.1.out")
if [ "$counts" -ne $EVENTS ] || [ "$lines" -ne $EVENTS ]; then
    cat "$TMP/publisher.1.out" >&2
    fail "the publisher printed $lines lines, $counts of them 'Publisher has $SUBSCRIBERS subscribers';" \
        "expected $EVENTS"
fi
note "publisher: $EVENTS counts, each of $SUBSCRIBERS subscribers"

# 9. The leaf joined the root, and the subscribers were its own; each hub
# saw TERMINATE pass and everyone leave (the root: the leaf too), then left.
leaf_err=$TMP/leaf.0.err   # a global service's task has no slot
grep -q "joined the federation below hub [0-9a-f]\{16\} at tcp://hub:5562" "$leaf_err" \
    || { cat "$leaf_err" >&2; fail "the leaf did not join the root"; }
grep -q "hub [0-9a-f]\{16\} joined below, from .*, with 1 hubs" "$TMP/hub.1.err" \
    || { cat "$TMP/hub.1.err" >&2; fail "the root did not take the leaf in"; }
for err in "$leaf_err" "$TMP/hub.1.err"; do
    grep -q "TERMINATE has passed; 0 subscriptions, 0 publishers and 0 hubs below remain: exiting" "$err" \
        || { cat "$err" >&2; fail "a hub did not leave after TERMINATE: $err"; }
done
grep -q "hub [0-9a-f]\{16\} below (.*) left" "$TMP/hub.1.err" \
    || fail "the root did not see its leaf leave before it"
note "hubs: the leaf joined the root; each left once TERMINATE had passed and its clients (and the leaf) had gone"
