#!/bin/sh
# deps.sh - install herald's build dependencies when they are missing.
# Debian/Ubuntu only: uses apt-get (through sudo when not root); elsewhere it
# names what to install and fails.
#   deps.sh        what make, make run and make test need
#   deps.sh fuzz   clang and its libFuzzer runtime, for make fuzz
#   deps.sh test   the tools some tests need (tcpdump, for the capture test;
#                  python3-zmq, Debian's pyzmq, for the tests that use a
#                  plain ZeroMQ client: hostile, plain, python_client;
#                  iproute2, for the test hosts of multihost); never
#                  fails: a test whose tool is missing skips itself (but
#                  for multihost in CI, which fails then)
#   deps.sh bench  python3, which renders the bench's report (make bench);
#                  gnuplot, for the chart, stays optional as the servers do
set -eu

install() {
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "herald: missing $2; install $1" >&2
        exit 1
    fi
    sudo=
    if [ "$(id -u)" -ne 0 ]; then
        sudo=sudo
    fi
    echo "herald: installing $1" >&2
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends $1
}

if [ "${1:-}" = fuzz ]; then
    if ! command -v clang >/dev/null 2>&1 || ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
        install "clang libclang-rt-14-dev" "clang with libFuzzer"
    fi
    exit 0
fi

if [ "${1:-}" = bench ]; then
    if ! command -v python3 >/dev/null 2>&1; then
        install python3 "python3, which renders the bench's report"
    fi
    exit 0
fi

if [ "${1:-}" = test ]; then
    if ! command -v tcpdump >/dev/null 2>&1; then
        if ! command -v apt-get >/dev/null 2>&1; then
            echo "herald: tcpdump is missing, so the capture test will skip; install tcpdump to run it" >&2
        else
            ( install tcpdump "tcpdump" ) \
                || echo "herald: could not install tcpdump, so the capture test will skip" >&2
        fi
    fi
    if ! /usr/bin/python3 -c 'import zmq' >/dev/null 2>&1; then
        if ! command -v apt-get >/dev/null 2>&1; then
            echo "herald: python3-zmq is missing, so the tests with a plain ZeroMQ client will skip" >&2
        else
            ( install python3-zmq "python3-zmq" ) \
                || echo "herald: could not install python3-zmq, so the tests with a plain ZeroMQ client will skip" >&2
        fi
    fi
    if ! command -v ip >/dev/null 2>&1; then
        if ! command -v apt-get >/dev/null 2>&1; then
            echo "herald: ip (iproute2) is missing, so the multihost test will skip" >&2
        else
            ( install iproute2 "iproute2" ) \
                || echo "herald: could not install iproute2, so the multihost test will skip" >&2
        fi
    fi
    exit 0
fi

packages="libczmq-dev libzmq3-dev libjudy-dev cmake pkg-config gcc libc6-dev make"
missing=no
command -v cc >/dev/null 2>&1 || missing=yes
command -v cmake >/dev/null 2>&1 || missing=yes
command -v pkg-config >/dev/null 2>&1 || missing=yes
[ -f /usr/include/Judy.h ] || missing=yes
if [ "$missing" = no ] && pkg-config --exists 'libzmq >= 4.3' 'libczmq >= 4.2'; then
    exit 0
fi
install "$packages" "build dependencies (libzmq >= 4.3, czmq >= 4.2 and Judy development files, a C compiler, cmake, pkg-config)"
