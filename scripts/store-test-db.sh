#!/usr/bin/env bash
# The PostgreSQL database the store conformance tests use: PostgreSQL up on 127.0.0.1:5432
# (scripts/postgres-up.sh), a role `bulkops` and a database `bulkops_store_test` it owns. Each test
# makes a schema of its own in it and drops it after. Prints the URL for
# BULKOPS_TEST_POSTGRES_URL (the tests' default, for this machine's local cluster).
#   export BULKOPS_TEST_POSTGRES_URL=$(bash scripts/store-test-db.sh)
set -euo pipefail
bash "$(dirname "$0")/postgres-up.sh"

psql_pg() { (cd /tmp && PGOPTIONS='-c client_min_messages=warning' runuser -u postgres -- timeout 120 psql -X -v ON_ERROR_STOP=1 -qAt "$@"); }
psql_pg <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bulkops') THEN
    CREATE ROLE bulkops LOGIN PASSWORD 'bulkops';
  END IF;
END $$;
SQL
if [ "$(psql_pg -c "SELECT 1 FROM pg_database WHERE datname = 'bulkops_store_test'")" != 1 ]; then
  psql_pg -c 'CREATE DATABASE bulkops_store_test OWNER bulkops'
fi
echo "postgres://bulkops:bulkops@127.0.0.1:5432/bulkops_store_test"
