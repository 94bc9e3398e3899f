#!/usr/bin/env bash
# Fetch a real Elasticsearch 8.19.x node for the integration tests (test peer only, not shipped).
#
# Elastic publishes the server jar and the netty4 HTTP module on Maven Central (the distribution
# tarball is not reachable here), so Maven resolves them and tools/elasticsearch builds a small
# launcher. Layout under $ES_CACHE_DIR (default: <repo>/.cache/elasticsearch):
#   lib/                      server + dependencies        (JVM --module-path)
#   modules/transport-netty4/ netty4 module + netty jars   (copied into the node's home at start)
#   launcher/es-test-node.jar io.github.otelml.estestnode.TestNode (JVM class path)
# Idempotent: returns at once when the launcher and a marker for this pom already exist.
#
# Usage: scripts/fetch-elasticsearch.sh [--force]
# Env:   ES_CACHE_DIR, MVN (default mvn), MAVEN_OPTS (e.g. -Dmaven.repo.local=...)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pom="${repo_root}/tools/elasticsearch/pom.xml"
cache_dir="${ES_CACHE_DIR:-${repo_root}/.cache/elasticsearch}"
mvn_bin="${MVN:-mvn}"

command -v java >/dev/null || { echo "fetch-elasticsearch: java not found (need Java 17+)" >&2; exit 2; }
command -v "${mvn_bin}" >/dev/null || { echo "fetch-elasticsearch: ${mvn_bin} not found" >&2; exit 2; }

stamp="$(cat "${pom}" "${repo_root}"/tools/elasticsearch/src/main/java/io/github/otelml/estestnode/*.java \
  | sha256sum | cut -c1-16)"
marker="${cache_dir}/.fetched-${stamp}"
if [[ "${1:-}" != "--force" && -f "${marker}" && -f "${cache_dir}/launcher/es-test-node.jar" ]]; then
  echo "${cache_dir}"
  exit 0
fi

rm -rf "${cache_dir}/lib" "${cache_dir}/modules" "${cache_dir}/launcher" "${cache_dir}"/.fetched-*
mkdir -p "${cache_dir}"
# `package` compiles the launcher and runs both copy-dependencies executions (see the pom).
"${mvn_bin}" -q -B -Dstyle.color=never -f "${pom}" -Des.cache.dir="${cache_dir}" \
  -Dmaven.compiler.showWarnings=false package >&2
rm -rf "${repo_root}/tools/elasticsearch/target"
touch "${marker}"
echo "${cache_dir}"
