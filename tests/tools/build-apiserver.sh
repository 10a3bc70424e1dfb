#!/usr/bin/env bash
# Build tests/apiserver (k8s.io/apiextensions-apiserver on an embedded etcd,
# the API server the tests run Argo's CRDs on) into
# .tools/bin/osmo2argo-apiserver.
#
# Idempotent: does nothing when the binary is there and its stamp (a hash of
# the Go sources, go.mod, go.sum, the Go version and the build flags) still
# matches (about 0.1 s). Needs Go >= 1.26 (go.mod's go line) and the Go
# module proxy. A cold build (empty module and build caches) costs about
# 12.5 CPU-minutes: an estimated 7 minutes on an idle 2-core machine, 18 measured on
# a busy one; it fills ~340 MB of module cache and ~1.8 GB of build cache.
# A rebuild after a source change takes 15-40 s, mostly linking.
#
# Usage: tests/tools/build-apiserver.sh [--force]
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
src=$root/tests/apiserver
bindir=$root/.tools/bin
out=$bindir/osmo2argo-apiserver
stamp=$out.stamp

force=0
case "${1:-}" in
  --force) force=1 ;;
  "") ;;
  *) echo "usage: $0 [--force]" >&2; exit 2 ;;
esac

go=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
if ! [ -x "$go" ] && ! command -v "$go" >/dev/null; then
  echo "build-apiserver: Go not found (set GO=/path/to/go)" >&2
  exit 1
fi
goversion=$("$go" env GOVERSION)
case "$goversion" in
  go1.2[6-9]* | go1.[3-9][0-9]* | go[2-9]*) ;;
  *) echo "build-apiserver: need Go >= 1.26, found $goversion" >&2; exit 1 ;;
esac

# The Kubernetes version the server reports at /version, from go.mod's
# k8s.io/apiserver v0.X.Y (Kubernetes v1.X.Y).
kver=$(awk '$1 == "k8s.io/apiserver" { print $2 }' "$src/go.mod")
if ! [[ $kver =~ ^v0\.([0-9]+)\.([0-9]+)$ ]]; then
  echo "build-apiserver: cannot read the k8s.io/apiserver version in $src/go.mod" >&2
  exit 1
fi
minor=${BASH_REMATCH[1]}
pkg=k8s.io/component-base/version
ldflags="-s -w -X $pkg.gitVersion=v1.$minor.${BASH_REMATCH[2]} -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
flags=(-trimpath -buildvcs=false -mod=readonly -ldflags "$ldflags")

want=$(
  cd "$src"
  {
    echo "$goversion ${flags[*]}"
    sha256sum go.mod go.sum $(find . -name '*.go' | LC_ALL=C sort)
  } | sha256sum | cut -d' ' -f1
)
if [ "$force" = 0 ] && [ -x "$out" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  echo "build-apiserver: $out is up to date"
  exit 0
fi

mkdir -p "$bindir"
echo "build-apiserver: building $out ($goversion, Kubernetes v1.$minor)" >&2
start=$SECONDS
# A static binary (no cgo): needs no C toolchain. Build to a temporary name
# and rename, so an interrupted or concurrent build never leaves a broken one.
tmp=$(mktemp -d "$bindir/.osmo2argo-apiserver.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
(cd "$src" && CGO_ENABLED=0 GOWORK=off GOTOOLCHAIN=local "$go" build "${flags[@]}" -o "$tmp/osmo2argo-apiserver" .)
mv -f "$tmp/osmo2argo-apiserver" "$out"
echo "$want" >"$stamp"
echo "build-apiserver: built $out in $((SECONDS - start))s"
