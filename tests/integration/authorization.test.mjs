// Authorization end to end, through the real clients (@microsoft/signalr,
// socket.io-client, ws): only joined participants act; only the holder
// moves a held piece; a token's user never acts as another; only the owner
// or an admin deletes a session or binds a device; only operators reach the
// operator API; a private session needs its invite link, on every
// transport, and the users let in stay let in across a restart.
//
// Admin and operator tokens are minted here with jose (HS256, the node's
// secret), as an account with those roles would get them.
//
// Run through CTest (tests/integration/CMakeLists.txt). No fixed sleeps.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

import {
  CALL_TIMEOUT_MS, EVENT_TIMEOUT_MS, PuzzleNode, SETUP_HINT, UUID_RE, findBinary, http,
  safeSpot, withTimeout,
} from './support/harness.mjs';

const require = createRequire(import.meta.url);

function loadModules() {
  try {
    return {
      jose: require('jose'),
      signalR: require('@microsoft/signalr'),
      WebSocket: require('ws'),
      io: require('socket.io-client').io,
    };
  } catch (err) {
    return {
      problem: 'cannot load jose, @microsoft/signalr, ws, socket.io-client ' +
        `(${err.code ?? err.message}): ${SETUP_HINT}`,
    };
  }
}

const { jose, signalR, WebSocket, io, problem } = loadModules();
const { bin, problem: binaryProblem } = findBinary();
const problems = [problem, binaryProblem].filter(Boolean);

const SECRET = crypto.randomBytes(32).toString('hex');
// token_service's defaults (auth.issuer, auth.audience).
const ISSUER = 'puzzle';
const AUDIENCE = 'puzzle-clients';

/// A token for a new user with `roles`, signed by jose with the node's key.
async function mint(name, roles) {
  const sub = crypto.randomUUID();
  const iat = Math.floor(Date.now() / 1000);
  const token = await new jose.SignJWT({ name, roles })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(iat)
    .setNotBefore(iat)
    .setExpirationTime(iat + 3600)
    .setJti(crypto.randomUUID())
    .sign(new TextEncoder().encode(SECRET));
  return { token, userId: sub, displayName: name };
}

/// Asserts an error answer: status, and the contract's code in the body.
function assertError(res, status, code) {
  assert.equal(res.status, status, res.text);
  assert.equal(res.json?.code, code, res.text);
  assert.equal(res.json?.status, status, res.text);
}

/// A `ws` connection to /ws whose answers are matched by id.
class WsClient {
  static async open(url) {
    const client = new WsClient(new WebSocket(url));
    await withTimeout(new Promise((resolve, reject) => {
      client.ws.once('open', resolve);
      client.ws.once('unexpected-response', (req, res) =>
        reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
      client.ws.once('error', reject);
    }), CALL_TIMEOUT_MS, `to open ${url}`);
    return client;
  }

  constructor(ws) {
    this.ws = ws;
    this.pending = new Map();
    ws.on('message', (data) => {
      const message = JSON.parse(data.toString());
      const waiter = this.pending.get(message.id);
      if (waiter) {
        this.pending.delete(message.id);
        waiter(message);
      }
    });
    ws.on('error', () => {});
  }

  call(type, fields) {
    const id = crypto.randomUUID();
    return withTimeout(new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.ws.send(JSON.stringify({ type, id, ...fields }));
    }), CALL_TIMEOUT_MS, `the answer to ${type}`);
  }

  close() {
    this.ws.close();
  }
}

function defineSuite() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'puzzle-authz-'));
  const node = new PuzzleNode(bin, {
    dataDir: path.join(tmp, 'data'),
    webRoot: process.env.PUZZLE_WEB_ROOT ?? path.join(tmp, 'web'),
    env: { PUZZLE_JWT_SECRET: SECRET },
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

  const users = {};
  const guest = async (displayName) => {
    const res = await http('POST', `${node.base}/api/auth/guest`, { body: { displayName } });
    assert.equal(res.status, 200, res.text);
    return res.json;
  };
  const createSession = async (user, { isPublic = true, rows = 3, cols = 3 } = {}) => {
    const res = await http('POST', `${node.base}/api/sessions`, {
      token: user.token,
      body: { name: 'authz', imageId: 'aurora-lake', rows, cols, public: isPublic },
    });
    assert.equal(res.status, 201, res.text);
    assert.match(res.json.id, UUID_RE);
    return res.json;
  };
  const hub = async (user) => {
    const conn = new signalR.HubConnectionBuilder()
      .withUrl(`${node.base}/puzzlehub`, user ? { accessTokenFactory: () => user.token } : {})
      .configureLogging(signalR.LogLevel.None).build();
    await withTimeout(conn.start(), CALL_TIMEOUT_MS, 'connect to /puzzlehub');
    open.push({ close: () => conn.stop() });
    return conn;
  };
  const socketIo = async (user) => {
    const socket = io(node.base, {
      auth: user ? { token: user.token } : {},
      reconnection: false,
      forceNew: true,
      transports: ['websocket'],
      timeout: CALL_TIMEOUT_MS,
    });
    open.push({ close: async () => socket.close() });
    await withTimeout(new Promise((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    }), CALL_TIMEOUT_MS, 'socket.io connect');
    return {
      call: (event, arg) => withTimeout(socket.emitWithAck(event, arg), CALL_TIMEOUT_MS,
        `ack of ${event}`),
    };
  };
  const rawWs = async (user) => {
    const query = user ? `?access_token=${encodeURIComponent(user.token)}` : '';
    const client = await WsClient.open(`ws://127.0.0.1:${node.port}/ws${query}`);
    open.push({ close: async () => client.close() });
    return client;
  };

  before(async () => {
    await node.start();
    for (const name of ['Owner', 'Bob', 'Cleo', 'Dan']) users[name] = await guest(name);
    users.Admin = await mint('Root', ['player', 'owner', 'admin']);
    users.Operator = await mint('Ops', ['player', 'operator']);
  });

  after(async () => {
    for (const x of open) await Promise.resolve(x.close()).catch(() => {});
    const status = await node.stop();
    if (failed) process.stderr.write(`puzzle-node output:\n${node.tail(120)}\n`);
    assert.equal(status?.code, 0, 'puzzle-node exits 0 on SIGTERM');
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  describe('real-time rules that hold in every session', () => {
    let sessionId;
    before(async () => {
      sessionId = (await createSession(users.Owner)).id;
    });

    step('a token cannot act as another user: JoinPuzzleSession with a foreign userId ' +
      'is FORBIDDEN, with its own userId it joins', async () => {
      const bob = await hub(users.Bob);
      await assert.rejects(bob.invoke('JoinPuzzleSession', sessionId, users.Owner.userId),
        /HubException: FORBIDDEN: userId does not match the access token/);
      const state = await bob.invoke('JoinPuzzleSession', sessionId, users.Bob.userId);
      assert.equal(state.sessionId, sessionId);
      assert.ok(state.participants.some((p) => p.userId === users.Bob.userId));
      assert.ok(!state.participants.some((p) => p.userId === users.Owner.userId));
    });

    step('only joined participants act: NOT_JOINED for lock, move, unlock, chat and ' +
      'cursor before joining', async () => {
      const cleo = await hub(users.Cleo);
      const calls = [
        ['LockPiece', sessionId, 0],
        ['MovePiece', sessionId, 0, 10, 10, 0],
        ['UnlockPiece', sessionId, 0],
        ['SendChatMessage', sessionId, 'hello'],
        ['UpdateCursor', sessionId, 1, 2],
      ];
      for (const [method, ...args] of calls) {
        await assert.rejects(cleo.invoke(method, ...args), /HubException: NOT_JOINED: /,
          method);
      }
      // Over socket.io too (the same client actor judges every transport).
      const sio = await socketIo(users.Cleo);
      const ack = await sio.call('lock_piece', { sessionId, pieceId: 0 });
      assert.deepEqual([ack.ok, ack.code], [false, 'NOT_JOINED'], JSON.stringify(ack));
    });

    step('only the holder moves a held piece: PIECE_LOCKED for a move or drag by ' +
      'another, PIECE_NOT_HELD for their unlock; the holder moves it', async () => {
      const holder = await hub(users.Owner);
      const state = await holder.invoke('JoinPuzzleSession', sessionId, users.Owner.userId);
      const other = await hub(users.Dan);
      await other.invoke('JoinPuzzleSession', sessionId, users.Dan.userId);
      const lock = await holder.invoke('LockPiece', sessionId, 4);
      assert.equal(lock.granted, true);
      assert.equal(lock.lockedBy, users.Owner.userId);
      const refused = await other.invoke('LockPiece', sessionId, 4);
      assert.deepEqual([refused.granted, refused.lockedBy], [false, users.Owner.userId]);
      const spot = safeSpot(state, 4);
      await assert.rejects(other.invoke('MovePiece', sessionId, 4, spot.x, spot.y, 0),
        /HubException: PIECE_LOCKED: piece 4 is held by Owner/);
      await assert.rejects(other.invoke('UnlockPiece', sessionId, 4),
        /HubException: PIECE_NOT_HELD: /);
      // DragPiece is sent without an answer: its refusal comes as Error.
      const error = new Promise((resolve) => other.on('Error', (message, code) =>
        resolve({ message, code })));
      await other.send('DragPiece', sessionId, 4, spot.x, spot.y, 0);
      const dragError = await withTimeout(error, EVENT_TIMEOUT_MS, 'Error after DragPiece');
      assert.equal(dragError.code, 'PIECE_LOCKED');
      const moved = await holder.invoke('MovePiece', sessionId, 4, spot.x, spot.y, 0);
      assert.equal(moved.success, true);
    });
  });

  describe('deleting a session', () => {
    step('no token 401, another player 403 FORBIDDEN, the owner 204', async () => {
      const { id } = await createSession(users.Owner);
      assertError(await http('DELETE', `${node.base}/api/sessions/${id}`), 401, 'UNAUTHORIZED');
      assertError(await http('DELETE', `${node.base}/api/sessions/${id}`,
        { token: users.Bob.token }), 403, 'FORBIDDEN');
      assert.equal((await http('GET', `${node.base}/api/sessions/${id}`)).status, 200);
      const res = await http('DELETE', `${node.base}/api/sessions/${id}`,
        { token: users.Owner.token });
      assert.equal(res.status, 204, res.text);
      assertError(await http('GET', `${node.base}/api/sessions/${id}`), 404,
        'SESSION_NOT_FOUND');
    });

    step('an admin deletes anyone\'s session: 204', async () => {
      const { id } = await createSession(users.Owner);
      const res = await http('DELETE', `${node.base}/api/sessions/${id}`,
        { token: users.Admin.token });
      assert.equal(res.status, 204, res.text);
      assertError(await http('GET', `${node.base}/api/sessions/${id}`), 404,
        'SESSION_NOT_FOUND');
    });
  });

  describe('binding devices', () => {
    let sessionId;
    before(async () => {
      sessionId = (await createSession(users.Owner)).id;
    });
    const bind = (user, deviceId) => http('POST', `${node.base}/api/sessions/${sessionId}/devices`,
      { token: user?.token, body: { deviceId } });
    const unbind = (user, deviceId) => http('DELETE',
      `${node.base}/api/sessions/${sessionId}/devices/${deviceId}`, { token: user?.token });

    step('no token 401, another player 403 FORBIDDEN, the owner 201', async () => {
      assertError(await bind(undefined, 'box-1'), 401, 'UNAUTHORIZED');
      assertError(await bind(users.Bob, 'box-1'), 403, 'FORBIDDEN');
      const res = await bind(users.Owner, 'box-1');
      assert.equal(res.status, 201, res.text);
      assert.equal(res.json.sessionId, sessionId);
      assert.equal(res.json.boundBy, users.Owner.userId);
    });

    step('an admin binds and unbinds on anyone\'s session; another player may not unbind',
      async () => {
        const res = await bind(users.Admin, 'box-2');
        assert.equal(res.status, 201, res.text);
        assert.equal(res.json.boundBy, users.Admin.userId);
        assertError(await unbind(users.Bob, 'box-2'), 403, 'FORBIDDEN');
        assert.equal((await unbind(users.Admin, 'box-2')).status, 204);
        assert.equal((await unbind(users.Owner, 'box-1')).status, 204);
      });
  });

  describe('the operator API', () => {
    for (const route of ['/api/cluster/nodes', '/api/cluster/sessions']) {
      step(`${route}: no token 401, a player or an admin 403 FORBIDDEN`, async () => {
        const anonymous = await http('GET', `${node.base}${route}`);
        assertError(anonymous, 401, 'UNAUTHORIZED');
        assert.equal(anonymous.headers.get('www-authenticate'), 'Bearer');
        assertError(await http('GET', `${node.base}${route}`, { token: 'not-a-token' }),
          401, 'UNAUTHORIZED');
        assertError(await http('GET', `${node.base}${route}`, { token: users.Bob.token }),
          403, 'FORBIDDEN');
        assertError(await http('GET', `${node.base}${route}`, { token: users.Admin.token }),
          403, 'FORBIDDEN');
      });
    }

    step('an operator reads this node: id, incarnation, address, state up, uptime, load',
      async () => {
        const res = await http('GET', `${node.base}/api/cluster/nodes`,
          { token: users.Operator.token });
        assert.equal(res.status, 200, res.text);
        assert.equal(res.headers.get('cache-control'), 'no-store');
        assert.equal(res.json.length, 1);
        const [me] = res.json;
        assert.match(me.id, UUID_RE);
        assert.equal(typeof me.incarnation, 'number');
        assert.ok(me.incarnation > 1_600_000_000_000 && me.incarnation <= Date.now());
        assert.equal(me.address, `127.0.0.1:${node.port}`);
        assert.equal(me.state, 'up');
        assert.ok(Number.isInteger(me.uptimeSeconds) && me.uptimeSeconds >= 0);
        assert.match(me.uptime, /^\d\d:\d\d:\d\d/);
        assert.ok(Number.isInteger(me.load.connections) && me.load.connections >= 1);
        assert.ok(Number.isInteger(me.load.sessions) && me.load.sessions >= 1);
      });

    step('an operator lists the sessions in memory with participants and version',
      async () => {
        const created = await createSession(users.Owner);
        const player = await hub(users.Bob);
        await player.invoke('JoinPuzzleSession', created.id, users.Bob.userId);
        const res = await http('GET', `${node.base}/api/cluster/sessions`,
          { token: users.Operator.token });
        assert.equal(res.status, 200, res.text);
        const mine = res.json.find((s) => s.id === created.id);
        assert.ok(mine, res.text);
        const nodes = await http('GET', `${node.base}/api/cluster/nodes`,
          { token: users.Operator.token });
        assert.equal(mine.node, nodes.json[0].id);
        assert.equal(mine.name, 'authz');
        assert.equal(mine.ownerId, users.Owner.userId);
        assert.equal(mine.version, 0);
        assert.equal(mine.pieceCount, 9);
        assert.equal(mine.participantsOnline, 1);
        assert.deepEqual(mine.participants,
          [{ userId: users.Bob.userId, username: 'Bob', online: true }]);
      });

    step('/console is a page without data; its script reads only the gated API',
      async () => {
        const page = await http('GET', `${node.base}/console`);
        assert.equal(page.status, 200);
        assert.match(page.headers.get('content-type'), /^text\/html/);
        assert.match(page.headers.get('content-security-policy'), /script-src 'self'/);
        assert.match(page.text, /<script src="\/console\/console.js"/);
        assert.ok(!page.text.includes(users.Owner.userId));
        const script = await http('GET', `${node.base}/console/console.js`);
        assert.equal(script.status, 200);
        assert.match(script.headers.get('content-type'), /^text\/javascript/);
        const fetched = [...script.text.matchAll(/read\('([^']+)'\)/g)].map((m) => m[1]);
        assert.deepEqual(fetched.sort(), ['/api/cluster/nodes', '/api/cluster/sessions']);
        assert.match(script.text, /Authorization: 'Bearer '/);
      });
  });

  describe('private sessions', () => {
    let session;
    const get = (user) => http('GET', `${node.base}/api/sessions/${session.id}`,
      { token: user?.token });
    const redeem = (user, code) => http('POST', `${node.base}/api/sessions/${session.id}/invite`,
      { token: user?.token, body: { code } });

    before(async () => {
      session = await createSession(users.Owner, { isPublic: false });
    });

    step('creating one gives the owner an unguessable invite code and link', async () => {
      assert.equal(session.isPublic, false);
      assert.match(session.inviteCode, /^[0-9a-f]{32}$/);
      assert.equal(session.inviteUrl, `/?session=${session.id}&invite=${session.inviteCode}`);
      const other = await createSession(users.Owner, { isPublic: false });
      assert.notEqual(other.inviteCode, session.inviteCode);
      const open = await createSession(users.Owner);
      assert.equal(open.inviteCode, undefined);
    });

    step('it is never listed, and GET shows it (with the invite) only to the owner ' +
      'and admins: 404 SESSION_NOT_FOUND for others', async () => {
      const list = await http('GET', `${node.base}/api/sessions`);
      assert.equal(list.status, 200);
      assert.ok(!list.json.some((s) => s.id === session.id));
      assertError(await get(undefined), 404, 'SESSION_NOT_FOUND');
      assertError(await get(users.Bob), 404, 'SESSION_NOT_FOUND');
      for (const user of [users.Owner, users.Admin]) {
        const res = await get(user);
        assert.equal(res.status, 200, res.text);
        assert.equal(res.json.sessionId, session.id);
        assert.equal(res.json.inviteCode, session.inviteCode);
        assert.equal(res.json.inviteUrl, session.inviteUrl);
      }
      // GetSessionState over the hub hides it the same way.
      const bob = await hub(users.Bob);
      await assert.rejects(bob.invoke('GetSessionState', session.id),
        /HubException: SESSION_NOT_FOUND: /);
    });

    step('joining without the invite is FORBIDDEN over SignalR, Socket.IO and /ws, ' +
      'also for an anonymous /ws connection naming the owner\'s id', async () => {
      const bob = await hub(users.Bob);
      await assert.rejects(bob.invoke('JoinPuzzleSession', session.id, users.Bob.userId),
        /HubException: FORBIDDEN: session .* is private/);
      const sio = await socketIo(users.Bob);
      const ack = await sio.call('join', { sessionId: session.id });
      assert.deepEqual([ack.ok, ack.code], [false, 'FORBIDDEN'], JSON.stringify(ack));
      const ws = await rawWs(users.Bob);
      const answer = await ws.call('join', { sessionId: session.id });
      assert.deepEqual([answer.type, answer.code], ['error', 'FORBIDDEN'],
        JSON.stringify(answer));
      const anonymous = await rawWs(undefined);
      const spoofed = await anonymous.call('join',
        { sessionId: session.id, userId: users.Owner.userId });
      assert.deepEqual([spoofed.type, spoofed.code], ['error', 'FORBIDDEN'],
        JSON.stringify(spoofed));
    });

    step('the owner and an admin join without redeeming anything', async () => {
      const owner = await hub(users.Owner);
      const state = await owner.invoke('JoinPuzzleSession', session.id, users.Owner.userId);
      assert.equal(state.sessionId, session.id);
      const sio = await socketIo(users.Admin);
      const ack = await sio.call('join', { sessionId: session.id });
      assert.equal(ack.ok, true, JSON.stringify(ack));
    });

    step('redeeming: no token 401, a wrong code 403 FORBIDDEN, bad input 400', async () => {
      assertError(await redeem(undefined, session.inviteCode), 401, 'UNAUTHORIZED');
      const wrong = session.inviteCode.replace(/.$/, (c) => (c === '0' ? '1' : '0'));
      assertError(await redeem(users.Bob, wrong), 403, 'FORBIDDEN');
      assertError(await redeem(users.Bob, session.inviteCode.slice(0, 8)), 403, 'FORBIDDEN');
      assertError(await redeem(users.Bob, 42), 400, 'INVALID_ARGUMENT');
      const res = await http('POST', `${node.base}/api/sessions/${crypto.randomUUID()}/invite`,
        { token: users.Bob.token, body: { code: session.inviteCode } });
      assertError(res, 404, 'SESSION_NOT_FOUND');
      // Still refused after the wrong tries.
      assertError(await get(users.Bob), 404, 'SESSION_NOT_FOUND');
    });

    step('after redeeming the invite a user joins over every transport and reads it ' +
      '(without the invite code)', async () => {
      const res = await redeem(users.Bob, session.inviteCode);
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json, { sessionId: session.id, allowed: true });
      const state = await get(users.Bob);
      assert.equal(state.status, 200, state.text);
      assert.equal(state.json.inviteCode, undefined);
      const bob = await hub(users.Bob);
      const joined = await bob.invoke('JoinPuzzleSession', session.id, users.Bob.userId);
      assert.ok(joined.participants.some((p) => p.userId === users.Bob.userId));
      const sio = await socketIo(users.Bob);
      assert.equal((await sio.call('join', { sessionId: session.id })).ok, true);
      const ws = await rawWs(users.Bob);
      const answer = await ws.call('join', { sessionId: session.id });
      assert.equal(answer.type, 'ack', JSON.stringify(answer));
      assert.equal(answer.result.sessionId, session.id);
      // Another user is still kept out.
      const cleo = await hub(users.Cleo);
      await assert.rejects(cleo.invoke('JoinPuzzleSession', session.id, users.Cleo.userId),
        /HubException: FORBIDDEN: /);
      // Redeeming again is harmless.
      assert.equal((await redeem(users.Bob, session.inviteCode)).status, 200);
    });

    step('who was let in survives a restart of the node; the invite stays the same',
      async () => {
        for (const x of open.splice(0)) await Promise.resolve(x.close()).catch(() => {});
        const status = await node.stop();
        assert.equal(status?.code, 0);
        await node.start();
        const bob = await hub(users.Bob);
        const state = await bob.invoke('JoinPuzzleSession', session.id, users.Bob.userId);
        assert.equal(state.sessionId, session.id);
        const cleo = await hub(users.Cleo);
        await assert.rejects(cleo.invoke('JoinPuzzleSession', session.id, users.Cleo.userId),
          /HubException: FORBIDDEN: /);
        const owner = await get(users.Owner);
        assert.equal(owner.json.inviteCode, session.inviteCode);
        assertError(await get(users.Cleo), 404, 'SESSION_NOT_FOUND');
      });
  });
}

if (problems.length > 0) {
  test('authorization prerequisites', () => assert.fail(problems.join('; ')));
} else {
  defineSuite();
}
