#!/usr/bin/env node
// The IoT simulator: plays the platform's three kinds of devices against an
// MQTT broker (contract.md section 7, docs/mqtt.md), like the seed's
// IoTDeviceSimulator:
//
// - a smart table (`table-01`): pressure zones, total weight and touch
//   points on iot/table-01/sensor/pressure, every second;
// - an environment sensor (`env-01`): temperature, humidity, light and sound
//   on iot/env-01/sensor/environment, every five seconds;
// - a smart puzzle box (`puzzle-box-01`): waits for its binding (the node's
//   retained `bound` command on iot/puzzle-box-01/command), reads the
//   session's geometry from the node's REST API, then reports one physical
//   piece put into place every few seconds on
//   iot/puzzle-box-01/sensor/placement, until the puzzle is complete.
//
// Each device has its own MQTT connection (client id = device id) with a
// retained last will `offline`, says `online` (retained) on every
// (re)connect, repeats it every minute as a heartbeat, and says `offline`
// before a clean exit (Ctrl-C, SIGTERM).
//
//   node tools/iot-simulator/simulator.mjs [--broker=mqtt://127.0.0.1:1883]
//       [--api=http://127.0.0.1:8080] [--devices=table,env,box]
//       [--table-id=table-01] [--env-id=env-01] [--box-id=puzzle-box-01]
//       [--table-every=1000] [--env-every=5000] [--box-every=3000]
//       [--prefix=iot] [--session=SESSION_ID]
//
// --session makes the box work on that session at once instead of waiting
// for its binding (the node still refuses its placements until an owner
// binds it: POST /api/sessions/{id}/devices {"deviceId":"puzzle-box-01"}).

import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

const HEARTBEAT_MS = 60_000;
const STOP_TIMEOUT_MS = 3_000;

function parseArgs(argv) {
  const opts = {
    broker: 'mqtt://127.0.0.1:1883',
    api: 'http://127.0.0.1:8080',
    devices: 'table,env,box',
    'table-id': 'table-01',
    'env-id': 'env-01',
    'box-id': 'puzzle-box-01',
    'table-every': '1000',
    'env-every': '5000',
    'box-every': '3000',
    prefix: 'iot',
    session: '',
  };
  for (const arg of argv) {
    const m = /^--([a-z-]+)=(.*)$/.exec(arg);
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(`${usage()}\n`);
      process.exit(0);
    }
    if (!m || !(m[1] in opts)) {
      process.stderr.write(`iot-simulator: unknown argument '${arg}'\n${usage()}\n`);
      process.exit(2);
    }
    opts[m[1]] = m[2];
  }
  for (const key of ['table-every', 'env-every', 'box-every']) {
    const n = Number(opts[key]);
    if (!Number.isInteger(n) || n < 50) {
      process.stderr.write(`iot-simulator: --${key} must be milliseconds >= 50\n`);
      process.exit(2);
    }
    opts[key] = n;
  }
  opts.devices = new Set(opts.devices.split(',').map((s) => s.trim()).filter(Boolean));
  return opts;
}

function usage() {
  return 'usage: simulator.mjs [--broker=URL] [--api=URL] [--devices=table,env,box] ' +
    '[--table-id=ID] [--env-id=ID] [--box-id=ID] [--table-every=MS] [--env-every=MS] ' +
    '[--box-every=MS] [--prefix=iot] [--session=ID]';
}

function log(fields) {
  const line = Object.entries({ ts: new Date().toISOString(), ...fields })
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`)
    .join(' ');
  process.stdout.write(`${line}\n`);
}

const random = (lo, hi) => lo + Math.random() * (hi - lo);
const round = (x, digits = 1) => Number(x.toFixed(digits));

/// One device: an MQTT connection with a will, online/offline status and a
/// heartbeat.
class Device {
  constructor(mqtt, opts, id) {
    this.id = id;
    this.prefix = opts.prefix;
    this.timers = [];
    this.client = mqtt.connect(opts.broker, {
      clientId: id,
      protocolVersion: 5,
      reconnectPeriod: 1_000,
      keepalive: 30,
      will: { topic: this.topic('status'), payload: 'offline', retain: true, qos: 1 },
    });
    this.client.on('connect', () => {
      log({ event: 'connected', device: id, broker: opts.broker });
      this.status('online');
      this.onConnect?.();
    });
    this.client.on('reconnect', () => log({ event: 'reconnecting', device: id }));
    this.client.on('error', (err) => log({ event: 'mqtt_error', device: id, error: err.message }));
    this.every(HEARTBEAT_MS, () => this.status('online'));
  }

  topic(suffix) {
    return `${this.prefix}/${this.id}/${suffix}`;
  }

  status(value) {
    this.client.publish(this.topic('status'), value, { qos: 1, retain: true });
  }

  publish(suffix, payload) {
    if (!this.client.connected) return;
    this.client.publish(this.topic(suffix), JSON.stringify(payload), { qos: 1 });
  }

  every(ms, fn) {
    this.timers.push(setInterval(fn, ms));
  }

  async stop() {
    for (const t of this.timers) clearInterval(t);
    const connected = this.client.connected;
    const bye = async () => {
      if (connected) {
        await this.client.publishAsync(this.topic('status'), 'offline', { qos: 1, retain: true });
      }
      // Without a connection there is nobody to say goodbye to: force.
      await this.client.endAsync(!connected);
    };
    const timeout = new Promise((resolve) => setTimeout(resolve, STOP_TIMEOUT_MS).unref());
    await Promise.race([bye().catch(() => {}), timeout]);
    log({ event: 'stopped', device: this.id });
  }
}

/// The smart table: pressure zones, weight and touch (the seed's shape).
function table(mqtt, opts) {
  const d = new Device(mqtt, opts, opts['table-id']);
  d.every(opts['table-every'], () => {
    const zones = Array.from({ length: 6 }, (_, i) => ({
      zone: i, pressure: round(random(0, 100)),
    }));
    const points = Array.from({ length: Math.floor(random(0, 3)) }, () => ({
      x: Math.round(random(0, 1920)), y: Math.round(random(0, 1080)),
    }));
    d.publish('sensor/pressure', {
      deviceId: d.id,
      timestamp: new Date().toISOString(),
      pressure: { zones, totalWeight: Math.round(random(0, 500)) },
      touch: { points, gestures: points.length > 1 ? ['pinch'] : [] },
    });
  });
  return d;
}

/// The environment sensor (the seed's shape).
function environment(mqtt, opts) {
  const d = new Device(mqtt, opts, opts['env-id']);
  const sample = () => d.publish('sensor/environment', {
    deviceId: d.id,
    timestamp: new Date().toISOString(),
    temperature: round(20 + random(0, 5)),
    humidity: round(40 + random(0, 20)),
    lightLevel: Math.round(random(100, 1000)),
    soundLevel: Math.round(random(30, 70)),
  });
  d.onConnect = sample;
  d.every(opts['env-every'], sample);
  return d;
}

/// The smart puzzle box: once bound, reports the pieces of its session put
/// into their places, one by one.
function puzzleBox(mqtt, opts) {
  const d = new Device(mqtt, opts, opts['box-id']);
  let session = null; // { id, state, todo: [pieceId] }
  const start = async (sessionId) => {
    try {
      const res = await fetch(`${opts.api}/api/sessions/${sessionId}`,
        { signal: AbortSignal.timeout(10_000) });
      if (!res.ok) throw new Error(`GET /api/sessions/${sessionId}: HTTP ${res.status}`);
      const state = await res.json();
      const todo = state.pieces.filter((p) => !p.isPlaced).map((p) => p.id);
      session = { id: sessionId, state, todo };
      log({ event: 'box_working', device: d.id, session: sessionId, pieces: todo.length });
    } catch (err) {
      log({ event: 'box_session_unreadable', device: d.id, session: sessionId, error: err.message });
    }
  };
  d.onConnect = () => {
    d.client.subscribe(d.topic('command'), { qos: 1 });
  };
  d.client.on('message', (topic, payload) => {
    let cmd;
    try {
      cmd = JSON.parse(payload.toString());
    } catch {
      return;
    }
    if (cmd.command === 'bound' && cmd.sessionId && cmd.sessionId !== session?.id) {
      start(cmd.sessionId);
    } else if (cmd.command === 'unbound') {
      if (session) log({ event: 'box_unbound', device: d.id, session: session.id });
      session = null;
    } else if (cmd.command === 'placementResult') {
      log({ event: 'placement_result', device: d.id, msgId: cmd.msgId, piece: cmd.pieceId,
        success: cmd.success, placed: cmd.isCorrectlyPlaced, code: cmd.code });
      if (!cmd.success && cmd.code === 'SESSION_NOT_FOUND') session = null;
    } else {
      log({ event: 'command', device: d.id, command: cmd.command, body: cmd });
    }
  });
  d.every(opts['box-every'], () => {
    if (!session || session.todo.length === 0) return;
    const { state } = session;
    const pieceId = session.todo.shift();
    const row = Math.floor(pieceId / state.cols);
    const col = pieceId % state.cols;
    d.publish('sensor/placement', {
      msgId: randomUUID(),
      sessionId: session.id,
      pieceId,
      x: state.board.x + col * state.pieceWidth,
      y: state.board.y + row * state.pieceHeight,
      rotation: 0,
    });
    if (session.todo.length === 0) log({ event: 'box_done', device: d.id, session: session.id });
  });
  if (opts.session) start(opts.session);
  return d;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  let mqtt;
  try {
    mqtt = require('mqtt');
  } catch (err) {
    process.stderr.write(`iot-simulator: cannot load the npm package mqtt (${err.code}): ` +
      'run tools/setup.sh, or npm ci in tools/iot-simulator\n');
    process.exit(1);
  }
  const devices = [];
  if (opts.devices.has('table')) devices.push(table(mqtt, opts));
  if (opts.devices.has('env')) devices.push(environment(mqtt, opts));
  if (opts.devices.has('box')) devices.push(puzzleBox(mqtt, opts));
  if (devices.length === 0) {
    process.stderr.write('iot-simulator: no devices (--devices=table,env,box)\n');
    process.exit(2);
  }
  let stopping = false;
  const stop = async (signal) => {
    if (stopping) return;
    stopping = true;
    log({ event: 'stopping', signal });
    await Promise.all(devices.map((d) => d.stop()));
    process.exit(0);
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main();
