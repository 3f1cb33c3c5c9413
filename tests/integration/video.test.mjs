// End-to-end test of the call panel ("Voice & video", web/src/call.js and
// mesh.js): two players of one session in headless Chromium join the call
// through the node's /webrtchub and connect browser to browser over loopback.
//
// Run through CTest (tests/integration/CMakeLists.txt): PUZZLE_NODE_BIN is
// the built puzzle-node; the page is the built bundle (<build>/web/public,
// found next to the binary unless PUZZLE_WEB_ROOT names a built one);
// screenshots go to <build>/test-artifacts. PUZZLE_CHROMIUM overrides
// /usr/bin/chromium; PUZZLE_TEST_VERBOSE=1 shows the pages' consoles.
//
// Two browsers:
//
// - No camera or microphone (Chromium without fake devices: getUserMedia
//   fails with NotFoundError): the call works receive-only with the data
//   channel. Both see each other `connected`, a text crosses the data
//   channel each way; the node is killed and restarted on the same port and
//   both rejoin under new connection ids and connect again; one leaves and
//   the other's tile goes.
// - Chromium's fake camera and microphone (--use-fake-device-for-media-
//   stream), permission granted per context: Ann sends at once; Ben, on a
//   phone-sized page, has no permission at first (declined), receives Ann's
//   picture and sound, is then granted and turns camera and microphone on,
//   which renegotiates; mute and camera off show on Ann's side; Ben leaves
//   with the button, Ann by going back to the lobby, and each time the
//   other's tile goes.
//
// Host candidates must be plain addresses on loopback, hence
// --disable-features=WebRtcHideLocalIpsWithMdns. Waits are conditions with
// bounded timeouts (page.waitForFunction), never sleeps.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import {
  CHROMIUM, CHROMIUM_ARGS, artifactsDir, findWebRoot, loadPlaywright, waitFor,
  waitForPuzzle, watchPage,
} from './browser_support.mjs';
import { PuzzleNode, findBinary, http } from './support/harness.mjs';

const ARTIFACTS = artifactsDir();
const WEBRTC_ARGS = ['--disable-features=WebRtcHideLocalIpsWithMdns'];
const FAKE_MEDIA_ARGS = ['--use-fake-device-for-media-stream'];
const CONNECT_TIMEOUT_MS = 30_000;
const RECONNECT_TIMEOUT_MS = 45_000;

const DESKTOP = { viewport: { width: 1280, height: 800 } };
const PHONE = {
  viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
};

// ---------------------------------------------------------------------------
// In-page conditions (each runs in the page; `arg` is one plain value).

/** The tile of connection `id` shows state `connected` and its channel is open. */
function connectedTo(id) {
  const tile = document.querySelector(`[data-testid=call-participant][data-connection-id="${id}"]`);
  const member = window.puzzleCall?.members().find((m) => m.connectionId === id);
  return tile?.dataset.state === 'connected' && member?.channel === 'open';
}

function noTileOf(id) {
  return !document.querySelector(`[data-testid=call-participant][data-connection-id="${id}"]`);
}

/** Connection `id`'s picture is on: the tile shows video, frames are playing. */
function seesVideoOf(id) {
  const tile = document.querySelector(`[data-testid=call-participant][data-connection-id="${id}"]`);
  const video = tile?.querySelector('video');
  return Boolean(tile?.classList.contains('has-video') && video?.videoWidth > 0
    && !video.paused && video.getVideoPlaybackQuality().totalVideoFrames > 5);
}

/** Connection `id` says its microphone is on, and their audio packets arrive. */
function hearsAudioOf(id) {
  const member = window.puzzleCall.members().find((m) => m.connectionId === id);
  return Boolean(member?.audio && member.receiving.audio);
}

function defineSuite(playwright, bin, webRoot) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'puzzle-video-'));
  const node = new PuzzleNode(bin, {
    keepPort: true,
    dataDir: path.join(tmp, 'data'),
    webRoot,
    // A fixed secret keeps the pages' tokens valid across the restart.
    env: { PUZZLE_JWT_SECRET: crypto.randomBytes(32).toString('hex') },
  });
  const problems = []; // page errors, CSP refusals, failed negotiations
  const pages = {};
  const logs = {};
  const browsers = [];
  let failed = false;
  let session; // {id, url}

  /** What each open page shows, its console and the node's log: at the failure. */
  const report = async () => {
    for (const [label, page] of Object.entries(pages)) {
      fs.mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: path.join(ARTIFACTS, `failure-video-${label}.png`) })
        .catch(() => {});
      const seen = await page.evaluate(() => ({
        call: window.puzzleCall && {
          joined: window.puzzleCall.joined(),
          id: window.puzzleCall.connectionId(),
          members: window.puzzleCall.members(),
          media: window.puzzleCall.localMedia(),
        },
        status: document.querySelector('[data-role=call-status]')?.textContent,
        hint: document.querySelector('[data-role=call-hint]')?.textContent,
      })).catch((err) => err.message);
      console.error(`--- page ${label}: ${JSON.stringify(seen)}\n${logs[label].join('\n')}`);
    }
    console.error(`--- puzzle-node output (tail) ---\n${node.tail()}`);
    if (problems.length) console.error(`--- page problems ---\n${problems.join('\n')}`);
    console.error(`screenshots of the pages: ${ARTIFACTS}`);
  };

  const step = (name, fn) => test(name, async () => {
    try {
      await fn();
    } catch (err) {
      failed = true;
      await report();
      throw err;
    }
  });

  const launch = async (extraArgs) => {
    const browser = await playwright.chromium.launch({
      executablePath: CHROMIUM,
      args: [...CHROMIUM_ARGS, ...WEBRTC_ARGS, ...extraArgs],
      headless: true,
      timeout: 60_000,
    });
    browsers.push(browser);
    return browser;
  };

  /** A signed-in player on the session's page, its puzzle ready. */
  const player = async (browser, label, name, options, { grant = false } = {}) => {
    const context = await browser.newContext({ ...options, baseURL: node.base });
    if (grant) await context.grantPermissions(['camera', 'microphone'], { origin: node.base });
    const page = await context.newPage();
    logs[label] = [];
    watchPage(page, label, problems, logs[label]);
    // A negotiation step that fails is a bug even when the call recovers.
    page.on('console', (msg) => {
      if (msg.type() === 'warning' && msg.text().startsWith('call:')) {
        problems.push(`${label}: ${msg.text()}`);
      }
    });
    pages[label] = page;
    await page.goto(session.url);
    await page.getByTestId('display-name').fill(name);
    await page.getByTestId('display-name-submit').click();
    await waitForPuzzle(page, `${name} in the session`);
    return page;
  };

  const joinCall = async (page, who) => {
    await page.getByTestId('call-join').click();
    await waitFor(page, `${who} in the call`, () => window.puzzleCall?.joined());
    return page.evaluate(() => window.puzzleCall.connectionId());
  };

  const expectConnected = async ([a, aId], [b, bId], what, timeout = CONNECT_TIMEOUT_MS) => {
    await waitFor(a, `${what}: the first sees the second connected`, connectedTo, bId, timeout);
    await waitFor(b, `${what}: the second sees the first connected`, connectedTo, aId, timeout);
  };

  /** A text sent over the data channel by `from` arrives at `to`. */
  const expectChannelText = async ([from, fromId], to, text) => {
    assert.equal(await from.evaluate((t) => window.puzzleCall.sendOnChannel(t), text), 1,
      'the text went out on one open data channel');
    await waitFor(to, `"${text}" over the data channel`,
      ({ f, t }) => window.puzzleCall.channelMessages().some((m) => m.from === f && m.text === t),
      { f: fromId, t: text });
  };

  const screenshot = async (page, name) => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
  };

  const closeContexts = async (...labels) => {
    for (const label of labels) {
      await pages[label]?.context().close().catch(() => {});
      delete pages[label];
    }
  };

  describe('the call panel in headless Chromium (playwright-core)', () => {
    before(async () => {
      try {
        await node.start();
        const dora = (await http('POST', `${node.base}/api/auth/guest`,
          { body: { displayName: 'Dora' } })).json;
        const made = await http('POST', `${node.base}/api/sessions`, {
          token: dora.token,
          body: { name: 'Call table', imageId: 'coral-reef', rows: 2, cols: 3, public: true },
        });
        assert.equal(made.status, 201, made.text);
        session = { id: made.json.id, url: `/?session=${made.json.id}` };
      } catch (err) {
        failed = true;
        throw err;
      }
    });

    after(async () => {
      for (const browser of browsers) await browser.close().catch(() => {});
      await node.stop('SIGTERM').catch(() => node.kill());
      if (!failed) fs.rmSync(tmp, { recursive: true, force: true });
    });

    describe('without camera or microphone', () => {
      let ann;
      let ben;

      step('both join receive-only, connect and talk over the data channel', async () => {
        const browser = await launch([]);
        const A = await player(browser, 'ann', 'Ann', DESKTOP);
        const B = await player(browser, 'ben', 'Ben', DESKTOP);
        ann = [A, await joinCall(A, 'Ann')];
        ben = [B, await joinCall(B, 'Ben')];
        await expectConnected(ann, ben, 'receive-only');
        for (const page of [A, B]) {
          await waitFor(page, 'told there is no camera or microphone', () =>
            /No camera or microphone found: you can still see and hear the others/
              .test(document.querySelector('[data-role=call-hint]').textContent));
          assert.deepEqual(await page.evaluate(() => window.puzzleCall.localMedia()),
            { audio: false, video: false, micOn: true });
        }
        const [annSeen] = await B.evaluate(() => window.puzzleCall.members());
        assert.equal(annSeen.name, 'Ann');
        assert.deepEqual(annSeen.receiving, { audio: false, video: false });
        await screenshot(A, 'call-receive-only');
        await expectChannelText(ann, B, 'hello from Ann ✓');
        await expectChannelText(ben, A, 'Ben here, über die Leitung');
      });

      step('after the node is killed and restarted, both rejoin and connect again', async () => {
        const [A, oldAnn] = ann;
        const [B, oldBen] = ben;
        await node.kill(); // SIGKILL: no goodbye to the pages
        await waitFor(A, 'Ann notices the loss',
          () => window.puzzleView.connection() !== 'connected');
        await node.start(); // same port, same data folder
        const rejoined = async (page, old) => {
          await waitFor(page, 'back in the call under a new connection id',
            (id) => window.puzzleCall.joined() && window.puzzleCall.connectionId() !== id,
            old, RECONNECT_TIMEOUT_MS);
          return page.evaluate(() => window.puzzleCall.connectionId());
        };
        ann = [A, await rejoined(A, oldAnn)];
        ben = [B, await rejoined(B, oldBen)];
        await expectConnected(ann, ben, 'after the restart', RECONNECT_TIMEOUT_MS);
        // Only the new peers: the old ids are gone.
        for (const page of [A, B]) {
          assert.equal((await page.evaluate(() => window.puzzleCall.members())).length, 1);
        }
        await expectChannelText(ann, B, 'still here after the restart');
      });

      step('one leaves; the other\'s tile of them goes', async () => {
        const [A, annId] = ann;
        const [B] = ben;
        await A.getByTestId('call-leave').click();
        await waitFor(B, 'Ann\'s tile removed at Ben', noTileOf, annId);
        assert.deepEqual(await B.evaluate(() => window.puzzleCall.members()), []);
        assert.equal(await A.getByTestId('call-join').isVisible(), true);
        assert.equal(await A.locator('[data-testid=call-participant]').count(), 0);
        assert.equal(await A.evaluate(() => window.puzzleCall.joined()), false);
        await closeContexts('ann', 'ben');
      });
    });

    describe('with Chromium\'s fake camera and microphone', () => {
      let ann;
      let ben;

      step('Ann sends; Ben (phone, camera declined) sees and hears her', async () => {
        const browser = await launch(FAKE_MEDIA_ARGS);
        const A = await player(browser, 'ann-media', 'Ann', DESKTOP, { grant: true });
        const B = await player(browser, 'ben-phone', 'Ben', PHONE);
        ann = [A, await joinCall(A, 'Ann')];
        await waitFor(A, 'Ann\'s camera and microphone on', () => {
          const m = window.puzzleCall.localMedia();
          return m.audio && m.video;
        });
        // On a phone the panel is in the sheet behind the bar's toggle.
        await B.locator('[data-role=side-toggle]').click();
        ben = [B, await joinCall(B, 'Ben')];
        await waitFor(B, 'Ben told the camera is blocked', () => /blocked/.test(
          document.querySelector('[data-role=call-hint]').textContent));
        await expectConnected(ann, ben, 'Ann with media, Ben receive-only');
        await waitFor(B, 'Ben sees Ann\'s picture', seesVideoOf, ann[1], CONNECT_TIMEOUT_MS);
        await waitFor(B, 'Ben hears Ann', hearsAudioOf, ann[1], CONNECT_TIMEOUT_MS);
        await expectChannelText(ben, A, 'Ben on the phone');
      });

      step('Ben is granted the camera and microphone later: Ann sees and hears him', async () => {
        const [A, annId] = ann;
        const [B, benId] = ben;
        await B.context().grantPermissions(['camera', 'microphone'], { origin: node.base });
        await B.locator('[data-role=call-camera]').click();
        await waitFor(B, 'Ben\'s camera on', () => window.puzzleCall.localMedia().video);
        await waitFor(A, 'Ann sees Ben\'s picture (renegotiated)', seesVideoOf, benId,
          CONNECT_TIMEOUT_MS);
        await B.locator('[data-role=call-mic]').click();
        await waitFor(A, 'Ann hears Ben', hearsAudioOf, benId, CONNECT_TIMEOUT_MS);
        // Still the same peers, connected: a renegotiation, not a new call.
        await expectConnected(ann, ben, 'after the renegotiation');
        await waitFor(B, 'Ben sees Ann\'s picture still', seesVideoOf, annId);
        await screenshot(A, 'call-desktop');
        await screenshot(B, 'call-phone');
      });

      step('mute and camera off show on the other side; back on', async () => {
        const [A, annId] = ann;
        const [B] = ben;
        const tile = `[data-testid=call-participant][data-connection-id="${annId}"]`;
        await A.locator('[data-role=call-mic]').click();
        await waitFor(B, 'Ann shown muted', (sel) =>
          document.querySelector(sel)?.classList.contains('mic-off'), tile);
        await A.locator('[data-role=call-camera]').click();
        await waitFor(B, 'Ann\'s picture gone', (sel) =>
          !document.querySelector(sel)?.classList.contains('has-video'), tile);
        assert.equal(await A.evaluate(() => window.puzzleCall.localMedia().video), false);
        await A.locator('[data-role=call-camera]').click();
        await A.locator('[data-role=call-mic]').click();
        await waitFor(B, 'Ann\'s picture back', seesVideoOf, annId, CONNECT_TIMEOUT_MS);
        await waitFor(B, 'Ann unmuted', (sel) =>
          !document.querySelector(sel)?.classList.contains('mic-off'), tile);
      });

      step('Ben leaves with the button, Ann by going to the lobby: tiles go', async () => {
        const [A, annId] = ann;
        const [B, benId] = ben;
        await B.getByTestId('call-leave').click();
        await waitFor(A, 'Ben\'s tile removed at Ann', noTileOf, benId);
        assert.equal(await B.evaluate(() => window.puzzleCall.localMedia().video), false,
          'leaving stops the camera');
        const back = await joinCall(B, 'Ben again');
        ben = [B, back];
        await expectConnected(ann, ben, 'Ben back');
        // Leaving the puzzle view (the bar's back button) leaves the call.
        await A.locator('.play-bar [data-role=lobby]').click();
        await waitFor(B, 'Ann\'s tile removed at Ben', noTileOf, annId);
        assert.equal(await A.evaluate(() => window.puzzleCall), undefined);
        await closeContexts('ann-media', 'ben-phone');
      });
    });

    step('no page error, CSP refusal or failed negotiation', () => {
      assert.deepEqual(problems, []);
    });
  });
}

// ---------------------------------------------------------------------------

const { playwright, problem: playwrightProblem } = loadPlaywright();
const { bin, problem: binaryProblem } = findBinary();
const { root: webRoot, problem: webProblem } = findWebRoot();
const prerequisites = [playwrightProblem, binaryProblem, webProblem].filter(Boolean);
if (prerequisites.length > 0) {
  test('video test prerequisites', () => {
    assert.fail(prerequisites.join('\n'));
  });
} else if (!fs.existsSync(CHROMIUM)) {
  // As in browser.test.mjs: loud, and a failure under CI.
  const message = `${CHROMIUM} not found: install Debian's chromium (tools/setup.sh none ` +
    'installs deploy/debian-packages.txt) or set PUZZLE_CHROMIUM';
  console.error(`\n!!! SKIPPING THE CALL TESTS: ${message} !!!\n`);
  if (process.env.CI) {
    test('video test prerequisites', () => assert.fail(message));
  } else {
    test('the call panel in headless Chromium', { skip: message }, () => {});
  }
} else {
  defineSuite(playwright, bin, webRoot);
}
