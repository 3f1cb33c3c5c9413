// Small DOM helpers shared by every view, and the toasts.
//
// Everything that comes from the server or from other users is put on the
// page as text (textContent, attributes), never parsed as HTML.

/** Creates an element: el('div', {className, text, dataset, on, ...attrs}, children). */
export function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'text') node.textContent = value;
    else if (key === 'className') node.className = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key === 'style') Object.assign(node.style, value);
    else if (key === 'on') {
      for (const [event, fn] of Object.entries(value)) node.addEventListener(event, fn);
    } else if (key === 'testid') node.dataset.testid = value;
    else if (value === true) node.setAttribute(key, '');
    else node.setAttribute(key, String(value));
  }
  for (const child of [].concat(children)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export const $ = (selector, root = document) => root.querySelector(selector);

// ---------------------------------------------------------------------------
// Toasts: short messages in an aria-live region; errors stay a little longer.

const TOAST_MS = 3_500;
const MAX_TOASTS = 4;

export function toast(text, { kind = 'info', ms } = {}) {
  // Also in the console: a toast is gone in seconds, a bug report is not.
  console.info(`[toast:${kind}] ${text}`);
  const region = document.getElementById('toasts');
  if (!region) return;
  // The same text twice in a row (say a burst of RATE_LIMITED) shows once.
  const last = region.lastElementChild;
  if (last && last.textContent === text) {
    clearTimeout(last._timer);
    last._timer = setTimeout(() => dismiss(last), ms ?? TOAST_MS);
    return;
  }
  const node = el('div', {
    className: `toast toast-${kind}`,
    role: kind === 'error' ? 'alert' : 'status',
    testid: 'toast',
    text,
  });
  region.append(node);
  while (region.children.length > MAX_TOASTS) region.firstElementChild.remove();
  node._timer = setTimeout(() => dismiss(node), ms ?? (kind === 'error' ? TOAST_MS + 1500 : TOAST_MS));
}

function dismiss(node) {
  node.classList.add('toast-out');
  setTimeout(() => node.remove(), 250);
}

// ---------------------------------------------------------------------------
// Formatting.

/** 65 s -> "1:05", 3725 s -> "1:02:05". */
export function formatDuration(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const two = (n) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${two(m)}:${two(s)}` : `${m}:${two(s)}`;
}

/** A friendlier text for an error code from the hub. */
export function describeError(code, message) {
  switch (code) {
    case 'PIECE_LOCKED': return message ? `That piece is taken: ${message}` : 'Someone else holds that piece.';
    case 'PIECE_NOT_HELD': return 'You no longer hold that piece.';
    case 'INVALID_MOVE': return message ? `Move refused: ${message}` : 'That move is not allowed.';
    case 'INVALID_MESSAGE': return message || 'That message cannot be sent.';
    case 'RATE_LIMITED': return 'Slow down a little: too many actions at once.';
    case 'SESSION_NOT_FOUND': return 'This puzzle session no longer exists.';
    case 'NOT_JOINED': return 'Not in this session yet; rejoining…';
    case 'UNAUTHORIZED': return 'Your sign-in has expired; renewing it…';
    case 'FORBIDDEN': return message || 'You are not allowed to do that.';
    case 'LIMIT_EXCEEDED': return message || 'A limit of the server was exceeded.';
    case 'NOT_CONNECTED': return 'Not connected to the server right now.';
    case 'TIMEOUT': return 'The server did not answer in time.';
    default: return message || 'Something went wrong.';
  }
}

/** Copies text to the clipboard, with a fallback for insecure contexts. */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = el('textarea', { style: { position: 'fixed', opacity: '0' } });
    area.value = text;
    document.body.append(area);
    area.select();
    let ok = false;
    try {
      ok = document.execCommand('copy');
    } catch {
      ok = false;
    }
    area.remove();
    return ok;
  }
}
