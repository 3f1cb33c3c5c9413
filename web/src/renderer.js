// Draws the table on a <canvas>: the board outline, the pieces (pre-rendered
// once per piece into their own small canvases, with a bevel and a soft
// shadow), who holds what, snap pulses and the other players' cursors. Also
// owns the camera (zoom and pan) and the conversions between page (client)
// pixels and table units.

import { cellBox } from './geometry.js';
import { normalize } from './scene.js';

const MIN_ZOOM_FACTOR = 0.5; // of the zoom that fits the table
const MAX_ZOOM_PIXELS = 3; // at most 3 screen pixels per table unit ...
const MIN_MAX_ZOOM_PIECES = 0.45; // ... or a piece as big as 45 % of the screen
// All piece sprites together: 8 M pixels are 32 MB, bearable on a phone.
const SPRITE_PIXEL_BUDGET = 8e6;
const PULSE_MS = 750;
const CURSOR_FADE_START_MS = 4_000;
const CURSOR_FADE_MS = 2_000;

export class Renderer {
  constructor(canvas, scene) {
    this.canvas = canvas;
    this.ctx = canvas.getContext('2d');
    this.scene = scene;
    this.view = { x: 0, y: 0, zoom: 1 };
    this.cssWidth = 1;
    this.cssHeight = 1;
    this.dpr = 1;
    this.sprites = [];
    this.spriteScale = 1;
    this.image = null;
    this.ghost = false;
    this.pulses = [];
    this.cursors = new Map(); // userId -> {x, y, name, color, at}
    this.overlays = { lockColor: () => null, lockLabel: () => null, lifted: new Set() };
    this.frame = 0;
    this.lastTime = 0;
    this.fitted = false;
    this.onViewChange = () => {};
    this.resizeObserver = new ResizeObserver(() => this.resize());
    this.resizeObserver.observe(canvas);
    this.resize();
  }

  destroy() {
    this.resizeObserver.disconnect();
    cancelAnimationFrame(this.frame);
    this.sprites = [];
  }

  // -------------------------------------------------------------------------
  // Camera.

  resize() {
    const rect = this.canvas.getBoundingClientRect();
    const dpr = Math.min(window.devicePixelRatio || 1, 3);
    const w = Math.max(1, Math.round(rect.width));
    const h = Math.max(1, Math.round(rect.height));
    if (w === this.cssWidth && h === this.cssHeight && dpr === this.dpr) return;
    // Keep the table point at the centre of the screen where it was.
    const centre = this.clientToTableLocal(this.cssWidth / 2, this.cssHeight / 2);
    this.cssWidth = w;
    this.cssHeight = h;
    this.dpr = dpr;
    this.canvas.width = Math.round(w * dpr);
    this.canvas.height = Math.round(h * dpr);
    if (!this.fitted && this.scene.state) this.fit();
    else {
      this.view.x = centre.x - w / 2 / this.view.zoom;
      this.view.y = centre.y - h / 2 / this.view.zoom;
    }
    this.requestRender();
  }

  fitZoom() {
    const st = this.scene.state;
    if (!st) return 1;
    // Tabs of pieces at the table's edge stick out by up to `pad`.
    const margin = 12;
    const pad = this.scene.pad;
    return Math.min((this.cssWidth - 2 * margin) / (st.table.width + 2 * pad),
      (this.cssHeight - 2 * margin) / (st.table.height + 2 * pad));
  }

  zoomLimits() {
    const st = this.scene.state;
    const fit = this.fitZoom();
    if (!st) return { min: 0.01, max: 10 };
    const pieceFill = (MIN_MAX_ZOOM_PIECES * Math.min(this.cssWidth, this.cssHeight))
      / Math.max(st.pieceWidth, st.pieceHeight);
    return { min: fit * MIN_ZOOM_FACTOR, max: Math.max(fit, MAX_ZOOM_PIXELS, pieceFill) };
  }

  /** Shows the whole table. */
  fit() {
    const st = this.scene.state;
    if (!st) return;
    const zoom = this.fitZoom();
    this.view.zoom = zoom;
    this.view.x = st.table.width / 2 - this.cssWidth / 2 / zoom;
    this.view.y = st.table.height / 2 - this.cssHeight / 2 / zoom;
    this.fitted = true;
    this.viewChanged();
  }

  /** Zooms by `factor` keeping the table point under (clientX, clientY) still. */
  zoomAt(clientX, clientY, factor) {
    const rect = this.canvas.getBoundingClientRect();
    const sx = clientX - rect.left;
    const sy = clientY - rect.top;
    const before = this.clientToTableLocal(sx, sy);
    const { min, max } = this.zoomLimits();
    this.view.zoom = Math.min(max, Math.max(min, this.view.zoom * factor));
    this.view.x = before.x - sx / this.view.zoom;
    this.view.y = before.y - sy / this.view.zoom;
    this.viewChanged();
  }

  zoomBy(factor) {
    const rect = this.canvas.getBoundingClientRect();
    this.zoomAt(rect.left + rect.width / 2, rect.top + rect.height / 2, factor);
  }

  /** Pans by a distance in CSS pixels. */
  panBy(dx, dy) {
    this.view.x -= dx / this.view.zoom;
    this.view.y -= dy / this.view.zoom;
    this.viewChanged();
  }

  viewChanged() {
    // Keep at least a part of the table on screen.
    const st = this.scene.state;
    if (st) {
      const w = this.cssWidth / this.view.zoom;
      const h = this.cssHeight / this.view.zoom;
      this.view.x = Math.min(st.table.width - w * 0.2, Math.max(-w * 0.8, this.view.x));
      this.view.y = Math.min(st.table.height - h * 0.2, Math.max(-h * 0.8, this.view.y));
    }
    this.onViewChange(this.view);
    this.requestRender();
  }

  clientToTableLocal(sx, sy) {
    return { x: this.view.x + sx / this.view.zoom, y: this.view.y + sy / this.view.zoom };
  }

  /** Page (client) CSS pixels to table units. */
  clientToTable(clientX, clientY) {
    const rect = this.canvas.getBoundingClientRect();
    return this.clientToTableLocal(clientX - rect.left, clientY - rect.top);
  }

  /** Table units to page (client) CSS pixels. */
  tableToClient(x, y) {
    const rect = this.canvas.getBoundingClientRect();
    return {
      x: rect.left + (x - this.view.x) * this.view.zoom,
      y: rect.top + (y - this.view.y) * this.view.zoom,
    };
  }

  // -------------------------------------------------------------------------
  // Piece sprites.

  /**
   * Cuts the image into one small canvas per piece. Called once the image has
   * loaded; until then pieces are drawn as plain shapes.
   */
  buildSprites(image) {
    const st = this.scene.state;
    this.image = image;
    const pad = this.scene.pad;
    const { pieceWidth: pw, pieceHeight: ph } = st;
    const spriteArea = (pw + 2 * pad) * (ph + 2 * pad) * st.pieces.length;
    const scale = Math.max(0.2, Math.min(2, this.dpr * 1.25,
      Math.sqrt(SPRITE_PIXEL_BUDGET / spriteArea)));
    this.spriteScale = scale;
    // Rasterise the picture once at the sprites' scale (SVGs stay crisp).
    const src = document.createElement('canvas');
    src.width = Math.max(1, Math.round(st.image.width * scale));
    src.height = Math.max(1, Math.round(st.image.height * scale));
    const sctx = src.getContext('2d');
    sctx.imageSmoothingQuality = 'high';
    sctx.drawImage(image, 0, 0, src.width, src.height);
    this.ghostCanvas = src;
    const bevel = Math.max(1.2 / scale, Math.min(pw, ph) * 0.03);
    this.sprites = st.pieces.map((p) => {
      const id = p.id;
      const canvas = document.createElement('canvas');
      canvas.width = Math.ceil((pw + 2 * pad) * scale);
      canvas.height = Math.ceil((ph + 2 * pad) * scale);
      const ctx = canvas.getContext('2d');
      ctx.scale(scale, scale);
      ctx.translate(pad, pad);
      const path = this.scene.paths[id];
      const col = id % st.cols;
      const row = Math.floor(id / st.cols);
      // A soft contact shadow all around (symmetric, so it suits any turn).
      ctx.save();
      ctx.shadowColor = 'rgba(0, 0, 0, 0.45)';
      ctx.shadowBlur = Math.max(2, 3 * scale);
      ctx.fillStyle = '#444';
      ctx.fill(path);
      ctx.restore();
      // The picture, clipped to the piece.
      ctx.save();
      ctx.clip(path);
      const x0 = col * pw - pad;
      const y0 = row * ph - pad;
      const sx = Math.max(0, x0);
      const sy = Math.max(0, y0);
      const ex = Math.min(st.image.width, x0 + pw + 2 * pad);
      const ey = Math.min(st.image.height, y0 + ph + 2 * pad);
      if (ex > sx && ey > sy) {
        ctx.drawImage(src, sx * scale, sy * scale, (ex - sx) * scale, (ey - sy) * scale,
          sx - col * pw, sy - row * ph, ex - sx, ey - sy);
      }
      // Bevel: light along the top-left rim, shade along the bottom-right.
      ctx.filter = `blur(${Math.max(0.5, bevel * scale * 0.45)}px)`;
      ctx.lineWidth = bevel * 2;
      ctx.translate(bevel, bevel);
      ctx.strokeStyle = 'rgba(255, 255, 255, 0.42)';
      ctx.stroke(path);
      ctx.translate(-2 * bevel, -2 * bevel);
      ctx.strokeStyle = 'rgba(0, 0, 0, 0.38)';
      ctx.stroke(path);
      ctx.restore();
      ctx.lineWidth = Math.max(0.6 / scale, bevel * 0.25);
      ctx.strokeStyle = 'rgba(0, 0, 0, 0.35)';
      ctx.stroke(path);
      return canvas;
    });
    this.requestRender();
  }

  // -------------------------------------------------------------------------
  // Effects.

  pulse(ids, color = '#ffe066') {
    if (!ids.length) return;
    this.pulses.push({ ids, color, at: performance.now() });
    this.requestRender();
  }

  setCursor(userId, x, y, name, color) {
    this.cursors.set(userId, { x, y, name, color, at: performance.now() });
    this.requestRender();
  }

  removeCursor(userId) {
    this.cursors.delete(userId);
    this.requestRender();
  }

  // -------------------------------------------------------------------------
  // Drawing.

  requestRender() {
    if (this.frame) return;
    this.frame = requestAnimationFrame((t) => this.render(t));
  }

  render(time) {
    this.frame = 0;
    const dt = this.lastTime ? Math.min(0.1, (time - this.lastTime) / 1000) : 0.016;
    this.lastTime = time;
    let again = this.scene.state ? this.scene.step(dt) : false;
    const ctx = this.ctx;
    const { dpr, view } = this;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = '#1d2430';
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    const st = this.scene.state;
    if (!st) return;
    ctx.setTransform(dpr * view.zoom, 0, 0, dpr * view.zoom,
      -view.x * dpr * view.zoom, -view.y * dpr * view.zoom);
    this.drawTable(ctx, st);
    const lifted = this.overlays.lifted;
    const labels = new Map();
    for (const id of this.scene.order) {
      const isLifted = lifted.has(id);
      this.drawPiece(ctx, st, id, isLifted);
      const color = this.overlays.lockColor(id);
      if (color) {
        this.withPiece(ctx, st, id, () => {
          ctx.fillStyle = withAlpha(color, 0.28);
          ctx.fill(this.scene.paths[id]);
          ctx.lineWidth = 3 / view.zoom;
          ctx.strokeStyle = color;
          ctx.stroke(this.scene.paths[id]);
        });
        const label = this.overlays.lockLabel(id);
        if (label && !labels.has(label)) labels.set(label, { id, color });
      }
    }
    again = this.drawPulses(ctx, st) || again;
    for (const [text, { id, color }] of labels) {
      const c = this.scene.centerOf(id);
      this.drawLabel(ctx, c.x, c.y - st.pieceHeight / 2 - this.scene.pad * 0.3, text, color);
    }
    again = this.drawCursors(ctx) || again;
    if (again) this.requestRender();
  }

  drawTable(ctx, st) {
    const z = this.view.zoom;
    // The table: a felt surface with a soft edge.
    ctx.save();
    ctx.shadowColor = 'rgba(0, 0, 0, 0.5)';
    ctx.shadowBlur = 24 * this.dpr;
    ctx.fillStyle = '#2f3b4c';
    roundRect(ctx, 0, 0, st.table.width, st.table.height, 18 / z);
    ctx.fill();
    ctx.restore();
    // The board: where the picture goes.
    const bw = st.cols * st.pieceWidth;
    const bh = st.rows * st.pieceHeight;
    ctx.fillStyle = '#263140';
    ctx.fillRect(st.board.x, st.board.y, bw, bh);
    if (this.ghost && this.ghostCanvas) {
      ctx.save();
      ctx.globalAlpha = 0.18;
      ctx.drawImage(this.ghostCanvas, st.board.x, st.board.y, bw, bh);
      ctx.restore();
    }
    ctx.save();
    ctx.lineWidth = 2 / z;
    ctx.setLineDash([10 / z, 7 / z]);
    ctx.strokeStyle = 'rgba(210, 225, 245, 0.45)';
    ctx.strokeRect(st.board.x, st.board.y, bw, bh);
    ctx.restore();
  }

  withPiece(ctx, st, id, fn) {
    const d = this.scene.pieces[id];
    const box = cellBox(st, normalize(d.trot));
    ctx.save();
    ctx.translate(d.x + box.w / 2, d.y + box.h / 2);
    ctx.rotate((d.angle * Math.PI) / 180);
    ctx.translate(-st.pieceWidth / 2, -st.pieceHeight / 2);
    fn();
    ctx.restore();
  }

  drawPiece(ctx, st, id, lifted) {
    const pad = this.scene.pad;
    this.withPiece(ctx, st, id, () => {
      if (lifted) {
        ctx.shadowColor = 'rgba(0, 0, 0, 0.45)';
        ctx.shadowBlur = 16 * this.dpr;
        ctx.shadowOffsetY = 8 * this.dpr;
        ctx.translate(0, -2 / this.view.zoom);
      }
      const sprite = this.sprites[id];
      if (sprite) {
        ctx.drawImage(sprite, -pad, -pad, st.pieceWidth + 2 * pad, st.pieceHeight + 2 * pad);
      } else {
        ctx.fillStyle = '#5b6b80';
        ctx.fill(this.scene.paths[id]);
        ctx.lineWidth = 1 / this.view.zoom;
        ctx.strokeStyle = 'rgba(0,0,0,0.4)';
        ctx.stroke(this.scene.paths[id]);
      }
    });
  }

  drawPulses(ctx, st) {
    const now = performance.now();
    this.pulses = this.pulses.filter((p) => now - p.at < PULSE_MS);
    for (const p of this.pulses) {
      const t = (now - p.at) / PULSE_MS;
      for (const id of p.ids) {
        this.withPiece(ctx, st, id, () => {
          ctx.lineJoin = 'round';
          ctx.lineWidth = (3 + 9 * t) / this.view.zoom;
          ctx.strokeStyle = withAlpha(p.color, 0.85 * (1 - t));
          ctx.stroke(this.scene.paths[id]);
          ctx.fillStyle = withAlpha('#ffffff', 0.25 * (1 - t));
          ctx.fill(this.scene.paths[id]);
        });
      }
    }
    return this.pulses.length > 0;
  }

  drawLabel(ctx, x, y, text, color) {
    const z = this.view.zoom;
    ctx.save();
    ctx.translate(x, y);
    ctx.scale(1 / z, 1 / z);
    ctx.font = '600 13px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
    const w = ctx.measureText(text).width + 14;
    ctx.fillStyle = color;
    roundRect(ctx, -w / 2, -22, w, 20, 10);
    ctx.fill();
    ctx.fillStyle = readableOn(color);
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillText(text, 0, -12);
    ctx.restore();
  }

  drawCursors(ctx) {
    const now = performance.now();
    const z = this.view.zoom;
    let fading = false;
    for (const [userId, c] of this.cursors) {
      const age = now - c.at;
      if (age > CURSOR_FADE_START_MS + CURSOR_FADE_MS) {
        this.cursors.delete(userId);
        continue;
      }
      const alpha = age < CURSOR_FADE_START_MS ? 1
        : 1 - (age - CURSOR_FADE_START_MS) / CURSOR_FADE_MS;
      fading = true; // redraw until it has faded out
      ctx.save();
      ctx.globalAlpha = alpha;
      ctx.translate(c.x, c.y);
      ctx.scale(1 / z, 1 / z);
      ctx.beginPath();
      ctx.moveTo(0, 0);
      ctx.lineTo(0, 17);
      ctx.lineTo(4.5, 13);
      ctx.lineTo(8, 20);
      ctx.lineTo(10.5, 19);
      ctx.lineTo(7.2, 12);
      ctx.lineTo(13, 12);
      ctx.closePath();
      ctx.fillStyle = c.color;
      ctx.strokeStyle = '#fff';
      ctx.lineWidth = 1.5;
      ctx.fill();
      ctx.stroke();
      ctx.font = '600 12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
      const w = ctx.measureText(c.name).width + 12;
      ctx.fillStyle = c.color;
      roundRect(ctx, 12, 18, w, 18, 9);
      ctx.fill();
      ctx.fillStyle = readableOn(c.color);
      ctx.textBaseline = 'middle';
      ctx.fillText(c.name, 18, 27.5);
      ctx.restore();
    }
    return fading;
  }
}

function roundRect(ctx, x, y, w, h, r) {
  ctx.beginPath();
  if (ctx.roundRect) ctx.roundRect(x, y, w, h, r);
  else ctx.rect(x, y, w, h);
}

/** '#rrggbb' plus an alpha as an rgba() colour. */
export function withAlpha(hex, alpha) {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex ?? '');
  if (!m) return `rgba(255, 209, 102, ${alpha})`;
  return `rgba(${parseInt(m[1], 16)}, ${parseInt(m[2], 16)}, ${parseInt(m[3], 16)}, ${alpha})`;
}

/** Black or white text, whichever reads better on this colour. */
export function readableOn(hex) {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex ?? '');
  if (!m) return '#111';
  const [r, g, b] = [m[1], m[2], m[3]].map((x) => parseInt(x, 16) / 255);
  const lum = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  return lum > 0.55 ? '#111' : '#fff';
}
