// Rate limits end to end: each HTTP limiter answers a burst with 429 and
// Retry-After, and a client flooding moves over any transport gets
// RATE_LIMITED while another client in the same session carries on with its
// moves answered as before. The node runs with small limits so the bursts
// are short.
//
// Run through CTest (tests/integration/CMakeLists.txt). No fixed sleeps.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

import {
  CALL_TIMEOUT_MS, PuzzleNode, SETUP_HINT, UUID_RE, findBinary, http, safeSpot,
  withTimeout,
} from './support/harness.mjs';

const require = createRequire(import.meta.url);

const LIMITS = {
  'http-auth': 'fixed-window 3/1min',
  'http-write': 'sliding-window 4/1min/6',
  'http-read': 'token-bucket 5 1/10s',
  'http-upload': 'token-bucket 2 1/1min',
  'http-connect': 'token-bucket 8 1/10s',
  moves: 'token-bucket 10 5/1s',
};

function loadSignalR() {
  try {
    return { signalR: require('@microsoft/signalr') };
  } catch (err) {
    return { problem: `cannot load @microsoft/signalr (${err.code ?? err.message}): ${SETUP_HINT}` };
  }
}

const { signalR, problem } = loadSignalR();
const { bin, problem: binaryProblem } = findBinary();
const problems = [problem, binaryProblem].filter(Boolean);

function assertLimited(res, key) {
  assert.equal(res.status, 429, `${key}: HTTP ${res.status} ${res.text}`);
  assert.equal(res.json?.code, 'RATE_LIMITED');
  assert.match(res.json?.message ?? '', new RegExp(`rate-limits\\.${key}`));
  const wait = Number(res.headers.get('retry-after'));
  assert.ok(Number.isInteger(wait) && wait >= 1, `Retry-After: ${res.headers.get('retry-after')}`);
}

if (problems.length > 0) {
  test('integration test prerequisites', () => assert.fail(problems.join('\n')));
} else {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'puzzle-rl-'));
  const node = new PuzzleNode(bin, {
    dataDir: path.join(tmp, 'data'),
    webRoot: process.env.PUZZLE_WEB_ROOT ?? path.join(tmp, 'web'),
    env: { PUZZLE_JWT_SECRET: crypto.randomBytes(32).toString('hex') },
    args: Object.entries(LIMITS).map(([k, v]) => `--rate-limits.${k}=${v}`),
  });
  const connections = [];
  let owner;
  let sessionId;

  before(async () => {
    await node.start();
    const res = await http('POST', `${node.base}/api/auth/guest`, { body: { displayName: 'Owner' } });
    owner = res.json;
    const created = await http('POST', `${node.base}/api/sessions`, {
      token: owner.token,
      body: { name: 'limits', imageId: 'aurora-lake', rows: 4, cols: 4, public: true },
    });
    assert.equal(created.status, 201, created.text);
    sessionId = created.json?.sessionId ?? created.json?.id;
    assert.match(String(sessionId), UUID_RE);
  });

  after(async () => {
    for (const c of connections) await c.stop().catch(() => {});
    const status = await node.stop();
    assert.equal(status?.code, 0, 'puzzle-node exits 0 on SIGTERM');
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('a burst of guest logins gets 429 with Retry-After (http-auth)', async () => {
    // One login was spent in before().
    for (let i = 0; i < 2; ++i) {
      const ok = await http('POST', `${node.base}/api/auth/guest`, { body: { displayName: `g${i}` } });
      assert.ok(ok.status === 200 || ok.status === 201, ok.text);
    }
    assertLimited(await http('POST', `${node.base}/api/auth/guest`, { body: { displayName: 'x' } }),
      'http-auth');
  });

  test('a burst of reads gets 429 (http-read); health checks stay open', async () => {
    let last;
    for (let i = 0; i < 6; ++i) last = await http('GET', `${node.base}/api/sessions`);
    assertLimited(last, 'http-read');
    assert.equal((await http('GET', `${node.base}/health/ready`)).status, 200);
  });

  test('a burst of writes gets 429 (http-write)', async () => {
    // One write (the session) was spent in before().
    let last;
    for (let i = 0; i < 4; ++i) {
      last = await http('DELETE', `${node.base}/api/sessions/${crypto.randomUUID()}`,
        { token: owner.token });
    }
    assert.equal(last.status, 429, last.text);
    assertLimited(last, 'http-write');
  });

  test('a burst of uploads gets 429 (http-upload)', async () => {
    let last;
    for (let i = 0; i < 3; ++i) {
      last = await fetch(`${node.base}/api/images?name=x`, {
        method: 'POST',
        headers: { authorization: `Bearer ${owner.token}`, 'content-type': 'image/png' },
        body: Buffer.from('not a png'),
      });
      last = { status: last.status, headers: last.headers, text: await last.text() };
      last.json = JSON.parse(last.text);
    }
    assertLimited(last, 'http-upload');
  });

  test('a client flooding moves gets RATE_LIMITED; another keeps playing', async () => {
    const connect = async (user) => {
      const conn = new signalR.HubConnectionBuilder()
        .withUrl(`${node.base}/puzzlehub`, {
          accessTokenFactory: () => user.token,
          transport: signalR.HttpTransportType.WebSockets,
          skipNegotiation: true,
        })
        .configureLogging(signalR.LogLevel.None).build();
      connections.push(conn);
      await withTimeout(conn.start(), CALL_TIMEOUT_MS, 'connect');
      return conn;
    };
    const flooder = await connect(owner);
    const state = await flooder.invoke('JoinPuzzleSession', sessionId, owner.userId);
    const calm = await connect({ token: owner.token });
    await calm.invoke('JoinPuzzleSession', sessionId, owner.userId);

    // 30 lock calls at once against a bucket of 10: most are refused.
    const results = await Promise.allSettled(
      Array.from({ length: 30 }, () => flooder.invoke('LockPiece', sessionId, 0)));
    const refused = results.filter((r) => r.status === 'rejected');
    assert.ok(refused.length >= 15, `refused ${refused.length} of 30`);
    for (const r of refused) {
      assert.match(String(r.reason), /RATE_LIMITED: too many calls; retry in \d+ ms \(rate-limits\.moves\)/);
    }

    // The other connection's budget is its own: its grab and drop go through.
    const lock = await calm.invoke('LockPiece', sessionId, 5);
    assert.equal(lock.granted, true);
    const spot = safeSpot(state, 5);
    const move = await calm.invoke('MovePiece', sessionId, 5, spot.x, spot.y, 0);
    assert.equal(move.success, true);
  });
}
