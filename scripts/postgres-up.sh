#!/usr/bin/env bash
# Make a PostgreSQL from Debian's package run on 127.0.0.1:5432: installed when missing, its first
# cluster created when there is none, started (pg_ctlcluster, no systemd), max_connections at
# least 300. Idempotent. Used by scripts/hatchet-up.sh and scripts/store-test-db.sh.
# Prints nothing on stdout; `PG_VER PG_NAME` of the cluster on stdout with --print-cluster.
set -euo pipefail
# Everything the tools print goes to stderr, so stdout carries only what this script promises: a
# start after an unclean stop prints "Removed stale pid file." on stdout, which callers captured
# as part of the URL or cluster name.
exec 3>&1 1>&2
# The server that pg_ctlcluster starts must not inherit fd 3: a caller's `$(postgres-up.sh
# --print-cluster)` would wait for it to close, as long as PostgreSQL runs.

log() { printf 'postgres-up: %s\n' "$*" >&2; }
bounded() { local t=$1; shift; timeout --kill-after=10 "$t" "$@"; }
as_pg() { (cd /tmp && runuser -u postgres -- "$@"); }
psql_pg() { PGOPTIONS='-c client_min_messages=warning' as_pg timeout 120 psql -X -v ON_ERROR_STOP=1 -qAt "$@"; }

if ! { command -v pg_ctlcluster >/dev/null && dpkg -s postgresql >/dev/null 2>&1; }; then
  log "installing postgresql from Debian packages"
  export DEBIAN_FRONTEND=noninteractive
  # apt-get update only when the install fails (e.g. empty package lists on a fresh machine)
  if ! bounded 600 apt-get install -y -q postgresql >/dev/null; then
    bounded 300 apt-get update -q >/dev/null
    bounded 600 apt-get install -y -q postgresql >/dev/null
  fi
fi
read -r ver name status < <(pg_lsclusters -h | awk '{print $1, $2, $4; exit}') || true
if [ -z "${ver:-}" ]; then
  ver=$(ls /usr/lib/postgresql | sort -V | tail -1); name=main
  pg_createcluster "$ver" "$name" >/dev/null
  status=down
fi
if [ "$status" != online ]; then
  bounded 60 pg_ctlcluster "$ver" "$name" start 3>&-
fi
maxc=$(psql_pg -c 'SHOW max_connections')
if [ "$maxc" -lt 300 ]; then
  psql_pg -c 'ALTER SYSTEM SET max_connections = 300'
  bounded 60 pg_ctlcluster "$ver" "$name" restart 3>&-
fi
if [ "${1:-}" = --print-cluster ]; then
  echo "$ver $name" >&3
fi
