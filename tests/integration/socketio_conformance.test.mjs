// Engine.IO v4 / Socket.IO v5 conformance checks of our own, modelled on the
// official protocol test suites (socketio/engine.io-protocol and
// socketio/socket.io-protocol, test-suite/), driven by `ws` and fetch.
//
// Every check runs twice: against the npm reference servers (engine.io,
// socket.io) with the suites' echo apps, which proves the checks right, and
// against puzzle-node in conformance mode (--socketio.conformance=true,
// pingInterval 300 ms, pingTimeout 200 ms, connectTimeout 1 s, as the suites
// expect). Run through CTest (tests/integration/CMakeLists.txt), or by hand:
//   PUZZLE_NODE_BIN=build/ci/cluster/puzzle-node node --test \
//     tests/integration/socketio_conformance.test.mjs
// The waits are for events (a frame, a close, an HTTP answer) with bounded
// timeouts; the heartbeat checks wait for the server's own timers.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { PuzzleNode, VERBOSE, findBinary } from './support/harness.mjs';
import {
  QueuedSocket, load, openPolling, opens, refused, request,
  startReferenceServers,
} from './socketio_support.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');
const PING_INTERVAL = 300;
const PING_TIMEOUT = 200;
const HANDSHAKE_KEYS = ['maxPayload', 'pingInterval', 'pingTimeout', 'sid', 'upgrades'];
const PLACEHOLDERS = '{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}';

const wsModule = load('ws');
const WebSocket = wsModule.module?.WebSocket;

// ---------------------------------------------------------------------------
// The targets.

function ourNode() {
  const found = findBinary();
  if (found.problem) throw new Error(found.problem);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'puzzle-sio-conf-'));
  const node = new PuzzleNode(found.bin, {
    dataDir: path.join(tmp, 'data'),
    webRoot: process.env.PUZZLE_WEB_ROOT ?? path.join(REPO, 'web', 'public'),
    env: {},
    args: [
      '--socketio.conformance=true',
      `--socketio.ping-interval=${PING_INTERVAL}ms`,
      `--socketio.ping-timeout=${PING_TIMEOUT}ms`,
      '--socketio.connect-timeout=1s',
      '--log.level=warn',
    ],
  });
  return {
    name: 'puzzle-node (conformance mode)',
    async start() {
      await node.start();
      return { eioBase: node.base, sioBase: node.base };
    },
    async stop(failed) {
      const status = await node.stop();
      if (failed || VERBOSE) process.stderr.write(`puzzle-node output:\n${node.tail(60)}\n`);
      fs.rmSync(tmp, { recursive: true, force: true });
      assert.equal(status?.code, 0, `puzzle-node exit: ${JSON.stringify(status)}`);
    },
  };
}

function reference() {
  let servers;
  return {
    name: 'npm engine.io 6.6.13 / socket.io 4.8.4 (reference)',
    async start() {
      servers = await startReferenceServers();
      return servers;
    },
    async stop() {
      await servers?.stop();
    },
  };
}

// ---------------------------------------------------------------------------
// The checks.

function defineEngineio(target, bases, track) {
  const E = '/engine.io/';
  const url = (q) => `${bases.eioBase}${E}?EIO=4&${q}`;
  const wsUrl = (q) => url(q).replace('http', 'ws');
  const step = (name, fn) => test(name, () => track(fn));

  describe('Engine.IO handshake', () => {
    step('polling handshake advertises the session', async () => {
      const res = await request(url('transport=polling'));
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type'), /^text\/plain/);
      assert.ok(res.text.startsWith('0'), res.text);
      const hs = JSON.parse(res.text.slice(1));
      assert.deepEqual(Object.keys(hs).sort(), HANDSHAKE_KEYS);
      assert.equal(typeof hs.sid, 'string');
      assert.deepEqual(hs.upgrades, ['websocket']);
      assert.equal(hs.pingInterval, PING_INTERVAL);
      assert.equal(hs.pingTimeout, PING_TIMEOUT);
      assert.equal(hs.maxPayload, 1000000);
    });

    step('invalid EIO, transport or method is 400', async () => {
      for (const q of ['transport=polling&EIO=abc', 'transport=abc', '']) {
        const res = await request(`${bases.eioBase}${E}?${q.replace('EIO=4&', '')}`);
        assert.equal(res.status, 400, q);
      }
      assert.equal((await request(`${bases.eioBase}${E}?transport=polling`)).status, 400);
      assert.equal((await request(url('transport=polling'), { method: 'POST' })).status, 400);
      assert.equal((await request(url('transport=polling'), { method: 'PUT' })).status, 400);
      assert.equal((await request(url('transport=polling&sid=nope'))).status, 400);
    });

    step('WebSocket handshake offers no upgrade', async () => {
      const s = new QueuedSocket(WebSocket, wsUrl('transport=websocket'));
      const open = await s.next();
      const hs = JSON.parse(open.slice(1));
      assert.ok(open.startsWith('0'));
      assert.deepEqual(Object.keys(hs).sort(), HANDSHAKE_KEYS);
      assert.deepEqual(hs.upgrades, []);
      s.close();
    });

    step('WebSocket with invalid query or unknown sid is refused', async () => {
      const base = bases.eioBase.replace('http', 'ws');
      // Without a valid EIO the reference opens the socket and closes it at
      // once; we refuse the upgrade. Either way: no session.
      assert.equal(await refused(WebSocket, `${base}${E}?transport=websocket`), true);
      assert.equal(await refused(WebSocket, `${base}${E}?EIO=abc&transport=websocket`), true);
      assert.equal(await opens(WebSocket, `${base}${E}?EIO=4&transport=abc`), false);
      assert.equal(await opens(WebSocket, `${base}${E}?EIO=4&transport=websocket&sid=nope`),
        false);
    });
  });

  describe('Engine.IO polling', () => {
    step('a posted packet comes back on the next GET', async () => {
      const { sid } = await openPolling(bases.eioBase, E);
      const post = await request(url(`transport=polling&sid=${sid}`),
        { method: 'POST', body: '4hello' });
      assert.equal(post.status, 200);
      assert.equal(post.text, 'ok');
      const get = await request(url(`transport=polling&sid=${sid}`));
      assert.equal(get.status, 200);
      assert.equal(get.text, '4hello');
    });

    step('several packets come back batched with record separators', async () => {
      const { sid } = await openPolling(bases.eioBase, E);
      const body = '4test1\x1e4test2\x1e4test3';
      assert.equal((await request(url(`transport=polling&sid=${sid}`),
        { method: 'POST', body })).text, 'ok');
      assert.equal((await request(url(`transport=polling&sid=${sid}`))).text, body);
    });

    step('text and base64 binary packets round-trip', async () => {
      const { sid } = await openPolling(bases.eioBase, E);
      const body = '4hello\x1ebAQIDBA==';
      assert.equal((await request(url(`transport=polling&sid=${sid}`),
        { method: 'POST', body })).text, 'ok');
      assert.equal((await request(url(`transport=polling&sid=${sid}`))).text, body);
    });

    step('an invalid packet closes the session', async () => {
      const { sid } = await openPolling(bases.eioBase, E);
      const post = await request(url(`transport=polling&sid=${sid}`),
        { method: 'POST', body: 'abc' });
      // The official suite allows either answer; what matters is the end.
      assert.ok([200, 400].includes(post.status), `POST: ${post.status}`);
      assert.equal((await request(url(`transport=polling&sid=${sid}`))).status, 400);
    });

    step('a second concurrent GET closes the session', async () => {
      const { sid } = await openPolling(bases.eioBase, E);
      const first = request(url(`transport=polling&sid=${sid}`));
      // Let the first GET be held before the second arrives: wait for the
      // server to have it (a POST answered after it is proof enough).
      await new Promise((r) => setTimeout(r, 20));
      const second = await request(url(`transport=polling&sid=${sid}&t=burst`));
      assert.ok([400, 500].includes(second.status), `second GET: ${second.status}`);
      const held = await first;
      assert.equal(held.status, 200);
      assert.equal(held.text, '1');
      assert.equal((await request(url(`transport=polling&sid=${sid}`))).status, 400);
    });

    step('an oversized POST is refused with 413', async () => {
      const { sid } = await openPolling(bases.eioBase, E);
      const res = await request(url(`transport=polling&sid=${sid}`),
        { method: 'POST', body: `4${'x'.repeat(1_000_001)}` }).catch(() => ({ status: 413 }));
      assert.equal(res.status, 413);
    });
  });

  describe('Engine.IO WebSocket', () => {
    step('text and binary messages are echoed', async () => {
      const s = new QueuedSocket(WebSocket, wsUrl('transport=websocket'));
      await s.next();
      s.send('4hello');
      assert.equal(await s.nextNonPing(), '4hello');
      s.send(Buffer.from([1, 2, 3, 4]));
      const bin = await s.nextNonPing();
      assert.ok(Buffer.isBuffer(bin));
      assert.deepEqual([...bin], [1, 2, 3, 4]);
      s.close();
    });

    step('an invalid packet closes the WebSocket', async () => {
      const s = new QueuedSocket(WebSocket, wsUrl('transport=websocket'));
      await s.next();
      s.send('abc');
      await s.waitClose();
    });
  });

  describe('Engine.IO heartbeat', () => {
    step('polling: three pings answered with pongs', async () => {
      const { sid } = await openPolling(bases.eioBase, E);
      for (let i = 0; i < 3; i++) {
        const get = await request(url(`transport=polling&sid=${sid}`));
        assert.equal(get.status, 200);
        assert.equal(get.text, '2');
        const post = await request(url(`transport=polling&sid=${sid}`),
          { method: 'POST', body: '3' });
        assert.equal(post.status, 200);
      }
    });

    step('polling: no pong closes the session', async () => {
      const { sid } = await openPolling(bases.eioBase, E);
      assert.equal((await request(url(`transport=polling&sid=${sid}`))).text, '2');
      // Held until the pong deadline passes; then the session is gone.
      const held = await request(url(`transport=polling&sid=${sid}`));
      assert.equal(held.text, '1');
      assert.equal((await request(url(`transport=polling&sid=${sid}`))).status, 400);
    });

    step('WebSocket: three pings answered with pongs', async () => {
      const s = new QueuedSocket(WebSocket, wsUrl('transport=websocket'));
      await s.next();
      for (let i = 0; i < 3; i++) {
        assert.equal(await s.next(), '2');
        s.send('3');
      }
      s.close();
    });

    step('WebSocket: no pong closes the socket', async () => {
      const s = new QueuedSocket(WebSocket, wsUrl('transport=websocket'));
      await s.next();
      assert.equal(await s.next(), '2');
      await s.waitClose();
    });
  });

  describe('Engine.IO close and upgrade', () => {
    step('polling: a close packet answers the held GET with noop', async () => {
      const { sid } = await openPolling(bases.eioBase, E);
      const [get, post] = await Promise.all([
        request(url(`transport=polling&sid=${sid}`)),
        new Promise((r) => setTimeout(r, 20)).then(() => request(
          url(`transport=polling&sid=${sid}`), { method: 'POST', body: '1' })),
      ]);
      assert.equal(post.status, 200);
      assert.equal(get.status, 200);
      assert.equal(get.text, '6');
      assert.equal((await request(url(`transport=polling&sid=${sid}`))).status, 400);
    });

    step('WebSocket: a close packet closes the socket', async () => {
      const s = new QueuedSocket(WebSocket, wsUrl('transport=websocket'));
      await s.next();
      s.send('1');
      await s.waitClose();
    });

    step('upgrade: probe, noop to the poll, upgrade, then WebSocket only', async () => {
      const { sid } = await openPolling(bases.eioBase, E);
      const s = new QueuedSocket(WebSocket, wsUrl(`transport=websocket&sid=${sid}`));
      await s.opened;
      s.send('2probe');
      assert.equal(await s.next(), '3probe');
      const poll = await request(url(`transport=polling&sid=${sid}`));
      assert.equal(poll.status, 200);
      assert.equal(poll.text, '6');
      s.send('5');
      s.send('4hello');
      assert.equal(await s.nextNonPing(), '4hello');
      assert.equal((await request(url(`transport=polling&sid=${sid}`))).status, 400);
      const second = new QueuedSocket(WebSocket, wsUrl(`transport=websocket&sid=${sid}`));
      await second.waitClose();
      s.send('4still');
      assert.equal(await s.nextNonPing(), '4still');
      s.close();
    });
  });
}

function defineSocketio(target, bases, track) {
  const S = '/socket.io/';
  const wsUrl = () => `${bases.sioBase.replace('http', 'ws')}${S}?EIO=4&transport=websocket`;
  const pollUrl = (sid) => `${bases.sioBase}${S}?EIO=4&transport=polling&sid=${sid}`;
  const step = (name, fn) => test(name, () => track(fn));

  const open = async () => {
    const s = new QueuedSocket(WebSocket, wsUrl());
    const hs = await s.next();
    return { s, eioSid: JSON.parse(hs.slice(1)).sid };
  };
  const connected = async () => {
    const { s } = await open();
    s.send('40');
    assert.ok((await s.nextNonPing()).startsWith('40'));
    assert.equal(await s.nextNonPing(), '42["auth",{}]');
    return s;
  };

  describe('Socket.IO connect', () => {
    step('main namespace: its own sid, then the auth event', async () => {
      const { s, eioSid } = await open();
      s.send('40');
      const reply = await s.nextNonPing();
      assert.ok(reply.startsWith('40'), reply);
      const hs = JSON.parse(reply.slice(2));
      assert.deepEqual(Object.keys(hs), ['sid']);
      assert.equal(typeof hs.sid, 'string');
      assert.notEqual(hs.sid, eioSid);
      assert.equal(await s.nextNonPing(), '42["auth",{}]');
      s.close();
    });

    step('main namespace with an auth payload', async () => {
      const { s } = await open();
      s.send('40{"token":"123"}');
      assert.ok((await s.nextNonPing()).startsWith('40'));
      assert.equal(await s.nextNonPing(), '42["auth",{"token":"123"}]');
      s.close();
    });

    step('custom namespace, with and without payload', async () => {
      const { s } = await open();
      s.send('40/custom,');
      const reply = await s.nextNonPing();
      assert.ok(reply.startsWith('40/custom,'), reply);
      assert.deepEqual(Object.keys(JSON.parse(reply.slice(10))), ['sid']);
      assert.equal(await s.nextNonPing(), '42/custom,["auth",{}]');
      s.close();
      const other = (await open()).s;
      other.send('40/custom,{"token":"abc"}');
      assert.ok((await other.nextNonPing()).startsWith('40/custom,'));
      assert.equal(await other.nextNonPing(), '42/custom,["auth",{"token":"abc"}]');
      other.close();
    });

    step('unknown namespace gets CONNECT_ERROR as an object', async () => {
      const { s } = await open();
      s.send('40/random');
      assert.equal(await s.nextNonPing(), '44/random,{"message":"Invalid namespace"}');
      s.close();
    });

    step('a packet before CONNECT closes the connection', async () => {
      const { s } = await open();
      s.send('4abc');
      await s.waitClose();
      const other = (await open()).s;
      other.send('42["message","early"]');
      await other.waitClose();
    });

    step('no CONNECT within connectTimeout closes the connection', async () => {
      const { s } = await open();
      await s.waitClose(3000);
    });
  });

  describe('Socket.IO disconnect and namespaces', () => {
    step('DISCONNECT from / keeps Engine.IO up (next frame is a ping)', async () => {
      const s = await connected();
      s.send('41');
      assert.equal(await s.next(), '2');
      s.close();
    });

    step('connect and leave /custom, then / still answers', async () => {
      const s = await connected();
      s.send('40/custom');
      assert.ok((await s.nextNonPing()).startsWith('40/custom,'));
      assert.equal(await s.nextNonPing(), '42/custom,["auth",{}]');
      s.send('41/custom');
      s.send('42["message","message to main namespace"]');
      assert.equal(await s.nextNonPing(), '42["message-back","message to main namespace"]');
      s.close();
    });
  });

  describe('Socket.IO events and acks', () => {
    step('a plain event is echoed', async () => {
      const s = await connected();
      s.send('42["message",1,"2",{"3":[true]}]');
      assert.equal(await s.nextNonPing(), '42["message-back",1,"2",{"3":[true]}]');
      s.close();
    });

    step('binary attachments are echoed in order', async () => {
      const s = await connected();
      s.send(`452-["message",${PLACEHOLDERS}]`);
      s.send(Buffer.from([1, 2, 3]));
      s.send(Buffer.from([4, 5, 6]));
      assert.equal(await s.nextNonPing(), `452-["message-back",${PLACEHOLDERS}]`);
      assert.deepEqual([...await s.nextNonPing()], [1, 2, 3]);
      assert.deepEqual([...await s.nextNonPing()], [4, 5, 6]);
      s.close();
    });

    step('an event with an ack id is acked', async () => {
      const s = await connected();
      s.send('42456["message-with-ack",1,"2",{"3":[false]}]');
      assert.equal(await s.nextNonPing(), '43456[1,"2",{"3":[false]}]');
      s.close();
    });

    step('a binary event with an ack gets a BINARY_ACK', async () => {
      const s = await connected();
      s.send(`452-789["message-with-ack",${PLACEHOLDERS}]`);
      s.send(Buffer.from([1, 2, 3]));
      s.send(Buffer.from([4, 5, 6]));
      assert.equal(await s.nextNonPing(), `462-789[${PLACEHOLDERS}]`);
      assert.deepEqual([...await s.nextNonPing()], [1, 2, 3]);
      assert.deepEqual([...await s.nextNonPing()], [4, 5, 6]);
      s.close();
    });

    for (const [what, bad] of [['unknown packet type', '4abc'],
      ['payload not an array', '42{}'], ['invalid ack id', '42abc["message-with-ack",1]']]) {
      step(`invalid format closes the connection: ${what}`, async () => {
        const s = await connected();
        s.send(bad);
        await s.waitClose();
      });
    }
  });

  describe('Socket.IO over polling', () => {
    step('connect, auth, echo and binary over long polling', async () => {
      const { sid } = await openPolling(bases.sioBase, S);
      assert.equal((await request(pollUrl(sid), { method: 'POST', body: '40' })).text, 'ok');
      let got = '';
      while (!got.includes('42["auth",{}]')) {
        const res = await request(pollUrl(sid));
        assert.equal(res.status, 200);
        got += `${res.text}\x1e`;
      }
      assert.match(got, /^40\{"sid":"[^"]+"\}\x1e/);
      const body = `451-["message",{"_placeholder":true,"num":0}]\x1ebAQID`;
      assert.equal((await request(pollUrl(sid), { method: 'POST', body })).text, 'ok');
      let echoed = '';
      while (!echoed.includes('bAQID')) {
        const res = await request(pollUrl(sid));
        assert.equal(res.status, 200);
        echoed += res.text.split('\x1e').filter((p) => p !== '2').join('\x1e');
        if (res.text.split('\x1e').includes('2')) {
          await request(pollUrl(sid), { method: 'POST', body: '3' });
        }
      }
      assert.equal(echoed, '451-["message-back",{"_placeholder":true,"num":0}]\x1ebAQID');
    });
  });
}

// ---------------------------------------------------------------------------
// One describe per target.

const targets = [reference, ourNode];

if (!WebSocket) {
  test('socket.io conformance prerequisites', () => assert.fail(wsModule.problem));
} else {
  for (const make of targets) {
    let target;
    try {
      target = make();
    } catch (err) {
      test(`conformance target ${make.name}`, () => assert.fail(err.message));
      continue;
    }
    describe(target.name, () => {
      const bases = {};
      let failed = false;
      const track = async (fn) => {
        try {
          await fn();
        } catch (err) {
          failed = true;
          throw err;
        }
      };
      before(async () => Object.assign(bases, await target.start()));
      after(async () => target.stop(failed));
      defineEngineio(target, bases, track);
      defineSocketio(target, bases, track);
    });
  }
}
