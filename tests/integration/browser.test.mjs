// End-to-end test of the browser client: the real puzzle-node
// serving the built page (web/build.mjs), played in Debian's headless
// Chromium through playwright-core with real input events.
//
// Run through CTest (tests/integration/CMakeLists.txt), which passes
//   PUZZLE_NODE_BIN        path of the built puzzle-node
//   PUZZLE_WEB_ROOT        the built web client (<build>/web/public)
//   PUZZLE_TEST_ARTIFACTS  where the screenshots go (<build>/test-artifacts)
// PUZZLE_CHROMIUM overrides /usr/bin/chromium; PUZZLE_TEST_VERBOSE=1 shows
// the node's log and the pages' consoles.
//
// What it shows: two players (two browser contexts) in one session see each
// other's drags, locks (with the holder's name) and chat; a 2x2 puzzle is
// solved with the mouse and both see the celebration, as does someone who
// opens it later; a phone-sized page drags by touch; the node is killed and
// restarted on the same port and data and both pages come back to the same
// state; uploads are accepted (PNG, JPEG) and refused (too many bytes, not an
// image, too many pixels) with a clear message. Waits are conditions
// (page.waitForFunction), never sleeps.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import {
  CHROMIUM, CHROMIUM_ARGS, dropPoint, encodePng, findWebRoot, freeSpot, grabPoint,
  loadPlaywright, mouseDrag, pickPiece, touchDrag, waitFor, waitForPuzzle, watchPage,
} from './browser_support.mjs';
import { PuzzleNode, correctSpot, findBinary, http } from './support/harness.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');
const ARTIFACTS = process.env.PUZZLE_TEST_ARTIFACTS ?? path.join(REPO, 'build', 'test-artifacts');

// Small upload limits keep the refusals cheap to provoke.
const MAX_UPLOAD_BYTES = 300_000;
const MAX_UPLOAD_PIXELS = 1_000_000;
const RECONNECT_TIMEOUT_MS = 45_000;

const DESKTOP = { viewport: { width: 1280, height: 800 } };
const PHONE = {
  viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
};

function defineSuite(playwright, bin, webRoot) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'puzzle-browser-'));
  const node = new PuzzleNode(bin, {
    keepPort: true,
    dataDir: path.join(tmp, 'data'),
    webRoot,
    // A fixed secret keeps the pages' tokens valid across the restart.
    env: { PUZZLE_JWT_SECRET: crypto.randomBytes(32).toString('hex') },
    args: [`--images.max-bytes=${MAX_UPLOAD_BYTES}`, `--images.max-pixels=${MAX_UPLOAD_PIXELS}`],
  });
  const problems = []; // page errors and CSP refusals: each fails the suite
  const pages = {};
  const logs = {}; // label -> the page's last console lines
  let browser;
  let failed = false;
  let shared; // {id, url}: the session Alice and Bob play in
  let small; // {id, url}: the 2x2 one that gets solved
  const users = {};

  const step = (name, fn) => test(name, async () => {
    try {
      await fn();
    } catch (err) {
      failed = true;
      throw err;
    }
  });

  const open = async (label, options) => {
    const context = await browser.newContext({ ...options, baseURL: node.base });
    const page = await context.newPage();
    logs[label] = [];
    watchPage(page, label, problems, logs[label]);
    pages[label] = page;
    return page;
  };

  const screenshot = async (page, name, { fullPage = false } = {}) => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage });
  };

  const signIn = async (page, name) => {
    await page.getByTestId('display-name').fill(name);
    await page.getByTestId('display-name-submit').click();
  };

  const state = (page) => page.evaluate(() => window.puzzleView.state());

  /** Both pages show exactly the node's state: same version, same pieces. */
  const expectSameState = async (sessionId, ...ps) => {
    const res = await http('GET', `${node.base}/api/sessions/${sessionId}`);
    assert.equal(res.status, 200, res.text);
    const truth = res.json;
    for (const page of ps) {
      await waitFor(page, `version ${truth.version} shown`,
        (v) => window.puzzleView?.version() === v && window.puzzleView.settled(), truth.version);
      const seen = await state(page);
      const view = (p) => [p.id, p.x, p.y, p.rotation, p.isPlaced, p.groupId];
      assert.deepEqual(seen.pieces.map(view), truth.pieces.map(view));
    }
  };

  describe('browser client in headless Chromium (playwright-core)', () => {
    before(async () => {
      try {
        await node.start();
        browser = await playwright.chromium.launch({
          executablePath: CHROMIUM,
          args: CHROMIUM_ARGS,
          headless: true,
          timeout: 60_000,
        });
      } catch (err) {
        failed = true;
        throw err;
      }
    });

    after(async () => {
      if (failed) {
        for (const [label, page] of Object.entries(pages)) {
          await screenshot(page, `failure-${label}`).catch(() => {});
          const seen = await page.evaluate(() => ({
            url: location.href,
            connection: document.querySelector('[data-testid=connection-status]')?.dataset.state,
            version: window.puzzleView?.version(),
            toasts: [...document.querySelectorAll('[data-testid=toast]')].map((t) => t.textContent),
          })).catch((err) => err.message);
          console.error(`--- page ${label}: ${JSON.stringify(seen)}\n${logs[label].join('\n')}`);
        }
        console.error(`--- puzzle-node output (tail) ---\n${node.tail()}`);
        if (problems.length) console.error(`--- page problems ---\n${problems.join('\n')}`);
        console.error(`screenshots of the pages: ${ARTIFACTS}`);
      }
      await browser?.close().catch(() => {});
      await node.stop('SIGTERM').catch(() => node.kill());
      if (!failed) fs.rmSync(tmp, { recursive: true, force: true });
    });

    step('the page is the built bundle, served under the CSP', async () => {
      const res = await fetch(`${node.base}/`);
      const html = await res.text();
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self'/);
      const script = /<script type="module" src="(\/assets\/app-[^"]+\.js)"/.exec(html)?.[1];
      assert.ok(script, 'index.html loads the hashed bundle');
      assert.doesNotMatch(html, /<script>|<style>|\son[a-z]+="/i, 'no inline code');
      const js = await fetch(`${node.base}${script}`);
      await js.arrayBuffer();
      assert.match(js.headers.get('content-type') ?? '', /javascript/);
      assert.match(js.headers.get('cache-control') ?? '', /immutable/);
    });

    step('lobby: a name, the public sessions, a new session from the form', async () => {
      // Someone else's session, so the lobby has a card to show.
      const dora = (await http('POST', `${node.base}/api/auth/guest`,
        { body: { displayName: 'Dora' } })).json;
      const made = await http('POST', `${node.base}/api/sessions`, {
        token: dora.token,
        body: { name: 'Autumn afternoon', imageId: 'autumn-mosaic', rows: 4, cols: 6, public: true },
      });
      assert.equal(made.status, 201, made.text);

      const page = await open('alice', DESKTOP);
      await page.goto('/');
      await waitFor(page, 'session card of Dora’s puzzle',
        (id) => document.querySelector(`[data-testid=session-card][data-session-id="${id}"]`),
        made.json.id);
      await signIn(page, 'Alice');
      await waitFor(page, 'signed in', () => localStorage.getItem('puzzle.identity.v1')?.includes('"token"'));
      users.alice = await page.evaluate(() => JSON.parse(localStorage.getItem('puzzle.identity.v1')));

      await page.getByTestId('create-name').fill('Shared table');
      await page.locator('[data-testid=create-image-option][data-image-id="aurora-lake"]').click();
      await page.getByTestId('create-pieces').selectOption('12');
      await page.getByTestId('create-rotation').setChecked(false);
      await waitFor(page, 'thumbnails loaded', () => [...document.querySelectorAll('#lobby img')]
        .every((img) => img.complete && img.naturalWidth > 0));
      await screenshot(page, 'lobby', { fullPage: true });
      await page.getByTestId('create-submit').click();
      await page.waitForURL(/\?session=[0-9a-f-]{36}$/);
      const id = new URL(page.url()).searchParams.get('session');
      shared = { id, url: `/?session=${id}` };
      await waitForPuzzle(page, 'Alice in the shared session');
      const st = await state(page);
      assert.equal(st.name, 'Shared table');
      assert.equal(st.rows * st.cols, 12);
      assert.equal(await page.getByTestId('connection-status').getAttribute('data-state'), 'connected');
    });

    step('a shared link asks for a name, then joins; both see each other online', async () => {
      const page = await open('bob', DESKTOP);
      await page.goto(shared.url);
      await signIn(page, 'Bob');
      await waitForPuzzle(page, 'Bob in the shared session');
      users.bob = await page.evaluate(() => JSON.parse(localStorage.getItem('puzzle.identity.v1')));
      for (const [viewer, other] of [['alice', users.bob], ['bob', users.alice]]) {
        await waitFor(pages[viewer], `${viewer} sees ${other.displayName} online`,
          (uid) => document.querySelector(
            `[data-testid=participant][data-user-id="${uid}"][data-online="true"]`), other.userId);
      }
    });

    step('a drag in one page appears in the other', async () => {
      const A = pages.alice;
      const B = pages.bob;
      const before = await state(A);
      const id = await pickPiece(A);
      const spot = freeSpot(before, id);
      const from = await grabPoint(A, id);
      await mouseDrag(A, from, await dropPoint(A, id, from, spot));
      await waitFor(A, 'Alice’s drop applied', (v) => window.puzzleView.version() > v
        && window.puzzleView.settled(), before.version);
      const mine = (await state(A)).pieces[id];
      shared.moved = [id];
      const zoom = await A.evaluate(() => {
        const a = window.puzzleView.tableToClient(0, 0);
        const b = window.puzzleView.tableToClient(1000, 0);
        return (b.x - a.x) / 1000;
      });
      // The drop lands where the hand let go, give or take a screen pixel.
      assert.ok(Math.abs(mine.x - spot.x) <= 2 / zoom && Math.abs(mine.y - spot.y) <= 2 / zoom,
        `piece ${id} at ${mine.x},${mine.y}, aimed at ${spot.x},${spot.y}`);
      await waitFor(B, 'Bob sees Alice’s drop', ({ i, x, y }) => {
        const p = window.puzzleView.state().pieces[i];
        return p.x === x && p.y === y && window.puzzleView.settled();
      }, { i: id, x: mine.x, y: mine.y });
      // ... and draws it there.
      const drawn = await B.evaluate((i) => {
        const v = window.puzzleView;
        const st = v.state();
        const p = st.pieces[i];
        return { at: v.pieceClientCenter(i), want: v.tableToClient(p.x + st.pieceWidth / 2, p.y + st.pieceHeight / 2) };
      }, id);
      assert.ok(Math.abs(drawn.at.x - drawn.want.x) < 0.5 && Math.abs(drawn.at.y - drawn.want.y) < 0.5,
        `Bob draws piece ${id} at its state position: ${JSON.stringify(drawn)}`);
      await expectSameState(shared.id, A, B);
    });

    step('a piece held by one cannot be grabbed by the other, who sees the holder', async () => {
      const A = pages.alice;
      const B = pages.bob;
      const id = await pickPiece(A, shared.moved);
      const held = await grabPoint(A, id);
      await A.mouse.move(held.x, held.y);
      await A.mouse.down();
      await waitFor(B, 'Bob sees Alice’s hold',
        ({ i, uid }) => window.puzzleView.lockedBy(i) === uid, { i: id, uid: users.alice.userId });

      const before = (await state(B)).pieces[id];
      const from = await grabPoint(B, id);
      await mouseDrag(B, from, { x: from.x + 80, y: from.y + 60 });
      const toast = B.getByTestId('toast').filter({ hasText: 'Alice' });
      await toast.first().waitFor({ state: 'visible', timeout: 10_000 });
      assert.match(await toast.first().textContent(), /Alice is holding/);
      await waitFor(B, 'the piece stays put for Bob', ({ i, x, y }) => {
        const v = window.puzzleView;
        const p = v.state().pieces[i];
        return p.x === x && p.y === y && v.settled();
      }, { i: id, x: before.x, y: before.y });
      assert.equal(await B.evaluate((i) => window.puzzleView.lockedBy(i), id), users.alice.userId);

      await A.mouse.up(); // a click without a move: Alice lets go
      await waitFor(B, 'the hold ends', (i) => window.puzzleView.lockedBy(i) === null, id);
    });

    step('chat reaches both pages; the 500 code point limit is shown', async () => {
      const A = pages.alice;
      const B = pages.bob;
      // Non-ASCII both ways (RTL too); emoji are in the length check below.
      const text = 'Hello from Alice — שלום, ça va? Edges first?';
      await A.getByTestId('chat-input').fill(text);
      await A.getByTestId('chat-send').click();
      const reply = 'Bob here: I take the sky ☁️';
      await B.getByTestId('chat-input').fill(reply);
      await B.getByTestId('chat-send').click();
      for (const page of [A, B]) {
        for (const message of [text, reply]) {
          await page.getByTestId('chat-message').filter({ hasText: message })
            .waitFor({ state: 'visible', timeout: 10_000 });
        }
      }
      // 500 emoji are 500 code points (1000 UTF-16 units): still allowed.
      await A.getByTestId('chat-input').fill('🧩'.repeat(500));
      assert.equal(await A.getByTestId('chat-count').textContent(), '500/500');
      assert.equal(await A.getByTestId('chat-send').isEnabled(), true);
      await A.getByTestId('chat-input').fill('🧩'.repeat(501));
      assert.equal(await A.getByTestId('chat-count').textContent(), '501/500');
      assert.equal(await A.getByTestId('chat-send').isDisabled(), true);
      await A.getByTestId('chat-input').fill('');
    });

    step('a phone-sized page drags a piece by touch', async () => {
      const page = await open('carol-phone', PHONE);
      await page.goto(shared.url);
      await signIn(page, 'Carol');
      await waitForPuzzle(page, 'Carol on a phone');
      const before = await state(page);
      const id = await pickPiece(page, shared.moved);
      shared.moved.push(id);
      const spot = freeSpot(before, id);
      const from = await grabPoint(page, id);
      const to = await dropPoint(page, id, from, spot);
      const cdp = await page.context().newCDPSession(page);
      await touchDrag(page, cdp, from, to);
      await waitFor(page, 'Carol’s touch drop applied',
        (v) => window.puzzleView.version() > v && window.puzzleView.settled(), before.version);
      const moved = (await state(page)).pieces[id];
      assert.ok(Math.hypot(moved.x - before.pieces[id].x, moved.y - before.pieces[id].y) > 1,
        `piece ${id} moved by touch`);
      await expectSameState(shared.id, page, pages.alice);
      await screenshot(page, 'puzzle-phone');
      await page.context().close();
      delete pages['carol-phone'];
    });

    step('pieces placed by both show in both; a held piece shows its holder', async () => {
      const A = pages.alice;
      const B = pages.bob;
      for (const [page, who] of [[B, 'Bob'], [A, 'Alice']]) {
        const now = await state(page);
        const id = await pickPiece(page);
        const from = await grabPoint(page, id);
        await mouseDrag(page, from, await dropPoint(page, id, from, correctSpot(now, id)));
        for (const viewer of [A, B]) {
          await waitFor(viewer, `${who}’s piece ${id} placed`,
            (i) => window.puzzleView.state().pieces[i].isPlaced && window.puzzleView.settled(), id);
        }
      }
      for (const page of [A, B]) {
        await waitFor(page, 'progress 2 of 12', () => {
          const p = document.querySelector('[data-testid=progress]');
          return p.dataset.completed === '2' && p.dataset.total === '12';
        });
      }
      // Bob carries a piece: Alice sees it move, in Bob's hands.
      const id = await pickPiece(B);
      const start = await A.evaluate((i) => window.puzzleView.pieceClientCenter(i), id);
      const from = await grabPoint(B, id);
      // Towards the middle of the table, so the move is never eaten by the
      // clamp at a table edge.
      const mid = await B.evaluate(() => {
        const { table } = window.puzzleView.state();
        return window.puzzleView.tableToClient(table.width / 2, table.height / 2);
      });
      const dx = (Math.sign(mid.x - from.x) || 1) * 90;
      await B.mouse.move(from.x, from.y);
      await B.mouse.down();
      await B.mouse.move(from.x + dx, from.y + 40, { steps: 6 });
      await waitFor(A, 'Alice sees Bob carry the piece', ({ i, uid, x0, dx }) => {
        const v = window.puzzleView;
        return v.lockedBy(i) === uid && (v.pieceClientCenter(i).x - x0) * Math.sign(dx) > 60;
      }, { i: id, uid: users.bob.userId, x0: start.x, dx });
      await screenshot(A, 'puzzle-in-play');
      const version = await B.evaluate(() => window.puzzleView.version());
      await B.mouse.up();
      for (const page of [A, B]) {
        await waitFor(page, 'Bob’s drop applied', (v) => window.puzzleView.version() > v
          && window.puzzleView.settled(), version);
      }
      shared.moved.push(id);
      await expectSameState(shared.id, A, B);
    });

    step('after the node is killed and restarted, both pages reconnect to the same state', async () => {
      const A = pages.alice;
      const B = pages.bob;
      await node.kill(); // SIGKILL: no goodbye to the pages
      for (const page of [A, B]) {
        await waitFor(page, 'reconnecting shown', () => document.querySelector(
          '[data-testid=connection-status]').dataset.state === 'reconnecting');
      }
      await node.start(); // same port, same data folder
      for (const page of [A, B]) {
        await waitFor(page, 'connected again', () => document.querySelector(
          '[data-testid=connection-status]').dataset.state === 'connected'
          && window.puzzleView.ready(), undefined, RECONNECT_TIMEOUT_MS);
      }
      await expectSameState(shared.id, A, B);
      const versions = await Promise.all([A, B].map((p) => p.evaluate(() => window.puzzleView.version())));
      assert.equal(versions[0], versions[1]);

      // And play goes on: Bob moves, Alice sees it.
      const st = await state(B);
      const id = await pickPiece(B, shared.moved);
      const from = await grabPoint(B, id);
      await mouseDrag(B, from, await dropPoint(B, id, from, freeSpot(st, id)));
      await waitFor(A, 'Alice sees Bob’s move after the restart',
        (v) => window.puzzleView.version() > v && window.puzzleView.settled(), st.version);
      await expectSameState(shared.id, A, B);
    });

    step('a 2x2 puzzle solved with the mouse: both pages celebrate', async () => {
      const A = pages.alice;
      const B = pages.bob;
      // Back to the lobby inside the page (no reload): the view is taken
      // down, the connection stopped, and a new one made for the next view.
      await A.getByRole('button', { name: 'Back to the lobby' }).first().click();
      await A.waitForURL((url) => url.search === '');
      await A.getByTestId('create-name').fill('Four pieces');
      await A.locator('[data-testid=create-image-option][data-image-id="coral-reef"]').click();
      await A.getByTestId('create-pieces').selectOption('4');
      await A.getByTestId('create-submit').click();
      await A.waitForURL(/\?session=[0-9a-f-]{36}$/);
      const id = new URL(A.url()).searchParams.get('session');
      small = { id, url: `/?session=${id}` };
      await waitForPuzzle(A, 'Alice in the 2x2 puzzle');
      await B.goto(small.url);
      await waitForPuzzle(B, 'Bob in the 2x2 puzzle');
      const st = await state(A);
      assert.equal(st.rows, 2);
      assert.equal(st.cols, 2);

      // The start layout may stack pieces: always take one that is on top.
      for (let placed = 0; placed < 4; placed += 1) {
        const now = await state(A);
        if (now.isCompleted) break;
        const piece = await pickPiece(A);
        const from = await grabPoint(A, piece);
        await mouseDrag(A, from, await dropPoint(A, piece, from, correctSpot(now, piece)));
        await waitFor(A, `piece ${piece} placed`,
          (i) => window.puzzleView.state().pieces[i].isPlaced && window.puzzleView.settled(), piece);
      }
      for (const page of [A, B]) {
        await page.getByTestId('completion').waitFor({ state: 'visible', timeout: 15_000 });
        await waitFor(page, 'progress full', () => {
          const p = document.querySelector('[data-testid=progress]');
          return p.dataset.completed === '4' && p.dataset.total === '4';
        });
      }
      assert.match(await B.getByTestId('completion').textContent(), /Alice/);
      await screenshot(A, 'completion');
      await expectSameState(small.id, A, B);
    });

    step('opening a finished session shows the completion too', async () => {
      const page = await open('erin', DESKTOP);
      await page.goto(small.url);
      await signIn(page, 'Erin');
      await page.getByTestId('completion').waitFor({ state: 'visible', timeout: 20_000 });
      assert.match(await page.getByTestId('timer').textContent(), /^\d+:\d\d$/);
      await page.context().close();
      delete pages.erin;
    });

    step('uploads: PNG and JPEG accepted; too large, not an image, too many pixels refused', async () => {
      const A = pages.alice;
      await A.goto('/');
      const input = A.getByTestId('upload-file');
      const status = A.getByTestId('upload-status');
      const upload = async (file, expected) => {
        await input.setInputFiles(file);
        await waitFor(A, `upload status for ${file.name} matching ${expected}`,
          ({ name, source }) => {
            const text = document.querySelector('[data-testid=upload-status]').textContent;
            return text.includes(name) && new RegExp(source, 'i').test(text);
          }, { name: file.name, source: expected.source });
        return status.textContent();
      };

      // A valid PNG: accepted, listed and selected.
      await upload({ name: 'tiny.png', mimeType: 'image/png', buffer: encodePng(64, 48) }, /uploaded/);
      await waitFor(A, 'the upload is a selected picture option', () => [
        ...document.querySelectorAll('[data-testid=create-image-option]')]
        .some((b) => b.textContent.includes('tiny') && b.getAttribute('aria-checked') === 'true'));

      // A valid JPEG, made by the browser's own encoder.
      const jpeg = Buffer.from(await A.evaluate(async () => {
        const canvas = document.createElement('canvas');
        canvas.width = 120;
        canvas.height = 90;
        const g = canvas.getContext('2d');
        const grad = g.createLinearGradient(0, 0, 120, 90);
        grad.addColorStop(0, '#1d4f6e');
        grad.addColorStop(1, '#f0a04b');
        g.fillStyle = grad;
        g.fillRect(0, 0, 120, 90);
        const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', 0.9));
        const bytes = new Uint8Array(await blob.arrayBuffer());
        let text = '';
        for (const b of bytes) text += String.fromCharCode(b);
        return btoa(text);
      }), 'base64');
      assert.deepEqual([...jpeg.subarray(0, 3)], [0xff, 0xd8, 0xff], 'a JPEG');
      await upload({ name: 'sunset.jpg', mimeType: 'image/jpeg', buffer: jpeg }, /uploaded/);

      // Over images.max-bytes: noise does not compress.
      const noisy = encodePng(330, 320, () => crypto.randomBytes(330 * 3));
      assert.ok(noisy.length > MAX_UPLOAD_BYTES, `${noisy.length} bytes`);
      const big = await upload({ name: 'noise.png', mimeType: 'image/png', buffer: noisy },
        /not accepted/);
      assert.match(big, /too large|larger than/i, big);

      // Not an image: refused by the page at once ...
      const text = await upload({ name: 'notes.txt', mimeType: 'text/plain',
        buffer: Buffer.from('just some notes\n') }, /not a PNG or JPEG/);
      assert.match(text, /notes\.txt/);
      // ... and, dressed up as a PNG, by the node after looking at the bytes.
      const fake = await upload({ name: 'fake.png', mimeType: 'image/png',
        buffer: Buffer.from('this is not a picture at all\n'.repeat(20)) }, /not accepted/);
      assert.match(fake, /not a usable image|not a PNG or JPEG/i, fake);

      // Over images.max-pixels: 1200 x 1000 of one colour is a small file.
      const wide = encodePng(1200, 1000, () => Buffer.alloc(1200 * 3, 90));
      assert.ok(wide.length < MAX_UPLOAD_BYTES, `${wide.length} bytes`);
      const pixels = await upload({ name: 'wide.png', mimeType: 'image/png', buffer: wide },
        /not accepted/);
      assert.match(pixels, /too large/i, pixels);
      assert.match(pixels, /pixels/, pixels);
      await screenshot(A, 'lobby-uploads', { fullPage: true });
    });

    step('no page error and no Content-Security-Policy refusal', () => {
      assert.deepEqual(problems, []);
    });
  });
}

// ---------------------------------------------------------------------------

const { playwright, problem: playwrightProblem } = loadPlaywright();
const { bin, problem: binaryProblem } = findBinary();
const { root: webRoot, problem: webProblem } = findWebRoot();
const problems = [playwrightProblem, binaryProblem, webProblem].filter(Boolean);
if (problems.length > 0) {
  test('browser test prerequisites', () => {
    assert.fail(problems.join('\n'));
  });
} else if (!fs.existsSync(CHROMIUM)) {
  // Loud: CI installs chromium (deploy/debian-packages.txt), so there a
  // missing browser is a failure; elsewhere the test is skipped, visibly.
  const message = `${CHROMIUM} not found: install Debian's chromium (tools/setup.sh none ` +
    'installs deploy/debian-packages.txt) or set PUZZLE_CHROMIUM';
  console.error(`\n!!! SKIPPING THE BROWSER TESTS: ${message} !!!\n`);
  if (process.env.CI) {
    test('browser test prerequisites', () => assert.fail(message));
  } else {
    test('browser client in headless Chromium', { skip: message }, () => {});
  }
} else {
  defineSuite(playwright, bin, webRoot);
}
