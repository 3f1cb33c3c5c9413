// A SignalR connection to one of the node's hubs: /puzzlehub by default
// (docs/puzzle-hub.md); the call panel opens a second one to /webrtchub
// (docs/webrtc.md).
//
// One HubConnection per hub. It reconnects by itself, forever, with a
// capped backoff (the node may be restarted), and when the client library
// gives up anyway (a close without reconnect) a restart loop here takes over.
// Whoever uses it learns the state through onStatus and rejoins its session
// in onConnected (after the first start and after every reconnect), so that
// nothing missed while away stays missing. In a cluster a reconnect may land
// on another node; the token (accessTokenFactory) keeps the identity, so the
// join there is the same participant and answers the whole state.

import {
  HubConnectionBuilder, HubConnectionState, HttpTransportType, LogLevel,
} from '@microsoft/signalr';
import { auth } from './api.js';

const PUZZLE_EVENTS = [
  'Connected', 'SessionStateUpdate', 'UserJoined', 'UserLeft', 'PieceLocked',
  'PieceUnlocked', 'PieceDragged', 'PieceMoved', 'PiecesJoined',
  'PuzzleCompleted', 'ChatMessageReceived', 'CursorMoved', 'Error',
];

const CALL_TIMEOUT_MS = 15_000;

/** 0.5 s, 1 s, 2 s ... capped at 8 s, with a little jitter; never gives up. */
export function retryDelay(attempt) {
  const base = Math.min(8_000, 500 * 2 ** Math.min(attempt, 4));
  return base + Math.floor(Math.random() * 250);
}

// The library logs an expected disconnect as an error; the page shows the
// connection state itself, so its messages go to the console quietly.
const quietLogger = {
  log(level, message) {
    if (level >= LogLevel.Warning) console.info(`[signalr] ${message}`);
  },
};

/** A domain error out of a failed invoke: its stable code and its text. */
export function hubError(err) {
  const text = String(err?.message ?? err ?? 'unknown error');
  const match = /HubException:\s*([A-Z_]+):\s*(.*)$/s.exec(text);
  if (match) return { code: match[1], message: match[2].trim() };
  const bare = /\b([A-Z][A-Z_]{3,}):\s*(.*)$/s.exec(text);
  if (bare) return { code: bare[1], message: bare[2].trim() };
  return { code: 'ERROR', message: text };
}

export class Hub {
  /** `path` of the hub and the client methods (`events`) it may call. */
  constructor({ path = '/puzzlehub', events = PUZZLE_EVENTS } = {}) {
    this.path = path;
    this.events = events;
    this.handlers = new Map();
    this.statusListeners = new Set();
    this.connectedListeners = new Set();
    this.status = 'disconnected';
    this.stopped = true;
    this.restartTimer = null;
    this.conn = this._build();
  }

  _build() {
    const conn = new HubConnectionBuilder()
      .withUrl(this.path, {
        accessTokenFactory: () => auth.token(),
        transport: HttpTransportType.WebSockets | HttpTransportType.ServerSentEvents
          | HttpTransportType.LongPolling,
      })
      .withAutomaticReconnect({
        nextRetryDelayInMilliseconds: (ctx) => {
          // A 401 means the node no longer knows our token (restarted with a
          // new signing key): get a fresh one before the next try.
          if (ctx.retryReason?.statusCode === 401) auth.invalidate();
          return retryDelay(ctx.previousRetryCount);
        },
      })
      .configureLogging(quietLogger)
      .build();
    conn.serverTimeoutInMilliseconds = 30_000;
    conn.keepAliveIntervalInMilliseconds = 15_000;
    for (const name of this.events) {
      conn.on(name, (...args) => this._dispatch(name, args));
    }
    conn.onreconnecting(() => this._setStatus('reconnecting'));
    conn.onreconnected(() => this._connected());
    conn.onclose(() => {
      if (this.stopped) {
        this._setStatus('disconnected');
        return;
      }
      this._setStatus('reconnecting');
      this._scheduleRestart(0);
    });
    return conn;
  }

  /** Subscribes to a client method; returns an unsubscribe function. */
  on(name, fn) {
    if (!this.handlers.has(name)) this.handlers.set(name, new Set());
    this.handlers.get(name).add(fn);
    return () => this.handlers.get(name)?.delete(fn);
  }

  onStatus(fn) {
    this.statusListeners.add(fn);
    fn(this.status);
    return () => this.statusListeners.delete(fn);
  }

  /** Called after every (re)connect; the place to (re)join. */
  onConnected(fn) {
    this.connectedListeners.add(fn);
    return () => this.connectedListeners.delete(fn);
  }

  get connected() {
    return this.conn.state === HubConnectionState.Connected;
  }

  /** The hub's id of this connection (a new one after every reconnect). */
  get connectionId() {
    return this.conn.connectionId;
  }

  async start() {
    this.stopped = false;
    if (this.conn.state !== HubConnectionState.Disconnected) return;
    // Not connected yet counts as reconnecting: input waits either way.
    this._setStatus('reconnecting');
    await this._tryStart(0);
  }

  async _tryStart(attempt) {
    if (this.stopped || this.conn.state !== HubConnectionState.Disconnected) return;
    try {
      await this.conn.start();
      this._connected();
    } catch (err) {
      if (this.stopped) return;
      if (err?.statusCode === 401) auth.invalidate();
      this._setStatus('reconnecting');
      this._scheduleRestart(attempt + 1);
    }
  }

  _scheduleRestart(attempt) {
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => this._tryStart(attempt), retryDelay(attempt));
  }

  async stop() {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    await this.conn.stop();
    this._setStatus('disconnected');
  }

  _connected() {
    this._setStatus('connected');
    for (const fn of this.connectedListeners) {
      Promise.resolve().then(() => fn()).catch((err) => console.warn('rejoin failed', err));
    }
  }

  _setStatus(status) {
    if (status === this.status) return;
    this.status = status;
    for (const fn of this.statusListeners) fn(status);
  }

  _dispatch(name, args) {
    const set = this.handlers.get(name);
    if (!set) return;
    for (const fn of set) {
      try {
        fn(...args);
      } catch (err) {
        console.warn(`handler for ${name} failed`, err);
      }
    }
  }

  /** A call that answers; rejects with the server's error or a timeout. */
  invoke(method, ...args) {
    if (!this.connected) {
      return Promise.reject(new Error('NOT_CONNECTED: the connection to the server is down'));
    }
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(
        `TIMEOUT: no answer to ${method} within ${CALL_TIMEOUT_MS / 1000} s`)), CALL_TIMEOUT_MS);
    });
    return Promise.race([this.conn.invoke(method, ...args), timeout])
      .finally(() => clearTimeout(timer));
  }

  /** Fire and forget (drags, cursors); dropped while disconnected. */
  send(method, ...args) {
    if (!this.connected) return;
    this.conn.send(method, ...args).catch(() => {
      // A send lost to a disconnect is superseded by the rejoin.
    });
  }
}
