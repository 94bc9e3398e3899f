#!/usr/bin/env bash
# Install nginx from Debian (with its stream module) for the security tests.
#
# The test Elasticsearch node has no security module, so tests/security puts a real nginx in front
# of it that terminates TLS and checks `Authorization: Basic ...` / `Authorization: ApiKey ...`;
# the GELF TLS test uses nginx's stream module as the TLS terminator in front of Graylog's codec.
# nginx is never started as a service here: each test runs its own `nginx -g 'daemon off;'` with
# a generated configuration on free loopback ports (harness/nginx.py).
#
# Idempotent: a no-op when nginx and the stream module are present. Prints the nginx binary path.
set -euo pipefail

log() { echo "fetch-nginx: $*" >&2; }

stream_module() {
  # Debian ships the stream module as a dynamic module.
  ls /usr/lib/nginx/modules/ngx_stream_module.so 2>/dev/null
}

nginx_bin() {
  command -v nginx 2>/dev/null || { [[ -x /usr/sbin/nginx ]] && echo /usr/sbin/nginx; } || true
}

if [[ -n "$(nginx_bin)" && -n "$(stream_module)" ]]; then
  log "nginx present: $("$(nginx_bin)" -v 2>&1)"
  nginx_bin
  exit 0
fi
if [[ "$(id -u)" -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
  log "nginx missing and cannot install it (need root and apt-get); the security tests will skip"
  exit 1
fi
log "installing nginx and libnginx-mod-stream with apt-get"
# policy-rc.d (present in container images) keeps the package from starting a system nginx.
DEBIAN_FRONTEND=noninteractive apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx libnginx-mod-stream >/dev/null
log "installed: $("$(nginx_bin)" -v 2>&1)"
nginx_bin
