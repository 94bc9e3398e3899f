#!/usr/bin/env bash
# Generate collector/gelfexporter's code from its metadata.yaml with mdatagen, as contrib components
# do: internal/metadata (component type, stability, the telemetry builder of the dropped-records
# metric), internal/metadatatest, generated_component_test.go, generated_package_test.go and
# documentation.md.
#
# Usage: scripts/generate-collector.sh [--check]
#
# - mdatagen is pinned by collector/tools/go.mod (a `tool` directive) at the collector version of
#   collector/builder-config.yaml, and run with `go tool` (built once, then cached by Go).
# - --check generates into a temporary copy and fails, listing the differences, when the committed
#   files are not what metadata.yaml generates (run `make generate` then).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/collector/tools"
COMPONENT="$ROOT/collector/gelfexporter"
MANIFEST="$ROOT/collector/builder-config.yaml"
# What mdatagen writes next to metadata.yaml (README.md only between its status markers; ours has none).
GENERATED=(internal/metadata internal/metadatatest generated_component_test.go generated_package_test.go documentation.md)

log() { printf '[generate-collector] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

check=0
case "${1:-}" in
  "") ;;
  --check) check=1 ;;
  -h|--help) sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) die "unknown argument: $1" ;;
esac

GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
[[ -x "$GO" ]] || die "Go not found: install Go >= 1.25 or set GO=/path/to/go"

version="$(awk '$1 == "go.opentelemetry.io/collector/cmd/mdatagen" {print $2}' "$TOOLS/go.mod")"
grep -q "collector/service $version\$" "$MANIFEST" \
  || die "collector/tools/go.mod pins mdatagen $version but $MANIFEST builds another collector version"

mdatagen() { "$GO" -C "$TOOLS" tool mdatagen "$@"; }

if [[ $check -eq 0 ]]; then
  mdatagen "$COMPONENT/metadata.yaml"
  log "generated ${GENERATED[*]} in collector/gelfexporter with mdatagen $version"
  exit 0
fi

# mdatagen names the Go package after the directory, so the copy keeps the name.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
copy="$tmp/gelfexporter"
cp -r "$COMPONENT" "$copy"
(cd "$copy" && rm -rf "${GENERATED[@]}")
mdatagen "$copy/metadata.yaml"
stale=0
for path in "${GENERATED[@]}"; do
  if ! diff -ru "$COMPONENT/$path" "$copy/$path" >&2; then stale=1; fi
done
[[ $stale -eq 0 ]] || die "generated files differ from collector/gelfexporter/metadata.yaml: run make generate"
log "collector/gelfexporter: generated files match metadata.yaml (mdatagen $version)"
