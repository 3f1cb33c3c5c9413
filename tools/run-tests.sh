#!/usr/bin/env bash
# Quick start, part two (and the CI entry, see .ci/run): installs what is
# missing, builds the `ci` preset (warnings are errors) and runs the whole
# CTest suite: unit tests (label `unit`) and the end-to-end tests against the
# real binary with real npm clients (label `integration`). Exits non-zero on
# any failure. Extra arguments go to ctest, e.g.:
#
#   tools/run-tests.sh -L integration
#   tools/run-tests.sh -R SessionActor
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly REPO

bash "$REPO/tools/setup.sh" ci

# --no-tests=error: an empty suite is a failure, not a silent pass.
exec ctest --test-dir "$REPO/build/ci" --output-on-failure -j2 \
  --no-tests=error "$@"
