// End-to-end test of the WebRTC signalling hub /webrtchub (contract.md
// section 4): the real puzzle-node, driven by the real @microsoft/signalr
// client from Node (the hub's protocol) and from two headless Chromium pages
// that open an RTCDataChannel over loopback through it.
//
// Run through CTest (tests/integration/CMakeLists.txt); see signalr.test.mjs
// for the environment. Chromium is Debian's (/usr/bin/chromium, installed by
// tools/setup.sh), driven by playwright-core. No fixed sleeps.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

import {
  CALL_TIMEOUT_MS, EVENT_TIMEOUT_MS, PuzzleNode, SETUP_HINT, findBinary,
  withTimeout,
} from './support/harness.mjs';

const require = createRequire(import.meta.url);
const CHROMIUM = process.env.PUZZLE_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic',
  '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
  // Host candidates as plain addresses: mDNS names do not resolve here.
  '--disable-features=WebRtcHideLocalIpsWithMdns',
];

function loadModules() {
  try {
    return {
      signalR: require('@microsoft/signalr'),
      chromium: require('playwright-core').chromium,
      signalRBrowserBundle: require.resolve('@microsoft/signalr/dist/browser/signalr.min.js'),
    };
  } catch (err) {
    return { problem: `cannot load @microsoft/signalr and playwright-core ` +
      `(${err.code ?? err.message}): ${SETUP_HINT}` };
  }
}

/// A Node SignalR connection to /webrtchub that records client method calls.
class SignallingClient {
  constructor(signalR, base) {
    this.events = [];
    this.waiters = [];
    this.conn = new signalR.HubConnectionBuilder()
      .withUrl(`${base}/webrtchub`, { transport: signalR.HttpTransportType.WebSockets })
      .configureLogging(signalR.LogLevel.None)
      .build();
    for (const name of ['UserJoined', 'UserLeft', 'ExistingParticipants',
      'ReceiveSignal', 'ReceiveOffer', 'ReceiveAnswer', 'ReceiveIceCandidate']) {
      this.conn.on(name, (...args) => {
        this.events.push({ name, args });
        this.waiters = this.waiters.filter((w) => !w());
      });
    }
  }

  async start() {
    await withTimeout(this.conn.start(), CALL_TIMEOUT_MS, 'connect to /webrtchub');
    this.id = this.conn.connectionId;
  }

  invoke(...args) {
    return withTimeout(this.conn.invoke(...args), CALL_TIMEOUT_MS, `invoke ${args[0]}`);
  }

  /// The `count`-th (1-based) event called `name`, once it is there.
  event(name, count = 1) {
    return withTimeout(new Promise((resolve) => {
      const check = () => {
        const all = this.events.filter((e) => e.name === name);
        if (all.length < count) return false;
        resolve(all[count - 1].args);
        return true;
      };
      if (!check()) this.waiters.push(check);
    }), EVENT_TIMEOUT_MS, `${name} #${count}`);
  }
}

/// Runs in each page: connects to the hub, joins `room`, and either offers
/// (the first member, once the second joins) or answers. The offerer sends
/// its ICE candidates as they come but holds the offer back until gathering
/// is complete, so the answerer always gets candidates before the offer and
/// must keep them until it has a remote description.
async function peerInPage({ room, name }) {
  const conn = new signalR.HubConnectionBuilder().withUrl('/webrtchub').build();
  const log = { candidatesBeforeOffer: 0, candidatesSent: 0 };
  let pc = null;
  let early = [];
  const newPeer = (target) => {
    pc = new RTCPeerConnection({ iceServers: [] });
    pc.onicecandidate = (e) => {
      if (!e.candidate) return;
      log.candidatesSent += 1;
      conn.invoke('SendIceCandidate', JSON.stringify(e.candidate), target);
    };
    return pc;
  };
  const received = new Promise((resolve, reject) => {
    conn.on('UserJoined', async (otherId) => {
      try {
        newPeer(otherId);
        const channel = pc.createDataChannel('puzzle');
        channel.onopen = () => channel.send(`hello from ${name}`);
        channel.onmessage = (e) => resolve(e.data);
        const gathered = new Promise((done) => {
          pc.onicegatheringstatechange = () => {
            if (pc.iceGatheringState === 'complete') done();
          };
        });
        await pc.setLocalDescription(await pc.createOffer());
        await gathered;
        await conn.invoke('SendOffer', JSON.stringify(pc.localDescription), otherId);
      } catch (err) {
        reject(err);
      }
    });
    conn.on('ReceiveIceCandidate', async (payload) => {
      const candidate = JSON.parse(payload);
      if (!pc || !pc.remoteDescription) {
        log.candidatesBeforeOffer += pc ? 0 : 1;
        early.push(candidate);
        return;
      }
      await pc.addIceCandidate(candidate);
    });
    conn.on('ReceiveOffer', async (payload, from) => {
      try {
        newPeer(from);
        pc.ondatachannel = (e) => {
          e.channel.onmessage = (m) => {
            e.channel.send(`hello from ${name}`);
            resolve(m.data);
          };
        };
        await pc.setRemoteDescription(JSON.parse(payload));
        for (const c of early) await pc.addIceCandidate(c);
        early = [];
        await pc.setLocalDescription(await pc.createAnswer());
        await conn.invoke('SendAnswer', JSON.stringify(pc.localDescription), from);
      } catch (err) {
        reject(err);
      }
    });
    conn.on('ReceiveAnswer', async (payload) => {
      await pc.setRemoteDescription(JSON.parse(payload));
    });
  });
  await conn.start();
  await conn.invoke('JoinRoom', room, name);
  window.__peer = { received, log };
  return conn.connectionId;
}

function defineSuite({ signalR, chromium, signalRBrowserBundle }, bin) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'puzzle-webrtc-'));
  const node = new PuzzleNode(bin, {
    dataDir: path.join(tmp, 'data'),
    webRoot: process.env.PUZZLE_WEB_ROOT ?? path.join(tmp, 'web'),
    env: { PUZZLE_JWT_SECRET: crypto.randomBytes(32).toString('hex') },
  });
  const clients = [];
  let failed = false;
  const step = (name, fn) => test(name, async (t) => {
    try {
      await fn(t);
    } catch (err) {
      failed = true;
      throw err;
    }
  });
  const client = async () => {
    const c = new SignallingClient(signalR, node.base);
    clients.push(c);
    await c.start();
    return c;
  };

  before(async () => {
    await node.start();
  });

  after(async () => {
    for (const c of clients) await c.conn.stop().catch(() => {});
    const status = await node.stop();
    if (failed) process.stderr.write(`puzzle-node output:\n${node.tail(120)}\n`);
    assert.equal(status?.code, 0, 'puzzle-node exits 0 on SIGTERM');
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  describe('the signalling hub', () => {
    step('joiners learn of each other; relays reach one target in order', async () => {
      const a = await client();
      const b = await client();
      const c = await client();
      await a.invoke('JoinRoom', 'room-1', 'Ann');
      assert.deepEqual(await a.event('ExistingParticipants'), [[]]);
      await b.invoke('JoinRoom', 'room-1', 'Ben');
      assert.deepEqual(await b.event('ExistingParticipants'),
        [[{ connectionId: a.id, userName: 'Ann' }]]);
      assert.deepEqual(await a.event('UserJoined'), [b.id, 'Ben']);
      await c.invoke('JoinRoom', 'room-2', 'Cas');

      const sends = [['SendIceCandidate', 'ice-1'], ['SendOffer', 'offer'],
        ['SendIceCandidate', 'ice-2'], ['SendSignal', 'signal'], ['SendAnswer', 'answer']];
      // Non-blocking sends back to back: the order is the hub's to keep.
      await Promise.all(sends.map(([method, payload]) => a.conn.send(method, payload, b.id)));
      const expected = {
        SendIceCandidate: 'ReceiveIceCandidate', SendOffer: 'ReceiveOffer',
        SendSignal: 'ReceiveSignal', SendAnswer: 'ReceiveAnswer',
      };
      await b.event('ReceiveAnswer');
      const relayed = b.events.filter((e) => e.name.startsWith('Receive'));
      assert.deepEqual(relayed.map((e) => [e.name, ...e.args]),
        sends.map(([m, p]) => [expected[m], p, a.id]));
      assert.equal(c.events.filter((e) => e.name.startsWith('Receive')).length, 0);
    });

    step('relays outside one\'s rooms and bad calls fail; the connection carries on',
      async () => {
        const a = await client();
        const b = await client();
        await a.invoke('JoinRoom', 'room-3', 'Ann');
        await assert.rejects(a.invoke('SendOffer', 'x', b.id), /INVALID_ARGUMENT/);
        await assert.rejects(a.invoke('SendOffer', 'x', 'no-such-connection'),
          /INVALID_ARGUMENT/);
        await assert.rejects(a.invoke('JoinRoom', '', 'Ann'), /INVALID_ARGUMENT/);
        await assert.rejects(a.invoke('JoinRoom', 'x'.repeat(201), 'Ann'), /LIMIT_EXCEEDED/);
        await assert.rejects(a.invoke('JoinRoom', 42, 'Ann'), /Failed to invoke 'JoinRoom'/);
        await assert.rejects(a.invoke('Teleport'), /Method does not exist/);
        await b.invoke('JoinRoom', 'room-3', 'Ben');
        await a.invoke('SendSignal', 'still here', b.id);
        assert.deepEqual(await b.event('ReceiveSignal'), ['still here', a.id]);
      });

    step('UserLeft on leave and on disconnect', async () => {
      const a = await client();
      const b = await client();
      const c = await client();
      for (const [x, n] of [[a, 'Ann'], [b, 'Ben'], [c, 'Cas']]) {
        await x.invoke('JoinRoom', 'room-4', n);
      }
      await b.invoke('LeaveRoom', 'room-4');
      assert.deepEqual(await a.event('UserLeft'), [b.id]);
      await c.conn.stop();
      assert.deepEqual(await a.event('UserLeft', 2), [c.id]);
      await assert.rejects(a.invoke('SendOffer', 'x', b.id), /INVALID_ARGUMENT/,
        'a leaver is no longer reachable');
    });
  });

  describe('two Chromium pages', () => {
    let browser;

    before(async () => {
      assert.ok(fs.existsSync(CHROMIUM),
        `${CHROMIUM} is missing: tools/setup.sh installs Debian's chromium`);
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    });

    after(async () => {
      await browser?.close();
    });

    step('open an RTCDataChannel over loopback through /webrtchub', async () => {
      const pages = [];
      for (const name of ['Ann', 'Ben']) {
        const context = await browser.newContext();
        // Added before any page script, so the node's CSP does not apply.
        await context.addInitScript({ path: signalRBrowserBundle });
        const page = await context.newPage();
        page.on('pageerror', (err) => process.stderr.write(`[${name}] ${err}\n`));
        await page.goto(`${node.base}/health/live`);
        pages.push({ name, page });
      }
      // Ann joins first and offers when Ben arrives.
      for (const { name, page } of pages) {
        await page.evaluate(peerInPage, { room: 'video-1', name });
      }
      const [ann, ben] = await Promise.all(pages.map(({ page }) => withTimeout(
        page.evaluate(() => window.__peer.received), 30_000, 'the data channel message')));
      assert.equal(ann, 'hello from Ben');
      assert.equal(ben, 'hello from Ann');
      const benLog = await pages[1].page.evaluate(() => window.__peer.log);
      const annLog = await pages[0].page.evaluate(() => window.__peer.log);
      assert.ok(annLog.candidatesSent > 0, 'the offerer gathered ICE candidates');
      assert.ok(benLog.candidatesBeforeOffer > 0,
        'candidates reached the answerer before the offer and were kept');
      for (const { page } of pages) await page.context().close();
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
