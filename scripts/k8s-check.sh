#!/usr/bin/env bash
# Checks the Kubernetes manifests in deploy/ offline (scripts/k8s_check.py says what): the
# schemas of the pinned kubernetes-validate package, what the schemas cannot say, and the
# CronJob's command line run as a dry run against the simulator, and the Deployment's serve
# arguments checked by `serve --check-config`.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$BULKOPS_ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$BULKOPS_CACHE/target}"
venv=$(bash scripts/python-env.sh)
cargo build --locked --quiet --workspace --bins
"$venv/bin/python" scripts/k8s_check.py deploy Dockerfile "$CARGO_TARGET_DIR/debug/bulkops" "$CARGO_TARGET_DIR/debug/hatchet-sim"
