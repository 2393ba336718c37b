#!/usr/bin/env bash
# Stop what scripts/hatchet-up.sh started: the e2e worker, hatchet-api and hatchet-engine
# (SIGTERM to each process group, then SIGKILL after a grace period). Idempotent.
# Acts on the instance that BULKOPS_HATCHET_VERSION, BULKOPS_HATCHET_RUN_DIR and BULKOPS_HATCHET_DB
# name (scripts/hatchet-instance.sh), as hatchet-up.sh does.
# Keeps the binary cache ($BULKOPS_CACHE/hatchet-$V), keys, template database and logs.
#
# Usage: scripts/hatchet-down.sh [--stop-postgres] [--drop-db] [--quiet]
#   --stop-postgres  also stop the PostgreSQL cluster (pg_ctlcluster ... stop)
#   --drop-db        also drop the working database (default "hatchet"; its template "<db>_tpl" stays)
#   --quiet          no progress messages
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hatchet-instance.sh"   # RUN, DB
GRACE="${BULKOPS_HATCHET_STOP_GRACE:-15}"
STOP_PG=0 DROP_DB=0 QUIET=0
for a in "$@"; do
  case "$a" in
    --stop-postgres) STOP_PG=1 ;;
    --drop-db) DROP_DB=1 ;;
    --quiet) QUIET=1 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "hatchet-down: unknown argument $a" >&2; exit 2 ;;
  esac
done
log() { [ "$QUIET" = 1 ] || printf 'hatchet-down: %s\n' "$*" >&2; }

expected_cmd() { case "$1" in engine) echo hatchet-engine ;; api) echo hatchet-api ;; worker) echo itest_worker.py ;; esac; }

# pid of a process we started, or nothing (a recycled pid running something else is ignored)
our_pid() {
  local f="$RUN/$1.pid" p
  [ -s "$f" ] || return 0
  p=$(cat "$f")
  [[ "$p" =~ ^[0-9]+$ ]] || return 0
  kill -0 "$p" 2>/dev/null || return 0
  tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -q -- "$(expected_cmd "$1")" || return 0
  echo "$p"
}

# Signal the process group when the pid leads one (setsid in hatchet-up.sh), else the pid only.
signal() {
  local sig=$1 p=$2 pg
  pg=$(ps -o pgid= -p "$p" 2>/dev/null | tr -d ' ')
  if [ "$pg" = "$p" ]; then kill "-$sig" -- "-$p" 2>/dev/null || true; else kill "-$sig" "$p" 2>/dev/null || true; fi
}

group_alive() {  # any process left in group $1 (or the pid itself)
  kill -0 "$1" 2>/dev/null && return 0
  [ -n "$(ps -e -o pgid= | tr -d ' ' | grep -x "$1" | head -1)" ]
}

# Send SIGTERM to all three at once (the DB is reset on the next up, so order does not matter),
# wait up to GRACE seconds for all of them, then SIGKILL what is left.
declare -A PIDS=()
for name in worker api engine; do
  p=$(our_pid "$name")
  if [ -z "$p" ]; then rm -f "$RUN/$name.pid"; continue; fi
  PIDS[$name]=$p
  log "stopping $name (pid $p)"
  signal TERM "$p"
done
t0=$SECONDS
for ((i = 0; i < GRACE * 4; i++)); do
  left=0
  for name in "${!PIDS[@]}"; do group_alive "${PIDS[$name]}" && left=1; done
  [ "$left" = 0 ] && break
  sleep 0.25
done
for name in "${!PIDS[@]}"; do
  p=${PIDS[$name]}
  if group_alive "$p"; then
    log "$name did not stop within ${GRACE}s: SIGKILL"
    kill -KILL -- "-$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null || true
    for ((i = 0; i < 20; i++)); do group_alive "$p" || break; sleep 0.25; done
  fi
  rm -f "$RUN/$name.pid"
done
[ "${#PIDS[@]}" = 0 ] || log "stopped ${!PIDS[*]} in $((SECONDS - t0)) s"

if [ "$DROP_DB" = 1 ] || [ "$STOP_PG" = 1 ]; then
  read -r ver name status < <(pg_lsclusters -h 2>/dev/null | awk '{print $1, $2, $4; exit}') || true
  if [ -n "${ver:-}" ] && [ "$status" = online ]; then
    if [ "$DROP_DB" = 1 ]; then
      log "dropping database $DB"
      (cd /tmp && runuser -u postgres -- psql -X -qAt -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)")
    fi
    if [ "$STOP_PG" = 1 ]; then
      log "stopping PostgreSQL $ver/$name"
      timeout 60 pg_ctlcluster "$ver" "$name" stop
    fi
  fi
fi
log "done"
