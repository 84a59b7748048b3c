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

# Tools whose go.mod has `replace`/`exclude` directives cannot be `go install`ed: their
# module is downloaded and these commands are built inside it. Others build one binary,
# named after the tool.
binaries_of() {  # name
  case $1 in
    buildkit) echo "buildkitd buildctl" ;;
    *) echo "$1" ;;
  esac
}

build_in_module() {  # module version dest ldflags; commands from binaries_of
  local module=$1 version=$2 dest=$3 ldflags=$4 download dir
  shift 4
  download=$(go mod download -json "$module@$version") || { echo "$download"; return 1; }
  dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$download")
  [ -n "$dir" ] || { echo "go mod download gave no directory: $download"; return 1; }
  local packages=()
  for binary in "$@"; do packages+=("./cmd/$binary"); done
  (cd "$dir" && go build -ldflags "$ldflags" -o "$dest/" "${packages[@]}")
}

install_tool() {  # name module version position count
  local name=$1 module=$2 version=$3 position=$4 count=$5
  local dest="$cache/$name/$version"
  local log="$log_dir/$name-$version.log"
  local binaries binary built=true
  read -r -a binaries <<<"$(binaries_of "$name")"
  for binary in "${binaries[@]}"; do [ -x "$dest/$binary" ] || built=false; done
  if [ "$built" = true ]; then
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
      buildkit) ldflags="-X github.com/moby/buildkit/version.Version=$version" ;;
    esac
    local started=$SECONDS built_ok=true
    if [ "${binaries[*]}" = "$name" ]; then
      GOBIN="$dest.tmp" GOEXPERIMENT="$experiment" \
        go install -ldflags "$ldflags" "$module@$version" >"$log" 2>&1 || built_ok=false
    else
      GOEXPERIMENT="$experiment" build_in_module "$module" "$version" "$dest.tmp" "$ldflags" \
        "${binaries[@]}" >"$log" 2>&1 || built_ok=false
    fi
    if [ "$built_ok" = false ]; then
      say "$name $version: build failed; last lines of $log:"
      tail -n 15 "$log" >&2
      exit 3
    fi
    rm -rf "$dest" && mv "$dest.tmp" "$dest"
    say "($position/$count) $name $version: built in $((SECONDS - started)) s"
  fi
  for binary in "${binaries[@]}"; do ln -sfn "$dest/$binary" "$bin_dir/$binary"; done
}

only=${1:-}
specs=(
  "golangci-lint $GOLANGCI_LINT_MODULE $GOLANGCI_LINT_VERSION"
  "kustomize $KUSTOMIZE_MODULE $KUSTOMIZE_VERSION"
  "cosign $COSIGN_MODULE $COSIGN_VERSION"
  "syft $SYFT_MODULE $SYFT_VERSION"
  "trivy $TRIVY_MODULE $TRIVY_VERSION"
  "buildkit $BUILDKIT_MODULE $BUILDKIT_VERSION"
)
position=0
for spec in "${specs[@]}"; do
  # shellcheck disable=SC2086
  set -- $spec
  position=$((position + 1))
  if [ -z "$only" ] || [ "$only" = "$1" ]; then install_tool "$@" "$position" "${#specs[@]}"; fi
done
