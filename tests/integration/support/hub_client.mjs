// One SignalR connection (the real @microsoft/signalr client) to a node's
// /puzzlehub, with a log of every event it received and promise-based waits
// for the next one; shared by the SignalR and the cluster tests.

import { CALL_TIMEOUT_MS, EVENT_TIMEOUT_MS, VERBOSE, brief, withTimeout } from './harness.mjs';

/// Every client method the hub calls (contract.md), each recorded.
export const CLIENT_METHODS = [
  'Connected', 'SessionStateUpdate', 'UserJoined', 'UserLeft', 'PieceLocked',
  'PieceUnlocked', 'PieceDragged', 'PieceMoved', 'PiecesJoined',
  'PuzzleCompleted', 'ChatMessageReceived', 'CursorMoved', 'Error',
];


export class HubClient {
  /// `logSink` collects the client library's log lines of `minLogLevel`
  /// and above (shown when a test fails).
  constructor(signalR, label, user, logSink, { minLogLevel = signalR.LogLevel.Information } = {}) {
    this.signalR = signalR;
    this.label = label;
    this.user = user;
    this.logSink = logSink;
    this.minLogLevel = minLogLevel;
    this.events = [];
    this.waiters = [];
    this.conn = null;
  }

  async connect(base) {
    const { signalR } = this;
    const logger = {
      log: (level, message) => {
        if (level < this.minLogLevel) return;
        const line = `[${this.label}] ${signalR.LogLevel[level]}: ${message}`;
        this.logSink.push(line);
        if (VERBOSE) process.stderr.write(`${line}\n`);
      },
    };
    this.conn = new signalR.HubConnectionBuilder()
      .withUrl(`${base}/puzzlehub`, {
        accessTokenFactory: () => this.user.token,
        transport: signalR.HttpTransportType.WebSockets,
      })
      .configureLogging(logger)
      .build();
    for (const name of CLIENT_METHODS) {
      this.conn.on(name, (...args) => this._record(name, args));
    }
    this.closed = new Promise((resolve) => {
      this.conn.onclose((err) => resolve(err ?? null));
    });
    await withTimeout(this.conn.start(), CALL_TIMEOUT_MS,
      `${this.label} to connect to ${base}/puzzlehub`);
  }

  get connected() {
    return this.conn?.state === this.signalR.HubConnectionState.Connected;
  }

  invoke(method, ...args) {
    return withTimeout(this.conn.invoke(method, ...args), CALL_TIMEOUT_MS,
      `${this.label}.invoke(${method})`);
  }

  async stop() {
    if (this.conn) await withTimeout(this.conn.stop(), CALL_TIMEOUT_MS, `${this.label} to stop`);
  }

  _record(name, args) {
    const event = { name, args, data: args[0], at: Date.now() };
    this.events.push(event);
    this.waiters = this.waiters.filter((w) => {
      if (!w.matches(event)) return true;
      w.resolve(event.data);
      return false;
    });
  }

  /// Position in the event log; pass it as `from` to look only at later events.
  mark() {
    return this.events.length;
  }

  found(name, pred = () => true, from = 0) {
    return this.events.slice(from).filter((e) => e.name === name && pred(e.data, e.args));
  }

  count(name, pred = () => true, from = 0) {
    return this.found(name, pred, from).length;
  }

  /// The first `name` event at or after `from` that satisfies `pred`.
  waitFor(name, pred = () => true, { from = 0, timeout = EVENT_TIMEOUT_MS } = {}) {
    const [seen] = this.found(name, pred, from);
    if (seen) return Promise.resolve(seen.data);
    let waiter;
    const arrival = new Promise((resolve) => {
      waiter = { matches: (e) => e.name === name && pred(e.data, e.args), resolve };
      this.waiters.push(waiter);
    });
    return withTimeout(arrival, timeout, `${this.label} to receive ${name}; ` +
      `it received: ${this.summary(from)}`)
      .finally(() => { this.waiters = this.waiters.filter((w) => w !== waiter); });
  }

  summary(from = 0) {
    const recent = this.events.slice(from).slice(-12);
    return recent.length === 0 ? '(nothing)'
      : recent.map((e) => `${e.name} ${brief(e.args)}`).join('; ');
  }
}
