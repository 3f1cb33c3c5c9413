#!/usr/bin/env bash
# Quick start, part one: installs what is missing, builds the `release` preset
# and runs one puzzle-node in the foreground on http://localhost:8080
# (Ctrl-C stops it cleanly). Data goes to <repo>/data, the browser page is the
# bundle built from web/ into build/release/web/public. Extra arguments go to
# puzzle-node and win over the defaults here, e.g.:
#
#   tools/run-node.sh --http.port=9090 --log.level=debug
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly REPO

# Only the node and the web client are built here; tests are configured and
# built by run-tests.sh.
PUZZLE_CMAKE_ARGS="-DPUZZLE_BUILD_TESTS=OFF ${PUZZLE_CMAKE_ARGS:-}" \
  bash "$REPO/tools/setup.sh" release --target puzzle-node puzzle-web

args=()
config_file="$REPO/config/puzzle.conf.example"
if [[ -f "$config_file" ]]; then
  args+=("--config-file=$config_file")
else
  printf 'run-node: %s not found, using built-in defaults\n' \
    "$config_file" >&2
fi
mkdir -p "$REPO/data"

# The MQTT demo: with mosquitto installed (deploy/debian-packages.txt) and
# no --mqtt.uri given, a private broker on a free loopback port and the IoT
# simulator (a smart table, an environment sensor and a puzzle box, see
# docs/mqtt.md) run next to the node and stop with it.
# PUZZLE_DEMO_MQTT=0 turns this off.
demo_pids=()
stop_demo() {
  # Newest first: the devices say offline while the broker is still up.
  local i pid
  for ((i = ${#demo_pids[@]} - 1; i >= 0; i--)); do
    pid="${demo_pids[i]}"
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}
mosquitto_bin="$(command -v mosquitto || true)"
[[ -n "$mosquitto_bin" || ! -x /usr/sbin/mosquitto ]] ||
  mosquitto_bin=/usr/sbin/mosquitto
http_port=8080
want_demo=1
for arg in "$@"; do
  case "$arg" in
    --mqtt.uri=*) want_demo=0 ;;
    --http.port=*) http_port="${arg#--http.port=}" ;;
  esac
done
[[ "${PUZZLE_DEMO_MQTT:-1}" == 1 ]] || want_demo=0
if ((want_demo)) && [[ -z "$mosquitto_bin" ]]; then
  printf 'run-node: mosquitto not installed, so no MQTT demo (tools/setup.sh installs it)\n' >&2
  want_demo=0
fi
if ((want_demo)); then
  mqtt_port="$(node -e "const s = require('net').createServer();
    s.listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); });")"
  mkdir -p "$REPO/data/mosquitto"
  cat >"$REPO/data/mosquitto/mosquitto.conf" <<CONF
# Written by tools/run-node.sh: the demo broker, on loopback only.
listener $mqtt_port 127.0.0.1
allow_anonymous true
persistence false
log_dest file $REPO/data/mosquitto/mosquitto.log
CONF
  "$mosquitto_bin" -c "$REPO/data/mosquitto/mosquitto.conf" &
  demo_pids+=("$!")
  trap stop_demo EXIT
  args+=("--mqtt.uri=tcp://127.0.0.1:$mqtt_port")
  node "$REPO/tools/iot-simulator/simulator.mjs" \
    "--broker=mqtt://127.0.0.1:$mqtt_port" "--api=http://127.0.0.1:$http_port" \
    >>"$REPO/data/iot-simulator.log" 2>&1 &
  demo_pids+=("$!")
  printf 'run-node: MQTT demo: mosquitto on 127.0.0.1:%s, simulated devices table-01, env-01, puzzle-box-01 (log: data/iot-simulator.log)\n' \
    "$mqtt_port" >&2
fi

printf 'run-node: starting puzzle-node (it logs the URL it listens on)\n' >&2
if ((${#demo_pids[@]} == 0)); then
  exec "$REPO/build/release/cluster/puzzle-node" "${args[@]}" \
    "--store.data-dir=$REPO/data" \
    "--http.web-root=$REPO/build/release/web/public" \
    "$@"
fi
# With the demo running the node is a child: Ctrl-C reaches the whole
# foreground group; a SIGTERM to this script is passed on to the node.
"$REPO/build/release/cluster/puzzle-node" "${args[@]}" \
  "--store.data-dir=$REPO/data" \
  "--http.web-root=$REPO/build/release/web/public" \
  "$@" &
node_pid=$!
interrupted=0
trap 'interrupted=1; kill -TERM "$node_pid" 2>/dev/null || true' TERM INT
status=0
wait "$node_pid" || status=$?
if ((interrupted)); then
  # The trap ended the wait early: wait for the node's own exit status.
  status=0
  wait "$node_pid" 2>/dev/null || status=$?
fi
exit "$status"
