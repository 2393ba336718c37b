#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls exactly this):
#   1. cargo fmt --check, cargo clippy -D warnings, hadolint on the Dockerfile;
#   2. unit tests and the integration suite (real bulkops processes against hatchet-sim);
#   3. the end-to-end suite against a real Hatchet v0.104.7, installed and started on loopback by
#      scripts/hatchet-up.sh (PostgreSQL from Debian, Hatchet by go install, hatchet-sdk in a venv),
#      plus the SDK conformance checks of the simulator; torn down at the end.
# Slow builds are cached under $BULKOPS_CACHE (default ~/.cache/bulkops): cargo's target dir, the
# Hatchet binaries and the Python venv.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$BULKOPS_ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$BULKOPS_CACHE/target}"
export CARGO_TERM_COLOR=never

step() { printf '\n== %s ==\n' "$*"; }

step "python venv (hatchet-sdk, pytest, hadolint)"
venv=$(bash scripts/python-env.sh)

step "format, lint"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
"$venv/bin/hadolint" Dockerfile
# The engine and the store know no backend and no operation: dependencies point one way.
if grep -rniE 'hatchet|crate::(ops|backend|cli)' src/engine src/store; then
  echo "src/engine and src/store must not name a backend, an operation or the CLI" >&2
  exit 1
fi

step "unit and integration tests (simulator)"
# The terminal tests run bulkops under `script`; the state-file tests make files immutable.
if ! command -v script >/dev/null || ! command -v chattr >/dev/null; then
  apt-get install -y -q bsdutils e2fsprogs >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q bsdutils e2fsprogs >/dev/null; }
fi
# The store conformance suite runs against PostgreSQL as well as SQLite, and fails without it.
BULKOPS_TEST_POSTGRES_URL=$(bash scripts/store-test-db.sh)
export BULKOPS_TEST_POSTGRES_URL
cargo build --workspace --locked
cargo test --workspace --locked

step "real Hatchet: up"
trap 'bash scripts/hatchet-down.sh >/dev/null 2>&1 || true' EXIT
bash scripts/hatchet-up.sh

step "end-to-end suite (real Hatchet) and simulator conformance (hatchet-sdk)"
export BULKOPS_BIN="$CARGO_TARGET_DIR/debug/bulkops"
export HATCHET_SIM_BIN="$CARGO_TARGET_DIR/debug/hatchet-sim"
"$venv/bin/python" -m pytest -q -p no:cacheprovider e2e
