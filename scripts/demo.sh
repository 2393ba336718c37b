#!/usr/bin/env bash
# Runs a real bulk job.
#   With HATCHET_CLIENT_TOKEN set: runs bulkops against that Hatchet with the arguments given, e.g.
#     scripts/demo.sh runs cancel --since 24h --status QUEUED --workflow my-wf
#   Without it: starts the project's simulator on 127.0.0.1, seeds 100,000 queued runs over three
#   days (plus 5,000 of another workflow that must stay untouched), and cancels the 100,000 with the
#   progress bar visible; then shows the job and the simulator's counts.
#   `scripts/demo.sh handinger`: the same for Handinger worker schedules. With HANDINGER_API_KEY
#   set and more arguments, runs `bulkops handinger ARGS` against that Handinger; otherwise
#   starts handinger-sim, seeds 10,000 schedules on 20 workers, lists one worker's crons,
#   reschedules every one-off schedule by an hour, undoes that, and cancels the crons.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$BULKOPS_ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$BULKOPS_CACHE/target}"
cargo build --release --quiet --workspace
BIN="$CARGO_TARGET_DIR/release"

if [ "${1:-}" = handinger ]; then
  shift
  if [ -n "${HANDINGER_API_KEY:-}" ] && [ $# -gt 0 ]; then
    exec "$BIN/bulkops" handinger "$@"
  fi
  work=$(mktemp -d)
  sim_out="$work/sim.json"
  "$BIN/handinger-sim" --port 0 >"$sim_out" 2>"$work/sim.log" &
  sim_pid=$!
  trap 'kill $sim_pid 2>/dev/null || true; rm -rf "$work"' EXIT
  for _ in $(seq 1 50); do [ -s "$sim_out" ] && break; sleep 0.1; done
  field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$sim_out" "$1"; }
  url=$(field url)
  export HANDINGER_BASE_URL="$url" HANDINGER_API_KEY; HANDINGER_API_KEY=$(field api_key)
  echo "handinger simulator at $url; seeding 500 schedules (one-off, delayed, cron, interval) on each of 20 workers"
  curl -fsS -X POST "$url/_sim/seed" -H 'content-type: application/json' -d '{"workers":20,"per_worker":500}' |
    python3 -c 'import json,sys; print("\n".join(json.load(sys.stdin)["workers"]))' >"$work/workers.txt"
  state="$work/bulkops-state.db"
  set -x
  "$BIN/bulkops" --state "$state" handinger schedules list --worker "$(head -1 "$work/workers.txt")" --type cron | tail -4
  "$BIN/bulkops" --state "$state" handinger schedules reschedule --workers-file "$work/workers.txt" \
    --type scheduled --type delayed --shift 1h --rate 500 --yes --reason "demo"
  job=$("$BIN/bulkops" --state "$state" jobs list -o json | python3 -c 'import json,sys; print([json.loads(l)["job"] for l in sys.stdin][-1])')
  "$BIN/bulkops" --state "$state" jobs undo "$job" --rate 500 --yes
  "$BIN/bulkops" --state "$state" handinger schedules cancel --workers-file "$work/workers.txt" \
    --type cron --rate 500 --concurrency 8 --yes
  "$BIN/bulkops" --state "$state" jobs list
  set +x
  echo "simulator counts:"
  curl -fsS "$url/_sim/stats" | python3 -c 'import json,sys; s=json.load(sys.stdin); print(json.dumps({k: s[k] for k in ["schedules", "schedules_by_type", "creates", "duplicate_creates", "cancels"]}, indent=1))'
  exit 0
fi

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
