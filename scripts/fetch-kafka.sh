#!/usr/bin/env bash
# Fetch a real Apache Kafka 3.9.1 broker (KRaft mode) for the tests and the bench (test peer only,
# not shipped): kafka_2.13 and its runtime dependencies from Maven Central, resolved by Maven from
# tools/kafka/pom.xml into $KAFKA_CACHE_DIR/lib (the class path of `kafka.Kafka`).
# Idempotent: returns at once when a marker for this pom already exists.
#
# Usage: scripts/fetch-kafka.sh [--force]      prints the cache directory
# Env:   KAFKA_CACHE_DIR (default <repo>/.cache/kafka), MVN (default mvn)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pom="${repo_root}/tools/kafka/pom.xml"
cache_dir="${KAFKA_CACHE_DIR:-${repo_root}/.cache/kafka}"
mvn_bin="${MVN:-mvn}"

command -v java >/dev/null || { echo "fetch-kafka: java not found (need Java 17+)" >&2; exit 2; }
command -v "${mvn_bin}" >/dev/null || { echo "fetch-kafka: ${mvn_bin} not found" >&2; exit 2; }

marker="${cache_dir}/.fetched-$(sha256sum "${pom}" | cut -c1-16)"
if [[ "${1:-}" != "--force" && -f "${marker}" && -f "${cache_dir}/lib/kafka_2.13-3.9.1.jar" ]]; then
  echo "${cache_dir}"
  exit 0
fi

rm -rf "${cache_dir}/lib" "${cache_dir}"/.fetched-*
mkdir -p "${cache_dir}"
"${mvn_bin}" -q -B -Dstyle.color=never -f "${pom}" -Dkafka.lib.dir="${cache_dir}/lib" \
  dependency:copy-dependencies >&2
touch "${marker}"
echo "${cache_dir}"
