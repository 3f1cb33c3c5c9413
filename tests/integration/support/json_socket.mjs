// A JSON WebSocket client for the node's raw endpoint /ws (npm `ws`): the
// messages it receives queue up, and tests wait for the one they need with
// a deadline, never with a sleep.

import crypto from 'node:crypto';

import { CALL_TIMEOUT_MS, EVENT_TIMEOUT_MS, withTimeout } from './harness.mjs';

export class JsonSocket {
  /// Opens `url` with the `WebSocket` class of npm `ws` (its `options`, e.g.
  /// `{ ca }` for wss); rejects with the HTTP status when the upgrade is
  /// refused.
  static async open(WebSocket, url, options = {}) {
    const socket = new JsonSocket(new WebSocket(url, options));
    await withTimeout(new Promise((resolve, reject) => {
      socket.ws.once('open', resolve);
      socket.ws.once('unexpected-response', (req, res) =>
        reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
      socket.ws.once('error', reject);
    }), CALL_TIMEOUT_MS, `to open ${url}`);
    return socket;
  }

  constructor(ws) {
    this.ws = ws;
    this.inbox = [];
    this.waiters = [];
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        resolve(this.closeInfo);
        this._wake();
      });
    });
    ws.on('message', (data, isBinary) => {
      this.inbox.push(isBinary ? { binary: data } : JSON.parse(data.toString()));
      this._wake();
    });
    ws.on('error', () => {});
  }

  _wake() {
    this.waiters = this.waiters.filter((w) => !w());
  }

  send(message) {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /// The first queued message matching `pred` (taken out of the queue);
  /// earlier ones stay for later waits.
  until(pred, what, ms = EVENT_TIMEOUT_MS) {
    return withTimeout(new Promise((resolve, reject) => {
      const check = () => {
        const i = this.inbox.findIndex(pred);
        if (i >= 0) {
          resolve(this.inbox.splice(i, 1)[0]);
          return true;
        }
        if (this.closeInfo) {
          reject(new Error(`closed (${this.closeInfo.code} ${this.closeInfo.reason}) ` +
            `while waiting for ${what}; inbox: ${JSON.stringify(this.inbox).slice(0, 400)}`));
          return true;
        }
        return false;
      };
      if (!check()) this.waiters.push(check);
    }), ms, `${what}; inbox: ${JSON.stringify(this.inbox).slice(0, 400)}`);
  }

  next(what = 'the next message') {
    return this.until(() => true, what);
  }

  /// Sends a puzzle operation with a fresh id and waits for its answer.
  async call(type, fields = {}, ms = CALL_TIMEOUT_MS) {
    const id = crypto.randomUUID();
    this.send({ type, id, ...fields });
    return this.until((m) => m.id === id, `the answer to ${type}`, ms);
  }

  event(name, pred = () => true) {
    return this.until((m) => m.type === 'event' && m.event === name && pred(m.data),
      `event ${name}`);
  }

  close() {
    this.ws.close();
    return withTimeout(this.closed, CALL_TIMEOUT_MS, 'the close');
  }
}
