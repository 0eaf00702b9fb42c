# containers: herald as a multi-container system, with real containers.
#   - docker/compose.yml is valid (docker-compose config; needs no engine);
#   - the image builds from docker/Dockerfile through the compose file;
#   - `up --scale subscriber=5` runs a hub, a publisher and 5 subscribers,
#     each in its own container on the project's network, and ends by
#     itself: every container exits 0, the hub too;
#   - each subscriber names itself from its host name, reads EVENT-1 first,
#     then every event in order, then TERMINATE, and terminates;
#   - each "Publisher has N subscribers" counts the subscribers alive then.
# It removes its containers, network and the images it built. With no
# Docker engine reachable (DOCKER_HOST, or the default socket) it is
# skipped (exit 77); docker/engine.sh starts one.
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$(dirname "$0")/.." && pwd)
COMPOSE_YML=$ROOT/docker/compose.yml
SUBSCRIBERS=5
EVENTS=9        # the publisher's default
PROJECT=heraldtest$$
IMAGE=herald-test:$PROJECT
BUILD_LIMIT=480 # seconds: the build installs packages inside the image
RUN_LIMIT=180   # seconds: a publisher that gives up does so after 30 s, a
                # subscriber after 60 s, a hub left without TERMINATE never

skip() {
    echo "SKIP ($TEST): $*" >&2
    trap - EXIT
    rm -rf "$TMP"
    exit 77
}

# Compose: Debian's docker-compose (1.29), else the docker compose plugin.
if command -v docker-compose >/dev/null 2>&1; then
    COMPOSE=(docker-compose)
elif command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
    COMPOSE=(docker compose)
else
    skip "neither docker-compose nor 'docker compose' is installed (docker/engine.sh install)"
fi
# The compose file reads these; nothing else from the caller's environment.
export IMAGE=$IMAGE SUBSCRIBERS
unset COMPOSE_FILE COMPOSE_PROJECT_NAME COMPOSE_PROFILES
compose() {
    "${COMPOSE[@]}" --project-name "$PROJECT" --file "$COMPOSE_YML" "$@"
}

# 1. The compose file is valid and has the three services.
compose config --quiet 2>"$TMP/config.err" \
    || { cat "$TMP/config.err" >&2; fail "${COMPOSE[*]} config rejects $COMPOSE_YML"; }
services=$(compose config --services | sort | tr '\n' ' ')
[ "$services" = "hub publisher subscriber " ] || fail "services are '$services'"
note "${COMPOSE[*]} config: valid, services $services"

if ! timeout 30 docker info >/dev/null 2>"$TMP/info.err"; then
    skip "no Docker engine reachable at ${DOCKER_HOST:-the default socket}:" \
        "$(tail -n 1 "$TMP/info.err") (start one: docker/engine.sh start)"
fi

# The base image: pulled, or built where no registry answers. It stays.
"$ROOT/docker/base-image.sh" 2>"$TMP/base.err" || { cat "$TMP/base.err" >&2; fail "no base image"; }

# Cleanup: the project's containers and network, the image built here and
# the intermediate images its build left behind.
IMAGES_BEFORE=$TMP/images.before
docker images --all --quiet --no-trunc | sort -u >"$IMAGES_BEFORE"
docker_cleanup() {
    compose down --volumes --remove-orphans >"$TMP/down.log" 2>&1 || cat "$TMP/down.log" >&2
    docker image rm "$IMAGE" >/dev/null 2>&1 || true
    # An image that others were built on goes only after them: two rounds.
    for _ in 1 2; do
        docker images --all --quiet --no-trunc | sort -u >"$TMP/images.after"
        for image in $(comm -13 "$IMAGES_BEFORE" "$TMP/images.after"); do
            docker image rm "$image" >/dev/null 2>&1 || true
        done
    done
    docker images --all --quiet --no-trunc | sort -u >"$TMP/images.after"
    left=$(docker ps --all --quiet --filter "label=com.docker.compose.project=$PROJECT")
    left="$left$(docker network ls --quiet --filter "label=com.docker.compose.project=$PROJECT")"
    left="$left$(comm -13 "$IMAGES_BEFORE" "$TMP/images.after")"
    if [ -n "$left" ]; then
        echo "FAIL ($TEST): containers, networks or images of $PROJECT are left" >&2
        return 1
    fi
}
trap 'code=$?; docker_cleanup || { [ "$code" -ne 0 ] || code=1; }; (exit "$code"); cleanup' EXIT

# 2. Build the image the way users do, through the compose file.
started=$(date +%s)
timeout "$BUILD_LIMIT" "${COMPOSE[@]}" --project-name "$PROJECT" --file "$COMPOSE_YML" \
    build hub >"$TMP/build.log" 2>&1 || {
    tail -n 30 "$TMP/build.log" >&2
    fail "the image did not build within ${BUILD_LIMIT}s"
}
note "built $IMAGE in $(($(date +%s) - started))s"

# 3. Run it: it must end by itself.
started=$(date +%s)
code=0
timeout "$RUN_LIMIT" "${COMPOSE[@]}" --project-name "$PROJECT" --file "$COMPOSE_YML" \
    up --no-build --no-color --scale subscriber=$SUBSCRIBERS >"$TMP/up.log" 2>&1 || code=$?
[ "$code" -ne 124 ] || { tail -n 40 "$TMP/up.log" >&2; fail "still running after ${RUN_LIMIT}s"; }
note "up ended with $code after $(($(date +%s) - started))s"

# 4. Every container exited 0; read each one's output with its timestamps.
ids=$(docker ps --all --quiet --filter "label=com.docker.compose.project=$PROJECT")
: >"$TMP/containers"
for id in $ids; do
    docker inspect --format \
        '{{index .Config.Labels "com.docker.compose.service"}} {{.State.Status}} {{.State.ExitCode}} {{.Config.Hostname}} {{.Name}}' \
        "$id" >>"$TMP/containers"
    docker logs --timestamps "$id" >"$TMP/$id.log" 2>"$TMP/$id.err"
done
failed=no
while read -r service status exit_code _ name; do
    if [ "$status" != exited ] || [ "$exit_code" != 0 ]; then
        echo "$name ($service): $status, exit code $exit_code" >&2
        failed=yes
    fi
done <"$TMP/containers"
if [ $failed = yes ]; then
    tail -n 60 "$TMP/up.log" >&2
    fail "not every container exited 0"
fi
count_of() { awk -v s="$1" '$1 == s' "$TMP/containers" | wc -l; }
if [ "$(count_of hub)" -ne 1 ] || [ "$(count_of publisher)" -ne 1 ] \
    || [ "$(count_of subscriber)" -ne $SUBSCRIBERS ]; then
    cat "$TMP/containers" >&2
    fail "expected 1 hub, 1 publisher, $SUBSCRIBERS subscribers"
fi
note "$(wc -l <"$TMP/containers") containers, every one exited 0"

# 5. Each subscriber: a name of its own from its host name, and the whole
# story: ready, EVENT-1 first, every event in order, TERMINATE, terminating.
id_of() { docker ps --all --quiet --filter "label=com.docker.compose.project=$PROJECT" \
    --filter "label=com.docker.compose.service=$1"; }
: >"$TMP/timeline"
names=""
for id in $(id_of subscriber); do
    host=$(docker inspect --format '{{.Config.Hostname}}' "$id")
    cut -d' ' -f2- "$TMP/$id.log" >"$TMP/$id.out"
    name=$(sed -n '1s/ is ready now to read$//p' "$TMP/$id.out")
    case $name in
    sub-"$host"-[0-9]*) ;;
    *) cat "$TMP/$id.out" >&2; fail "subscriber in $host: first line is not sub-$host-PID's" ;;
    esac
    case " $names " in *" $name "*) fail "two subscribers are named $name" ;; esac
    names="$names $name"
    cp "$TMP/$id.out" "$TMP/$name.out"
    check_story "$name" $EVENTS
    grep " $name is terminating!$" "$TMP/$id.log" | awk '{ print $1, "gone" }' >>"$TMP/timeline"
done
note "subscribers:$names: each read EVENT-1 to EVENT-$EVENTS in order, then TERMINATE"

# 6. The publisher's counts: one line per event, each counting every
# subscriber that has not terminated yet. One that said it is terminating
# since the previous count line may still be counted: its disconnect may be
# in flight.
publisher=$(id_of publisher)
grep -v ' Publisher has [0-9]* subscribers$' "$TMP/$publisher.log" >&2 \
    && fail "the publisher printed something else"
awk '{ print $1, "count", $4 }' "$TMP/$publisher.log" >>"$TMP/timeline"
LC_ALL=C sort -s -k1,1 "$TMP/timeline" | awk -v subscribers=$SUBSCRIBERS -v events=$EVENTS '
    $2 == "gone" { gone++; next }
    {
        counts++
        if ($3 < subscribers - gone || $3 > subscribers - gone_before) {
            print "count " counts ": " $3 " subscribers; " gone + 0 " had terminated, " \
                gone_before + 0 " by the count before"
            bad = 1
        }
        gone_before = gone
    }
    END {
        if (counts != events) { print counts " count lines, expected " events; bad = 1 }
        exit bad
    }' >&2 || { cat "$TMP/$publisher.log" >&2; fail "the publisher's counts are wrong"; }
note "publisher: $EVENTS counts, each of the subscribers alive then"
