# lib.sh - prelude sourced by every shell test.
#
# Gives each test: strict mode, a temp dir, endpoints on its own ports
# (PORT_BASE, set by ctest, so that tests run in parallel), helpers that
# start processes and remember them, waits that end on an event or fail at
# a deadline, and a cleanup that stops every process the test started and
# fails the test if one had to be stopped (libraries sourced after it, such
# as hosts.sh, add their own steps to that cleanup with cleanup_hook).

set -eu

HERALD=${HERALD:?set HERALD to the herald binary}
CTL=${CTL:-}
FANOUT=${FANOUT:-}
PORT_BASE=${PORT_BASE:?set PORT_BASE to the first of 3 free ports}
TEST=$(basename "$0" .sh)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/herald-$TEST.XXXXXX")

FRONTEND_BIND="tcp://*:$PORT_BASE"
BACKEND_BIND="tcp://*:$((PORT_BASE + 1))"
CONTROL_BIND="tcp://*:$((PORT_BASE + 2))"
FRONTEND="tcp://127.0.0.1:$PORT_BASE"
BACKEND="tcp://127.0.0.1:$((PORT_BASE + 1))"
CONTROL="tcp://127.0.0.1:$((PORT_BASE + 2))"

# Nothing from the caller's environment may change what a test runs.
for variable in $(env | sed -n 's/^\(HERALD_[A-Z_]*\)=.*/\1/p'); do
    unset "$variable"
done
# Every hub binds a federation port too: each test's hubs bind their own.
FEDERATION_BIND="tcp://*:$((PORT_BASE + 9))"
FEDERATION="tcp://127.0.0.1:$((PORT_BASE + 9))"
export HERALD_FEDERATION="$FEDERATION_BIND"

STARTED=""      # names of processes started, in order
CLEANUP_HOOKS=""    # functions cleanup calls once the processes are stopped

fail() {
    echo "FAIL ($TEST): $*" >&2
    exit 1
}

note() {
    echo "--- $*" >&2
}

# need_pyzmq: PYTHON is the system's Python (whatever is on PATH), with
# Debian's pyzmq (python3-zmq, which make test installs); without it the
# test is skipped (77), except in CI (CI=true), where that fails it.
need_pyzmq() {
    PYTHON=/usr/bin/python3
    "$PYTHON" -c 'import zmq' 2>/dev/null && return 0
    [ "${CI:-}" != true ] || fail "$PYTHON cannot import zmq (CI=true: CI runs this test, it never skips it)"
    echo "SKIP ($TEST): $PYTHON cannot import zmq (apt-get install python3-zmq)" >&2
    exit 77
}

# start NAME COMMAND...: run COMMAND in the background, stdout and stderr
# into $TMP/NAME.out and $TMP/NAME.err; remember its pid.
start() {
    name=$1
    shift
    rm -f "$TMP/$name.done" "$TMP/$name.hung"
    "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
    echo $! >"$TMP/$name.pid"
    case " $STARTED " in
    *" $name "*) ;;
    *) STARTED="$STARTED $name" ;;
    esac
}

pid_of() {
    cat "$TMP/$1.pid"
}

# finish NAME EXPECTED [SECONDS]: wait for NAME to exit and check its exit
# code (EXPECTED may list several: 0|143). A watchdog kills it if it is still running after SECONDS (default
# 30): that is a failure, never a way to wait.
finish() {
    name=$1 expected=$2 limit=${3:-30}
    pid=$(pid_of "$name")
    # The watchdog runs in a process group of its own, so that it and its
    # sleep end together: killing the group ends both once setsid has run,
    # killing the process itself ends it before then.
    setsid sh -c 'sleep "$1" && kill -KILL "$2" && : >"$3"' watchdog "$limit" "$pid" \
        "$TMP/$name.hung" >/dev/null 2>&1 &
    dog=$!
    code=0
    wait "$pid" || code=$?
    kill -KILL "$dog" 2>/dev/null || true
    kill -KILL -- "-$dog" 2>/dev/null || true
    wait "$dog" 2>/dev/null || true
    echo done >"$TMP/$name.done"
    [ ! -e "$TMP/$name.hung" ] || fail "$name still running after ${limit}s"
    case "|$expected|" in
    *"|$code|"*) ;;
    *)
        sed 's/^/    /' "$TMP/$name.err" >&2
        fail "$name exited with $code, expected $expected"
        ;;
    esac
}

# start_hub [OPTIONS]: start a hub on this test's ports and wait until its
# control endpoint answers.
start_hub() {
    start hub "$HERALD" hub --frontend "$FRONTEND_BIND" --backend "$BACKEND_BIND" \
        --control "$CONTROL_BIND" "$@"
    "$HERALD" stats --control "$CONTROL" --wait-timeout 5000 >"$TMP/hub.stats" \
        || fail "the hub did not answer on $CONTROL"
    grep -q "\"pid\":$(pid_of hub)," "$TMP/hub.stats" \
        || fail "another hub answers on $CONTROL: $(cat "$TMP/hub.stats")"
}

# expect_count TOPIC N [MS]: the hub counts exactly N subscribers for TOPIC
# within MS milliseconds (default 1000). The hub answers as soon as the
# count is N, so this waits on the event itself.
expect_count() {
    "$HERALD" stats --control "$CONTROL" --topic "$1" --expect "$2" \
        --wait-timeout "${3:-1000}" >/dev/null 2>"$TMP/expect.err" \
        || fail "hub count for '$1': $(cat "$TMP/expect.err")"
}

# stats_field NAME: one number from the hub's JSON, the first so named
# ("in" is the total, before the topics').
stats_field() {
    "$HERALD" stats --control "$CONTROL" | grep -o "\"$1\":[0-9]*" | head -n 1 | cut -d: -f2
}

# check_story NAME EVENTS: NAME's stdout is the full story of a subscriber
# that read until TERMINATE: ready, EVENT-1..EVENTS in order, TERMINATE,
# terminating, nothing else.
check_story() {
    awk -v name="$1" -v events="$2" '
        NR == 1 { if ($0 != name " is ready now to read") bad = "first line: " $0; next }
        NR <= events + 1 {
            if ($0 != name " got message: THIS IS EVENT-" (NR - 1)) { bad = "line " NR ": " $0; exit }
            next
        }
        NR == events + 2 { if ($0 != name " got message: TERMINATE") bad = "line " NR ": " $0; next }
        NR == events + 3 { if ($0 != name " is terminating!") bad = "line " NR ": " $0; next }
        { bad = "extra line " NR ": " $0; exit }
        END {
            if (!bad && NR != events + 3) bad = NR " lines, expected " events + 3
            if (bad) { print name ": " bad; exit 1 }
        }' "$TMP/$1.out" >&2 || fail "$1 did not get every event in order"
}

# cleanup_hook FUNCTION: cleanup calls FUNCTION after stopping the test's
# processes, hooks added later first; FUNCTION returns non-zero if it had
# to remove something by force, and the test fails. It runs with set -e
# ignored, so it checks each step itself.
cleanup_hook() {
    CLEANUP_HOOKS="$1 $CLEANUP_HOOKS"
}

# built_images BEFORE LOG: the images that the docker build logged in LOG
# made: new since BEFORE (a sorted `docker images --all --quiet --no-trunc`)
# and named in LOG as built, not taken from the cache. Another build, of
# another test or checkout on the same engine, may make images meanwhile:
# they are not ours to remove.
built_images() {
    awk '/^ ---> Using cache$/ { cached = 1; next }
         /^ ---> [0-9a-f]+$/ { if (!cached) print $2; cached = 0 }' "$2" | sort -u >"$TMP/built.ids"
    docker images --all --quiet --no-trunc | sort -u | comm -13 "$1" - | while read -r image; do
        short=${image#sha256:}
        if grep -qx "${short:0:12}" "$TMP/built.ids"; then
            echo "$image"
        fi
    done
}

# remove_built_images BEFORE LOG: remove them. An image that others were
# built on goes only after them: two rounds.
remove_built_images() {
    for _ in 1 2; do
        for image in $(built_images "$1" "$2"); do
            docker image rm "$image" >/dev/null 2>&1 || true
        done
    done
}

# Stop whatever is still running; fail if anything was left behind.
cleanup() {
    status=$?
    left=""
    for name in $STARTED; do
        pid=$(pid_of "$name")
        if [ ! -e "$TMP/$name.done" ] && kill -0 "$pid" 2>/dev/null; then
            left="$left $name"
            kill -TERM "$pid" 2>/dev/null || true
        fi
    done
    for name in $left; do
        wait "$(pid_of "$name")" >/dev/null 2>&1 || true
    done
    # Then what a library such as hosts.sh set up, last made first: a hook
    # that had to remove something by force says so and fails the test.
    for hook in $CLEANUP_HOOKS; do
        "$hook" || { [ "$status" -ne 0 ] || status=1; }
    done
    # A clean exit leaves no dangling sockets behind.
    if grep -l "dangling" "$TMP"/*.err >/dev/null 2>&1; then
        grep -H "dangling" "$TMP"/*.err >&2
        [ "$status" -ne 0 ] || status=1
    fi
    if [ -n "$left" ] && [ "$status" -eq 0 ]; then
        echo "FAIL ($TEST): still running at the end:$left" >&2
        status=1
    elif [ -n "$left" ]; then
        echo "stopped after the failure:$left" >&2
    fi
    if [ "$status" -ne 0 ] && [ "$status" -ne 77 ]; then
        echo "kept $TMP for inspection" >&2
    else
        rm -rf "$TMP"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
