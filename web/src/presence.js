// Who is in the session: the participants list (colour, name, online dot),
// kept from SessionState.participants, UserJoined and UserLeft.

import { el } from './ui.js';

export class Presence {
  constructor(listElement, countElement, selfId) {
    this.list = listElement;
    this.count = countElement;
    this.selfId = selfId;
    this.people = new Map(); // userId -> {userId, username, color, online, joinedAt}
  }

  reset(participants = []) {
    this.people.clear();
    for (const p of participants) this.people.set(p.userId, { ...p });
    this.render();
  }

  joined({ userId, username, color, joinedAt }) {
    const known = this.people.get(userId);
    this.people.set(userId, {
      ...known,
      userId,
      username: username ?? known?.username ?? 'Someone',
      color: color ?? known?.color ?? '#888888',
      joinedAt: joinedAt ?? known?.joinedAt,
      online: true,
    });
    this.render();
  }

  left({ userId }) {
    const known = this.people.get(userId);
    if (known) known.online = false;
    this.render();
  }

  nameOf(userId) {
    if (!userId) return null;
    return this.people.get(userId)?.username ?? null;
  }

  colorOf(userId) {
    return this.people.get(userId)?.color ?? '#f5a623';
  }

  render() {
    const people = [...this.people.values()].sort((a, b) => {
      if (a.online !== b.online) return a.online ? -1 : 1;
      if (a.userId === this.selfId) return -1;
      if (b.userId === this.selfId) return 1;
      return String(a.username).localeCompare(String(b.username));
    });
    this.list.replaceChildren(...people.map((p) => el('li', {
      className: `participant${p.online ? ' online' : ''}`,
      testid: 'participant',
      'data-user-id': p.userId,
      'data-online': String(Boolean(p.online)),
    }, [
      el('span', { className: 'swatch', style: { background: p.color }, 'aria-hidden': 'true' }),
      el('span', { className: 'name', text: p.username }),
      p.userId === this.selfId ? el('span', { className: 'you', text: 'you' }) : null,
      el('span', {
        className: 'dot',
        title: p.online ? 'online' : 'offline',
        'aria-label': p.online ? 'online' : 'offline',
        role: 'img',
      }),
    ])));
    const online = people.filter((p) => p.online).length;
    this.count.textContent = String(online);
  }
}
