// TLS end to end: the real puzzle-node with http.tls-cert and
// http.tls-key serves https and wss on every endpoint. A self-signed
// certificate for localhost/127.0.0.1 is made with the openssl command in a
// temporary folder; every client trusts exactly that certificate (no
// verification is turned off): node:https for REST, @microsoft/signalr,
// socket.io-client (WebSocket and polling) and npm `ws` for /ws. Plain HTTP
// on the TLS port and a client that never starts its handshake are cut off
// without harm to the others; a bad key file stops the node with exit code 2
// naming the key.
//
// Run through CTest (integration.tls). No fixed sleeps: every wait is for
// an answer, an event or a close, with a bounded timeout.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import {
  CALL_TIMEOUT_MS, EVENT_TIMEOUT_MS, PuzzleNode, SETUP_HINT, UUID_RE, findBinary,
  safeSpot, withTimeout,
} from './support/harness.mjs';
import { JsonSocket } from './support/json_socket.mjs';

const REQUEST_TIMEOUT_MS = 2_000; // --http.request-timeout below

function loadModules() {
  const require = createRequire(import.meta.url);
  try {
    return {
      WebSocket: require('ws'),
      signalR: require('@microsoft/signalr'),
      io: require('socket.io-client').io,
    };
  } catch (err) {
    return {
      problem: `cannot load ws, @microsoft/signalr and socket.io-client ` +
        `(${err.code ?? err.message}): ${SETUP_HINT}`,
    };
  }
}

/// A self-signed certificate for localhost and 127.0.0.1 in `dir`.
function makeCertificate(dir) {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  const out = spawnSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1',
    '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout', key, '-out', cert,
  ], { encoding: 'utf8', timeout: 30_000 });
  if (out.status !== 0) {
    throw new Error(`openssl req failed (${out.status}): ${out.stderr}` +
      (out.error ? ` ${out.error.message}` : ''));
  }
  return { cert, key, pem: fs.readFileSync(cert, 'utf8') };
}

/// One HTTPS request trusting `ca`; JSON in and out.
function request(ca, method, url, { token, body } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  const data = body === undefined ? undefined : JSON.stringify(body);
  if (data !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = Buffer.byteLength(data);
  }
  return withTimeout(new Promise((resolve, reject) => {
    const req = https.request(url, { method, headers, ca }, (res) => {
      const protocol = res.socket.getProtocol();
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => { text += chunk; });
      res.on('end', () => {
        let json;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode, headers: res.headers, text, json, protocol });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(data);
  }), CALL_TIMEOUT_MS, `${method} ${url}`);
}

function defineSuite({ WebSocket, signalR, io }, bin) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'puzzle-tls-'));
  const tls = makeCertificate(tmp);
  const node = new PuzzleNode(bin, {
    dataDir: path.join(tmp, 'data'),
    webRoot: process.env.PUZZLE_WEB_ROOT ?? path.join(tmp, 'web'),
    env: { PUZZLE_JWT_SECRET: crypto.randomBytes(32).toString('hex') },
    args: [
      `--http.tls-cert=${tls.cert}`,
      `--http.tls-key=${tls.key}`,
      `--http.request-timeout=${REQUEST_TIMEOUT_MS}ms`,
    ],
    ca: tls.pem,
  });
  const cleanup = [];
  let failed = false;
  const step = (name, fn) => test(name, async (t) => {
    try {
      await fn(t);
    } catch (err) {
      failed = true;
      throw err;
    }
  });

  // Shared by the steps, in order.
  let owner;
  let sessionId;
  let watcher; // a /ws client in the session: sees every client's moves

  const guest = async (displayName) => {
    const res = await request(tls.pem, 'POST', `${node.base}/api/auth/guest`,
      { body: { displayName } });
    assert.ok(res.status === 200 || res.status === 201, res.text);
    return res.json;
  };
  const wsUrl = (token) =>
    `wss://127.0.0.1:${node.port}/ws?access_token=${encodeURIComponent(token)}`;
  const stillServes = async () => {
    const res = await request(tls.pem, 'GET', `${node.base}/health/ready`);
    assert.equal(res.status, 200, res.text);
  };

  before(async () => {
    await node.start();
  });

  after(async () => {
    for (const fn of cleanup.reverse()) await fn().catch(() => {});
    const status = await node.stop();
    if (failed) process.stderr.write(`puzzle-node output:\n${node.tail(120)}\n`);
    assert.equal(status?.code, 0, 'puzzle-node exits 0 on SIGTERM');
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  describe('https and wss with the configured certificate', () => {
    step('https: /health/ready, a guest token and a REST call', async () => {
      assert.match(node.base, /^https:/);
      const ready = await request(tls.pem, 'GET', `${node.base}/health/ready`);
      assert.equal(ready.status, 200, ready.text);
      assert.match(ready.protocol, /^TLSv1\.[23]$/);
      owner = await guest('Tessa');
      assert.ok(owner?.token, JSON.stringify(owner));
      const created = await request(tls.pem, 'POST', `${node.base}/api/sessions`, {
        token: owner.token,
        body: { name: 'tls test', imageId: 'aurora-lake', rows: 3, cols: 3, public: true },
      });
      assert.equal(created.status, 201, created.text);
      sessionId = created.json?.sessionId ?? created.json?.id;
      assert.match(String(sessionId), UUID_RE, created.text);
      const fetched = await request(tls.pem, 'GET', `${node.base}/api/sessions/${sessionId}`,
        { token: owner.token });
      assert.equal(fetched.status, 200, fetched.text);
    });

    step('old protocol versions are refused (TLS 1.2 at least)', async () => {
      // SECLEVEL=0 lets this client offer TLS 1.0/1.1 at all, so that the
      // refusal is the node's (a protocol_version alert), not the client's.
      await assert.rejects(new Promise((resolve, reject) => {
        const req = https.get(`${node.base}/health/ready`, {
          ca: tls.pem, minVersion: 'TLSv1', maxVersion: 'TLSv1.1',
          ciphers: 'DEFAULT@SECLEVEL=0',
        }, resolve);
        req.on('error', reject);
      }), (err) => {
        assert.match(err.message, /alert protocol version|alert number 70/,
          `${err.code}: ${err.message}`);
        return true;
      });
      await stillServes();
    });

    step('raw /ws over wss: join, lock and move', async () => {
      watcher = await JsonSocket.open(WebSocket, wsUrl(owner.token), { ca: tls.pem });
      cleanup.push(() => watcher.close());
      const joined = await watcher.call('join', { sessionId });
      assert.equal(joined.type, 'ack', JSON.stringify(joined));
      assert.equal(joined.result.pieces.length, 9);
      const spot = safeSpot(joined.result, 0);
      const lock = await watcher.call('lock', { sessionId, pieceId: 0 });
      assert.equal(lock.result?.granted, true, JSON.stringify(lock));
      const move = await watcher.call('move', { sessionId, pieceId: 0, ...spot, rotation: 0 });
      assert.equal(move.type, 'ack', JSON.stringify(move));
      assert.equal(move.result.success, true);
    });

    step('@microsoft/signalr over wss joins and moves a piece', async () => {
      const user = await guest('Sig');
      // The client's Node transport is npm `ws`; this one trusts our CA.
      class TrustingWebSocket extends WebSocket {
        constructor(url, protocols, options = {}) {
          super(url, protocols, { ...options, ca: tls.pem });
        }
      }
      const conn = new signalR.HubConnectionBuilder()
        .withUrl(`${node.base}/puzzlehub`, {
          accessTokenFactory: () => user.token,
          transport: signalR.HttpTransportType.WebSockets,
          skipNegotiation: true,
          WebSocket: TrustingWebSocket,
        })
        .configureLogging(signalR.LogLevel.None)
        .build();
      cleanup.push(() => conn.stop());
      await withTimeout(conn.start(), CALL_TIMEOUT_MS, 'SignalR over wss to connect');
      const state = await withTimeout(
        conn.invoke('JoinPuzzleSession', sessionId, user.userId), CALL_TIMEOUT_MS,
        'JoinPuzzleSession');
      assert.equal(state.pieces.length, 9);
      const lock = await withTimeout(conn.invoke('LockPiece', sessionId, 1),
        CALL_TIMEOUT_MS, 'LockPiece');
      assert.equal(lock?.granted, true, JSON.stringify(lock));
      const spot = safeSpot(state, 1);
      const moved = await withTimeout(
        conn.invoke('MovePiece', sessionId, 1, spot.x, spot.y, 0), CALL_TIMEOUT_MS,
        'MovePiece');
      assert.equal(moved?.success, true, JSON.stringify(moved));
      // Seen, decrypted, by the /ws client in the same session.
      const seen = await watcher.event('PieceMoved',
        (d) => d.pieceId === 1 && d.version === moved.version);
      assert.equal(seen.data.x, spot.x);
    });

    for (const transport of ['websocket', 'polling']) {
      step(`socket.io-client over ${transport} (TLS) joins and moves a piece`, async () => {
        const user = await guest(`Io-${transport}`);
        const socket = io(node.base, {
          auth: { token: user.token },
          ca: tls.pem,
          transports: [transport],
          reconnection: false,
          forceNew: true,
          timeout: CALL_TIMEOUT_MS,
        });
        cleanup.push(async () => socket.close());
        await withTimeout(new Promise((resolve, reject) => {
          socket.once('connect', resolve);
          socket.once('connect_error', reject);
        }), CALL_TIMEOUT_MS, `socket.io over ${transport} to connect`);
        assert.equal(socket.io.engine.transport.name, transport);
        const call = (event, data) => withTimeout(socket.emitWithAck(event, data),
          CALL_TIMEOUT_MS, `ack of ${event}`);
        const joined = await call('join', { sessionId });
        assert.equal(joined.ok, true, JSON.stringify(joined));
        const pieceId = transport === 'websocket' ? 2 : 3;
        const lock = await call('lock_piece', { sessionId, pieceId });
        assert.equal(lock.granted, true, JSON.stringify(lock));
        const spot = safeSpot(joined, pieceId);
        const move = await call('move_piece', { sessionId, pieceId, ...spot, rotation: 0 });
        assert.equal(move.ok, true, JSON.stringify(move));
        await watcher.event('PieceMoved',
          (d) => d.pieceId === pieceId && d.version === move.version);
      });
    }
  });

  describe('clients that do not speak TLS', () => {
    step('plain HTTP on the TLS port gets no answer, the node carries on', async () => {
      const outcome = await withTimeout(new Promise((resolve) => {
        const socket = net.connect(node.port, '127.0.0.1', () => {
          socket.write('GET /health/ready HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
        });
        let received = '';
        socket.setEncoding('latin1');
        socket.on('data', (chunk) => { received += chunk; });
        socket.on('error', () => {});
        socket.on('close', () => resolve(received));
      }), CALL_TIMEOUT_MS, 'the node to close a plain-HTTP connection');
      assert.doesNotMatch(outcome, /HTTP\/1\.1 200/);
      await stillServes();
    });

    step('a client that never sends a ClientHello is cut off by http.request-timeout',
      async () => {
        const started = Date.now();
        const socket = net.connect(node.port, '127.0.0.1');
        socket.on('error', () => {});
        await withTimeout(new Promise((resolve) => socket.on('close', resolve)),
          REQUEST_TIMEOUT_MS + 3_000, 'the silent client to be cut off');
        const waited = Date.now() - started;
        assert.ok(waited >= REQUEST_TIMEOUT_MS - 100,
          `cut off after ${waited} ms, before the timeout`);
        assert.ok(waited <= REQUEST_TIMEOUT_MS + 1_500, `cut off after ${waited} ms`);
        await stillServes();
      });
  });

  describe('bad TLS configuration', () => {
    const runNode = (args) => spawnSync(bin, [
      '--http.bind=127.0.0.1', '--http.port=0',
      `--store.data-dir=${path.join(tmp, 'bad-config')}`, ...args,
    ], { encoding: 'utf8', timeout: 20_000 });

    step('only http.tls-cert: exit code 2 naming http.tls-key', async () => {
      const out = runNode([`--http.tls-cert=${tls.cert}`]);
      assert.equal(out.status, 2, out.stderr);
      assert.match(out.stderr, /http\.tls-key/);
    });

    step('a key file that is not a PEM key: exit code 2 naming http.tls-key',
      async () => {
        const junk = path.join(tmp, 'junk.pem');
        fs.writeFileSync(junk, 'not a key\n');
        const out = runNode([`--http.tls-cert=${tls.cert}`, `--http.tls-key=${junk}`]);
        assert.equal(out.status, 2, out.stderr);
        assert.match(out.stderr, /http\.tls-key/);
      });

    step('a certificate file that is not PEM: exit code 2 naming http.tls-cert',
      async () => {
        const junk = path.join(tmp, 'junk-cert.pem');
        fs.writeFileSync(junk, 'not a certificate\n');
        const out = runNode([`--http.tls-cert=${junk}`, `--http.tls-key=${tls.key}`]);
        assert.equal(out.status, 2, out.stderr);
        assert.match(out.stderr, /http\.tls-cert/);
      });
  });
}

const found = findBinary();
const modules = loadModules();
if (found.problem || modules.problem) {
  test('TLS end to end', () => assert.fail(found.problem ?? modules.problem));
} else {
  defineSuite(modules, found.bin);
}
