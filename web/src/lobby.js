// The lobby: the player's display name (a guest token), the public sessions
// and the form that creates a session from a built-in or an uploaded image.

import {
  ApiError, auth, createSession, formatBytes, listImages, listSessions, precheckUpload,
  uploadImage,
} from './api.js';
import { PIECE_COUNTS, chooseGrid } from './geometry.js';
import { $, el } from './ui.js';

const REFRESH_MS = 10_000;
const DEFAULT_PIECES = 24;

/** The thumbnail of a session's image: uploads have a small one of their own. */
export function thumbnailOf(image) {
  const url = image?.thumbnailUrl ?? image?.url ?? '';
  const upload = /^\/api\/images\/([^/]+)\/file$/.exec(url);
  return upload ? `/api/images/${upload[1]}/thumbnail` : url;
}

/** What the upload status line says about a refused upload. */
function refusalText(file, err) {
  const what = `“${file.name}” was not accepted`;
  const reason = String(err?.message ?? err).replace(/\.$/, '');
  if (err instanceof ApiError) {
    if (err.status === 0) {
      // The node answers 413 as soon as it sees a Content-Length over its
      // limit and then stops reading; a browser still sending a large body
      // may see the connection end instead of that answer.
      return `${what}: the server ended the upload of ${formatBytes(file.size)}; ` +
        'the file is most likely larger than this server accepts.';
    }
    switch (err.code) {
      case 'LIMIT_EXCEEDED': return `${what}, it is too large: ${reason}.`;
      case 'INVALID_IMAGE': return `${what}, it is not a usable image: ${reason}.`;
      case 'UNSUPPORTED_MEDIA_TYPE': return `${what}: only PNG and JPEG images can be uploaded.`;
      case 'UNAUTHORIZED': return `${what}: your name is not signed in any more; save it again.`;
      default: return `${what}: ${reason}.`;
    }
  }
  return `${what}: ${reason}.`;
}

export class Lobby {
  /**
   * openSession(id): go to a session; pendingSession: a session the player
   * wants to join once they have a name (a shared link).
   */
  constructor({ openSession }) {
    this.root = $('#lobby');
    this.openSession = openSession;
    this.pendingSession = null;
    this.images = [];
    this.selectedImage = null;
    this.timer = 0;
    this.uploading = false;

    this.nameInput = $('#display-name');
    this.nameStatus = $('#identity-status');
    this.nameHint = $('#identity-hint');
    this.sessionsList = $('#sessions');
    this.sessionsStatus = $('#sessions-status');
    this.imageOptions = $('#image-options');
    this.piecesSelect = $('#create-pieces');
    this.gridHint = $('#create-grid');
    this.createStatus = $('#create-status');
    this.uploadStatus = $('#upload-status');
    this.uploadProgress = $('#upload-progress');

    $('#identity-form').addEventListener('submit', (e) => {
      e.preventDefault();
      this.saveName();
    });
    $('#refresh-sessions').addEventListener('click', () => this.loadSessions());
    $('#create-form').addEventListener('submit', (e) => {
      e.preventDefault();
      this.create();
    });
    this.piecesSelect.addEventListener('change', () => this.updateGrid());
    $('#upload-file').addEventListener('change', (e) => {
      const file = e.target.files?.[0];
      e.target.value = ''; // the same file may be chosen again after a fix
      if (file) this.upload(file);
    });
    document.addEventListener('visibilitychange', () => {
      if (!this.root.hidden && document.visibilityState === 'visible') this.loadSessions();
    });
    for (const count of PIECE_COUNTS) {
      this.piecesSelect.append(el('option', { value: String(count), text: `${count} pieces` }));
    }
    this.piecesSelect.value = String(DEFAULT_PIECES);
  }

  show({ pendingSession = null } = {}) {
    this.pendingSession = pendingSession;
    this.root.hidden = false;
    document.title = 'Collaborative Puzzle Platform';
    this.nameInput.value = auth.displayName;
    this.renderIdentity();
    this.loadImages();
    this.loadSessions();
    clearInterval(this.timer);
    this.timer = setInterval(() => {
      if (document.visibilityState === 'visible') this.loadSessions();
    }, REFRESH_MS);
    if (pendingSession || !auth.hasName) this.nameInput.focus();
  }

  hide() {
    this.root.hidden = true;
    clearInterval(this.timer);
  }

  // -------------------------------------------------------------------------
  // Identity.

  renderIdentity() {
    if (this.pendingSession) {
      this.nameHint.hidden = false;
      this.nameHint.textContent = 'You were invited to a puzzle. Enter the name others will see, then you join it.';
    } else {
      this.nameHint.hidden = true;
    }
    this.setStatus(this.nameStatus, auth.hasName ? `You play as ${auth.displayName}.` : '');
  }

  async saveName() {
    const name = this.nameInput.value.trim();
    if (!name) {
      this.setStatus(this.nameStatus, 'Enter a name first.', 'error');
      this.nameInput.focus();
      return false;
    }
    this.setStatus(this.nameStatus, 'Signing in…');
    try {
      await auth.signIn(name);
    } catch (err) {
      this.setStatus(this.nameStatus, `That name was not accepted: ${err.message}`, 'error');
      return false;
    }
    this.setStatus(this.nameStatus, `You play as ${auth.displayName}.`, 'good');
    if (this.pendingSession) this.openSession(this.pendingSession);
    return true;
  }

  /** The name is saved, or the player is told to save one; true when usable. */
  async ensureName(statusElement) {
    if (auth.hasName) return true;
    if (this.nameInput.value.trim()) return this.saveName();
    this.setStatus(statusElement, 'Enter your name at the top first.', 'error');
    this.nameInput.focus();
    return false;
  }

  // -------------------------------------------------------------------------
  // Sessions.

  async loadSessions() {
    let sessions;
    try {
      sessions = await listSessions();
    } catch (err) {
      this.setStatus(this.sessionsStatus, `Could not load the puzzles (${err.message}).`, 'error');
      return;
    }
    // Unfinished and busy first: those are the ones to join.
    sessions.sort((a, b) => (Number(a.isCompleted) - Number(b.isCompleted))
      || ((b.participantsOnline ?? 0) - (a.participantsOnline ?? 0))
      || String(b.createdAt ?? '').localeCompare(String(a.createdAt ?? '')));
    this.sessionsList.replaceChildren(...sessions.map((s) => this.sessionCard(s)));
    this.setStatus(this.sessionsStatus,
      sessions.length === 0 ? 'No public puzzles yet: start one below.' : '');
  }

  sessionCard(s) {
    const percent = Math.max(0, Math.min(100, Number(s.completionPercentage) || 0));
    const online = Number(s.participantsOnline) || 0;
    const title = el('h3', { text: s.name || 'Unnamed puzzle' });
    if (s.isCompleted) title.append(el('span', { className: 'badge', text: 'solved' }));
    const button = el('button', {
      type: 'button',
      className: 'session-card',
      testid: 'session-card',
      'data-session-id': s.id,
      on: { click: () => this.join(s.id) },
    }, [
      el('img', { src: thumbnailOf(s.image), alt: '', loading: 'lazy' }),
      el('div', { className: 'body' }, [
        title,
        el('p', {
          className: 'meta',
          text: `${s.pieceCount} pieces · ${online} ${online === 1 ? 'player' : 'players'} online`,
        }),
        el('div', { className: 'mini-progress', 'aria-label': `${Math.round(percent)} % done` }, [
          el('div', { className: 'track' }, [
            el('div', { className: 'fill', style: { width: `${percent}%` } }),
          ]),
          el('span', { text: `${Math.round(percent)} %` }),
        ]),
      ]),
    ]);
    return el('li', {}, [button]);
  }

  async join(id) {
    if (!auth.hasName) {
      this.pendingSession = id;
      this.renderIdentity();
      if (!(await this.ensureName(this.nameStatus))) return;
      return; // saveName opened it
    }
    this.openSession(id);
  }

  // -------------------------------------------------------------------------
  // Images and the create form.

  async loadImages() {
    try {
      this.images = await listImages();
    } catch (err) {
      this.setStatus(this.createStatus, `Could not load the pictures (${err.message}).`, 'error');
      return;
    }
    if (!this.selectedImage || !this.images.some((i) => i.id === this.selectedImage)) {
      this.selectedImage = this.images[0]?.id ?? null;
    }
    this.renderImages();
  }

  renderImages() {
    this.imageOptions.replaceChildren(...this.images.map((image) => el('li', {}, [
      el('button', {
        type: 'button',
        className: 'image-option',
        role: 'radio',
        testid: 'create-image-option',
        'data-image-id': image.id,
        'aria-checked': String(image.id === this.selectedImage),
        title: `${image.name} (${image.width} × ${image.height})`,
        on: { click: () => this.selectImage(image.id) },
      }, [
        el('img', { src: image.thumbnailUrl ?? image.url, alt: '', loading: 'lazy' }),
        el('span', { text: image.name || image.id }),
      ]),
    ])));
    this.updateGrid();
  }

  selectImage(id) {
    this.selectedImage = id;
    for (const b of this.imageOptions.querySelectorAll('[data-image-id]')) {
      b.setAttribute('aria-checked', String(b.dataset.imageId === id));
    }
    this.updateGrid();
  }

  /** The grid for the chosen count, shaped to the chosen image. */
  grid() {
    const image = this.images.find((i) => i.id === this.selectedImage);
    const count = Number(this.piecesSelect.value) || DEFAULT_PIECES;
    return chooseGrid(count, image?.width ?? 4, image?.height ?? 3);
  }

  updateGrid() {
    const { rows, cols } = this.grid();
    this.gridHint.textContent = `${rows} rows × ${cols} columns = ${rows * cols} pieces`;
  }

  async upload(file) {
    if (this.uploading) return;
    const problem = precheckUpload(file);
    if (problem) {
      this.setStatus(this.uploadStatus, problem, 'error');
      return;
    }
    if (!(await this.ensureName(this.uploadStatus))) return;
    this.uploading = true;
    this.uploadProgress.hidden = false;
    this.uploadProgress.value = 0;
    this.setStatus(this.uploadStatus, `Uploading “${file.name}” (${formatBytes(file.size)})…`);
    try {
      const name = file.name.replace(/\.(png|jpe?g)$/i, '') || 'Uploaded image';
      const image = await uploadImage(file, name, (f) => { this.uploadProgress.value = f; });
      this.images = [image, ...this.images.filter((i) => i.id !== image.id)];
      this.selectedImage = image.id;
      this.renderImages();
      this.setStatus(this.uploadStatus, `“${file.name}” uploaded (${image.width} × ` +
        `${image.height} pixels): it is selected above as “${image.name}”.`, 'good');
    } catch (err) {
      this.setStatus(this.uploadStatus, refusalText(file, err), 'error');
    } finally {
      this.uploading = false;
      this.uploadProgress.hidden = true;
    }
  }

  async create() {
    const name = $('#create-name').value.trim();
    if (!name) {
      this.setStatus(this.createStatus, 'Give the puzzle a name.', 'error');
      $('#create-name').focus();
      return;
    }
    if (!this.selectedImage) {
      this.setStatus(this.createStatus, 'Choose a picture.', 'error');
      return;
    }
    if (!(await this.ensureName(this.createStatus))) return;
    const { rows, cols } = this.grid();
    const submit = $('[data-testid=create-submit]');
    submit.disabled = true;
    this.setStatus(this.createStatus, 'Creating…');
    try {
      const session = await createSession({
        name,
        imageId: this.selectedImage,
        rows,
        cols,
        rotation: $('#create-rotation').checked,
        public: true,
      });
      this.setStatus(this.createStatus, '');
      this.openSession(session.id ?? session.sessionId);
    } catch (err) {
      this.setStatus(this.createStatus, `The puzzle was not created: ${err.message}`, 'error');
    } finally {
      submit.disabled = false;
    }
  }

  setStatus(node, text, kind = '') {
    node.textContent = text;
    node.classList.toggle('error', kind === 'error');
    node.classList.toggle('good', kind === 'good');
  }
}
