// What every integration test needs: the real puzzle-node started on a free
// loopback port with a fresh data folder, bounded waits, a small fetch
// wrapper, and the geometry helpers that pick safe and correct spots for a
// piece. No fixed sleeps: every wait is for an event with a bounded timeout;
// the only loop with a pause is the readiness poll of GET /health/ready,
// which also ends when the process exits.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

export const VERBOSE = process.env.PUZZLE_TEST_VERBOSE === '1';

const READY_DEADLINE_MS = 20_000;
const READY_POLL_MS = 50;
export const CALL_TIMEOUT_MS = 10_000;
export const EVENT_TIMEOUT_MS = 5_000;
const STOP_TIMEOUT_MS = 15_000;

export const UUID_RE =
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const SETUP_HINT =
  'run tools/setup.sh (or tools/run-tests.sh), or `npm ci` in tests/integration';

export function findBinary() {
  const bin = process.env.PUZZLE_NODE_BIN;
  if (!bin) {
    return {
      problem: 'PUZZLE_NODE_BIN is not set: run this test through CTest ' +
        '(tools/run-tests.sh), which passes the path of the built puzzle-node',
    };
  }
  try {
    fs.accessSync(bin, fs.constants.X_OK);
  } catch (err) {
    return {
      problem: `PUZZLE_NODE_BIN=${bin} is not an executable file ` +
        `(${err.code}): build it first (tools/run-tests.sh builds the ci preset)`,
    };
  }
  return { bin };
}


// ---------------------------------------------------------------------------
// Small helpers.

export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export const codePoints = (s) => [...s].length;
export const brief = (value) => {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 160 ? `${text.slice(0, 160)}...` : text;
};

export async function http(method, url, { token, body } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
  });
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

// A list answer may be a bare array or wrapped ({items: [...]} and the like).
export function asList(json, ...keys) {
  if (Array.isArray(json)) return json;
  for (const key of keys) if (Array.isArray(json?.[key])) return json[key];
  return undefined;
}

// ---------------------------------------------------------------------------
// The node under test.

export class PuzzleNode {
  /// `args`: extra command-line options (e.g. `--mqtt.uri=...`), after the
  /// harness's own; a test may change `node.args` between restarts.
  /// `keepPort`: restarts listen on the first start's port (a browser page
  /// reconnects to the URL it was loaded from).
  /// `ca`: the PEM certificate the node serves TLS with (pass its
  /// --http.tls-cert/--http.tls-key in `args`): `base` is https and the
  /// readiness poll trusts that certificate.
  constructor(bin, { dataDir, webRoot, env, args = [], keepPort = false, ca }) {
    this.bin = bin;
    this.dataDir = dataDir;
    this.webRoot = webRoot;
    this.env = env;
    this.args = args;
    this.keepPort = keepPort;
    this.ca = ca;
    this.output = '';
    this.outputWaiters = [];
    this.child = null;
    this.exitStatus = null;
    this.starts = 0;
  }

  get running() {
    return this.child !== null && this.exitStatus === null;
  }

  async start() {
    this.starts += 1;
    if (!this.keepPort || this.port === undefined) this.port = await freePort();
    this.base = `${this.ca ? 'https' : 'http'}://127.0.0.1:${this.port}`;
    this.exitStatus = null;
    this._append(`\n--- start #${this.starts} on port ${this.port} ---\n`);
    const args = [
      '--http.bind=127.0.0.1',
      `--http.port=${this.port}`,
      `--store.data-dir=${this.dataDir}`,
      `--http.web-root=${this.webRoot}`,
      ...this.args,
    ];
    const child = spawn(this.bin, args, {
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.exited = new Promise((resolve) => {
      const done = (status) => {
        if (this.exitStatus === null && this.child === child) {
          this.exitStatus = status;
        }
        resolve(status);
      };
      child.once('error', (error) => done({ code: null, signal: null, error }));
      child.once('close', (code, signal) => done({ code, signal }));
    });
    for (const stream of [child.stdout, child.stderr]) {
      stream.setEncoding('utf8');
      stream.on('data', (chunk) => this._append(chunk));
    }
    await this._waitReady();
  }

  async _waitReady() {
    const deadline = Date.now() + READY_DEADLINE_MS;
    let last = 'no answer yet';
    for (;;) {
      if (this.exitStatus !== null) {
        throw new Error('puzzle-node exited before it was ready ' +
          `(${describeExit(this.exitStatus)}); its output:\n${this.tail()}`);
      }
      if (Date.now() > deadline) {
        throw new Error(`puzzle-node was not ready within ${READY_DEADLINE_MS} ms ` +
          `(GET /health/ready: ${last}); its output:\n${this.tail()}`);
      }
      try {
        const status = await this._probeReady();
        if (status === 200) return;
        last = `HTTP ${status}`;
      } catch (err) {
        last = err.cause?.code ?? err.message;
      }
      // Poll again soon, or stop at once when the process exits.
      await Promise.race([delay(READY_POLL_MS), this.exited]);
    }
  }

  /// The status of GET /health/ready (fetch cannot be given a CA).
  async _probeReady() {
    if (!this.ca) {
      const res = await fetch(`${this.base}/health/ready`,
        { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      return res.status;
    }
    return new Promise((resolve, reject) => {
      const req = https.get(`${this.base}/health/ready`,
        { ca: this.ca, timeout: 1_000 }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode));
          res.on('error', reject);
        });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
    });
  }

  /// Resolves when the node's output matches `re` (already or later).
  waitForOutput(re, ms = EVENT_TIMEOUT_MS) {
    if (re.test(this.output)) return Promise.resolve();
    return withTimeout(new Promise((resolve) => {
      this.outputWaiters.push({ re, resolve });
    }), ms, `puzzle-node to log ${re}`);
  }

  _append(chunk) {
    if (VERBOSE) process.stderr.write(chunk);
    this.output += chunk;
    if (this.output.length > 4_000_000) {
      this.output = this.output.slice(-2_000_000);
    }
    this.outputWaiters = this.outputWaiters.filter((w) => {
      if (!w.re.test(this.output)) return true;
      w.resolve();
      return false;
    });
  }

  tail(lines = 80) {
    return this.output.split('\n').slice(-lines).join('\n');
  }

  /// Sends `signal` and waits for the process to end.
  async stop(signal = 'SIGTERM') {
    if (!this.running) return this.exitStatus;
    this.child.kill(signal);
    return withTimeout(this.exited, STOP_TIMEOUT_MS,
      `puzzle-node to exit after ${signal}`);
  }

  async kill() {
    if (!this.running) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

export function describeExit({ code, signal, error }) {
  if (error) return `failed to start: ${error.message}`;
  return signal ? `killed by ${signal}` : `exit code ${code}`;
}

// ---------------------------------------------------------------------------
// Puzzle geometry.

export function correctSpot(state, id) {
  const row = Math.floor(id / state.cols);
  const col = id % state.cols;
  return {
    x: state.board.x + col * state.pieceWidth,
    y: state.board.y + row * state.pieceHeight,
  };
}

/// A table position for piece `id` that is neither its correct spot nor the
/// joining spot next to any of its true neighbours, well inside the table
/// (no clamping), and outside the board when there is room.
export function safeSpot(state, id) {
  const { rows, cols, pieceWidth: w, pieceHeight: h, table, board } = state;
  const tol = Number.isFinite(state.snapTolerance) && state.snapTolerance > 0
    ? state.snapTolerance : 0.02 * Math.min(w, h);
  const margin = Math.max(4 * tol, 0.25 * Math.min(w, h));
  const row = Math.floor(id / cols);
  const col = id % cols;
  const avoid = [correctSpot(state, id)];
  for (const [dr, dc] of [[-1, 0], [1, 0], [0, -1], [0, 1]]) {
    const r = row + dr;
    const c = col + dc;
    if (r < 0 || r >= rows || c < 0 || c >= cols) continue;
    const n = state.pieces[r * cols + c];
    avoid.push({ x: n.x - dc * w, y: n.y - dr * h });
  }
  const clear = (p) => avoid.every(
    (q) => Math.abs(p.x - q.x) > margin || Math.abs(p.y - q.y) > margin);
  const onBoard = (p) => p.x + w > board.x - w && p.x < board.x + (cols + 1) * w
    && p.y + h > board.y - h && p.y < board.y + (rows + 1) * h;
  let fallback;
  for (let y = h; y <= table.height - 2 * h; y += h / 2) {
    for (let x = w; x <= table.width - 2 * w; x += w / 2) {
      const p = { x: Math.round(x), y: Math.round(y) };
      if (!clear(p)) continue;
      if (!onBoard(p)) return p;
      fallback ??= p;
    }
  }
  assert.ok(fallback, `no free spot on the table for piece ${id}`);
  return fallback;
}
