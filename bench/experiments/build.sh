#!/bin/sh
# Build experimental hubs: build.sh NAME [-DEXP_...]...  -> /tmp/exp/bin/herald-NAME
set -eu
here=$(cd "$(dirname "$0")" && pwd)
name=$1; shift
mkdir -p /tmp/exp/bin
src=/tmp/exp/src
gcc -O2 -g -std=c11 -Wall -Wextra -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -DHERALD_VERSION='"0.1.0"' \
    -I/tmp/exp/include -I$src "$@" \
    $src/main.c $src/config.c $src/log.c $src/wire.c $src/subtable.c $src/publisher.c \
    $src/subscriber.c $src/stats.c $src/demo.c "$here/sock.c" "$here/hub.c" \
    -lczmq -lzmq -o /tmp/exp/bin/herald-$name
echo /tmp/exp/bin/herald-$name
