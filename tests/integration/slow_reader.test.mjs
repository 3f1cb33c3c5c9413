// A client that stops reading (performance.md S8) must not hold the node:
// once its outbound queue overflows (limits.outbound-queue-bytes) the node
// starts closing it, and when the write in flight does not complete within
// limits.slow-write-timeout the socket is cut and the reason logged. The
// other players of the session keep getting their acks and events the
// whole time, and the node's memory stays bounded.
//
// The stuck reader is a raw TCP WebSocket client (support/raw_ws.mjs) that
// joins a session and a channel and then pauses its socket; a second
// client fills that channel with large publications (the fastest way to
// fill the kernel's buffers on loopback) and drags a piece, which a third
// client watches. No fixed sleeps: every wait is for a message, a log line
// or a close, with a deadline.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

import {
  CALL_TIMEOUT_MS, EVENT_TIMEOUT_MS, PuzzleNode, SETUP_HINT, findBinary, http,
  withTimeout,
} from './support/harness.mjs';
import { JsonSocket } from './support/json_socket.mjs';
import { OP, RawWebSocket } from './support/raw_ws.mjs';

const QUEUE_BYTES = 65_536; // limits.outbound-queue-bytes, its minimum
const SLOW_WRITE_TIMEOUT_MS = 1_000; // limits.slow-write-timeout
const CUT_MARGIN_MS = 2_000; // scheduling slack on a busy machine
const PUBLICATION_BYTES = 60_000; // under limits.max-message-bytes (64 KiB)
// Loopback buffers can hold ~10 MB (the node's send buffer and the stuck
// client's receive buffer, both autotuned); this is well above that.
const MAX_PUBLICATIONS = 1_000;
const RSS_GROWTH_LIMIT = 64 << 20;

function loadWs() {
  const require = createRequire(import.meta.url);
  try {
    return { WebSocket: require('ws') };
  } catch (err) {
    return { problem: `cannot load ws (${err.code ?? err.message}): ${SETUP_HINT}` };
  }
}

function rssOf(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]);
  assert.ok(kb > 0, 'VmRSS of the node');
  return kb * 1024;
}

const { WebSocket, problem: wsProblem } = loadWs();
const { bin, problem: binaryProblem } = findBinary();

test('a reader that stopped is cut off; the others carry on',
  { timeout: 120_000 }, async () => {
    const problems = [wsProblem, binaryProblem].filter(Boolean);
    assert.ok(problems.length === 0, problems.join('\n'));
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'puzzle-slow-'));
    const node = new PuzzleNode(bin, {
      dataDir: path.join(tmp, 'data'),
      webRoot: process.env.PUZZLE_WEB_ROOT ?? path.join(tmp, 'web'),
      env: { PUZZLE_JWT_SECRET: crypto.randomBytes(32).toString('hex') },
      args: [
        `--limits.outbound-queue-bytes=${QUEUE_BYTES}`,
        `--limits.slow-write-timeout=${SLOW_WRITE_TIMEOUT_MS}ms`,
        // The flood must be refused by nobody but the stuck reader's queue.
        '--rate-limits.drags=token-bucket 100000 100000/1s',
      ],
    });
    const open = [];
    let stuck;
    try {
      await node.start();
      const wsUrl = (token) =>
        `ws://127.0.0.1:${node.port}/ws?access_token=${encodeURIComponent(token)}`;
      const guest = async (displayName) => {
        const res = await http('POST', `${node.base}/api/auth/guest`,
          { body: { displayName } });
        assert.ok(res.status === 200 || res.status === 201, res.text);
        return res.json;
      };
      const ada = await guest('Ada');
      const res = await http('POST', `${node.base}/api/sessions`, {
        token: ada.token,
        body: { name: 'slow reader', imageId: 'aurora-lake', rows: 2, cols: 3, public: true },
      });
      assert.equal(res.status, 201, res.text);
      const sessionId = res.json?.sessionId ?? res.json?.id;

      const flooder = await JsonSocket.open(WebSocket, wsUrl(ada.token));
      open.push(flooder);
      const observer = await JsonSocket.open(WebSocket, wsUrl((await guest('Bo')).token));
      open.push(observer);
      assert.equal((await flooder.call('join', { sessionId })).type, 'ack');
      assert.equal((await observer.call('join', { sessionId })).type, 'ack');

      // The stuck reader joins the session and the flood channel, then stops
      // reading: it takes nothing more from its socket.
      stuck = await RawWebSocket.connect(wsUrl((await guest('Cy')).token));
      stuck.sendText(JSON.stringify({ type: 'join', id: 1, sessionId }));
      stuck.sendText(JSON.stringify({ type: 'subscribe', channel: 'flood' }));
      const seen = new Set();
      while (!(seen.has('ack') && seen.has('subscribed'))) {
        const m = await stuck.nextJson(CALL_TIMEOUT_MS);
        seen.add(m.type);
      }
      stuck.socket.pause();

      const lock = await flooder.call('lock', { sessionId, pieceId: 0 });
      assert.equal(lock.result?.granted, true, JSON.stringify(lock));
      const rssBefore = rssOf(node.child.pid);

      // Flood until the node gives up on the stuck reader's queue; every
      // tenth publication a drag, acknowledged to its sender and seen by
      // the observer.
      const data = 'x'.repeat(PUBLICATION_BYTES);
      let overflowAt = 0;
      const overflow = node.waitForOutput(/event=slow_client /, 60_000)
        .then(() => { overflowAt = Date.now(); });
      let drags = 0;
      for (let i = 0; i < MAX_PUBLICATIONS && !overflowAt; i += 1) {
        flooder.send({ type: 'broadcast', channel: 'flood', data });
        if (i % 10 === 0) {
          drags += 1;
          const x = 10 + drags;
          const ack = await flooder.call('drag', { sessionId, pieceId: 0, x, y: 20, rotation: 0 });
          assert.equal(ack.type, 'ack', JSON.stringify(ack));
          const ev = await observer.until(
            (m) => m.type === 'event' && m.event === 'PieceDragged' && m.data.x === x,
            `PieceDragged to x=${x}`);
          assert.equal(ev.data.pieceId, 0);
        }
      }
      await overflow;
      assert.ok(overflowAt > 0, 'the stuck reader\'s queue overflowed');

      // The write in flight never completes: the node cuts the socket after
      // limits.slow-write-timeout, not later.
      await node.waitForOutput(/event=slow_client_cut /,
        SLOW_WRITE_TIMEOUT_MS + CUT_MARGIN_MS + 5_000);
      const cutAfter = Date.now() - overflowAt;
      assert.ok(cutAfter <= SLOW_WRITE_TIMEOUT_MS + CUT_MARGIN_MS,
        `cut ${cutAfter} ms after the overflow`);
      assert.match(node.output, /limits\.slow-write-timeout/);

      // The others carry on: acks and events as before.
      for (let k = 0; k < 5; k += 1) {
        const x = 500 + k;
        const ack = await flooder.call('drag', { sessionId, pieceId: 0, x, y: 30, rotation: 0 });
        assert.equal(ack.type, 'ack', JSON.stringify(ack));
        await observer.until(
          (m) => m.type === 'event' && m.event === 'PieceDragged' && m.data.x === x,
          `PieceDragged to x=${x} after the cut`);
      }

      // Memory stayed bounded by the queue limit, not by the flood.
      const growth = rssOf(node.child.pid) - rssBefore;
      assert.ok(growth < RSS_GROWTH_LIMIT, `RSS grew by ${growth} bytes`);

      // Reading again, the stuck client finds its connection gone: what the
      // kernel still held, then the end of the stream.
      stuck.socket.resume();
      await withTimeout(stuck.closedPromise, CALL_TIMEOUT_MS, 'the cut socket to end');
      assert.ok(stuck.frames.every((f) => f.opcode !== OP.close || f.code === 1013),
        'a Close frame, if any got through, says 1013');
    } catch (err) {
      process.stderr.write(`puzzle-node output:\n${node.tail(60)}\n`);
      throw err;
    } finally {
      stuck?.destroy();
      for (const socket of open) await socket.close().catch(() => {});
      const status = await node.stop();
      assert.equal(status?.code, 0, 'puzzle-node exits 0 on SIGTERM');
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

// The node frames its queued messages itself and writes a batch with one
// gather write, while Beast answers pings on the same socket: a pong must
// never land inside one of our frames, also when the socket takes only part
// of a write (here: the reader pauses while large publications pile up).
test('pongs and batched frames never interleave on the wire',
  { timeout: 120_000 }, async () => {
    const problems = [wsProblem, binaryProblem].filter(Boolean);
    assert.ok(problems.length === 0, problems.join('\n'));
    const PUBLICATIONS = 40; // ~2.4 MB: well under the default 4 MiB queue
    const PINGS = 20;
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'puzzle-gather-'));
    const node = new PuzzleNode(bin, {
      dataDir: path.join(tmp, 'data'),
      webRoot: process.env.PUZZLE_WEB_ROOT ?? path.join(tmp, 'web'),
      env: { PUZZLE_JWT_SECRET: crypto.randomBytes(32).toString('hex') },
    });
    let reader;
    let sender;
    try {
      await node.start();
      const url = `ws://127.0.0.1:${node.port}/ws`;
      reader = await RawWebSocket.connect(url);
      reader.sendText(JSON.stringify({ type: 'subscribe', channel: 'big' }));
      assert.equal((await reader.nextJson(CALL_TIMEOUT_MS)).type, 'subscribed');
      sender = await JsonSocket.open(WebSocket, url);
      reader.socket.pause();
      for (let i = 0; i < PUBLICATIONS; i += 1) {
        sender.send({ type: 'broadcast', channel: 'big', data: `${i}:${'y'.repeat(PUBLICATION_BYTES)}` });
        if (i % 2 === 0) reader.sendFrame(OP.ping, Buffer.from(`p${i / 2}`));
      }
      // The node has read every publication once it answers this ping.
      sender.send({ type: 'ping' });
      await sender.until((m) => m.type === 'pong', 'the sender\'s pong', CALL_TIMEOUT_MS);
      reader.socket.resume();

      const texts = [];
      const pongs = [];
      while (texts.length < PUBLICATIONS || pongs.length < PINGS) {
        const frame = await reader.nextFrame(CALL_TIMEOUT_MS);
        assert.equal(frame.fin, true);
        assert.equal(frame.rsv, 0);
        assert.equal(frame.masked, false, 'server frames are not masked');
        if (frame.opcode === OP.pong) {
          pongs.push(frame.payload.toString());
        } else {
          assert.equal(frame.opcode, OP.text, `opcode ${frame.opcode}`);
          texts.push(JSON.parse(frame.payload.toString()));
        }
      }
      assert.deepEqual(texts.map((m) => Number(m.data.split(':')[0])),
        [...Array(PUBLICATIONS).keys()], 'every publication, whole and in order');
      assert.ok(texts.every((m) => m.data.length === PUBLICATION_BYTES + String(
        m.data.split(':')[0]).length + 1));
      assert.deepEqual(pongs, [...Array(PINGS).keys()].map((k) => `p${k}`));
    } catch (err) {
      process.stderr.write(`puzzle-node output:\n${node.tail(60)}\n`);
      throw err;
    } finally {
      reader?.destroy();
      await sender?.close().catch(() => {});
      const status = await node.stop();
      assert.equal(status?.code, 0, 'puzzle-node exits 0 on SIGTERM');
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

// The same policy on Socket.IO's WebSocket transport: a Socket.IO client
// that stops reading is cut after limits.slow-write-timeout once its queue
// overflows, while a player of the same session keeps its acks and events.
// The stuck client speaks Engine.IO/Socket.IO on a raw WebSocket (so its
// socket can be paused); the flood is chat, the largest session event.
test('a Socket.IO reader that stopped is cut off; the others carry on',
  { timeout: 120_000 }, async () => {
    const problems = [wsProblem, binaryProblem].filter(Boolean);
    assert.ok(problems.length === 0, problems.join('\n'));
    const CHAT = '\u{1F9E9}'.repeat(500); // 500 code points, 2000 bytes
    const MAX_CHATS = 20_000;
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'puzzle-slow-sio-'));
    const node = new PuzzleNode(bin, {
      dataDir: path.join(tmp, 'data'),
      webRoot: process.env.PUZZLE_WEB_ROOT ?? path.join(tmp, 'web'),
      env: { PUZZLE_JWT_SECRET: crypto.randomBytes(32).toString('hex') },
      args: [
        `--limits.outbound-queue-bytes=${QUEUE_BYTES}`,
        `--limits.slow-write-timeout=${SLOW_WRITE_TIMEOUT_MS}ms`,
        '--rate-limits.chats=token-bucket 100000 100000/1s',
        '--rate-limits.drags=token-bucket 100000 100000/1s',
      ],
    });
    let flooder;
    let stuck;
    try {
      await node.start();
      const guest = async (displayName) => {
        const res = await http('POST', `${node.base}/api/auth/guest`,
          { body: { displayName } });
        assert.ok(res.status === 200 || res.status === 201, res.text);
        return res.json;
      };
      const ada = await guest('Ada');
      const res = await http('POST', `${node.base}/api/sessions`, {
        token: ada.token,
        body: { name: 'slow socket.io reader', imageId: 'aurora-lake', rows: 2, cols: 3, public: true },
      });
      assert.equal(res.status, 201, res.text);
      const sessionId = res.json?.sessionId ?? res.json?.id;
      flooder = await JsonSocket.open(WebSocket,
        `ws://127.0.0.1:${node.port}/ws?access_token=${encodeURIComponent(ada.token)}`);
      assert.equal((await flooder.call('join', { sessionId })).type, 'ack');
      const lock = await flooder.call('lock', { sessionId, pieceId: 0 });
      assert.equal(lock.result?.granted, true, JSON.stringify(lock));

      stuck = await RawWebSocket.connect(
        `ws://127.0.0.1:${node.port}/socket.io/?EIO=4&transport=websocket`);
      const nextText = async () => (await stuck.nextFrame(CALL_TIMEOUT_MS)).payload.toString();
      assert.match(await nextText(), /^0\{/, 'the Engine.IO open packet');
      stuck.sendText(`40${JSON.stringify({ token: (await guest('Cy')).token })}`);
      assert.match(await nextText(), /^40\{/, 'the Socket.IO CONNECT answer');
      stuck.sendText(`420${JSON.stringify(['join', { sessionId }])}`);
      for (;;) {
        const text = await nextText();
        if (text.startsWith('430')) {
          assert.equal(JSON.parse(text.slice(3))[0].ok, true, text);
          break;
        }
      }
      stuck.socket.pause();

      let drags = 0;
      const cut = node.waitForOutput(/event=slow_client_cut transport=socket\.io/, 90_000);
      let isCut = false;
      cut.then(() => { isCut = true; }, () => {});
      for (let i = 0; i < MAX_CHATS && !isCut; i += 1) {
        flooder.send({ type: 'chat', sessionId, message: CHAT });
        if (i % 20 === 0) {
          // The flooder's own session events keep flowing meanwhile.
          drags += 1;
          const ack = await flooder.call('drag', { sessionId, pieceId: 0, x: 10 + drags, y: 20, rotation: 0 });
          assert.equal(ack.type, 'ack', JSON.stringify(ack));
          flooder.inbox.length = 0;
        }
      }
      await cut;
      assert.match(node.output, /limits\.slow-write-timeout/);
      const ack = await flooder.call('drag', { sessionId, pieceId: 0, x: 500, y: 30, rotation: 0 });
      assert.equal(ack.type, 'ack', 'the flooder is served after the cut');
      stuck.socket.resume();
      await withTimeout(stuck.closedPromise, CALL_TIMEOUT_MS, 'the cut socket to end');
    } catch (err) {
      process.stderr.write(`puzzle-node output:\n${node.tail(60)}\n`);
      throw err;
    } finally {
      stuck?.destroy();
      await flooder?.close().catch(() => {});
      const status = await node.stop();
      assert.equal(status?.code, 0, 'puzzle-node exits 0 on SIGTERM');
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
