# Which local Hatchet instance scripts/hatchet-up.sh and hatchet-down.sh act on. Source it after
# lib.sh. Each version gets its own binaries, run dir, database and ports, so that two versions (or
# two people's servers) can run side by side on one machine and one PostgreSQL.
#
#   BULKOPS_HATCHET_VERSION    Hatchet release (default v0.104.7)
#   BULKOPS_HATCHET_RUN_DIR    run dir: env file, token, keys, logs, pid files
#                              (default $BULKOPS_CACHE/hatchet-run for v0.104.7, else hatchet-run-$V)
#   BULKOPS_HATCHET_DB         database name; its template is <name>_tpl
#                              (default hatchet for v0.104.7, else hatchet_<version with _ for .>)
#   BULKOPS_HATCHET_API_PORT, _GRPC_PORT, _HEALTH_PORT
#                              (default 8080/7070/8733 for v0.104.7, else 8180/7170/8833)
# Binaries are cached per version in $BULKOPS_CACHE/hatchet-$V/bin whatever the run dir.
HATCHET_DEFAULT_VERSION=v0.104.7
V="${BULKOPS_HATCHET_VERSION:-$HATCHET_DEFAULT_VERSION}"
[[ "$V" =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]] \
  || { echo "BULKOPS_HATCHET_VERSION=$V is not a release tag: use one like v0.105.0" >&2; exit 2; }
if [ "$V" = "$HATCHET_DEFAULT_VERSION" ]; then
  _run=hatchet-run _db=hatchet _api=8080 _grpc=7070 _health=8733
else
  _run="hatchet-run-$V" _db="hatchet_${V//./_}" _api=8180 _grpc=7170 _health=8833
fi
HBIN="$BULKOPS_CACHE/hatchet-$V/bin"
RUN="${BULKOPS_HATCHET_RUN_DIR:-$BULKOPS_CACHE/$_run}"
DB="${BULKOPS_HATCHET_DB:-$_db}"
# The name goes into SQL statements unquoted: keep it to a plain identifier.
[[ "$DB" =~ ^[a-z_][a-z0-9_]{0,58}$ ]] \
  || { echo "BULKOPS_HATCHET_DB=$DB is not a plain database name: use lower-case letters, digits and _" >&2; exit 2; }
TPL="${DB}_tpl"
API_PORT="${BULKOPS_HATCHET_API_PORT:-$_api}"
GRPC_PORT="${BULKOPS_HATCHET_GRPC_PORT:-$_grpc}"
HEALTH_PORT="${BULKOPS_HATCHET_HEALTH_PORT:-$_health}"
unset _run _db _api _grpc _health
