#!/usr/bin/env node
// The scenario runner of the benchmarks (scenarios, method and bars
// in the shared performance.md). One command runs a scenario against the node
// and each peer in turn (A B A B ..., several repetitions), pins the server and
// the load generator to different CPUs (taskset), measures the machine's floor
// in the same run, and writes the results table into docs/benchmarks.md
// (between the scenario's markers) together with the exact commands and
// versions. Raw JSON of every run goes to --out.
//
//   tests/bench/run.sh S1            # or S2 S3 S5 S6 S8, several, or all
//   tests/bench/run.sh all --reps 3
//   tests/bench/run.sh S1 --smoke    # seconds, tiny sizes; asserts the tooling works
//   tests/bench/run.sh S2 --render   # rewrite the tables from --out's saved JSON
//
// Options: --reps N (default 2), --heavy-reps N (S2 and S8, the long ones;
// default: --reps), --out DIR (default build/bench/results),
// --smoke, --no-doc (do not touch docs/), --targets a,b (subset of
// node-ws,node-sio,node-signalr,ws-peer,sio-peer,mosquitto), --scale F (sizes and
// durations times F, for a busy machine), --quiet-wait S (wait up to S seconds
// for a 1-minute load average below 1 before measuring), --sizes a,b,c (S1's
// room sizes N instead of 2,8,32,64, for a quick comparison).
// Environment: PUZZLE_NODE_BIN, PUZZLE_LOAD_BIN (default: build/bench/...).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const NODE_BIN = process.env.PUZZLE_NODE_BIN || path.join(repo, 'build/bench/cluster/puzzle-node');
const LOAD_BIN = process.env.PUZZLE_LOAD_BIN || path.join(repo, 'build/bench/tests/bench/puzzle-load');
const DOC = path.join(repo, 'docs/benchmarks.md');
const NODELAY_LIB = process.env.PUZZLE_NODELAY_LIB || path.join(path.dirname(LOAD_BIN), 'libpuzzle-bench-nodelay.so');

// -- arguments ------------------------------------------------------------------

const argv = process.argv.slice(2);
const opts = { heavyReps: null, reps: 2, out: path.join(repo, 'build/bench/results'), smoke: false, doc: true, targets: null, scale: 1, quietWait: 0 };
const scenarios = [];
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--smoke') opts.smoke = true;
  else if (a === '--no-doc') opts.doc = false;
  else if (a === '--render') opts.render = true;
  else if (a === '--reps') opts.reps = Number(argv[++i]);
  else if (a === '--heavy-reps') opts.heavyReps = Number(argv[++i]);
  else if (a === '--out') opts.out = argv[++i];
  else if (a === '--targets') opts.targets = argv[++i].split(',');
  else if (a === '--scale') opts.scale = Number(argv[++i]);
  else if (a === '--sizes') opts.sizes = argv[++i].split(',').map(Number);
  else if (a === '--quiet-wait') opts.quietWait = Number(argv[++i]);
  else if (/^(S[1-8]|all|floor)$/.test(a)) scenarios.push(a);
  else {
    console.error(`run: unknown argument ${a}`);
    process.exit(2);
  }
}
if (scenarios.length === 0) scenarios.push('all');
const wanted = scenarios.includes('all') ? ['S1', 'S2', 'S3', 'S5', 'S6', 'S8'] : scenarios.filter((s) => s !== 'floor');
if (opts.heavyReps === null) opts.heavyReps = opts.reps;
if (opts.smoke) {
  opts.reps = 1;
  opts.heavyReps = 1;
  opts.doc = false;
}
mkdirSync(opts.out, { recursive: true });

const log = (...xs) => console.error('run:', ...xs);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const S = (x) => Math.max(1, Math.round(x * opts.scale));

// -- machine ------------------------------------------------------------------------

const cpus = os.cpus().length;
const haveTaskset = (() => {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
// Server on the last CPU, generator on CPU 0 (same CPU on a 1-CPU machine).
const SERVER_CPU = cpus > 1 ? cpus - 1 : 0;
const GEN_CPU = 0;
const pin = (cpu, cmd) => (haveTaskset ? ['taskset', '-c', String(cpu), ...cmd] : cmd);
// Descriptors a process of ours may open (the runner raises the soft limit to
// the hard one; a container may not let root raise the hard one).
const FD_LIMIT = (() => {
  try {
    return Number(execFileSync('bash', ['-c', 'ulimit -n 1048576 2>/dev/null || ulimit -n $(ulimit -Hn); ulimit -n'], { encoding: 'utf8' }).trim()) || 1024;
  } catch {
    return 1024;
  }
})();

function which(cmd) {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}
const MOSQUITTO = ['/usr/sbin/mosquitto', which('mosquitto')].find((p) => p && existsSync(p)) || '';

function loadAverage() {
  return os.loadavg()[0];
}

function versions() {
  const pkg = (name) => {
    try {
      return JSON.parse(readFileSync(path.join(here, 'node_modules', name, 'package.json'), 'utf8')).version;
    } catch {
      return 'not installed';
    }
  };
  const dpkg = (name) => {
    try {
      return execFileSync('dpkg-query', ['-W', '-f=${Version}', name], { encoding: 'utf8' });
    } catch {
      return '?';
    }
  };
  const cpu = (readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/) || [])[1] || '?';
  return {
    cpu: `${cpu} x ${cpus}`,
    kernel: os.release(),
    node: process.version,
    ws: pkg('ws'),
    'socket.io': pkg('socket.io'),
    mosquitto: MOSQUITTO ? dpkg('mosquitto') : 'not installed',
    caf: dpkg('libcaf-dev'),
    boost: dpkg('libboost-dev'),
    'puzzle-node': NODE_BIN,
  };
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

// -- processes ------------------------------------------------------------------------

/** Starts a server process; resolves once `ready()` says so. */
async function startProcess(cmd, { ready, env = {}, name }) {
  const child = spawn(cmd[0], cmd.slice(1), { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => {
    output += d;
    if (output.length > 100000) output = output.slice(-50000);
  });
  child.stderr.on('data', (d) => {
    output += d;
    if (output.length > 100000) output = output.slice(-50000);
  });
  const exited = new Promise((r) => child.on('exit', (code, sig) => r({ code, sig })));
  const deadline = Date.now() + 30000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited early (${child.exitCode}): ${output.slice(-2000)}`);
    if (await ready(output)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} not ready in 30 s: ${output.slice(-2000)}`);
    }
    await sleep(20);
  }
  return {
    child,
    pid: child.pid,
    output: () => output,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Runs the load generator pinned to its CPU; resolves to its JSON result. */
function runLoad(args, { timeoutMs = 600000 } = {}) {
  // Thousands of sockets: raise the descriptor limit (hard one too, as root).
  const cmd = pin(GEN_CPU, ['bash', '-c', 'ulimit -n 1048576 2>/dev/null || ulimit -n $(ulimit -Hn); exec "$@"', 'puzzle-load', LOAD_BIN, ...args]);
  return new Promise((resolve) => {
    const child = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => {
      err += d;
      if (err.length > 20000) err = err.slice(-10000);
    });
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(t);
      const line = out.trim().split('\n').pop() || '';
      let result;
      try {
        result = JSON.parse(line);
      } catch {
        result = { ok: false, error: `no result (exit ${code}): ${err.slice(-1500)}` };
      }
      // As one would type it (the runner also raises `ulimit -n` first).
      result.command = pin(GEN_CPU, [LOAD_BIN, ...args]).join(' ');
      result.busy_before = lastBusy;
      resolve(result);
    });
  });
}

async function httpJson(port, method, url, body, token) {
  const res = await fetch(`http://127.0.0.1:${port}${url}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : null };
}

// -- targets ----------------------------------------------------------------------------

// Limits the benchmark must not trip over: one client address opens thousands
// of connections and sends far above a player's budget. Everything else is the
// node's default configuration.
const NODE_BENCH_ARGS = [
  '--http.bind=127.0.0.1',
  '--log.level=warn',
  '--http.max-connections=300000',
  '--rate-limits.drags=token-bucket 1000000 1000000/1s',
  '--rate-limits.moves=token-bucket 1000000 1000000/1s',
  '--rate-limits.session-calls=token-bucket 1000000 1000000/1s',
  '--rate-limits.http-connect=token-bucket 1000000 1000000/1s',
  '--rate-limits.http-auth=token-bucket 1000000 1000000/1s',
  '--rate-limits.http-write=token-bucket 1000000 1000000/1s',
  '--rate-limits.http-read=token-bucket 1000000 1000000/1s',
  '--rate-limits.close-after-refusals=0',
];

function nodeCommand(port, dataDir) {
  return pin(SERVER_CPU, ['bash', '-c', 'ulimit -n 1048576 2>/dev/null || ulimit -n $(ulimit -Hn); exec "$@"', 'puzzle-node', NODE_BIN, `--http.port=${port}`, `--store.data-dir=${dataDir}`, ...NODE_BENCH_ARGS]);
}

async function startNode({ dataDir, env = {} } = {}) {
  const port = await freePort();
  const dir = dataDir || mkdtempSync(path.join(os.tmpdir(), 'puzzle-bench-'));
  const cmd = nodeCommand(port, dir);
  const proc = await startProcess(cmd, {
    name: 'puzzle-node',
    env,
    ready: async () => {
      try {
        const r = await fetch(`http://127.0.0.1:${port}/health/ready`);
        return r.status === 200;
      } catch {
        return false;
      }
    },
  });
  return {
    ...proc,
    port,
    dir,
    command: `${Object.entries(env).map(([k, v]) => `${k}=${v} `).join('')}${cmd.join(' ')}`,
    async stop() {
      await proc.stop();
      if (!dataDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Creates `count` sessions of rows x cols on the node; returns their ids. */
async function createSessions(port, count, rows, cols) {
  const guest = await httpJson(port, 'POST', '/api/auth/guest', { displayName: 'bench' });
  const token = guest.json.token;
  const ids = [];
  for (let i = 0; i < count; i++) {
    const r = await httpJson(port, 'POST', '/api/sessions', { name: `bench ${i}`, imageId: 'aurora-lake', rows, cols }, token);
    if (r.status !== 201) throw new Error(`POST /api/sessions: ${r.status} ${JSON.stringify(r.json)}`);
    ids.push(r.json.sessionId || r.headers.get('location').split('/').pop());
  }
  return ids;
}

async function startPeer(kind, { pieces = 1000, store = '' } = {}) {
  const script = path.join(here, 'peers', kind === 'ws-peer' ? 'ws_relay.mjs' : 'socketio_relay.mjs');
  const port = await freePort();
  const args = [script, '--port', String(port), '--pieces', String(pieces)];
  if (store) args.push('--store', store);
  const cmd = pin(SERVER_CPU, ['bash', '-c', 'ulimit -n 1048576 2>/dev/null || ulimit -n $(ulimit -Hn); exec "$@"', 'peer', process.execPath, ...args]);
  const proc = await startProcess(cmd, { name: kind, ready: async (out) => /listening \d+/.test(out) });
  return { ...proc, port, command: cmd.join(' ') };
}

async function startMosquitto() {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'puzzle-bench-mqtt-'));
  const conf = path.join(dir, 'mosquitto.conf');
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_type none\nmax_queued_messages 100000\n`);
  const cmd = pin(SERVER_CPU, ['bash', '-c', 'ulimit -n 1048576 2>/dev/null || ulimit -n $(ulimit -Hn); exec "$@"', 'mosquitto', MOSQUITTO, '-c', conf]);
  const proc = await startProcess(cmd, {
    name: 'mosquitto',
    ready: async () =>
      new Promise((resolve) => {
        const s = new Socket();
        s.once('connect', () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(false));
        s.connect(port, '127.0.0.1');
      }),
  });
  return {
    ...proc,
    port,
    command: cmd.join(' '),
    async stop() {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const PROTOCOL = { 'node-ws+nodelay': 'ws', 'node-ws': 'ws', 'node-sio': 'socketio', 'node-signalr': 'signalr', 'ws-peer': 'ws', 'sio-peer': 'socketio', mosquitto: 'mqtt' };

function available(targets) {
  return targets.filter((t) => {
    if (opts.targets && !opts.targets.includes(t)) return false;
    if (t.endsWith('+nodelay') && !existsSync(NODELAY_LIB)) {
      log(`${NODELAY_LIB} not built: ${t} skipped`);
      return false;
    }
    if (t === 'mosquitto' && !MOSQUITTO) {
      log('mosquitto is not installed: skipped (apt-get install mosquitto)');
      return false;
    }
    if ((t === 'ws-peer' || t === 'sio-peer') && !existsSync(path.join(here, 'node_modules', t === 'ws-peer' ? 'ws' : 'socket.io'))) {
      throw new Error(`npm modules missing in tests/bench: run tools/setup.sh`);
    }
    return true;
  });
}

/**
 * Starts target `t` with a room of `pieces` pieces (sessions created on the
 * node as rows x cols), runs `fn(server, sessionIds)`, stops it.
 */
async function withTarget(t, { sessions = 1, rows = 25, cols = 40 } = {}, fn) {
  let server;
  let ids;
  if (t.startsWith('node-')) {
    server = await startNode({ env: t.endsWith('+nodelay') ? { LD_PRELOAD: NODELAY_LIB } : {} });
    ids = await createSessions(server.port, sessions, rows, cols);
  } else if (t === 'mosquitto') {
    server = await startMosquitto();
    ids = ['bench'];
  } else {
    server = await startPeer(t, { pieces: rows * cols });
    ids = Array.from({ length: sessions }, (_, i) => `bench-${i}`);
  }
  try {
    return await fn(server, ids);
  } finally {
    await server.stop();
  }
}

// -- scenarios ----------------------------------------------------------------------------

const results = {};

/** Share of all CPUs busy over `ms` (from /proc/stat): between our runs, the others' load. */
async function busyShare(ms = 2000) {
  const read = () => {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + (f[4] || 0);
    return { idle, total: f.reduce((a, b) => a + b, 0) };
  };
  const a = read();
  await sleep(ms);
  const b = read();
  return b.total > a.total ? 1 - (b.idle - a.idle) / (b.total - a.total) : 0;
}

let lastBusy = NaN;
/**
 * Before each measured run: waits (up to --quiet-wait seconds in all) while
 * other processes keep more than 25 % of the machine busy, and records what
 * it saw, so a table can say how quiet its runs were.
 */
async function waitQuiet() {
  if (opts.smoke) return;
  lastBusy = await busyShare();
  while (lastBusy > 0.25 && quietBudget > 0) {
    log(`machine ${Math.round(lastBusy * 100)} % busy with other work: waiting (${Math.round(quietBudget)} s of --quiet-wait left)`);
    await sleep(10000);
    quietBudget -= 12;
    lastBusy = await busyShare();
  }
  busySeen.push(lastBusy);
}
let quietBudget = opts.quietWait;
const busySeen = [];

async function floor() {
  const r = await runLoad(['--scenario', 'floor', '--floor-cpus', `${GEN_CPU},${SERVER_CPU}`, '--floor-iterations', opts.smoke ? '200' : '20000']);
  results.floor = r;
  return r;
}

function roomArgs(t, server, ids, { clients, duration, warmup, op = 'drag', extra = [] }) {
  return [
    '--scenario', 'room', '--protocol', PROTOCOL[t], '--port', String(server.port), '--session', ids.join(','),
    '--clients', String(clients), '--rate', '20', '--op', op, '--warmup', String(warmup), '--duration', String(duration),
    '--server-pid', String(server.pid), ...extra,
  ];
}

async function scenarioS1() {
  const targets = available(['node-ws', 'ws-peer', 'node-sio', 'sio-peer', 'node-signalr', 'node-ws+nodelay']);
  const sizes = opts.sizes ?? (opts.smoke ? [2, 3] : [2, 8, 32, 64]);
  const duration = opts.smoke ? 1 : S(10);
  const warmup = opts.smoke ? 0.3 : 2;
  const runs = [];
  for (let rep = 0; rep < opts.reps; rep++)
    for (const n of sizes)
      for (const t of targets) {
        await waitQuiet();
        const r = await withTarget(t, {}, (server, ids) => runLoad(roomArgs(t, server, ids, { clients: n, duration, warmup })));
        r.target = t;
        r.n = n;
        r.rep = rep;
        r.server_command = `${t}`;
        log(`S1 ${t} N=${n} rep ${rep}: ack p50 ${r.ack?.p50} p99 ${r.ack?.p99} delivery p50 ${r.delivery?.p50} p99 ${r.delivery?.p99} us ${r.ok ? '' : r.error}`);
        runs.push(r);
      }
  return { runs, targets, sizes };
}

async function scenarioS2() {
  const targets = available(['node-ws', 'ws-peer', 'node-sio', 'sio-peer', 'mosquitto', 'node-ws+nodelay']);
  const sizes = opts.smoke ? [5] : [100, 1000, 5000].map((m) => S(m));
  // Deliveries per second to aim at; the publisher's rate is that / M.
  const deliveries = opts.smoke ? [100, 200] : [10e3, 20e3, 40e3, 80e3, 160e3, 320e3];
  const runs = [];
  for (let rep = 0; rep < opts.heavyReps; rep++)
    for (const m of sizes)
      for (const t of targets) {
        await waitQuiet();
        const steps = deliveries.map((d) => Math.max(1, Math.round(d / m)));
        const r = await withTarget(t, {}, (server, ids) =>
          runLoad([
            '--scenario', 'fanout', '--protocol', PROTOCOL[t], '--port', String(server.port), '--session', ids[0],
            '--topic', 'puzzle/bench/events', '--clients', String(m), '--rate-steps', steps.join(','),
            '--warmup', opts.smoke ? '0.3' : '1', '--duration', opts.smoke ? '1' : String(S(4)), '--drain', opts.smoke ? '1' : '2',
            '--server-pid', String(server.pid), '--connect-timeout', m >= 2000 ? '300' : '60',
          ]),
        );
        r.target = t;
        r.m = m;
        r.rep = rep;
        log(`S2 ${t} M=${m} rep ${rep}: max ok rate ${r.max_ok_rate_hz}/s, ${Math.round(r.best_delivered_per_server_cpu_s)} frames/cpu-s ${r.ok ? '' : r.error}`);
        runs.push(r);
      }
  return { runs, targets, sizes };
}

async function scenarioS3() {
  const targets = available(['node-ws', 'ws-peer', 'node-sio', 'sio-peer']);
  // Each connection is one descriptor at the server and one at the generator.
  const total = opts.smoke ? 50 : Math.min(S(20000), FD_LIMIT - 1000);
  const step = opts.smoke ? 25 : Math.max(1000, Math.round(total / 4));
  if (total < S(20000)) log(`S3: ${total} connections (descriptor limit ${FD_LIMIT})`);
  const runs = [];
  for (let rep = 0; rep < opts.reps; rep++)
    for (const t of targets) {
      await waitQuiet();
      // 100 idle clients per session, sessions of 20 pieces.
      const sessions = Math.max(1, Math.ceil(total / 100));
      const r = await withTarget(t, { sessions, rows: 4, cols: 5 }, (server, ids) =>
        runLoad([
          '--scenario', 'idle', '--protocol', PROTOCOL[t], '--port', String(server.port), '--session', ids.join(','),
          '--clients', String(total), '--step-conns', String(step), '--settle', opts.smoke ? '0.5' : '3',
          '--source-ips', total > 25000 ? '8' : '1', '--server-pid', String(server.pid), '--connect-concurrency', '200',
        ]),
      );
      r.target = t;
      r.rep = rep;
      log(`S3 ${t} rep ${rep}: ${r.connections} connections, ${Math.round(r.rss_per_connection)} B RSS each ${r.ok ? '' : r.error}`);
      runs.push(r);
    }
  return { runs, targets };
}

async function scenarioS5() {
  const targets = available(['node-ws', 'ws-peer']);
  const sizes = opts.smoke ? [[4, 5]] : [[25, 40], [50, 100]];
  const reps = opts.smoke ? 1 : Math.max(3, opts.reps * 2);
  const runs = [];
  // The stored sessions: the node's in its SQLite store, the peer's as JSON.
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'puzzle-bench-s5-'));
  const peerStore = mkdtempSync(path.join(os.tmpdir(), 'puzzle-bench-s5-peer-'));
  const stored = {};
  {
    const node = await startNode({ dataDir });
    for (const [rows, cols] of sizes) {
      const [id] = await createSessions(node.port, 1, rows, cols);
      stored[rows * cols] = id;
      const state = await httpJson(node.port, 'GET', `/api/sessions/${id}`);
      writeFileSync(path.join(peerStore, `${id}.json`), JSON.stringify({ pieces: state.json.pieces.map((p) => ({ id: p.id, x: p.x, y: p.y, rotation: p.rotation })) }));
    }
    await node.stop();
  }
  for (let rep = 0; rep < reps; rep++)
    for (const [rows, cols] of sizes)
      for (const t of targets) {
        await waitQuiet();
        const pieces = rows * cols;
        const port = await freePort();
        const serverCmd =
          t === 'node-ws'
            ? nodeCommand(port, dataDir)
            : pin(SERVER_CPU, [process.execPath, path.join(here, 'peers/ws_relay.mjs'), '--port', String(port), '--store', peerStore]);
        const r = await runLoad(['--scenario', 'startup', '--protocol', 'ws', '--port', String(port), '--session', stored[pieces], '--', ...serverCmd]);
        r.target = t;
        r.pieces = pieces;
        r.rep = rep;
        log(`S5 ${t} ${pieces} pieces rep ${rep}: listening ${r.listening_ms} ms, joined ${r.joined_ms} ms, first move ${r.first_move_ms} ms ${r.ok ? '' : r.error}`);
        runs.push(r);
      }
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(peerStore, { recursive: true, force: true });
  return { runs, targets, sizes: sizes.map(([r, c]) => r * c) };
}

async function scenarioS6() {
  if (opts.targets && !opts.targets.includes('node-ws')) return { runs: [] };
  const n = opts.smoke ? 2 : 32;
  const duration = opts.smoke ? 1 : S(10);
  const warmup = opts.smoke ? 0.3 : 2;
  const runs = [];
  for (let rep = 0; rep < opts.reps; rep++)
    for (const op of ['drag', 'move']) {
      await waitQuiet();
      const r = await withTarget('node-ws', {}, (server, ids) => runLoad(roomArgs('node-ws', server, ids, { clients: n, duration, warmup, op })));
      r.target = 'node-ws';
      r.kind = op === 'drag' ? 'S1 (no move log)' : 'moves, log on (SQLite WAL+FULL)';
      r.rep = rep;
      log(`S6 ${op} N=${n} rep ${rep}: ack p99 ${r.ack?.p99} delivery p99 ${r.delivery?.p99} us ${r.ok ? '' : r.error}`);
      runs.push(r);
    }
  // Throughput of the move log: clients in sessions of their own (no fan-out),
  // the per-client rate stepped up.
  const clients = opts.smoke ? 2 : 32;
  const rates = opts.smoke ? [20] : [50, 200, 625];
  const throughput = [];
  for (const rate of rates) {
    await waitQuiet();
    const r = await withTarget('node-ws', { sessions: clients }, (server, ids) =>
      runLoad([
        '--scenario', 'room', '--protocol', 'ws', '--port', String(server.port), '--session', ids.join(','), '--clients', String(clients),
        '--rate', String(rate), '--op', 'move', '--warmup', String(warmup), '--duration', String(opts.smoke ? 1 : S(6)), '--server-pid', String(server.pid),
      ]),
    );
    r.target = 'node-ws';
    r.isolated = true;
    r.offered_per_s = rate * clients;
    r.persisted_per_s = r.ok ? r.acked / (opts.smoke ? 1 : S(6)) : 0;
    log(`S6 throughput offered ${r.offered_per_s}/s: persisted ${Math.round(r.persisted_per_s)}/s, ack p99 ${r.ack?.p99} us`);
    throughput.push(r);
  }
  return { runs, throughput };
}

async function scenarioS8() {
  const targets = available(['node-ws', 'ws-peer', 'node-sio', 'sio-peer', 'node-ws+nodelay']);
  const n = opts.smoke ? 3 : 64;
  const slow = opts.smoke ? 2 : S(60);
  const duration = opts.smoke ? 2 : slow + 5;
  const runs = [];
  for (let rep = 0; rep < opts.heavyReps; rep++)
    for (const t of targets)
      for (const withSlow of [false, true]) {
        await waitQuiet();
        const extra = withSlow ? ['--slow-client', String(n - 1), '--slow-seconds', String(slow)] : [];
        const r = await withTarget(t, {}, (server, ids) =>
          runLoad(roomArgs(t, server, ids, { clients: n, duration: withSlow ? duration : opts.smoke ? 1 : S(10), warmup: opts.smoke ? 0.3 : 2, extra })),
        );
        r.target = t;
        r.slow = withSlow;
        r.rep = rep;
        log(`S8 ${t} slow=${withSlow} rep ${rep}: delivery p99 ${r.delivery?.p99} us, rss max ${Math.round((r.server_rss_max || 0) / 1048576)} MiB, slow cut at ${r.slow_cut_s} s ${r.ok ? '' : r.error}`);
        runs.push(r);
      }
  return { runs, targets };
}

// -- tables --------------------------------------------------------------------------------

const f1 = (x) => (Number.isFinite(x) ? (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(1)) : '–');
const ms = (us) => (Number.isFinite(us) ? f1(us / 1000) : '–');
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}x` : '–');
const verdict = (ok) => (ok === undefined ? '' : ok ? ' ✅' : ' ❌');
const valid = (runs) => runs.filter((r) => r.ok && !r.generator_saturated);

/** Share of the expected deliveries that arrived within the run and its drain. */
const keptUp = (r) => (r.expected_deliveries > 0 ? r.delivered / r.expected_deliveries : 1);

function agg(runs, pick) {
  return median(valid(runs).map(pick));
}

function tableS1(res) {
  const lines = [];
  for (const n of res.sizes) {
    lines.push(`\n**N = ${n}** (20 Hz each; ${n} movers; median of up to ${opts.reps} runs; ms)\n`);
    lines.push('| target | ack p50 | ack p99 | delivery p50 | delivery p99 | delivery p99.9 | server CPU-µs / delivered msg | kept up (delivered / expected) | generator CPU | runs valid |');
    lines.push('|---|---|---|---|---|---|---|---|---|---|');
    const by = (t) => res.runs.filter((r) => r.target === t && r.n === n);
    for (const t of res.targets) {
      const rs = by(t);
      lines.push(
        `| ${t} | ${ms(agg(rs, (r) => r.ack.p50))} | ${ms(agg(rs, (r) => r.ack.p99))} | ${ms(agg(rs, (r) => r.delivery.p50))} | ${ms(agg(rs, (r) => r.delivery.p99))} | ${ms(agg(rs, (r) => r.delivery.p999))} | ${f1(agg(rs, (r) => r.server_cpu_s_per_msg * 1e6))} | ${f1(agg(rs, keptUp) * 100)} % | ${f1(agg(rs, (r) => r.generator_cpu_share * 100))} % | ${valid(rs).length}/${rs.length} |`,
      );
    }
    const d = (t, q) => agg(by(t), (r) => r.delivery[q]);
    const a = (t, q) => agg(by(t), (r) => r.ack[q]);
    const rows = [];
    if (res.targets.includes('node-ws') && res.targets.includes('ws-peer')) {
      const p50 = d('node-ws', 'p50') / d('ws-peer', 'p50');
      const p99 = d('node-ws', 'p99') / d('ws-peer', 'p99');
      rows.push(`| node /ws : ws peer | ${ratio(d('node-ws', 'p50'), d('ws-peer', 'p50'))}${n === 64 ? verdict(p50 <= 1.0) + ' (≤ 1.0x)' : ''} | ${ratio(d('node-ws', 'p99'), d('ws-peer', 'p99'))}${n === 64 ? verdict(p99 <= 0.5) + ' (≤ 0.5x)' : ''} | ${ratio(a('node-ws', 'p50'), a('ws-peer', 'p50'))} | ${ratio(a('node-ws', 'p99'), a('ws-peer', 'p99'))} |`);
    }
    if (res.targets.includes('node-sio') && res.targets.includes('sio-peer')) {
      const p99 = d('node-sio', 'p99') / d('sio-peer', 'p99');
      rows.push(`| node Socket.IO : socket.io peer | ${ratio(d('node-sio', 'p50'), d('sio-peer', 'p50'))} | ${ratio(d('node-sio', 'p99'), d('sio-peer', 'p99'))}${n === 64 ? verdict(p99 <= 0.3) + ' (≤ 0.3x)' : ''} | ${ratio(a('node-sio', 'p50'), a('sio-peer', 'p50'))} | ${ratio(a('node-sio', 'p99'), a('sio-peer', 'p99'))} |`);
    }
    if (res.targets.includes('node-ws') && res.targets.includes('sio-peer')) {
      const p99 = d('node-ws', 'p99') / d('sio-peer', 'p99');
      rows.push(`| node /ws : socket.io peer | ${ratio(d('node-ws', 'p50'), d('sio-peer', 'p50'))} | ${ratio(d('node-ws', 'p99'), d('sio-peer', 'p99'))}${n === 64 ? verdict(p99 <= 0.3) + ' (≤ 0.3x)' : ''} | ${ratio(a('node-ws', 'p50'), a('sio-peer', 'p50'))} | ${ratio(a('node-ws', 'p99'), a('sio-peer', 'p99'))} |`);
    }
    if (rows.length) {
      lines.push('\n| ratio (ours : peer) | delivery p50 | delivery p99 | ack p50 | ack p99 |');
      lines.push('|---|---|---|---|---|');
      lines.push(...rows);
    }
  }
  return lines.join('\n');
}

function tableS2(res) {
  const lines = [];
  const passed = (st) => !st.dropped && !st.p99_over;
  for (const m of res.sizes) {
    const runs = res.runs.filter((r) => r.m === m);
    const rates = [...new Set(runs.flatMap((r) => (r.steps || []).map((st) => st.rate_hz)))].sort((a, b) => a - b);
    if (rates.length === 0) {
      lines.push(`\n**M = ${m}**: no run got its subscribers connected (${runs.map((r) => `${r.target}: ${r.error || 'no step'}`).join('; ')}).`);
      continue;
    }
    lines.push(`\n**M = ${m} subscribers**: delivered frames per server CPU-second at each step (the step's delivery p99 in ms; ✗ p99 > 100 ms or a drop; steps stop at the first ✗)\n`);
    lines.push(`| target | ${rates.map((r) => `${r}/s in = ${f1((r * m) / 1000)}k/s out`).join(' | ')} | highest passed step |`);
    lines.push(`|---|${rates.map(() => '---').join('|')}|---|`);
    const cell = (t, rate) => {
      const st = runs.filter((r) => r.target === t).flatMap((r) => r.steps || []).filter((x) => x.rate_hz === rate);
      if (st.length === 0) return null;
      return { fpc: median(st.map((x) => x.delivered_per_server_cpu_s)), p99: median(st.map((x) => x.delivery.p99)), ok: st.every(passed), sat: st.some((x) => x.generator_saturated) };
    };
    for (const t of res.targets) {
      const rs = runs.filter((r) => r.target === t);
      if (rs.length && rs.every((r) => !r.ok)) {
        lines.push(`| ${t} | ${rates.map(() => '–').join(' | ')} | not connected: ${rs[0].error} |`);
        continue;
      }
      const cells = rates.map((rate) => {
        const c = cell(t, rate);
        if (!c) return '';
        return `${f1(c.fpc / 1000)}k (${ms(c.p99)})${c.ok ? '' : ' ✗'}${c.sat ? ' gen. saturated' : ''}`;
      });
      const best = median(rs.map((r) => r.max_ok_rate_hz));
      lines.push(`| ${t} | ${cells.join(' | ')} | ${best > 0 ? `${best}/s` : 'none'} |`);
    }
    // Ratios at the highest step that both targets passed.
    const ratios = [];
    for (const [ours, peer, goal] of [['node-ws', 'ws-peer', 2], ['node-ws', 'sio-peer', 5], ['node-ws', 'mosquitto', 1], ['node-sio', 'sio-peer', 5]]) {
      if (!res.targets.includes(ours) || !res.targets.includes(peer)) continue;
      const both = rates.filter((rate) => cell(ours, rate)?.ok && cell(peer, rate)?.ok);
      if (both.length === 0) {
        ratios.push(`${ours} : ${peer} – (no step passed by both) ❌ (≥ ${goal}x)`);
        continue;
      }
      const rate = both[both.length - 1];
      const x = cell(ours, rate).fpc / cell(peer, rate).fpc;
      ratios.push(`${ours} : ${peer} ${x.toFixed(2)}x at ${rate}/s${verdict(x >= goal)} (≥ ${goal}x)`);
    }
    if (ratios.length) lines.push(`\nRatios of delivered frames per server CPU-second: ${ratios.join('; ')}.`);
  }
  return lines.join('\n');
}

function tableS3(res) {
  const lines = [];
  lines.push('| target | idle connections held | server RSS at the end (MiB) | RSS per idle connection (KB) | connections per GiB (extrapolated) | ratio ours : peer (per GiB) |');
  lines.push('|---|---|---|---|---|---|');
  const per = (t) => median(res.runs.filter((r) => r.target === t && r.connections > 0).map((r) => r.rss_per_connection));
  for (const t of res.targets) {
    const rs = res.runs.filter((r) => r.target === t);
    const p = per(t);
    let rat = '';
    if (t === 'node-ws' || t === 'node-sio') {
      const goals = [
        ['ws-peer', 1.5],
        ['sio-peer', 3],
      ];
      rat = goals
        .filter(([g]) => res.targets.includes(g))
        .map(([g, goal]) => `${g} ${ratio(per(g), p)}${verdict(per(g) / p >= goal)} (≥ ${goal}x)`)
        .join('; ');
      rat += `; ≤ 10 KB/conn${verdict(p <= 10240)}`;
    }
    lines.push(`| ${t} | ${f1(median(rs.map((r) => r.connections)))} | ${f1(median(rs.map((r) => r.rss / 1048576)))} | ${f1(p / 1024)} | ${f1((1 << 30) / p)} | ${rat} |`);
  }
  return lines.join('\n');
}

function tableS5(res) {
  const lines = [];
  lines.push('| target | pieces | exec → listening (ms) | → joined the stored session (ms) | → first acknowledged move (ms) | ratio ours : peer (first move) | bars |');
  lines.push('|---|---|---|---|---|---|---|');
  for (const pieces of res.sizes) {
    const by = (t) => res.runs.filter((r) => r.target === t && r.pieces === pieces && r.ok);
    const m = (t, k) => median(by(t).map((r) => r[k]));
    for (const t of res.targets) {
      let rat = '';
      let bars = '';
      if (t === 'node-ws') {
        if (res.targets.includes('ws-peer')) rat = `${ratio(m(t, 'first_move_ms'), m('ws-peer', 'first_move_ms'))}${verdict(m(t, 'first_move_ms') / m('ws-peer', 'first_move_ms') <= 0.5)} (≤ 0.5x)`;
        const moveBar = pieces >= 5000 ? 600 : 250;
        bars = `ready ≤ 100 ms${verdict(m(t, 'listening_ms') <= 100)}; first move ≤ ${moveBar} ms${verdict(m(t, 'first_move_ms') <= moveBar)}`;
      }
      lines.push(`| ${t} | ${pieces} | ${f1(m(t, 'listening_ms'))} | ${f1(m(t, 'joined_ms'))} | ${f1(m(t, 'first_move_ms'))} | ${rat} | ${bars} |`);
    }
  }
  return lines.join('\n');
}

function tableS6(res) {
  const lines = [];
  lines.push('| run (node /ws, N = 32, 20 Hz each) | ack p50 | ack p99 (= durability lag for moves) | delivery p50 | delivery p99 | runs valid |');
  lines.push('|---|---|---|---|---|---|');
  const kinds = [...new Set(res.runs.map((r) => r.kind))];
  for (const k of kinds) {
    const rs = res.runs.filter((r) => r.kind === k);
    lines.push(`| ${k} | ${ms(agg(rs, (r) => r.ack.p50))} | ${ms(agg(rs, (r) => r.ack.p99))} | ${ms(agg(rs, (r) => r.delivery.p50))} | ${ms(agg(rs, (r) => r.delivery.p99))} | ${valid(rs).length}/${rs.length} |`);
  }
  if (kinds.length === 2) {
    const base = agg(res.runs.filter((r) => r.kind === kinds[0]), (r) => r.delivery.p99);
    const logged = agg(res.runs.filter((r) => r.kind === kinds[1]), (r) => r.delivery.p99);
    const lag = agg(res.runs.filter((r) => r.kind === kinds[1]), (r) => r.ack.p99);
    lines.push(`\nS1 p99 growth with the log on: ${ratio(logged, base)}${verdict(logged <= base * 1.1)} (≤ 1.10x); durability lag p99 ${ms(lag)} ms${verdict(lag <= 100000)} (≤ 100 ms).`);
  }
  if (res.throughput?.length) {
    lines.push('\n| move log throughput: offered moves/s (32 clients, own sessions) | persisted (acknowledged) moves/s | ack p50 (ms) | ack p99 (ms) | generator CPU |');
    lines.push('|---|---|---|---|---|');
    for (const r of res.throughput) lines.push(`| ${r.offered_per_s} | ${f1(r.persisted_per_s)}${verdict(r.persisted_per_s >= 20000)} (≥ 20k/s) | ${ms(r.ack?.p50)} | ${ms(r.ack?.p99)} | ${f1((r.generator_cpu_share || 0) * 100)} % |`);
  }
  return lines.join('\n');
}

function tableS8(res) {
  const lines = [];
  lines.push('| target | delivery p99 without / with the slow client (ms) | growth | baseline kept up | server RSS max without / with (MiB) | slow client cut off after (s) | runs valid |');
  lines.push('|---|---|---|---|---|---|---|');
  for (const t of res.targets) {
    const base = res.runs.filter((r) => r.target === t && !r.slow);
    const slow = res.runs.filter((r) => r.target === t && r.slow);
    const b = agg(base, (r) => r.delivery.p99);
    const s = agg(slow, (r) => r.delivery.p99);
    const cut = median(slow.filter((r) => r.ok).map((r) => r.slow_cut_s));
    // A baseline that could not keep up (server saturated by the load or by
    // other work on the machine) cannot show what the slow client adds.
    const baseKept = agg(base, keptUp);
    const ours = t.startsWith('node-') && baseKept >= 0.95;
    lines.push(
      `| ${t} | ${ms(b)} / ${ms(s)} | ${ratio(s, b)}${ours ? verdict(s <= b * 1.1) + ' (< 1.10x)' : t.startsWith('node-') ? ' (baseline saturated: no verdict)' : ''} | ${f1(baseKept * 100)} % | ${f1(agg(base, (r) => r.server_rss_max / 1048576))} / ${f1(agg(slow, (r) => r.server_rss_max / 1048576))} | ${cut > 0 ? f1(cut) : 'not cut'} | ${valid(base).length + valid(slow).length}/${base.length + slow.length} |`,
    );
  }
  return lines.join('\n');
}

function floorText(fl) {
  if (!fl?.ok) return 'floor: not measured';
  return `Floor measured in this run: loopback TCP round trip (64 B) between CPU ${fl.cpus[0]} and ${fl.cpus[1]} p50 ${fl.loopback_rtt_cross_cpu.p50} µs, p99 ${fl.loopback_rtt_cross_cpu.p99} µs; on one CPU p50 ${fl.loopback_rtt_same_cpu.p50} µs; a syscall ${fl.syscall_ns} ns; write() of one 64 B frame ${fl.write_64b_ns_per_frame} ns, writev() of 16 frames ${fl.writev16_ns_per_frame} ns per frame.`;
}

function writeDoc(name, table, res) {
  if (!opts.doc) return;
  let doc = existsSync(DOC) ? readFileSync(DOC, 'utf8') : '# Benchmarks\n';
  const begin = `<!-- results:${name} begin -->`;
  const end = `<!-- results:${name} end -->`;
  const v = res.versions || versions();
  // Generator commands with ports, pids and session ids as placeholders.
  const normal = (c) =>
    c
      .replace(/^bash -c .*? exec "\$@" puzzle-load /, '')
      .replace(/(taskset -c \d+ )bash -c .*? exec "\$@" puzzle-load /, '$1')
      .replace(/--port \d+/, '--port PORT')
      .replace(/--server-pid \d+/, '--server-pid PID')
      .replace(/--session \S+/, (m) => (m.includes(',') ? '--session ID,ID,...' : '--session ID'))
      .replace(/ -- .*$/, ' -- SERVER COMMAND');
  const cmds = [...new Set(res.runs.concat(res.throughput || []).map((r) => r.command).filter(Boolean).map(normal))].slice(0, 14);
  const servers = [
    `node-*: ${nodeCommand('PORT', 'DIR').slice(0, haveTaskset ? 3 : 0).join(' ')} ${v['puzzle-node'] || NODE_BIN} --http.port=PORT --store.data-dir=DIR ${NODE_BENCH_ARGS.map((a) => (a.includes(' ') ? `'${a}'` : a)).join(' ')}`,
    `node-ws+nodelay: LD_PRELOAD=${NODELAY_LIB} and the same`,
    `ws-peer: ${pin(SERVER_CPU, ['node', 'tests/bench/peers/ws_relay.mjs', '--port', 'PORT', '--pieces', '1000']).join(' ')}`,
    `sio-peer: ${pin(SERVER_CPU, ['node', 'tests/bench/peers/socketio_relay.mjs', '--port', 'PORT', '--pieces', '1000']).join(' ')}`,
    `mosquitto: ${pin(SERVER_CPU, [MOSQUITTO || 'mosquitto', '-c', 'CONF']).join(' ')} (listener PORT 127.0.0.1, allow_anonymous, persistence false, max_queued_messages 100000)`,
  ];
  let block = [
    begin,
    meta
      ? `_Written by \`tests/bench/run.sh ${meta.args}\` on ${meta.date}; load average at the start ${Number(meta.startLoad).toFixed(2)}, at the end ${Number(meta.endLoad).toFixed(2)}; other work kept the machine ${meta.busy} busy just before the runs; server on CPU ${SERVER_CPU}, generator on CPU ${GEN_CPU}${haveTaskset ? ' (taskset)' : ' (not pinned: no taskset)'}; ${meta.reps} repetition(s) (S2, S8: ${meta.heavyReps}), targets interleaved A B A B; scale ${meta.scale}._`
      : `_Tables rendered by \`tests/bench/run.sh ${process.argv.slice(2).join(' ')}\` on ${new Date().toISOString()} from a saved run (see the raw JSON for its commands)._`,
    '',
    floorText(results.floor),
    '',
    table,
    '',
    '<details><summary>versions and exact commands</summary>',
    '',
    Object.entries(v)
      .map(([k, x]) => `- ${k}: ${x}`)
      .join('\n'),
    '',
    'Servers (each run starts a fresh one, with `ulimit -n` raised):',
    '',
    '```',
    ...servers,
    '```',
    '',
    'Load (`puzzle-load`; PORT, PID and session ids differ per run):',
    '',
    '```',
    ...cmds,
    '```',
    '</details>',
    end,
  ].join('\n');
  const i = doc.indexOf(begin);
  const j = doc.indexOf(end);
  if (!meta && i >= 0 && j > i) {
    // Re-rendering a saved run without metadata: keep the header it was written with.
    const old = doc.slice(i + begin.length, j).split('\n').find((l) => l.startsWith('_Written by'));
    if (old) block = block.replace(/^(<!-- results:\S+ begin -->\n)_Tables rendered by[^\n]*/, `$1${old}`);
  }
  if (i >= 0 && j > i) doc = doc.slice(0, i) + block + doc.slice(j + end.length);
  else doc += `\n${block}\n`;
  writeFileSync(DOC, doc);
}

function busyText() {
  if (busySeen.length === 0) return '?';
  return `${Math.round(median(busySeen) * 100)} % (median; max ${Math.round(Math.max(...busySeen) * 100)} %)`;
}

// -- main --------------------------------------------------------------------------------------

const startLoad = loadAverage();
const runners = { S1: [scenarioS1, tableS1], S2: [scenarioS2, tableS2], S3: [scenarioS3, tableS3], S5: [scenarioS5, tableS5], S6: [scenarioS6, tableS6], S8: [scenarioS8, tableS8] };
let failed = 0;
let meta = null;

function checkSmoke(name, res) {
  // The smoke run asserts that the tooling works, never speed.
  const all = res.runs.concat(res.throughput || []);
  const bad = [];
  if (all.length === 0) bad.push('no runs');
  for (const r of all) {
    if (!r.ok) bad.push(`${r.target}: ${r.error}`);
    else if (r.scenario === 'room' && !(r.sent > 0 && r.acked > 0 && (r.clients < 2 || r.isolated || r.delivered > 0))) bad.push(`${r.target}: nothing measured (${JSON.stringify(r)})`);
    else if (r.scenario === 'fanout' && !(r.steps?.length > 0 && r.steps[0].delivered > 0)) bad.push(`${r.target}: no fan-out step`);
    else if (r.scenario === 'idle' && !(r.connections > 0)) bad.push(`${r.target}: no idle connection`);
    else if (r.scenario === 'startup' && !(r.first_move_ms > 0)) bad.push(`${r.target}: no first move`);
  }
  if (bad.length) {
    failed++;
    console.error(`smoke ${name}: FAILED\n  ${bad.join('\n  ')}`);
  } else {
    console.log(`smoke ${name}: ok (${all.length} runs)`);
  }
}

try {
  log(`binaries: ${NODE_BIN}, ${LOAD_BIN}; ${cpus} CPUs; load average ${startLoad.toFixed(2)}`);
  for (const bin of [NODE_BIN, LOAD_BIN]) if (!existsSync(bin)) throw new Error(`${bin} not found: build it (cmake --build ... --target puzzle-node puzzle-load)`);
  if (!opts.render) {
    await waitQuiet();
    const fl = await floor();
    log(floorText(fl));
    if (!fl.ok) failed++;
  }
  for (const name of wanted) {
    const [run, table] = runners[name];
    busySeen.length = 0;
    let res;
    if (opts.render) {
      // Tables again from a saved run (e.g. after a change of the table code).
      res = JSON.parse(readFileSync(path.join(opts.out, `${name}.json`), 'utf8'));
      results.floor = res.floor;
      meta = res.meta || meta;
    } else {
      res = await run();
      meta = { args: process.argv.slice(2).join(' '), date: new Date().toISOString(), startLoad, endLoad: loadAverage(), busy: busyText(), reps: opts.reps, heavyReps: opts.heavyReps, scale: opts.scale };
      writeFileSync(path.join(opts.out, `${name}.json`), JSON.stringify({ floor: results.floor, versions: versions(), meta, ...res }, null, 1));
    }
    const text = table(res);
    if (opts.smoke) checkSmoke(name, res);
    else console.log(`\n## ${name}\n${text}\n`);
    writeDoc(name, text, res);
  }
} catch (e) {
  console.error(`run: ${e.stack || e}`);
  failed++;
}
process.exit(failed ? 1 : 0);
