# stack.sh - docker/stack.yml on a Docker Swarm, for the tests that deploy
# it (swarm, on one node; swarm_nodes, on two). Sourced after lib.sh;
# `docker` talks to a manager of the swarm (DOCKER_HOST).
#
# The test sets, before it calls any of these:
#   STACK          the stack's name (its services are ${STACK}_hub...)
#   IMAGE          the image that the stack runs
#   SUBSCRIBERS    the subscriber replicas, and what the publisher waits for
#   NODES          the nodes of the swarm: one leaf task on each
# and may set:
#   SUBSCRIBERS_PER_NODE  at most this many subscribers on one node (0: any)
#   STACK_ENGINES  DOCKER_HOST of every node whose containers stack_left
#                  looks for (default: the manager's alone)
#
#   stack_env COMMAND...   COMMAND with the stack file's variables, and none
#                          other from the caller's environment
#   stack_build [OPTIONS]  docker build of IMAGE from docker/Dockerfile, no
#                          cache, log in BUILD_LOG, within BUILD_LIMIT
#   stack_deploy           deploys it (no registry asked for IMAGE) and
#                          checks that the hub is dnsrr on an overlay
#   stack_wait             waits until every task has ended, within
#                          RUN_LIMIT of the deploy
#   stack_check_tasks      one task per replica (per node for the leaf),
#                          each complete with exit code 0; each task's
#                          output in $TMP/SERVICE.KEY.out and .err, KEY its
#                          slot (the node's ID for a leaf); each task's line
#                          (ID KEY STATE DESIRED NODE EXIT ERROR) in
#                          $TMP/SERVICE.state
#   stack_check_story      every subscriber told the whole story; the
#                          publisher counted them all before each event
#   stack_check_hubs       every leaf joined the root, all the same root;
#                          the root took NODES hubs in and saw each leave;
#                          every hub left once TERMINATE had passed
#   stack_left             what is left of the stack (services, containers,
#                          networks, volumes), one ID a line
#   stack_remove           removes the stack and waits until it has gone,
#                          within CLEAN_LIMIT; 1 if anything is left

ROOT=${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
STACK_YML=$ROOT/docker/stack.yml
EVENTS=9   # the publisher's default
SUBSCRIBERS_PER_NODE=${SUBSCRIBERS_PER_NODE:-0}
STACK_ENGINES=${STACK_ENGINES:-}
BUILD_LOG=$TMP/build.log
BUILD_LIMIT=${BUILD_LIMIT:-480} # seconds: the build installs packages
RUN_LIMIT=${RUN_LIMIT:-240}     # seconds: the clients wait 120 s for the hub
                                # (and the publisher for the subscribers); a
                                # hub without TERMINATE never ends
CLEAN_LIMIT=${CLEAN_LIMIT:-120} # seconds for the stack's tasks, containers
                                # and network to go
STACK_SERVICES="hub leaf publisher subscriber"
STACK_DEPLOYED=no

stack_env() {
    env IMAGE="$IMAGE" SUBSCRIBERS="$SUBSCRIBERS" SUBSCRIBERS_PER_NODE="$SUBSCRIBERS_PER_NODE" "$@"
}

stack_build() {
    local started
    started=$(date +%s)
    # The legacy builder: its log names each image it made (lib.sh's
    # built_images reads it).
    DOCKER_BUILDKIT=0 timeout "$BUILD_LIMIT" docker build --no-cache --file "$ROOT/docker/Dockerfile" \
        --tag "$IMAGE" "$@" "$ROOT" >"$BUILD_LOG" 2>&1 || {
        tail -n 30 "$BUILD_LOG" >&2
        fail "the image did not build within ${BUILD_LIMIT}s"
    }
    note "built $IMAGE in $(($(date +%s) - started))s"
}

stack_deploy() {
    local mode driver
    STACK_STARTED=$(date +%s)
    STACK_DEPLOYED=yes
    stack_env docker stack deploy --resolve-image never --compose-file "$STACK_YML" "$STACK" \
        >"$TMP/deploy.log" 2>&1 || { cat "$TMP/deploy.log" >&2; fail "docker stack deploy failed"; }
    mode=$(docker service inspect --format '{{.Spec.EndpointSpec.Mode}}' "${STACK}_hub")
    [ "$mode" = dnsrr ] || fail "the hub's endpoint mode is '$mode', expected dnsrr"
    driver=$(docker network inspect --format '{{.Driver}}' "${STACK}_herald")
    [ "$driver" = overlay ] || fail "the stack's network is '$driver', expected overlay"
}

# stack_tasks SERVICE: every task of SERVICE, one line each: ID, key (its
# slot; a global service's tasks have none, and are keyed by node), state,
# desired state, node, exit code, error.
stack_tasks() {
    docker service ps --quiet --no-trunc "${STACK}_$1" >"$TMP/$1.tasks"
    # shellcheck disable=SC2046 # one word per task
    [ ! -s "$TMP/$1.tasks" ] || docker inspect --type task --format \
        '{{.ID}} {{with index . "Slot"}}{{.}}{{else}}{{.NodeID}}{{end}} {{.Status.State}} {{.DesiredState}} {{.NodeID}} {{with index .Status "ContainerStatus"}}{{index . "ExitCode"}}{{else}}-{{end}} {{index .Status "Err"}}' \
        $(cat "$TMP/$1.tasks")
}

stack_wait() {
    local deadline service running count
    deadline=$((STACK_STARTED + RUN_LIMIT))
    while :; do
        for service in $STACK_SERVICES; do
            stack_tasks "$service" >"$TMP/$service.state"
        done
        running=$(cat "$TMP"/*.state | awk '$3 !~ /^(complete|failed|rejected|shutdown|orphaned|remove)$/' | wc -l)
        count=$(cat "$TMP"/*.state | wc -l)
        [ "$running" -ne 0 ] || [ "$count" -lt $((SUBSCRIBERS + 2 + NODES)) ] || break
        if [ "$(date +%s)" -ge "$deadline" ]; then
            cat "$TMP"/*.state >&2
            fail "the stack still runs after ${RUN_LIMIT}s ($running tasks of $count)"
        fi
        sleep 0.5
    done
    note "every task ended $(($(date +%s) - STACK_STARTED))s after the deploy"
}

stack_check_tasks() {
    local failed=no service expected id key state exit_code error
    for service in $STACK_SERVICES; do
        case $service in
        subscriber) expected=$SUBSCRIBERS ;;
        leaf) expected=$NODES ;;
        *) expected=1 ;;
        esac
        [ "$(wc -l <"$TMP/$service.state")" -eq "$expected" ] || {
            echo "$service: $(wc -l <"$TMP/$service.state") tasks, expected $expected" >&2
            failed=yes
        }
        while read -r id key state _ _ exit_code error; do
            if [ "$state" != complete ] || [ "$exit_code" != 0 ]; then
                echo "$service.$key ($id): $state, exit code $exit_code $error" >&2
                failed=yes
            fi
            docker service logs --raw "$id" >"$TMP/$service.$key.out" 2>"$TMP/$service.$key.err" \
                || fail "no logs for task $id"
        done <"$TMP/$service.state"
    done
    if [ $failed = yes ]; then
        tail -n 5 "$TMP"/*.err >&2
        fail "not every task ran once and exited 0"
    fi
    note "$((SUBSCRIBERS + 2 + NODES)) tasks, one per replica and a leaf on each node (nodes: $NODES)," \
        "every one complete with exit code 0"
}

stack_check_story() {
    local slot name counts lines
    # Each subscriber: its name from its host name (subscriber-<slot>, pid
    # 1), and the whole story.
    for slot in $(seq 1 "$SUBSCRIBERS"); do
        name=sub-subscriber-$slot-1
        [ -e "$TMP/subscriber.$slot.out" ] || fail "no subscriber in slot $slot"
        cp "$TMP/subscriber.$slot.out" "$TMP/$name.out"
        check_story "$name" $EVENTS
    done
    note "subscribers sub-subscriber-{1..$SUBSCRIBERS}-1: each read EVENT-1 to EVENT-$EVENTS in order, then TERMINATE"
    # The publisher: a count before each event, each of all the subscribers
    # (none leaves before TERMINATE), and nothing else.
    counts=$(grep -cx "Publisher has $SUBSCRIBERS subscribers" "$TMP/publisher.1.out" || true)
    lines=$(wc -l <"$TMP/publisher.1.out")
    if [ "$counts" -ne $EVENTS ] || [ "$lines" -ne $EVENTS ]; then
        cat "$TMP/publisher.1.out" >&2
        fail "the publisher printed $lines lines, $counts of them 'Publisher has $SUBSCRIBERS subscribers';" \
            "expected $EVENTS"
    fi
    note "publisher: $EVENTS counts, each of $SUBSCRIBERS subscribers"
}

stack_check_hubs() {
    local root_err=$TMP/hub.1.err err roots joined left
    # Each leaf (a global service's task is keyed by its node) joined the
    # root: all of them the same one.
    for err in "$TMP"/leaf.*.err; do
        grep -q "joined the federation below hub [0-9a-f]\{16\} at tcp://hub:5562" "$err" \
            || { cat "$err" >&2; fail "a leaf did not join the root: $err"; }
    done
    roots=$(cat "$TMP"/leaf.*.err | sed -n 's/.*joined the federation below hub \([0-9a-f]\{16\}\) .*/\1/p' \
        | sort -u | wc -l)
    [ "$roots" -eq 1 ] || fail "the leaves joined $roots different hubs"
    # The root took in as many hubs as there are leaves, and saw each leave.
    joined=$(sed -n 's/.* hub \([0-9a-f]\{16\}\) joined below, from .*, with 1 hubs$/\1/p' "$root_err" \
        | sort -u | wc -l)
    [ "$joined" -eq "$NODES" ] || { cat "$root_err" >&2; fail "the root took $joined hubs in, expected $NODES"; }
    left=$(sed -n 's/.* hub \([0-9a-f]\{16\}\) below (.*) left: .*/\1/p' "$root_err" | sort -u | wc -l)
    [ "$left" -eq "$NODES" ] || { cat "$root_err" >&2; fail "the root saw $left of its $NODES leaves leave"; }
    # Each hub saw TERMINATE pass and everyone leave (the root: the leaves
    # too), then left.
    for err in "$TMP"/leaf.*.err "$root_err"; do
        grep -q "TERMINATE has passed; 0 subscriptions, 0 publishers and 0 hubs below remain: exiting" "$err" \
            || { cat "$err" >&2; fail "a hub did not leave after TERMINATE: $err"; }
    done
    note "hubs: every leaf ($NODES) joined the root, which took them all in; each hub left once TERMINATE" \
        "had passed and its clients (and the leaves) had gone"
}

# stack_left: the stack's services (if the manager is still in its swarm),
# and its containers and networks on every engine.
stack_left() {
    local engine
    [ "$(docker info --format '{{.Swarm.LocalNodeState}}')" = inactive ] \
        || docker service ls --quiet --filter "label=com.docker.stack.namespace=$STACK"
    for engine in ${STACK_ENGINES:-${DOCKER_HOST:-default}}; do
        [ "$engine" != default ] || engine=""   # (an empty DOCKER_HOST is the default)
        DOCKER_HOST=$engine docker ps --all --quiet --filter "label=com.docker.stack.namespace=$STACK"
        DOCKER_HOST=$engine docker network ls --quiet --filter "label=com.docker.stack.namespace=$STACK"
        DOCKER_HOST=$engine docker volume ls --quiet --filter "label=com.docker.stack.namespace=$STACK"
    done
}

stack_remove() {
    local id deadline network engine volume left
    # The tasks' containers one at a time first: removed all at once, as
    # 'stack rm' does, they sometimes leave the engine counting an endpoint
    # on docker_gwbridge that no container has, and that network can then
    # not be removed until the engine restarts.
    for id in $(docker ps --all --quiet --filter "label=com.docker.stack.namespace=$STACK"); do
        docker rm --force "$id" >/dev/null 2>&1 || true
    done
    docker stack rm "$STACK" >"$TMP/rm.log" 2>&1 || cat "$TMP/rm.log" >&2
    # Its services go at once, their containers and then the network a
    # little later; its volume (one on each node) only when removed, once
    # no container holds it.
    deadline=$(($(date +%s) + CLEAN_LIMIT))
    while [ -n "$(stack_left)" ] && [ "$(date +%s)" -lt "$deadline" ]; do
        for engine in ${STACK_ENGINES:-${DOCKER_HOST:-default}}; do
            [ "$engine" != default ] || engine=""
            for volume in $(DOCKER_HOST=$engine docker volume ls --quiet \
                --filter "label=com.docker.stack.namespace=$STACK"); do
                DOCKER_HOST=$engine docker volume rm "$volume" >/dev/null 2>&1 || true
            done
        done
        sleep 0.5
    done
    # A network whose containers have gone, but that stayed.
    for network in $(docker network ls --quiet --filter "label=com.docker.stack.namespace=$STACK"); do
        docker network rm "$network" >/dev/null 2>&1 || true
    done
    left=$(stack_left)
    # shellcheck disable=SC2086 # one line
    [ -z "$left" ] || { echo "stack $STACK left:" $left >&2; return 1; }
}
