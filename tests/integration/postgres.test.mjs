// puzzle-node on PostgreSQL: the real binary with store.url pointing at a
// real PostgreSQL server, driven by the real @microsoft/signalr client.
//
// - A session is created and a piece dropped; the node restarts and the
//   state is still there (read back from PostgreSQL).
// - The database password comes from PUZZLE_STORE_PASSWORD and never shows
//   in the node's output.
// - /health/ready answers 503 while a (private) PostgreSQL is stopped and
//   200 again once it is back, without restarting the node.
// - A node configured for a cluster (cluster.port) refuses SQLite with exit
//   code 2 and a message naming the key.
//
// Run through CTest (label needs-services, fixture `postgresql`), which sets
// PUZZLE_NODE_BIN and PUZZLE_TEST_PG_DIR (the fixture's server; its URL is
// in the file `url` there); or by hand with PUZZLE_TEST_PG_URL set. A
// missing prerequisite fails the test with the reason: it never skips.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import {
  CALL_TIMEOUT_MS, PuzzleNode, SETUP_HINT, UUID_RE, VERBOSE, brief, findBinary, http, safeSpot,
  withTimeout,
} from './support/harness.mjs';
import { testServerUrl } from './support/pg_server.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');
const PG_SCRIPT = path.join(REPO, 'tools', 'pg-test-server.sh');
// Bounds on waiting for the health check to change (it polls the store,
// which reconnects within store.connect-timeout).
const HEALTH_DEADLINE_MS = 30_000;
const HEALTH_POLL_MS = 200;


function loadSignalR() {
  try {
    return { signalR: createRequire(import.meta.url)('@microsoft/signalr') };
  } catch (err) {
    return { problem: `cannot load @microsoft/signalr (${err.code ?? err.message}): ${SETUP_HINT}` };
  }
}

/// Runs one SQL statement with psql on `url` (a postgresql:// URL).
function psql(url, sql) {
  return execFileSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-tAc', sql],
    { encoding: 'utf8', timeout: 30_000 });
}

/// `url` pointing at database `db`, without its password (it travels in
/// PUZZLE_STORE_PASSWORD), and that password.
function storeUrl(url, db) {
  const u = new URL(url);
  const password = decodeURIComponent(u.password);
  u.password = '';
  u.pathname = `/${db}`;
  return { url: u.href, password };
}

async function waitForHealth(base, wanted) {
  const deadline = Date.now() + HEALTH_DEADLINE_MS;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${base}/health/ready`, { signal: AbortSignal.timeout(10_000) });
      await res.arrayBuffer();
      if (res.status === wanted) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = err.cause?.code ?? err.message;
    }
    await new Promise((resolve) => setTimeout(resolve, HEALTH_POLL_MS));
  }
  throw new Error(`/health/ready did not answer ${wanted} within ${HEALTH_DEADLINE_MS} ms ` +
    `(last: ${last})`);
}

const bin = findBinary();
const server = testServerUrl();
const { signalR, problem: signalRProblem } = loadSignalR();
const problem = bin.problem ?? server.problem ?? signalRProblem;

if (problem) {
  test('puzzle-node on PostgreSQL: prerequisites', () => assert.fail(problem));
} else {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'puzzle-it-pg-'));
  const webRoot = process.env.PUZZLE_WEB_ROOT ?? path.join(REPO, 'web', 'public');
  const dbName = `puzzle_it_${process.pid}_${crypto.randomBytes(3).toString('hex')}`;
  const store = storeUrl(server.url, dbName);
  const node = new PuzzleNode(bin.bin ?? bin, {
    dataDir: path.join(tmp, 'data'),
    webRoot,
    env: {
      PUZZLE_JWT_SECRET: crypto.randomBytes(32).toString('hex'),
      PUZZLE_STORE_PASSWORD: store.password,
    },
    args: [`--store.url=${store.url}`, '--store.pool-size=2'],
  });
  let failed = false;
  const step = (name, fn) => test(name, async (t) => {
    try {
      await fn(t);
    } catch (err) {
      failed = true;
      throw err;
    }
  });

  describe('puzzle-node on PostgreSQL', () => {
    let token;
    let userId;
    let sessionId;
    let dropped;

    before(async () => {
      psql(server.url, `CREATE DATABASE ${dbName}`);
      await node.start();
    });

    after(async () => {
      await node.stop();
      if (failed && !VERBOSE) process.stderr.write(`node output:\n${node.tail(120)}\n`);
      try {
        psql(server.url, `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      } catch (err) {
        process.stderr.write(`cannot drop ${dbName}: ${err.message}\n`);
      }
      fs.rmSync(tmp, { recursive: true, force: true });
    });

    step('stores the schema in PostgreSQL, not in a SQLite file', async () => {
      await node.waitForOutput(/event=store_ready/);
      const versions = psql(server.url.replace(/\/[^/?]*(\?|$)/, `/${dbName}$1`),
        'SELECT COUNT(*) FROM schema_migrations').trim();
      assert.ok(Number(versions) >= 2, `schema_migrations rows: ${versions}`);
      assert.equal(fs.existsSync(path.join(tmp, 'data', 'puzzle.db')), false,
        'no SQLite file in the data folder');
      assert.ok(!node.output.includes(store.password), 'the password is not in the output');
      assert.match(node.output, /event=store_ready url=postgresql:\/\/puzzle@127\.0\.0\.1:/);
    });

    step('a move made over SignalR survives a restart of the node', async () => {
      const guest = await http('POST', `${node.base}/api/auth/guest`,
        { body: { displayName: 'Pat' } });
      assert.ok(guest.status === 200 || guest.status === 201, guest.text);
      ({ token, userId } = guest.json);
      const created = await http('POST', `${node.base}/api/sessions`, {
        token,
        body: { name: 'On PostgreSQL', imageId: 'aurora-lake', rows: 2, cols: 3, public: true },
      });
      assert.equal(created.status, 201, created.text);
      sessionId = created.json?.sessionId ?? created.json?.id;
      assert.match(String(sessionId), UUID_RE);

      const conn = new signalR.HubConnectionBuilder()
        .withUrl(`${node.base}/puzzlehub`, {
          accessTokenFactory: () => token,
          transport: signalR.HttpTransportType.WebSockets,
        })
        .configureLogging(signalR.LogLevel.Error)
        .build();
      await withTimeout(conn.start(), CALL_TIMEOUT_MS, 'SignalR connect');
      try {
        const state = await withTimeout(conn.invoke('JoinPuzzleSession', sessionId, userId),
          CALL_TIMEOUT_MS, 'JoinPuzzleSession');
        const spot = safeSpot(state, 1);
        const lock = await withTimeout(conn.invoke('LockPiece', sessionId, 1),
          CALL_TIMEOUT_MS, 'LockPiece');
        assert.equal(lock?.granted, true, brief(lock));
        const moved = await withTimeout(
          conn.invoke('MovePiece', sessionId, 1, spot.x, spot.y, 0), CALL_TIMEOUT_MS, 'MovePiece');
        assert.equal(moved?.success, true, brief(moved));
        dropped = { ...spot, version: moved.version };
      } finally {
        await conn.stop();
      }

      const stopped = await node.stop();
      assert.equal(stopped.code, 0, `clean exit, got ${JSON.stringify(stopped)}`);
      await node.start();
      const again = await http('GET', `${node.base}/api/sessions/${sessionId}`, { token });
      assert.equal(again.status, 200, again.text);
      const piece = again.json.pieces.find((p) => (p.id ?? p.pieceId) === 1)
        ?? again.json.pieces[1];
      assert.equal(piece.x, dropped.x, `piece 1 x after the restart: ${brief(piece)}`);
      assert.equal(piece.y, dropped.y, `piece 1 y after the restart: ${brief(piece)}`);
      assert.ok(again.json.version >= dropped.version,
        `version ${again.json.version} >= ${dropped.version}`);
    });
  });

  describe('puzzle-node while its PostgreSQL goes away and comes back', () => {
    // A private server: stopping the fixture's would break other tests.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'puzzle-it-pgdown-'));
    fs.chmodSync(dir, 0o755);
    let own;
    let downNode;

    before(async () => {
      const url = execFileSync(PG_SCRIPT, ['start', dir], { encoding: 'utf8', timeout: 120_000 })
        .trim();
      own = storeUrl(url, 'postgres');
      downNode = new PuzzleNode(bin.bin ?? bin, {
        dataDir: path.join(dir, 'node-data'),
        webRoot,
        env: { PUZZLE_STORE_PASSWORD: own.password },
        args: [`--store.url=${own.url}`, '--store.connect-timeout=2s'],
      });
      await downNode.start();
    });

    after(async () => {
      if (downNode) await downNode.stop();
      execFileSync(PG_SCRIPT, ['stop', dir], { timeout: 60_000 });
    });

    step('/health/ready is 503 while the database is down and 200 once it is back', async () => {
      await waitForHealth(downNode.base, 200);
      execFileSync(PG_SCRIPT, ['halt', dir], { timeout: 60_000 });
      await waitForHealth(downNode.base, 503);
      execFileSync(PG_SCRIPT, ['start', dir], { timeout: 120_000 });
      await waitForHealth(downNode.base, 200);
      const guest = await http('POST', `${downNode.base}/api/auth/guest`,
        { body: { displayName: 'Back' } });
      assert.ok(guest.status === 200 || guest.status === 201, guest.text);
      const created = await http('POST', `${downNode.base}/api/sessions`, {
        token: guest.json.token,
        body: { name: 'After the outage', imageId: 'aurora-lake', rows: 2, cols: 2 },
      });
      assert.equal(created.status, 201, `a write after the outage: ${created.text}`);
    });
  });

  test('a node configured for a cluster refuses SQLite (exit code 2, names the key)',
    async () => {
      const child = spawn(bin.bin ?? bin, [
        '--http.port=0', `--store.url=sqlite:${path.join(tmp, 'lonely.db')}`,
        '--cluster.port=4370',
      ], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (chunk) => { stderr += chunk; });
      const code = await withTimeout(new Promise((resolve) => child.once('close', resolve)),
        CALL_TIMEOUT_MS, 'puzzle-node to exit');
      assert.equal(code, 2, stderr);
      assert.match(stderr, /cluster\.port: more than one node needs a shared PostgreSQL store/);
    });
}
