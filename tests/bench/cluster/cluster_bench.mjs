#!/usr/bin/env node
// The cluster scenarios of the benchmarks (shared performance.md S4 and S7):
// three real puzzle-node processes on loopback sharing one PostgreSQL
// database, driven by raw `/ws` clients (npm `ws`) from this one process.
//
//   S4  a rebalance loses no moves, a crash is over quickly. 20 clients (spread
//       over the three nodes) drag their own piece at 20 Hz, every tenth send
//       is an acknowledged drop. The session is moved between the nodes again
//       and again (`POST /api/cluster/sessions/<id>/migrate`); per move: the
//       longest gap between acknowledgements a client saw around it, the
//       longest acknowledgement latency in that window, and the node's own
//       `pause_ms` (log line `event=session_migrated`). Every acknowledged drop
//       is checked: seen once by every client that stayed connected, versions
//       unique and increasing per sender, and stored (the final state has each
//       piece where its last acknowledged drop put it). Then the hosting node
//       is killed with SIGKILL, again and again (restarted in between):
//       recovery is the time from the kill to the first drop sent after it
//       and acknowledged, and to the moment every client had one (clients of
//       the killed node reconnect to a survivor and join again, as a page
//       behind a load balancer does).
//   S7  the added latency of a hop between nodes: the session lives on one node;
//       one mover per node drags at 20 Hz, observers on every node. Delivery
//       latency (send to PieceDragged) is grouped by the hops the event made
//       (0: mover and observer on the session's node, 1: one of them
//       elsewhere, 2: both). The peer in the same run is everyone on the
//       session's node.
//
//   node tests/bench/cluster/cluster_bench.mjs S4 S7 [--reps N] [--smoke]
//        [--pg-url URL] [--out DIR] [--json] [--migrations N] [--kills N]
//
// PostgreSQL: --pg-url, else PUZZLE_TEST_PG_URL, else PUZZLE_TEST_PG_DIR/url
// (the CTest fixture), else a private server started with
// tools/pg-test-server.sh for the run (and stopped after it). Each repetition
// gets a database of its own. PUZZLE_NODE_BIN names puzzle-node (default
// build/ci/cluster/puzzle-node).
//
// --smoke: tiny counts, seconds; fails (exit 1) when an acknowledged drop was
// lost, duplicated or reordered, a move or a failover did not happen, or a
// hop class got no delivery. Never on timings.
import { spawn, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../../..');
const NODE_BIN = process.env.PUZZLE_NODE_BIN || path.join(repo, 'build/ci/cluster/puzzle-node');

// -- arguments -----------------------------------------------------------------

const argv = process.argv.slice(2);
const opts = { reps: 3, smoke: false, pgUrl: '', out: '', json: false };
const scenarios = [];
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--smoke') opts.smoke = true;
  else if (a === '--reps') opts.reps = Number(argv[++i]);
  else if (a === '--pg-url') opts.pgUrl = argv[++i];
  else if (a === '--out') opts.out = argv[++i];
  else if (a === '--json') opts.json = true;
  else if (a === '--migrations') opts.migrations = Number(argv[++i]);
  else if (a === '--kills') opts.kills = Number(argv[++i]);
  else if (a === 'S4' || a === 'S7') scenarios.push(a);
  else {
    console.error(`cluster_bench: unknown argument ${a}`);
    process.exit(2);
  }
}
if (scenarios.length === 0) scenarios.push('S4', 'S7');
if (opts.smoke) opts.reps = 1;

// Sizes: the full run as performance.md says; the smoke run tiny.
const SIZE = opts.smoke
  ? { s4Clients: 6, migrations: 2, kills: 1, migrationGapMs: 700, s7Observers: 1, s7Seconds: 1.5 }
  : { s4Clients: 20, migrations: 10, kills: 3, migrationGapMs: 1500, s7Observers: 3, s7Seconds: 10 };
if (opts.migrations !== undefined) SIZE.migrations = opts.migrations;
if (opts.kills !== undefined) SIZE.kills = opts.kills;
const RATE_HZ = 20;
const TICK_MS = 1000 / RATE_HZ;
// Every tenth send of a client is a drop (acknowledged once durable).
const MOVE_EVERY = 10;
// Cluster timing of the runs. Grace period before a silent node is declared
// down = connection-timeout + down-after; failover cannot start before it.
const CLUSTER = { heartbeatMs: 100, connectionTimeoutMs: 500, downAfterMs: 500 };
const GRACE_MS = CLUSTER.connectionTimeoutMs + CLUSTER.downAfterMs;
// The window around a migration in which clients' gaps are attributed to it.
const WINDOW_BEFORE_MS = 200;
const WINDOW_AFTER_MS = 500;

const log = (...xs) => console.error('cluster_bench:', ...xs);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now();

function quantile(xs, q) {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const i = Math.min(v.length - 1, Math.max(0, Math.ceil(q * v.length) - 1));
  return v[i];
}
const median = (xs) => quantile(xs, 0.5);

async function waitUntil(what, ms, check, pollMs = 50) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms: ${what}`);
    await sleep(pollMs);
  }
}

/**
 * A free port below the kernel's ephemeral range (32768 and up here), so
 * that a node restarted on its old port does not find it taken by one of the
 * many outgoing connections of the run.
 */
function freePort() {
  const tryPort = (port) =>
    new Promise((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
  return (async () => {
    for (let i = 0; i < 200; i++) {
      const port = 20000 + crypto.randomInt(12000);
      if (await tryPort(port)) return port;
    }
    throw new Error('no free port in 20000..31999');
  })();
}

// -- PostgreSQL --------------------------------------------------------------------

let privatePgDir = '';
function pgServerUrl() {
  if (opts.pgUrl) return opts.pgUrl;
  if (process.env.PUZZLE_TEST_PG_URL) return process.env.PUZZLE_TEST_PG_URL;
  if (process.env.PUZZLE_TEST_PG_DIR) {
    const file = path.join(process.env.PUZZLE_TEST_PG_DIR, 'url');
    if (!existsSync(file)) throw new Error(`${file} missing: the fixture services.postgresql.start did not start the server`);
    return readFileSync(file, 'utf8').trim();
  }
  privatePgDir = mkdtempSync(path.join(os.tmpdir(), 'puzzle-bench-pg-'));
  log(`starting a private PostgreSQL in ${privatePgDir}`);
  return execFileSync(path.join(repo, 'tools/pg-test-server.sh'), ['start', privatePgDir], { encoding: 'utf8' }).trim().split('\n').pop();
}

function psql(url, sql) {
  return execFileSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-tAc', sql], { encoding: 'utf8', timeout: 30000 });
}

/** A fresh database on the server; the URL without password, and the password. */
function freshDatabase(serverUrl) {
  const name = `puzzle_bench_cl_${process.pid}_${crypto.randomBytes(3).toString('hex')}`;
  psql(serverUrl, `CREATE DATABASE ${name}`);
  const u = new URL(serverUrl);
  const password = decodeURIComponent(u.password);
  u.password = '';
  u.pathname = `/${name}`;
  return {
    name,
    url: u.href,
    password,
    drop() {
      try {
        psql(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } catch (err) {
        log(`cannot drop ${name}: ${err.message}`);
      }
    },
  };
}

// -- tokens ------------------------------------------------------------------------------

const SECRET = crypto.randomBytes(32).toString('hex');
const b64url = (x) => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x)).toString('base64url');
/** An HS256 token with the nodes' key (token_service's default issuer and audience). */
function signToken(name, roles) {
  const iat = Math.floor(Date.now() / 1000);
  const head = b64url({ alg: 'HS256', typ: 'JWT' });
  const body = b64url({ sub: crypto.randomUUID(), name, roles, iss: 'puzzle', aud: 'puzzle-clients', iat, nbf: iat, exp: iat + 3600, jti: crypto.randomUUID() });
  const sig = crypto.createHmac('sha256', SECRET).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}
const OPERATOR = signToken('Bench operator', ['player', 'operator']);

async function http(port, method, url, body, token = OPERATOR) {
  const res = await fetch(`http://127.0.0.1:${port}${url}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15000),
  });
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json };
}

// -- the nodes ---------------------------------------------------------------------------

// As in run.mjs: the node's defaults except the limits a benchmark from one
// address trips over.
const NODE_BENCH_ARGS = [
  '--http.bind=127.0.0.1',
  '--log.level=info',
  '--http.max-connections=300000',
  '--http.max-connections-per-address=0',
  '--rate-limits.drags=token-bucket 1000000 1000000/1s',
  '--rate-limits.moves=token-bucket 1000000 1000000/1s',
  '--rate-limits.session-calls=token-bucket 1000000 1000000/1s',
  '--rate-limits.http-connect=token-bucket 1000000 1000000/1s',
  '--rate-limits.http-auth=token-bucket 1000000 1000000/1s',
  '--rate-limits.http-write=token-bucket 1000000 1000000/1s',
  '--rate-limits.http-read=token-bucket 1000000 1000000/1s',
  '--rate-limits.close-after-refusals=0',
];

class Node {
  constructor(id, clusterPort, seeds, db, dataDir) {
    this.id = id;
    this.clusterPort = clusterPort;
    this.seeds = seeds;
    this.db = db;
    this.dataDir = dataDir;
    this.output = '';
    this.child = null;
  }

  args() {
    return [
      `--http.port=${this.port}`,
      `--store.data-dir=${this.dataDir}`,
      ...NODE_BENCH_ARGS,
      `--store.url=${this.db.url}`,
      '--store.pool-size=3',
      '--cluster.name=bench',
      `--cluster.node-id=${this.id}`,
      `--cluster.port=${this.clusterPort}`,
      `--cluster.seeds=[${this.seeds.map((s) => `"${s}"`).join(',')}]`,
      `--cluster.heartbeat-interval=${CLUSTER.heartbeatMs}ms`,
      `--cluster.connection-timeout=${CLUSTER.connectionTimeoutMs}ms`,
      `--cluster.down-after=${CLUSTER.downAfterMs}ms`,
    ];
  }

  get running() {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * Starts the process. A restart right after a SIGKILL can find its
   * cluster port still held by the dead process's closing connections
   * (TIME_WAIT; `event=cluster_listen_failed`): it then takes another port,
   * which the others learn from the membership table.
   */
  async start() {
    for (let attempt = 0; ; attempt++) {
      const from = this.output.length;
      try {
        return await this.startOnce();
      } catch (err) {
        if (attempt >= 3 || !/event=cluster_listen_failed/.test(this.output.slice(from))) throw err;
        this.clusterPort = await freePort();
        log(`${this.id}: cluster port busy after the kill, restarting on ${this.clusterPort}`);
      }
    }
  }

  async startOnce() {
    this.port = await freePort();
    const child = spawn(NODE_BIN, this.args(), {
      env: { ...process.env, PUZZLE_JWT_SECRET: SECRET, PUZZLE_STORE_PASSWORD: this.db.password },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.spawnError = null;
    child.once('error', (err) => {
      this.spawnError = err;
    });
    this.exited = new Promise((r) => child.once('close', r));
    for (const s of [child.stdout, child.stderr]) {
      s.setEncoding('utf8');
      s.on('data', (d) => {
        this.output += d;
        if (this.output.length > 8e6) this.output = this.output.slice(-4e6);
      });
    }
    await waitUntil(`${this.id} ready`, 30000, async () => {
      if (this.spawnError) throw new Error(`${this.id}: cannot start ${NODE_BIN}: ${this.spawnError.message}`);
      if (!this.running) throw new Error(`${this.id} exited (${this.child.exitCode ?? this.child.signalCode}): ${this.output.slice(-3000)}`);
      try {
        return (await fetch(`http://127.0.0.1:${this.port}/health/ready`)).status === 200;
      } catch {
        return false;
      }
    });
  }

  async kill() {
    if (!this.running) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  async stop() {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), 15000);
    await this.exited;
    clearTimeout(t);
  }

  /** `pause_ms` of every `event=session_migrated` line of `session`. */
  pauses(session) {
    const re = new RegExp(`event=session_migrated[^\\n]*session=${session}[^\\n]*pause_ms=(\\d+(?:\\.\\d+)?)`, 'g');
    return [...this.output.matchAll(re)].map((m) => Number(m[1]));
  }
}

class Cluster {
  constructor(db) {
    this.db = db;
    this.tmp = mkdtempSync(path.join(os.tmpdir(), 'puzzle-bench-cluster-'));
  }

  async start() {
    const ports = [await freePort(), await freePort(), await freePort()];
    const addr = (p) => `127.0.0.1:${p}`;
    this.nodes = ['n1', 'n2', 'n3'].map((id, i) => new Node(id, ports[i], ports.filter((_, j) => j !== i).map(addr), this.db, path.join(this.tmp, id)));
    // One after the other: the first start migrates the new database.
    for (const n of this.nodes) await n.start();
    await this.waitAllUp();
  }

  byId(id) {
    return this.nodes.find((n) => n.id === id);
  }

  /** Until every running node lists every running node up (by node id). */
  async waitAllUp() {
    const live = this.nodes.filter((n) => n.running);
    await waitUntil('every node to see the others up', 20000, async () => {
      for (const n of live) {
        const r = await http(n.port, 'GET', '/api/cluster/nodes');
        if (r.status !== 200) return false;
        const up = new Set(r.json.filter((m) => m.state === 'up').map((m) => m.nodeId));
        if (!live.every((m) => up.has(m.id))) return false;
      }
      return true;
    });
  }

  /** The running node that holds `session` (GET /api/cluster/sessions), or undefined. */
  async owner(session) {
    for (const n of this.nodes.filter((x) => x.running)) {
      const r = await http(n.port, 'GET', '/api/cluster/sessions');
      if (r.status !== 200 || !Array.isArray(r.json)) continue;
      const entry = r.json.find((s) => (s.id ?? s.sessionId) === session);
      const holder = entry && this.byId(entry.node);
      return holder?.running ? holder : undefined;
    }
    return undefined;
  }

  async migrate(session, target, via) {
    return http(via.port, 'POST', `/api/cluster/sessions/${session}/migrate`, { node: target.id });
  }

  async stop() {
    for (const n of this.nodes ?? []) await n.stop();
    rmSync(this.tmp, { recursive: true, force: true });
  }
}

// -- clients -------------------------------------------------------------------------------

/** A spot for piece `id` away from its correct spot and its neighbours' joining spots. */
function safeSpot(state, id, taken) {
  const { rows, cols, pieceWidth: w, pieceHeight: h, table, board } = state;
  const margin = 0.5 * Math.min(w, h);
  const row = Math.floor(id / cols);
  const col = id % cols;
  const avoid = [{ x: board.x + col * w, y: board.y + row * h }, ...taken];
  for (const [dr, dc] of [[-1, 0], [1, 0], [0, -1], [0, 1]]) {
    const r = row + dr;
    const c = col + dc;
    if (r < 0 || r >= rows || c < 0 || c >= cols) continue;
    const n = state.pieces[r * cols + c];
    avoid.push({ x: n.x - dc * w, y: n.y - dr * h });
  }
  // Taken spots (other benchmark pieces) are kept a few sides apart, so two
  // of them never sit at a joining offset.
  const clear = (p) => avoid.every((q) => Math.abs(p.x - q.x) > margin * (taken.includes(q) ? 6 : 1) || Math.abs(p.y - q.y) > margin * (taken.includes(q) ? 6 : 1));
  for (let y = h; y <= table.height - 3 * h; y += h / 2)
    for (let x = w; x <= table.width - 3 * w; x += w / 2) {
      const p = { x: Math.round(x), y: Math.round(y) };
      if (clear(p)) return p;
    }
  throw new Error(`no free spot for piece ${id}`);
}

// A send's sequence number rides in its position: x = spot.x + (seq % 32) / 8,
// exact in binary, a few pixels at most.
const SEQ_SPAN = 32;
const offsetOf = (seq) => (seq % SEQ_SPAN) / 8;

class Client {
  constructor(index, node, session) {
    this.index = index;
    this.node = node;
    this.session = session;
    this.token = signToken(`bench ${index}`, ['player']);
    this.nextId = 1;
    this.pending = new Map();
    this.seq = 0;
    this.acks = []; // {at, op, seq, latency, version}
    this.errors = []; // {at, op, seq, code}
    this.moveEvents = []; // {at, version, pieceId, x}
    this.dragEvents = []; // {at, pieceId, x}
    this.sentAt = new Map(); // seq -> send time (drags and drops)
    this.connectedThroughout = true;
    this.closedAt = null;
  }

  async connect(node = this.node) {
    this.node = node;
    const ws = new WebSocket(`ws://127.0.0.1:${node.port}/ws?access_token=${this.token}`, { perMessageDeflate: false });
    this.ws = ws;
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.on('error', () => {});
    ws.on('message', (data) => this.onMessage(data.toString()));
    ws.on('close', () => {
      if (this.ws !== ws) return;
      this.closedAt = now();
      this.connectedThroughout = false;
      for (const [, p] of this.pending) p.reject(new Error('connection closed'));
      this.pending.clear();
    });
    this.joined = false;
    try {
      this.state = await this.call('join', {});
    } catch (err) {
      this.close();
      throw err;
    }
    this.joined = true;
    return this.state;
  }

  get open() {
    return this.ws && this.ws.readyState === WebSocket.OPEN && this.joined;
  }

  call(type, fields) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ type, id, sessionId: this.session, ...fields }));
    });
  }

  onMessage(text) {
    const at = now();
    const m = JSON.parse(text);
    if (m.type === 'ack' || m.type === 'error') {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.type === 'ack') p.resolve(m.result, at);
      else p.reject(Object.assign(new Error(`${m.code}: ${m.message}`), { code: m.code }));
    } else if (m.type === 'event') {
      const d = m.data || {};
      if (m.event === 'PieceMoved') {
        const piece = d.pieceId ?? d.pieces?.[0]?.pieceId ?? d.pieces?.[0]?.id;
        const pos = d.pieces?.find((p) => (p.pieceId ?? p.id) === piece) ?? d;
        this.moveEvents.push({ at, version: d.version, pieceId: piece, x: pos.x });
      } else if (m.event === 'PieceDragged') {
        this.dragEvents.push({ at, pieceId: d.pieceId, x: d.x });
      }
    }
  }

  /** One scheduled send: a drag, or every MOVE_EVERY-th (phase by client) a drop. */
  tick() {
    if (!this.open || !this.spot) return;
    const seq = this.seq++;
    const op = (seq + this.index) % MOVE_EVERY === 0 ? 'move' : 'drag';
    const x = this.spot.x + offsetOf(seq);
    const sent = now();
    this.sentAt.set(seq, sent);
    if (op === 'move') this.lastMoveSent = { seq, x };
    const id = this.nextId++;
    this.pending.set(id, {
      resolve: (result) => {
        const at = now();
        this.acks.push({ at, op, seq, latency: at - sent, version: result?.version, x, success: result?.success });
      },
      reject: (err) => this.errors.push({ at: now(), op, seq, code: err.code ?? err.message }),
    });
    this.ws.send(JSON.stringify({ type: op, id, sessionId: this.session, pieceId: this.piece, x, y: this.spot.y, rotation: 0 }));
  }

  close() {
    const ws = this.ws;
    this.ws = null;
    ws?.terminate();
  }
}

/** `count` clients, each its own user (a player token signed with the nodes' key). */
async function connectClients(nodesFor, session, count) {
  const clients = [];
  for (let i = 0; i < count; i++) {
    const c = new Client(i, nodesFor(i), session);
    await c.connect();
    clients.push(c);
  }
  return clients;
}

/** Gives client i piece 2i (no two are neighbours) and a spot of its own. */
function assignPieces(clients) {
  const st = clients[0].state;
  const taken = [];
  for (const c of clients) {
    c.piece = 2 * c.index;
    if (c.piece >= st.cols) c.piece = 2 * st.cols + 2 * (c.index - Math.ceil(st.cols / 2));
    c.spot = safeSpot(st, c.piece, taken);
    taken.push(c.spot);
  }
}

/** Runs every client's tick at RATE_HZ (phase spread over the period) until stopped. */
function startTicking(clients) {
  let stopped = false;
  const t0 = now();
  const loops = clients.map(async (c, i) => {
    let next = t0 + (i * TICK_MS) / clients.length;
    while (!stopped) {
      const wait = next - now();
      if (wait > 0) await sleep(wait);
      if (stopped) break;
      c.tick();
      next += TICK_MS;
      // Behind by more than a period (e.g. the event loop stalled): skip, but
      // never burst.
      if (now() - next > TICK_MS) next = now();
    }
  });
  return async () => {
    stopped = true;
    await Promise.all(loops);
  };
}

async function drain(clients, ms = 5000) {
  await waitUntil('every answer to arrive', ms, () => clients.every((c) => c.pending.size === 0)).catch(() => {});
}

async function createSession(cluster, rows, cols) {
  const n = cluster.nodes[0];
  const r = await http(n.port, 'POST', '/api/sessions', { name: 'cluster bench', imageId: 'aurora-lake', rows, cols }, signToken('bench owner', ['player']));
  if (r.status !== 201) throw new Error(`POST /api/sessions: ${r.status} ${r.text}`);
  return r.json.sessionId ?? r.json.id;
}

// -- correctness -------------------------------------------------------------------------------

/**
 * Checks the acknowledged drops of `clients` (between `from` and `to`):
 * every one seen exactly once by every client connected throughout, versions
 * unique across senders and increasing per sender, and a final state that has
 * each piece where its last acknowledged drop (or a later drop) put it.
 */
function checkDrops(clients, finalState, { observers = clients } = {}) {
  if (!Array.isArray(finalState?.pieces)) throw new Error(`no final state to check: ${JSON.stringify(finalState)?.slice(0, 300)}`);
  const acked = [];
  for (const c of clients) for (const a of c.acks) if (a.op === 'move' && a.success !== false) acked.push({ c, ...a });
  let duplicated = 0;
  let reordered = 0;
  let lost = 0;
  let missingVersion = 0;
  const byVersion = new Map();
  for (const a of acked) {
    if (!Number.isFinite(a.version)) {
      missingVersion++;
      continue;
    }
    if (byVersion.has(a.version)) duplicated++;
    byVersion.set(a.version, a);
  }
  for (const c of clients) {
    const mine = c.acks.filter((a) => a.op === 'move' && Number.isFinite(a.version)).sort((a, b) => a.seq - b.seq);
    for (let i = 1; i < mine.length; i++) if (!(mine[i].version > mine[i - 1].version)) reordered++;
  }
  // Seen by every observer that never lost its connection: once, at the
  // sender's position; and per sender in send order.
  for (const o of observers.filter((x) => x.connectedThroughout)) {
    const seen = new Map();
    for (const e of o.moveEvents) {
      if (!byVersion.has(e.version)) continue;
      seen.set(e.version, (seen.get(e.version) ?? 0) + 1);
    }
    for (const [v, a] of byVersion) {
      const n = seen.get(v) ?? 0;
      if (n === 0) lost++;
      else if (n > 1) duplicated += n - 1;
      else {
        const e = o.moveEvents.find((x) => x.version === v);
        if (e.pieceId !== a.c.piece || e.x !== a.x) lost++;
      }
    }
    const lastSeqBySender = new Map();
    for (const e of o.moveEvents) {
      const a = byVersion.get(e.version);
      if (!a) continue;
      if ((lastSeqBySender.get(a.c.index) ?? -1) > a.seq) reordered++;
      lastSeqBySender.set(a.c.index, a.seq);
    }
  }
  // Stored: the final state holds each piece at its last acknowledged drop,
  // or at a later drop whose answer was lost with a crash.
  let notStored = 0;
  for (const c of clients) {
    const mine = c.acks.filter((a) => a.op === 'move' && a.success !== false);
    if (mine.length === 0) continue;
    const last = mine.reduce((a, b) => (b.seq > a.seq ? b : a));
    const p = finalState.pieces.find((x) => (x.id ?? x.pieceId) === c.piece);
    const laterSent = [...c.sentAt.keys()].filter((s) => s >= last.seq && (s + c.index) % MOVE_EVERY === 0).map((s) => c.spot.x + offsetOf(s));
    if (!p || !laterSent.includes(p.x)) notStored++;
  }
  return { acked: acked.length, lost, duplicated, reordered, notStored, missingVersion };
}

// -- S4 -------------------------------------------------------------------------------------------

/** Longest gap between consecutive acks of any client, and the longest ack latency, in [a, b]. */
function gapsIn(clients, a, b) {
  let gap = 0;
  let latency = 0;
  for (const c of clients) {
    const ats = c.acks.filter((x) => x.at >= a - 2 * TICK_MS && x.at <= b).map((x) => x.at).sort((x, y) => x - y);
    for (let i = 1; i < ats.length; i++) if (ats[i] >= a) gap = Math.max(gap, ats[i] - ats[i - 1]);
    for (const x of c.acks) if (x.at >= a && x.at <= b) latency = Math.max(latency, x.latency);
  }
  return { gap, latency };
}

async function scenarioS4(serverUrl, rep) {
  const db = freshDatabase(serverUrl);
  const cluster = new Cluster(db);
  const res = { rep, migrations: [], kills: [], errors: [] };
  try {
    await cluster.start();
    const session = await createSession(cluster, 25, 40);
    const clients = await connectClients((i) => cluster.nodes[i % 3], session, SIZE.s4Clients);
    assignPieces(clients);
    let owner = await waitUntil('the session to be live somewhere', 10000, () => cluster.owner(session));
    const stopTicking = startTicking(clients);
    await sleep(1000);

    // Planned moves.
    for (let m = 0; m < SIZE.migrations; m++) {
      const others = cluster.nodes.filter((n) => n !== owner);
      const target = others[m % others.length];
      const via = cluster.nodes[m % 3];
      const t0 = now();
      const r = await cluster.migrate(session, target, via);
      const t1 = now();
      const ok = r.status >= 200 && r.status < 300;
      res.migrations.push({ from: owner.id, to: target.id, via: via.id, status: r.status, answer: r.json ?? r.text, requestMs: t1 - t0, t0, t1 });
      if (!ok) {
        log(`S4 migrate ${owner.id} -> ${target.id}: ${r.status} ${r.text}`);
        if (r.status === 404 || r.status === 405) throw new Error(`POST /api/cluster/sessions/<id>/migrate answers ${r.status}: the operator API has no migrate route in this build`);
      } else owner = target;
      await sleep(SIZE.migrationGapMs);
    }
    await stopTicking();
    await drain(clients);
    const planned = clients.map((c) => ({ acks: c.acks.length }));
    for (const mg of res.migrations) Object.assign(mg, gapsIn(clients, mg.t0 - WINDOW_BEFORE_MS, mg.t1 + WINDOW_AFTER_MS));
    const pauses = cluster.nodes.flatMap((n) => n.pauses(session));
    res.nodePausesMs = pauses;
    const afterPlanned = await http(cluster.nodes[0].port, 'GET', `/api/sessions/${session}`);
    res.planned = checkDrops(clients, afterPlanned.json);
    res.planned.clientErrors = clients.reduce((s, c) => s + c.errors.length, 0);
    res.planned.errorCodes = [...new Set(clients.flatMap((c) => c.errors.map((e) => e.code)))];
    res.baselineGapMs = median(clients.flatMap((c) => {
      const ats = c.acks.map((a) => a.at).sort((a, b) => a - b);
      return ats.slice(1).map((t, i) => t - ats[i]);
    }));
    log(`S4 rep ${rep}: ${res.migrations.filter((x) => x.status < 300).length}/${res.migrations.length} moves, client gaps ${res.migrations.map((x) => Math.round(x.gap)).join(',')} ms, node pause_ms ${pauses.join(',')}; drops ${JSON.stringify(res.planned)}`);
    void planned;

    // Crashes: SIGKILL the owner, clients of the dead node reconnect to a survivor.
    for (let k = 0; k < SIZE.kills; k++) {
      owner = await waitUntil('the session to be live somewhere', 10000, () => cluster.owner(session));
      for (const c of clients) c.errors.length = 0;
      const restart = startTicking(clients);
      await sleep(1000);
      const victim = owner;
      const killedAt = now();
      await victim.kill();
      const survivors = cluster.nodes.filter((n) => n.running);
      const moved = clients.filter((c) => c.node === victim);
      // A page whose node died reconnects (through the load balancer) to a survivor.
      const reconnects = moved.map(async (c, i) => {
        c.close();
        await waitUntil('a reconnect to a survivor', 15000, async () => {
          try {
            await c.connect(survivors[i % survivors.length]);
            return true;
          } catch {
            return false;
          }
        }, 100);
      });
      await Promise.all(reconnects);
      // The first drop sent after the kill and acknowledged (one answered
      // before the kill may still be on its way back through a survivor).
      const firstAckAfter = (c) => c.acks.find((a) => a.op === 'move' && a.at - a.latency > killedAt)?.at;
      await waitUntil('every client to have a drop acknowledged after the kill', GRACE_MS + 15000, () => clients.every((c) => firstAckAfter(c) !== undefined), 20).catch((e) => res.errors.push(e.message));
      const firsts = clients.map(firstAckAfter).filter(Number.isFinite);
      const survivorsFirst = clients.filter((c) => !moved.includes(c)).map(firstAckAfter).filter(Number.isFinite);
      await sleep(500);
      await restart();
      await drain(clients);
      const newOwner = await cluster.owner(session);
      const reactivated = survivors.some((n) => new RegExp(`event=session_reactivated[^\\n]*session=${session}`).test(n.output));
      res.kills.push({
        victim: victim.id,
        newOwner: newOwner?.id,
        reactivatedLogged: reactivated,
        firstAckMs: Math.min(...firsts) - killedAt,
        survivorClientsFirstAckMs: Math.min(...survivorsFirst) - killedAt,
        allClientsMs: firsts.length === clients.length ? Math.max(...firsts) - killedAt : NaN,
        reconnectedClients: moved.length,
        errorsDuringOutage: clients.reduce((s, c) => s + c.errors.length, 0),
        errorCodes: [...new Set(clients.flatMap((c) => c.errors.map((e) => e.code)))],
        clientsWithoutAck: clients.filter((c) => firstAckAfter(c) === undefined).map((c) => `${c.index}@${c.node.id}${moved.includes(c) ? ' (reconnected)' : ''}`),
      });
      log(`S4 rep ${rep} kill ${victim.id}: first ack ${Math.round(res.kills.at(-1).firstAckMs)} ms, all ${Math.round(res.kills.at(-1).allClientsMs)} ms, now on ${newOwner?.id}`);
      // Back to three nodes for the next kill.
      await victim.start();
      await cluster.waitAllUp();
    }
    const final = await http(cluster.nodes[0].port, 'GET', `/api/sessions/${session}`);
    res.crash = checkDrops(clients, final.json, { observers: [] });
    for (const c of clients) c.close();
  } catch (err) {
    res.errors.push(err.message);
    log(`S4 rep ${rep}: ${err.stack || err}`);
    for (const n of cluster.nodes ?? []) if (n.output && !opts.smoke) log(`${n.id} tail:\n${n.output.split('\n').slice(-15).join('\n')}`);
    if (opts.smoke) for (const n of cluster.nodes ?? []) log(`${n.id} tail:\n${n.output.split('\n').slice(-30).join('\n')}`);
  } finally {
    await cluster.stop();
    saveLogs(cluster, `S4-${rep}`);
    db.drop();
  }
  return res;
}

/** With --out: every node's output, for a look at what the nodes logged. */
function saveLogs(cluster, name) {
  if (!opts.out) return;
  mkdirSync(opts.out, { recursive: true });
  for (const n of cluster.nodes ?? []) writeFileSync(path.join(opts.out, `${name}-${n.id}.log`), n.output);
}

// -- S7 -------------------------------------------------------------------------------------------

/**
 * One measurement: movers and observers placed by `placeOf(i)` (a node), the
 * session on `home`; delivery latencies grouped by hops.
 */
async function measureHops(cluster, session, home, place, seconds) {
  const movers = 3;
  const count = movers + 3 * SIZE.s7Observers;
  const clients = await connectClients((i) => place(i), session, count);
  assignPieces(clients);
  const moverClients = clients.slice(0, movers);
  // Observers only listen; movers only drag here (no drops: deliveries of
  // drags are what S7 times).
  for (const c of moverClients) c.tick = dragTick.bind(c);
  const stop = startTicking(moverClients);
  await sleep(seconds * 1000);
  await stop();
  await sleep(300);
  const byHops = { 0: [], 1: [], 2: [] };
  const warm = 500;
  for (const o of clients) {
    for (const e of o.dragEvents) {
      const mover = moverClients.find((m) => m.piece === e.pieceId);
      if (!mover || mover === o) continue;
      // The latest send of that mover whose position matches.
      const seqs = [...mover.sentAt.keys()].filter((s) => mover.spot.x + offsetOf(s) === e.x && mover.sentAt.get(s) <= e.at);
      if (seqs.length === 0) continue;
      const seq = Math.max(...seqs);
      const sent = mover.sentAt.get(seq);
      if (sent - mover.sentAt.get(0) < warm) continue;
      const hops = (mover.node !== home ? 1 : 0) + (o.node !== home ? 1 : 0);
      byHops[hops].push(e.at - sent);
    }
  }
  for (const c of clients) c.close();
  return byHops;
}

function dragTick() {
  if (!this.open || !this.spot) return;
  const seq = this.seq++;
  const x = this.spot.x + offsetOf(seq);
  this.sentAt.set(seq, now());
  this.ws.send(JSON.stringify({ type: 'drag', sessionId: this.session, pieceId: this.piece, x, y: this.spot.y, rotation: 0 }));
}

async function scenarioS7(serverUrl, rep) {
  const db = freshDatabase(serverUrl);
  const cluster = new Cluster(db);
  const res = { rep, errors: [] };
  try {
    await cluster.start();
    const session = await createSession(cluster, 25, 40);
    // Activate it (on the rendezvous winner): that node is `home`.
    const probe = new Client(999, cluster.nodes[0], session);
    await probe.connect();
    const home = await waitUntil('the session to be live somewhere', 10000, () => cluster.owner(session));
    probe.close();
    res.home = home.id;
    const seconds = SIZE.s7Seconds;
    // Side by side in one run: everyone on the session's node, then spread
    // over the three, twice (A B A B).
    const oneNode = { 0: [], 1: [], 2: [] };
    const spread = { 0: [], 1: [], 2: [] };
    for (let round = 0; round < (opts.smoke ? 1 : 2); round++) {
      const a = await measureHops(cluster, session, home, () => home, seconds);
      for (const k of [0, 1, 2]) oneNode[k].push(...a[k]);
      // One mover per node; observers round-robin over the three.
      const b = await measureHops(cluster, session, home, (i) => cluster.nodes[i % 3], seconds);
      for (const k of [0, 1, 2]) spread[k].push(...b[k]);
    }
    const stats = (xs) => ({ n: xs.length, p50: quantile(xs, 0.5), p99: quantile(xs, 0.99) });
    res.oneNode = stats(oneNode[0]);
    res.spread = { 0: stats(spread[0]), 1: stats(spread[1]), 2: stats(spread[2]) };
    res.addedPerHop = {
      p50: res.spread[1].p50 - res.spread[0].p50,
      p99: res.spread[1].p99 - res.spread[0].p99,
      p50Two: (res.spread[2].p50 - res.spread[0].p50) / 2,
      p99Two: (res.spread[2].p99 - res.spread[0].p99) / 2,
      p50VsOneNode: res.spread[1].p50 - res.oneNode.p50,
      p99VsOneNode: res.spread[1].p99 - res.oneNode.p99,
    };
    log(`S7 rep ${rep}: one node p50 ${res.oneNode.p50?.toFixed(3)} ms; spread 0/1/2 hops p50 ${[0, 1, 2].map((k) => res.spread[k].p50?.toFixed(3)).join('/')} p99 ${[0, 1, 2].map((k) => res.spread[k].p99?.toFixed(3)).join('/')}`);
  } catch (err) {
    res.errors.push(err.message);
    log(`S7 rep ${rep}: ${err.stack || err}`);
    for (const n of cluster.nodes ?? []) log(`${n.id} tail:\n${n.output.split('\n').slice(-15).join('\n')}`);
  } finally {
    await cluster.stop();
    saveLogs(cluster, `S7-${rep}`);
    db.drop();
  }
  return res;
}

// -- report ---------------------------------------------------------------------------------------

const f = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '–');
const ok = (b) => (b ? ' ✅' : ' ❌');

function reportS4(runs) {
  const migs = runs.flatMap((r) => r.migrations.filter((m) => m.status < 300));
  const gap = migs.map((m) => m.gap);
  const lat = migs.map((m) => m.latency);
  const pauses = runs.flatMap((r) => r.nodePausesMs ?? []);
  const kills = runs.flatMap((r) => r.kills);
  const sum = (k, part) => runs.reduce((s, r) => s + (r[part]?.[k] ?? 0), 0);
  const bad = (part) => sum('lost', part) + sum('duplicated', part) + sum('reordered', part) + sum('notStored', part);
  const lines = [];
  lines.push(`Planned moves: ${migs.length} of ${runs.reduce((s, r) => s + r.migrations.length, 0)} succeeded over ${runs.length} run(s) of ${SIZE.s4Clients} clients at ${RATE_HZ} Hz (every ${MOVE_EVERY}th send an acknowledged drop); ack gap between sends when nothing moves: median ${f(median(runs.map((r) => r.baselineGapMs)))} ms.`);
  lines.push('');
  lines.push('| per planned move | median | p99 | max | target |');
  lines.push('|---|---|---|---|---|');
  lines.push(`| longest gap between a client's acks around the move (ms) | ${f(median(gap))} | ${f(quantile(gap, 0.99))} | ${f(Math.max(...gap))} | p99 ≤ 200${ok(quantile(gap, 0.99) <= 200)} |`);
  lines.push(`| longest ack latency in that window (ms) | ${f(median(lat))} | ${f(quantile(lat, 0.99))} | ${f(Math.max(...lat))} | |`);
  lines.push(`| the node's pause_ms (frozen time) | ${f(median(pauses))} | ${f(quantile(pauses, 0.99))} | ${f(Math.max(...pauses))} | |`);
  lines.push(`| operator API call (request to answer, ms) | ${f(median(migs.map((m) => m.requestMs)))} | ${f(quantile(migs.map((m) => m.requestMs), 0.99))} | ${f(Math.max(...migs.map((m) => m.requestMs)))} | |`);
  lines.push('');
  lines.push(`Acknowledged drops during the moves: ${sum('acked', 'planned')}; lost ${sum('lost', 'planned')}, duplicated ${sum('duplicated', 'planned')}, reordered ${sum('reordered', 'planned')}, not stored ${sum('notStored', 'planned')}${ok(bad('planned') === 0)} (target 0); failed calls ${sum('clientErrors', 'planned')} (${[...new Set(runs.flatMap((r) => r.planned?.errorCodes ?? []))].join(', ') || 'none'}).`);
  lines.push('');
  const first = kills.map((k) => k.firstAckMs);
  const surv = kills.map((k) => k.survivorClientsFirstAckMs);
  const all = kills.map((k) => k.allClientsMs);
  lines.push(`Crashes: ${kills.length} SIGKILLs of the hosting node (restarted in between); heartbeat ${CLUSTER.heartbeatMs} ms, connection-timeout ${CLUSTER.connectionTimeoutMs} ms, down-after ${CLUSTER.downAfterMs} ms: the configured grace period before failover is ${GRACE_MS} ms of it.`);
  lines.push('');
  lines.push('| per crash (ms from SIGKILL) | median | p99 | max | target |');
  lines.push('|---|---|---|---|---|');
  lines.push(`| first drop sent after the kill and acknowledged (recovery) | ${f(median(first))} | ${f(quantile(first, 0.99))} | ${f(Math.max(...first))} | ≤ 2000${ok(quantile(first, 0.99) <= 2000)} |`);
  lines.push(`| … of which the configured grace period | ${GRACE_MS} | ${GRACE_MS} | ${GRACE_MS} | |`);
  lines.push(`| … by a client connected to a survivor (its node re-joined for it) | ${f(median(surv))} | ${f(quantile(surv, 0.99))} | ${f(Math.max(...surv))} | |`);
  const recovered = all.filter(Number.isFinite);
  lines.push(`| every client had a drop acknowledged again (incl. reconnects; ${recovered.length} of ${all.length} crashes) | ${f(median(recovered))} | ${f(quantile(recovered, 0.99))} | ${f(Math.max(...recovered))} | |`);
  const stuck = kills.filter((k) => k.clientsWithoutAck?.length);
  if (stuck.length) lines.push(`\nNot every client recovered after ${stuck.length} crash(es): ${stuck.map((k) => `killing ${k.victim}: ${k.clientsWithoutAck.join(', ')} (errors ${k.errorCodes.join(', ')})`).join('; ')}.`);
  lines.push('');
  lines.push(`Across the crashes: acknowledged drops ${sum('acked', 'crash')}, duplicated versions ${sum('duplicated', 'crash')}, reordered ${sum('reordered', 'crash')}, not in the final state ${sum('notStored', 'crash')}${ok(sum('duplicated', 'crash') + sum('reordered', 'crash') + sum('notStored', 'crash') === 0)}; re-activation logged by a survivor in ${kills.filter((k) => k.reactivatedLogged).length} of ${kills.length}.`);
  return lines.join('\n');
}

function reportS7(runs) {
  const med = (pick) => median(runs.map(pick));
  const lines = [];
  lines.push('| delivery of a drag (ms, send to PieceDragged) | samples | p50 | p99 |');
  lines.push('|---|---|---|---|');
  lines.push(`| everyone on the session's node (the peer) | ${runs.reduce((s, r) => s + (r.oneNode?.n ?? 0), 0)} | ${f(med((r) => r.oneNode?.p50), 3)} | ${f(med((r) => r.oneNode?.p99), 3)} |`);
  for (const k of [0, 1, 2]) {
    const what = ["mover and observer on the session's node (0 hops)", 'one of them on another node (1 hop)', 'both on other nodes (2 hops)'][k];
    lines.push(`| spread: ${what} | ${runs.reduce((s, r) => s + (r.spread?.[k]?.n ?? 0), 0)} | ${f(med((r) => r.spread?.[k]?.p50), 3)} | ${f(med((r) => r.spread?.[k]?.p99), 3)} |`);
  }
  const p50 = med((r) => r.addedPerHop?.p50);
  const p99 = med((r) => r.addedPerHop?.p99);
  lines.push('');
  lines.push(`Added per hop (1 hop − 0 hops, same run): p50 ${f(p50, 3)} ms${ok(p50 <= 0.5)} (≤ 0.5), p99 ${f(p99, 3)} ms${ok(p99 <= 2)} (≤ 2); from 2 hops (half of 2 − 0): p50 ${f(med((r) => r.addedPerHop?.p50Two), 3)}, p99 ${f(med((r) => r.addedPerHop?.p99Two), 3)}; 1 hop against everyone on one node: p50 ${f(med((r) => r.addedPerHop?.p50VsOneNode), 3)}, p99 ${f(med((r) => r.addedPerHop?.p99VsOneNode), 3)}; ratio 1 hop : one node at p50 ${f(med((r) => r.spread?.[1]?.p50 / r.oneNode?.p50), 2)}x.`);
  return lines.join('\n');
}

function smokeFailures(name, runs) {
  const bad = [];
  for (const r of runs) {
    bad.push(...r.errors.map((e) => `${name} rep ${r.rep}: ${e}`));
    if (name === 'S4') {
      const okMigs = r.migrations.filter((m) => m.status < 300).length;
      if (okMigs !== SIZE.migrations) bad.push(`S4: ${okMigs} of ${SIZE.migrations} moves succeeded`);
      if ((r.nodePausesMs ?? []).length !== okMigs) bad.push(`S4: ${(r.nodePausesMs ?? []).length} event=session_migrated lines with pause_ms for ${okMigs} moves`);
      for (const part of ['planned', 'crash']) {
        const c = r[part];
        if (!c) bad.push(`S4: no ${part} check`);
        else {
          if (!(c.acked > 0)) bad.push(`S4 ${part}: no acknowledged drop`);
          for (const k of ['lost', 'duplicated', 'reordered', 'notStored', 'missingVersion']) if (c[k] !== 0) bad.push(`S4 ${part}: ${k} ${c[k]}`);
        }
      }
      if (r.kills.length !== SIZE.kills) bad.push(`S4: ${r.kills.length} of ${SIZE.kills} crashes measured`);
      for (const k of r.kills) if (!Number.isFinite(k.allClientsMs)) bad.push(`S4: not every client recovered after killing ${k.victim}`);
    } else {
      if (!(r.oneNode?.n > 0)) bad.push('S7: no delivery with everyone on one node');
      for (const k of [0, 1, 2]) if (!(r.spread?.[k]?.n > 0)) bad.push(`S7: no delivery over ${k} hop(s)`);
    }
  }
  return bad;
}

// -- main -------------------------------------------------------------------------------------------

let failed = 0;
try {
  if (!existsSync(NODE_BIN)) throw new Error(`${NODE_BIN} not found: build puzzle-node (or set PUZZLE_NODE_BIN)`);
  const serverUrl = pgServerUrl();
  log(`puzzle-node ${NODE_BIN}; ${os.cpus().length} CPUs; load average ${os.loadavg()[0].toFixed(2)}`);
  const all = { date: new Date().toISOString(), args: argv.join(' '), cpus: os.cpus().length, cluster: CLUSTER, size: SIZE, startLoad: os.loadavg()[0] };
  for (const name of scenarios) {
    const runs = [];
    for (let rep = 0; rep < opts.reps; rep++) runs.push(await (name === 'S4' ? scenarioS4 : scenarioS7)(serverUrl, rep));
    all[name] = runs;
    if (opts.smoke) {
      const bad = smokeFailures(name, runs);
      if (bad.length) {
        failed++;
        console.error(`smoke ${name}: FAILED\n  ${bad.join('\n  ')}`);
      } else console.log(`smoke ${name}: ok`);
    }
    if (!opts.smoke || opts.json) console.log(`\n### ${name}\n\n${name === 'S4' ? reportS4(runs) : reportS7(runs)}\n`);
  }
  all.endLoad = os.loadavg()[0];
  if (opts.out) {
    mkdirSync(opts.out, { recursive: true });
    writeFileSync(path.join(opts.out, 'cluster.json'), JSON.stringify(all, (k, v) => (k === 'c' ? undefined : v), 1));
  }
  console.log(`load average at the start ${all.startLoad.toFixed(2)}, at the end ${all.endLoad.toFixed(2)}`);
} catch (err) {
  console.error(`cluster_bench: ${err.stack || err}`);
  failed++;
} finally {
  if (privatePgDir) {
    try {
      execFileSync(path.join(repo, 'tools/pg-test-server.sh'), ['stop', privatePgDir], { stdio: 'ignore' });
    } catch {
      // best effort: the folder is in /tmp
    }
  }
}
process.exit(failed ? 1 : 0);
