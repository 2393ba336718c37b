#!/usr/bin/env bash
# Bring up a real, local Hatchet (v0.104.7 unless BULKOPS_HATCHET_VERSION says otherwise: engine +
# REST API as native binaries, PostgreSQL from Debian, Postgres message queue, insecure gRPC on 127.0.0.1) plus the e2e Python worker (e2e/itest_worker.py).
# Recipe: docs/hatchet-contract.md §local. Observed behaviour: docs/hatchet-behaviour.md.
#
# Usage: scripts/hatchet-up.sh [--reuse] [--keep-db] [--no-worker]
#   (default)    stop whatever a previous invocation started, reset the database to a fresh clone of the
#                template (migrated + seeded + token), start engine, API and worker. Every run starts clean.
#   --reuse      if engine, API and worker from a previous invocation are alive and healthy, keep them
#                (and their data) and only re-print the env file; otherwise behave as the default.
#   --keep-db    restart the processes but keep the current database (no reset).
#   --no-worker  do not start the Python worker.
#
# Output: $RUN/env (KEY=value lines, no quotes; `set -a; . FILE; set +a` works):
#   HATCHET_CLIENT_TOKEN, HATCHET_CLIENT_TLS_STRATEGY=none, HATCHET_CLIENT_SERVER_URL,
#   HATCHET_CLIENT_HOST_PORT, HATCHET_CLIENT_TENANT_ID, ITEST_FLAG_DIR, ITEST_SLOTS, HATCHET_DATABASE_URL,
#   HATCHET_RUN_DIR
# The token is written only to that file (mode 600) and to $RUN/token; it is never printed.
#
# Layout under $BULKOPS_CACHE (default ~/.cache/bulkops):
#   hatchet-$V/bin/   the four binaries of version $V (kept by hatchet-down.sh)
#   $RUN              (hatchet-run/ for v0.104.7, hatchet-run-$V/ for others) server.env, keys/,
#                     config/ (empty), logs/, *.pid, token, env, flags/, worker/
#
# Instance (scripts/hatchet-instance.sh): BULKOPS_HATCHET_VERSION (v0.104.7), BULKOPS_HATCHET_RUN_DIR,
#   BULKOPS_HATCHET_DB (hatchet), BULKOPS_HATCHET_API_PORT (8080), BULKOPS_HATCHET_GRPC_PORT (7070),
#   BULKOPS_HATCHET_HEALTH_PORT (8733); other versions default to their own run dir, database and
#   ports 8180/7170/8833. Also: BULKOPS_HATCHET_READY_TIMEOUT (120 s), ITEST_SLOTS (100).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

. "$(dirname "$0")/hatchet-instance.sh"   # V, HBIN, RUN, DB, TPL, *_PORT
TENANT=707d0855-80ab-4e1f-a156-f1c4546cbf52   # hatchet-admin seed's DEFAULT_TENANT_ID
READY_TIMEOUT="${BULKOPS_HATCHET_READY_TIMEOUT:-120}"
DB_URL_BASE="postgresql://hatchet:hatchet@127.0.0.1:5432"
CMDS=(hatchet-migrate hatchet-admin hatchet-engine hatchet-api)

REUSE=0 KEEP_DB=0 WORKER=1
for a in "$@"; do
  case "$a" in
    --reuse) REUSE=1 ;;
    --keep-db) KEEP_DB=1 ;;
    --no-worker) WORKER=0 ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) echo "hatchet-up: unknown argument $a" >&2; exit 2 ;;
  esac
done

mkdir -p "$RUN"/{keys,config,logs,flags,worker}
chmod 700 "$RUN"
TIMINGS="$RUN/logs/timings.log"
T0=$(date +%s.%N)
log() { printf 'hatchet-up: %s\n' "$*" >&2; }
die() { printf 'hatchet-up: ERROR: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }
timing() { printf '%s %s %ss\n' "$(date -u +%FT%TZ)" "$1" "$2" >> "$TIMINGS"; log "$1: $2 s"; }
# run a command with a time bound; $1 = seconds
bounded() { local t=$1; shift; timeout --kill-after=10 "$t" "$@"; }

as_pg() { (cd /tmp && runuser -u postgres -- "$@"); }
psql_pg() { PGOPTIONS='-c client_min_messages=warning' as_pg timeout 120 psql -X -v ON_ERROR_STOP=1 -qAt "$@"; }

# ---------------------------------------------------------------------------------------------------
# 1. PostgreSQL (Debian package, pg_ctlcluster, no systemd)
# ---------------------------------------------------------------------------------------------------
ensure_postgres() {
  local t; t=$(now)
  local pkgs=()
  { command -v pg_ctlcluster >/dev/null && dpkg -s postgresql >/dev/null 2>&1; } || pkgs+=(postgresql)
  command -v curl >/dev/null || pkgs+=(curl)
  if [ "${#pkgs[@]}" -gt 0 ]; then
    log "installing ${pkgs[*]} from Debian packages"
    export DEBIAN_FRONTEND=noninteractive
    # apt-get update only when the install fails (e.g. empty package lists on a fresh machine)
    if ! bounded 600 apt-get install -y -q "${pkgs[@]}" >/dev/null; then
      bounded 300 apt-get update -q >/dev/null
      bounded 600 apt-get install -y -q "${pkgs[@]}" >/dev/null
    fi
  fi
  local ver name status
  read -r ver name status < <(pg_lsclusters -h | awk '{print $1, $2, $4; exit}') || true
  if [ -z "${ver:-}" ]; then
    ver=$(ls /usr/lib/postgresql | sort -V | tail -1); name=main
    pg_createcluster "$ver" "$name" >/dev/null
    status=down
  fi
  PG_VER=$ver PG_NAME=$name
  if [ "$status" != online ]; then
    bounded 60 pg_ctlcluster "$ver" "$name" start
  fi
  local maxc; maxc=$(psql_pg -c 'SHOW max_connections')
  if [ "$maxc" -lt 300 ]; then
    psql_pg -c 'ALTER SYSTEM SET max_connections = 300'
    bounded 60 pg_ctlcluster "$ver" "$name" restart
  fi
  psql_pg <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'hatchet') THEN
    CREATE ROLE hatchet LOGIN PASSWORD 'hatchet';
  END IF;
END $$;
ALTER ROLE hatchet SET timezone TO 'UTC';
SQL
  timing postgres "$(since "$t")"
}

# ---------------------------------------------------------------------------------------------------
# 2. Binaries of version $V via `go install ...@$V` from the Go module proxy
# ---------------------------------------------------------------------------------------------------
binaries_ok() {
  local c
  for c in "${CMDS[@]}"; do [ -x "$HBIN/$c" ] || return 1; done
  [ -f "$HBIN/.complete-$V" ] || return 1
  [ "$("$HBIN/hatchet-engine" --version 2>/dev/null | tr -d '[:space:]')" = "$V" ]
}

# The zip hashes of modules fetched without the checksum database must match Hatchet's own go.sum.
verify_nosumdb_modules() {
  local modcache gosum line path ver sum f
  modcache=$(go env GOMODCACHE)
  gosum="$modcache/github.com/hatchet-dev/hatchet@$V/go.sum"
  [ -f "$gosum" ] || die "cannot verify: $gosum missing"
  while read -r path ver sum; do
    case "$ver" in */go.mod) continue ;; esac
    f="$modcache/cache/download/$path/@v/$ver.ziphash"
    [ -f "$f" ] || continue
    [ "$(cat "$f")" = "$sum" ] || die "checksum mismatch for $path@$ver (go.sum $sum, cache $(cat "$f"))"
  done < <(grep '^github.com/hatchet-dev/' "$gosum")
}

ensure_binaries() {
  if binaries_ok; then log "binaries present in $HBIN (skipping go install)"; return; fi
  command -v go >/dev/null || die "Go is required (go install of Hatchet $V); not found in PATH"
  local t; t=$(now)
  local pkgs=() c
  for c in "${CMDS[@]}"; do pkgs+=("github.com/hatchet-dev/hatchet/cmd/$c@$V"); done
  mkdir -p "$HBIN"; rm -f "$HBIN/.complete-$V"
  local golog="$RUN/logs/go-install.log"
  log "go install Hatchet $V (first build: 5-15 min on 2 cores; log: $golog)"
  local goenv=(CGO_ENABLED=0 GOBIN="$HBIN" GOFLAGS=)
  if ! (cd /tmp && env "${goenv[@]}" timeout --kill-after=10 2700 go install -trimpath \
          -ldflags "-s -w -X main.Version=$V" "${pkgs[@]}") > "$golog" 2>&1; then
    # Two failures seen with some module proxies (see docs/hatchet-behaviour.md L1):
    #  (a) "loading deprecation for github.com/hatchet-dev/hatchet": the proxy refuses the @v/list
    #      request that go install makes to look up the module's latest version (403);
    #  (b) "verifying module ... sumdb ... 404": the checksum database has no entry for
    #      github.com/hatchet-dev/pgoutbox.
    # Retry with the module cache as a fallback proxy for (a) (after `go mod download` has put the
    # pinned version there; "|" falls through on any error) and GONOSUMDB for github.com/hatchet-dev
    # for (b); those modules are then checked against Hatchet's own go.sum (verify_nosumdb_modules).
    grep -E 'loading deprecation|verifying module|sumdb' "$golog" >&2 || { tail -30 "$golog" >&2; die "go install failed"; }
    log "retrying go install with module-cache fallback proxy and GONOSUMDB=github.com/hatchet-dev"
    local modcache proxy1 nosum
    modcache=$(go env GOMODCACHE)
    proxy1=$(go env GOPROXY); proxy1=${proxy1%%[,|]*}
    if [ "$proxy1" = direct ] || [ "$proxy1" = off ]; then proxy1=https://proxy.golang.org; fi
    nosum=$(go env GONOSUMDB); nosum=${nosum:+$nosum,}github.com/hatchet-dev
    (cd /tmp && env GOFLAGS= GONOSUMDB="$nosum" GOPROXY="$proxy1" \
       timeout --kill-after=10 600 go mod download "github.com/hatchet-dev/hatchet@$V") >> "$golog" 2>&1 \
       || { tail -30 "$golog" >&2; die "go mod download failed"; }
    (cd /tmp && env "${goenv[@]}" GONOSUMDB="$nosum" GOPROXY="$proxy1|file://$modcache/cache/download" \
       timeout --kill-after=10 2700 go install -trimpath -ldflags "-s -w -X main.Version=$V" "${pkgs[@]}") >> "$golog" 2>&1 \
       || { tail -30 "$golog" >&2; die "go install failed (see $golog)"; }
    verify_nosumdb_modules
  fi
  touch "$HBIN/.complete-$V"
  binaries_ok || die "installed binaries do not report $V"
  timing go-install "$(since "$t")"
}

# ---------------------------------------------------------------------------------------------------
# 3. Env file for every Hatchet process (docs/hatchet-contract.md §local.4), keys (once)
# ---------------------------------------------------------------------------------------------------
write_server_env() {
  local want="SERVER_URL=http://127.0.0.1:$API_PORT"
  if [ -s "$RUN/server.env" ] && grep -qx "$want" "$RUN/server.env" \
       && grep -qx "SERVER_GRPC_PORT=$GRPC_PORT" "$RUN/server.env" \
       && grep -qx "SERVER_HEALTHCHECK_PORT=$HEALTH_PORT" "$RUN/server.env"; then
    return
  fi
  local secrets
  secrets="$(python3 -c 'import secrets;print(secrets.token_hex(8), secrets.token_hex(8))')"
  umask 077
  cat > "$RUN/server.env" <<EOF
DATABASE_URL='$DB_URL_BASE/$DB?sslmode=disable'
SERVER_URL=http://127.0.0.1:$API_PORT
SERVER_PORT=$API_PORT
SERVER_GRPC_PORT=$GRPC_PORT
SERVER_GRPC_BIND_ADDRESS=127.0.0.1
SERVER_GRPC_BROADCAST_ADDRESS=127.0.0.1:$GRPC_PORT
SERVER_GRPC_INSECURE=true
SERVER_INTERNAL_CLIENT_BASE_STRATEGY=none
SERVER_INTERNAL_CLIENT_BASE_INHERIT_BASE=false
SERVER_HEALTHCHECK_PORT=$HEALTH_PORT
SERVER_MSGQUEUE_KIND=postgres
SERVER_SECURITY_CHECK_ENABLED=false
SERVER_VERSION_OVERRIDE=$V
SERVER_AUTH_COOKIE_DOMAIN=127.0.0.1
SERVER_AUTH_COOKIE_SECRETS="$secrets"
SERVER_AUTH_COOKIE_INSECURE=true
SERVER_AUTH_SET_EMAIL_VERIFIED=true
SERVER_ENCRYPTION_MASTER_KEYSET_FILE=$RUN/keys/master.key
SERVER_ENCRYPTION_JWT_PRIVATE_KEYSET_FILE=$RUN/keys/private_ec256.key
SERVER_ENCRYPTION_JWT_PUBLIC_KEYSET_FILE=$RUN/keys/public_ec256.key
SERVER_LOGGER_LEVEL=warn
DATABASE_LOGGER_LEVEL=warn
EOF
  umask 022
  rm -f "$RUN/template.stamp"   # tokens depend on SERVER_URL: rebuild the template
}

load_server_env() { set -a; . "$RUN/server.env"; set +a; export PATH="$HBIN:$PATH"; }

ensure_keys() {
  if [ ! -s "$RUN/keys/master.key" ] || [ ! -s "$RUN/keys/private_ec256.key" ]; then
    rm -f "$RUN/keys/"*.key "$RUN/template.stamp"
    (cd "$RUN" && bounded 60 hatchet-admin keyset create-local-keys --key-dir "$RUN/keys") >> "$RUN/logs/admin.log" 2>&1 \
      || die "keyset create-local-keys failed (see $RUN/logs/admin.log)"
    chmod 600 "$RUN/keys/"*
  fi
}

# ---------------------------------------------------------------------------------------------------
# 4. Processes (pid files hold the pid of a setsid'd process = its process group)
# ---------------------------------------------------------------------------------------------------
pid_alive() {  # $1 = name (engine|api|worker)
  local f="$RUN/$1.pid" p
  [ -s "$f" ] || return 1
  p=$(cat "$f"); kill -0 "$p" 2>/dev/null || return 1
  tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -q -- "$(expected_cmd "$1")"
}
expected_cmd() { case "$1" in engine) echo hatchet-engine ;; api) echo hatchet-api ;; worker) echo itest_worker.py ;; esac; }

api_get() {  # $1 = path; prints body; fails on HTTP error
  curl -fsS --max-time 10 -H @"$RUN/auth-header" "http://127.0.0.1:$API_PORT$1"
}

healthy() {
  curl -fsS --max-time 5 "http://127.0.0.1:$HEALTH_PORT/ready" >/dev/null 2>&1 \
    && curl -fsS --max-time 5 "http://127.0.0.1:$API_PORT/api/ready" >/dev/null 2>&1 \
    && (exec 3<>"/dev/tcp/127.0.0.1/$GRPC_PORT") 2>/dev/null
}

worker_registered() {  # active worker named itest-worker, and the four workflows exist
  local w f
  w=$(api_get "/api/v1/tenants/$TENANT/worker" 2>/dev/null) || return 1
  f=$(api_get "/api/v1/tenants/$TENANT/workflows?limit=200" 2>/dev/null) || return 1
  python3 - "$w" "$f" <<'PY'
import json, sys
w, f = json.loads(sys.argv[1]), json.loads(sys.argv[2])
ok = any(r.get("name") == "itest-worker" and r.get("status") == "ACTIVE" for r in w.get("rows") or [])
names = {r.get("name") for r in f.get("rows") or []}
sys.exit(0 if ok and {"itest-task", "itest-dag", "itest-unserved", "itest-cron-code"} <= names else 1)
PY
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

stop_processes() { "$BULKOPS_ROOT/scripts/hatchet-down.sh" --quiet; }

start_bg() {  # $1 = name, rest = command; detached in its own session, logs to logs/$1.log
  local name=$1; shift
  setsid "$@" >> "$RUN/logs/$name.log" 2>&1 < /dev/null &
  echo $! > "$RUN/$name.pid"
}

# ---------------------------------------------------------------------------------------------------
# 5. Database: template $TPL (migrated, seeded, token) cloned into $DB on every up
# ---------------------------------------------------------------------------------------------------
template_stamp() {
  printf '%s|%s|%s|%s\n' "$V" "$SERVER_URL" "$SERVER_GRPC_BROADCAST_ADDRESS" \
    "$(cat "$RUN/keys/master.key" "$RUN/keys/private_ec256.key" | sha256sum | cut -c1-16)"
}

db_exists() { [ "$(psql_pg -c "SELECT 1 FROM pg_database WHERE datname = '$1'")" = 1 ]; }

ensure_template() {
  local stamp; stamp=$(template_stamp)
  # The stamp is kept both in the cache dir and as the template's comment: a template built by another
  # BULKOPS_CACHE (other keys, other token) on the same PostgreSQL is detected and rebuilt.
  if db_exists "$TPL" && [ -s "$RUN/token" ] && [ -f "$RUN/template.stamp" ] \
     && [ "$(cat "$RUN/template.stamp")" = "$stamp" ] \
     && [ "$(psql_pg -c "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '$TPL'")" = "$stamp" ] \
     && [ "$(find "$RUN/template.stamp" -mtime -150 | wc -l)" = 1 ]; then   # token lives 180 days
    return
  fi
  log "building template database $TPL (migrate, seed, token)"
  rm -f "$RUN/template.stamp" "$RUN/token"
  psql_pg -c "DROP DATABASE IF EXISTS $TPL WITH (FORCE)"
  psql_pg -c "CREATE DATABASE $TPL OWNER hatchet"
  psql_pg -c "ALTER DATABASE $TPL SET timezone TO 'UTC'"
  local t; t=$(now)
  (cd "$RUN" && DATABASE_URL="$DB_URL_BASE/$TPL?sslmode=disable" bounded 600 hatchet-migrate) \
    >> "$RUN/logs/migrate.log" 2>&1 || { tail -30 "$RUN/logs/migrate.log" >&2; die "hatchet-migrate failed"; }
  timing migrate-full "$(since "$t")"
  t=$(now)
  (cd "$RUN" && DATABASE_URL="$DB_URL_BASE/$TPL?sslmode=disable" bounded 120 hatchet-admin seed --config "$RUN/config") \
    >> "$RUN/logs/admin.log" 2>&1 || { tail -30 "$RUN/logs/admin.log" >&2; die "hatchet-admin seed failed"; }
  timing seed "$(since "$t")"
  t=$(now)
  local tok
  tok=$(cd "$RUN" && DATABASE_URL="$DB_URL_BASE/$TPL?sslmode=disable" bounded 120 hatchet-admin token create \
          --config "$RUN/config" --tenant-id "$TENANT" --name bulkops-itest --expiresIn 4320h 2>> "$RUN/logs/admin.log") \
    || die "hatchet-admin token create failed (see $RUN/logs/admin.log)"
  tok=$(printf '%s\n' "$tok" | grep '^ey' | tail -1)
  [ -n "$tok" ] || die "token create printed no token"
  (umask 077; printf '%s\n' "$tok" > "$RUN/token")
  timing token "$(since "$t")"
  psql_pg -c "COMMENT ON DATABASE $TPL IS '$stamp'"
  printf '%s\n' "$stamp" > "$RUN/template.stamp"
}

reset_db() {
  local t; t=$(now)
  psql_pg -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
  psql_pg -c "CREATE DATABASE $DB TEMPLATE $TPL OWNER hatchet"
  psql_pg -c "ALTER DATABASE $DB SET timezone TO 'UTC'"
  timing db-clone "$(since "$t")"
}

write_client_env() {
  local tok; tok=$(cat "$RUN/token")
  (umask 077
   printf 'Authorization: Bearer %s\n' "$tok" > "$RUN/auth-header"
   cat > "$RUN/env.tmp" <<EOF
HATCHET_CLIENT_TOKEN=$tok
HATCHET_CLIENT_TLS_STRATEGY=none
HATCHET_CLIENT_SERVER_URL=http://127.0.0.1:$API_PORT
HATCHET_CLIENT_HOST_PORT=127.0.0.1:$GRPC_PORT
HATCHET_CLIENT_TENANT_ID=$TENANT
ITEST_FLAG_DIR=$RUN/flags
ITEST_SLOTS=${ITEST_SLOTS:-100}
HATCHET_DATABASE_URL=$DB_URL_BASE/$DB?sslmode=disable
HATCHET_RUN_DIR=$RUN
EOF
   mv "$RUN/env.tmp" "$RUN/env")
}

print_result() {
  log "total: $(since "$T0") s"
  echo "HATCHET_URL=http://127.0.0.1:$API_PORT"
  echo "HATCHET_ENV_FILE=$RUN/env"
}

# ---------------------------------------------------------------------------------------------------
main() {
  ensure_postgres
  ensure_binaries
  write_server_env
  load_server_env
  ensure_keys

  if [ "$REUSE" = 1 ] && pid_alive engine && pid_alive api && [ -s "$RUN/token" ] && [ -s "$RUN/env" ] \
     && healthy && { [ "$WORKER" = 0 ] || { pid_alive worker && worker_registered; }; }; then
    log "reusing running server (pids $(cat "$RUN/engine.pid") $(cat "$RUN/api.pid"))"
    print_result; return
  fi

  stop_processes
  local p
  for p in "$API_PORT" "$GRPC_PORT" "$HEALTH_PORT"; do
    port_free "$p" || die "port $p on 127.0.0.1 is in use by another process (not started by this script)"
  done

  ensure_template
  if [ "$KEEP_DB" = 1 ] && db_exists "$DB"; then log "keeping database $DB"; else reset_db; fi
  local t; t=$(now)
  (cd "$RUN" && bounded 300 hatchet-migrate) >> "$RUN/logs/migrate.log" 2>&1 \
    || { tail -30 "$RUN/logs/migrate.log" >&2; die "hatchet-migrate on $DB failed"; }
  timing migrate-noop "$(since "$t")"

  write_client_env
  t=$(now)
  : > "$RUN/logs/engine.log"; : > "$RUN/logs/api.log"
  (cd "$RUN" && start_bg engine "$HBIN/hatchet-engine" --config "$RUN/config")
  (cd "$RUN" && start_bg api "$HBIN/hatchet-api" --config "$RUN/config")
  local deadline=$(( $(date +%s) + READY_TIMEOUT ))
  until healthy; do
    pid_alive engine || { tail -40 "$RUN/logs/engine.log" >&2; die "hatchet-engine exited"; }
    pid_alive api || { tail -40 "$RUN/logs/api.log" >&2; die "hatchet-api exited"; }
    [ "$(date +%s)" -lt "$deadline" ] || { tail -20 "$RUN/logs/engine.log" "$RUN/logs/api.log" >&2; die "not ready after ${READY_TIMEOUT}s"; }
    sleep 0.5
  done
  timing engine-api-ready "$(since "$t")"

  if [ "$WORKER" = 1 ]; then
    t=$(now)
    local venv; venv=$("$BULKOPS_ROOT/scripts/python-env.sh")
    : > "$RUN/logs/worker.log"
    # Fresh env: only the env file's variables (no stray HATCHET_CLIENT_* from the caller), cwd without .env files.
    # (the token goes through the environment, never through a command line)
    (cd "$RUN/worker" && start_bg worker env -i PATH="/usr/local/bin:/usr/bin:/bin" HOME="$HOME" LANG=C.UTF-8 \
        PYTHONUNBUFFERED=1 \
        bash -c 'set -a; . "$1"; set +a; exec "$2" "$3"' itest-worker "$RUN/env" \
        "$venv/bin/python" "$BULKOPS_ROOT/e2e/itest_worker.py")
    deadline=$(( $(date +%s) + 60 ))
    until worker_registered; do
      pid_alive worker || { tail -40 "$RUN/logs/worker.log" >&2; die "worker exited"; }
      [ "$(date +%s)" -lt "$deadline" ] || { tail -40 "$RUN/logs/worker.log" >&2; die "worker not registered after 60s"; }
      sleep 0.5
    done
    timing worker-registered "$(since "$t")"
  fi
  print_result
}

main
