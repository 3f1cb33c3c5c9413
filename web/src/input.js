// Pointer, wheel and keyboard input on the table canvas.
//
// Pointer events cover mouse, touch and pen alike. One pointer on a loose
// piece drags it (and its group); one pointer on the empty table pans; two
// touch pointers pinch to zoom and pan. A second tap (or click) on the same
// piece within DOUBLE_TAP_MS turns it, as do the right mouse button and the
// R key while dragging. The handlers decide what a grab means (locking); a
// refused grab blocks the gesture until the pointer is lifted.

const MOVE_THRESHOLD_PX = 4;
const DOUBLE_TAP_MS = 350;
const WHEEL_ZOOM_SPEED = 0.0015;
const KEY_PAN_PX = 60;

export class Input {
  /**
   * handlers: {
   *   canGrab(id) -> bool (hover cursor only),
   *   grab(id, point, pointerType) -> bool (false: refused, gesture blocked),
   *   drag(point), drop(point, {moved, doubleTap}), cancel(), rotate(),
   *   hover(point), isDragging() -> bool
   * }
   */
  constructor(canvas, renderer, scene, handlers) {
    this.canvas = canvas;
    this.renderer = renderer;
    this.scene = scene;
    this.h = handlers;
    this.pointers = new Map(); // pointerId -> {x, y, startX, startY}
    this.mode = 'idle';
    this.piecePointer = null;
    this.moved = false;
    this.lastTap = { id: null, at: 0 };
    this.doubleTap = false;
    this.pinch = null;
    this.enabled = true;
    this.listeners = [];
    this._listen(canvas, 'pointerdown', (e) => this.onDown(e));
    this._listen(canvas, 'pointermove', (e) => this.onMove(e));
    this._listen(canvas, 'pointerup', (e) => this.onUp(e, false));
    this._listen(canvas, 'pointercancel', (e) => this.onUp(e, true));
    this._listen(canvas, 'lostpointercapture', (e) => {
      if (this.pointers.has(e.pointerId)) this.onUp(e, true);
    });
    this._listen(canvas, 'pointerleave', (e) => {
      if (e.pointerType === 'mouse' && this.mode === 'idle') this.h.hover(null);
    });
    this._listen(canvas, 'wheel', (e) => this.onWheel(e), { passive: false });
    this._listen(canvas, 'contextmenu', (e) => e.preventDefault());
    this._listen(canvas, 'keydown', (e) => this.onKey(e));
    this._listen(window, 'keydown', (e) => {
      // R and Escape work while dragging even when the canvas lost focus.
      if (this.mode === 'piece' && e.target !== canvas) this.onKey(e);
    });
  }

  _listen(target, type, fn, options) {
    target.addEventListener(type, fn, options);
    this.listeners.push(() => target.removeEventListener(type, fn, options));
  }

  destroy() {
    for (const off of this.listeners) off();
    this.listeners = [];
  }

  /** Pauses input (while reconnecting): any gesture in progress is cancelled. */
  setEnabled(enabled) {
    this.enabled = enabled;
    if (!enabled) this.abort();
  }

  /** Ends the current gesture; a dragged piece goes back. */
  abort() {
    if (this.mode === 'piece') this.h.cancel();
    for (const id of this.pointers.keys()) {
      try {
        this.canvas.releasePointerCapture(id);
      } catch {
        // Not captured any more.
      }
    }
    this.pointers.clear();
    this.mode = 'idle';
    this.piecePointer = null;
    this.pinch = null;
    this.canvas.style.cursor = '';
  }

  tablePoint(e) {
    return this.renderer.clientToTable(e.clientX, e.clientY);
  }

  onDown(e) {
    if (!this.enabled) return;
    if (e.pointerType === 'mouse' && e.button === 2) {
      e.preventDefault();
      if (this.mode === 'piece') this.h.rotate();
      return;
    }
    if (e.pointerType === 'mouse' && e.button !== 0 && e.button !== 1) return;
    this.canvas.focus({ preventScroll: true });
    e.preventDefault();
    try {
      this.canvas.setPointerCapture(e.pointerId);
    } catch {
      // Synthetic pointers may not be capturable; moves still arrive.
    }
    this.pointers.set(e.pointerId, { x: e.clientX, y: e.clientY, startX: e.clientX, startY: e.clientY });
    if (this.pointers.size === 1) {
      const point = this.tablePoint(e);
      const id = e.button === 1 ? null : this.scene.hitTest(point.x, point.y);
      this.moved = false;
      if (id !== null) {
        const now = performance.now();
        this.doubleTap = this.lastTap.id === id && now - this.lastTap.at < DOUBLE_TAP_MS;
        if (this.h.grab(id, point, e.pointerType)) {
          this.mode = 'piece';
          this.piecePointer = e.pointerId;
          this.canvas.style.cursor = 'grabbing';
        } else {
          // Refused (someone else holds it; the handler said so): this
          // gesture does nothing, so the piece visibly stays where it is.
          this.mode = 'blocked';
          this.canvas.style.cursor = 'not-allowed';
        }
      } else {
        this.mode = 'pan';
        this.canvas.style.cursor = 'move';
      }
    } else if (this.pointers.size === 2 && this.mode === 'pan') {
      this.mode = 'pinch';
      this.pinch = this.pinchState();
    }
  }

  pinchState() {
    const [a, b] = [...this.pointers.values()];
    return {
      distance: Math.hypot(a.x - b.x, a.y - b.y) || 1,
      mid: { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 },
    };
  }

  onMove(e) {
    const p = this.pointers.get(e.pointerId);
    if (!p) {
      // Hover (mouse or pen without a button): cursor shape and presence.
      if (!this.enabled || e.pointerType === 'touch') return;
      const point = this.tablePoint(e);
      const id = this.scene.hitTest(point.x, point.y);
      this.canvas.style.cursor = id !== null && this.h.canGrab(id) ? 'grab' : '';
      this.h.hover(point);
      return;
    }
    const dx = e.clientX - p.x;
    const dy = e.clientY - p.y;
    p.x = e.clientX;
    p.y = e.clientY;
    if (Math.hypot(p.x - p.startX, p.y - p.startY) > MOVE_THRESHOLD_PX) this.moved = true;
    if (this.mode === 'piece' && e.pointerId === this.piecePointer) {
      const point = this.tablePoint(e);
      this.h.drag(point);
      this.h.hover(point);
    } else if (this.mode === 'pan') {
      this.renderer.panBy(dx, dy);
    } else if (this.mode === 'pinch' && this.pointers.size >= 2) {
      const now = this.pinchState();
      this.renderer.zoomAt(now.mid.x, now.mid.y, now.distance / this.pinch.distance);
      this.renderer.panBy(now.mid.x - this.pinch.mid.x, now.mid.y - this.pinch.mid.y);
      this.pinch = now;
    }
  }

  onUp(e, cancelled) {
    if (!this.pointers.has(e.pointerId)) return;
    this.pointers.delete(e.pointerId);
    if (this.mode === 'piece' && e.pointerId === this.piecePointer) {
      const point = this.tablePoint(e);
      if (cancelled) this.h.cancel();
      else {
        const doubleTap = this.doubleTap && !this.moved;
        this.h.drop(point, { moved: this.moved, doubleTap });
        this.lastTap = !this.moved && !doubleTap
          ? { id: this.h.lastGrabbed?.() ?? null, at: performance.now() }
          : { id: null, at: 0 };
      }
      this.mode = this.pointers.size > 0 ? 'pan' : 'idle';
      this.piecePointer = null;
    } else if (this.mode === 'pinch') {
      this.mode = this.pointers.size === 1 ? 'pan' : 'idle';
      this.pinch = null;
    } else if (this.pointers.size === 0) {
      this.mode = 'idle';
    }
    if (this.mode === 'idle') this.canvas.style.cursor = '';
  }

  onWheel(e) {
    e.preventDefault();
    if (!this.enabled && this.mode === 'piece') return;
    const unit = e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? 400 : 1;
    const delta = e.deltaY * unit;
    // A trackpad pinch arrives as a wheel with ctrlKey: zoom faster.
    const factor = Math.exp(-delta * WHEEL_ZOOM_SPEED * (e.ctrlKey ? 4 : 1));
    this.renderer.zoomAt(e.clientX, e.clientY, factor);
  }

  onKey(e) {
    if (e.altKey || e.metaKey || (e.ctrlKey && e.key !== '0')) return;
    const r = this.renderer;
    let handled = true;
    switch (e.key) {
      case '+': case '=': r.zoomBy(1.25); break;
      case '-': case '_': r.zoomBy(0.8); break;
      case '0': case 'f': case 'F': r.fit(); break;
      case 'ArrowLeft': r.panBy(KEY_PAN_PX, 0); break;
      case 'ArrowRight': r.panBy(-KEY_PAN_PX, 0); break;
      case 'ArrowUp': r.panBy(0, KEY_PAN_PX); break;
      case 'ArrowDown': r.panBy(0, -KEY_PAN_PX); break;
      case 'r': case 'R':
        if (this.mode === 'piece') this.h.rotate();
        else handled = false;
        break;
      case 'Escape':
        if (this.mode === 'piece') this.abort();
        else handled = false;
        break;
      default: handled = false;
    }
    if (handled) e.preventDefault();
  }
}
