# containers: herald as a multi-container system, with real containers.
#   - docker/compose.yml is valid (docker-compose config; needs no engine);
#   - the image builds from docker/Dockerfile through the compose file;
#   - `up --scale subscriber=5` runs a hub, a publisher and 5 subscribers,
#     each in its own container on the project's network, and ends by
#     itself: every container exits 0, the hub too;
#   - each subscriber names itself from its host name, reads EVENT-1 first,
#     then every event in order, then TERMINATE, and terminates;
#   - each "Publisher has N subscribers" counts the subscribers alive then;
#   - the image's health check works with CURVE on: a hub run from the image
#     with only HERALD_CURVE_SECRET (its key pair, a mounted file) and an
#     empty HERALD_CURVE_ALLOW_CONTROL list becomes healthy, while a client
#     with another key is refused on the control port.
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
HEALTH_LIMIT=60 # seconds: the image checks every 10 s and calls a hub
                # unhealthy after 3 failures; healthy takes one check

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
: >"$TMP/build.log"
# Containers started without Compose carry the label herald.test=$PROJECT.
run_label=herald.test=$PROJECT
docker_cleanup() {
    compose down --volumes --remove-orphans >"$TMP/down.log" 2>&1 || cat "$TMP/down.log" >&2
    for id in $(docker ps --all --quiet --filter "label=$run_label"); do
        docker rm --force --volumes "$id" >/dev/null 2>&1 || true
    done
    docker image rm "$IMAGE" >/dev/null 2>&1 || true
    # Only what our own build made: another test (swarm) or another
    # checkout may be building on this engine at the same time.
    remove_built_images "$IMAGES_BEFORE" "$TMP/build.log"
    left=$(docker ps --all --quiet --filter "label=com.docker.compose.project=$PROJECT")
    left="$left$(docker ps --all --quiet --filter "label=$run_label")"
    left="$left$(docker network ls --quiet --filter "label=com.docker.compose.project=$PROJECT")"
    left="$left$(built_images "$IMAGES_BEFORE" "$TMP/build.log")"
    if [ -n "$left" ]; then
        echo "FAIL ($TEST): containers, networks or images of $PROJECT are left" >&2
        return 1
    fi
}
trap 'code=$?; docker_cleanup || { [ "$code" -ne 0 ] || code=1; }; (exit "$code"); cleanup' EXIT

# 2. Build the image the way users do, through the compose file; with no
# cache, so that no layer of it is another build's (which that build would
# remove), and no layer of another build's is ours.
started=$(date +%s)
timeout "$BUILD_LIMIT" "${COMPOSE[@]}" --project-name "$PROJECT" --file "$COMPOSE_YML" \
    build --no-cache hub >"$TMP/build.log" 2>&1 || {
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

# 7. The hub's health check with CURVE on. The image's HEALTHCHECK runs
# `herald stats` in the hub's container with its environment: given only
# HERALD_CURVE_SECRET, stats takes that key pair as the hub's own and asks
# the hub that holds it, and the hub always lets its own key use the control
# port. An empty HERALD_CURVE_ALLOW_CONTROL list lets no other key ask, so
# the check passes only through that rule. Keys are files mounted read-only.
KEYS=$TMP/curve
mkdir "$KEYS" "$KEYS/allow-control"
"$HERALD" keygen --out "$KEYS/hub.cert" >"$TMP/keygen.out" || fail "keygen"
hub_key=$(sed -n 's/^public key: //p' "$TMP/keygen.out")
# herald runs as uid 10001 in the image, so its secret must be readable by
# that uid: its owner where we may say so, else readable by all (inside
# $TMP, which only we can enter on this machine).
chown 10001:10001 "$KEYS/hub.cert_secret" 2>/dev/null || chmod 644 "$KEYS/hub.cert_secret"
curve_hub=$PROJECT-curve-hub
docker run --detach --name "$curve_hub" --label "$run_label" \
    --volume "$KEYS/hub.cert_secret:/run/secrets/hub.cert_secret:ro" \
    --volume "$KEYS/allow-control:/etc/herald/allow-control:ro" \
    --env HERALD_CURVE_SECRET=/run/secrets/hub.cert_secret \
    --env HERALD_CURVE_ALLOW_CONTROL=/etc/herald/allow-control \
    "$IMAGE" hub >/dev/null 2>"$TMP/curve-run.err" \
    || { cat "$TMP/curve-run.err" >&2; fail "the CURVE hub did not start"; }
# Wait for the verdict of the image's own health check: healthy passes,
# unhealthy, an exited hub or the deadline fails. Ask once a second.
started=$(date +%s)
deadline=$((started + HEALTH_LIMIT))
while :; do
    state=$(docker inspect --format '{{.State.Status}} {{.State.Health.Status}}' "$curve_hub") \
        || fail "cannot inspect $curve_hub"
    health=${state#* }
    [ "$health" != healthy ] || break
    if [ "$health" = unhealthy ] || [ "${state%% *}" != running ] \
        || [ "$(date +%s)" -ge "$deadline" ]; then
        docker logs "$curve_hub" 2>&1 | tail -n 5 >&2
        # The last check's output, e.g. why stats gave up.
        docker inspect --format '{{range .State.Health.Log}}{{.ExitCode}}: {{.Output}}{{end}}' \
            "$curve_hub" | grep -v '^$' | tail -n 3 >&2
        fail "the CURVE hub's health check: $state after $(($(date +%s) - started))s," \
            "expected healthy within ${HEALTH_LIMIT}s"
    fi
    sleep 1
done
note "the hub with CURVE and an empty control list: healthy after $(($(date +%s) - started))s"
docker logs "$curve_hub" 2>&1 | grep -qF "CURVE on, public key $hub_key," \
    || { docker logs "$curve_hub" >&2; fail "the hub did not say CURVE is on with its key"; }
# The list is real: a client with a key of its own (one made for this run)
# on the hub's own network is refused on the control port, and the hub
# counts it, as its own key sees.
code=0
docker run --rm --no-healthcheck --label "$run_label" --network "container:$curve_hub" \
    --volume "$KEYS/hub.cert:/run/secrets/hub.cert:ro" \
    --env HERALD_CURVE_SERVER_KEY=/run/secrets/hub.cert \
    "$IMAGE" stats --wait-timeout 1000 >"$TMP/outsider.out" 2>"$TMP/outsider.err" || code=$?
[ $code -eq 69 ] || { cat "$TMP/outsider.err" >&2; fail "another key's stats exited $code, expected 69"; }
docker exec "$curve_hub" herald stats --wait-timeout 2000 >"$TMP/curve-stats.json" \
    || fail "the health check's command failed in the hub's container"
grep -q '"handshakes_refused":{[^}]*"control":[1-9]' "$TMP/curve-stats.json" \
    || fail "the hub did not count the refused key: $(cat "$TMP/curve-stats.json")"
note "another key is refused on the control port (69); the hub's own key is answered"
