#!/usr/bin/env bash
# Quick start, part one: installs what is missing, builds the `release` preset
# and runs one puzzle-node in the foreground on http://localhost:8080
# (Ctrl-C stops it cleanly). Data goes to <repo>/data, the browser page comes
# from <repo>/web/public. Extra arguments go to puzzle-node and win over the
# defaults here, e.g.:
#
#   tools/run-node.sh --http.port=9090 --log.level=debug
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly REPO

# Only the node is built here; tests are configured and built by run-tests.sh.
PUZZLE_CMAKE_ARGS="-DPUZZLE_BUILD_TESTS=OFF ${PUZZLE_CMAKE_ARGS:-}" \
  bash "$REPO/tools/setup.sh" release --target puzzle-node

args=()
config_file="$REPO/config/puzzle.conf.example"
if [[ -f "$config_file" ]]; then
  args+=("--config-file=$config_file")
else
  printf 'run-node: %s not found, using built-in defaults\n' \
    "$config_file" >&2
fi
mkdir -p "$REPO/data"

printf 'run-node: starting puzzle-node (it logs the URL it listens on)\n' >&2
exec "$REPO/build/release/cluster/puzzle-node" "${args[@]}" \
  "--store.data-dir=$REPO/data" \
  "--http.web-root=$REPO/web/public" \
  "$@"
