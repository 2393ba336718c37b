#!/usr/bin/env bash
# Runs a real bulk job.
#   With HATCHET_CLIENT_TOKEN set: runs bulkops against that Hatchet with the arguments given, e.g.
#     scripts/demo.sh runs cancel --since 24h --status QUEUED --workflow my-wf
#   Without it: starts the project's simulator on 127.0.0.1, seeds 100,000 queued runs over three
#   days (plus 5,000 of another workflow that must stay untouched), and cancels the 100,000 with the
#   progress bar visible; then shows the job and the simulator's counts.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$BULKOPS_ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$BULKOPS_CACHE/target}"
cargo build --release --quiet --workspace
BIN="$CARGO_TARGET_DIR/release"

if [ -n "${HATCHET_CLIENT_TOKEN:-}" ]; then
  [ $# -gt 0 ] || { echo "usage: scripts/demo.sh runs cancel --since 24h [filters]  (HATCHET_CLIENT_TOKEN is set, so this acts on that Hatchet)" >&2; exit 2; }
  exec "$BIN/bulkops" "$@"
fi

work=$(mktemp -d)
sim_out="$work/sim.json"
"$BIN/hatchet-sim" --port 0 >"$sim_out" 2>"$work/sim.log" &
sim_pid=$!
trap 'kill $sim_pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 50); do [ -s "$sim_out" ] && break; sleep 0.1; done
field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$sim_out" "$1"; }
url=$(field url)
export HATCHET_CLIENT_TOKEN; HATCHET_CLIENT_TOKEN=$(field token)
now() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }
seed() { curl -fsS -X POST "$url/_sim/seed" -H 'content-type: application/json' -d "$1" >/dev/null; }
echo "simulator at $url; seeding 100,000 queued runs of demo-wf and 5,000 of other-wf over 3 days"
seed "{\"runs\":100000,\"status\":\"QUEUED\",\"workflow\":\"demo-wf\",\"metadata\":{\"customer\":\"acme\"},\"created_from\":\"$(now '3 days ago')\",\"created_to\":\"$(now '10 minutes ago')\"}"
seed "{\"runs\":5000,\"status\":\"QUEUED\",\"workflow\":\"other-wf\",\"created_from\":\"$(now '3 days ago')\",\"created_to\":\"$(now '10 minutes ago')\"}"

state="$work/bulkops-state.db"
set -x
"$BIN/bulkops" --state "$state" runs cancel --since 4d --status QUEUED --workflow demo-wf \
  --metadata customer=acme --rate 200 --concurrency 8 --yes --reason "demo"
"$BIN/bulkops" --state "$state" jobs list
set +x
echo "simulator counts by workflow and status:"
curl -fsS "$url/_sim/stats" | python3 -c 'import json,sys; s=json.load(sys.stdin); print(json.dumps(s["runs_by_workflow"], indent=1)); print("max cancels per run:", s["max_cancels_per_run"])'
