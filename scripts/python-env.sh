#!/usr/bin/env bash
# Creates (once) the pinned Python venv for the test suites and prints its path.
# The venv is keyed by the hash of requirements-test.txt, so a changed pin makes a new one.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
req="$BULKOPS_ROOT/requirements-test.txt"
key=$(sha256sum "$req" | cut -c1-12)
venv="$BULKOPS_CACHE/venv-$key"
if [ ! -x "$venv/bin/python" ] || [ ! -f "$venv/.complete" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req" >&2
  touch "$venv/.complete"
fi
echo "$venv"
