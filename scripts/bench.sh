#!/usr/bin/env bash
# Throughput, CPU time, peak memory and resume latency of bulkops vs the SDK helper, side by side
# in one run, against the simulator. Writes docs/benchmarks.md. Arguments are passed to
# scripts/bench.py (e.g. --sizes).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$BULKOPS_ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$BULKOPS_CACHE/target}"
cargo build --release --quiet --workspace
venv=$(bash scripts/python-env.sh)
exec "$venv/bin/python" scripts/bench.py --bin-dir "$CARGO_TARGET_DIR/release" "$@"
