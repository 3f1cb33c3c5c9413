// What is on the table right now, as the user sees it: each piece's displayed
// position and angle (which glide towards their targets), the stacking order,
// and hit testing.
//
// Targets come from three places, strongest first: the local user's drag,
// another user's drag preview (PieceDragged), and the authoritative state.

import { cellBox, outlinePath, pieceOutline, tabReach } from './geometry.js';

const GLIDE_PER_SECOND = 16; // how quickly a piece catches up with its target
const SETTLE_DISTANCE = 0.4; // table units

export class Scene {
  constructor() {
    this.state = null;
    this.pieces = []; // {x, y, angle, tx, ty, trot}
    this.order = []; // piece ids, bottom to top
    this.paths = []; // Path2D per piece in its own coordinates (origin: cell top-left)
    this.previews = new Map(); // pieceId -> {x, y, rotation} from others' drags
    this.local = new Map(); // pieceId -> {x, y, rotation} from this user's drag
    this.pad = 0;
    this.probe = document.createElement('canvas').getContext('2d');
  }

  /** A new session (or a different cut): rebuild everything. */
  load(state) {
    const sameCut = this.state && this.state.sessionId === state.sessionId
      && this.state.rows === state.rows && this.state.cols === state.cols
      && String(this.state.seed) === String(state.seed) && this.pieces.length === state.pieces.length;
    const previous = this.pieces;
    this.state = state;
    this.pad = Math.ceil(tabReach(state.pieceWidth, state.pieceHeight));
    if (!sameCut) {
      this.paths = state.pieces.map((p) => outlinePath(pieceOutline(state, p.id)));
      this.order = state.pieces.map((p) => p.id);
    }
    this.previews.clear();
    this.local.clear();
    this.pieces = state.pieces.map((p, i) => {
      const old = sameCut ? previous[i] : null;
      return {
        x: old ? old.x : p.x,
        y: old ? old.y : p.y,
        angle: old ? old.angle : p.rotation,
        tx: p.x, ty: p.y, trot: p.rotation,
      };
    });
    this.restack();
    return !sameCut;
  }

  /** Placed pieces at the bottom, loose ones above in their current order. */
  restack() {
    const placed = [];
    const loose = [];
    for (const id of this.order) (this.state.pieces[id].isPlaced ? placed : loose).push(id);
    this.order = placed.concat(loose);
  }

  /** Puts these pieces on top (keeping their relative order). */
  raise(ids) {
    const set = new Set(ids);
    this.order = this.order.filter((id) => !set.has(id))
      .concat(this.order.filter((id) => set.has(id)));
    this.restack();
  }

  /** Recomputes every target from local drag, previews and state. */
  retarget(ids = null) {
    const list = ids ?? this.state.pieces.map((p) => p.id);
    for (const id of list) {
      const src = this.local.get(id) ?? this.previews.get(id) ?? this.state.pieces[id];
      const d = this.pieces[id];
      d.tx = src.x;
      d.ty = src.y;
      d.trot = src.rotation;
      if (this.local.has(id)) {
        // The user's own hand: no lag.
        d.x = d.tx;
        d.y = d.ty;
      }
    }
  }

  /** Jumps every piece to its target (after a reconnect, say). */
  settleNow() {
    for (const d of this.pieces) {
      d.x = d.tx;
      d.y = d.ty;
      d.angle = d.trot;
    }
  }

  /** Advances the glide; true while anything still moves. */
  step(dt) {
    const k = 1 - Math.exp(-GLIDE_PER_SECOND * dt);
    let moving = false;
    for (const d of this.pieces) {
      if (d.x !== d.tx || d.y !== d.ty) {
        d.x += (d.tx - d.x) * k;
        d.y += (d.ty - d.y) * k;
        if (Math.abs(d.tx - d.x) < SETTLE_DISTANCE && Math.abs(d.ty - d.y) < SETTLE_DISTANCE) {
          d.x = d.tx;
          d.y = d.ty;
        } else moving = true;
      }
      if (d.angle !== d.trot) {
        let diff = ((d.trot - d.angle) % 360 + 540) % 360 - 180;
        if (Math.abs(diff) < 0.5) d.angle = d.trot;
        else {
          diff *= k;
          d.angle += diff;
          moving = true;
        }
      }
    }
    return moving;
  }

  get settled() {
    return this.pieces.every((d) => d.x === d.tx && d.y === d.ty
      && ((d.angle - d.trot) % 360 + 360) % 360 < 0.01);
  }

  /** The displayed centre of a piece (table units). */
  centerOf(id) {
    const d = this.pieces[id];
    const box = cellBox(this.state, normalize(d.trot));
    return { x: d.x + box.w / 2, y: d.y + box.h / 2 };
  }

  /** The piece's own coordinates of a table point (origin: its cell's top-left). */
  toLocal(id, tx, ty) {
    const c = this.centerOf(id);
    const rad = (-this.pieces[id].angle * Math.PI) / 180;
    const dx = tx - c.x;
    const dy = ty - c.y;
    return {
      x: dx * Math.cos(rad) - dy * Math.sin(rad) + this.state.pieceWidth / 2,
      y: dx * Math.sin(rad) + dy * Math.cos(rad) + this.state.pieceHeight / 2,
    };
  }

  /** Whether a table point is on a piece (its shape, or at least its cell). */
  hits(id, tx, ty) {
    const { pieceWidth: w, pieceHeight: h } = this.state;
    const p = this.toLocal(id, tx, ty);
    if (p.x < -this.pad || p.y < -this.pad || p.x > w + this.pad || p.y > h + this.pad) return false;
    if (p.x >= 0 && p.y >= 0 && p.x <= w && p.y <= h) return true;
    return this.probe.isPointInPath(this.paths[id], p.x, p.y);
  }

  /** The topmost piece under a table point, or null; placed ones only if asked. */
  hitTest(tx, ty, { placed = false } = {}) {
    for (let i = this.order.length - 1; i >= 0; i -= 1) {
      const id = this.order[i];
      if (!placed && this.state.pieces[id].isPlaced) continue;
      if (this.hits(id, tx, ty)) return id;
    }
    return null;
  }

  /** A table point on piece `id` where it is the topmost piece (for tests). */
  grabPoint(id) {
    const { pieceWidth: w, pieceHeight: h } = this.state;
    const c = this.centerOf(id);
    const rad = (this.pieces[id].angle * Math.PI) / 180;
    const candidates = [[0.5, 0.5]];
    for (let i = 1; i <= 4; i += 1) {
      for (let j = 1; j <= 4; j += 1) candidates.push([i / 5, j / 5]);
    }
    for (const [fx, fy] of candidates) {
      const lx = (fx - 0.5) * w;
      const ly = (fy - 0.5) * h;
      const p = {
        x: c.x + lx * Math.cos(rad) - ly * Math.sin(rad),
        y: c.y + lx * Math.sin(rad) + ly * Math.cos(rad),
      };
      if (this.hitTest(p.x, p.y, { placed: true }) === id) return p;
    }
    return null;
  }
}

export function normalize(rotation) {
  return ((Math.round(rotation / 90) * 90) % 360 + 360) % 360;
}
