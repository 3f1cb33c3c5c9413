// One session, three transports: a SignalR client, a Socket.IO client and a
// raw WebSocket client play together (issue: "every transport drives the same
// actors"). Each one's lock, move and chat must reach the other two, and the
// moves with the same version everywhere.
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
  CALL_TIMEOUT_MS, EVENT_TIMEOUT_MS, PuzzleNode, SETUP_HINT, UUID_RE, findBinary,
  http, safeSpot, withTimeout,
} from './support/harness.mjs';

const require = createRequire(import.meta.url);

function loadModules() {
  try {
    return {
      signalR: require('@microsoft/signalr'),
      io: require('socket.io-client').io,
      WebSocket: require('ws'),
    };
  } catch (err) {
    return { problem: `cannot load the npm clients (${err.code ?? err.message}): ${SETUP_HINT}` };
  }
}

/// What every player looks like to the test, whatever its transport: it
/// records events under the SignalR client method names.
class EventLog {
  constructor(label) {
    this.label = label;
    this.events = [];
    this.waiters = [];
  }

  record(name, data) {
    this.events.push({ name, data });
    this.waiters = this.waiters.filter((w) => !w());
  }

  waitFor(name, pred) {
    return withTimeout(new Promise((resolve) => {
      const check = () => {
        const e = this.events.find((x) => x.name === name && pred(x.data));
        if (!e) return false;
        resolve(e.data);
        return true;
      };
      if (!check()) this.waiters.push(check);
    }), EVENT_TIMEOUT_MS, `${this.label} to see ${name}`);
  }
}

const SOCKET_IO_EVENTS = {
  piece_locked: 'PieceLocked', piece_moved: 'PieceMoved', chat_message: 'ChatMessageReceived',
};

async function signalRPlayer(signalR, base, user, sessionId) {
  const log = new EventLog('SignalR');
  const conn = new signalR.HubConnectionBuilder()
    .withUrl(`${base}/puzzlehub`, {
      accessTokenFactory: () => user.token, transport: signalR.HttpTransportType.WebSockets,
    })
    .configureLogging(signalR.LogLevel.None).build();
  for (const name of Object.values(SOCKET_IO_EVENTS)) conn.on(name, (d) => log.record(name, d));
  await withTimeout(conn.start(), CALL_TIMEOUT_MS, 'SignalR connect');
  const state = await conn.invoke('JoinPuzzleSession', sessionId, user.userId);
  return {
    log, state, close: () => conn.stop(),
    lock: (pieceId) => conn.invoke('LockPiece', sessionId, pieceId),
    move: (pieceId, x, y) => conn.invoke('MovePiece', sessionId, pieceId, x, y, 0),
    chat: (message) => conn.invoke('SendChatMessage', sessionId, message),
  };
}

async function socketIoPlayer(io, base, user, sessionId) {
  const log = new EventLog('Socket.IO');
  const socket = io(base, {
    auth: { token: user.token }, reconnection: false, forceNew: true,
    transports: ['websocket'],
  });
  for (const [event, name] of Object.entries(SOCKET_IO_EVENTS)) {
    socket.on(event, (d) => log.record(name, d));
  }
  const call = async (event, args) => {
    const ack = await withTimeout(socket.emitWithAck(event, args), CALL_TIMEOUT_MS,
      `Socket.IO ${event}`);
    assert.equal(ack.ok, true, `Socket.IO ${event}: ${JSON.stringify(ack)}`);
    return ack;
  };
  await withTimeout(new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  }), CALL_TIMEOUT_MS, 'Socket.IO connect');
  await call('join', { sessionId });
  return {
    log, close: async () => socket.disconnect(),
    lock: (pieceId) => call('lock_piece', { sessionId, pieceId }),
    move: (pieceId, x, y) => call('move_piece', { sessionId, pieceId, x, y, rotation: 0 }),
    chat: (message) => call('chat_message', { sessionId, message }),
  };
}

async function rawWsPlayer(WebSocket, port, user, sessionId) {
  const log = new EventLog('/ws');
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?access_token=${encodeURIComponent(user.token)}`);
  const answers = new Map();
  ws.on('message', (data) => {
    const msg = JSON.parse(data.toString());
    if (msg.type === 'event') log.record(msg.event, msg.data);
    else if (msg.id && answers.has(msg.id)) answers.get(msg.id)(msg);
  });
  await withTimeout(new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  }), CALL_TIMEOUT_MS, '/ws connect');
  const call = async (type, fields) => {
    const id = crypto.randomUUID();
    const answer = new Promise((resolve) => answers.set(id, resolve));
    ws.send(JSON.stringify({ type, id, sessionId, ...fields }));
    const msg = await withTimeout(answer, CALL_TIMEOUT_MS, `/ws ${type}`);
    assert.equal(msg.type, 'ack', `/ws ${type}: ${JSON.stringify(msg)}`);
    return msg.result;
  };
  await call('join', {});
  return {
    log, close: async () => ws.close(),
    lock: (pieceId) => call('lock', { pieceId }),
    move: (pieceId, x, y) => call('move', { pieceId, x, y, rotation: 0 }),
    chat: (message) => call('chat', { message }),
  };
}

const modules = loadModules();
const { bin, problem: binaryProblem } = findBinary();
const problems = [modules.problem, binaryProblem].filter(Boolean);

if (problems.length > 0) {
  test('integration test prerequisites', () => assert.fail(problems.join('\n')));
} else {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'puzzle-mixed-'));
  const node = new PuzzleNode(bin, {
    dataDir: path.join(tmp, 'data'),
    webRoot: process.env.PUZZLE_WEB_ROOT ?? path.join(tmp, 'web'),
    env: { PUZZLE_JWT_SECRET: crypto.randomBytes(32).toString('hex') },
  });
  const players = [];

  before(() => node.start());

  after(async () => {
    for (const p of players) await p.close().catch(() => {});
    const status = await node.stop();
    assert.equal(status?.code, 0, 'puzzle-node exits 0 on SIGTERM');
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('SignalR, Socket.IO and raw WebSocket players see each other with the same versions',
    async () => {
      const guest = async (displayName) => {
        const res = await http('POST', `${node.base}/api/auth/guest`, { body: { displayName } });
        assert.ok(res.status === 200 || res.status === 201, res.text);
        return res.json;
      };
      const [ada, bo, cy] = await Promise.all(
        ['Ada (SignalR)', 'Bo (Socket.IO)', 'Cy (/ws)'].map(guest));
      const created = await http('POST', `${node.base}/api/sessions`, {
        token: ada.token,
        body: { name: 'mixed', imageId: 'aurora-lake', rows: 3, cols: 3, public: true },
      });
      assert.equal(created.status, 201, created.text);
      const sessionId = created.json?.sessionId ?? created.json?.id;
      assert.match(String(sessionId), UUID_RE);

      const a = await signalRPlayer(modules.signalR, node.base, ada, sessionId);
      const b = await socketIoPlayer(modules.io, node.base, bo, sessionId);
      const c = await rawWsPlayer(modules.WebSocket, node.port, cy, sessionId);
      players.push(a, b, c);
      const all = [[a, ada], [b, bo], [c, cy]];

      for (const [i, [mover, user]] of all.entries()) {
        const pieceId = i + 1;
        const spot = safeSpot(a.state, pieceId);
        const others = all.filter(([p]) => p !== mover).map(([p]) => p);

        await mover.lock(pieceId);
        for (const o of others) {
          const locked = await o.log.waitFor('PieceLocked', (d) => d.pieceId === pieceId);
          assert.equal(locked.userId, user.userId, `${o.log.label} sees who holds it`);
        }

        await mover.move(pieceId, spot.x, spot.y);
        const seen = await Promise.all(all.map(([p]) =>
          p.log.waitFor('PieceMoved', (d) => d.pieceId === pieceId)));
        const versions = seen.map((d) => d.version);
        assert.ok(Number.isInteger(versions[0]) && versions[0] > 0, `version ${versions[0]}`);
        assert.deepEqual(versions, [versions[0], versions[0], versions[0]],
          `one version for ${mover.log.label}'s move on every transport`);
        for (const d of seen) {
          assert.equal(d.x, spot.x);
          assert.equal(d.y, spot.y);
        }

        const text = `hello from ${mover.log.label} ✓`;
        await mover.chat(text);
        const lines = await Promise.all(all.map(([p]) =>
          p.log.waitFor('ChatMessageReceived', (d) => d.message === text)));
        assert.deepEqual(lines.map((d) => d.userId), [user.userId, user.userId, user.userId]);
        assert.equal(new Set(lines.map((d) => d.id)).size, 1, 'one chat message id');
      }
    });
}
