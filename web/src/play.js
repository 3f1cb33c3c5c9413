// The puzzle view: one session on the table canvas, kept in step with the
// node over the hub (docs/puzzle-hub.md).
//
// The node is the only judge. The page applies what it is told, in version
// order: SessionStateUpdate (and the state a join answers) is the baseline,
// PieceMoved carries the next version; anything older than the version
// applied is ignored, and a gap (a missed PieceMoved) fetches the whole state
// again. The player's own drag is shown at once (optimistically) while
// LockPiece is asked for; a refused grab puts the piece back and says who
// holds it. While the connection is down, input is paused; after a
// reconnect the page joins again and takes the state it gets as the new
// baseline, so nothing missed stays missing.

import { auth, getSession } from './api.js';
import { hubError } from './hub.js';
import { Call } from './call.js';
import { Celebration } from './celebration.js';
import { Chat } from './chat.js';
import { Devices } from './devices.js';
import { cellBox, correctSpot, turn } from './geometry.js';
import { Input } from './input.js';
import { Presence } from './presence.js';
import { Renderer } from './renderer.js';
import { Scene } from './scene.js';
import { $, copyText, describeError, formatDuration, toast } from './ui.js';

const DRAG_SEND_MS = 50; // drag previews to the others: 20 per second
const CURSOR_SEND_MS = 100; // the node throttles cursors too
const HOLD_RENEW_MS = 2_000; // a still hand renews the 5 s lease this often
// PieceUnlocked comes just before the PieceMoved of the same drop; keeping
// another player's preview this long avoids a jump back and forth.
const PREVIEW_LINGER_MS = 400;
const REJOIN_RETRY_MS = 2_000;
// Drop assistance: the node snaps within 2 % of a piece side, which is a few
// screen pixels at table zoom. A drop this close (in piece sides, or screen
// pixels, whichever is larger, capped) to a correct spot or a true
// neighbour is sent exactly there, so the node's snap applies.
const ASSIST_PIECE_FRACTION = 0.12;
const ASSIST_MAX_PIECE_FRACTION = 0.25;
const ASSIST_SCREEN_PX = 14;

const STATUS_TEXT = {
  connected: 'Live',
  reconnecting: 'Reconnecting…',
  disconnected: 'Offline',
};

/** The session state with pieces indexed by id, as the rest of the page expects. */
function normalizeState(raw) {
  const st = structuredClone(raw);
  st.pieces = [...(st.pieces ?? [])].sort((a, b) => a.id - b.id);
  st.participants = st.participants ?? [];
  st.chat = st.chat ?? [];
  st.version = Number(st.version) || 0;
  return st;
}

export class PuzzleView {
  constructor({ sessionId, hub, onLobby }) {
    this.root = $('#play');
    this.sessionId = sessionId;
    this.hub = hub;
    this.onLobby = onLobby;
    this.state = null;
    this.version = -1;
    this.locks = new Map(); // pieceId -> {userId, username}
    this.drag = null; // the player's current drag, see grab()
    this.pendingDrops = 0;
    this.lingerTimers = new Map(); // pieceId -> timer clearing a preview
    this.lastCursorSent = 0;
    this.resyncing = null;
    this.fatal = false;
    this.imageUrl = null;
    this.off = []; // undo functions for every subscription
    this.el = {
      name: this.q('[data-role=session-name]'),
      progress: this.q('[data-testid=progress]'),
      progressFill: this.q('[data-role=progress-fill]'),
      progressText: this.q('[data-role=progress-text]'),
      timer: this.q('[data-testid=timer]'),
      status: this.q('[data-testid=connection-status]'),
      board: this.q('[data-testid=board]'),
      tableWrap: this.q('.table-wrap'),
      message: this.q('[data-role=board-message]'),
      unread: this.q('[data-role=unread]'),
      sideToggle: this.q('[data-role=side-toggle]'),
      ghost: this.q('[data-role=ghost]'),
    };

    this.scene = new Scene();
    this.renderer = new Renderer(this.el.board, this.scene);
    this.renderer.overlays = {
      lockColor: (id) => this.lockColor(id),
      lockLabel: (id) => this.lockLabel(id),
      lifted: new Set(),
    };
    this.input = new Input(this.el.board, this.renderer, this.scene, {
      canGrab: (id) => !this.heldByOther(id),
      grab: (id, point) => this.grab(id, point),
      drag: (point) => this.dragTo(point),
      drop: (point, how) => this.drop(point, how),
      cancel: () => this.cancelDrag(),
      rotate: () => this.rotate(),
      hover: (point) => this.hover(point),
      lastGrabbed: () => this.lastGrabbed ?? null,
    });
    this.input.setEnabled(false);
    this.presence = new Presence(this.q('[data-role=participants]'),
      this.q('[data-role=online-count]'), auth.userId);
    this.chat = new Chat(this.q('[data-role=chat]'), {
      selfId: auth.userId,
      colorOf: (userId) => this.presence.colorOf(userId),
      send: (text) => this.sendChat(text),
      onUnread: () => this.markUnread(),
    });
    this.unread = 0;
    this.call = new Call(this.q('[data-role=call]'), {
      sessionId,
      onChange: (inCall) => this.root.classList.toggle('in-call', inCall),
    });
    this.devices = new Devices(this.q('[data-role=devices]'), { sessionId });
    this.celebration = new Celebration(this.q('[data-testid=completion]'), {
      // Once closed, a later resync (a reconnect) does not bring it back.
      onClose: () => { this.celebrationClosed = true; },
      onLobby: () => this.onLobby(),
    });

    this.listen(this.q('.play-bar [data-role=lobby]'), 'click', () => this.onLobby());
    this.listen(this.q('[data-role=share]'), 'click', () => this.share());
    this.listen(this.q('[data-role=fit]'), 'click', () => this.renderer.fit());
    this.listen(this.q('[data-role=zoom-in]'), 'click', () => this.renderer.zoomBy(1.25));
    this.listen(this.q('[data-role=zoom-out]'), 'click', () => this.renderer.zoomBy(0.8));
    this.listen(this.el.ghost, 'click', () => {
      this.renderer.ghost = !this.renderer.ghost;
      this.el.ghost.setAttribute('aria-pressed', String(this.renderer.ghost));
      this.renderer.requestRender();
    });
    this.listen(this.el.sideToggle, 'click', () => this.toggleSide());

    const on = (name, fn) => this.off.push(this.hub.on(name, (...args) => fn(...args)));
    const mine = (fn) => (ev, ...rest) => {
      if (ev && typeof ev === 'object' && ev.sessionId && ev.sessionId !== this.sessionId) return;
      fn(ev, ...rest);
    };
    // Sent only to a member that (re-)joined, e.g. by its node after the
    // session came back elsewhere: the whole truth, like a join's answer,
    // even when its version is lower than one this page has seen.
    on('SessionStateUpdate', mine((st) => this.applyState(st, { baseline: true })));
    on('PieceLocked', (ev) => this.onPieceLocked(ev));
    on('PieceUnlocked', (ev) => this.onPieceUnlocked(ev));
    on('PieceDragged', (ev) => this.onPieceDragged(ev));
    on('PieceMoved', (ev) => this.onPieceMoved(ev));
    on('PiecesJoined', (ev) => this.onPiecesJoined(ev));
    on('PuzzleCompleted', (ev) => this.onCompleted(ev));
    on('ChatMessageReceived', mine((m) => this.chat.add(m)));
    on('CursorMoved', (ev) => this.onCursor(ev));
    on('UserJoined', (ev) => this.presence.joined(ev));
    on('UserLeft', (ev) => {
      this.presence.left(ev);
      this.renderer.removeCursor(ev.userId);
    });
    on('Error', (message, code) => this.onServerError(message, code));
    this.off.push(this.hub.onStatus((s) => this.onStatus(s)));
    this.off.push(this.hub.onConnected(() => this.join()));

    this.clock = setInterval(() => this.renderTimer(), 1000);
    this.installTestHooks();
  }

  q(selector) {
    return this.root.querySelector(selector);
  }

  listen(target, type, fn) {
    target.addEventListener(type, fn);
    this.off.push(() => target.removeEventListener(type, fn));
  }

  /** Shows the view and connects (or joins, when already connected). */
  async open() {
    this.root.hidden = false;
    this.root.classList.remove('side-open');
    this.setMessage('Connecting…');
    this.devices.start();
    this.renderer.resize();
    if (this.hub.connected) this.join();
    await this.hub.start();
  }

  /** Leaves the session and takes the view down; the hub stays. */
  destroy() {
    if (this.drag) this.cancelDrag();
    if (this.hub.connected) {
      this.hub.invoke('LeaveSession', this.sessionId).catch(() => {});
    }
    for (const undo of this.off) undo();
    this.off = [];
    for (const t of this.lingerTimers.values()) clearTimeout(t);
    clearInterval(this.clock);
    clearInterval(this.drag?.renew);
    this.input.destroy();
    this.renderer.destroy();
    this.celebration.destroy();
    this.call.destroy();
    this.chat.destroy();
    this.devices.stop();
    this.presence.reset([]);
    this.root.hidden = true;
    if (window.puzzleView === this.testHooks) delete window.puzzleView;
  }

  // -------------------------------------------------------------------------
  // Connection.

  onStatus(status) {
    this.el.status.dataset.state = status;
    this.el.status.textContent = status === 'reconnecting' && !this.state
      ? 'Connecting…' : STATUS_TEXT[status] ?? status;
    if (status !== 'connected') {
      // Until the rejoin has answered, nothing the player does can be
      // judged: pause, and put back any piece in hand.
      this.setPaused(true, status === 'reconnecting'
        ? (this.state ? 'Connection lost: reconnecting… moves are paused.' : 'Connecting…')
        : 'Offline.');
    }
  }

  setPaused(paused, message = '') {
    this.paused = paused;
    this.input.setEnabled(!paused && !this.fatal);
    this.el.tableWrap.classList.toggle('paused', paused);
    this.setMessage(paused ? message : '');
  }

  setMessage(text) {
    this.el.message.textContent = text;
    this.el.message.hidden = !text;
  }

  async join() {
    if (this.fatal) return;
    try {
      const st = await this.hub.invoke('JoinPuzzleSession', this.sessionId);
      // After a (re)connect the node's answer is the truth, whatever the
      // version: a node restarted from its store may be behind a drop that
      // was broadcast but never became durable.
      this.applyState(st, { baseline: true });
      this.setPaused(false);
    } catch (err) {
      const { code, message } = hubError(err);
      if (code === 'SESSION_NOT_FOUND') {
        this.fatal = true;
        this.setPaused(true, 'This puzzle does not exist (any more).');
        toast(describeError(code, message), { kind: 'error' });
        return;
      }
      if (code === 'FORBIDDEN') {
        // A private puzzle: retrying cannot help without its invite link.
        this.fatal = true;
        this.setPaused(true, 'This puzzle is private: open it with its invite link.');
        toast(describeError(code, message), { kind: 'error' });
        return;
      }
      if (!this.hub.connected) return; // the next connect joins again
      toast(`Could not join: ${describeError(code, message)}`, { kind: 'error' });
      setTimeout(() => {
        if (this.hub.connected && this.paused) this.join();
      }, REJOIN_RETRY_MS);
    }
  }

  /** Fetches the whole state again (a version gap). */
  resync() {
    if (this.resyncing || !this.hub.connected) return;
    this.resyncing = this.hub.invoke('GetSessionState', this.sessionId)
      .then((st) => this.applyState(st))
      .catch((err) => console.warn('resync failed', err))
      .finally(() => { this.resyncing = null; });
  }

  // -------------------------------------------------------------------------
  // State.

  applyState(raw, { baseline = false } = {}) {
    if (!raw || raw.sessionId !== this.sessionId) return;
    const incoming = Number(raw.version) || 0;
    if (!baseline && this.state && incoming < this.version) return; // stale
    const first = !this.state;
    const st = normalizeState(raw);
    this.state = st;
    this.version = st.version;
    this.locks.clear();
    this.presence.selfId = auth.userId;
    this.presence.reset(st.participants);
    for (const p of st.pieces) {
      if (p.lockedBy) {
        this.locks.set(p.id, { userId: p.lockedBy, username: this.presence.nameOf(p.lockedBy) });
      }
    }
    for (const t of this.lingerTimers.values()) clearTimeout(t);
    this.lingerTimers.clear();
    const newCut = this.scene.load(st);
    if (this.drag) this.placeDrag(); // a resync mid-drag keeps the hand
    this.chat.selfId = auth.userId;
    this.chat.reset(st.chat);
    this.el.name.textContent = st.name;
    document.title = `${st.name} · Collaborative Puzzle Platform`;
    if (first || newCut) {
      this.renderer.fitted = false;
      this.renderer.resize();
      this.renderer.fit();
    }
    if (st.image?.url && st.image.url !== this.imageUrl) this.loadImage(st.image.url);
    this.renderProgress();
    this.renderTimer();
    if (st.isCompleted) this.showCompletion({ confetti: false });
    this.renderer.requestRender();
  }

  async loadImage(url) {
    this.imageUrl = url;
    const image = new Image();
    image.decoding = 'async';
    image.src = url;
    try {
      await image.decode();
    } catch {
      toast('The picture of this puzzle could not be loaded.', { kind: 'error' });
      return;
    }
    if (this.imageUrl !== url || !this.state) return;
    this.renderer.buildSprites(image);
    this.spritesReady = true;
  }

  piece(id) {
    return this.state.pieces[id];
  }

  /** Members of the group of piece `id` (itself included), by id. */
  groupOf(id) {
    const gid = this.piece(id).groupId;
    return this.state.pieces.filter((p) => p.groupId === gid).map((p) => p.id);
  }

  heldByOther(id) {
    const lock = this.locks.get(id);
    return Boolean(lock) && lock.userId !== auth.userId;
  }

  holderName(lock) {
    return lock?.username ?? this.presence.nameOf(lock?.userId) ?? 'Someone';
  }

  lockColor(id) {
    const lock = this.locks.get(id);
    if (!lock || (lock.userId === auth.userId && this.drag?.members.includes(id))) return null;
    return this.presence.colorOf(lock.userId);
  }

  lockLabel(id) {
    const lock = this.locks.get(id);
    if (!lock || lock.userId === auth.userId) return null;
    return this.holderName(lock);
  }

  renderProgress() {
    const st = this.state;
    const done = st.pieces.filter((p) => p.isPlaced).length;
    const total = st.pieces.length;
    st.completedPieces = done;
    st.completionPercentage = total ? (100 * done) / total : 0;
    this.el.progress.dataset.completed = String(done);
    this.el.progress.dataset.total = String(total);
    this.el.progress.setAttribute('aria-label', `${done} of ${total} pieces placed`);
    this.el.progressFill.style.width = `${st.completionPercentage}%`;
    this.el.progressText.textContent = `${done}/${total} · ${Math.floor(st.completionPercentage)} %`;
  }

  renderTimer() {
    const st = this.state;
    if (!st) return;
    const start = Date.parse(st.startedAt ?? '');
    let ms = 0;
    if (Number.isFinite(start)) {
      const end = st.isCompleted ? Date.parse(st.completedAt ?? '') : Date.now();
      ms = (Number.isFinite(end) ? end : Date.now()) - start;
    }
    this.el.timer.textContent = formatDuration(ms);
    this.el.timer.dataset.ms = String(Math.max(0, ms));
  }

  showCompletion({ totalMs, participants, confetti = true } = {}) {
    const st = this.state;
    const total = totalMs ?? (Date.parse(st.completedAt ?? '') - Date.parse(st.startedAt ?? ''));
    const people = (participants ?? st.participants).map((p) => ({
      username: p.username,
      color: p.color ?? this.presence.colorOf(p.userId),
    }));
    if (this.celebration.visible || this.celebrationClosed) return;
    this.celebration.show({ totalMs: total, participants: people, confetti });
  }

  // -------------------------------------------------------------------------
  // Events from the node.

  onPieceLocked(ev) {
    if (!this.state) return;
    const ids = ev.pieceIds ?? [ev.pieceId];
    for (const id of ids) {
      this.locks.set(id, { userId: ev.userId, username: ev.username });
      const t = this.lingerTimers.get(id);
      if (t) {
        clearTimeout(t);
        this.lingerTimers.delete(id);
      }
    }
    this.renderer.requestRender();
  }

  onPieceUnlocked(ev) {
    if (!this.state) return;
    const ids = ev.pieceIds ?? [ev.pieceId];
    for (const id of ids) {
      const lock = this.locks.get(id);
      if (lock && ev.userId && lock.userId !== ev.userId) continue; // already re-taken
      this.locks.delete(id);
    }
    // Our own hold ended while still dragging: the lease ran out.
    if (this.drag && ev.userId === auth.userId && ids.includes(this.drag.anchor)
        && this.drag.granted) {
      this.cancelDrag({ unlock: false });
      toast('Your hold on that piece ran out; it went back.', { kind: 'error' });
    }
    for (const id of ids) {
      if (!this.scene.previews.has(id)) continue;
      clearTimeout(this.lingerTimers.get(id));
      this.lingerTimers.set(id, setTimeout(() => {
        this.lingerTimers.delete(id);
        if (this.locks.has(id)) return;
        this.scene.previews.delete(id);
        this.scene.retarget([id]);
        this.renderer.requestRender();
      }, PREVIEW_LINGER_MS));
    }
    this.renderer.requestRender();
  }

  onPieceDragged(ev) {
    if (!this.state || !this.piece(ev.pieceId) || this.piece(ev.pieceId).isPlaced) return;
    const anchor = this.piece(ev.pieceId);
    const quarters = ((ev.rotation - anchor.rotation) / 90) | 0;
    const members = this.groupOf(ev.pieceId);
    for (const id of members) {
      if (this.drag?.members.includes(id)) continue;
      const p = this.piece(id);
      const off = turn(p.x - anchor.x, p.y - anchor.y, quarters);
      this.scene.previews.set(id, { x: ev.x + off.x, y: ev.y + off.y, rotation: ev.rotation });
    }
    this.scene.raise(members);
    this.scene.retarget(members);
    this.renderer.requestRender();
  }

  onPieceMoved(ev) {
    if (!this.state) return;
    const version = Number(ev.version);
    if (!(version > this.version)) return; // old news
    const gap = version > this.version + 1;
    const moved = ev.pieces ?? [{
      id: ev.pieceId, x: ev.x, y: ev.y, rotation: ev.rotation,
      isPlaced: ev.isCorrectlyPlaced, groupId: ev.groupId ?? this.piece(ev.pieceId).groupId,
    }];
    const ids = [];
    const placedNow = [];
    // The group that was dropped: a join that follows pulses just these.
    this.lastDropped = this.piece(ev.pieceId) ? this.groupOf(ev.pieceId) : [];
    for (const m of moved) {
      const p = this.piece(m.id);
      if (!p) continue;
      if (m.isPlaced && !p.isPlaced) placedNow.push(m.id);
      Object.assign(p, {
        x: m.x, y: m.y, rotation: m.rotation, isPlaced: Boolean(m.isPlaced),
        groupId: m.groupId ?? p.groupId,
      });
      ids.push(m.id);
      this.scene.previews.delete(m.id);
      clearTimeout(this.lingerTimers.get(m.id));
      this.lingerTimers.delete(m.id);
      // Our own drop has landed: the state now says where it is.
      if (!this.drag?.members.includes(m.id)) this.scene.local.delete(m.id);
    }
    this.version = version;
    this.state.version = version;
    if (!this.state.startedAt) this.state.startedAt = new Date().toISOString();
    if (this.drag && ids.some((id) => this.drag.members.includes(id))) {
      // Someone moved what we hold (our hold had lapsed): theirs counts.
      this.cancelDrag({ unlock: false });
    }
    this.scene.raise(ids);
    this.scene.retarget(ids);
    if (placedNow.length) this.renderer.pulse(placedNow, '#7ee787');
    this.renderProgress();
    this.renderer.requestRender();
    if (gap) this.resync();
  }

  onPiecesJoined(ev) {
    if (!this.state) return;
    const ids = ev.pieceIds ?? [];
    for (const id of ids) {
      const p = this.piece(id);
      if (p) p.groupId = ev.groupId;
    }
    // Pulsing the whole merged group would light up half the board when a
    // piece joins the placed ones: show the piece(s) just dropped.
    const dropped = (this.lastDropped ?? []).filter((id) => ids.includes(id));
    this.renderer.pulse(dropped.length ? dropped : ids);
  }

  onCompleted(ev) {
    if (!this.state) return;
    this.state.isCompleted = true;
    this.state.completedAt = ev.completedAt ?? new Date().toISOString();
    this.renderTimer();
    this.showCompletion({ totalMs: ev.totalTimeMs, participants: ev.participants });
  }

  onCursor(ev) {
    if (!this.state || ev.userId === auth.userId) return;
    this.renderer.setCursor(ev.userId, ev.x, ev.y, this.presence.nameOf(ev.userId) ?? '…',
      this.presence.colorOf(ev.userId));
  }

  onServerError(message, code) {
    const text = describeError(code, message);
    if (code === 'SESSION_NOT_FOUND') {
      this.fatal = true;
      this.setPaused(true, 'This puzzle was closed.');
    }
    toast(text, { kind: 'error' });
    if (code === 'NOT_JOINED') this.join();
  }

  // -------------------------------------------------------------------------
  // The player's hand.

  /**
   * Starts dragging piece `id` (and its group) from table point `point`.
   * Returns false when the grab is refused at once.
   */
  grab(id, point) {
    if (!this.state || this.paused || this.drag) return false;
    const lock = this.locks.get(id);
    if (this.heldByOther(id)) {
      toast(`${this.holderName(lock)} is holding that piece.`, { kind: 'error' });
      this.renderer.pulse(this.groupOf(id), this.presence.colorOf(lock.userId));
      return false;
    }
    const anchor = this.piece(id);
    const members = this.groupOf(id);
    const offsets = new Map(members.map((m) => {
      const p = this.piece(m);
      return [m, { x: p.x - anchor.x, y: p.y - anchor.y }];
    }));
    const box = cellBox(this.state, anchor.rotation);
    this.lastGrabbed = id;
    const drag = {
      anchor: id,
      members,
      offsets,
      rotation: anchor.rotation,
      // Where the hand holds the piece, from its centre (table units).
      grip: { x: point.x - (anchor.x + box.w / 2), y: point.y - (anchor.y + box.h / 2) },
      pointer: point,
      pos: { x: anchor.x, y: anchor.y },
      granted: null,
      lastSent: 0,
      sendTimer: 0,
      renew: 0,
    };
    this.drag = drag;
    this.scene.raise(members);
    this.renderer.overlays.lifted = new Set(members);
    this.placeDrag();
    drag.lock = this.hub.invoke('LockPiece', this.sessionId, id).then((res) => {
      if (res?.granted) {
        drag.granted = true;
        for (const m of res.pieceIds ?? members) {
          this.locks.set(m, { userId: auth.userId, username: auth.displayName });
        }
        if (this.drag === drag) this.sendDrag(true);
        return true;
      }
      drag.granted = false;
      const holder = { userId: res?.lockedBy, username: this.presence.nameOf(res?.lockedBy) };
      if (holder.userId) {
        for (const m of res.pieceIds ?? members) this.locks.set(m, holder);
      }
      if (this.drag === drag) this.cancelDrag({ unlock: false });
      toast(holder.userId === auth.userId
        ? 'You are holding that piece in another window.'
        : `${this.holderName(holder)} is holding that piece.`, { kind: 'error' });
      return false;
    }, (err) => {
      drag.granted = false;
      if (this.drag === drag) this.cancelDrag({ unlock: false });
      const { code, message } = hubError(err);
      toast(describeError(code, message), { kind: 'error' });
      return false;
    });
    drag.renew = setInterval(() => {
      if (this.drag === drag && drag.granted && Date.now() - drag.lastSent > HOLD_RENEW_MS) {
        this.sendDrag(true);
      }
    }, HOLD_RENEW_MS / 2);
    return true;
  }

  /** Puts the dragged group where the hand is, clamped to the table. */
  placeDrag() {
    const d = this.drag;
    const box = cellBox(this.state, d.rotation);
    const want = {
      x: d.pointer.x - d.grip.x - box.w / 2,
      y: d.pointer.y - d.grip.y - box.h / 2,
    };
    d.pos = this.clampGroup(want, d);
    this.showDragAt(d, d.pos);
  }

  showDragAt(d, pos) {
    for (const m of d.members) {
      const off = d.offsets.get(m);
      this.scene.local.set(m, { x: pos.x + off.x, y: pos.y + off.y, rotation: d.rotation });
    }
    this.scene.retarget(d.members);
    this.renderer.requestRender();
  }

  /** As the node clamps a move: every member stays on the table. */
  clampGroup(pos, d) {
    const st = this.state;
    const box = cellBox(st, d.rotation);
    let loX = -Infinity;
    let loY = -Infinity;
    let hiX = Infinity;
    let hiY = Infinity;
    for (const off of d.offsets.values()) {
      loX = Math.max(loX, -off.x);
      loY = Math.max(loY, -off.y);
      hiX = Math.min(hiX, st.table.width - box.w - off.x);
      hiY = Math.min(hiY, st.table.height - box.h - off.y);
    }
    if (loX > hiX || loY > hiY) return pos;
    return { x: Math.min(hiX, Math.max(loX, pos.x)), y: Math.min(hiY, Math.max(loY, pos.y)) };
  }

  dragTo(point) {
    const d = this.drag;
    if (!d) return;
    d.pointer = point;
    this.placeDrag();
    this.sendDrag(false);
  }

  /** Sends the drag preview, at most every DRAG_SEND_MS (the last one always). */
  sendDrag(now) {
    const d = this.drag;
    if (!d || !d.granted) return;
    const wait = DRAG_SEND_MS - (Date.now() - d.lastSent);
    if (!now && wait > 0) {
      if (!d.sendTimer) {
        d.sendTimer = setTimeout(() => {
          d.sendTimer = 0;
          if (this.drag === d) this.sendDrag(true);
        }, wait);
      }
      return;
    }
    d.lastSent = Date.now();
    this.hub.send('DragPiece', this.sessionId, d.anchor, d.pos.x, d.pos.y, d.rotation);
  }

  /** A quarter turn clockwise of the held group, about the hand. */
  rotate() {
    const d = this.drag;
    if (!d) return;
    if (!this.state.rotation) {
      toast('Rotation is off in this puzzle.');
      return;
    }
    this.turnDrag(d);
    this.placeDrag();
    this.sendDrag(true);
  }

  turnDrag(d) {
    d.rotation = (d.rotation + 90) % 360;
    for (const [m, off] of d.offsets) d.offsets.set(m, turn(off.x, off.y, 1));
    d.grip = turn(d.grip.x, d.grip.y, 1);
    d.turned = true;
  }

  async drop(point, { moved, doubleTap }) {
    const d = this.drag;
    if (!d) return;
    this.drag = null;
    clearInterval(d.renew);
    clearTimeout(d.sendTimer);
    this.renderer.overlays.lifted = new Set();
    if (doubleTap && this.state.rotation) {
      // A double tap turns the piece in place, about its centre.
      d.grip = { x: 0, y: 0 };
      d.pointer = this.scene.centerOf(d.anchor);
      this.turnDrag(d);
      this.drag = d;
      this.placeDrag();
      this.drag = null;
    }
    this.pendingDrops += 1;
    try {
      const granted = await d.lock;
      if (!granted) return;
      if (!moved && !d.turned) {
        this.releaseDrag(d);
        if (this.hub.connected) {
          await this.hub.invoke('UnlockPiece', this.sessionId, d.anchor).catch(() => {});
        }
        return;
      }
      const target = this.assist(d);
      this.showDragAt(d, target);
      const result = await this.hub.invoke('MovePiece', this.sessionId, d.anchor,
        target.x, target.y, d.rotation);
      if (result && Number(result.version) > this.version) this.resync();
    } catch (err) {
      const { code, message } = hubError(err);
      toast(describeError(code, message), { kind: 'error' });
    } finally {
      this.pendingDrops -= 1;
      this.releaseDrag(d);
    }
  }

  /** Stops showing a finished drag locally: the state has the last word. */
  releaseDrag(d) {
    for (const m of d.members) {
      if (this.drag?.members.includes(m)) continue;
      this.scene.local.delete(m);
    }
    this.scene.retarget(d.members);
    this.renderer.requestRender();
  }

  cancelDrag({ unlock = true } = {}) {
    const d = this.drag;
    if (!d) return;
    this.drag = null;
    clearInterval(d.renew);
    clearTimeout(d.sendTimer);
    this.renderer.overlays.lifted = new Set();
    this.releaseDrag(d);
    if (unlock && d.granted && this.hub.connected) {
      this.hub.invoke('UnlockPiece', this.sessionId, d.anchor).catch(() => {});
    }
    // Without a state change the input may still think a piece is in hand.
    if (unlock === false) this.input.abort();
  }

  /**
   * Where to send a drop: exactly on the correct spot or against a true
   * neighbour when the hand let go close to one (see ASSIST_*), else where
   * it is. The node still judges; this only spares the player pixel hunting.
   */
  assist(d) {
    const st = this.state;
    const side = Math.min(st.pieceWidth, st.pieceHeight);
    const radius = Math.max(st.snapTolerance ?? 0, Math.min(ASSIST_MAX_PIECE_FRACTION * side,
      Math.max(ASSIST_PIECE_FRACTION * side, ASSIST_SCREEN_PX / this.renderer.view.zoom)));
    const pos = d.pos;
    let best = null;
    const consider = (dx, dy) => {
      const dist = Math.max(Math.abs(dx), Math.abs(dy));
      if (dist <= radius && (!best || dist < best.dist)) best = { dist, dx, dy };
    };
    if (d.rotation === 0) {
      const spot = correctSpot(st, d.anchor);
      consider(spot.x - pos.x, spot.y - pos.y);
    }
    const quarters = d.rotation / 90;
    const inGroup = new Set(d.members);
    for (const m of d.members) {
      const off = d.offsets.get(m);
      const mr = Math.floor(m / st.cols);
      const mc = m % st.cols;
      const around = [
        mr > 0 ? m - st.cols : -1, mc < st.cols - 1 ? m + 1 : -1,
        mr < st.rows - 1 ? m + st.cols : -1, mc > 0 ? m - 1 : -1,
      ];
      for (const n of around) {
        if (n < 0 || inGroup.has(n)) continue;
        const other = this.piece(n);
        if (other.rotation !== d.rotation || this.heldByOther(n)) continue;
        const g = turn((mc - (n % st.cols)) * st.pieceWidth,
          (mr - Math.floor(n / st.cols)) * st.pieceHeight, quarters);
        consider(other.x + g.x - (pos.x + off.x), other.y + g.y - (pos.y + off.y));
      }
    }
    if (!best) return pos;
    return this.clampGroup({ x: pos.x + best.dx, y: pos.y + best.dy }, d);
  }

  hover(point) {
    if (!point || !this.hub.connected || !this.state) return;
    const now = Date.now();
    if (now - this.lastCursorSent < CURSOR_SEND_MS) return;
    this.lastCursorSent = now;
    this.hub.send('UpdateCursor', this.sessionId, point.x, point.y);
  }

  // -------------------------------------------------------------------------
  // Chat, sharing, the side panel.

  async sendChat(text) {
    try {
      await this.hub.invoke('SendChatMessage', this.sessionId, text);
    } catch (err) {
      const { code, message } = hubError(err);
      throw new Error(describeError(code, message));
    }
  }

  markUnread() {
    if (this.root.classList.contains('side-open')
        || getComputedStyle(this.el.sideToggle).display === 'none') return;
    this.unread += 1;
    this.el.unread.textContent = String(this.unread);
    this.el.unread.hidden = false;
  }

  toggleSide() {
    const open = this.root.classList.toggle('side-open');
    this.el.sideToggle.setAttribute('aria-expanded', String(open));
    if (open) {
      this.unread = 0;
      this.el.unread.hidden = true;
    }
  }

  async share() {
    let url = `${location.origin}/?session=${encodeURIComponent(this.sessionId)}`;
    if (this.state?.isPublic === false) {
      // A private puzzle is shared with its invite link, which the node
      // shows to the owner and admins only; others share the plain link.
      try {
        const own = await getSession(this.sessionId, await auth.token());
        if (own?.inviteUrl) url = `${location.origin}${own.inviteUrl}`;
      } catch {
        // The plain link still works for whoever was let in already.
      }
    }
    if (navigator.share && matchMedia('(pointer: coarse)').matches) {
      try {
        await navigator.share({ title: this.state?.name ?? 'Puzzle', url });
        return;
      } catch {
        // Cancelled, or not allowed: copy instead.
      }
    }
    toast(await copyText(url) ? 'Link copied: send it to whoever should join.' : url);
  }

  // -------------------------------------------------------------------------
  // Test hooks (tests/integration/browser.test.mjs): read-only views of what
  // the page shows, in client CSS pixels where they are positions.

  installTestHooks() {
    const view = this;
    const client = (p) => (p ? view.renderer.tableToClient(p.x, p.y) : null);
    this.testHooks = {
      /** The state as applied (a copy). */
      state: () => (view.state ? structuredClone(view.state) : null),
      version: () => view.version,
      /** Where piece `id` is drawn now (its cell's centre). */
      pieceClientCenter: (id) => (view.state ? client(view.scene.centerOf(id)) : null),
      /** A point on piece `id` where no other piece covers it, or null. */
      pieceGrabPoint: (id) => (view.state ? client(view.scene.grabPoint(id)) : null),
      tableToClient: (x, y) => view.renderer.tableToClient(x, y),
      clientToTable: (x, y) => view.renderer.clientToTable(x, y),
      lockedBy: (id) => view.locks.get(id)?.userId ?? null,
      userId: () => auth.userId,
      connection: () => view.hub.status,
      /** Nothing in this player's hand, no drop in flight, every piece at rest. */
      settled: () => Boolean(view.state) && !view.drag && view.pendingDrops === 0
        && view.scene.settled,
      ready: () => Boolean(view.state) && !view.paused && Boolean(view.spritesReady),
    };
    window.puzzleView = this.testHooks;
  }
}
