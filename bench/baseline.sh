#!/usr/bin/env bash
# The same tool commands seamline runs, with the same flags, as a plain script: the
# baselines bench/pipeline.py measures seamline against. Sequential by default; with
# --parallel each service's line runs in the background and the script waits for all
# (the script a team would write in ten minutes). --builder picks the image builder as
# SEAMLINE_IMAGE_BUILDER does: buildkit (the default: buildctl against the stack's
# buildkitd, building and pushing in one step with seamline's arguments) or docker.
#   bench/baseline.sh [--parallel] [--builder buildkit|docker] WORKTREE GITOPS_REMOTE \
#     REPOSITORY_PREFIX GO_BUILDER_IMAGE
# Prints "line <service> <seconds>" per service and "total <seconds>" to stdout.
set -euo pipefail
shopt -s inherit_errexit
parallel=false
image_builder=buildkit
while [ $# -gt 0 ]; do
  case "$1" in
    --parallel) parallel=true; shift ;;
    --builder) image_builder=$2; shift 2 ;;
    *) break ;;
  esac
done
case "$image_builder" in
  buildkit|docker) ;;
  *) echo "--builder: buildkit or docker, not $image_builder" >&2; exit 2 ;;
esac
work=$1 remote=$2 prefix=$3 builder=$4
root=$(cd "$(dirname "$0")/.." && pwd)
tools=$root/.tools/bin
state=$root/.seamline
reg=127.0.0.1:5000
runtime=$reg/seamline/static:nonroot
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod DOCKER_BUILDKIT=0
export COSIGN_PASSWORD; COSIGN_PASSWORD=$(cat "$state/secrets/cosign.password")
export COSIGN_YES=true SYFT_CHECK_FOR_APP_UPDATE=false SYFT_REGISTRY_INSECURE_USE_HTTP=true
export BUILDKIT_HOST=${SEAMLINE_BUILDKIT_HOST:-unix://$state/buildkit/run/buildkitd.sock}
epoch=$(git -C "$work" log -1 --format=%ct)  # SOURCE_DATE_EPOCH: the commit's time
key=$state/secrets/cosign.key pub=$state/secrets/cosign.pub
reg_flags=(--allow-http-registry --allow-insecure-registry)
now() { date +%s%N; }
since() { local ns=$(( $(now) - $1 )); printf '%d.%03d' $((ns / 1000000000)) $(((ns / 1000000) % 1000)); }
# Build and push "$1:bench" from the current folder; print its manifest digest.
build_push() {
  local image=$1 meta
  if [ "$image_builder" = buildkit ]; then
    meta=$out/$(basename "$image").metadata.json
    # seamline's build copy: the last stage named, and built without the cache
    copy=$out/dockerfiles/$(basename "$image")
    mkdir -p "$copy"
    awk -v last="$(grep -n '^FROM ' Dockerfile | tail -1 | cut -d: -f1)" \
      'NR == last && !/ AS / { $0 = $0 " AS seamline-final" } { print }' Dockerfile \
      > "$copy/Dockerfile"
    "$tools/buildctl" build --progress plain --frontend dockerfile.v0 \
      --local context=. --local "dockerfile=$copy" --opt filename=Dockerfile \
      --opt force-network-mode=none --opt no-cache=seamline-final \
      --opt "build-arg:GO_BUILDER_IMAGE=$builder" --opt "build-arg:RUNTIME_IMAGE=$runtime" \
      --opt "build-arg:SOURCE_DATE_EPOCH=$epoch" \
      --output "type=image,name=$image:bench,push=true,rewrite-timestamp=true" \
      --metadata-file "$meta" >/dev/null 2>&1
    python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["containerimage.digest"])' \
      "$meta"
  else
    docker build -q --network none --build-arg "GO_BUILDER_IMAGE=$builder" \
      --build-arg "RUNTIME_IMAGE=$runtime" -t "$image:bench" . >/dev/null 2>&1
    docker push -q "$image:bench" >/dev/null
    docker inspect --format '{{index .RepoDigests 0}}' "$image:bench" | cut -d@ -f2
  fi
}
start_all=$(now)
services=(catalog orders payments-worker storefront)
line() {
  local svc=$1 start image digest ref type kind
  start=$(now)
  mkdir -p "$out/$svc"
  cd "$work/app/$svc"
  go build -o "$out/$svc/" ./...
  go vet ./...
  "$tools/golangci-lint" run --allow-parallel-runners --config "$work/.golangci.yml" ./... >/dev/null
  go test -json -count=1 ./... >/dev/null
  image=$reg/$prefix/$svc
  digest=$(build_push "$image")
  ref=$image@$digest
  "$tools/trivy" image --cache-dir "$state/cache/trivy" --db-repository "$reg/seamline/trivy-db:2" \
    --skip-java-db-update --skip-version-check --scanners vuln --image-src remote --insecure \
    --format cosign-vuln --quiet --severity CRITICAL,HIGH,MEDIUM,LOW,UNKNOWN --exit-code 1 "$ref" \
    > "$out/$svc.vuln.json"
  "$tools/syft" scan "registry:$ref" -o spdx-json -q > "$out/$svc.spdx.json"
  "$tools/cosign" verify --key "$pub" --insecure-ignore-tlog=true "${reg_flags[@]}" "$ref" \
    >/dev/null 2>&1 || true
  "$tools/cosign" sign --key "$key" --tlog-upload=false "${reg_flags[@]}" "$ref" 2>/dev/null
  printf '{"buildDefinition":{"buildType":"bench"},"runDetails":{"builder":{"id":"bench"}}}' \
    > "$out/$svc.provenance.json"
  "$tools/cosign" attest --key "$key" --tlog-upload=false "${reg_flags[@]}" --type spdxjson \
    --predicate "$out/$svc.spdx.json" "$ref" 2>/dev/null
  "$tools/cosign" attest --key "$key" --tlog-upload=false "${reg_flags[@]}" \
    --type slsaprovenance1 --predicate "$out/$svc.provenance.json" "$ref" 2>/dev/null
  "$tools/cosign" attest --key "$key" --tlog-upload=false "${reg_flags[@]}" --replace \
    --type vuln --predicate "$out/$svc.vuln.json" "$ref" 2>/dev/null
  "$tools/cosign" verify --key "$pub" --insecure-ignore-tlog=true "${reg_flags[@]}" \
    --output json "$ref" >/dev/null 2>&1
  for type in spdxjson slsaprovenance1 vuln; do
    "$tools/cosign" verify-attestation --key "$pub" --insecure-ignore-tlog=true \
      "${reg_flags[@]}" --type "$type" --output json "$ref" >/dev/null 2>&1
  done
  for kind in signature attestation; do
    "$tools/cosign" triangulate --type "$kind" "${reg_flags[@]}" "$ref" >/dev/null
  done
  echo "$ref" > "$out/$svc.ref"
  echo "line $svc $(since "$start")"
}
if $parallel; then
  pids=()
  for svc in "${services[@]}"; do line "$svc" & pids+=($!); done
  for pid in "${pids[@]}"; do wait "$pid"; done
else
  for svc in "${services[@]}"; do line "$svc"; done
fi
gitops=$out/gitops
git clone -q --depth 1 "$remote" "$gitops"
cd "$gitops/kustomize/overlays/dev"
for svc in "${services[@]}"; do
  "$tools/kustomize" edit set image "bookstore/$svc=$(cat "$out/$svc.ref")"
done
"$tools/kustomize" build . >/dev/null
cd "$gitops"
git add -A
git -c user.name=bench -c user.email=bench@localhost commit -qm "bench: set image digests"
git push -q origin HEAD:main
echo "total $(since "$start_all")"
