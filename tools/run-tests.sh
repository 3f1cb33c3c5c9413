#!/usr/bin/env bash
# Quick start, part two (and the CI entry, see .ci/run): installs what is
# missing, builds the `ci` preset (warnings are errors) and runs the whole
# CTest suite: unit tests (label `unit`) and the end-to-end tests against the
# real binary with real npm clients (label `integration`), then runs each
# libFuzzer target for a short bounded time (tools/fuzz.sh;
# PUZZLE_SKIP_FUZZ=1 skips it, PUZZLE_FUZZ_SECONDS sets the time per target).
# Exits non-zero on any failure. Extra arguments go to ctest (and skip the
# fuzzing), e.g.:
#
#   tools/run-tests.sh -L integration
#   tools/run-tests.sh -R SessionActor
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly REPO

bash "$REPO/tools/setup.sh" ci

# --no-tests=error: an empty suite is a failure, not a silent pass.
ctest --test-dir "$REPO/build/ci" --output-on-failure -j2 \
  --no-tests=error "$@"

# Then every decoder under libFuzzer for a bounded time (tools/fuzz.sh);
# skipped when ctest was asked for a subset, or with PUZZLE_SKIP_FUZZ=1.
if (($# == 0)) && [[ "${PUZZLE_SKIP_FUZZ:-0}" != 1 ]]; then
  bash "$REPO/tools/fuzz.sh" "${PUZZLE_FUZZ_SECONDS:-15}"
fi
