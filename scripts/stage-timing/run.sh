#!/usr/bin/env bash
# Stage timing of the order path: builds a copy of HEAD with a mark at every
# step between the frame's read and the HTTP client's call (stages.rs,
# inserted by instrument.py), runs `tradewind bench` with it, and prints the
# p50 of each step, plus what the order path's rehearsal costs as scheduled
# and when run again right after a real order. Not part of CI; the build has
# its own target directory (the first one takes as long as a release build
# from scratch).
# Usage: scripts/stage-timing/run.sh [tradewind bench options]
#        (default: --seconds 20 --every 1000)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
here="$root/scripts/stage-timing"
work="$(mktemp -d)"
trap 'git -C "$root" worktree remove --force "$work/tree" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git -C "$root" worktree add --detach "$work/tree" HEAD >/dev/null
(cd "$work/tree" && python3 "$here/instrument.py")
export CARGO_TARGET_DIR="$root/target/stage-timing"
cargo build --release --manifest-path "$work/tree/Cargo.toml"
[ "$#" -gt 0 ] || set -- --seconds 20 --every 1000
TRADEWIND_STAGES_OUT="$work/stages.txt" "$CARGO_TARGET_DIR/release/tradewind" bench "$@"
python3 "$here/summarize.py" "$work/stages.txt"
