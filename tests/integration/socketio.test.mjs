// End-to-end test of the Socket.IO endpoint (contract.md section 5): the
// real puzzle-node driven by the real socket.io-client over polling only,
// WebSocket only, and polling then upgrade, playing the puzzle events with
// acks, plus bad input that must end only the offending connection.
//
// Run through CTest (tests/integration/CMakeLists.txt), or by hand:
//   PUZZLE_NODE_BIN=build/ci/cluster/puzzle-node node --test \
//     tests/integration/socketio.test.mjs
// PUZZLE_TEST_VERBOSE=1 prints the node's log. No fixed sleeps: every wait
// is for an event, an ack or a close, with a bounded timeout.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import {
  CALL_TIMEOUT_MS, EVENT_TIMEOUT_MS, PuzzleNode, UUID_RE, VERBOSE, findBinary, http, safeSpot,
  withTimeout,
} from './support/harness.mjs';
import { QueuedSocket, load } from './socketio_support.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');

const SERVER_EVENTS = [
  'session_state', 'user_joined', 'user_left', 'piece_locked', 'piece_unlocked',
  'piece_dragged', 'piece_moved', 'pieces_joined', 'puzzle_completed', 'chat_message',
  'cursor_moved', 'error',
];

const MODES = [
  { label: 'polling', options: { transports: ['polling'] }, transport: 'polling' },
  { label: 'websocket', options: { transports: ['websocket'] }, transport: 'websocket' },
  { label: 'upgrade', options: { transports: ['polling', 'websocket'] }, transport: 'websocket' },
];

const ioClient = load('socket.io-client');
const wsModule = load('ws');

/// One socket.io-client socket with an event log and promise-based waits.
class Player {
  constructor(io, base, label, user, options) {
    this.label = label;
    this.user = user;
    this.events = [];
    this.waiters = [];
    this.socket = io(base, {
      auth: user ? { token: user.token } : {},
      reconnection: false,
      forceNew: true,
      timeout: CALL_TIMEOUT_MS,
      ...options,
    });
    for (const name of SERVER_EVENTS) {
      this.socket.on(name, (data) => this._record(name, data));
    }
  }

  connected() {
    return withTimeout(new Promise((resolve, reject) => {
      if (this.socket.connected) return resolve();
      this.socket.once('connect', resolve);
      this.socket.once('connect_error', reject);
    }), CALL_TIMEOUT_MS, `${this.label} to connect`);
  }

  transportName() {
    return this.socket.io.engine.transport.name;
  }

  upgraded() {
    return withTimeout(new Promise((resolve) => {
      const engine = this.socket.io.engine;
      if (engine.transport.name === 'websocket') return resolve();
      engine.once('upgrade', () => resolve());
    }), CALL_TIMEOUT_MS, `${this.label} to upgrade`);
  }

  call(event, ...args) {
    return withTimeout(this.socket.emitWithAck(event, ...args), CALL_TIMEOUT_MS,
      `${this.label}: ack of ${event}`);
  }

  _record(name, data) {
    const event = { name, data };
    this.events.push(event);
    this.waiters = this.waiters.filter((w) => {
      if (w.name !== name || !w.pred(data)) return true;
      w.resolve(data);
      return false;
    });
  }

  mark() {
    return this.events.length;
  }

  /// The first `name` event at or after `from` that satisfies `pred`.
  waitFor(name, pred = () => true, from = 0) {
    const found = this.events.slice(from).find((e) => e.name === name && pred(e.data));
    if (found) return Promise.resolve(found.data);
    return withTimeout(new Promise((resolve) => {
      this.waiters.push({ name, pred, resolve });
    }), EVENT_TIMEOUT_MS, `${this.label} to get ${name}`);
  }

  close() {
    this.socket.close();
  }
}

if (ioClient.problem || wsModule.problem) {
  test('socket.io prerequisites', () => assert.fail(ioClient.problem ?? wsModule.problem));
} else {
  const found = findBinary();
  if (found.problem) {
    test('puzzle-node binary', () => assert.fail(found.problem));
  } else {
    defineSuite(ioClient.module.io, wsModule.module.WebSocket, found.bin);
  }
}

function defineSuite(io, WebSocket, bin) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'puzzle-sio-'));
  const node = new PuzzleNode(bin, {
    dataDir: path.join(tmp, 'data'),
    webRoot: process.env.PUZZLE_WEB_ROOT ?? path.join(REPO, 'web', 'public'),
    env: { PUZZLE_JWT_SECRET: crypto.randomBytes(32).toString('hex') },
  });
  const players = [];
  let failed = false;
  let sessionId;
  let state;
  const users = {};

  const step = (name, fn) => test(name, async () => {
    try {
      await fn();
    } catch (err) {
      failed = true;
      throw err;
    }
  });

  const guest = async (displayName) => {
    const res = await http('POST', `${node.base}/api/auth/guest`, { body: { displayName } });
    assert.equal(res.status, 200, res.text);
    return res.json;
  };

  const player = (label, user, options) => {
    const p = new Player(io, node.base, label, user, options);
    players.push(p);
    return p;
  };

  before(async () => {
    await node.start();
    for (const name of ['Ana', 'Ben', 'Cy', 'Dee']) users[name] = await guest(name);
    const res = await http('POST', `${node.base}/api/sessions`, {
      token: users.Ana.token,
      body: { name: 'socket.io table', imageId: 'aurora-lake', rows: 3, cols: 3, public: true },
    });
    assert.equal(res.status, 201, res.text);
    sessionId = res.json.sessionId ?? res.json.id;
    assert.match(sessionId, UUID_RE);
  });

  after(async () => {
    for (const p of players) p.close();
    const status = await node.stop();
    if (failed || VERBOSE) process.stderr.write(`puzzle-node output:\n${node.tail(80)}\n`);
    fs.rmSync(tmp, { recursive: true, force: true });
    assert.equal(status?.code, 0, `puzzle-node exit: ${JSON.stringify(status)}`);
  });

  describe('three socket.io-client transports play one session', () => {
    const table = {};

    step('each connects with its token and stays on its transport', async () => {
      const names = ['Ana', 'Ben', 'Cy'];
      MODES.forEach((mode, i) => {
        table[mode.label] = player(`${names[i]}/${mode.label}`, users[names[i]], mode.options);
      });
      for (const mode of MODES) await table[mode.label].connected();
      await table.upgrade.upgraded();
      for (const mode of MODES) {
        assert.equal(table[mode.label].transportName(), mode.transport, mode.label);
        assert.ok(table[mode.label].socket.id, 'the Socket.IO sid');
      }
    });

    step('join answers with the session state and tells the others', async () => {
      const marks = Object.fromEntries(MODES.map((m) => [m.label, table[m.label].mark()]));
      for (const mode of MODES) {
        const p = table[mode.label];
        const ack = await p.call('join', { sessionId });
        assert.equal(ack.ok, true, JSON.stringify(ack));
        assert.equal(ack.sessionId, sessionId);
        assert.equal(ack.pieces.length, 9);
        state = ack;
        await p.waitFor('session_state', (s) => s.sessionId === sessionId, marks[mode.label]);
      }
      await table.polling.waitFor('user_joined', (u) => u.userId === users.Cy.userId,
        marks.polling);
      await table.websocket.waitFor('user_joined', (u) => u.userId === users.Cy.userId,
        marks.websocket);
    });

    step('lock and move reach every transport with one version', async () => {
      const ana = table.polling;
      const marks = MODES.map((m) => table[m.label].mark());
      const lock = await ana.call('lock_piece', { sessionId, pieceId: 4 });
      assert.equal(lock.ok, true, JSON.stringify(lock));
      assert.equal(lock.granted, true);
      for (const [i, m] of MODES.entries()) {
        await table[m.label].waitFor('piece_locked', (e) => e.pieceId === 4, marks[i]);
      }
      const spot = safeSpot(state, 4);
      const move = await ana.call('move_piece', { sessionId, pieceId: 4, ...spot, rotation: 0 });
      assert.equal(move.ok, true, JSON.stringify(move));
      assert.equal(move.success, true);
      assert.ok(move.version > 0);
      for (const [i, m] of MODES.entries()) {
        const moved = await table[m.label].waitFor('piece_moved',
          (e) => e.pieceId === 4 && e.version === move.version, marks[i]);
        assert.equal(moved.movedBy, users.Ana.userId);
      }
      // The drop released the lock.
      const after = await ana.call('unlock_piece', { sessionId, pieceId: 4 });
      assert.ok(after.ok === true || after.code === 'PIECE_NOT_HELD', JSON.stringify(after));
    });

    step('a piece held by another is refused', async () => {
      const ben = table.websocket;
      const cy = table.upgrade;
      assert.equal((await ben.call('lock_piece', { sessionId, pieceId: 0 })).granted, true);
      const denied = await cy.call('lock_piece', { sessionId, pieceId: 0 });
      assert.ok(denied.granted === false || denied.code === 'PIECE_LOCKED',
        JSON.stringify(denied));
      const move = await cy.call('move_piece', { sessionId, pieceId: 0, x: 10, y: 10, rotation: 0 });
      assert.equal(move.ok, false, JSON.stringify(move));
      assert.match(move.code, /PIECE_LOCKED|PIECE_NOT_HELD/);
      assert.equal((await ben.call('unlock_piece', { sessionId, pieceId: 0 })).ok, true);
    });

    step('chat reaches everyone, drags and cursors reach the others', async () => {
      const marks = MODES.map((m) => table[m.label].mark());
      const text = 'hello from socket.io 🧩';
      assert.equal((await table.upgrade.call('chat_message', { sessionId, message: text })).ok,
        true);
      for (const [i, m] of MODES.entries()) {
        const msg = await table[m.label].waitFor('chat_message', (e) => e.message === text,
          marks[i]);
        assert.equal(msg.userId, users.Cy.userId);
      }
      assert.equal((await table.websocket.call('lock_piece', { sessionId, pieceId: 8 })).ok, true);
      table.websocket.socket.emit('drag_piece', { sessionId, pieceId: 8, x: 33, y: 44, rotation: 0 });
      await table.polling.waitFor('piece_dragged', (e) => e.pieceId === 8 && e.x === 33,
        marks[0]);
      table.polling.socket.emit('cursor', { sessionId, x: 5, y: 6 });
      await table.upgrade.waitFor('cursor_moved', (e) => e.userId === users.Ana.userId,
        marks[2]);
      assert.equal((await table.websocket.call('unlock_piece', { sessionId, pieceId: 8 })).ok,
        true);
    });

    step('bad arguments get ok:false acks, or an error event without ack', async () => {
      const ben = table.websocket;
      const bad = await ben.call('move_piece', { sessionId, pieceId: 1, x: 'left', y: 0, rotation: 0 });
      assert.deepEqual([bad.ok, bad.code], [false, 'INVALID_MOVE']);
      assert.match(bad.message, /x/);
      const unknown = await ben.call('fly_piece', { sessionId });
      assert.deepEqual([unknown.ok, unknown.code], [false, 'INVALID_MESSAGE']);
      const notJoined = await ben.call('lock_piece', { sessionId: crypto.randomUUID(), pieceId: 0 });
      assert.equal(notJoined.ok, false);
      const mark = ben.mark();
      ben.socket.emit('chat_message', { sessionId, message: '   ' });
      const err = await ben.waitFor('error', () => true, mark);
      assert.equal(err.code, 'INVALID_MESSAGE');
      assert.equal(typeof err.message, 'string');
    });

    step('an oversized event is refused naming the limit; the socket stays', async () => {
      const ana = table.polling;
      const mark = ana.mark();
      ana.socket.emit('chat_message', { sessionId, message: 'x'.repeat(70 * 1024) });
      const err = await ana.waitFor('error', (e) => e.code === 'LIMIT_EXCEEDED', mark);
      assert.match(err.message, /max-message-bytes/);
      assert.equal(ana.socket.connected, true);
      const ok = await ana.call('get_state', { sessionId });
      assert.equal(ok.ok, true);
    });

    step('leave tells the others; a disconnect too', async () => {
      const marks = MODES.map((m) => table[m.label].mark());
      const left = await table.upgrade.call('leave');
      assert.equal(left.ok, true, JSON.stringify(left));
      await table.polling.waitFor('user_left', (e) => e.userId === users.Cy.userId, marks[0]);
      table.websocket.close();
      await table.polling.waitFor('user_left', (e) => e.userId === users.Ben.userId, marks[0]);
    });
  });

  describe('authentication and bad input', () => {
    step('an invalid token is refused with CONNECT_ERROR', async () => {
      const p = player('forged', { token: 'not.a.jwt' }, { transports: ['websocket'] });
      const err = await p.connected().then(() => null, (e) => e);
      assert.ok(err, 'connect_error expected');
      assert.ok(err.message.length > 0);
      assert.equal(err.data?.code, 'UNAUTHORIZED');
    });

    step('garbage, events before CONNECT and bad packets close only that socket', async () => {
      const ana = player('Ana/witness', users.Ana, { transports: ['websocket'] });
      await ana.connected();
      assert.equal((await ana.call('join', { sessionId })).ok, true);
      const url = `${node.base.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`;
      const cases = [['garbage', 'hello'], ['event before CONNECT', '42["join",{}]'],
        ['unknown packet type', '49'], ['binary garbage', Buffer.from([0xff, 0, 1])]];
      for (const [what, bad] of cases) {
        const s = new QueuedSocket(WebSocket, url);
        assert.ok((await s.next()).startsWith('0{'), what);
        if (what === 'binary garbage') {
          s.send('40');
          assert.ok((await s.nextNonPing()).startsWith('40{'));
        }
        s.send(bad);
        await s.waitClose();
      }
      const still = await ana.call('get_state', { sessionId });
      assert.equal(still.ok, true);
      assert.equal(ana.socket.connected, true);
    });

    step('an oversized polling body is 413 and the node carries on', async () => {
      const open = await fetch(`${node.base}/socket.io/?EIO=4&transport=polling`);
      const sid = JSON.parse((await open.text()).slice(1)).sid;
      const res = await fetch(`${node.base}/socket.io/?EIO=4&transport=polling&sid=${sid}`, {
        method: 'POST', body: `4${'x'.repeat(1_000_001)}`,
      }).catch(() => ({ status: 413 }));
      assert.equal(res.status, 413);
      const health = await http('GET', `${node.base}/health/ready`);
      assert.equal(health.status, 200);
    });
  });
}
