#!/usr/bin/env bash
# Fetch the offline validators used by tests/deploy (no access to GitHub needed).
#
#   scripts/fetch-deploy-validators.sh
#
# 1. kubeconform (Go module github.com/yannh/kubeconform, through the Go module proxy)
#    -> .cache/bin/kubeconform
# 2. Kubernetes JSON schemas for kubeconform. kubeconform downloads them from
#    raw.githubusercontent.com by default, which is not reachable here. The PyPI wheel
#    `kubernetes-validate` ships the same OpenAPI-derived schemas ("<version>-local-strict",
#    whose $refs point at a shared /api/_definitions.json). We download the wheel with pip
#    (no install), and rewrite every top-level kind schema into a standalone file (the
#    referenced $defs inlined), laid out the way kubeconform's -schema-location template
#    expects:  .cache/kubernetes-json-schema/v<K8S>-standalone-strict/<kind>-<group>-<version>.json
#
# Environment: KUBECONFORM_VERSION (default v0.8.0), KUBERNETES_VALIDATE_VERSION (default 1.37.0),
# K8S_SCHEMA_VERSION (default 1.31.0), PYTHON (default .venv/bin/python).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${repo_root}/.cache"
kubeconform_version="${KUBECONFORM_VERSION:-v0.8.0}"
kv_version="${KUBERNETES_VALIDATE_VERSION:-1.37.0}"
k8s_version="${K8S_SCHEMA_VERSION:-1.31.0}"
python="${PYTHON:-${repo_root}/.venv/bin/python}"

mkdir -p "${cache}/bin" "${cache}/wheels"

if [[ ! -x "${cache}/bin/kubeconform" ]]; then
  echo "installing kubeconform ${kubeconform_version} into ${cache}/bin" >&2
  GOBIN="${cache}/bin" go install "github.com/yannh/kubeconform/cmd/kubeconform@${kubeconform_version}"
fi

schema_dir="${cache}/kubernetes-json-schema/v${k8s_version}-standalone-strict"
if [[ ! -f "${schema_dir}/deployment-apps-v1.json" ]]; then
  wheel="${cache}/wheels/kubernetes_validate-${kv_version}-py3-none-any.whl"
  if [[ ! -f "${wheel}" ]]; then
    "${python}" -m pip download --quiet --no-deps "kubernetes-validate==${kv_version}" -d "${cache}/wheels"
  fi
  echo "writing standalone Kubernetes ${k8s_version} schemas to ${schema_dir}" >&2
  "${python}" - "${wheel}" "v${k8s_version}-local-strict" "${schema_dir}" <<'PY'
"""Turn kubernetes-validate's "local" schemas into kubeconform-style standalone schemas."""
import json
import sys
import zipfile
from pathlib import Path

wheel, source_dir, target = sys.argv[1], sys.argv[2], Path(sys.argv[3])
prefix = f"kubernetes_validate/kubernetes-json-schema/{source_dir}/"
with zipfile.ZipFile(wheel) as archive:
    names = [n for n in archive.namelist() if n.startswith(prefix) and n.endswith(".json")]
    if not names:
        sys.exit(f"{source_dir} not found in {wheel}")
    definitions = json.loads(archive.read(prefix + "_definitions.json"))["$defs"]
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        filename = name[len(prefix):]
        if filename.startswith("_"):
            continue
        schema = json.loads(archive.read(name))
        kind = schema.get("properties", {}).get("kind", {})
        if not isinstance(kind, dict) or "enum" not in kind:
            continue  # not a top-level kind (kubeconform only looks kinds up)
        needed: set[str] = set()
        stack = [schema]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                for key, value in node.items():
                    if key == "$ref" and isinstance(value, str) and "#/$defs/" in value:
                        ref = value.split("#/$defs/", 1)[1]
                        if ref not in needed:
                            needed.add(ref)
                            stack.append(definitions[ref])
                    else:
                        stack.append(value)
            elif isinstance(node, list):
                stack.extend(node)
        schema["$defs"] = {ref: definitions[ref] for ref in sorted(needed)}
        text = json.dumps(schema).replace('"/api/_definitions.json#/$defs/', '"#/$defs/')
        (target / filename).write_text(text)
PY
fi
echo "kubeconform: ${cache}/bin/kubeconform ($("${cache}/bin/kubeconform" -v))" >&2
echo "schemas:     ${schema_dir}" >&2
