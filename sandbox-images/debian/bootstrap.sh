#!/usr/bin/env bash
#! Guarantees the `debian:bookworm-slim` image: pulled where a registry answers,
#! otherwise bootstrapped offline from Debian's packages with mmdebstrap and imported.
#
# Usage: sandbox-images/debian/bootstrap.sh [--force]
# Needs: docker; for the offline path, root and `mmdebstrap` (apt-get install mmdebstrap).
set -euo pipefail
TAG="debian:bookworm-slim"
MIRROR="${ASSAY_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if [ "${1:-}" != "--force" ] && docker image inspect "$TAG" >/dev/null 2>&1; then
  echo "bootstrap: $TAG already present"
  exit 0
fi

if timeout 30 docker pull "$TAG" >/dev/null 2>&1; then
  echo "bootstrap: pulled $TAG"
  exit 0
fi

echo "bootstrap: no registry answered; building $TAG offline with mmdebstrap from $MIRROR"
if ! command -v mmdebstrap >/dev/null 2>&1; then
  echo "bootstrap: mmdebstrap is missing: run 'apt-get install mmdebstrap' (as root) and try again" >&2
  exit 1
fi
if [ "$(id -u)" != 0 ]; then
  echo "bootstrap: the offline bootstrap needs root (mmdebstrap --mode=root): run it with sudo" >&2
  exit 1
fi

# minbase + the docker-slim dpkg excludes, like the official slim image.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/dpkg-slim" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
DPKG
mmdebstrap --mode=root --variant=minbase --format=tar \
  --components=main \
  --setup-hook='mkdir -p "$1/etc/dpkg/dpkg.cfg.d"' \
  --setup-hook="cp $tmp/dpkg-slim \"\$1/etc/dpkg/dpkg.cfg.d/docker-slim\"" \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
  bookworm "$tmp/rootfs.tar" "$MIRROR" "deb ${MIRROR%/debian}/debian-security bookworm-security main"

docker import \
  --change 'CMD ["bash"]' \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --message "assay offline bootstrap (mmdebstrap minbase, bookworm)" \
  "$tmp/rootfs.tar" "$TAG" >/dev/null
echo "bootstrap: imported $TAG ($(docker image inspect -f '{{.Id}}' "$TAG"))"
