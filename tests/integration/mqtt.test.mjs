// End-to-end test of the MQTT bridge (contract.md section 7): a private
// mosquitto on a free loopback port, the real puzzle-node as its client
// (--mqtt.uri), simulated devices on the npm `mqtt` client and a SignalR
// player (@microsoft/signalr) in the same session.
//
// Shown here: a bound puzzle box places pieces and the player sees the moves
// and, at the end, the completion of a 2x2 puzzle; the same msgId twice moves
// once; every kind of bad device input is dropped, counted, and the next good
// message works; the retained progress is right after a node restart; a
// broker restart mid-test is survived (reconnect, resubscribe, no duplicate
// moves); presence: the last will marks a device offline within the
// keep-alive window, and so does a clean disconnect with an explicit
// offline.
//
// Run through CTest (tests/integration/CMakeLists.txt), which sets
// PUZZLE_NODE_BIN. Needs mosquitto (tools/setup.sh installs it). No fixed
// sleeps: every wait is for a message, an event or a condition, bounded.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

import {
  EVENT_TIMEOUT_MS, PuzzleNode, SETUP_HINT, UUID_RE, correctSpot, findBinary, http,
  safeSpot, withTimeout,
} from './support/harness.mjs';
import {
  Broker, FreezableProxy, MqttClient, findMosquitto,
} from './support/mqtt_support.mjs';

const MAX_PAYLOAD = 4096; // --mqtt.max-payload-bytes below
const PRESENCE_GRACE_MS = 300; // --mqtt.presence-grace below
const DEVICE_KEEPALIVE_S = 1; // the will device's MQTT keep-alive
const POLL_MS = 50;

function loadModules() {
  const require = createRequire(import.meta.url);
  try {
    return { mqtt: require('mqtt'), signalR: require('@microsoft/signalr') };
  } catch (err) {
    return {
      problem: `cannot load mqtt and @microsoft/signalr (${err.code ?? err.message}): ` +
        SETUP_HINT,
    };
  }
}

/// Polls `probe()` until it returns a truthy value; bounded. For state only
/// visible through the REST API (counters, presence).
async function eventually(probe, what, ms = EVENT_TIMEOUT_MS) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    last = await probe();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms: ${what}`);
    await delay(POLL_MS);
  }
}

/// A SignalR player whose events queue up for `next()`.
class Player {
  static async join(signalR, base, user, sessionId) {
    const p = new Player();
    p.conn = new signalR.HubConnectionBuilder()
      .withUrl(`${base}/puzzlehub`, {
        accessTokenFactory: () => user.token,
        transport: signalR.HttpTransportType.WebSockets,
      })
      .configureLogging(signalR.LogLevel.None)
      .build();
    for (const name of ['PieceMoved', 'PuzzleCompleted', 'UserJoined']) {
      p.conn.on(name, (data) => {
        p.events.push({ name, data });
        p.waiters = p.waiters.filter((w) => !w());
      });
    }
    await p.conn.start();
    p.state = await p.conn.invoke('JoinPuzzleSession', sessionId, user.userId);
    return p;
  }

  constructor() {
    this.events = [];
    this.waiters = [];
  }

  next(name, pred, what) {
    return withTimeout(new Promise((resolve) => {
      const check = () => {
        const i = this.events.findIndex((e) => e.name === name && pred(e.data));
        if (i < 0) return false;
        resolve(this.events.splice(i, 1)[0].data);
        return true;
      };
      if (!check()) this.waiters.push(check);
    }), EVENT_TIMEOUT_MS, `SignalR ${name}: ${what}`);
  }

  count(name, pred) {
    return this.events.filter((e) => e.name === name && pred(e.data)).length;
  }

  stop() {
    return this.conn.stop();
  }
}

function defineSuite({ mqtt, signalR }, bin, mosquitto) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'puzzle-mqtt-'));
  const broker = new Broker(mosquitto, path.join(tmp, 'broker'));
  const clientId = `puzzle-test-${crypto.randomBytes(4).toString('hex')}`;
  const node = new PuzzleNode(bin, {
    dataDir: path.join(tmp, 'data'),
    webRoot: process.env.PUZZLE_WEB_ROOT ?? path.join(tmp, 'web'),
    env: { PUZZLE_JWT_SECRET: crypto.randomBytes(32).toString('hex') },
  });
  const closers = [];
  let failed = false;
  const step = (name, fn) => test(name, async (t) => {
    try {
      await fn(t);
    } catch (err) {
      failed = true;
      throw err;
    }
  });

  // Shared across the steps, in order.
  let owner;
  let stranger;
  let sessionId;
  let box; // the smart puzzle box, bound to the session
  let observer; // subscribed to everything the node publishes
  let player; // a SignalR player in the session
  let boxUserId;
  let msgSeq = 0;

  const client = async (url, options) => {
    const c = await MqttClient.connect(mqtt, url, options);
    closers.push(() => c.destroy());
    return c;
  };
  const guest = async (displayName) => {
    const res = await http('POST', `${node.base}/api/auth/guest`, { body: { displayName } });
    assert.ok(res.status === 200 || res.status === 201, res.text);
    return res.json;
  };
  const state = async () => {
    const res = await http('GET', `${node.base}/api/sessions/${sessionId}`);
    assert.equal(res.status, 200, res.text);
    return res.json;
  };
  const devicesApi = async () => {
    const res = await http('GET', `${node.base}/api/devices`);
    assert.equal(res.status, 200, res.text);
    return res.json;
  };
  const dropped = async (reason) => (await devicesApi()).mqtt.dropped[reason];
  const deviceView = async (id) => (await devicesApi()).devices.find((d) => d.deviceId === id);
  const placementTopic = (deviceId) => `iot/${deviceId}/sensor/placement`;
  const placement = (pieceId, spot, msgId = `m-${++msgSeq}`) => ({
    msgId, sessionId, pieceId, x: spot.x, y: spot.y, rotation: 0,
  });
  /// Publishes `p` from the box and waits for the node's placementResult.
  const place = async (p, from = box) => {
    await from.publish(placementTopic('box-1'), p);
    const result = await from.next(
      (m) => m.topic === 'iot/box-1/command' && m.json?.command === 'placementResult' &&
        m.json.msgId === p.msgId,
      `placementResult ${p.msgId}`);
    return result.json;
  };
  const statusTopic = `puzzle/nodes/${clientId}/status`;
  /// Waits until the node announced itself online (again). It subscribes
  /// before it publishes that, on the same connection: from then on device
  /// messages reach it.
  const nodeOnline = () => observer.next(
    (m) => m.topic === statusTopic && m.json?.status === 'online', 'the node online');
  const startNode = async () => {
    node.args = [
      `--mqtt.uri=tcp://127.0.0.1:${broker.port}`,
      `--mqtt.client-id=${clientId}`,
      '--mqtt.reconnect-min=1s',
      '--mqtt.reconnect-max=2s',
      '--mqtt.keep-alive=5s',
      `--mqtt.presence-grace=${PRESENCE_GRACE_MS}ms`,
      `--mqtt.max-payload-bytes=${MAX_PAYLOAD}`,
    ];
    await node.start();
    await node.waitForOutput(/event=mqtt_connected/);
  };

  before(async () => {
    await broker.start();
    await startNode();
  });

  after(async () => {
    for (const close of closers) {
      try {
        await close();
      } catch {
        // best effort
      }
    }
    let status;
    try {
      status = await node.stop();
    } finally {
      await broker.stop();
    }
    if (failed) {
      process.stderr.write(`puzzle-node output:\n${node.tail(150)}\n`);
      process.stderr.write(`mosquitto output:\n${broker.output.slice(-4000)}\n`);
    }
    assert.equal(status?.code, 0, 'puzzle-node exits 0 on SIGTERM');
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  describe('the bridge', () => {
    step('the private broker listens on loopback only', async () => {
      assert.deepEqual(await broker.reachableOutsideLoopback(), []);
    });

    step('the node connects and announces itself (retained status)', async () => {
      observer = await client(broker.url, { clientId: 'observer' });
      await observer.subscribe(['puzzle/#', 'iot/+/command']);
      const status = await observer.next((m) => m.topic === statusTopic, 'the node status');
      assert.equal(status.retain, true);
      assert.equal(status.json.status, 'online');
      assert.equal(status.json.clientId, clientId);
      const api = await devicesApi();
      assert.equal(api.mqtt.enabled, true);
      assert.equal(api.mqtt.connected, true);
      assert.equal(api.mqtt.clientId, clientId);
      const health = await http('GET', `${node.base}/health/detailed`);
      assert.equal(health.status, 200, health.text);
      assert.equal(health.json.results.mqtt.status, 'Healthy');
      assert.equal(health.json.results.mqtt.data.connected, true);
    });
  });

  describe('binding', () => {
    step('only the session owner binds a device; bad requests are refused', async () => {
      owner = await guest('Owner');
      stranger = await guest('Stranger');
      const created = await http('POST', `${node.base}/api/sessions`, {
        token: owner.token,
        body: { name: 'mqtt test', imageId: 'aurora-lake', rows: 2, cols: 2 },
      });
      assert.equal(created.status, 201, created.text);
      sessionId = created.json.id;
      assert.match(sessionId, UUID_RE);
      player = await Player.join(signalR, node.base, owner, sessionId);
      closers.push(() => player.stop());
      box = await client(broker.url, {
        clientId: 'box-1',
        will: { topic: 'iot/box-1/status', payload: 'offline', retain: true, qos: 1 },
      });
      await box.subscribe(['iot/box-1/command']);
      await box.publish('iot/box-1/status', 'online', { retain: true });

      const url = `${node.base}/api/sessions/${sessionId}/devices`;
      assert.equal((await http('POST', url, { body: { deviceId: 'box-1' } })).status, 401);
      const foreign = await http('POST', url, { token: stranger.token, body: { deviceId: 'box-1' } });
      assert.equal(foreign.status, 403, foreign.text);
      assert.equal(foreign.json.code, 'FORBIDDEN');
      for (const deviceId of ['box/+', 'box#1', '', 'a'.repeat(65), 7]) {
        const bad = await http('POST', url, { token: owner.token, body: { deviceId } });
        assert.equal(bad.status, 400, `${JSON.stringify(deviceId)}: ${bad.text}`);
      }
      const missing = await http('POST',
        `${node.base}/api/sessions/${crypto.randomUUID()}/devices`,
        { token: owner.token, body: { deviceId: 'box-1' } });
      assert.equal(missing.status, 404, missing.text);

      const bound = await http('POST', url, { token: owner.token, body: { deviceId: 'box-1' } });
      assert.equal(bound.status, 201, bound.text);
      assert.equal(bound.json.deviceId, 'box-1');
      assert.equal(bound.json.sessionId, sessionId);
      assert.equal(bound.json.joined, true);
      assert.equal(bound.headers.get('location'), `/api/sessions/${sessionId}/devices/box-1`);
      boxUserId = bound.json.userId;
      const again = await http('POST', url, { token: owner.token, body: { deviceId: 'box-1' } });
      assert.equal(again.status, 200, again.text);

      // The device learns its binding (retained, for devices that come later).
      const cmd = await box.next(
        (m) => m.topic === 'iot/box-1/command' && m.json?.command === 'bound', 'bound');
      assert.equal(cmd.json.sessionId, sessionId);
      // The player saw the device join as a participant.
      const joined = await player.next('UserJoined', (d) => d.userId === boxUserId, 'box joins');
      assert.equal(joined.username, 'box-1');
      const listed = await eventually(async () => {
        const res = await http('GET', url);
        assert.equal(res.status, 200, res.text);
        return res.json[0]?.presence === 'online' ? res.json : null;
      }, 'the box listed online');
      assert.deepEqual(listed.map((d) => d.deviceId), ['box-1']);
      assert.equal(listed[0].sessionId, sessionId);

      // The owner sends the box a command (e.g. highlight a piece).
      const cmdUrl = `${url}/box-1/commands`;
      const refused = await http('POST', cmdUrl,
        { token: stranger.token, body: { command: 'highlight', pieceId: 2 } });
      assert.equal(refused.status, 403, refused.text);
      const noName = await http('POST', cmdUrl, { token: owner.token, body: { pieceId: 2 } });
      assert.equal(noName.status, 400, noName.text);
      const sent = await http('POST', cmdUrl,
        { token: owner.token, body: { command: 'highlight', pieceId: 2 } });
      assert.equal(sent.status, 202, sent.text);
      const highlight = await box.next(
        (m) => m.topic === 'iot/box-1/command' && m.json?.command === 'highlight', 'highlight');
      assert.equal(highlight.json.pieceId, 2);
      assert.equal(highlight.json.sessionId, sessionId);
      assert.equal(highlight.json.issuedBy, owner.userId);
    });
  });

  describe('placements', () => {
    step('a bound puzzle box places a piece; the SignalR player sees the move', async () => {
      const st = await state();
      const result = await place(placement(0, correctSpot(st, 0)));
      assert.equal(result.success, true);
      assert.equal(result.isCorrectlyPlaced, true);
      const moved = await player.next('PieceMoved', (d) => d.pieceId === 0, 'piece 0');
      assert.equal(moved.movedBy, boxUserId);
      assert.equal(moved.isCorrectlyPlaced, true);
      assert.equal(moved.version, result.version);
      // The session's events and retained progress go out on MQTT.
      const ev = await observer.next(
        (m) => m.topic === `puzzle/${sessionId}/events` && m.json?.event === 'PieceMoved',
        'PieceMoved on MQTT');
      assert.equal(ev.json.data.pieceId, 0);
      assert.equal(ev.json.sessionId, sessionId);
      const progress = await observer.next(
        (m) => m.topic === `puzzle/${sessionId}/progress` && m.json?.completedPieces === 1,
        'progress 1/4');
      assert.deepEqual(progress.json, {
        sessionId, completedPieces: 1, pieceCount: 4, completionPercentage: 25,
        isCompleted: false,
      });
    });

    step('the same msgId twice moves the piece once', async () => {
      const before = await dropped('duplicate');
      const p = placement(1, safeSpot(await state(), 1), 'dup-1');
      const first = await place(p);
      assert.equal(first.success, true);
      await box.publish(placementTopic('box-1'), p); // a redelivery
      // Messages of one client are handled in order: once the next one is
      // answered, the duplicate has been dealt with.
      const marker = await place(placement(1, safeSpot(await state(), 1)));
      assert.equal(marker.success, true);
      assert.equal(await dropped('duplicate'), before + 1);
      assert.equal(box.takeAll((m) => m.json?.msgId === 'dup-1').length, 0);
      const versions = player.events.filter(
        (e) => e.name === 'PieceMoved' && e.data.version === first.version);
      assert.equal(versions.length, 1);
    });
  });

  describe('bad device input is dropped, counted, and the next message works', () => {
    const cases = [
      ['an empty payload', 'empty_payload', () => ''],
      ['not JSON', 'not_json', () => 'place piece 1 please'],
      ['the wrong shape', 'wrong_shape', () => ({ msgId: 'x', sessionId, pieceId: '1' })],
      ['a non-finite number', 'non_finite',
        () => `{"msgId":"nf","sessionId":"${sessionId}","pieceId":1,"x":1e999,"y":5,"rotation":0}`],
      ['NaN', 'non_finite',
        () => `{"msgId":"nan","sessionId":"${sessionId}","pieceId":1,"x":NaN,"y":5,"rotation":0}`],
      ['an unknown session', 'unknown_session',
        () => ({ msgId: 'us', sessionId: crypto.randomUUID(), pieceId: 1, x: 5, y: 5, rotation: 0 })],
      ['an oversized payload', 'oversized',
        () => JSON.stringify({ msgId: 'big', sessionId, pieceId: 1, x: 5, y: 5, rotation: 0,
          pad: 'x'.repeat(MAX_PAYLOAD) })],
    ];
    for (const [what, reason, payload] of cases) {
      step(what, async () => {
        const before = await dropped(reason);
        const versionBefore = (await state()).version;
        await box.publish(placementTopic('box-1'), payload());
        const next = await place(placement(1, safeSpot(await state(), 1)));
        assert.equal(next.success, true);
        assert.equal(next.version, versionBefore + 1, 'only the good message moved');
        await eventually(async () => (await dropped(reason)) === before + 1,
          `the ${reason} counter to count it`);
      });
    }

    step('a device that is not bound', async () => {
      const before = await dropped('unbound_device');
      const stray = await client(broker.url, { clientId: 'box-stray' });
      await stray.publish(placementTopic('box-stray'), placement(1, { x: 5, y: 5 }));
      await eventually(async () => (await dropped('unbound_device')) === before + 1,
        'the unbound_device counter');
      const next = await place(placement(1, safeSpot(await state(), 1)));
      assert.equal(next.success, true);
      stray.destroy();
    });

    step('a bad device id in the topic', async () => {
      const before = await dropped('bad_device_id');
      await box.publish('iot/box 1/sensor/placement', placement(1, { x: 5, y: 5 }));
      const next = await place(placement(1, safeSpot(await state(), 1)));
      assert.equal(next.success, true);
      await eventually(async () => (await dropped('bad_device_id')) === before + 1,
        'the bad_device_id counter');
    });

    step('a topic with wildcard characters (refused by the broker too)', async () => {
      const vandal = await client(broker.url, { clientId: 'vandal', reconnectPeriod: 0 });
      // The broker refuses a PUBLISH whose topic holds wildcards (a protocol
      // error) and drops the connection; the node never sees it and the
      // bridge carries on. The node's own check is unit-tested.
      const outcome = await Promise.race([
        vandal.raw.publishAsync('iot/box#1/sensor/placement', '{}', { qos: 1 })
          .then(() => 'accepted', () => 'refused'),
        vandal.until(() => vandal.closes > 0, EVENT_TIMEOUT_MS, 'the vandal to be dropped')
          .then(() => 'dropped'),
      ]);
      assert.notEqual(outcome, 'accepted');
      vandal.destroy();
      const next = await place(placement(1, safeSpot(await state(), 1)));
      assert.equal(next.success, true);
      const api = await devicesApi();
      assert.equal(api.mqtt.connected, true);
      assert.equal(api.devices.find((d) => d.deviceId === 'box-1').sessionId, sessionId);
    });
  });

  describe('restarts', () => {
    step('the retained progress is right after a node restart', async () => {
      await player.stop();
      const before = await state();
      const status = await node.stop();
      assert.equal(status?.code, 0);
      // A clean stop says offline itself (a clean DISCONNECT sends no will).
      const gone = await observer.next(
        (m) => m.topic === statusTopic && m.json?.status === 'offline',
        'the node going offline');
      assert.equal(gone.retain, false); // live, though published retained
      await startNode();
      await nodeOnline();
      player = await Player.join(signalR, node.base, owner, sessionId);
      closers.push(() => player.stop());
      // A new subscriber gets the retained progress, and it is right.
      const late = await client(broker.url, { clientId: 'late-reader' });
      await late.subscribe([`puzzle/${sessionId}/progress`]);
      const retained = await late.next(() => true, 'the retained progress');
      assert.equal(retained.retain, true);
      assert.equal(retained.json.completedPieces, before.completedPieces);
      assert.equal(retained.json.pieceCount, 4);
      assert.equal(retained.json.isCompleted, false);
      late.destroy();
      // The binding survived the restart: the box places the next piece.
      const result = await place(placement(2, correctSpot(await state(), 2)));
      assert.equal(result.success, true);
      assert.equal(result.isCorrectlyPlaced, true);
      await player.next('PieceMoved', (d) => d.pieceId === 2, 'piece 2 after the restart');
      const progress = await observer.next(
        (m) => m.topic === `puzzle/${sessionId}/progress` && m.json?.completedPieces === 2,
        'progress 2/4');
      assert.equal(progress.json.completionPercentage, 50);
    });

    step('a broker restart is survived: reconnect, resubscribe, no duplicate moves',
      async () => {
        const connectsBefore = (await devicesApi()).mqtt.connects;
        const p = placement(1, safeSpot(await state(), 1), 'before-broker-restart');
        const first = await place(p);
        assert.equal(first.success, true);
        observer.takeAll((m) => m.topic === statusTopic);
        await broker.stop('SIGKILL');
        await eventually(async () => (await devicesApi()).mqtt.connected === false,
          'the node to notice the broker is gone');
        // Meanwhile a player places a piece: the progress the node publishes
        // after reconnecting must count it.
        const spot3 = correctSpot(await state(), 3);
        assert.equal((await player.conn.invoke('LockPiece', sessionId, 3)).granted, true);
        const moved = await player.conn.invoke('MovePiece', sessionId, 3, spot3.x, spot3.y, 0);
        assert.equal(moved.isCorrectlyPlaced, true);
        await broker.start();
        await eventually(async () => (await devicesApi()).mqtt.connects > connectsBefore,
          'the node to reconnect', 15_000);
        await box.connected(2, 15_000);
        await observer.connected(2, 15_000);
        // Clean start: the box and the observer subscribe again too.
        await box.subscribe(['iot/box-1/command']);
        await observer.subscribe(['puzzle/#', 'iot/+/command']);
        await nodeOnline();
        // The redelivered message moves nothing; a new one does.
        const before = await dropped('duplicate');
        await box.publish(placementTopic('box-1'), p);
        const after = await place(placement(1, safeSpot(await state(), 1), 'after-broker-restart'));
        assert.equal(after.success, true);
        assert.equal(after.version, first.version + 2); // the player's move between
        assert.equal(await dropped('duplicate'), before + 1);
        assert.equal(player.count('PieceMoved', (d) => d.version === first.version), 1);
        // The retained state lost with the broker is published again.
        const fresh = await client(broker.url, { clientId: 'after-restart' });
        await fresh.subscribe([`puzzle/${sessionId}/progress`, `puzzle/nodes/${clientId}/status`]);
        const progress = await fresh.next(
          (m) => m.topic.endsWith('/progress'), 'progress, retained again');
        assert.equal(progress.retain, true);
        assert.equal(progress.json.completedPieces, 3);
        const online = await fresh.next((m) => m.topic.endsWith('/status'), 'node status');
        assert.equal(online.json.status, 'online');
        fresh.destroy();
      });
  });

  describe('presence', () => {
    step('the last will marks a device offline within the keep-alive window', async () => {
      const proxy = await FreezableProxy.start(broker.port);
      closers.push(() => proxy.close());
      const sensor = await client(proxy.url, {
        clientId: 'env-will',
        keepalive: DEVICE_KEEPALIVE_S,
        reconnectPeriod: 0,
        will: { topic: 'iot/env-will/status', payload: 'offline', retain: true, qos: 1 },
      });
      await sensor.publish('iot/env-will/status', 'online', { retain: true });
      await sensor.publish('iot/env-will/sensor/environment',
        { temperature: 21.5, humidity: 40, lightLevel: 300, soundLevel: 35 });
      const seen = await eventually(async () => {
        const d = await deviceView('env-will');
        return d?.presence === 'online' && d.readings.environment ? d : null;
      }, 'the sensor online with a reading');
      assert.equal(seen.readings.environment.data.temperature, 21.5);
      // A watcher sees when the broker publishes the will, so the node is
      // timed from that moment: when the broker notices the silence (after
      // 1.5 keep-alives, checked on its own loop) is mosquitto's business
      // and slower on a loaded machine.
      const watcher = await client(broker.url, { clientId: 'will-watcher' });
      await watcher.raw.subscribeAsync('iot/env-will/status');
      await watcher.next((m) => m.text === 'online', 'the retained online status');
      // The device hangs: its socket stays open but nothing flows.
      const frozenAt = Date.now();
      proxy.freeze();
      // Still online until the will: silence alone is not offline yet.
      assert.equal((await deviceView('env-will'))?.presence, 'online');
      await watcher.next((m) => m.text === 'offline', 'the broker to publish the will', 15_000);
      const willAt = Date.now();
      assert.ok(willAt - frozenAt <= 15_000, 'the broker published the will');
      await eventually(async () => (await deviceView('env-will'))?.presence === 'offline',
        'the last will to mark the sensor offline', 10_000);
      const elapsed = Date.now() - willAt;
      // The node marks it offline once its grace after the will is over.
      assert.ok(elapsed <= PRESENCE_GRACE_MS + 2_000,
        `offline ${elapsed} ms after the will (grace ${PRESENCE_GRACE_MS} ms)`);
      sensor.destroy();
    });

    step('a clean disconnect with an explicit offline marks it offline', async () => {
      const table = await client(broker.url, {
        clientId: 'table-01',
        will: { topic: 'iot/table-01/status', payload: 'offline', retain: true, qos: 1 },
      });
      await table.publish('iot/table-01/status', 'online', { retain: true });
      await table.publish('iot/table-01/sensor/pressure',
        { pressure: { zones: [1, 2, 3], totalWeight: 250 }, touch: { points: [] } });
      await eventually(async () => (await deviceView('table-01'))?.presence === 'online',
        'the table online');
      const t0 = Date.now();
      await table.publish('iot/table-01/status', 'offline', { retain: true });
      await table.end();
      const d = await eventually(async () => {
        const v = await deviceView('table-01');
        return v?.presence === 'offline' ? v : null;
      }, 'the table offline');
      assert.ok(Date.now() - t0 <= PRESENCE_GRACE_MS + 2_500);
      assert.equal(d.readings.pressure.data.pressure.totalWeight, 250);
      assert.equal(d.flapsSuppressed, 0);
    });
  });

  describe('completion', () => {
    step('the box completes the 2x2 puzzle; the player sees it, progress says so',
      async () => {
        const todo = (await state()).pieces.filter((p) => !p.isPlaced).map((p) => p.id);
        assert.deepEqual(todo, [1]);
        for (const id of todo) {
          const result = await place(placement(id, correctSpot(await state(), id)));
          assert.equal(result.success, true, JSON.stringify(result));
          assert.equal(result.isCorrectlyPlaced, true);
        }
        const done = await player.next('PuzzleCompleted', () => true, 'completion');
        assert.ok(done.completedAt);
        assert.ok(done.participants.some((p) => p.userId === boxUserId));
        const progress = await observer.next(
          (m) => m.topic === `puzzle/${sessionId}/progress` && m.json?.isCompleted === true,
          'progress: completed');
        assert.equal(progress.json.completedPieces, 4);
        assert.equal(progress.json.completionPercentage, 100);
        assert.equal(player.count('PuzzleCompleted', () => true), 0, 'completed once');
        const st = await state();
        assert.equal(st.isCompleted, true);
        const api = await devicesApi();
        const boxView = api.devices.find((x) => x.deviceId === 'box-1');
        assert.ok(boxView.placements.applied >= 4);
        assert.ok(boxView.messageRate >= 0);
      });
  });
}

const modules = loadModules();
const { bin, problem: binaryProblem } = findBinary();
const { mosquitto, problem: brokerProblem } = findMosquitto();
const problems = [modules.problem, binaryProblem, brokerProblem].filter(Boolean);
if (problems.length > 0) {
  test('integration test prerequisites', () => {
    assert.fail(problems.join('\n'));
  });
} else {
  defineSuite(modules, bin, mosquitto);
}
