// End-to-end test of the raw WebSocket endpoint /ws (contract.md section 6):
// the real puzzle-node, driven by the npm `ws` client for the protocol and by
// a raw TCP client (support/raw_ws.mjs) for RFC 6455 conformance; a mixed
// session where a SignalR client and a raw WebSocket client see each other's
// locks, moves and chat with the same versions.
//
// Run through CTest (tests/integration/CMakeLists.txt); see signalr.test.mjs
// for the environment it needs. No fixed sleeps: every wait is for a message
// or a close with a bounded timeout.

import { after, before, describe, test } from 'node:test';
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
import { JsonSocket } from './support/json_socket.mjs';
import { OP, RawWebSocket, closePayload } from './support/raw_ws.mjs';

const ISO_RE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
const MAX_MESSAGE_BYTES = 64 * 1024; // limits.max-message-bytes, the default

function loadModules() {
  const require = createRequire(import.meta.url);
  try {
    return { WebSocket: require('ws'), signalR: require('@microsoft/signalr') };
  } catch (err) {
    return {
      problem: `cannot load ws and @microsoft/signalr (${err.code ?? err.message}): ` +
        SETUP_HINT,
    };
  }
}

function defineSuite({ WebSocket, signalR }, bin) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'puzzle-ws-'));
  const node = new PuzzleNode(bin, {
    dataDir: path.join(tmp, 'data'),
    webRoot: process.env.PUZZLE_WEB_ROOT ?? path.join(tmp, 'web'),
    env: { PUZZLE_JWT_SECRET: crypto.randomBytes(32).toString('hex') },
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

  const wsUrl = (token) => `ws://127.0.0.1:${node.port}/ws` +
    (token ? `?access_token=${encodeURIComponent(token)}` : '');
  const connect = async (token) => {
    const socket = await JsonSocket.open(WebSocket, wsUrl(token));
    open.push(socket);
    return socket;
  };
  const raw = async () => {
    const socket = await RawWebSocket.connect(wsUrl());
    open.push({ close: async () => socket.destroy() });
    return socket;
  };
  const guest = async (displayName) => {
    const res = await http('POST', `${node.base}/api/auth/guest`,
      { body: { displayName } });
    assert.ok(res.status === 200 || res.status === 201, res.text);
    return res.json;
  };
  const createSession = async (user, rows, cols) => {
    const res = await http('POST', `${node.base}/api/sessions`, {
      token: user.token,
      body: { name: 'ws test', imageId: 'aurora-lake', rows, cols, public: true },
    });
    assert.equal(res.status, 201, res.text);
    const id = res.json?.sessionId ?? res.json?.id;
    assert.match(String(id), UUID_RE, `session id in ${res.text}`);
    return id;
  };
  /// The node still serves everybody: a fresh connection gets a pong.
  const assertNodeServes = async () => {
    const probe = await connect();
    probe.send({ type: 'ping' });
    assert.equal((await probe.next('a pong')).type, 'pong');
    await probe.close();
  };

  before(async () => {
    await node.start();
  });

  after(async () => {
    for (const socket of open) await socket.close().catch(() => {});
    const status = await node.stop();
    if (failed) process.stderr.write(`puzzle-node output:\n${node.tail(120)}\n`);
    assert.equal(status?.code, 0, 'puzzle-node exits 0 on SIGTERM');
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  describe('the seed protocol', () => {
    step('ping is answered by pong with an ISO-8601 timestamp', async () => {
      const a = await connect();
      a.send({ type: 'ping' });
      const pong = await a.next('pong');
      assert.equal(pong.type, 'pong');
      assert.match(pong.timestamp, ISO_RE);
      assert.ok(Math.abs(Date.parse(pong.timestamp) - Date.now()) < 60_000);
    });

    step('broadcast reaches every subscriber of the channel, sender included',
      async () => {
        const a = await connect();
        const b = await connect();
        const c = await connect();
        for (const s of [a, b]) {
          s.send({ type: 'subscribe', channel: 'lobby' });
          assert.deepEqual(await s.next('subscribed'),
            { type: 'subscribed', channel: 'lobby' });
        }
        c.send({ type: 'subscribe', channel: 'elsewhere' });
        await c.next('subscribed');
        const data = { text: 'héllo ✓', n: [1, 2, 3] };
        a.send({ type: 'broadcast', channel: 'lobby', data });
        for (const s of [a, b]) {
          const msg = await s.next('the broadcast');
          assert.equal(msg.type, 'message');
          assert.equal(msg.channel, 'lobby');
          assert.deepEqual(msg.data, data);
          assert.match(msg.timestamp, ISO_RE);
        }
        // c hears nothing of lobby: its next message is its own pong.
        c.send({ type: 'ping' });
        assert.equal((await c.next('pong')).type, 'pong');

        b.send({ type: 'unsubscribe', channel: 'lobby' });
        assert.deepEqual(await b.next('unsubscribed'),
          { type: 'unsubscribed', channel: 'lobby' });
        a.send({ type: 'broadcast', channel: 'lobby', data: 2 });
        assert.equal((await a.next('the second broadcast')).data, 2);
        b.send({ type: 'ping' });
        assert.equal((await b.next('pong, not the broadcast')).type, 'pong');
      });

    step('unknown and undecodable messages get the seed\'s errors', async () => {
      const a = await connect();
      a.send({ type: 'teleport' });
      assert.deepEqual(await a.next('error'), {
        type: 'error', code: 'INVALID_MESSAGE', message: 'Unknown message type',
      });
      for (const text of ['not json', '[1,2]', '{"type":', '']) {
        a.send(text);
        const err = await a.next(`the error for ${JSON.stringify(text)}`);
        assert.equal(err.type, 'error');
        assert.equal(err.message, 'Invalid message format');
      }
      a.ws.send(Buffer.from([1, 2, 3]), { binary: true });
      assert.equal((await a.next('the error for binary')).message,
        'Invalid message format');
      // ...and the connection carries on.
      a.send({ type: 'ping' });
      assert.equal((await a.next('pong')).type, 'pong');
    });

    step('a channel name over the limit is refused with LIMIT_EXCEEDED', async () => {
      const a = await connect();
      a.send({ type: 'subscribe', channel: 'x'.repeat(201) });
      const err = await a.next('error');
      assert.equal(err.code, 'LIMIT_EXCEEDED');
      assert.match(err.message, /limits\.max-channel-name-bytes/);
      a.send({ type: 'broadcast', channel: 'session:abc', data: 1 });
      assert.equal((await a.next('error')).code, 'FORBIDDEN');
    });

    step('an invalid access token is refused at the upgrade with 401', async () => {
      await assert.rejects(JsonSocket.open(WebSocket, wsUrl('not-a-token')),
        /HTTP 401/);
    });
  });

  describe('puzzle operations', () => {
    let owner;
    let sessionId;
    let a;
    let b;

    before(async () => {
      owner = await guest('Ada');
      sessionId = await createSession(owner, 2, 3);
      a = await connect(owner.token);
      b = await connect((await guest('Bo')).token);
    });

    step('join answers with the session state; the channel carries events',
      async () => {
        const joined = await a.call('join', { sessionId });
        assert.equal(joined.type, 'ack', JSON.stringify(joined));
        assert.equal(joined.op, 'join');
        assert.equal(joined.result.sessionId, sessionId);
        assert.equal(joined.result.pieces.length, 6);
        b.send({ type: 'subscribe', channel: `session:${sessionId}` });
        assert.deepEqual(await b.until((m) => m.type === 'subscribed', 'subscribed'),
          { type: 'subscribed', channel: `session:${sessionId}` });
        const seen = await a.event('UserJoined', (d) => d.username === 'Bo');
        assert.equal(seen.channel, `session:${sessionId}`);
      });

    step('lock, move and unlock are acknowledged and reach the other', async () => {
      const state = (await a.call('state', { sessionId })).result;
      const spot = safeSpot(state, 0);
      const lock = await a.call('lock', { sessionId, pieceId: 0 });
      assert.equal(lock.type, 'ack', JSON.stringify(lock));
      assert.equal(lock.result.granted, true);
      const locked = await b.event('PieceLocked', (d) => d.pieceId === 0);
      assert.equal(locked.data.userId, owner.userId);

      // A refused grab is an answer, not an error: it says who holds it.
      const refused = await b.call('lock', { sessionId, pieceId: 0 });
      assert.equal(refused.type, 'ack', JSON.stringify(refused));
      assert.equal(refused.result.granted, false);
      assert.equal(refused.result.lockedBy, owner.userId);
      const notHolder = await b.call('move', {
        sessionId, pieceId: 0, x: 1, y: 1, rotation: 0,
      });
      assert.equal(notHolder.type, 'error');
      assert.equal(notHolder.code, 'PIECE_LOCKED');

      const move = await a.call('move', {
        sessionId, pieceId: 0, x: spot.x, y: spot.y, rotation: 0,
      });
      assert.equal(move.type, 'ack', JSON.stringify(move));
      assert.equal(move.result.success, true);
      const moved = await b.event('PieceMoved', (d) => d.pieceId === 0);
      assert.equal(moved.data.x, spot.x);
      assert.equal(moved.data.y, spot.y);
      assert.equal(moved.data.version, move.result.version);

      // The drop released the piece; grab it again and let go without a move.
      await b.event('PieceUnlocked', (d) => d.pieceId === 0);
      assert.equal((await a.call('lock', { sessionId, pieceId: 0 })).result.granted, true);
      const unlock = await a.call('unlock', { sessionId, pieceId: 0 });
      assert.equal(unlock.type, 'ack', JSON.stringify(unlock));
      await b.event('PieceUnlocked', (d) => d.pieceId === 0);
    });

    step('bad operations get a coded error and the connection carries on',
      async () => {
        const nan = await a.call('move', {
          sessionId, pieceId: 1, x: 'NaN', y: 0, rotation: 0,
        });
        assert.equal(nan.code, 'INVALID_MOVE');
        const noSession = await a.call('lock', {
          sessionId: crypto.randomUUID(), pieceId: 1,
        });
        assert.equal(noSession.type, 'error');
        assert.ok(['SESSION_NOT_FOUND', 'NOT_JOINED'].includes(noSession.code),
          noSession.code);
        const chat = await a.call('chat', { sessionId, message: 'x'.repeat(501) });
        assert.equal(chat.type, 'error');
        const ok = await a.call('chat', { sessionId, message: 'hello 👋' });
        assert.equal(ok.type, 'ack', JSON.stringify(ok));
        const heard = await b.event('ChatMessageReceived');
        assert.equal(heard.data.message, 'hello 👋');
      });

    step('a message over limits.max-message-bytes closes with 1009, others carry on',
      async () => {
        const big = await connect();
        big.send({ type: 'broadcast', channel: 'c', data: 'x'.repeat(MAX_MESSAGE_BYTES) });
        const { code } = await withTimeout(big.closed, CALL_TIMEOUT_MS, 'the close');
        assert.equal(code, 1009);
        await assertNodeServes();
        assert.equal((await a.call('state', { sessionId })).type, 'ack');
      });
  });

  describe('a mixed session: SignalR and raw WebSocket', () => {
    step('locks, moves and chat reach the other transport with the same versions',
      async () => {
        const ada = await guest('Ada SignalR');
        const bo = await guest('Bo WebSocket');
        const sessionId = await createSession(ada, 2, 2);
        const hub = new signalR.HubConnectionBuilder()
          .withUrl(`${node.base}/puzzlehub`, {
            accessTokenFactory: () => ada.token,
            transport: signalR.HttpTransportType.WebSockets,
          })
          .configureLogging(signalR.LogLevel.None)
          .build();
        const hubEvents = [];
        const hubWaiters = [];
        for (const name of ['PieceLocked', 'PieceMoved', 'ChatMessageReceived']) {
          hub.on(name, (data) => {
            hubEvents.push({ name, data });
            hubWaiters.splice(0).forEach((w) => w());
          });
        }
        const hubEvent = (name, pred) => withTimeout(new Promise((resolve) => {
          const check = () => {
            const e = hubEvents.find((x) => x.name === name && pred(x.data));
            if (e) resolve(e.data);
            else hubWaiters.push(check);
          };
          check();
        }), EVENT_TIMEOUT_MS, `SignalR ${name}`);
        open.push({ close: () => hub.stop() });
        await hub.start();
        const state = await hub.invoke('JoinPuzzleSession', sessionId, ada.userId);
        const ws = await connect(bo.token);
        assert.equal((await ws.call('join', { sessionId })).type, 'ack');

        // raw WebSocket -> SignalR
        const spot = safeSpot(state, 1);
        assert.equal((await ws.call('lock', { sessionId, pieceId: 1 })).type, 'ack');
        const wsLocked = await ws.event('PieceLocked', (d) => d.pieceId === 1);
        const hubLocked = await hubEvent('PieceLocked', (d) => d.pieceId === 1);
        assert.equal(wsLocked.data.userId, bo.userId);
        assert.equal(hubLocked.userId, bo.userId);
        assert.equal(hubLocked.expiresAt, wsLocked.data.expiresAt);
        await ws.call('move', { sessionId, pieceId: 1, x: spot.x, y: spot.y, rotation: 0 });
        const wsMoved = await ws.event('PieceMoved', (d) => d.pieceId === 1);
        const hubMoved = await hubEvent('PieceMoved', (d) => d.pieceId === 1);
        assert.equal(hubMoved.version, wsMoved.data.version);
        assert.equal(hubMoved.x, spot.x);

        // SignalR -> raw WebSocket
        const spot2 = safeSpot(state, 2);
        await hub.invoke('LockPiece', sessionId, 2);
        await hub.invoke('MovePiece', sessionId, 2, spot2.x, spot2.y, 0);
        const hubMoved2 = await hubEvent('PieceMoved', (d) => d.pieceId === 2);
        const wsMoved2 = await ws.event('PieceMoved', (d) => d.pieceId === 2);
        assert.equal(wsMoved2.data.version, hubMoved2.version);
        assert.equal(wsMoved2.data.y, spot2.y);

        await hub.invoke('SendChatMessage', sessionId, 'from SignalR');
        assert.equal((await ws.event('ChatMessageReceived')).data.message, 'from SignalR');
        await ws.call('chat', { sessionId, message: 'from /ws' });
        const chat = await hubEvent('ChatMessageReceived', (d) => d.message === 'from /ws');
        assert.equal(chat.userId, bo.userId);
        await hub.stop();
      });
  });

  describe('RFC 6455 conformance', () => {
    for (const size of [0, 1, 125, 126, 127, 65535, MAX_MESSAGE_BYTES]) {
      step(`a ${size}-byte text message is read whole`, async () => {
        const s = await raw();
        // A ping padded with JSON whitespace to exactly `size` bytes; below
        // the ping's own size, an invalid message (answered with an error).
        const ping = '{"type":"ping"}';
        const text = size >= ping.length ? ping + ' '.repeat(size - ping.length)
          : 'x'.repeat(size);
        s.sendText(text);
        const reply = await s.nextJson();
        assert.equal(reply.type, size >= ping.length ? 'pong' : 'error');
        s.destroy();
      });
    }

    step('a ping is answered with a pong carrying the same payload', async () => {
      const s = await raw();
      s.sendFrame(OP.ping, Buffer.from('are you there?'));
      const pong = await s.nextFrame();
      assert.equal(pong.opcode, OP.pong);
      assert.equal(pong.payload.toString(), 'are you there?');
      assert.equal(pong.masked, false, 'server frames are never masked');
      s.destroy();
    });

    step('fragments with a ping in between make one message', async () => {
      const s = await raw();
      s.sendFrame(OP.text, Buffer.from('{"type":'), { fin: false });
      s.sendFrame(OP.ping, Buffer.from('mid'));
      s.sendFrame(OP.continuation, Buffer.from('"pi'), { fin: false });
      s.sendFrame(OP.continuation, Buffer.from('ng"}'));
      const pong = await s.nextFrame();
      assert.equal(pong.opcode, OP.pong);
      assert.equal(pong.payload.toString(), 'mid');
      assert.equal((await s.nextJson()).type, 'pong');
      s.destroy();
    });

    const protocolErrors = [
      ['an unmasked client frame', (s) => s.sendFrame(OP.text, '{}', { mask: false }), 1002],
      ['a reserved bit set', (s) => s.sendFrame(OP.text, '{}', { rsv: 4 }), 1002],
      ['a reserved data opcode', (s) => s.sendFrame(0x3, 'x'), 1002],
      ['a reserved control opcode', (s) => s.sendFrame(0xb, 'x'), 1002],
      ['a control frame over 125 bytes', (s) => s.sendFrame(OP.ping, Buffer.alloc(126)), 1002],
      ['a fragmented control frame', (s) => s.sendFrame(OP.ping, 'x', { fin: false }), 1002],
      ['a continuation without a start', (s) => s.sendFrame(OP.continuation, 'x'), 1002],
      ['a new message inside a fragmented one', (s) => {
        s.sendFrame(OP.text, '{', { fin: false });
        s.sendFrame(OP.text, '}');
      }, 1002],
      ['invalid UTF-8', (s) => s.sendFrame(OP.text, Buffer.from([0x7b, 0xff, 0x7d])), 1007],
      ['invalid UTF-8 split across fragments', (s) => {
        // U+20AC is E2 82 AC; E2 82 followed by a fresh start byte is invalid.
        s.sendFrame(OP.text, Buffer.from([0x22, 0xe2, 0x82]), { fin: false });
        s.sendFrame(OP.continuation, Buffer.from([0x41, 0x22]));
      }, 1007],
      ['a message over limits.max-message-bytes',
        (s) => s.sendFrame(OP.text, Buffer.alloc(MAX_MESSAGE_BYTES + 1, 0x20)), 1009],
      ['a close code that may not be sent (1005)',
        (s) => s.sendFrame(OP.close, closePayload(1005)), 1002],
      ['an unassigned close code (999)',
        (s) => s.sendFrame(OP.close, closePayload(999)), 1002],
      ['a one-byte close payload', (s) => s.sendFrame(OP.close, Buffer.from([3])), 1002],
    ];
    for (const [what, send, expected] of protocolErrors) {
      step(`${what} closes the connection with ${expected}`, async () => {
        const s = await raw();
        send(s);
        const { code } = await s.closeFrame();
        assert.equal(code, expected);
        await assertNodeServes();
      });
    }

    for (const code of [1000, 1001, 3000, 4999]) {
      step(`a close with the valid code ${code} is echoed`, async () => {
        const s = await raw();
        s.sendFrame(OP.close, closePayload(code, 'bye'));
        const frame = await s.nextFrame();
        assert.equal(frame.opcode, OP.close);
        assert.equal(frame.code, code);
        s.destroy();
      });
    }

    step('garbage instead of frames drops that connection only', async () => {
      const s = await raw();
      s.send(Buffer.from('GET / HTTP/1.1\r\n\r\n'.repeat(4)));
      await withTimeout(s.closedPromise, CALL_TIMEOUT_MS, 'the connection to end');
      await assertNodeServes();
    });
  });
}

const modules = loadModules();
const { bin, problem: binaryProblem } = findBinary();
const problems = [modules.problem, binaryProblem].filter(Boolean);
if (problems.length > 0) {
  test('integration test prerequisites', () => {
    assert.fail(problems.join('\n'));
  });
} else {
  defineSuite(modules, bin);
}
