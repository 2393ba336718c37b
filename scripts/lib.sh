# Shared paths for the project's scripts. Source it; do not run it.
# BULKOPS_CACHE holds what is slow to build (Hatchet binaries, the Python venv, cargo's target dir)
# so that a second run on the same machine skips those builds.
BULKOPS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BULKOPS_CACHE="${BULKOPS_CACHE:-$HOME/.cache/bulkops}"
export BULKOPS_ROOT BULKOPS_CACHE
mkdir -p "$BULKOPS_CACHE"
