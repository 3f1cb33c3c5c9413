// The chat panel: history from SessionState.chat, live ChatMessageReceived,
// and a composer that counts Unicode code points (the server's limit is 500
// after trimming, counted the same way as [...text].length).

import { el } from './ui.js';

export const CHAT_MAX_CODE_POINTS = 500;
const HISTORY = 100;

export class Chat {
  /** send(text) -> Promise; rejects with {code, message}. */
  constructor(root, { selfId, colorOf, send, onUnread }) {
    this.root = root;
    this.selfId = selfId;
    this.colorOf = colorOf;
    this.send = send;
    this.onUnread = onUnread ?? (() => {});
    this.log = root.querySelector('[data-role=chat-log]');
    this.form = root.querySelector('form');
    this.input = root.querySelector('[data-testid=chat-input]');
    this.button = root.querySelector('[data-testid=chat-send]');
    this.counter = root.querySelector('[data-testid=chat-count]');
    this.error = root.querySelector('[data-role=chat-error]');
    this.messages = [];
    this.ids = new Set();
    this.sending = false;
    // The panel's elements outlive this object (one per opened session):
    // destroy() takes the listeners away with the signal.
    this.listening = new AbortController();
    const { signal } = this.listening;
    this.input.addEventListener('input', () => this.update(), { signal });
    this.input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.submit();
      }
    }, { signal });
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.submit();
    }, { signal });
    this.input.value = '';
    this.showError('');
    this.update();
  }

  destroy() {
    this.listening.abort();
    this.reset([]);
  }

  /** Code points as the server counts them (before its trim). */
  static length(text) {
    return [...text].length;
  }

  update() {
    const n = Chat.length(this.input.value);
    const blank = this.input.value.trim() === '';
    const over = n > CHAT_MAX_CODE_POINTS;
    this.counter.textContent = `${n}/${CHAT_MAX_CODE_POINTS}`;
    this.counter.classList.toggle('over', over);
    this.counter.setAttribute('aria-label',
      `${n} of ${CHAT_MAX_CODE_POINTS} characters${over ? ', too long' : ''}`);
    this.button.disabled = blank || over || this.sending;
    this.input.setAttribute('aria-invalid', String(over));
    if (over) {
      this.showError(`Too long by ${n - CHAT_MAX_CODE_POINTS}: at most ${CHAT_MAX_CODE_POINTS} characters.`);
    } else if (this.error.dataset.kind === 'length') {
      this.showError('');
    }
    if (over) this.error.dataset.kind = 'length';
  }

  showError(text) {
    this.error.textContent = text;
    this.error.hidden = !text;
    delete this.error.dataset.kind;
  }

  async submit() {
    const text = this.input.value;
    if (this.button.disabled) return;
    this.sending = true;
    this.update();
    try {
      await this.send(text);
      this.input.value = '';
      this.showError('');
    } catch (err) {
      this.showError(err.message || 'The message could not be sent.');
    } finally {
      this.sending = false;
      this.update();
    }
  }

  reset(history = []) {
    this.messages = [];
    this.ids.clear();
    this.log.replaceChildren();
    for (const m of history.slice(-HISTORY)) this.add(m, { quiet: true });
  }

  add(m, { quiet = false } = {}) {
    if (m.id && this.ids.has(m.id)) return;
    if (m.id) this.ids.add(m.id);
    this.messages.push(m);
    const nearBottom = this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 40;
    const time = new Date(m.timestamp);
    const item = el('li', {
      className: `chat-message${m.userId === this.selfId ? ' mine' : ''}`,
      testid: 'chat-message',
      'data-user-id': m.userId,
    }, [
      el('div', { className: 'meta' }, [
        el('span', { className: 'author', style: { color: this.colorOf(m.userId) }, text: m.username }),
        Number.isNaN(time.getTime()) ? null : el('time', {
          datetime: m.timestamp,
          text: time.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }),
        }),
      ]),
      el('p', { className: 'text', text: m.message, dir: 'auto' }),
    ]);
    this.log.append(item);
    while (this.messages.length > HISTORY) {
      const old = this.messages.shift();
      if (old.id) this.ids.delete(old.id);
      this.log.firstElementChild?.remove();
    }
    if (nearBottom || m.userId === this.selfId) this.log.scrollTop = this.log.scrollHeight;
    if (!quiet && m.userId !== this.selfId) this.onUnread();
  }
}
