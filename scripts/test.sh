#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls exactly this):
#   1. cargo fmt --check, cargo clippy -D warnings, hadolint on the Dockerfile;
#   2. the Kubernetes manifests in deploy/ against the Kubernetes schemas, offline
#      (scripts/k8s-check.sh); unit tests and the integration suite (real bulkops processes
#      against hatchet-sim);
#   3. the end-to-end suite against a real Hatchet v0.104.7, installed and started on loopback by
#      scripts/hatchet-up.sh (PostgreSQL from Debian, Hatchet by go install, hatchet-sdk in a venv),
#      plus the SDK conformance checks of the simulator; and, at the same time, the e2e cancel and
#      replay tests against Hatchet v0.105.0, a second server beside the first (its own run dir,
#      database and ports, scripts/hatchet-instance.sh). Both are torn down at the end.
#      Meanwhile the Dockerfile's runtime stage runs a job in a Debian chroot (scripts/image-check.sh).
# Slow builds are cached under $BULKOPS_CACHE (default ~/.cache/bulkops): cargo's target dir, the
# Hatchet binaries, the Python venv and the image check's Debian root filesystem.
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
# Every script parses (the README's demo is one of them, and nothing else runs it here).
for script in scripts/*.sh .ci/run; do bash -n "$script"; done
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
is_one_url() { [[ $1 =~ ^postgres://[^[:space:]]+$ ]] || { echo "store-test-db.sh printed more than a URL: $1" >&2; exit 1; }; }
is_one_url "$BULKOPS_TEST_POSTGRES_URL"
cargo build --workspace --locked
bash scripts/k8s-check.sh
cargo test --workspace --locked

step "crash and safety suite on the PostgreSQL store"
# The same tests/it modules again, each test's state a schema of its own in a fresh database
# (tests/it/support.rs, StateKind). Skipped by name, as they inspect the SQLite file or the
# default state file themselves: the default state location (a file under XDG_STATE_HOME), the
# lease read straight from the file, and the search for the token in the state file's bytes.
PG_IT_SKIP=(
  safety::the_same_replay_from_two_directories_meets_one_job_in_the_default_state
  truth::truth_an_orderly_sigterm_releases_the_lease_and_the_job_shows_interrupted
  truth::truth_a_server_that_echoes_the_token_gets_it_nowhere
  serve::no_secret_reaches_a_response_a_log_a_report_or_the_state
)
pg_it_url=$(bash scripts/store-test-db.sh bulkops_it)
is_one_url "$pg_it_url"
# Before the image check's release build starts beside the real-Hatchet step: these tests are
# paced and timing-sensitive, and about 4 minutes on their own.
BULKOPS_IT_STORE=postgres BULKOPS_TEST_POSTGRES_URL="$pg_it_url" \
  cargo test --locked --test it -- cancel:: safety:: control:: ops:: outage:: truth:: serve:: \
  "${PG_IT_SKIP[@]/#/--skip=}"

# The image check is mostly a release build and waiting on Debian's mirror (its root filesystem is
# cached); it runs beside the real-Hatchet steps, which mostly wait on the servers too.
image_log=$(mktemp)
bash scripts/image-check.sh > "$image_log" 2>&1 &
image_pid=$!

step "real Hatchet: up (v0.104.7, and v0.105.0 beside it)"
# The newest release runs the e2e tests of the two operations that depend most on the engine's
# behaviour (docs/hatchet-behaviour.md §5 lists what differs between the versions).
SECOND_VERSION=v0.105.0
SECOND_TESTS=(e2e/test_e2e_cancel.py e2e/test_e2e_replay.py)
down_all() {
  # Awaited, not killed: it unmounts the volume it bind-mounted into the chroot.
  wait "$image_pid" 2>/dev/null || true
  bash scripts/hatchet-down.sh >/dev/null 2>&1 || true
  BULKOPS_HATCHET_VERSION=$SECOND_VERSION bash scripts/hatchet-down.sh >/dev/null 2>&1 || true
}
trap down_all EXIT
bash scripts/hatchet-up.sh
second_env=$(BULKOPS_HATCHET_VERSION=$SECOND_VERSION bash scripts/hatchet-up.sh | sed -n 's/^HATCHET_ENV_FILE=//p')
# Without it the e2e helpers would fall back to the first server's env file.
[ -s "$second_env" ] || { echo "hatchet-up.sh for $SECOND_VERSION named no env file" >&2; exit 1; }

step "end-to-end suite (real Hatchet) and simulator conformance (hatchet-sdk); cancel and replay against $SECOND_VERSION"
export BULKOPS_BIN="$CARGO_TARGET_DIR/debug/bulkops"
export HANDINGER_SIM_BIN="$CARGO_TARGET_DIR/debug/handinger-sim"
export HATCHET_SIM_BIN="$CARGO_TARGET_DIR/debug/hatchet-sim"
# Mostly waiting on paced requests and on the servers: the two suites share the cores well.
# Its own log and tmp dir: two pytest sessions must not clean up each other's numbered tmp dirs.
second_dir=$(mktemp -d)
second_log="$second_dir/pytest.log"
HATCHET_ENV_FILE="$second_env" "$venv/bin/python" -m pytest -q -p no:cacheprovider \
  --basetemp "$second_dir/tmp" "${SECOND_TESTS[@]}" > "$second_log" 2>&1 &
second_pid=$!
first_rc=0
"$venv/bin/python" -m pytest -q -p no:cacheprovider e2e || first_rc=$?
second_rc=0
wait "$second_pid" || second_rc=$?
printf '\n-- %s against Hatchet %s --\n' "${SECOND_TESTS[*]}" "$SECOND_VERSION"
cat "$second_log"
rm -rf "$second_dir"
image_rc=0
wait "$image_pid" || image_rc=$?
printf '\n-- the Dockerfile runtime stage in a chroot (scripts/image-check.sh) --\n'
cat "$image_log"
rm -f "$image_log"
[ "$first_rc" = 0 ] && [ "$second_rc" = 0 ] && [ "$image_rc" = 0 ]
