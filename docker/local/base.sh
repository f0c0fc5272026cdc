#!/usr/bin/env bash
# Builds the local base image (no container registry needed): Debian 12 minbase from
# Debian's packages with debootstrap, imported into the engine as $BASE (default
# localhost/debian-base:bookworm). Skipped when the image exists. The machine's own extra
# CA certificates (/usr/local/share/ca-certificates, e.g. a TLS-inspecting proxy's) are
# added to the image's trust store so that apt, pip and Maven inside builds and containers
# trust what the host trusts.   Usage: docker/local/base.sh podman|docker
set -euo pipefail
engine="${1:-podman}"
BASE="${BASE:-localhost/debian-base:bookworm}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
if "$engine" image exists "$BASE" 2>/dev/null || "$engine" image inspect "$BASE" >/dev/null 2>&1; then
  echo "base image $BASE: present"; exit 0
fi
command -v debootstrap >/dev/null || { echo "need debootstrap (apt-get install debootstrap)" >&2; exit 1; }
root="$(mktemp -d /tmp/commerce-base.XXXXXX)"
trap 'rm -rf "$root"' EXIT
start=$SECONDS
debootstrap --variant=minbase --include=ca-certificates bookworm "$root" "$MIRROR" >"$root.log" 2>&1 \
  || { tail -20 "$root.log" >&2; exit 1; }
rm -f "$root.log"
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
  chroot "$root" update-ca-certificates >/dev/null
fi
# The updates suite too (security fixes in the images built on it).
echo "deb $MIRROR bookworm-updates main" >>"$root/etc/apt/sources.list"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | "$engine" import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["bash"]' - "$BASE" >/dev/null
echo "base image $BASE: built in $((SECONDS - start)) s"
