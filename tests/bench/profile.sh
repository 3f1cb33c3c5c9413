#!/usr/bin/env bash
# Profiles puzzle-node under one scenario of the benchmarks with perf:
# starts the node pinned to the last CPU, drives it with puzzle-load
# pinned to CPU 0, and records the node's on-CPU samples for the measured
# window. Writes perf.data and a flat and a caller report to OUT.
#
#   tests/bench/profile.sh [room|fanout] [OUT]     (default: room, build/bench/profile)
#
# Reports: MODE-flat.txt (self time by symbol), MODE-children.txt (inclusive
# time), MODE-threads.txt (by thread name), MODE-load.json (the load's
# result); `perf report -i OUT/MODE.perf.data` for the call graphs.
#
# room:   S1 at N = 64, 20 Hz each, drags over /ws
# fanout: S2 with M = 1000 subscribers over /ws, 100 publications/s
# PUZZLE_NODE_BIN / PUZZLE_LOAD_BIN choose the binaries (default build/bench).
# Needs perf (linux-perf); falls back to valgrind --tool=callgrind without it.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
MODE="${1:-room}"
OUT="${2:-$REPO/build/bench/profile}"
NODE_BIN="${PUZZLE_NODE_BIN:-$REPO/build/bench/cluster/puzzle-node}"
LOAD_BIN="${PUZZLE_LOAD_BIN:-$REPO/build/bench/tests/bench/puzzle-load}"
CPUS="$(nproc)"
SERVER_CPU=$((CPUS > 1 ? CPUS - 1 : 0))
mkdir -p "$OUT"
DATA="$(mktemp -d)"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 18471)"
ulimit -n "$(ulimit -Hn)"

ARGS=(--http.port="$PORT" --http.bind=127.0.0.1 --store.data-dir="$DATA" --log.level=warn
  --http.max-connections=300000 --http.max-connections-per-address=0
  "--rate-limits.drags=token-bucket 1000000 1000000/1s"
  "--rate-limits.moves=token-bucket 1000000 1000000/1s"
  "--rate-limits.session-calls=token-bucket 1000000 1000000/1s"
  "--rate-limits.http-connect=token-bucket 1000000 1000000/1s"
  "--rate-limits.http-auth=token-bucket 1000000 1000000/1s"
  "--rate-limits.http-write=token-bucket 1000000 1000000/1s"
  --rate-limits.close-after-refusals=0)

if command -v perf >/dev/null; then
  taskset -c "$SERVER_CPU" "$NODE_BIN" "${ARGS[@]}" &
else
  taskset -c "$SERVER_CPU" valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out" \
    "$NODE_BIN" "${ARGS[@]}" &
fi
NODE_PID=$!
trap 'kill $NODE_PID 2>/dev/null || true; rm -rf "$DATA"' EXIT
for _ in $(seq 1 600); do
  curl -sf "http://127.0.0.1:$PORT/health/ready" >/dev/null && break
  sleep 0.1
done
TOKEN="$(curl -sf -X POST -H 'content-type: application/json' -d '{"displayName":"bench"}' \
  "http://127.0.0.1:$PORT/api/auth/guest" | sed -E 's/.*"token":"([^"]+)".*/\1/')"
SESSION="$(curl -sf -X POST -H 'content-type: application/json' -H "authorization: Bearer $TOKEN" \
  -d '{"name":"profile","imageId":"aurora-lake","rows":25,"cols":40}' \
  "http://127.0.0.1:$PORT/api/sessions" | sed -E 's/^\{"id":"([^"]+)".*/\1/')"

case "$MODE" in
  room) LOAD=(--scenario room --clients 64 --rate 20 --warmup 3 --duration 20) ;;
  fanout) LOAD=(--scenario fanout --clients 1000 --rate-steps 100 --warmup 3 --duration 20) ;;
  *) echo "profile: unknown mode $MODE" >&2; exit 2 ;;
esac
taskset -c 0 "$LOAD_BIN" "${LOAD[@]}" --protocol ws --port "$PORT" --session "$SESSION" \
  --server-pid "$NODE_PID" >"$OUT/$MODE-load.json" &
LOAD_PID=$!
if command -v perf >/dev/null; then
  sleep 5
  # The Release build has no frame pointers: unwind with DWARF.
  perf record -F 499 --call-graph dwarf,16384 -p "$NODE_PID" -o "$OUT/$MODE.perf.data" \
    -- sleep 10 2>/dev/null
  perf report -i "$OUT/$MODE.perf.data" --no-children --sort dso,sym -g none --stdio \
    --percent-limit 0.3 2>/dev/null | grep -v '^#' | grep -v '^$' | cut -c1-220 >"$OUT/$MODE-flat.txt"
  perf report -i "$OUT/$MODE.perf.data" --children --sort sym -g none --stdio \
    --percent-limit 1 2>/dev/null | grep -v '^#' | grep -v '^$' | cut -c1-220 >"$OUT/$MODE-children.txt"
  perf report -i "$OUT/$MODE.perf.data" --no-children --sort comm -g none --stdio 2>/dev/null \
    | grep -v '^#' | grep -v '^$' >"$OUT/$MODE-threads.txt"
fi
wait "$LOAD_PID"
kill -TERM "$NODE_PID"
wait "$NODE_PID" 2>/dev/null || true
echo "profile: $OUT/$MODE-flat.txt, $OUT/$MODE-children.txt, $OUT/$MODE-load.json" >&2
