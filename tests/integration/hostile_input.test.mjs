// Hostile input end to end: a client that sends its request headers byte
// by byte is cut off by http.request-timeout while others are served;
// headers over http.header-limit get 431 and bodies declared over
// http.body-limit get 413 before any of the body is sent; WebSocket frames
// whose header declares more than limits.max-message-bytes are refused
// without the payload (/ws and /socket.io close with 1009; the SignalR hub
// counts the bytes as they come and closes with a Close message naming the
// limit); one address gets at most http.max-connections-per-address
// sockets; and the node's resident memory stays bounded through all of it.
//
// The 1009 closes for payloads actually sent are covered per transport in
// ws.test.mjs, signalr.test.mjs and socketio.test.mjs; this file covers
// declared sizes, slow clients and connection counts.
//
// Run through CTest (tests/integration/CMakeLists.txt). No fixed sleeps:
// every wait is for an event with a deadline. The slow client writes a byte
// every TRICKLE_MS on purpose (that is the attack), not to synchronise.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import {
  CALL_TIMEOUT_MS, PuzzleNode, findBinary, http, withTimeout,
} from './support/harness.mjs';
import { OP, RawWebSocket } from './support/raw_ws.mjs';

const REQUEST_TIMEOUT_MS = 2_000; // --http.request-timeout below
const TRICKLE_MS = 100;
const CAP = 48; // --http.max-connections-per-address below
const HEADER_LIMIT = 16 * 1024; // http.header-limit, the default
const BODY_LIMIT = 1024 * 1024; // http.body-limit, the default
const MAX_MESSAGE_BYTES = 64 * 1024; // limits.max-message-bytes, the default
/// Resident memory the node may gain through the hostile rounds below
/// (hundreds of refused bodies and frames, dozens of slow clients). Every
/// refusal happens from a header, so a leak or an allocation of a declared
/// size (1 GiB bodies, 1 TiB frames) would show as far more than this.
const RSS_GROWTH_BOUND_KB = 16 * 1024;

const GENEROUS = 'token-bucket 100000 100000/1s';

/// Each phase connects from its own loopback address (all of 127/8 reaches
/// the node on Linux), so the per-address counts of one phase, of the
/// harness's readiness probes and of fetch's keep-alive pool stay apart.
const ADDR = {
  slow: '127.0.0.2',
  cap: '127.0.0.3',
  oversize: '127.0.0.4',
  slowMany: '127.0.0.5',
};

const { bin, problem } = findBinary();

/// Connects from `localAddress`; resolves once connected.
function connectFrom(port, localAddress) {
  return withTimeout(new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  }), CALL_TIMEOUT_MS, `a connection from ${localAddress}`);
}

/// Collects what the server sends on `socket` and when it closed.
function record(socket) {
  const state = { data: Buffer.alloc(0), closedAt: null };
  state.closed = new Promise((resolve) => {
    socket.on('data', (chunk) => {
      state.data = Buffer.concat([state.data, chunk]);
      state.wake?.();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      state.closedAt = Date.now();
      resolve(state.closedAt);
      state.wake?.();
    });
  });
  return state;
}

/// Parses one HTTP response at the start of `data`, or null if incomplete.
function parseResponse(data) {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const head = data.subarray(0, end).toString('latin1');
  const [statusLine, ...lines] = head.split('\r\n');
  const headers = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers['content-length'] ?? 0);
  if (data.length < end + 4 + length) return null;
  const body = data.subarray(end + 4, end + 4 + length).toString();
  return {
    status: Number(statusLine.split(' ')[1]),
    headers,
    body,
    json: body ? JSON.parse(body) : null,
    size: end + 4 + length,
  };
}

/// Waits for the next whole response on a recorded socket.
function nextResponse(state, what) {
  return withTimeout(new Promise((resolve, reject) => {
    const check = () => {
      const res = parseResponse(state.data);
      if (res) {
        state.data = state.data.subarray(res.size);
        state.wake = null;
        resolve(res);
      } else if (state.closedAt !== null) {
        reject(new Error(`closed before a response: ${what}`));
      } else {
        state.wake = check;
      }
    };
    check();
  }), CALL_TIMEOUT_MS, what);
}

/// Sends `text` from `localAddress` and returns the first response.
async function exchange(port, localAddress, text, what) {
  const socket = await connectFrom(port, localAddress);
  const state = record(socket);
  socket.write(text);
  try {
    const res = await nextResponse(state, what);
    return { res, socket, state };
  } catch (err) {
    socket.destroy();
    throw err;
  }
}

/// A masked frame header declaring `length` payload bytes (none follow).
function declaredFrameHeader(opcode, length) {
  const header = Buffer.alloc(14);
  header[0] = 0x80 | opcode;
  header[1] = 0x80 | 127;
  header.writeBigUInt64BE(BigInt(length), 2);
  crypto.randomBytes(4).copy(header, 10);
  return header;
}

function rssKb(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  assert.ok(match, 'VmRSS in /proc/<pid>/status');
  return Number(match[1]);
}

/// A slow client: the headers of a request that never ends, one byte every
/// TRICKLE_MS. Resolves with how long the node let it stay.
async function slowClient(port, localAddress) {
  const socket = await connectFrom(port, localAddress);
  const state = record(socket);
  const start = Date.now();
  const bytes = Buffer.from(
    `GET /health/live HTTP/1.1\r\nHost: x\r\nX-Slow: ${'a'.repeat(4000)}`);
  let i = 0;
  const timer = setInterval(() => {
    if (i < bytes.length && !socket.destroyed) socket.write(bytes.subarray(i, i + 1));
    i += 1;
  }, TRICKLE_MS);
  try {
    const closedAt = await withTimeout(state.closed, REQUEST_TIMEOUT_MS + 5_000,
      'the node to cut the slow client off');
    return { elapsed: closedAt - start, sent: i, answer: state.data.toString('latin1') };
  } finally {
    clearInterval(timer);
    socket.destroy();
  }
}

if (problem) {
  test('integration test prerequisites', () => assert.fail(problem));
} else {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'puzzle-hostile-'));
  const node = new PuzzleNode(bin, {
    dataDir: path.join(tmp, 'data'),
    webRoot: process.env.PUZZLE_WEB_ROOT ?? path.join(tmp, 'web'),
    env: { PUZZLE_JWT_SECRET: crypto.randomBytes(32).toString('hex') },
    args: [
      `--http.request-timeout=${REQUEST_TIMEOUT_MS}ms`,
      `--http.max-connections-per-address=${CAP}`,
      ...['http-connect', 'http-read', 'http-write', 'http-auth'].map(
        (k) => `--rate-limits.${k}=${GENEROUS}`),
    ],
  });
  let token;
  let failed = false;
  const step = (name, fn) => test(name, async (t) => {
    try {
      await fn(t);
    } catch (err) {
      failed = true;
      throw err;
    }
  });
  const assertServes = async () => {
    const res = await http('GET', `${node.base}/health/live`);
    assert.equal(res.status, 200, res.text);
  };

  before(async () => {
    await node.start();
    const res = await http('POST', `${node.base}/api/auth/guest`,
      { body: { displayName: 'Mallory' } });
    assert.ok(res.status === 200 || res.status === 201, res.text);
    token = res.json.token;
  });

  after(async () => {
    const status = await node.stop();
    if (failed) process.stderr.write(`puzzle-node output:\n${node.tail(120)}\n`);
    assert.equal(status?.code, 0, 'puzzle-node exits 0 on SIGTERM');
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  step('a client sending headers byte by byte is cut off by http.request-timeout; others are served meanwhile', async () => {
    const slow = slowClient(node.port, ADDR.slow);
    // While it trickles, a normal client is answered at once.
    const started = Date.now();
    await assertServes();
    assert.ok(Date.now() - started < REQUEST_TIMEOUT_MS, 'served while the slow client trickles');
    const { elapsed, sent, answer } = await slow;
    assert.ok(elapsed >= REQUEST_TIMEOUT_MS - 250,
      `cut off after ${elapsed} ms, not before the timeout (${REQUEST_TIMEOUT_MS} ms)`);
    assert.ok(elapsed <= REQUEST_TIMEOUT_MS + 1_500,
      `cut off after ${elapsed} ms, within the timeout plus a margin`);
    assert.ok(sent < 100, `the slow client got only ${sent} bytes in`);
    assert.equal(answer, '', 'nothing is answered to a request never completed');
  });

  step('request headers over http.header-limit get 431 and the connection closes', async () => {
    const { res, state } = await exchange(node.port, ADDR.oversize,
      `GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(HEADER_LIMIT + 1)}\r\n\r\n`,
      'the answer to oversized headers');
    assert.equal(res.status, 431);
    assert.equal(res.json.code, 'LIMIT_EXCEEDED');
    assert.match(res.json.message, /http\.header-limit/);
    await withTimeout(state.closed, CALL_TIMEOUT_MS, 'the close after 431');
    await assertServes();
  });

  step('a body declared over http.body-limit gets 413 before any of it is sent', async () => {
    for (const target of ['/api/sessions', '/api/auth/guest', '/nowhere']) {
      const { res, socket } = await exchange(node.port, ADDR.oversize, [
        `POST ${target} HTTP/1.1`, 'Host: x', 'Content-Type: application/json',
        `Authorization: Bearer ${token}`,
        `Content-Length: ${1024 * 1024 * 1024}`, '', ''].join('\r\n'),
      `the answer to a 1 GiB body declared for ${target}`);
      assert.equal(res.status, 413, `${target}: ${res.body}`);
      assert.equal(res.json.code, 'LIMIT_EXCEEDED');
      assert.match(res.json.message, new RegExp(`http\\.body-limit \\(${BODY_LIMIT} bytes\\)`));
      socket.destroy();
    }
    await assertServes();
  });

  const oversizedFrameOn = async (url) => {
    const ws = await RawWebSocket.connect(url);
    ws.send(declaredFrameHeader(OP.text, 2 ** 40));
    const { code } = await ws.closeFrame(CALL_TIMEOUT_MS);
    return code;
  };

  step('a frame declaring more than limits.max-message-bytes closes /ws and /socket.io with 1009 before its payload', async () => {
    const base = `ws://127.0.0.1:${node.port}`;
    assert.equal(await oversizedFrameOn(`${base}/ws?access_token=${token}`), 1009);
    assert.equal(await oversizedFrameOn(
      `${base}/socket.io/?EIO=4&transport=websocket&access_token=${token}`), 1009);
    // Just over the limit counts too.
    assert.equal(await (async () => {
      const ws = await RawWebSocket.connect(`${base}/ws?access_token=${token}`);
      ws.send(declaredFrameHeader(OP.binary, MAX_MESSAGE_BYTES + 1));
      return (await ws.closeFrame(CALL_TIMEOUT_MS)).code;
    })(), 1009);
    await assertServes();
  });

  step('the SignalR hub refuses an oversized message after max-message-bytes, naming the limit', async () => {
    const ws = await RawWebSocket.connect(
      `ws://127.0.0.1:${node.port}/puzzlehub?access_token=${token}`);
    ws.sendText('{"protocol":"json","version":1}\x1e');
    const handshake = await ws.nextFrame(CALL_TIMEOUT_MS);
    // The handshake answer (the hub may send its first invocation with it).
    assert.ok(handshake.payload.toString().startsWith('{}\x1e'), handshake.payload.toString());
    // The frame declares 1 TiB; the hub reads in chunks and stops at the
    // limit, so sending just past it is enough.
    const header = declaredFrameHeader(OP.text, 2 ** 40);
    const key = header.subarray(10, 14);
    const payload = Buffer.alloc(MAX_MESSAGE_BYTES + 1, 0x20);
    for (let i = 0; i < payload.length; i += 1) payload[i] ^= key[i % 4];
    ws.send(Buffer.concat([header, payload]));
    let closeMessage = '';
    for (;;) {
      const frame = await ws.nextFrame(CALL_TIMEOUT_MS);
      if (frame.opcode === OP.close) break;
      closeMessage += frame.payload.toString();
    }
    assert.match(closeMessage, /"type":7/);
    assert.match(closeMessage, /limits\.max-message-bytes/);
    ws.destroy();
    await assertServes();
  });

  step(`one address gets at most ${CAP} sockets; the next is refused with 503, the others carry on`, async () => {
    const held = [];
    try {
      for (let i = 0; i < CAP; i += 1) {
        // Each is answered, so each is counted before the next one opens.
        held.push(await exchange(node.port, ADDR.cap,
          'GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n', `request ${i + 1} of ${CAP}`));
        assert.equal(held.at(-1).res.status, 200);
      }
      // The next one gets the refusal without sending anything.
      const socket = await connectFrom(node.port, ADDR.cap);
      const state = record(socket);
      const refused = await nextResponse(state, 'the refusal over the per-address cap');
      assert.equal(refused.status, 503);
      assert.deepEqual(refused.json, {
        status: 503,
        code: 'LIMIT_EXCEEDED',
        message: `too many connections from this address (http.max-connections-per-address = ${CAP})`,
      });
      await withTimeout(state.closed, CALL_TIMEOUT_MS, 'the close after the refusal');
      await node.waitForOutput(/event=connection_refused reason=per_address_limit address=127\.0\.0\.3/);
      // Other addresses are not affected; the held sockets are still served.
      await assertServes();
      const first = held[0];
      first.socket.write('GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.equal((await nextResponse(first.state, 'a held socket served again')).status, 200);
      // Closing one frees its place: a new connection is served (the node
      // notices the close asynchronously, so try until it is admitted).
      first.socket.destroy();
      await withTimeout(first.state.closed, CALL_TIMEOUT_MS, 'the close of a held socket');
      const deadline = Date.now() + CALL_TIMEOUT_MS;
      for (;;) {
        const { res, socket: s } = await exchange(node.port, ADDR.cap,
          'GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n', 'a connection after one closed');
        s.destroy();
        if (res.status === 200) break;
        assert.equal(res.status, 503);
        assert.ok(Date.now() < deadline, 'a freed place is given to a new connection');
        await withTimeout(new Promise((resolve) => setImmediate(resolve)), 1_000, 'a turn');
      }
    } finally {
      for (const h of held) h.socket.destroy();
    }
  });

  step('memory stays bounded through hundreds of oversized bodies and frames and many slow clients', async (t) => {
    const pid = node.child.pid;
    const before = rssKb(pid);
    // 40 slow clients at once (under the per-address cap), trickling while
    // everything else happens.
    const slow = Array.from({ length: 40 }, () => slowClient(node.port, ADDR.slowMany));
    for (let round = 0; round < 10; round += 1) {
      await Promise.all(Array.from({ length: 20 }, async () => {
        const { res, socket } = await exchange(node.port, ADDR.oversize, [
          'POST /api/sessions HTTP/1.1', 'Host: x', 'Content-Type: application/json',
          `Content-Length: ${1024 * 1024 * 1024}`, '', ''].join('\r\n'), 'a 413');
        assert.equal(res.status, 413);
        socket.destroy();
      }));
      await Promise.all(Array.from({ length: 10 }, async () => {
        assert.equal(await oversizedFrameOn(
          `ws://127.0.0.1:${node.port}/ws?access_token=${token}`), 1009);
      }));
    }
    const results = await Promise.all(slow);
    for (const { elapsed } of results) {
      assert.ok(elapsed <= REQUEST_TIMEOUT_MS + 3_000, `a slow client stayed ${elapsed} ms`);
    }
    await assertServes();
    const after = rssKb(pid);
    t.diagnostic(`VmRSS ${before} kB before, ${after} kB after`);
    assert.ok(after - before < RSS_GROWTH_BOUND_KB,
      `VmRSS grew from ${before} kB to ${after} kB (bound: ${RSS_GROWTH_BOUND_KB} kB)`);
  });
}
