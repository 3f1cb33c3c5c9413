#!/usr/bin/env bash
# A deployment-shaped cluster check: three puzzle-node processes, each in
# its own network namespace with its own address, one PostgreSQL for all.
#
#   tools/netns-cluster.sh PUZZLE_NODE_BIN
#
# Builds a bridge with the address 10.77.0.254/24 in the root namespace and
# three namespaces on it (10.77.0.1, .2, .3, one veth pair each). A private
# PostgreSQL listens on the bridge address. Each node runs with
# `ip netns exec`, http.bind and cluster.advertise set to its own address,
# and the other two as seeds. Then a client in the third namespace (the
# real @microsoft/signalr from tests/integration/node_modules):
#   - reads GET /api/cluster/nodes of every node: the three node ids up, at
#     10.77.0.N:4370, none at 127.0.0.1;
#   - creates a session over REST on node 1, joins it over SignalR on
#     node 3, locks and drops a piece, and reads the drop back from node 1
#     and node 2.
# Everything it made (processes, namespaces, links, the server, files) is
# removed on exit, also after a failure or an interrupt.
#
# Needs root, `ip` (iproute2) with network namespaces, PostgreSQL's server
# binaries and Node.js with the integration tests' npm modules. Without root,
# `ip` or namespaces it prints a SKIP line and exits 77 (CTest's
# SKIP_RETURN_CODE); any other missing piece, or a failed check, exits 1.
# Runs one at a time (a lock): the subnet and the names are fixed.
set -euo pipefail

readonly SKIP_CODE=77
readonly SUBNET_PREFIX=10.77.0
readonly BRIDGE_ADDRESS="${SUBNET_PREFIX}.254"
readonly HTTP_PORT=8080
readonly CLUSTER_PORT=4370
readonly READY_DEADLINE_S=30
readonly NODES=(1 2 3)
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly HERE
readonly REPO="${HERE%/tools}"
readonly BRIDGE=pznsbr0
readonly NS_PREFIX=pz-cluster-

say() { printf 'netns-cluster: %s\n' "$*"; }
die() {
  printf 'netns-cluster: FAIL: %s\n' "$*" >&2
  exit 1
}
skip() {
  printf '\n*** netns-cluster: SKIP: %s ***\n\n' "$*"
  exit "$SKIP_CODE"
}

[[ $# -eq 1 ]] || { sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
NODE_BIN="$(realpath "$1")"
readonly NODE_BIN
[[ -x "$NODE_BIN" ]] || die "$1 is not an executable puzzle-node"

[[ "$(id -u)" -eq 0 ]] || skip "needs root (network namespaces, a bridge); run as root"
command -v ip >/dev/null || skip "ip not found (apt-get install iproute2)"
readonly PROBE_NS="${NS_PREFIX}probe$$"
ip netns add "$PROBE_NS" 2>/dev/null ||
  skip "cannot create a network namespace here (no CAP_SYS_ADMIN, or a sandbox)"
ip netns del "$PROBE_NS"

command -v node >/dev/null || die "node (Node.js) not found: run tools/setup.sh"
command -v curl >/dev/null || die "curl not found (apt-get install curl)"
readonly MODULES="$REPO/tests/integration/node_modules"
[[ -d "$MODULES/@microsoft/signalr" && -d "$MODULES/jose" ]] ||
  die "npm modules missing in tests/integration: run tools/setup.sh (npm ci there)"
PG_BIN="${PUZZLE_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}"
[[ -n "$PG_BIN" && -x "$PG_BIN/pg_ctl" ]] ||
  die "PostgreSQL server binaries not found (apt-get install postgresql)"
readonly PG_BIN PG_USER="${PUZZLE_PG_USER:-postgres}"
id "$PG_USER" >/dev/null 2>&1 || die "no user '$PG_USER' to run PostgreSQL as"

# One run at a time: the names and the subnet are fixed.
exec 9>/run/lock/puzzle-netns-cluster.lock
flock -w 600 9 || die "another netns-cluster run holds the lock"

WORK="$(mktemp -d /tmp/puzzle-netns-cluster.XXXXXX)"
readonly WORK
chmod 755 "$WORK"
declare -A NODE_PID=()

cleanup() {
  local status=$?
  set +e
  for n in "${!NODE_PID[@]}"; do
    kill -KILL "${NODE_PID[$n]}" 2>/dev/null
    wait "${NODE_PID[$n]}" 2>/dev/null
  done
  if [[ -d "$WORK/pg/data" ]]; then
    runuser -u "$PG_USER" -- "$PG_BIN/pg_ctl" stop -w -m immediate -D "$WORK/pg/data" \
      >/dev/null 2>&1
  fi
  for n in "${NODES[@]}"; do
    ip netns del "${NS_PREFIX}$n" 2>/dev/null
    ip link del "pznsv$n" 2>/dev/null
  done
  ip link del "$BRIDGE" 2>/dev/null
  if [[ $status -ne 0 && $status -ne $SKIP_CODE ]]; then
    for n in "${NODES[@]}"; do
      [[ -f "$WORK/node$n.log" ]] || continue
      printf '\n=== node %s (last lines) ===\n' "$n" >&2
      tail -n 40 "$WORK/node$n.log" >&2
    done
    [[ -f "$WORK/pg/postgres.log" ]] && tail -n 20 "$WORK/pg/postgres.log" >&2
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Leftovers of a run that was killed before its trap ran.
for n in "${NODES[@]}"; do
  ip netns del "${NS_PREFIX}$n" 2>/dev/null || true
  ip link del "pznsv$n" 2>/dev/null || true
done
ip link del "$BRIDGE" 2>/dev/null || true

# -- the network ---------------------------------------------------------------
say "bridge $BRIDGE at $BRIDGE_ADDRESS/24, namespaces ${NS_PREFIX}1..3"
ip link add "$BRIDGE" type bridge
ip addr add "$BRIDGE_ADDRESS/24" dev "$BRIDGE"
ip link set "$BRIDGE" up
for n in "${NODES[@]}"; do
  ns="${NS_PREFIX}$n"
  ip netns add "$ns"
  ip link add "pznsv$n" type veth peer name eth0 netns "$ns"
  ip link set "pznsv$n" master "$BRIDGE" up
  ip -n "$ns" addr add "${SUBNET_PREFIX}.$n/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
done

# -- PostgreSQL on the bridge address ------------------------------------------
mkdir -p "$WORK/pg"
chown "$PG_USER" "$WORK/pg"
PG_PASSWORD="$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
readonly PG_PASSWORD
(umask 077 && printf '%s\n' "$PG_PASSWORD" >"$WORK/pg/password")
chown "$PG_USER" "$WORK/pg/password"
runuser -u "$PG_USER" -- "$PG_BIN/initdb" -D "$WORK/pg/data" -U puzzle \
  --pwfile="$WORK/pg/password" --auth=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 \
  >"$WORK/pg/initdb.log" 2>&1 || die "initdb failed: $(tail -n 5 "$WORK/pg/initdb.log")"
printf 'host all all %s.0/24 scram-sha-256\n' "$SUBNET_PREFIX" >>"$WORK/pg/data/pg_hba.conf"
readonly PG_PORT=5432
runuser -u "$PG_USER" -- "$PG_BIN/pg_ctl" start -w -t 60 -D "$WORK/pg/data" \
  -l "$WORK/pg/postgres.log" \
  -o "-p $PG_PORT -k $WORK/pg -c listen_addresses=$BRIDGE_ADDRESS -c fsync=off \
-c synchronous_commit=off -c full_page_writes=off" >/dev/null ||
  die "PostgreSQL did not start: $(tail -n 5 "$WORK/pg/postgres.log")"
say "PostgreSQL at $BRIDGE_ADDRESS:$PG_PORT"

# -- the nodes -------------------------------------------------------------------
JWT_SECRET="$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')"
readonly JWT_SECRET
WEB_ROOT="${PUZZLE_WEB_ROOT:-$REPO/web/public}"
for n in "${NODES[@]}"; do
  address="${SUBNET_PREFIX}.$n"
  seeds=()
  for m in "${NODES[@]}"; do
    [[ $m -eq $n ]] || seeds+=("\"${SUBNET_PREFIX}.$m:$CLUSTER_PORT\"")
  done
  mkdir -p "$WORK/data$n"
  PUZZLE_JWT_SECRET="$JWT_SECRET" PUZZLE_STORE_PASSWORD="$PG_PASSWORD" \
    ip netns exec "${NS_PREFIX}$n" "$NODE_BIN" \
    --http.bind="$address" --http.port="$HTTP_PORT" \
    --http.web-root="$WEB_ROOT" --store.data-dir="$WORK/data$n" \
    --store.url="postgresql://puzzle@$BRIDGE_ADDRESS:$PG_PORT/postgres" \
    --store.pool-size=3 --cluster.name=netns \
    --cluster.node-id="ns-node-$n" --cluster.port="$CLUSTER_PORT" \
    --cluster.advertise="$address" \
    --cluster.seeds="[$(IFS=,; printf '%s' "${seeds[*]}")]" \
    --cluster.heartbeat-interval=200ms --cluster.connection-timeout=1s \
    --cluster.down-after=2s \
    >"$WORK/node$n.log" 2>&1 &
  NODE_PID[$n]=$!
  # The first node migrates the empty database; the others follow once it
  # is ready (migrations also run under an advisory lock).
  deadline=$((SECONDS + READY_DEADLINE_S))
  until curl -fs -o /dev/null --max-time 2 "http://$address:$HTTP_PORT/health/ready"; do
    kill -0 "${NODE_PID[$n]}" 2>/dev/null || die "node $n exited before it was ready"
    ((SECONDS < deadline)) || die "node $n was not ready within ${READY_DEADLINE_S}s"
    sleep 0.2
  done
  say "node $n ready at http://$address:$HTTP_PORT"
done

# -- the client in the third namespace -----------------------------------------
cat >"$WORK/client.mjs" <<'EOF'
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { createRequire } from 'node:module';

const require = createRequire(process.env.NPM_MODULES + '/');
const signalR = require('@microsoft/signalr');
const jose = require('jose');
const prefix = process.env.SUBNET_PREFIX;
const port = process.env.HTTP_PORT;
const base = (n) => `http://${prefix}.${n}:${port}`;
const deadlineMs = 15_000;

async function call(method, url, token, body) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body) headers['content-type'] = 'application/json';
  const res = await fetch(url, { method, headers, body: body && JSON.stringify(body),
    signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  return { status: res.status, text, json: text ? JSON.parse(text) : undefined };
}

const iat = Math.floor(Date.now() / 1000);
const operator = await new jose.SignJWT({ name: 'Ops', roles: ['player', 'operator'] })
  .setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setSubject(crypto.randomUUID())
  .setIssuer('puzzle').setAudience('puzzle-clients').setIssuedAt(iat).setNotBefore(iat)
  .setExpirationTime(iat + 600).setJti(crypto.randomUUID())
  .sign(new TextEncoder().encode(process.env.PUZZLE_JWT_SECRET));

// Every node lists the three members up, at their own addresses.
const expected = ['1', '2', '3'].map((n) => `${prefix}.${n}:4370`).sort();
for (const n of [1, 2, 3]) {
  const until = Date.now() + deadlineMs;
  let list;
  for (;;) {
    const res = await call('GET', `${base(n)}/api/cluster/nodes`, operator);
    assert.equal(res.status, 200, res.text);
    list = res.json;
    const up = list.filter((m) => m.state === 'up');
    if (up.length === 3) break;
    assert.ok(Date.now() < until, `node ${n} sees three members up: ${res.text}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.deepEqual(list.map((m) => m.address).sort(), expected, JSON.stringify(list));
  assert.ok(list.every((m) => !m.address.startsWith('127.')), JSON.stringify(list));
  assert.equal(list.find((m) => m.this).nodeId, `ns-node-${n}`);
  const seen = list.map((m) => `${m.nodeId}@${m.address} ${m.state}`);
  console.log(`node ${n} sees: ${seen.join(', ')}`);
}

// A session created on node 1, played from here through node 3.
const guest = await call('POST', `${base(1)}/api/auth/guest`, null, { displayName: 'Nia' });
assert.ok(guest.status === 200 || guest.status === 201, guest.text);
const { token, userId } = guest.json;
const created = await call('POST', `${base(1)}/api/sessions`, token,
  { name: 'Across namespaces', imageId: 'aurora-lake', rows: 2, cols: 3, public: true });
assert.equal(created.status, 201, created.text);
const sessionId = created.json.sessionId ?? created.json.id;

const conn = new signalR.HubConnectionBuilder()
  .withUrl(`${base(3)}/puzzlehub`, { accessTokenFactory: () => token,
    transport: signalR.HttpTransportType.WebSockets })
  .configureLogging(signalR.LogLevel.Error).build();
await conn.start();
const state = await conn.invoke('JoinPuzzleSession', sessionId, userId);
const lock = await conn.invoke('LockPiece', sessionId, 1);
assert.equal(lock.granted, true, JSON.stringify(lock));
// Far from every correct spot: the bottom-right corner of the table.
const x = Math.round(state.table.width - 1.5 * state.pieceWidth);
const y = Math.round(state.table.height - 1.5 * state.pieceHeight);
const ack = await conn.invoke('MovePiece', sessionId, 1, x, y, 0);
assert.equal(ack.success, true, JSON.stringify(ack));
await conn.stop();

for (const n of [1, 2]) {
  const read = await call('GET', `${base(n)}/api/sessions/${sessionId}`, token);
  assert.equal(read.status, 200, read.text);
  const piece = read.json.pieces.find((p) => p.id === 1);
  assert.deepEqual([piece.x, piece.y], [x, y], `node ${n}: ${JSON.stringify(piece)}`);
  assert.equal(read.json.version, ack.version);
}
const sessions = await call('GET', `${base(2)}/api/cluster/sessions`, operator);
const entry = sessions.status === 200
  ? sessions.json.find((s) => (s.id ?? s.sessionId) === sessionId) : undefined;
console.log(`session ${sessionId} created on node 1, lives on ${entry?.node ?? '?'}, ` +
  `drop acknowledged through node 3 at version ${ack.version}, read back on nodes 1 and 2`);
EOF

say "client in ${NS_PREFIX}3"
env NPM_MODULES="$MODULES" SUBNET_PREFIX="$SUBNET_PREFIX" HTTP_PORT="$HTTP_PORT" \
  PUZZLE_JWT_SECRET="$JWT_SECRET" \
  ip netns exec "${NS_PREFIX}3" node "$WORK/client.mjs" ||
  die "the client's checks failed (above)"

grep -q "event=member_up node=ns-node-1 .*address=${SUBNET_PREFIX}.1:${CLUSTER_PORT}" \
  "$WORK/node3.log" || die "node 3 did not log node 1 up at ${SUBNET_PREFIX}.1:${CLUSTER_PORT}"
say "PASS: three nodes in three namespaces formed a cluster and served one session"
