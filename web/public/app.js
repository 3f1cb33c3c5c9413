// Placeholder page: lists the node's public sessions (GET /api/sessions) and
// built-in images (GET /api/images). Loaded as a file because the node's
// Content-Security-Policy allows only script-src 'self'. Everything from the
// server is put on the page with textContent/attributes, never as HTML.
'use strict';

(() => {
  const REFRESH_MS = 15000;
  const imagesById = new Map();

  const $ = (id) => document.getElementById(id);

  function el(tag, props = {}, children = []) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (value === undefined || value === null) continue;
      if (key === 'text') node.textContent = value;
      else if (key === 'className') node.className = value;
      else node.setAttribute(key, value);
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  // A list answer may be a bare array or wrapped ({items: [...]} and the like).
  function asList(json, ...keys) {
    if (Array.isArray(json)) return json;
    for (const key of keys) if (json && Array.isArray(json[key])) return json[key];
    return [];
  }

  async function getJson(path) {
    const res = await fetch(path, { headers: { accept: 'application/json' } });
    if (!res.ok) {
      let detail = '';
      try {
        const body = await res.json();
        detail = body.message ? `: ${body.message}` : '';
      } catch {
        // Not JSON: the status alone says enough.
      }
      throw new Error(`HTTP ${res.status}${detail}`);
    }
    return res.json();
  }

  function prettyName(id) {
    const text = String(id ?? '').replace(/[-_]+/g, ' ').trim();
    return text ? text[0].toUpperCase() + text.slice(1) : 'Untitled';
  }

  function setStatus(id, text, isError = false) {
    const status = $(id);
    status.textContent = text;
    status.classList.toggle('error', isError);
    status.hidden = text === '';
  }

  function imageOf(session) {
    const image = session.image;
    const id = typeof image === 'string' ? image : image?.id ?? session.imageId;
    const known = imagesById.get(id);
    return {
      id,
      url: (typeof image === 'object' && image?.url) || session.imageUrl || known?.url,
      name: known?.name || prettyName(id),
    };
  }

  function onlineCount(session) {
    for (const key of ['participantsOnline', 'onlineCount', 'online']) {
      if (Number.isFinite(session[key])) return session[key];
    }
    if (Number.isFinite(session.participants)) return session.participants;
    if (Array.isArray(session.participants)) {
      return session.participants.filter((p) => p.online !== false).length;
    }
    return 0;
  }

  function renderSessions(sessions) {
    const list = $('sessions');
    list.replaceChildren();
    for (const s of sessions) {
      const image = imageOf(s);
      const percent = Math.max(0, Math.min(100, Number(s.completionPercentage) || 0));
      const online = onlineCount(s);
      const title = el('h3', { text: s.name || 'Unnamed session' });
      if (s.isCompleted) title.append(el('span', { className: 'badge', text: 'solved' }));
      list.append(el('li', { className: 'card session' }, [
        image.url ? el('img', { src: image.url, alt: image.name, loading: 'lazy' }) : null,
        el('div', { className: 'body' }, [
          title,
          el('p', {
            className: 'meta',
            text: `${s.pieceCount ?? '?'} pieces · ${online} online · ${image.name}`,
          }),
          el('div', { className: 'progress' }, [
            el('progress', { max: '100', value: String(percent), 'aria-label': 'completion' }),
            el('span', { text: `${Math.round(percent)} %` }),
          ]),
        ]),
      ]));
    }
    list.hidden = sessions.length === 0;
    setStatus('sessions-status', sessions.length === 0
      ? 'No public sessions yet. Create one with POST /api/sessions.' : '');
  }

  function renderImages(images) {
    const list = $('images');
    list.replaceChildren();
    for (const image of images) {
      const name = image.name || image.title || prettyName(image.id);
      const size = image.width && image.height ? `${image.width} × ${image.height}` : '';
      list.append(el('li', { className: 'card' }, [
        image.url ? el('img', { src: image.url, alt: name, loading: 'lazy' }) : null,
        el('div', { className: 'body' }, [
          el('h3', { text: name }),
          el('p', { className: 'meta', text: [image.id, size].filter(Boolean).join(' · ') }),
        ]),
      ]));
    }
    list.hidden = images.length === 0;
    setStatus('images-status', images.length === 0 ? 'No images yet.' : '');
  }

  async function loadImages() {
    try {
      const images = asList(await getJson('api/images'), 'images', 'items');
      for (const image of images) {
        imagesById.set(image.id, { ...image, name: image.name || image.title });
      }
      renderImages(images);
    } catch (err) {
      setStatus('images-status', `Could not load the images (${err.message}).`, true);
    }
  }

  async function loadSessions() {
    try {
      renderSessions(asList(await getJson('api/sessions'), 'sessions', 'items'));
    } catch (err) {
      setStatus('sessions-status', `Could not load the sessions (${err.message}).`, true);
    }
  }

  document.addEventListener('DOMContentLoaded', async () => {
    $('refresh').addEventListener('click', loadSessions);
    await loadImages();  // first, so sessions can show image names
    await loadSessions();
    setInterval(() => {
      if (document.visibilityState === 'visible') loadSessions();
    }, REFRESH_MS);
  });
})();
