#!/usr/bin/env bash
# Everything seamline needs on this machine, idempotent:
#   1. host packages (Debian, as root): docker.io, runc, docker-registry, busybox-static,
#      ca-certificates, tzdata, git, and for the fenced build network iptables, iproute2
#      and containernetworking-plugins (BuildKit's CNI bridge);
#   2. the Python venv in .venv from constraints.txt;
#   3. the pinned Go tools and BuildKit (scripts/install-tools.sh).
# PostgreSQL (Debian's postgresql) too when SEAMLINE_PREFECT_DATABASE=postgres. With
# --for-tests (`make test`), also what the test suite needs: postgresql, chromium,
# docker-compose and debootstrap (the Compose test builds its images from a Debian root
# filesystem).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
say() { printf '[setup] %s\n' "$*" >&2; }

for_tests=false
for arg in "$@"; do
  case "$arg" in
    --for-tests) for_tests=true ;;
    *) say "unknown argument: $arg (usage: scripts/setup.sh [--for-tests])"; exit 2 ;;
  esac
done

missing=()
command -v git >/dev/null 2>&1 || missing+=(git)
command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
[ -x /bin/busybox ] && [ -z "$(ldd /bin/busybox 2>/dev/null | grep -v 'not a dynamic')" ] \
  || missing+=(busybox-static)
[ -f /etc/ssl/certs/ca-certificates.crt ] || missing+=(ca-certificates)
[ -d /usr/share/zoneinfo ] || missing+=(tzdata)
if ! command -v dockerd >/dev/null 2>&1 && ! docker info >/dev/null 2>&1; then
  missing+=(docker.io)
fi
# buildkitd's OCI worker runs build steps with runc (a dependency of docker.io).
command -v runc >/dev/null 2>&1 || missing+=(runc)
# The build network (seamline/stack/build_network.py): bridges, its iptables fence, and
# the CNI plugins buildkitd runs `RUN` steps with.
PATH="$PATH:/usr/sbin:/sbin" command -v iptables >/dev/null 2>&1 || missing+=(iptables)
PATH="$PATH:/usr/sbin:/sbin" command -v ip >/dev/null 2>&1 || missing+=(iproute2)
[ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/host-local ] && [ -x /usr/lib/cni/loopback ] \
  || missing+=(containernetworking-plugins)
if [ "$for_tests" = true ] || [ "${SEAMLINE_PREFECT_DATABASE:-sqlite}" = postgres ]; then
  command -v initdb >/dev/null 2>&1 || compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null \
    || missing+=(postgresql)
fi
if [ "$for_tests" = true ]; then
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  for package in docker-compose debootstrap; do
    command -v "$package" >/dev/null 2>&1 || missing+=("$package")
  done
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  else
    say "missing: ${missing[*]}; install them (Debian: apt-get install ${missing[*]}) and rerun"
    exit 3
  fi
fi

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  say "Python >= 3.11 is needed as \`$python\`: install it or set PYTHON=/path/to/python3.11"
  exit 3
fi
stamp=.venv/.seamline-deps
want=$(cat constraints.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "creating the Python environment in .venv"
  "$python" -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]' >&2
  echo "$want" > "$stamp"
fi

scripts/install-tools.sh
