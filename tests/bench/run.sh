#!/usr/bin/env bash
# The benchmarks' one command: runs scenarios against the node and
# the peers and writes docs/benchmarks.md. See run.mjs for the options, e.g.
#
#   tests/bench/run.sh S1 S2 --reps 2
#   tests/bench/run.sh all --quiet-wait 1200
#   tests/bench/run.sh S8 --smoke
#
# Builds what it needs first in build/bench (Release): puzzle-node and
# puzzle-load. Set PUZZLE_NODE_BIN / PUZZLE_LOAD_BIN to use other binaries.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
if [[ -z "${PUZZLE_NODE_BIN:-}" || -z "${PUZZLE_LOAD_BIN:-}" ]]; then
  if [[ ! -f "$REPO/build/bench/build.ninja" ]]; then
    cmake -S "$REPO" -B "$REPO/build/bench" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  cmake --build "$REPO/build/bench" --target puzzle-node puzzle-load >&2
fi
exec node "$REPO/tests/bench/run.mjs" "$@"
