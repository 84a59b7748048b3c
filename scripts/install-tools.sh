#!/usr/bin/env bash
# Builds every pinned Go tool from the Go module proxy into a per-user cache keyed by
# tool and version, then links it into the checkout's tools dir (.tools/bin).
# A tool already built at its pinned version is only linked, never rebuilt.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../toolchain.env
. "$root/toolchain.env"
cache=${SEAMLINE_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/seamline/tools}
bin_dir="$root/.tools/bin"
mkdir -p "$bin_dir" "$cache"

say() { printf '[tools] %s\n' "$*" >&2; }
# The Go tool's own chatter (hundreds of `go: downloading` lines) goes to a log file,
# named when a build fails; the terminal gets one line per tool.
log_dir="$root/.tools/logs"
mkdir -p "$log_dir"

if ! command -v go >/dev/null 2>&1; then
  say "go not found on PATH: install Go >= $GO_MIN_VERSION (https://go.dev/dl or your package manager) and rerun"
  exit 3
fi
have=$(go env GOVERSION | sed 's/^go//')
if [ "$(printf '%s\n%s\n' "$GO_MIN_VERSION" "$have" | sort -V | head -n1)" != "$GO_MIN_VERSION" ]; then
  say "go $have is older than $GO_MIN_VERSION: using toolchain go$GO_MIN_VERSION from the module proxy"
  export GOTOOLCHAIN="go$GO_MIN_VERSION"
else
  export GOTOOLCHAIN=local
fi
export CGO_ENABLED=0 GOFLAGS=-trimpath

install_tool() {  # name module version position count
  local name=$1 module=$2 version=$3 position=$4 count=$5
  local dest="$cache/$name/$version"
  local log="$log_dir/$name-$version.log"
  if [ -x "$dest/$name" ]; then
    say "($position/$count) $name $version: cached"
  else
    say "($position/$count) $name $version: building from the Go module proxy (one-time, a few minutes; log: $log)"
    rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
    local ldflags="" experiment=""
    case $name in
      # trivy's release builds set GOEXPERIMENT=jsonv2; its sources need encoding/json/v2.
      trivy) ldflags="-X github.com/aquasecurity/trivy/pkg/version/app.ver=${version#v}"
             experiment=jsonv2 ;;
      syft) ldflags="-X main.version=${version#v}" ;;
      cosign) ldflags="-X sigs.k8s.io/release-utils/version.gitVersion=$version" ;;
      golangci-lint) ldflags="-X main.version=${version#v}" ;;
    esac
    local started=$SECONDS
    if ! GOBIN="$dest.tmp" GOEXPERIMENT="$experiment" \
        go install -ldflags "$ldflags" "$module@$version" >"$log" 2>&1; then
      say "$name $version: build failed; last lines of $log:"
      tail -n 15 "$log" >&2
      exit 3
    fi
    rm -rf "$dest" && mv "$dest.tmp" "$dest"
    say "($position/$count) $name $version: built in $((SECONDS - started)) s"
  fi
  ln -sfn "$dest/$name" "$bin_dir/$name"
}

only=${1:-}
specs=(
  "golangci-lint $GOLANGCI_LINT_MODULE $GOLANGCI_LINT_VERSION"
  "kustomize $KUSTOMIZE_MODULE $KUSTOMIZE_VERSION"
  "cosign $COSIGN_MODULE $COSIGN_VERSION"
  "syft $SYFT_MODULE $SYFT_VERSION"
  "trivy $TRIVY_MODULE $TRIVY_VERSION"
)
position=0
for spec in "${specs[@]}"; do
  # shellcheck disable=SC2086
  set -- $spec
  position=$((position + 1))
  if [ -z "$only" ] || [ "$only" = "$1" ]; then install_tool "$@" "$position" "${#specs[@]}"; fi
done
