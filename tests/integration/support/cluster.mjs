// What the cluster tests share: N real puzzle-node processes on loopback,
// each with its own HTTP and cluster port and an explicit node id, on a
// fresh database of the fixture's PostgreSQL; an operator token for the
// operator API; SignalR clients with an event log; and polling with a
// deadline (never a fixed sleep) for every change of the cluster.
//
// Prerequisites come from CTest (label needs-services, fixture
// `postgresql`): PUZZLE_NODE_BIN and PUZZLE_TEST_PG_DIR (or, by hand,
// PUZZLE_TEST_PG_URL). A missing one is reported by `clusterPrerequisites`
// and fails the test with the reason.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import {
  PuzzleNode, SETUP_HINT, UUID_RE, VERBOSE, brief, findBinary, freePort, http,
} from './harness.mjs';
import { HubClient } from './hub_client.mjs';
import { testServerUrl } from './pg_server.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..', '..');
const require = createRequire(path.join(HERE, '..', 'package.json'));

// token_service's defaults (auth.issuer, auth.audience).
const ISSUER = 'puzzle';
const AUDIENCE = 'puzzle-clients';

/// The short cluster timings of the tests: a killed node is unreachable at
/// once (its links break) and down GRACE_MS after its last heartbeat.
export const TIMINGS = Object.freeze({
  heartbeatMs: 200,
  connectionTimeoutMs: 1_000,
  downAfterMs: 2_000,
});
export const GRACE_MS = TIMINGS.connectionTimeoutMs + TIMINGS.downAfterMs;
// Slack for a loaded 2-core machine on top of the configured times.
export const SLACK_MS = 3_000;
export const POLL_MS = 50;

function load(name) {
  try {
    return { module: require(name) };
  } catch (err) {
    return { problem: `cannot load ${name} (${err.code ?? err.message}): ${SETUP_HINT}` };
  }
}

/// Everything a cluster test needs, or `problem` naming what is missing.
export function clusterPrerequisites() {
  const bin = findBinary();
  const server = testServerUrl();
  const jose = load('jose');
  const signalR = load('@microsoft/signalr');
  return {
    bin: bin.bin,
    pgUrl: server.url,
    jose: jose.module,
    signalR: signalR.module,
    problem: bin.problem ?? server.problem ?? jose.problem ?? signalR.problem,
  };
}

export function psql(url, sql) {
  return execFileSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-tAc', sql],
    { encoding: 'utf8', timeout: 30_000 });
}

/// `url` pointing at database `db`, without its password, and that password.
export function storeUrl(url, db) {
  const u = new URL(url);
  const password = decodeURIComponent(u.password);
  u.password = '';
  u.pathname = `/${db}`;
  return { url: u.href, password };
}

/// Calls `probe` every `every` ms until it returns something other than
/// undefined, and returns that; after `ms` fails with `what` and the last
/// thing `describe` says about the state.
export async function pollUntil(what, ms, probe, { every = POLL_MS, describe } = {}) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const found = await probe();
      if (found !== undefined) return found;
      last = describe ? await describe() : undefined;
    } catch (err) {
      last = `error: ${err.message}`;
    }
    if (Date.now() > deadline) {
      assert.fail(`${what} within ${ms} ms${last === undefined ? '' : `; last: ${brief(last)}`}`);
    }
    await delay(every);
  }
}

/// A test wrapper that remembers a failure, so `after` can print the logs.
export function stepper() {
  const state = { failed: false };
  state.step = (test) => (name, fn) => test(name, async (t) => {
    try {
      await fn(t);
    } catch (err) {
      state.failed = true;
      throw err;
    }
  });
  return state;
}

// ---------------------------------------------------------------------------
// The cluster.

export class Cluster {
  /// `names`: the nodes' short names; node ids are `node-<name>`.
  /// `seeds`: 'first' (every other node seeds the first, which seeds none)
  /// or 'all' (every node seeds all the others).
  /// `args(name)`: extra options for one node.
  constructor(prereq, { label, names = ['a', 'b', 'c'], seeds = 'first', timings = TIMINGS,
    args = () => [] }) {
    this.prereq = prereq;
    this.label = label;
    this.names = names;
    this.seedMode = seeds;
    this.timings = timings;
    this.extraArgs = args;
    this.secret = crypto.randomBytes(32).toString('hex');
    this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), `puzzle-it-${label}-`));
    this.webRoot = process.env.PUZZLE_WEB_ROOT ?? path.join(REPO, 'web', 'public');
    this.dbName = `puzzle_it_${label}_${process.pid}_${crypto.randomBytes(3).toString('hex')}`;
    this.clusterName = `it-${crypto.randomBytes(3).toString('hex')}`;
    this.store = storeUrl(prereq.pgUrl, this.dbName);
    this.nodes = {};
    this.clusterAddress = {};
    this.clients = [];
    this.clientLog = [];
  }

  nodeId(name) {
    return `node-${name}`;
  }

  /// Creates the database and starts every node, one after the other (the
  /// first start migrates the new database), and waits for all to be up.
  async start() {
    psql(this.prereq.pgUrl, `CREATE DATABASE ${this.dbName}`);
    this.token = await this.operatorToken();
    for (const name of this.names) this.clusterAddress[name] = `127.0.0.1:${await freePort()}`;
    const [first] = this.names;
    for (const name of this.names) {
      const others = this.names.filter((n) => n !== name);
      const seedNames = this.seedMode === 'all' ? others : (name === first ? [] : [first]);
      const seeds = seedNames.map((n) => `"${this.clusterAddress[n]}"`);
      const t = this.timings;
      this.nodes[name] = new PuzzleNode(this.prereq.bin, {
        dataDir: path.join(this.tmp, name),
        webRoot: this.webRoot,
        keepPort: true,
        env: { PUZZLE_JWT_SECRET: this.secret, PUZZLE_STORE_PASSWORD: this.store.password },
        args: [
          `--store.url=${this.store.url}`, '--store.pool-size=3',
          `--cluster.name=${this.clusterName}`,
          `--cluster.node-id=${this.nodeId(name)}`,
          `--cluster.port=${this.clusterAddress[name].split(':')[1]}`,
          `--cluster.seeds=[${seeds.join(',')}]`,
          `--cluster.heartbeat-interval=${t.heartbeatMs}ms`,
          `--cluster.connection-timeout=${t.connectionTimeoutMs}ms`,
          `--cluster.down-after=${t.downAfterMs}ms`,
          ...this.extraArgs(name),
        ],
      });
    }
    for (const name of this.names) await this.nodes[name].start();
    for (const name of this.names) await this.waitAllUp(name);
  }

  /// Kills what still runs, drops the database, and prints the nodes' and
  /// clients' last lines when `failed`.
  async close(failed) {
    for (const c of this.clients) {
      try {
        await c.stop();
      } catch {
        // Its node is gone already: nothing to close.
      }
    }
    for (const name of this.names) await this.nodes[name]?.kill();
    if (failed && !VERBOSE) {
      for (const name of this.names) {
        process.stderr.write(`\n=== node ${name} output (last lines) ===\n` +
          `${this.nodes[name]?.tail(80)}\n`);
      }
      process.stderr.write(`=== SignalR client log ===\n${this.clientLog.slice(-40).join('\n')}\n`);
    }
    try {
      psql(this.prereq.pgUrl, `DROP DATABASE IF EXISTS ${this.dbName} WITH (FORCE)`);
    } catch (err) {
      process.stderr.write(`cannot drop ${this.dbName}: ${err.message}\n`);
    }
    fs.rmSync(this.tmp, { recursive: true, force: true });
  }

  async operatorToken() {
    const { jose } = this.prereq;
    const iat = Math.floor(Date.now() / 1000);
    return new jose.SignJWT({ name: 'Ops', roles: ['player', 'operator'] })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(crypto.randomUUID())
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(iat + 3600)
      .setJti(crypto.randomUUID())
      .sign(new TextEncoder().encode(this.secret));
  }

  base(name) {
    return this.nodes[name].base;
  }

  /// An operator call to `name`'s API.
  api(name, method, apiPath, body) {
    return http(method, `${this.base(name)}${apiPath}`, { token: this.token, body });
  }

  async members(name) {
    const res = await this.api(name, 'GET', '/api/cluster/nodes');
    assert.equal(res.status, 200, res.text);
    assert.ok(Array.isArray(res.json), res.text);
    return res.json;
  }

  /// Polls `name`'s member list until `check(list)` is not undefined.
  waitMembers(name, what, ms, check) {
    let last;
    return pollUntil(what, ms, async () => {
      last = await this.members(name);
      return check(last);
    }, { describe: () => last });
  }

  /// Waits until `name` sees every running node up (and nothing else up).
  waitAllUp(name, ms = this.timings.connectionTimeoutMs + SLACK_MS) {
    const running = this.names.filter((n) => this.nodes[n].running).map((n) => this.nodeId(n));
    return this.waitMembers(name, `node ${name} to see ${running.join(', ')} up`, ms, (l) => {
      const up = l.filter((m) => m.state === 'up').map((m) => m.nodeId).sort();
      return JSON.stringify(up) === JSON.stringify([...running].sort()) ? l : undefined;
    });
  }

  /// The incarnation `name` runs as now (from its own member list).
  async incarnation(name) {
    const self = (await this.members(name)).find((m) => m.this === true);
    assert.ok(self, `node ${name} lists itself`);
    return self.incarnation;
  }

  /// GET /api/cluster/sessions on `name`: every session with its owner.
  async sessions(name) {
    const res = await this.api(name, 'GET', '/api/cluster/sessions');
    assert.equal(res.status, 200, `GET /api/cluster/sessions on ${name}: ${res.text}`);
    assert.ok(Array.isArray(res.json), res.text);
    return res.json;
  }

  async sessionEntry(name, sessionId) {
    return (await this.sessions(name)).find((s) => (s.id ?? s.sessionId) === sessionId);
  }

  /// The short name of the node that holds `sessionId` (as `asking` sees it).
  async hostOf(sessionId, asking = this.names.find((n) => this.nodes[n].running)) {
    const entry = await this.sessionEntry(asking, sessionId);
    assert.ok(entry, `session ${sessionId} in /api/cluster/sessions of ${asking}`);
    const host = this.names.find((n) => this.nodeId(n) === entry.node);
    assert.ok(host, `session ${sessionId} on a known node: ${brief(entry)}`);
    return { host, entry };
  }

  migrate(name, sessionId, target) {
    return this.api(name, 'POST', `/api/cluster/sessions/${sessionId}/migrate`, { node: target });
  }

  drain(name, target) {
    return this.api(name, 'POST', `/api/cluster/nodes/${target}/drain`);
  }

  /// A guest identity, signed by `name` (every node shares the key).
  async guest(name, displayName) {
    const res = await http('POST', `${this.base(name)}/api/auth/guest`, { body: { displayName } });
    assert.ok(res.status === 200 || res.status === 201, `guest: ${res.text}`);
    assert.match(res.json?.userId ?? '', UUID_RE);
    return { token: res.json.token, userId: res.json.userId, displayName };
  }

  /// A session created over REST on `name`.
  async createSession(name, user, { rows = 3, cols = 4, title = 'Cluster play' } = {}) {
    const res = await http('POST', `${this.base(name)}/api/sessions`, {
      token: user.token,
      body: { name: title, imageId: 'aurora-lake', rows, cols, public: true },
    });
    assert.equal(res.status, 201, `POST /api/sessions on ${name}: ${res.text}`);
    const id = res.json?.sessionId ?? res.json?.id;
    assert.match(String(id), UUID_RE);
    return id;
  }

  /// A SignalR client of `user` connected to node `name`.
  async client(label, user, name) {
    const client = new HubClient(this.prereq.signalR, label, user, this.clientLog,
      { minLogLevel: this.prereq.signalR.LogLevel.Warning });
    this.clients.push(client);
    await client.connect(this.base(name));
    return client;
  }
}

/// Locks `pieceId` for `client` and drops it at (x, y); returns the
/// acknowledgement `{success, isCorrectlyPlaced, version}`.
export async function lockAndDrop(client, sessionId, pieceId, x, y) {
  const lock = await client.invoke('LockPiece', sessionId, pieceId);
  assert.equal(lock?.granted, true, `${client.label} LockPiece(${pieceId}): ${brief(lock)}`);
  const ack = await client.invoke('MovePiece', sessionId, pieceId, x, y, 0);
  assert.equal(ack?.success, true, `${client.label} MovePiece(${pieceId}): ${brief(ack)}`);
  assert.ok(Number.isInteger(ack.version), `MovePiece returns a version: ${brief(ack)}`);
  return ack;
}

/// The pieces of a `SessionState` by id: `{x, y, rotation, lockedBy}`.
export function piecesById(state) {
  return new Map(state.pieces.map((p) => [p.id, p]));
}
