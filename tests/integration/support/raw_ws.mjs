// A deliberately low-level WebSocket client over a plain TCP socket, for
// RFC 6455 conformance checks that a well-behaved library refuses to make:
// unmasked frames, reserved bits and opcodes, fragments with control frames
// in between, invalid UTF-8 split across fragments, arbitrary close codes.

import crypto from 'node:crypto';
import net from 'node:net';

import { withTimeout } from './harness.mjs';

export const OP = Object.freeze({
  continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa,
});

/// One frame as bytes. `mask: false` sends it unmasked (a protocol error
/// from a client); `rsv` sets the reserved bits (0..7).
export function encodeFrame(opcode, payload = Buffer.alloc(0),
  { fin = true, mask = true, rsv = 0 } = {}) {
  const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const len = data.length;
  let header;
  if (len < 126) {
    header = Buffer.alloc(2);
    header[1] = len;
  } else if (len < 65536) {
    header = Buffer.alloc(4);
    header[1] = 126;
    header.writeUInt16BE(len, 2);
  } else {
    header = Buffer.alloc(10);
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(len), 2);
  }
  header[0] = (fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0x0f);
  if (!mask) return Buffer.concat([header, data]);
  header[1] |= 0x80;
  const key = crypto.randomBytes(4);
  const masked = Buffer.alloc(len);
  for (let i = 0; i < len; i += 1) masked[i] = data[i] ^ key[i % 4];
  return Buffer.concat([header, key, masked]);
}

/// A close frame's payload: the code and an optional reason.
export function closePayload(code, reason = '') {
  const text = Buffer.isBuffer(reason) ? reason : Buffer.from(reason);
  const out = Buffer.alloc(2 + text.length);
  out.writeUInt16BE(code, 0);
  text.copy(out, 2);
  return out;
}

export class RawWebSocket {
  /// Opens a TCP connection to `url` (ws://host:port/path?query) and
  /// completes the opening handshake; rejects with the HTTP status line if
  /// the server refuses the upgrade.
  static async connect(url, { timeoutMs = 5_000 } = {}) {
    const { hostname, port, pathname, search } = new URL(url);
    const socket = net.connect({ host: hostname, port: Number(port) });
    const ws = new RawWebSocket(socket);
    const key = crypto.randomBytes(16).toString('base64');
    socket.write([
      `GET ${pathname}${search} HTTP/1.1`, `Host: ${hostname}:${port}`,
      'Upgrade: websocket', 'Connection: Upgrade',
      `Sec-WebSocket-Key: ${key}`, 'Sec-WebSocket-Version: 13', '', '',
    ].join('\r\n'));
    await withTimeout(ws._handshake(key), timeoutMs, `the upgrade of ${url}`);
    return ws;
  }

  constructor(socket) {
    this.socket = socket;
    this.buffer = Buffer.alloc(0);
    this.frames = [];
    this.waiters = [];
    this.ended = false;
    this.handshakeDone = false;
    socket.on('data', (chunk) => this._onData(chunk));
    this.closedPromise = new Promise((resolve) => {
      socket.on('close', () => {
        this.ended = true;
        resolve();
        this._wake();
      });
    });
    socket.on('error', () => {});
  }

  _handshake(key) {
    return new Promise((resolve, reject) => {
      this._onHeaders = (head) => {
        const [status] = head.split('\r\n');
        const accept = crypto.createHash('sha1')
          .update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
        if (!/^HTTP\/1\.1 101/.test(status)) {
          reject(new Error(`upgrade refused: ${status}`));
        } else if (!head.includes(`Sec-WebSocket-Accept: ${accept}`)
          && !head.toLowerCase().includes(`sec-websocket-accept: ${accept.toLowerCase()}`)) {
          reject(new Error(`bad Sec-WebSocket-Accept in: ${head}`));
        } else {
          resolve();
        }
      };
      this.socket.once('close', () => reject(new Error('closed during the upgrade')));
    });
  }

  _onData(chunk) {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    if (!this.handshakeDone) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = this.buffer.subarray(0, end).toString('latin1');
      this.buffer = this.buffer.subarray(end + 4);
      this.handshakeDone = true;
      this._onHeaders(head);
    }
    for (;;) {
      const frame = this._parseFrame();
      if (!frame) break;
      this.frames.push(frame);
    }
    this._wake();
  }

  _parseFrame() {
    const b = this.buffer;
    if (b.length < 2) return null;
    let len = b[1] & 0x7f;
    let offset = 2;
    if (len === 126) {
      if (b.length < 4) return null;
      len = b.readUInt16BE(2);
      offset = 4;
    } else if (len === 127) {
      if (b.length < 10) return null;
      len = Number(b.readBigUInt64BE(2));
      offset = 10;
    }
    const masked = (b[1] & 0x80) !== 0;
    if (masked) offset += 4;
    if (b.length < offset + len) return null;
    const frame = {
      fin: (b[0] & 0x80) !== 0,
      rsv: (b[0] >> 4) & 7,
      opcode: b[0] & 0x0f,
      masked,
      payload: Buffer.from(b.subarray(offset, offset + len)),
    };
    this.buffer = b.subarray(offset + len);
    if (frame.opcode === OP.close) {
      frame.code = len >= 2 ? frame.payload.readUInt16BE(0) : undefined;
      frame.reason = len > 2 ? frame.payload.subarray(2).toString() : '';
    }
    return frame;
  }

  _wake() {
    this.waiters = this.waiters.filter((w) => !w());
  }

  send(bytes) {
    this.socket.write(bytes);
  }

  sendFrame(opcode, payload, options) {
    this.send(encodeFrame(opcode, payload, options));
  }

  sendText(text) {
    this.sendFrame(OP.text, Buffer.from(text));
  }

  /// The next frame from the server (in arrival order).
  nextFrame(ms = 5_000) {
    return withTimeout(new Promise((resolve, reject) => {
      const check = () => {
        if (this.frames.length > 0) {
          resolve(this.frames.shift());
          return true;
        }
        if (this.ended) {
          reject(new Error('the connection ended without another frame'));
          return true;
        }
        return false;
      };
      if (!check()) this.waiters.push(check);
    }), ms, 'the next WebSocket frame');
  }

  /// The next text message, parsed as JSON.
  async nextJson(ms) {
    const frame = await this.nextFrame(ms);
    if (frame.opcode !== OP.text) {
      throw new Error(`expected a text frame, got opcode ${frame.opcode}` +
        (frame.code ? ` (close ${frame.code} ${frame.reason})` : ''));
    }
    return JSON.parse(frame.payload.toString());
  }

  /// Waits for the server's Close frame (skipping other frames), answers it
  /// as RFC 6455 section 5.5.1 asks, and waits for the TCP connection to
  /// end; returns {code, reason}.
  async closeFrame(ms = 5_000) {
    for (;;) {
      const frame = await this.nextFrame(ms);
      if (frame.opcode === OP.close) {
        if (!this.ended) {
          this.sendFrame(OP.close, frame.payload.subarray(0, 2));
          this.socket.end();
        }
        await withTimeout(this.closedPromise, ms, 'the TCP close after Close');
        return { code: frame.code, reason: frame.reason };
      }
    }
  }

  destroy() {
    this.socket.destroy();
  }
}
