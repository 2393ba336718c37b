#!/usr/bin/env bash
# bulkops against a real, local Hatchet, side by side with Hatchet's own tools, in one run: cancel
# (wall time, and a probe client's latency during vs idle) and replay (runs/s and exactness).
# Writes its section at the end of docs/benchmarks.md. Start the server first, e.g. on its own
# ports, database and run dir:
#   BULKOPS_HATCHET_DB=hatchet_bench BULKOPS_HATCHET_RUN_DIR=/tmp/hatchet-bench \
#   BULKOPS_HATCHET_API_PORT=28080 BULKOPS_HATCHET_GRPC_PORT=27070 BULKOPS_HATCHET_HEALTH_PORT=28733 \
#     bash scripts/hatchet-up.sh
# then run this with the same BULKOPS_HATCHET_* variables (the env file is read from the run dir).
# Arguments go to scripts/bench_real.py (--sdk adds the SDK helpers, --only cancel|replay, sizes,
# --baseline BIN another bulkops binary, e.g. a release build of main, replaying beside this one).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hatchet-instance.sh"
cd "$BULKOPS_ROOT"
export HATCHET_ENV_FILE="${HATCHET_ENV_FILE:-$RUN/env}"
[ -f "$HATCHET_ENV_FILE" ] \
  || { echo "bench-real: no $HATCHET_ENV_FILE: start the server with scripts/hatchet-up.sh first" >&2; exit 2; }
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$BULKOPS_CACHE/target}"
cargo build --release --quiet --bin bulkops
venv=$(bash scripts/python-env.sh)
exec "$venv/bin/python" scripts/bench_real.py --bin "$CARGO_TARGET_DIR/release/bulkops" "$@"
