// The minimal puzzle relay shared by the Node peers: rooms of
// pieces, a move validated and applied to the room's piece map, and the
// messages the node's own protocols would send, serialized once per event.
// Deliberately what a competent Node developer would write for this job: no
// persistence, no locks, no snapping; the node does all of that on top.
import { readFile } from 'node:fs/promises';
import path from 'node:path';

// The table of the node's benchmark sessions: the 1600x1200 built-in image
// on a table twice its size.
export const TABLE_WIDTH = 3200;
export const TABLE_HEIGHT = 2400;
// Bytes queued for one slow reader before it is cut off: the node's
// limits.outbound-queue-bytes default, so both sides follow one policy (S8).
export const MAX_QUEUED_BYTES = 4 * 1024 * 1024;

const ROTATIONS = new Set([0, 90, 180, 270]);

export function parseArgs(argv) {
  const out = { port: 0, pieces: 1000, store: '' };
  for (let i = 2; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    out[key] = argv[i + 1];
  }
  out.port = Number(out.port) || 0;
  out.pieces = Number(out.pieces) || 1000;
  return out;
}

function layout(count) {
  const pieces = new Array(count);
  for (let i = 0; i < count; i++) {
    pieces[i] = { id: i, x: (i * 37) % (TABLE_WIDTH - 100), y: (i * 53) % (TABLE_HEIGHT - 100), rotation: 0 };
  }
  return pieces;
}

/** Rooms by session id, created (or loaded from the store folder) on first join. */
export class Rooms {
  constructor({ pieces, store }) {
    this.pieceCount = pieces;
    this.store = store;
    this.rooms = new Map();
  }

  async get(id) {
    let room = this.rooms.get(id);
    if (room) return room;
    let pieces;
    if (this.store) {
      // A stored session: {pieces: [{id, x, y, rotation}, ...]} (S5).
      const file = path.join(this.store, `${path.basename(id)}.json`);
      try {
        pieces = JSON.parse(await readFile(file, 'utf8')).pieces;
      } catch {
        pieces = undefined;
      }
    }
    room = this.rooms.get(id); // another join may have loaded it meanwhile
    if (room) return room;
    room = { id, version: 0, pieces: pieces ?? layout(this.pieceCount), members: new Set() };
    this.rooms.set(id, room);
    return room;
  }
}

/** The room's state as a join answer. */
export function stateOf(room) {
  return { sessionId: room.id, version: room.version, pieceCount: room.pieces.length, pieces: room.pieces };
}

/**
 * Validates and applies a drag or move: an integer piece id in range, finite
 * numbers, one of the four rotations; clamped to the table. Returns the piece
 * or an error {code, message}.
 */
export function applyMove(room, msg) {
  const { pieceId, x, y } = msg;
  const rotation = msg.rotation ?? 0;
  if (!Number.isInteger(pieceId) || pieceId < 0 || pieceId >= room.pieces.length) {
    return { error: { code: 'INVALID_MOVE', message: 'pieceId out of range' } };
  }
  if (typeof x !== 'number' || typeof y !== 'number' || !Number.isFinite(x) || !Number.isFinite(y) || !ROTATIONS.has(rotation)) {
    return { error: { code: 'INVALID_MOVE', message: 'coordinates must be finite numbers' } };
  }
  const piece = room.pieces[pieceId];
  piece.x = Math.min(Math.max(x, 0), TABLE_WIDTH - 40);
  piece.y = Math.min(Math.max(y, 0), TABLE_HEIGHT - 48);
  piece.rotation = rotation;
  room.version += 1;
  return { piece };
}
