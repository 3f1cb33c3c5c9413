// Helpers of the browser test (browser.test.mjs): the node on a port that
// survives a restart, headless Chromium through playwright-core, image files
// made in the test, and pointer gestures aimed with window.puzzleView.
//
// No fixed sleeps: every wait is a page.waitForFunction on a condition, or an
// event of the node's process, each with a bounded timeout.

import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

import { SETUP_HINT, correctSpot } from './support/harness.mjs';

export const CHROMIUM = process.env.PUZZLE_CHROMIUM ?? '/usr/bin/chromium';

/** Flags this machine needs (no sandbox as root, no GPU, no network noise). */
export const CHROMIUM_ARGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export function loadPlaywright() {
  try {
    return { playwright: createRequire(import.meta.url)('playwright-core') };
  } catch (err) {
    return {
      problem: `cannot load playwright-core from tests/integration/node_modules ` +
        `(${err.code ?? err.message}): ${SETUP_HINT}`,
    };
  }
}

/**
 * The built web root (index.html and the hashed bundle), or a problem.
 * PUZZLE_WEB_ROOT first; then the bundle next to the node's binary
 * (<build>/cluster/puzzle-node -> <build>/web/public), for tests registered
 * with the plain puzzle_add_integration_test(), which passes the source
 * template web/public.
 */
export function findWebRoot() {
  const hint = 'build the web client first: cmake --build build/ci --target puzzle-web ' +
    '(part of `all`; tools/run-tests.sh builds it)';
  const candidates = [];
  if (process.env.PUZZLE_WEB_ROOT) candidates.push(process.env.PUZZLE_WEB_ROOT);
  if (process.env.PUZZLE_NODE_BIN) {
    candidates.push(path.resolve(path.dirname(process.env.PUZZLE_NODE_BIN), '..', 'web', 'public'));
  }
  if (candidates.length === 0) {
    return { problem: `PUZZLE_WEB_ROOT is not set: run this test through CTest; ${hint}` };
  }
  const problems = [];
  for (const root of candidates) {
    const index = path.join(root, 'index.html');
    if (!fs.existsSync(index)) problems.push(`${index} does not exist`);
    else if (fs.readFileSync(index, 'utf8').includes('%APP_JS%')) {
      problems.push(`${root} is the unbuilt template, not the bundle`);
    } else {
      return { root };
    }
  }
  return { problem: `${problems.join('; ')}: ${hint}` };
}

/**
 * Where screenshots go: PUZZLE_TEST_ARTIFACTS, else <build>/test-artifacts
 * next to the node's binary, else build/test-artifacts in the checkout.
 */
export function artifactsDir() {
  if (process.env.PUZZLE_TEST_ARTIFACTS) return process.env.PUZZLE_TEST_ARTIFACTS;
  if (process.env.PUZZLE_NODE_BIN) {
    return path.resolve(path.dirname(process.env.PUZZLE_NODE_BIN), '..', 'test-artifacts');
  }
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'build',
    'test-artifacts');
}

// ---------------------------------------------------------------------------
// Images made in the test (no image files in the repository).

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n += 1) {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type, data) {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/**
 * An 8-bit RGB PNG. `rows(y)` returns the y-th row's width*3 bytes; without
 * it the image is a colour gradient.
 */
export function encodePng(width, height, rows = null) {
  const stride = width * 3;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y += 1) {
    const offset = y * (stride + 1);
    raw[offset] = 0; // filter: none
    if (rows) {
      rows(y).copy(raw, offset + 1);
      continue;
    }
    for (let x = 0; x < width; x += 1) {
      const p = offset + 1 + x * 3;
      raw[p] = (x * 255) / Math.max(1, width - 1);
      raw[p + 1] = (y * 255) / Math.max(1, height - 1);
      raw[p + 2] = 160;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', zlib.deflateSync(raw, { level: 9 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

// ---------------------------------------------------------------------------
// Pages.

/**
 * Watches a page for what must never happen: uncaught exceptions and
 * Content-Security-Policy refusals (the node's CSP allows no inline code).
 * `log` keeps the page's last console lines (toasts among them) for a
 * failure report.
 */
export function watchPage(page, label, problems, log = []) {
  page.on('pageerror', (err) => problems.push(`${label}: uncaught ${err.stack ?? err}`));
  page.on('console', (msg) => {
    const text = msg.text();
    log.push(`${new Date().toISOString()} ${msg.type()}: ${text}`);
    if (log.length > 100) log.shift();
    if (process.env.PUZZLE_TEST_VERBOSE === '1') console.error(`[${label}] ${msg.type()}: ${text}`);
    if (/Content.Security.Policy/i.test(text)) problems.push(`${label}: CSP: ${text}`);
  });
}

/** Waits for `fn(arg)` to be truthy in the page; the message says what for. */
export async function waitFor(page, what, fn, arg, timeout = 15_000) {
  try {
    return await page.waitForFunction(fn, arg, { timeout });
  } catch (err) {
    throw new Error(`${what}: ${err.message.split('\n')[0]}`);
  }
}

/** The page's view of a session, once it shows one and may be played. */
export async function waitForPuzzle(page, what, timeout = 20_000) {
  await waitFor(page, `${what}: puzzle view ready`,
    () => window.puzzleView?.ready() && window.puzzleView.settled(), undefined, timeout);
}

/** Client point where piece `id` can be grabbed (not covered by another). */
export async function grabPoint(page, id) {
  const p = await page.evaluate((i) => window.puzzleView.pieceGrabPoint(i), id);
  if (!p) throw new Error(`piece ${id} has no uncovered point to grab`);
  return p;
}

/**
 * Where to put the pointer so that piece `id`, grabbed at `grab`, lands with
 * its top-left corner at table point `spot` (rotation unchanged).
 */
export async function dropPoint(page, id, grab, spot) {
  return page.evaluate(({ i, g, s }) => {
    const v = window.puzzleView;
    const st = v.state();
    const c = v.pieceClientCenter(i);
    const r = st.pieces[i].rotation;
    const turned = r === 90 || r === 270;
    const w = turned ? st.pieceHeight : st.pieceWidth;
    const h = turned ? st.pieceWidth : st.pieceHeight;
    const target = v.tableToClient(s.x + w / 2, s.y + h / 2);
    return { x: target.x + (g.x - c.x), y: target.y + (g.y - c.y) };
  }, { i: id, g: grab, s: spot });
}

/** A mouse drag with real input events (pointerdown, moves, pointerup). */
export async function mouseDrag(page, from, to, steps = 12) {
  await page.mouse.move(from.x, from.y);
  await page.mouse.down();
  await page.mouse.move(to.x, to.y, { steps });
  await page.mouse.up();
}

/** A one-finger touch drag through the DevTools protocol (a real touch). */
export async function touchDrag(page, cdp, from, to, steps = 12) {
  const point = (p) => [{ x: p.x, y: p.y, radiusX: 4, radiusY: 4, force: 1, id: 1 }];
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: point(from) });
  for (let i = 1; i <= steps; i += 1) {
    const at = { x: from.x + ((to.x - from.x) * i) / steps, y: from.y + ((to.y - from.y) * i) / steps };
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: point(at) });
  }
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
}

/**
 * A loose piece, held by nobody, that can be grabbed (some point of it is
 * not covered by another piece: the start layout may stack pieces).
 */
export async function pickPiece(page, exclude = []) {
  const id = await page.evaluate((skip) => {
    const v = window.puzzleView;
    return v.state().pieces.find((p) => !p.isPlaced && !skip.includes(p.id)
      && v.lockedBy(p.id) === null && v.pieceGrabPoint(p.id) !== null)?.id ?? null;
  }, exclude);
  if (id === null) throw new Error(`no loose, uncovered piece to grab (besides ${exclude})`);
  return id;
}

/**
 * A table spot (top-left) for piece `id` that is away from where it is now,
 * from its correct spot and from every spot that would join it to a true
 * neighbour (so the drop neither snaps nor is a click), inside the table and
 * outside the board.
 */
export function freeSpot(state, id) {
  const { rows, cols, pieceWidth: w, pieceHeight: h, table, board } = state;
  // Farther than the page's drop assistance reaches (a quarter side).
  const margin = 0.3 * Math.min(w, h);
  const row = Math.floor(id / cols);
  const col = id % cols;
  const piece = state.pieces[id];
  const avoid = [correctSpot(state, id), { x: piece.x, y: piece.y }];
  for (const [dr, dc] of [[-1, 0], [1, 0], [0, -1], [0, 1]]) {
    const r = row + dr;
    const c = col + dc;
    if (r < 0 || r >= rows || c < 0 || c >= cols) continue;
    const n = state.pieces[r * cols + c];
    avoid.push({ x: n.x - dc * w, y: n.y - dr * h });
  }
  const clear = (p) => avoid.every((q) => Math.abs(p.x - q.x) > margin || Math.abs(p.y - q.y) > margin);
  const onBoard = (p) => p.x + w > board.x && p.x < board.x + cols * w
    && p.y + h > board.y && p.y < board.y + rows * h;
  for (let y = h / 2; y <= table.height - 1.5 * h; y += h / 2) {
    for (let x = w / 2; x <= table.width - 1.5 * w; x += w / 2) {
      const p = { x: Math.round(x), y: Math.round(y) };
      if (clear(p) && !onBoard(p)) return p;
    }
  }
  throw new Error(`no free spot on the table for piece ${id}`);
}
