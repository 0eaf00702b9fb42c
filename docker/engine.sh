#!/bin/sh
# engine.sh - a Docker engine for the container test, on a machine without
# an init system.
#
#   docker/engine.sh install   install Debian's docker.io, docker-compose and
#                              debootstrap (only what is missing)
#   docker/engine.sh start     start dockerd in the background, its data,
#                              state, pid file, log and socket all under
#                              $DOCKER_DIR (default /tmp/herald-docker);
#                              wait until it answers; print the DOCKER_HOST
#                              value to use
#   docker/engine.sh stop      stop that dockerd, wait for it to exit and
#                              remove its containers, images and directory
#
# Environment: DOCKER_DIR, DOCKER_TIMEOUT (seconds to wait for
# the daemon to answer or to exit, default 60); for 'start', also
# DOCKER_NETNS (a network namespace, /run/netns/NAME: dockerd runs inside
# it, in a UTS namespace of its own with the host name DOCKER_HOSTNAME,
# default NAME: a node of its own, as tests/swarm_nodes.sh makes two) and
# DOCKER_OPTIONS (more dockerd options, split at spaces).
set -eu

DIR=${DOCKER_DIR:-/tmp/herald-docker}
TIMEOUT=${DOCKER_TIMEOUT:-60}
NETNS=${DOCKER_NETNS:-}
NODE_NAME=${DOCKER_HOSTNAME:-$(basename "${NETNS:-none}")}
OPTIONS=${DOCKER_OPTIONS:-}
SOCKET="unix://$DIR/docker.sock"
PIDFILE="$DIR/dockerd.pid"
LOG="$DIR/dockerd.log"

say() {
    echo "engine: $*" >&2
}

# The daemon's pid, if it is running.
daemon_pid() {
    [ -s "$PIDFILE" ] || return 1
    pid=$(cat "$PIDFILE")
    kill -0 "$pid" 2>/dev/null || return 1
    echo "$pid"
}

answers() {
    DOCKER_HOST=$SOCKET docker info >/dev/null 2>&1
}

install() {
    missing=""
    command -v dockerd >/dev/null 2>&1 || missing="$missing docker.io"
    command -v docker-compose >/dev/null 2>&1 || missing="$missing docker-compose"
    command -v debootstrap >/dev/null 2>&1 || missing="$missing debootstrap"
    command -v iptables >/dev/null 2>&1 || missing="$missing iptables"
    if [ -z "$missing" ]; then
        say "docker.io, docker-compose and debootstrap are installed"
        return 0
    fi
    sudo=
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    say "installing$missing"
    $sudo apt-get update -q
    # shellcheck disable=SC2086 # one word per package
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends \
        $missing ca-certificates
}

start() {
    command -v dockerd >/dev/null 2>&1 || { say "dockerd is missing: run '$0 install'"; exit 1; }
    if daemon_pid >/dev/null && answers; then
        say "dockerd is already running (pid $(daemon_pid))"
        echo "$SOCKET"
        return 0
    fi
    mkdir -p "$DIR/data" "$DIR/exec"
    # A daemon that died leaves its pid file and socket behind.
    rm -f "$PIDFILE" "$DIR/docker.sock"
    say "starting dockerd, log in $LOG"
    # In a network namespace: entered with nsenter, not 'ip netns exec',
    # which remounts /sys, where dockerd then finds no devices cgroup. Each
    # step execs the next, so that the pid is dockerd's.
    if [ -n "$NETNS" ]; then
        # shellcheck disable=SC2016 # expanded by that sh
        set -- nsenter --net="$NETNS" unshare --uts \
            sh -c 'hostname "$0" && exec "$@"' "$NODE_NAME" dockerd
    else
        set -- dockerd
    fi
    # setsid: the daemon outlives this script and the caller's job control,
    # and is stopped only by 'stop'. A swarm service on this engine uses the
    # image it has, rather than first asking a registry (none may answer)
    # for a newer one (tests/swarm.sh).
    # shellcheck disable=SC2086 # one word per option
    DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 setsid "$@" \
        --host "$SOCKET" \
        --data-root "$DIR/data" \
        --exec-root "$DIR/exec" \
        --pidfile "$PIDFILE" \
        $OPTIONS \
        >"$LOG" 2>&1 </dev/null &
    started=$!
    deadline=$(($(date +%s) + TIMEOUT))
    until answers; do
        if ! kill -0 "$started" 2>/dev/null; then
            say "dockerd exited; the end of its log:"
            tail -n 20 "$LOG" >&2
            exit 1
        fi
        if [ "$(date +%s)" -ge "$deadline" ]; then
            say "dockerd did not answer within ${TIMEOUT}s; the end of its log:"
            tail -n 20 "$LOG" >&2
            exit 1
        fi
        # Ask again in a moment, or at once if the daemon dies meanwhile.
        timeout 0.2 tail --pid="$started" -f /dev/null 2>/dev/null || true
    done
    say "dockerd answers (pid $(daemon_pid)); use DOCKER_HOST=$SOCKET"
    echo "$SOCKET"
}

stop() {
    if ! pid=$(daemon_pid); then
        say "no dockerd running from $DIR"
    else
        # Containers first, so that nothing of them outlives the daemon.
        ids=$(DOCKER_HOST=$SOCKET docker ps -aq 2>/dev/null || true)
        if [ -n "$ids" ]; then
            # shellcheck disable=SC2086
            DOCKER_HOST=$SOCKET docker rm -f $ids >/dev/null 2>&1 || true
        fi
        say "stopping dockerd (pid $pid)"
        kill -TERM "$pid"
        deadline=$(($(date +%s) + TIMEOUT))
        while kill -0 "$pid" 2>/dev/null; do
            if [ "$(date +%s)" -ge "$deadline" ]; then
                say "dockerd did not exit within ${TIMEOUT}s: killing it"
                kill -KILL "$pid" 2>/dev/null || true
                break
            fi
            # Returns as soon as the daemon is gone, or after a second.
            timeout 1 tail --pid="$pid" -f /dev/null 2>/dev/null || true
        done
    fi
    # The daemon's mounts (overlay layers, netns) must go before the files.
    if [ -d "$DIR" ]; then
        grep -o " $DIR/[^ ]*" /proc/mounts | sort -r | while read -r mountpoint; do
            umount -l "$mountpoint" 2>/dev/null || true
        done
        rm -rf "$DIR"
    fi
    say "stopped and cleaned up"
}

case ${1:-} in
install) install ;;
start) start ;;
stop) stop ;;
*)
    echo "usage: $0 install|start|stop" >&2
    exit 64
    ;;
esac
