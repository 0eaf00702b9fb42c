#!/bin/sh
# base-image.sh - make sure the Docker engine has debian:bookworm-slim, the
# base of docker/Dockerfile.
#
# Uses the image if the engine has it, else pulls it, else (no registry
# reachable) builds a minimal Debian bookworm root file system with
# debootstrap from a Debian mirror and imports it under that tag. Running it
# again changes nothing.
#
# Environment: DOCKER_HOST as for docker; DEBIAN_MIRROR (default: the
# mirror this machine's apt uses); BASE_IMAGE (default
# debian:bookworm-slim); PULL_TIMEOUT (seconds, default 300).
set -eu

IMAGE=${BASE_IMAGE:-debian:bookworm-slim}
HOST_SOURCES=/etc/apt/sources.list.d/debian.sources
# The first Debian mirror this machine's apt is configured with.
host_mirror() {
    {
        sed -n 's/^URIs: *\([^ ]*\).*/\1/p' "$HOST_SOURCES"
        sed -n 's/^deb \(\[[^]]*\] \)\{0,1\}\([^ ]*\) .*/\2/p' /etc/apt/sources.list
    } 2>/dev/null | head -n 1
}
MIRROR=${DEBIAN_MIRROR:-$(host_mirror)}
SUITE=bookworm
PULL_TIMEOUT=${PULL_TIMEOUT:-300}

say() {
    echo "base-image: $*" >&2
}

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
    say "$IMAGE is there"
    exit 0
fi
if timeout "$PULL_TIMEOUT" docker pull "$IMAGE" >&2; then
    say "pulled $IMAGE"
    exit 0
fi

[ -n "$MIRROR" ] || { say "cannot pull $IMAGE and no Debian mirror is known: set DEBIAN_MIRROR"; exit 1; }
say "cannot pull $IMAGE: building it with debootstrap from $MIRROR"
command -v debootstrap >/dev/null 2>&1 \
    || { say "debootstrap is missing (apt-get install debootstrap)"; exit 1; }
[ "$(id -u)" -eq 0 ] || { say "debootstrap needs root"; exit 1; }

ROOT=$(mktemp -d "${TMPDIR:-/tmp}/herald-rootfs.XXXXXX")
trap 'rm -rf "$ROOT"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Like the official slim image: no documentation, manual pages or locales.
mkdir -p "$ROOT/etc/dpkg/dpkg.cfg.d"
cat >"$ROOT/etc/dpkg/dpkg.cfg.d/docker-slim" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
CFG
debootstrap --variant=minbase "$SUITE" "$ROOT" "$MIRROR" >"$ROOT.log" 2>&1 || {
    tail -n 20 "$ROOT.log" >&2
    rm -f "$ROOT.log"
    say "debootstrap failed"
    exit 1
}
rm -f "$ROOT.log"

# apt in the image uses this machine's Debian sources when they are for the
# same suite (as on bookworm), else the mirror alone.
rm -f "$ROOT/etc/apt/sources.list"
if grep -q "^Suites:.*\b$SUITE\b" "$HOST_SOURCES" 2>/dev/null; then
    cp "$HOST_SOURCES" "$ROOT/etc/apt/sources.list.d/debian.sources"
else
    cat >"$ROOT/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
fi
# Keep no downloaded packages or package lists in the image.
cat >"$ROOT/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
rm -rf "${ROOT:?}"/var/lib/apt/lists/* "${ROOT:?}"/var/cache/apt/archives/*.deb \
    "${ROOT:?}"/var/log/*.log "${ROOT:?}"/tmp/* "${ROOT:?}"/dev/* "${ROOT:?}"/proc/* \
    "${ROOT:?}"/sys/*
# The engine gives each container its own host name and resolver.
: >"$ROOT/etc/hostname"
: >"$ROOT/etc/resolv.conf"

tar --numeric-owner -C "$ROOT" -c . \
    | docker import --change 'CMD ["bash"]' \
        --message "debootstrap --variant=minbase $SUITE $MIRROR" - "$IMAGE" >/dev/null
say "built $IMAGE from $MIRROR"
