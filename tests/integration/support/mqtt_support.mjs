// What the MQTT integration test needs besides the node: a private mosquitto
// on a free loopback port (started, killed and restarted by the test), MQTT
// clients from the npm `mqtt` package whose messages queue up for bounded
// waits, and a TCP proxy that can freeze a connection (the device side goes
// silent while its socket stays open, so only the broker's keep-alive can
// notice). No fixed sleeps: every wait is for an event or a condition with a
// bounded timeout.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

import { EVENT_TIMEOUT_MS, VERBOSE, freePort, withTimeout } from './harness.mjs';

const BROKER_READY_MS = 10_000;
const BROKER_STOP_MS = 10_000;

export const MOSQUITTO_HINT =
  'mosquitto is needed for this test: run tools/setup.sh (it installs the ' +
  'Debian packages of deploy/debian-packages.txt, mosquitto among them), ' +
  'or apt-get install mosquitto; PUZZLE_MOSQUITTO=/path/to/mosquitto ' +
  'overrides the lookup';

/// The mosquitto binary, or a problem text with a hint.
export function findMosquitto() {
  const candidates = [];
  if (process.env.PUZZLE_MOSQUITTO) candidates.push(process.env.PUZZLE_MOSQUITTO);
  for (const dir of (process.env.PATH ?? '').split(':').filter(Boolean)) {
    candidates.push(path.join(dir, 'mosquitto'));
  }
  candidates.push('/usr/sbin/mosquitto', '/usr/local/sbin/mosquitto');
  for (const file of candidates) {
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return { mosquitto: file };
    } catch {
      // try the next one
    }
  }
  return { problem: `mosquitto not found. ${MOSQUITTO_HINT}` };
}

/// A private mosquitto: `listener PORT 127.0.0.1`, anonymous clients, no
/// persistence (a restart loses retained messages, as a crash of a broker
/// without a persistence file does).
export class Broker {
  constructor(bin, dir) {
    this.bin = bin;
    this.dir = dir;
    this.output = '';
    this.child = null;
    this.port = null;
    this.starts = 0;
  }

  get url() {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  /// Starts the broker (on the same port as before when restarted) and waits
  /// until it accepts connections.
  async start() {
    this.starts += 1;
    this.port ??= await freePort();
    fs.mkdirSync(this.dir, { recursive: true });
    const conf = path.join(this.dir, 'mosquitto.conf');
    fs.writeFileSync(conf, [
      `listener ${this.port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence false',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      'log_type notice',
      'log_type information',
      '',
    ].join('\n'));
    this.output += `\n--- mosquitto start #${this.starts} on port ${this.port} ---\n`;
    const child = spawn(this.bin, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    // Never outlive the test process, whatever happens to it.
    const reap = () => child.kill('SIGKILL');
    process.once('exit', reap);
    child.once('close', () => process.removeListener('exit', reap));
    this.exited = new Promise((resolve) => {
      child.once('error', (error) => resolve({ error }));
      child.once('close', (code, signal) => resolve({ code, signal }));
    });
    for (const stream of [child.stdout, child.stderr]) {
      stream.setEncoding('utf8');
      stream.on('data', (chunk) => {
        if (VERBOSE) process.stderr.write(`[mosquitto] ${chunk}`);
        this.output = (this.output + chunk).slice(-200_000);
      });
    }
    const deadline = Date.now() + BROKER_READY_MS;
    for (;;) {
      const status = await Promise.race([this.exited, delay(0).then(() => null)]);
      if (status) {
        throw new Error(`mosquitto exited before it was ready (${JSON.stringify(status)}):\n` +
          this.output);
      }
      if (await canConnect('127.0.0.1', this.port)) return;
      if (Date.now() > deadline) {
        throw new Error(`mosquitto did not listen on 127.0.0.1:${this.port} within ` +
          `${BROKER_READY_MS} ms:\n${this.output}`);
      }
      await Promise.race([delay(50), this.exited]);
    }
  }

  /// Addresses of this host other than loopback on which the broker must
  /// not be reachable.
  async reachableOutsideLoopback() {
    const reachable = [];
    for (const infos of Object.values(os.networkInterfaces())) {
      for (const info of infos ?? []) {
        if (info.internal || info.family !== 'IPv4') continue;
        if (await canConnect(info.address, this.port)) reachable.push(info.address);
      }
    }
    return reachable;
  }

  /// Stops the broker with `signal` (SIGKILL: a crash) and waits for it.
  async stop(signal = 'SIGTERM') {
    if (!this.child) return;
    const child = this.child;
    this.child = null;
    child.kill(signal);
    await withTimeout(this.exited, BROKER_STOP_MS, `mosquitto to exit after ${signal}`);
  }
}

function canConnect(host, port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/// An MQTT client (npm `mqtt`, MQTT 5) whose received messages queue up for
/// `next()`; `connects` counts (re)connections.
export class MqttClient {
  static async connect(mqtt, url, options = {}) {
    const client = new MqttClient(mqtt.connect(url, {
      protocolVersion: 5,
      reconnectPeriod: 200,
      connectTimeout: 5_000,
      ...options,
    }));
    await client.connected(1);
    return client;
  }

  constructor(raw) {
    this.raw = raw;
    this.inbox = [];
    this.waiters = [];
    this.connects = 0;
    this.closes = 0;
    raw.on('connect', () => {
      this.connects += 1;
      this._wake();
    });
    raw.on('close', () => {
      this.closes += 1;
      this._wake();
    });
    raw.on('error', () => {});
    raw.on('message', (topic, payload, packet) => {
      const text = payload.toString();
      let json;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      this.inbox.push({ topic, text, json, retain: packet.retain });
      this._wake();
    });
  }

  _wake() {
    this.waiters = this.waiters.filter((w) => !w());
  }

  /// Resolves once the client has connected `n` times in all.
  connected(n, ms = EVENT_TIMEOUT_MS) {
    return this.until(() => this.connects >= n, ms, `MQTT connection #${n}`);
  }

  /// Resolves when `cond()` holds (checked on every client event).
  until(cond, ms, what) {
    return withTimeout(new Promise((resolve) => {
      const check = () => {
        if (!cond()) return false;
        resolve();
        return true;
      };
      if (!check()) this.waiters.push(check);
    }), ms, what);
  }

  /// The first queued message matching `pred`, taken out of the queue.
  next(pred, what, ms = EVENT_TIMEOUT_MS) {
    return withTimeout(new Promise((resolve) => {
      const check = () => {
        const i = this.inbox.findIndex(pred);
        if (i < 0) return false;
        resolve(this.inbox.splice(i, 1)[0]);
        return true;
      };
      if (!check()) this.waiters.push(check);
    }), ms, `MQTT message: ${what}`);
  }

  /// Every queued message matching `pred`, taken out of the queue.
  takeAll(pred) {
    const out = this.inbox.filter(pred);
    this.inbox = this.inbox.filter((m) => !pred(m));
    return out;
  }

  subscribe(topics) {
    return withTimeout(this.raw.subscribeAsync(topics, { qos: 1 }), EVENT_TIMEOUT_MS,
      `subscribe to ${topics}`);
  }

  publish(topic, payload, options = {}) {
    const body = typeof payload === 'string' || Buffer.isBuffer(payload)
      ? payload : JSON.stringify(payload);
    return withTimeout(this.raw.publishAsync(topic, body, { qos: 1, ...options }),
      EVENT_TIMEOUT_MS, `publish to ${topic}`);
  }

  /// A clean disconnect (DISCONNECT sent: no last will).
  async end() {
    await withTimeout(this.raw.endAsync(), EVENT_TIMEOUT_MS, 'MQTT end');
  }

  /// Drops the connection without DISCONNECT and without reconnecting.
  destroy() {
    this.raw.end(true);
  }
}

/// A TCP proxy in front of the broker for one device. `freeze()` stops
/// every byte in both directions and ignores the device side from then on,
/// while the broker side stays open: to the broker the device just went
/// silent, and only its keep-alive timer can tell.
export class FreezableProxy {
  static async start(targetPort) {
    const proxy = new FreezableProxy(targetPort);
    proxy.port = await freePort();
    await new Promise((resolve, reject) => {
      proxy.server.once('error', reject);
      proxy.server.listen(proxy.port, '127.0.0.1', resolve);
    });
    return proxy;
  }

  constructor(targetPort) {
    this.frozen = false;
    this.pairs = [];
    this.server = net.createServer((device) => {
      const broker = net.connect({ host: '127.0.0.1', port: targetPort });
      this.pairs.push({ device, broker });
      device.on('data', (chunk) => {
        if (!this.frozen) broker.write(chunk);
      });
      broker.on('data', (chunk) => {
        if (!this.frozen) device.write(chunk);
      });
      device.on('close', () => {
        if (!this.frozen) broker.destroy();
      });
      broker.on('close', () => device.destroy());
      device.on('error', () => {});
      broker.on('error', () => {});
    });
  }

  get url() {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  freeze() {
    this.frozen = true;
  }

  close() {
    for (const { device, broker } of this.pairs) {
      device.destroy();
      broker.destroy();
    }
    this.server.close();
  }
}
