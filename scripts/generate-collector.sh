#!/usr/bin/env bash
# Generate the code of our collector components (collector/gelfexporter,
# collector/statuslogextension, collector/shutdownguardextension) from their metadata.yaml with
# mdatagen, as contrib components do: internal/metadata (component type, stability, and for the
# exporter the telemetry builder of the dropped-records metric), internal/metadatatest,
# generated_component_test.go, generated_package_test.go and documentation.md (what a component's metadata.yaml calls for).
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
COMPONENTS=(gelfexporter statuslogextension shutdownguardextension)
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
  for name in "${COMPONENTS[@]}"; do
    mdatagen "$ROOT/collector/$name/metadata.yaml"
    log "generated the files of collector/$name with mdatagen $version"
  done
  exit 0
fi

# mdatagen names the Go package after the directory, so the copy keeps the name.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
stale=0
for name in "${COMPONENTS[@]}"; do
  component="$ROOT/collector/$name"
  copy="$tmp/$name"
  cp -r "$component" "$copy"
  (cd "$copy" && rm -rf "${GENERATED[@]}")
  mdatagen "$copy/metadata.yaml"
  for path in "${GENERATED[@]}"; do
    [[ -e "$component/$path" || -e "$copy/$path" ]] || continue
    if ! diff -ru "$component/$path" "$copy/$path" >&2; then stale=1; fi
  done
done
[[ $stale -eq 0 ]] || die "generated files differ from their metadata.yaml: run make generate"
log "collector/{${COMPONENTS[*]}}: generated files match metadata.yaml (mdatagen $version)"
