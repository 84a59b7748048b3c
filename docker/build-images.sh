#!/usr/bin/env bash
# Builds the images docker/compose.yaml runs, from Debian's packages and PyPI only:
#   seamline/debian:bookworm    a minimal Debian root filesystem (debootstrap), imported
#   seamline/platform:local     Python 3, this project and its pinned dependencies
#   seamline/postgres:local     Debian's PostgreSQL
#   seamline/registry:local     Debian's docker-registry (distribution)
# An image whose recipe (its Dockerfile and what it copies in) is unchanged is kept, known by
# its org.seamline.recipe label; --force rebuilds all. Needs root for debootstrap, and
# DOCKER_HOST if the Engine is not at the default socket.
#
#   docker/build-images.sh [--force]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
images=$root/docker/images
say() { printf '[build-images] %s\n' "$*" >&2; }
force=false
[ "${1:-}" = --force ] && force=true

DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
DEBIAN_SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
BASE=seamline/debian:bookworm
BASE_RECIPE=3  # raise when what goes into the base root filesystem changes

current() {  # the recipe label of an image, empty when it is absent
  docker image inspect -f '{{index .Config.Labels "org.seamline.recipe"}}' "$1" 2>/dev/null || true
}

fresh() {  # IMAGE RECIPE: true when the image exists with that recipe and no --force
  ! $force && [ "$(current "$1")" = "$2" ]
}

tree_hash() {  # sha256 over every file's path and content below a folder
  (cd "$1" && find . -type f ! -name ca-certificates.crt -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) \
    | sha256sum | cut -c1-16
}

build_base() {
  local recipe
  recipe=$(printf '%s\n' "$BASE_RECIPE" "$DEBIAN_MIRROR" "$DEBIAN_SECURITY_MIRROR" \
    | sha256sum | cut -c1-16)
  if fresh "$BASE" "$recipe"; then say "$BASE is up to date"; return; fi
  command -v debootstrap >/dev/null || {
    say "debootstrap is missing: apt-get install debootstrap"; exit 3; }
  [ "$(id -u)" = 0 ] || { say "debootstrap needs root"; exit 3; }
  local rootfs
  rootfs=$(mktemp -d /var/tmp/seamline-rootfs.XXXXXX)
  trap 'rm -rf "$rootfs"; trap - RETURN' RETURN
  say "debootstrap bookworm from $DEBIAN_MIRROR (a few minutes)"
  debootstrap --variant=minbase bookworm "$rootfs" "$DEBIAN_MIRROR" >&2
  cat > "$rootfs/etc/apt/sources.list" <<SOURCES
deb $DEBIAN_MIRROR bookworm main
deb $DEBIAN_MIRROR bookworm-updates main
deb $DEBIAN_SECURITY_MIRROR bookworm-security main
SOURCES
  # Images install with --no-install-recommends and keep no package lists or caches.
  cat > "$rootfs/etc/apt/apt.conf.d/90seamline" <<'APT'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Binary::apt::APT::Keep-Downloaded-Packages "false";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
APT
  # ... and unpack no documentation or translations (copyright files excepted).
  cat > "$rootfs/etc/dpkg/dpkg.cfg.d/90seamline-slim" <<'DPKG'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
path-include=/usr/share/locale/locale.alias
DPKG
  chroot "$rootfs" apt-get clean
  find "$rootfs/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete
  rm -rf "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
    "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/log/*.log
  find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias \
    -exec rm -rf {} +
  tar -C "$rootfs" --numeric-owner -c . | docker import \
    --change "LABEL org.seamline.recipe=$recipe" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["/bin/bash"]' - "$BASE" >/dev/null
  say "built $BASE"
}

build() {  # NAME CONTEXT: docker build of the Dockerfile in CONTEXT as seamline/NAME:local
  local name=$1 context=$2 image="seamline/$1:local" recipe
  recipe=$(printf '%s %s\n' "$(current "$BASE")" "$(tree_hash "$context")" | sha256sum | cut -c1-16)
  if fresh "$image" "$recipe"; then say "$image is up to date"; return; fi
  local args=()
  for var in HTTP_PROXY HTTPS_PROXY NO_PROXY http_proxy https_proxy no_proxy; do
    if [ -n "${!var:-}" ]; then args+=(--build-arg "$var=${!var}"); fi
  done
  say "building $image"
  DOCKER_BUILDKIT=0 docker build --network host -q "${args[@]}" \
    --label "org.seamline.recipe=$recipe" -t "$image" "$context" >/dev/null
  say "built $image"
}

# The platform's context: its Dockerfile and the project files the install needs (tracked,
# or new and not ignored), plus the machine's CA bundle for pip, which the recipe leaves
# out and the image's build stage keeps to itself.
platform_context() {
  local context=$1 paths=(pyproject.toml constraints.txt README.md seamline flows tasks deployments)
  mkdir -p "$context/src"
  cp "$images/platform/Dockerfile" "$context/"
  if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
    (cd "$root" && git ls-files -z --cached --others --exclude-standard -- "${paths[@]}" \
      | tar --null --ignore-failed-read -T - -c 2>/dev/null) | tar -x -C "$context/src"
  else
    tar -C "$root" --exclude=__pycache__ -c "${paths[@]}" | tar -x -C "$context/src"
  fi
  cp "${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}" "$context/ca-certificates.crt"
}

build_base
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
platform_context "$work/platform"
build platform "$work/platform"
build postgres "$images/postgres"
build registry "$images/registry"
