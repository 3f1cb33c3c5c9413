// The node's REST API (docs/rest-api.md) and the guest identity.
//
// The guest token (a JWT from POST /api/auth/guest) is kept in localStorage
// with its expiry and renewed with the same display name when it has expired
// or the node refused it (a node restarted without PUZZLE_JWT_SECRET signs
// with a new key).

const STORAGE_KEY = 'puzzle.identity.v1';
const RENEW_MARGIN_MS = 60_000;

/** Upload pre-check only; the server's limits are what count. */
export const UPLOAD_TYPES = ['image/png', 'image/jpeg'];
export const UPLOAD_MAX_BYTES_HINT = 25 * 1024 * 1024;

/** An API failure: HTTP status plus the server's {code, message}. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

async function errorOf(res) {
  let code = `HTTP_${res.status}`;
  let message = `${res.status} ${res.statusText || 'error'}`.trim();
  try {
    const body = await res.json();
    if (body?.code) code = body.code;
    if (body?.message) message = body.message;
  } catch {
    // Not JSON (a proxy page, an empty body): the status says enough.
  }
  return new ApiError(res.status, code, message);
}

async function request(method, path, { body, token, signal } = {}) {
  const headers = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
  } catch (err) {
    throw new ApiError(0, 'NETWORK', `The server cannot be reached (${err.message}).`);
  }
  if (!res.ok) throw await errorOf(res);
  if (res.status === 204) return null;
  return res.json();
}

// A list answer may be a bare array or wrapped ({items: [...]} and the like).
function asList(json, ...keys) {
  if (Array.isArray(json)) return json;
  for (const key of keys) if (Array.isArray(json?.[key])) return json[key];
  return [];
}

// ---------------------------------------------------------------------------
// Identity.

function load() {
  try {
    const saved = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? 'null');
    if (saved && typeof saved.displayName === 'string') return saved;
  } catch {
    // A damaged entry is as good as none.
  }
  return null;
}

let identity = load();
let pending = null;

function save() {
  try {
    if (identity) localStorage.setItem(STORAGE_KEY, JSON.stringify(identity));
    else localStorage.removeItem(STORAGE_KEY);
  } catch {
    // Private mode without storage: the identity lives for this page only.
  }
}

export const auth = {
  /** The saved display name, or ''. */
  get displayName() {
    return identity?.displayName ?? '';
  },
  get userId() {
    return identity?.userId ?? null;
  },
  get hasName() {
    return Boolean(identity?.displayName);
  },

  /** Signs in as a guest with this name (a new token and user id). */
  async signIn(displayName) {
    const answer = await request('POST', '/api/auth/guest', { body: { displayName } });
    identity = {
      displayName: answer.displayName ?? displayName,
      userId: answer.userId,
      token: answer.token,
      expiresAt: answer.expiresAt,
    };
    save();
    return identity;
  },

  /** A valid token: the saved one, or a fresh one for the saved name. */
  async token() {
    if (!identity?.displayName) throw new ApiError(401, 'UNAUTHORIZED', 'No display name yet.');
    const expires = Date.parse(identity.expiresAt ?? '');
    if (identity.token && Number.isFinite(expires) && expires - RENEW_MARGIN_MS > Date.now()) {
      return identity.token;
    }
    if (!pending) {
      pending = this.signIn(identity.displayName).finally(() => { pending = null; });
    }
    return (await pending).token;
  },

  /** Forgets the token (the server refused it); the name stays. */
  invalidate() {
    if (identity) {
      identity = { displayName: identity.displayName };
      save();
    }
  },
};

// ---------------------------------------------------------------------------
// Images and sessions.

export async function listImages() {
  return asList(await request('GET', '/api/images'), 'images', 'items');
}

export async function listSessions() {
  return asList(await request('GET', '/api/sessions'), 'sessions', 'items');
}

/** A session's state; with a token, a private one this user may see. */
export async function getSession(id, token) {
  return request('GET', `/api/sessions/${encodeURIComponent(id)}`, { token });
}

/** Lets this user into a private session with the code of its invite link. */
export async function redeemInvite(id, code) {
  return request('POST', `/api/sessions/${encodeURIComponent(id)}/invite`,
    { body: { code }, token: await auth.token() });
}

/** The devices bound to a session (docs/mqtt.md), an array. */
export async function listDevices(sessionId, signal) {
  return asList(await request('GET', `/api/sessions/${encodeURIComponent(sessionId)}/devices`,
    { signal }), 'devices', 'items');
}

export async function createSession(spec) {
  return request('POST', '/api/sessions', { body: spec, token: await auth.token() });
}

/**
 * Uploads an image (multipart/form-data: `file`, optional `name`).
 * `onProgress(fraction)` follows the upload. Resolves to the image record,
 * rejects with an ApiError carrying the server's message.
 */
export async function uploadImage(file, name, onProgress = () => {}) {
  const token = await auth.token();
  const form = new FormData();
  form.append('file', file, file.name || 'image');
  if (name) form.append('name', name);
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/images');
    xhr.setRequestHeader('authorization', `Bearer ${token}`);
    xhr.setRequestHeader('accept', 'application/json');
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && e.total > 0) onProgress(e.loaded / e.total);
    };
    xhr.onerror = () => reject(new ApiError(0, 'NETWORK',
      'The upload did not reach the server (connection closed).'));
    xhr.onload = () => {
      let body = null;
      try {
        body = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        body = null;
      }
      if (xhr.status >= 200 && xhr.status < 300 && body) {
        resolve(body);
        return;
      }
      const fallback = {
        404: 'This server does not accept uploads (no POST /api/images).',
        405: 'This server does not accept uploads (no POST /api/images).',
        413: 'The image is too large for this server.',
        415: 'This kind of file cannot be uploaded.',
      }[xhr.status] ?? `The upload failed (HTTP ${xhr.status}).`;
      reject(new ApiError(xhr.status, body?.code ?? `HTTP_${xhr.status}`,
        body?.message || fallback));
    };
    xhr.send(form);
  });
}

/** The client-side pre-check of a file to upload: an error text or null. */
export function precheckUpload(file) {
  const type = (file.type || '').toLowerCase();
  const byName = /\.(png|jpe?g)$/i.test(file.name || '');
  if (!UPLOAD_TYPES.includes(type) && !(type === '' && byName)) {
    return `“${file.name}” is not a PNG or JPEG image. Choose a .png or .jpg file.`;
  }
  if (file.size === 0) return `“${file.name}” is empty.`;
  if (file.size > UPLOAD_MAX_BYTES_HINT) {
    return `“${file.name}” is ${formatBytes(file.size)}; images up to ` +
      `${formatBytes(UPLOAD_MAX_BYTES_HINT)} can be uploaded.`;
  }
  return null;
}

export function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10 * 1024 ? 1 : 0)} KiB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
}
