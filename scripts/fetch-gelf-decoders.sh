#!/usr/bin/env bash
# Fetch/build the independent GELF decoders used by tests/collector/test_gelf_*.py:
#   1. tshark (Wireshark's GELF dissector), installed with apt-get when missing and running as root
#      (and the openssl CLI, which the GELF TLS tests use for their certificates);
#   2. tools/graylog-gelf-harness: Graylog's own GELF chunk aggregator + codec (graylog2-server from
#      Maven Central, SSPL, used as a test peer only), built with Maven into the cache directory.
#
# Idempotent and fast when cached: the harness is rebuilt only when its pom/sources change.
#
# Usage: scripts/fetch-gelf-decoders.sh [--harness-only] [--tshark-only]
# Env:   GELF_DECODERS_CACHE  cache directory (default: <repo>/.cache/gelf-decoders)
#        MAVEN_ARGS           extra arguments for mvn (e.g. -o when ~/.m2 is already populated)
# Prints the harness classpath file on success.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${GELF_DECODERS_CACHE:-$ROOT/.cache/gelf-decoders}"
HARNESS_SRC="$ROOT/tools/graylog-gelf-harness"
HARNESS_OUT="$CACHE/graylog-gelf-harness"

want_tshark=1
want_harness=1
case "${1:-}" in
  --harness-only) want_tshark=0 ;;
  --tshark-only) want_harness=0 ;;
  "") ;;
  *) echo "usage: $0 [--harness-only|--tshark-only]" >&2; exit 2 ;;
esac

log() { echo "fetch-gelf-decoders: $*" >&2; }

install_tshark() {
  if command -v tshark >/dev/null 2>&1; then
    log "tshark present: $(tshark -v 2>/dev/null | head -n1)"
    return 0
  fi
  if [[ "$(id -u)" -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    log "tshark missing and cannot install it (need root and apt-get); GELF tshark tests will skip"
    return 1
  fi
  log "installing tshark with apt-get"
  # Do not make dumpcap setuid / ask about the wireshark group (we capture as root).
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends tshark >/dev/null
  log "installed: $(tshark -v 2>/dev/null | head -n1)"
}

install_openssl() {
  # The GELF TLS tests make their throwaway certificates with the openssl CLI.
  if command -v openssl >/dev/null 2>&1; then
    return 0
  fi
  if [[ "$(id -u)" -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    log "openssl missing and cannot install it (need root and apt-get); GELF TLS tests will skip"
    return 1
  fi
  log "installing openssl with apt-get"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssl >/dev/null
}

source_stamp() {
  # Everything that determines the build output, plus the JDK that compiles/runs it.
  (
    cd "$HARNESS_SRC"
    find pom.xml src -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
    java -version 2>&1 | head -n1
  ) | sha256sum | cut -d' ' -f1
}

build_harness() {
  for tool in java mvn; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      log "$tool missing: cannot build the Graylog GELF harness"
      return 1
    fi
  done
  mkdir -p "$CACHE"
  # Serialise concurrent runs (several test sessions / engineers share the tree).
  exec 9>"$CACHE/.harness.lock"
  flock 9
  local stamp
  stamp="$(source_stamp)"
  if [[ -f "$HARNESS_OUT/stamp" && "$(cat "$HARNESS_OUT/stamp")" == "$stamp" && -f "$HARNESS_OUT/classpath.txt" ]]; then
    log "graylog-gelf-harness cached in $HARNESS_OUT"
    echo "$HARNESS_OUT/classpath.txt"
    return 0
  fi
  log "building graylog-gelf-harness (Maven; first run downloads graylog2-server, ~40 MB)"
  local tmp="$HARNESS_OUT.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp/lib"
  # shellcheck disable=SC2086  # MAVEN_ARGS is deliberately word-split
  mvn -q -B ${MAVEN_ARGS:-} -f "$HARNESS_SRC/pom.xml" package dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$tmp/lib" >&2
  cp "$HARNESS_SRC"/target/graylog-gelf-harness-*.jar "$tmp/"
  (cd "$tmp" && printf '%s' "$HARNESS_OUT/$(ls graylog-gelf-harness-*.jar):$HARNESS_OUT/lib/*") >"$tmp/classpath.txt"
  echo "$stamp" >"$tmp/stamp"
  rm -rf "$HARNESS_OUT"
  mv "$tmp" "$HARNESS_OUT"
  log "graylog-gelf-harness built into $HARNESS_OUT"
  echo "$HARNESS_OUT/classpath.txt"
}

status=0
if [[ $want_tshark -eq 1 ]]; then install_tshark || status=1; install_openssl || status=1; fi
if [[ $want_harness -eq 1 ]]; then build_harness || status=1; fi
exit $status
