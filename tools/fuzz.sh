#!/usr/bin/env bash
# Builds the libFuzzer targets (preset `fuzz`: clang, ASan + UBSan) and runs
# each one for a bounded time from its committed seed corpus
# (tests/fuzz/corpus/<name>/). Exits non-zero on the first finding; the
# input that crashed is kept in build/fuzz/findings/<name>/ — add it to the
# corpus and turn it into a regression test once fixed.
#
#   tools/fuzz.sh [SECONDS_PER_TARGET] [NAME ...]    (default: 15, all)
#
# Run by tools/run-tests.sh (and so by CI) after the test suite, unless
# PUZZLE_SKIP_FUZZ=1. New inputs found while fuzzing go to a scratch folder,
# never into the committed corpus.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly REPO
readonly BUILD="$REPO/build/fuzz"

seconds="${1:-15}"
shift || true

command -v clang++ >/dev/null 2>&1 ||
  { echo "fuzz: clang++ not found; run tools/setup.sh none" >&2; exit 1; }

cmake --preset fuzz -S "$REPO" >/dev/null
cmake --build --preset fuzz

if (($# > 0)); then
  names=("$@")
else
  mapfile -t names < <(find "$BUILD/tests/fuzz" -maxdepth 1 -type f \
    -name 'fuzz_*' -perm -u+x -printf '%f\n' | sed 's/^fuzz_//' | sort)
fi

status=0
for name in "${names[@]}"; do
  scratch="$(mktemp -d)"
  findings="$BUILD/findings/$name"
  mkdir -p "$findings"
  echo "fuzz: $name for ${seconds}s"
  # -timeout: one input taking over 10 s is a finding (a hang).
  # -rss_limit_mb: the decoders' limits must keep memory small.
  if ! "$BUILD/tests/fuzz/fuzz_$name" -max_total_time="$seconds" \
      -timeout=10 -rss_limit_mb=1024 -print_final_stats=1 \
      -artifact_prefix="$findings/" "$scratch" \
      "$REPO/tests/fuzz/corpus/$name" 2>"$BUILD/fuzz_$name.log"; then
    echo "fuzz: $name FOUND A PROBLEM; input in $findings/, log in" \
         "$BUILD/fuzz_$name.log:" >&2
    tail -n 40 "$BUILD/fuzz_$name.log" >&2
    status=1
  else
    grep -E '^stat::number_of_executed_units' "$BUILD/fuzz_$name.log" |
      sed "s/^/fuzz: $name /" || true
  fi
  rm -rf "$scratch"
done
exit "$status"
