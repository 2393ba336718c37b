#!/usr/bin/env bash
# The PostgreSQL database the store conformance tests use: PostgreSQL up on 127.0.0.1:5432
# (scripts/postgres-up.sh), a role `bulkops` and a database `bulkops_store_test` it owns. Each test
# makes a schema of its own in it and drops it after. Prints the URL for
# BULKOPS_TEST_POSTGRES_URL (the tests' default, for this machine's local cluster).
#   export BULKOPS_TEST_POSTGRES_URL=$(bash scripts/store-test-db.sh)
# With a name, that database instead, made afresh (dropped first if it is there): the test
# command's run of the integration suite on PostgreSQL leaves a schema per test in its own.
#   bash scripts/store-test-db.sh bulkops_it
set -euo pipefail
exec 3>&1 1>&2  # stdout carries the URL only
db=${1:-bulkops_store_test}
bash "$(dirname "$0")/postgres-up.sh"

psql_pg() { (cd /tmp && PGOPTIONS='-c client_min_messages=warning' runuser -u postgres -- timeout 120 psql -X -v ON_ERROR_STOP=1 -qAt "$@"); }
psql_pg <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bulkops') THEN
    CREATE ROLE bulkops LOGIN PASSWORD 'bulkops';
  END IF;
END $$;
SQL
if [ $# -gt 0 ]; then
  psql_pg -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
fi
if [ "$(psql_pg -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
  psql_pg -c "CREATE DATABASE $db OWNER bulkops"
fi
echo "postgres://bulkops:bulkops@127.0.0.1:5432/$db" >&3
