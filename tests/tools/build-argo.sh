#!/usr/bin/env bash
# Build Argo Workflows' own `argo` CLI and copy Argo's full CRDs, for tests.
#
# The tests run `argo lint --offline` (Argo's own validator) on every manifest
# osmo2argo emits, and validate against the full CRD schemas. Nothing
# third-party is committed: everything goes to .tools/ (git-ignored) and to
# Go's default caches ($GOMODCACHE, $GOCACHE).
#
# Usage: tests/tools/build-argo.sh [VERSION...]   (default: every entry below)
# Output, per version V:
#   .tools/bin/argo-V          the CLI
#   .tools/crds/argo-V/*.yaml  manifests/base/crds/full/argoproj.io_*.yaml of V
#   .tools/stamps/argo-V       module@V, Go version and this script's hash
# A version whose stamp matches is skipped, so a warm run takes well under 1 s.
#
# Why not `go install .../cmd/argo@V`? It fails for every served Argo line:
#   - v3: `go install` reads .../v3/@v/list to check for deprecation, and the
#     proxy mirror answers 403 for that list, so it stops there. v3.7.x also
#     has a `replace` directive in go.mod, which `go install` refuses anyway.
#   - v4: ui/embed.go has `//go:embed dist/app`, and ui/dist is not in the
#     module zip ("pattern dist/app: no matching files found").
# So for each version the script:
#   1. downloads the module zip with `go mod download -json` (explicit version:
#      needs no @v/list);
#   2. copies it to a writable temp dir, because the module cache is read-only,
#      and builds there as the main module, so go.mod `replace` lines and
#      go.sum apply;
#   3. creates ui/dist/app/placeholder exactly as Argo's Makefile does (the
#      CLI then embeds an empty UI, which lint does not need);
#   4. builds ./cmd/argo statically (CGO off, -trimpath, -s -w: smaller, and
#      no C compiler needed); -X sets the version `argo version` prints;
#   5. copies the full CRDs of that same version.
#
# Versions (probed with `curl https://proxy.golang.org/<module>/@v/<V>.info`):
#   - v3.7.18: newest 3.x served (v3.7.19 and v3.6.19 are not served).
#   - v4.0.7: newest 4.x served; v4.0.3/4/6/8/9/10 and v4.1.0..v4.1.2 are not
#     served; v4.0.5 is flagged for security reports, v4.0.2 is older.
# Both need Go >= 1.25.7 (their go.mod `go` line).
set -euo pipefail

ARGO_MODULES=(
  github.com/argoproj/argo-workflows/v3@v3.7.18
  github.com/argoproj/argo-workflows/v4@v4.0.7
)

script="$(readlink -f "${BASH_SOURCE[0]}")"
root="$(cd "$(dirname "$script")/../.." && pwd)"
tools="$root/.tools"
# Reproducible, self-contained builds, whatever the caller's environment has.
export CGO_ENABLED=0 GOWORK=off GOFLAGS=-buildvcs=false

script_hash="$(sha256sum "$script" | cut -c1-16)"
go_version="$(go env GOVERSION)"

log() { printf 'build-argo: %s\n' "$*"; }

build_one() {
  local module="${1%@*}" version="${1#*@}"
  local bin="$tools/bin/argo-$version" crds="$tools/crds/argo-$version"
  local stamp="$tools/stamps/argo-$version"
  local want="$module@$version $go_version $script_hash"

  if [[ -x "$bin" && -d "$crds" && -f "$stamp" && "$(<"$stamp")" == "$want" ]]; then
    log "$version: up to date ($bin)"
    return
  fi

  log "$version: downloading $module@$version"
  local dir
  dir="$(go mod download -json "$module@$version" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
  [[ -f "$dir/go.mod" ]] || { log "$version: download failed"; exit 1; }

  log "$version: copying module to a writable build dir"
  local work
  work="$(mktemp -d "${TMPDIR:-/tmp}/build-argo.XXXXXX")"
  # shellcheck disable=SC2064  # expand $work now, the local is gone at exit
  trap "rm -rf '$work'" EXIT
  cp -R "$dir/." "$work"
  chmod -R u+w "$work"
  mkdir -p "$work/ui/dist/app"
  touch "$work/ui/dist/app/placeholder"

  log "$version: building cmd/argo (first build: several minutes)"
  mkdir -p "$tools/bin"
  (cd "$work" && go build -trimpath -ldflags "-s -w -X $module.version=$version" \
    -o "$bin.tmp" ./cmd/argo)
  mv -f "$bin.tmp" "$bin"
  "$bin" version --short >/dev/null

  log "$version: copying full CRDs to ${crds#"$root/"}"
  rm -rf "$crds"
  mkdir -p "$crds"
  cp "$dir"/manifests/base/crds/full/argoproj.io_*.yaml "$crds/"
  chmod u+w "$crds"/*.yaml

  rm -rf "$work"
  trap - EXIT
  mkdir -p "$tools/stamps"
  printf '%s\n' "$want" >"$stamp"
  log "$version: done ($bin)"
}

selected=("$@")
for v in "${selected[@]}"; do
  [[ " ${ARGO_MODULES[*]} " == *"@$v "* ]] || { log "unknown version $v (known: ${ARGO_MODULES[*]##*@})"; exit 2; }
done
for entry in "${ARGO_MODULES[@]}"; do
  if ((${#selected[@]} == 0)) || [[ " ${selected[*]} " == *" ${entry#*@} "* ]]; then
    build_one "$entry"
  fi
done
