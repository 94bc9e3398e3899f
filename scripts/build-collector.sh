#!/usr/bin/env bash
# Build the otel-ml-logging collector distribution (collector/_build/otelcol-ml) with the
# OpenTelemetry Collector Builder (ocb).
#
# Usage: scripts/build-collector.sh [--force]
#
# - Needs only Go (>= 1.25) on PATH or at /usr/local/go/bin/go (override with GO=/path/to/go).
# - Installs ocb at the pinned version into .cache/bin/ (once).
# - Reuses the normal Go module and build caches (GOMODCACHE, GOCACHE), so only the first
#   build on a machine is slow.
# - Is a fast no-op when the binary exists and a hash of everything that goes into it
#   (manifest, sources of our local Go modules, ocb and Go versions) matches the stamp of the last build.
#   --force (or OTELCOL_FORCE_BUILD=1) rebuilds anyway.
# - Serialised with flock: concurrent callers (parallel test sessions) wait for one build.
set -euo pipefail

# Keep in sync with collector/builder-config.yaml (the script checks it).
OCB_VERSION="v0.156.0"
# Modules whose checksum the public checksum database (sum.golang.org) cannot serve from this
# machine. They are fetched without the sumdb lookup and their hash is then compared with the
# go.sum of the module that requires them (see verify_unsummed below).
UNSUMMED_MODULES="go.opentelemetry.io/ebpf-profiler"
UNSUMMED_REQUIRER="github.com/open-telemetry/opentelemetry-collector-contrib/exporter/elasticsearchexporter@v0.156.0"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
COLLECTOR_DIR="$ROOT/collector"
MANIFEST="$COLLECTOR_DIR/builder-config.yaml"
BUILD_DIR="$COLLECTOR_DIR/_build"
BINARY="$BUILD_DIR/otelcol-ml"
STAMP="$BUILD_DIR/.build-stamp"
CACHE_BIN="$ROOT/.cache/bin"
OCB="$CACHE_BIN/ocb-$OCB_VERSION"
LOCK="$ROOT/.cache/build-collector.lock"

log() { printf '[build-collector %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

force="${OTELCOL_FORCE_BUILD:-0}"
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h|--help) sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $arg" ;;
  esac
done

GO="${GO:-}"
if [[ -z "$GO" ]]; then
  if command -v go >/dev/null 2>&1; then GO="$(command -v go)"
  elif [[ -x /usr/local/go/bin/go ]]; then GO=/usr/local/go/bin/go
  else die "Go not found: install Go >= 1.25 or set GO=/path/to/go"; fi
fi
export PATH="$(dirname "$GO"):$PATH"

grep -q "collector/service $OCB_VERSION" "$MANIFEST" \
  || die "$MANIFEST does not pin go.opentelemetry.io/collector/service $OCB_VERSION; update OCB_VERSION in $0"

mkdir -p "$CACHE_BIN" "$(dirname "$LOCK")"
exec 9>"$LOCK"
if ! flock -n 9; then
  log "another build is running; waiting for $LOCK"
  flock 9
fi

# Everything that changes the binary. Tests and testdata do not.
inputs_hash() {
  {
    echo "ocb=$OCB_VERSION"
    "$GO" env GOVERSION GOOS GOARCH
    sha256sum "$MANIFEST" | cut -d' ' -f1
    local module
    for module in gelfexporter statuslogextension shutdownguardextension; do
      [[ -d "$COLLECTOR_DIR/$module" ]] || continue
      (cd "$COLLECTOR_DIR/$module" \
        && find . -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' -o -name 'metadata.yaml' \) \
             ! -name '*_test.go' ! -path '*/testdata/*' -print0 \
        | LC_ALL=C sort -z | xargs -0 sha256sum)
    done
  } | sha256sum | cut -d' ' -f1
}

want="$(inputs_hash)"
if [[ "$force" != 1 && -x "$BINARY" && -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]; then
  log "up to date: $BINARY"
  echo "$BINARY"
  exit 0
fi

if [[ ! -x "$OCB" ]]; then
  log "installing ocb $OCB_VERSION with $("$GO" env GOVERSION) into $CACHE_BIN"
  tmpbin="$(mktemp -d)"
  GOBIN="$tmpbin" "$GO" install "go.opentelemetry.io/collector/cmd/builder@$OCB_VERSION"
  mv "$tmpbin/builder" "$OCB"
  rmdir "$tmpbin"
fi

verify_unsummed() {
  local requirer_sum
  requirer_sum="$("$GO" env GOMODCACHE)/$(echo "$UNSUMMED_REQUIRER" | sed 's/[A-Z]/!\L&/g')/go.sum"
  [[ -f "$requirer_sum" ]] || die "cannot verify unsummed modules: $requirer_sum missing"
  local mod line
  for mod in $UNSUMMED_MODULES; do
    while read -r line; do
      grep -qxF "$line" "$requirer_sum" \
        || die "checksum of '$line' (from $BUILD_DIR/go.sum) does not match $requirer_sum"
    done < <(grep "^$mod " "$BUILD_DIR/go.sum" || true)
    log "verified checksums of $mod against $UNSUMMED_REQUIRER/go.sum"
  done
}

# collector/builder-config.yaml replaces a few contrib modules the proxy does not serve at the pinned
# release; make sure no replacement (nor anything else) moved the collector's own modules.
verify_pins() {
  local stable_version off
  stable_version="$(grep -oE 'confmap/provider/envprovider v1\.[0-9]+\.[0-9]+' "$MANIFEST" | cut -d' ' -f2)"
  off="$(grep -E '^\s+(go\.opentelemetry\.io/collector|github\.com/open-telemetry/opentelemetry-collector-contrib)/' "$BUILD_DIR/go.mod" \
    | grep -vE " ($OCB_VERSION|$stable_version)( |\$)" || true)"
  [[ -z "$off" ]] || die "modules off the $OCB_VERSION/$stable_version pin in $BUILD_DIR/go.mod:"$'\n'"$off"
  log "every collector module is at $OCB_VERSION or $stable_version"
}

log "building otelcol-ml with ocb $OCB_VERSION (GOMODCACHE=$("$GO" env GOMODCACHE), GOCACHE=$("$GO" env GOCACHE))"
log "a cold build downloads ~1 GB of modules and compiles for several minutes; later builds reuse the caches"
start=$SECONDS
rm -f "$STAMP"
(
  cd "$COLLECTOR_DIR"
  export GONOSUMDB="${GONOSUMDB:+$GONOSUMDB,}${UNSUMMED_MODULES// /,}"
  "$OCB" --config "$MANIFEST"
)
verify_unsummed
verify_pins
[[ -x "$BINARY" ]] || die "ocb finished but $BINARY is missing"
"$BINARY" --version >/dev/null || die "$BINARY does not run"
echo "$want" >"$STAMP"
log "built $BINARY in $((SECONDS - start))s"
echo "$BINARY"
