#!/usr/bin/env bash
# Proves the Dockerfile's runtime stage without a container engine: a debootstrap root filesystem
# of its Debian release (cached under $BULKOPS_CACHE/image-rootfs), its RUN instructions, the
# release binary, and a short job against the simulator run inside it with `chroot --userspec`
# as the image's user, state on the VOLUME (scripts/image_check.py reads all of it from the
# Dockerfile). Needs root (debootstrap, chroot, mount) and deb.debian.org.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$BULKOPS_ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$BULKOPS_CACHE/target}"
command -v debootstrap >/dev/null || apt-get install -y -q debootstrap >/dev/null \
  || { apt-get update -q >/dev/null && apt-get install -y -q debootstrap >/dev/null; }
cargo build --release --locked --quiet --bin bulkops
cargo build --locked --quiet -p hatchet-sim --bin hatchet-sim
python3 scripts/image_check.py Dockerfile "$CARGO_TARGET_DIR/release/bulkops" "$CARGO_TARGET_DIR/debug/hatchet-sim"
