// Helpers of the Socket.IO integration tests: a puzzle-node started with
// extra options, a raw WebSocket client with a message queue (no message is
// lost between two awaits, unlike `once` listeners: socket.io-protocol#32),
// polling requests, and the npm reference servers (engine.io, socket.io)
// running the echo apps that the official protocol test suites expect.

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';

import {
  CALL_TIMEOUT_MS, EVENT_TIMEOUT_MS, SETUP_HINT, VERBOSE, withTimeout,
} from './support/harness.mjs';

const require = createRequire(import.meta.url);

/// Loads an npm module of tests/integration, or explains how to install it.
export function load(name) {
  try {
    return { module: require(name) };
  } catch (err) {
    return {
      problem: `cannot load ${name} (${err.code ?? err.message}): ${SETUP_HINT}`,
    };
  }
}

// ---------------------------------------------------------------------------
// A raw WebSocket with a queue of received messages.

export class QueuedSocket {
  constructor(WebSocket, url) {
    this.url = url;
    this.queue = [];
    this.waiters = [];
    this.closed = false;
    this.ws = new WebSocket(url);
    this.ws.binaryType = 'nodebuffer';
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.ws.once('error', reject);
      this.ws.once('close', () => reject(new Error(`closed before open: ${url}`)));
    });
    this.opened.catch(() => {});
    this.closedPromise = new Promise((resolve) => {
      this.ws.once('close', (code) => {
        this.closed = true;
        resolve(code);
        this._flush();
      });
    });
    this.ws.on('error', () => {});
    this.ws.on('message', (data, isBinary) => {
      this.queue.push(isBinary ? Buffer.from(data) : data.toString('utf8'));
      this._flush();
    });
  }

  _flush() {
    while (this.waiters.length && (this.queue.length || this.closed)) {
      const w = this.waiters.shift();
      if (this.queue.length) w.resolve(this.queue.shift());
      else w.reject(new Error(`socket closed while waiting for a message (${this.url})`));
    }
  }

  /// The next message (a string, or a Buffer for a binary frame).
  next(ms = EVENT_TIMEOUT_MS, what = 'a WebSocket message') {
    const p = new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this._flush();
    });
    return withTimeout(p, ms, what);
  }

  /// The next message that is not an Engine.IO ping (`2`).
  async nextNonPing(ms = EVENT_TIMEOUT_MS) {
    for (;;) {
      const m = await this.next(ms);
      if (m !== '2') return m;
    }
  }

  send(data) {
    this.ws.send(data);
  }

  waitClose(ms = EVENT_TIMEOUT_MS) {
    return withTimeout(this.closedPromise, ms, `the server to close ${this.url}`);
  }

  close() {
    try {
      this.ws.close();
    } catch {
      // already closed
    }
  }
}

/// Resolves true when the socket opened, false when the server refused
/// (closed or failed before open).
export function opens(WebSocket, url, ms = EVENT_TIMEOUT_MS) {
  return withTimeout(new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.on('error', () => resolve(false));
    ws.on('close', () => resolve(false));
    ws.on('open', () => {
      resolve(true);
      ws.close();
    });
  }), ms, `a verdict on ${url}`);
}

/// Resolves true when the server ends the socket (refuses the upgrade, or
/// closes it) without sending an Engine.IO open packet, false when an open
/// packet arrives.
export function refused(WebSocket, url, ms = EVENT_TIMEOUT_MS) {
  return withTimeout(new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.on('error', () => resolve(true));
    ws.on('close', () => resolve(true));
    ws.on('message', (data) => {
      if (data.toString().startsWith('0')) {
        resolve(false);
        ws.close();
      }
    });
  }), ms, `a verdict on ${url}`);
}

// ---------------------------------------------------------------------------
// Polling requests.

export async function request(url, { method = 'GET', body } = {}) {
  const res = await fetch(url, {
    method,
    body,
    headers: body === undefined ? {} : { 'content-type': 'text/plain;charset=UTF-8' },
    signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
  });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

/// Opens a polling session; returns its sid and handshake.
export async function openPolling(base, path) {
  const res = await request(`${base}${path}?EIO=4&transport=polling`);
  assert.equal(res.status, 200, `handshake: ${res.text}`);
  assert.ok(res.text.startsWith('0'), res.text);
  const handshake = JSON.parse(res.text.slice(1));
  return { sid: handshake.sid, handshake };
}

// ---------------------------------------------------------------------------
// The reference servers with the echo apps of the official suites.

const SUITE_OPTIONS = {
  pingInterval: 300,
  pingTimeout: 200,
  maxHttpBufferSize: 1e6,
  cors: { origin: '*' },
};

function listen(server) {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}

/// Starts npm `engine.io` (echo on /engine.io/) and `socket.io` (the
/// test-suite app on /socket.io/) on one port each; returns their bases
/// and a stop function.
export async function startReferenceServers() {
  const engine = load('engine.io');
  const sio = load('socket.io');
  if (engine.problem) throw new Error(engine.problem);
  if (sio.problem) throw new Error(sio.problem);

  const eioHttp = createServer();
  const eioServer = engine.module.attach(eioHttp, { ...SUITE_OPTIONS, path: '/engine.io/' });
  eioServer.on('connection', (socket) => {
    socket.on('message', (data) => socket.send(data));
  });

  const sioHttp = createServer();
  const io = new sio.module.Server(sioHttp, { ...SUITE_OPTIONS, connectTimeout: 1000 });
  const onConnection = (socket) => {
    socket.emit('auth', socket.handshake.auth);
    socket.on('message', (...args) => socket.emit('message-back', ...args));
    socket.on('message-with-ack', (...args) => {
      const ack = args.pop();
      ack(...args);
    });
  };
  io.of('/').on('connection', onConnection);
  io.of('/custom').on('connection', onConnection);

  const eioPort = await listen(eioHttp);
  const sioPort = await listen(sioHttp);
  if (VERBOSE) process.stderr.write(`reference engine.io on ${eioPort}, socket.io on ${sioPort}\n`);
  return {
    eioBase: `http://127.0.0.1:${eioPort}`,
    sioBase: `http://127.0.0.1:${sioPort}`,
    stop: async () => {
      eioServer.close();
      io.close();
      eioHttp.closeAllConnections?.();
      sioHttp.closeAllConnections?.();
      await Promise.all([
        new Promise((r) => eioHttp.close(() => r())),
        new Promise((r) => sioHttp.close(() => r())),
      ]);
    },
  };
}
