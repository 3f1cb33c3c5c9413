// The completion overlay: total time, who took part, and confetti drawn on
// its own canvas for a few seconds. Shown on PuzzleCompleted and to anyone
// who opens a finished session.

import { el, formatDuration } from './ui.js';

const CONFETTI_MS = 6_000;
const COLORS = ['#ff6b6b', '#ffd93d', '#6bcb77', '#4d96ff', '#c77dff', '#ff9f1c'];

export class Celebration {
  constructor(root, { onClose, onLobby }) {
    this.root = root;
    this.canvas = root.querySelector('canvas');
    this.timeText = root.querySelector('[data-role=total-time]');
    this.people = root.querySelector('[data-role=people]');
    this.frame = 0;
    // The overlay outlives this object (one per opened session): destroy()
    // takes the listeners away with the signal.
    this.listening = new AbortController();
    const { signal } = this.listening;
    const close = () => {
      this.hide();
      onClose?.();
    };
    root.querySelector('[data-role=close]').addEventListener('click', close, { signal });
    root.querySelector('[data-role=lobby]').addEventListener('click', () => onLobby?.(), { signal });
    root.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') close();
    }, { signal });
  }

  destroy() {
    this.listening.abort();
    this.hide();
  }

  get visible() {
    return !this.root.hidden;
  }

  /** totalMs: the solving time; participants: [{username, color}]. */
  show({ totalMs, participants, confetti = true }) {
    this.timeText.textContent = Number.isFinite(totalMs) ? formatDuration(totalMs) : '—';
    this.people.replaceChildren(...(participants ?? []).map((p) => el('li', {}, [
      el('span', { className: 'swatch', style: { background: p.color ?? '#888' }, 'aria-hidden': 'true' }),
      el('span', { text: p.username ?? p.userId ?? 'someone' }),
    ])));
    const wasVisible = this.visible;
    this.root.hidden = false;
    if (!wasVisible) {
      this.root.querySelector('[data-role=close]').focus({ preventScroll: true });
      if (confetti && !window.matchMedia('(prefers-reduced-motion: reduce)').matches) this.confetti();
    }
  }

  hide() {
    this.root.hidden = true;
    cancelAnimationFrame(this.frame);
    this.frame = 0;
  }

  confetti() {
    const canvas = this.canvas;
    const ctx = canvas.getContext('2d');
    const dpr = Math.min(window.devicePixelRatio || 1, 2);
    const resize = () => {
      canvas.width = Math.round(canvas.clientWidth * dpr);
      canvas.height = Math.round(canvas.clientHeight * dpr);
    };
    resize();
    const w = () => canvas.width;
    const h = () => canvas.height;
    const bits = Array.from({ length: 160 }, () => ({
      x: Math.random() * w(),
      y: -Math.random() * h() * 0.6,
      vx: (Math.random() - 0.5) * 120 * dpr,
      vy: (80 + Math.random() * 160) * dpr,
      size: (5 + Math.random() * 7) * dpr,
      spin: Math.random() * Math.PI,
      vspin: (Math.random() - 0.5) * 10,
      color: COLORS[Math.floor(Math.random() * COLORS.length)],
    }));
    const start = performance.now();
    let last = start;
    const tick = (now) => {
      const dt = Math.min(0.05, (now - last) / 1000);
      last = now;
      const age = now - start;
      ctx.clearRect(0, 0, w(), h());
      ctx.globalAlpha = age > CONFETTI_MS - 1000 ? Math.max(0, (CONFETTI_MS - age) / 1000) : 1;
      for (const b of bits) {
        b.vy += 60 * dpr * dt;
        b.x += (b.vx + Math.sin(now / 300 + b.spin) * 30 * dpr) * dt;
        b.y += b.vy * dt;
        b.spin += b.vspin * dt;
        if (b.y > h() + 20 && age < CONFETTI_MS - 2000) {
          b.y = -20;
          b.vy = (80 + Math.random() * 160) * dpr;
        }
        ctx.save();
        ctx.translate(b.x, b.y);
        ctx.rotate(b.spin);
        ctx.fillStyle = b.color;
        ctx.fillRect(-b.size / 2, -b.size / 4, b.size, b.size / 2);
        ctx.restore();
      }
      if (age < CONFETTI_MS && !this.root.hidden) this.frame = requestAnimationFrame(tick);
      else ctx.clearRect(0, 0, w(), h());
    };
    cancelAnimationFrame(this.frame);
    this.frame = requestAnimationFrame(tick);
  }
}
