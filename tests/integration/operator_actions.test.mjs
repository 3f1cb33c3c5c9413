// The operator API's actors, actions and audit on one node (SQLite), and
// puzzle-ctl against it (docs/operators.md): a real puzzle-node, a real
// @microsoft/signalr player, operator tokens minted with jose (HS256, the
// node's secret), and the built puzzle-ctl run as a subprocess.
//
// Run through CTest (tests/integration/CMakeLists.txt). No fixed sleeps:
// conditions are polled with a deadline.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

import {
  CALL_TIMEOUT_MS, PuzzleNode, SETUP_HINT, UUID_RE, findBinary, http, safeSpot, withTimeout,
} from './support/harness.mjs';

const require = createRequire(import.meta.url);

function loadModules() {
  try {
    return { jose: require('jose'), signalR: require('@microsoft/signalr') };
  } catch (err) {
    return {
      problem: `cannot load jose, @microsoft/signalr (${err.code ?? err.message}): ${SETUP_HINT}`,
    };
  }
}

const { jose, signalR, problem } = loadModules();
const { bin, problem: binaryProblem } = findBinary();
// puzzle-ctl is built next to puzzle-node: <build>/tools/puzzle-ctl/puzzle-ctl.
const ctlBin = process.env.PUZZLE_CTL_BIN
  ?? (bin ? path.join(path.dirname(bin), '..', 'tools', 'puzzle-ctl', 'puzzle-ctl') : undefined);
const ctlProblem = ctlBin && fs.existsSync(ctlBin) ? undefined
  : `puzzle-ctl not found (${ctlBin}); build the puzzle-ctl target`;
const problems = [problem, binaryProblem, ctlProblem].filter(Boolean);

const SECRET = crypto.randomBytes(32).toString('hex');
const NODE_ID = 'ops-node-1';
const POLL_DEADLINE_MS = 10_000;

async function mint(name, roles) {
  const sub = crypto.randomUUID();
  const iat = Math.floor(Date.now() / 1000);
  const token = await new jose.SignJWT({ name, roles })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub).setIssuer('puzzle').setAudience('puzzle-clients')
    .setIssuedAt(iat).setNotBefore(iat).setExpirationTime(iat + 3600)
    .setJti(crypto.randomUUID())
    .sign(new TextEncoder().encode(SECRET));
  return { token, userId: sub, displayName: name };
}

function assertError(res, status, code) {
  assert.equal(res.status, status, res.text);
  assert.equal(res.json?.code, code, res.text);
}

/// Calls `probe` until it returns a truthy value, or fails after the deadline.
async function pollUntil(what, probe) {
  const deadline = Date.now() + POLL_DEADLINE_MS;
  let last;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
      last = 'not yet';
    } catch (err) {
      last = err.message;
    }
    if (Date.now() > deadline) throw new Error(`${what} not within ${POLL_DEADLINE_MS} ms: ${last}`);
    await delay(50);
  }
}

/// Runs puzzle-ctl; resolves {code, stdout, stderr}.
function ctl(args, env = {}) {
  return new Promise((resolve) => {
    execFile(ctlBin, args, { env: { PATH: process.env.PATH, ...env }, timeout: 30_000 },
      (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr }));
  });
}

function defineSuite() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'puzzle-ops-'));
  const node = new PuzzleNode(bin, {
    dataDir: path.join(tmp, 'data'),
    webRoot: process.env.PUZZLE_WEB_ROOT ?? path.join(tmp, 'web'),
    env: { PUZZLE_JWT_SECRET: SECRET },
    args: [`--cluster.node-id=${NODE_ID}`],
  });
  const open = [];
  let failed = false;
  const step = (name, fn) => test(name, async (t) => {
    try {
      await fn(t);
    } catch (err) {
      failed = true;
      throw err;
    }
  });
  let operator;
  let player;
  let alice;
  let sessionId;
  let conn;
  let state;
  const api = (method, p, opts = {}) => http(method, `${node.base}${p}`,
    { token: operator.token, ...opts });

  before(async () => {
    await node.start();
    operator = await mint('Ops', ['player', 'operator']);
    player = await mint('Pat', ['player', 'owner']);
    const res = await http('POST', `${node.base}/api/auth/guest`, { body: { displayName: 'Alice' } });
    assert.equal(res.status, 200, res.text);
    alice = res.json;
    const created = await http('POST', `${node.base}/api/sessions`, {
      token: alice.token,
      body: { name: 'ops', imageId: 'aurora-lake', rows: 3, cols: 3 },
    });
    assert.equal(created.status, 201, created.text);
    sessionId = created.json.id;
    assert.match(sessionId, UUID_RE);
    conn = new signalR.HubConnectionBuilder()
      .withUrl(`${node.base}/puzzlehub`, { accessTokenFactory: () => alice.token })
      .configureLogging(signalR.LogLevel.None).build();
    await withTimeout(conn.start(), CALL_TIMEOUT_MS, 'connect to /puzzlehub');
    open.push(() => conn.stop());
    state = await conn.invoke('JoinPuzzleSession', sessionId, alice.userId);
    const lock = await conn.invoke('LockPiece', sessionId, 0);
    assert.equal(lock.granted, true, JSON.stringify(lock));
  });

  after(async () => {
    for (const close of open) await Promise.resolve(close()).catch(() => {});
    const status = await node.stop();
    if (failed) process.stderr.write(`puzzle-node output:\n${node.tail(120)}\n`);
    assert.equal(status?.code, 0, 'puzzle-node exits 0 on SIGTERM');
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  step('every route and action needs an operator: 401 without a token, 403 for a player',
    async () => {
      const routes = [
        ['GET', '/api/cluster/actors'],
        ['GET', `/api/cluster/actors/session/${sessionId}`],
        ['GET', '/api/cluster/audit'],
        ['POST', `/api/cluster/sessions/${sessionId}/migrate`, {}],
        ['POST', `/api/cluster/nodes/${NODE_ID}/drain`],
        ['POST', `/api/cluster/actors/session/${sessionId}/kill`],
      ];
      for (const [method, p, body] of routes) {
        const anonymous = await http(method, `${node.base}${p}`, { body });
        assertError(anonymous, 401, 'UNAUTHORIZED');
        assert.equal(anonymous.headers.get('www-authenticate'), 'Bearer');
        assertError(await http(method, `${node.base}${p}`, { token: player.token, body }),
          403, 'FORBIDDEN');
      }
      // Nothing of that reached the audit.
      assert.deepEqual((await api('GET', '/api/cluster/audit')).json, []);
    });

  step('actors lists the session, its lock and the client with mailbox depths', async () => {
    const res = await api('GET', '/api/cluster/actors');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const { actors, nodes, unreachable } = res.json;
    assert.deepEqual(unreachable, []);
    assert.equal(nodes.length, 1);
    assert.equal(nodes[0].node, NODE_ID);
    assert.equal(nodes[0].actors, actors.length);
    const byKey = new Map(actors.map((a) => [a.key, a]));
    const session = byKey.get(`session/${sessionId}`);
    assert.ok(session, `session listed: ${res.text}`);
    assert.equal(session.kind, 'session');
    assert.equal(session.node, NODE_ID);
    assert.match(session.incarnation, UUID_RE);
    assert.ok(Number.isInteger(session.mailboxDepth) && session.mailboxDepth >= 0);
    // Join and lock at least were handled.
    assert.ok(session.messagesHandled >= 2, res.text);
    assert.equal(session.summary.mode, 'serving');
    assert.equal(session.summary.leases, 1);
    assert.equal(session.summary.participantsOnline, 1);
    const lock = actors.find((a) => a.kind === 'lock' && a.key.startsWith(`lock/${sessionId}/`));
    assert.ok(lock, `a lock listed: ${res.text}`);
    assert.ok(Number.isInteger(lock.mailboxDepth));
    const client = byKey.get(`client/${alice.userId}`);
    assert.ok(client, `client listed: ${res.text}`);
    assert.equal(client.kind, 'client');
    assert.ok(Number.isInteger(client.mailboxDepth));
    assert.deepEqual(client.summary.sessions, [sessionId]);

    // A kind filter, and the message rate from the second listing on.
    const locks = await api('GET', '/api/cluster/actors?kind=lock');
    assert.ok(locks.json.actors.length >= 1);
    assert.ok(locks.json.actors.every((a) => a.kind === 'lock'), locks.text);
    await conn.invoke('UpdateCursor', sessionId, 5, 5);
    const again = await api('GET', `/api/cluster/actors?kind=session&node=${NODE_ID}`);
    const s2 = again.json.actors.find((a) => a.key === `session/${sessionId}`);
    assert.ok(typeof s2.messageRate === 'number' && s2.messageRate >= 0, again.text);
    assert.ok(s2.messagesHandled > session.messagesHandled, again.text);
    assertError(await api('GET', '/api/cluster/actors?node=nowhere'), 400, 'INVALID_ARGUMENT');
  });

  step('inspect one actor by its key, as a path or percent-encoded', async () => {
    const plain = await api('GET', `/api/cluster/actors/session/${sessionId}`);
    assert.equal(plain.status, 200, plain.text);
    assert.equal(plain.json.key, `session/${sessionId}`);
    assert.equal(plain.json.node, NODE_ID);
    assert.equal(plain.json.summary.version, state.version);
    const encoded = await api('GET',
      `/api/cluster/actors/${encodeURIComponent(`client/${alice.userId}`)}`);
    assert.equal(encoded.status, 200, encoded.text);
    assert.equal(encoded.json.kind, 'client');
    assertError(await api('GET', '/api/cluster/actors/session/no-such-session'),
      404, 'SESSION_NOT_FOUND');
  });

  step('sessions lists the session with its node', async () => {
    const res = await api('GET', '/api/cluster/sessions');
    assert.equal(res.status, 200, res.text);
    const s = res.json.find((x) => x.id === sessionId);
    assert.ok(s, res.text);
    assert.equal(s.node, NODE_ID);
    assert.equal(s.live, true);
    assert.equal(s.name, 'ops');
    assert.equal(s.pieceCount, 9);
    assert.equal(s.participantsOnline, 1);
  });

  step('kill a session: it ends as a crash, the player re-joins and plays on', async () => {
    const killed = await api('POST', `/api/cluster/actors/session/${sessionId}/kill`);
    assert.equal(killed.status, 200, killed.text);
    assert.deepEqual(killed.json, { key: `session/${sessionId}`, killed: true, nodes: [NODE_ID] });
    await node.waitForOutput(new RegExp(`event=actor_killed key=session/${sessionId}`));
    // The lease died with the actor; the client re-joins (a call meanwhile
    // may get INTERNAL "being re-joined; retry"), then locks and moves again.
    const spot = safeSpot(state, 0);
    const ack = await pollUntil('a move after the kill', async () => {
      const lock = await conn.invoke('LockPiece', sessionId, 0);
      if (!lock.granted) return undefined;
      return conn.invoke('MovePiece', sessionId, 0, spot.x, spot.y, 0);
    });
    assert.equal(ack.success, true, JSON.stringify(ack));
    const stored = await http('GET', `${node.base}/api/sessions/${sessionId}`, { token: alice.token });
    const piece = stored.json.pieces.find((p) => p.id === 0);
    assert.deepEqual([piece.x, piece.y], [spot.x, spot.y]);
    // A new session actor (its counter starts again) with the client in it.
    const probe = await api('GET', `/api/cluster/actors/session/${sessionId}`);
    assert.equal(probe.status, 200, probe.text);
    assert.equal(probe.json.summary.participantsOnline, 1);
  });

  step('actions refused on a single node, or on nothing, are errors and audited', async () => {
    assertError(await api('POST', `/api/cluster/sessions/${sessionId}/migrate`,
      { body: { node: 'elsewhere' } }), 400, 'INVALID_ARGUMENT');
    assertError(await api('POST', `/api/cluster/nodes/${NODE_ID}/drain`), 400, 'INVALID_ARGUMENT');
    assertError(await api('POST', '/api/cluster/nodes/nowhere/drain'), 400, 'INVALID_ARGUMENT');
    assertError(await api('POST', '/api/cluster/actors/lock/none/1/kill'), 404, 'SESSION_NOT_FOUND');
    assertError(await api('POST', `/api/cluster/sessions/${sessionId}/migrate`,
      { body: { node: 7 } }), 400, 'INVALID_ARGUMENT');
    const res = await api('GET', '/api/cluster/audit');
    assert.equal(res.status, 200, res.text);
    const rows = res.json.map((r) => [r.action, r.target, r.outcome]);
    // Newest first; the bad body was refused before any action.
    assert.deepEqual(rows, [
      ['kill', 'lock/none/1', 'SESSION_NOT_FOUND'],
      ['drain', 'nowhere', 'INVALID_ARGUMENT'],
      ['drain', NODE_ID, 'INVALID_ARGUMENT'],
      ['migrate', `session/${sessionId}`, 'INVALID_ARGUMENT'],
      ['kill', `session/${sessionId}`, 'ok'],
    ]);
    for (const r of res.json) {
      assert.equal(r.operatorId, operator.userId);
      assert.equal(r.operatorName, 'Ops');
      assert.ok(Date.parse(r.at) > 0, r.at);
    }
    const one = await api('GET', '/api/cluster/audit?limit=1');
    assert.equal(one.json.length, 1);
    for (const bad of ['0', '-1', 'abc', '1001', '']) {
      assertError(await api('GET', `/api/cluster/audit?limit=${bad}`), 400, 'INVALID_ARGUMENT');
    }
    await node.waitForOutput(/event=operator_action .*action=kill .*outcome=ok/);
  });

  describe('puzzle-ctl', () => {
    const env = () => ({ PUZZLE_URL: node.base, PUZZLE_TOKEN: operator.token });

    step('prints nodes, sessions, actors, one actor and the audit', async () => {
      const nodes = await ctl(['nodes'], env());
      assert.equal(nodes.code, 0, nodes.stderr);
      assert.match(nodes.stdout, /^NODE\s+INCARNATION\s+ADDRESS\s+STATE/);
      assert.match(nodes.stdout, new RegExp(`${NODE_ID}\\s+\\d+\\s+127\\.0\\.0\\.1:${node.port}\\s+up`));
      const sessions = await ctl(['sessions'], env());
      assert.equal(sessions.code, 0, sessions.stderr);
      assert.match(sessions.stdout, new RegExp(`${sessionId}\\s+ops\\s+${NODE_ID}`));
      const actors = await ctl(['actors', '--kind', 'session'], env());
      assert.equal(actors.code, 0, actors.stderr);
      assert.match(actors.stdout, new RegExp(`session/${sessionId}\\s+session\\s+${NODE_ID}\\s+\\d+`));
      const raw = await ctl(['--json', 'actors', '--kind', 'client'], env());
      assert.equal(raw.code, 0, raw.stderr);
      const api = await http('GET', `${node.base}/api/cluster/actors?kind=client`, { token: operator.token });
      assert.deepEqual(JSON.parse(raw.stdout).actors.map((a) => a.key),
        api.json.actors.map((a) => a.key));
      const inspect = await ctl(['inspect', `session/${sessionId}`], env());
      assert.equal(inspect.code, 0, inspect.stderr);
      assert.match(inspect.stdout, /mailboxDepth:\s+\d+/);
      const audit = await ctl(['audit', '--limit', '2'], env());
      assert.equal(audit.code, 0, audit.stderr);
      const lines = audit.stdout.trim().split('\n');
      assert.equal(lines.length, 3, audit.stdout);
      assert.match(lines[1], /Ops .*kill\s+lock\/none\/1\s+SESSION_NOT_FOUND/);
    });

    step('exit code 2 for usage errors, 1 for the node\'s errors', async () => {
      for (const args of [[], ['frobnicate'], ['inspect'], ['nodes', 'extra'],
        ['audit', '--kind', 'x'], ['--url', 'https://x', 'nodes'], ['--token']]) {
        const r = await ctl(args, env());
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, /puzzle-ctl: /);
      }
      const unknown = await ctl(['inspect', 'lock/none/1'], env());
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /404 SESSION_NOT_FOUND: no actor 'lock\/none\/1'/);
      const noToken = await ctl(['nodes'], { PUZZLE_URL: node.base });
      assert.equal(noToken.code, 1);
      assert.match(noToken.stderr, /401 UNAUTHORIZED/);
      const drain = await ctl(['drain', NODE_ID], env());
      assert.equal(drain.code, 1);
      assert.match(drain.stderr, /400 INVALID_ARGUMENT: node ops-node-1 is a single node/);
      const closed = await ctl(['nodes'], { PUZZLE_URL: 'http://127.0.0.1:1', PUZZLE_TOKEN: 'x' });
      assert.equal(closed.code, 1);
      assert.match(closed.stderr, /cannot connect/);
    });

    step('empty arguments, a token with spaces and a port out of range are usage errors',
      async () => {
        for (const [args, message] of [
          [['inspect', ''], /the key must not be empty/],
          [['kill', ''], /the key must not be empty/],
          [['drain', ''], /the node must not be empty/],
          [['migrate', sessionId, ''], /the node must not be empty/],
          [['--token', 'a b', 'nodes'], /printable ASCII without spaces/],
          [['--url', 'http://127.0.0.1:70000', 'nodes'], /port from 1 to 65535/],
          [['--url', 'http://127.0.0.1:0', 'nodes'], /port from 1 to 65535/]]) {
          const r = await ctl(args, env());
          assert.equal(r.code, 2, `${JSON.stringify(args)}: ${r.stderr}`);
          assert.match(r.stderr, message);
        }
      });

    step('an answer that is not JSON or not of the expected shape is a clear error', async () => {
      // Stands in for something else listening at the URL.
      const answers = [
        ['200 OK', 'application/json', '{"not":"a list"}', /answer to nodes has an unexpected shape/],
        ['200 OK', 'application/json', '["a","b"]', /answer to nodes has an unexpected shape/],
        ['200 OK', 'text/html', '<html></html>', /answer is not JSON/],
        ['400 Bad Request', 'application/json', '{"code":5,"message":[1]}', /400 HTTP_400: /],
      ];
      for (const [status, type, body, message] of answers) {
        const server = net.createServer((socket) => {
          socket.once('data', () => socket.end(`HTTP/1.1 ${status}\r\nContent-Type: ${type}\r\n`
            + `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`));
        });
        await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
        try {
          const r = await ctl(['nodes'],
            { PUZZLE_URL: `http://127.0.0.1:${server.address().port}`, PUZZLE_TOKEN: 'x' });
          assert.equal(r.code, 1, `${body}: ${r.stderr}`);
          assert.match(r.stderr, message);
          assert.doesNotMatch(r.stderr, /json\.exception|stoi|stoul/);
          assert.equal(r.stdout, '');
        } finally {
          await new Promise((resolve) => server.close(resolve));
        }
      }
    });
  });

  describe('bad input and killed actors', () => {
    step('malformed operator input is 400 INVALID_ARGUMENT and nothing is audited', async () => {
      const before = (await api('GET', '/api/cluster/audit')).json.length;
      for (const [method, p, body] of [
        ['POST', `/api/cluster/sessions/${sessionId}/migrate`, { node: '' }],
        ['POST', `/api/cluster/sessions/${sessionId}/migrate`, { node: 'x'.repeat(129) }],
        ['GET', '/api/cluster/actors?kind=transport-ish'],
        ['GET', `/api/cluster/actors/session/${sessionId}?node=%00`],
        ['POST', `/api/cluster/actors/session/${sessionId}/kill?node=a%20b`],
        ['GET', '/api/cluster/actors/session%00x'],
        ['POST', '/api/cluster/nodes/%E2%98%83/drain'],
      ]) {
        const res = await api(method, p, { body });
        assertError(res, 400, 'INVALID_ARGUMENT');
        assert.doesNotMatch(res.json.message, /\u0000/);
      }
      assert.equal((await api('GET', '/api/cluster/audit')).json.length, before);
      // The session was not touched: still live on this node.
      const probe = await api('GET', `/api/cluster/actors/session/${sessionId}`);
      assert.equal(probe.status, 200, probe.text);
    });

    step('a killed lock actor: the piece is locked and moved again', async () => {
      const piece = 2;
      const lock = await conn.invoke('LockPiece', sessionId, piece);
      assert.equal(lock.granted, true, JSON.stringify(lock));
      const key = `lock/${sessionId}/${piece}`;
      const killed = await api('POST', `/api/cluster/actors/${key}/kill`);
      assert.equal(killed.status, 200, killed.text);
      assert.deepEqual(killed.json.nodes, [NODE_ID]);
      const spot = safeSpot(state, piece);
      const ack = await pollUntil('a move of the piece after its lock was killed', async () => {
        const again = await conn.invoke('LockPiece', sessionId, piece);
        if (!again.granted) return undefined;
        return conn.invoke('MovePiece', sessionId, piece, spot.x, spot.y, 0);
      });
      assert.equal(ack.success, true, JSON.stringify(ack));
    });

    step('a killed client actor closes its connection with a reason; the others play on',
      async () => {
        const bob = await mint('Bob', ['player']);
        const bobConn = new signalR.HubConnectionBuilder()
          .withUrl(`${node.base}/puzzlehub`, { accessTokenFactory: () => bob.token })
          .configureLogging(signalR.LogLevel.None).build();
        let closedWith;
        const closed = new Promise((resolve) => bobConn.onclose((err) => {
          closedWith = err;
          resolve();
        }));
        await withTimeout(bobConn.start(), CALL_TIMEOUT_MS, 'connect to /puzzlehub');
        open.push(() => bobConn.stop());
        await bobConn.invoke('JoinPuzzleSession', sessionId, bob.userId);
        const killed = await api('POST', `/api/cluster/actors/client/${bob.userId}/kill`);
        assert.equal(killed.status, 200, killed.text);
        // Closed by the node, not left with calls that are never answered.
        await withTimeout(closed, CALL_TIMEOUT_MS, 'the connection of the killed client closes');
        assert.match(String(closedWith?.message), /client actor ended/);
        // Alice's connection and the session are untouched.
        const lock = await conn.invoke('LockPiece', sessionId, 3);
        assert.equal(lock.granted, true, JSON.stringify(lock));
        await conn.invoke('UnlockPiece', sessionId, 3);
        // Bob connects again and plays.
        const again = new signalR.HubConnectionBuilder()
          .withUrl(`${node.base}/puzzlehub`, { accessTokenFactory: () => bob.token })
          .configureLogging(signalR.LogLevel.None).build();
        await withTimeout(again.start(), CALL_TIMEOUT_MS, 'connect again');
        open.push(() => again.stop());
        await again.invoke('JoinPuzzleSession', sessionId, bob.userId);
        const bobLock = await again.invoke('LockPiece', sessionId, 4);
        assert.equal(bobLock.granted, true, JSON.stringify(bobLock));
      });
  });
}

if (problems.length > 0) {
  test('operator actions prerequisites', () => assert.fail(problems.join('; ')));
} else {
  describe('operator actions (one node)', defineSuite);
}
