// End-to-end test of the puzzle view's Devices panel (docs/web-client.md):
// a private mosquitto, the real puzzle-node as its client (--mqtt.uri), an
// environment sensor on the npm `mqtt` client bound to a session, and the
// session page in headless Chromium, which polls GET
// /api/sessions/{id}/devices every 2 s.
//
// Shown here: the panel stays hidden while no device is bound; a bound
// device that says it is online and sends a reading shows up online with its
// temperature; an explicit offline turns its dot offline.
//
// Run through CTest (tests/integration/CMakeLists.txt), which sets
// PUZZLE_NODE_BIN and PUZZLE_WEB_ROOT. Needs mosquitto and chromium
// (tools/setup.sh). No fixed sleeps: every wait is a condition, bounded.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

import {
  CHROMIUM, CHROMIUM_ARGS, artifactsDir, findWebRoot, loadPlaywright, waitFor, waitForPuzzle,
  watchPage,
} from './browser_support.mjs';
import { PuzzleNode, SETUP_HINT, findBinary, http } from './support/harness.mjs';
import { Broker, MqttClient, findMosquitto } from './support/mqtt_support.mjs';

const PRESENCE_GRACE_MS = 300; // --mqtt.presence-grace below
const DEVICE = 'env-test-1';
// Two polls of the page (2 s each) and then some.
const PANEL_TIMEOUT_MS = 15_000;

function loadMqtt() {
  try {
    return { mqtt: createRequire(import.meta.url)('mqtt') };
  } catch (err) {
    return { problem: `cannot load mqtt (${err.code ?? err.message}): ${SETUP_HINT}` };
  }
}

function defineSuite({ mqtt, playwright, bin, webRoot, mosquitto }) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'puzzle-devices-page-'));
  const broker = new Broker(mosquitto, path.join(tmp, 'broker'));
  const clientId = `puzzle-test-${crypto.randomBytes(4).toString('hex')}`;
  const node = new PuzzleNode(bin, {
    dataDir: path.join(tmp, 'data'),
    webRoot,
    env: { PUZZLE_JWT_SECRET: crypto.randomBytes(32).toString('hex') },
  });
  const problems = []; // page errors and CSP refusals
  const log = [];
  const closers = [];
  let browser;
  let page;
  let failed = false;
  let owner;
  let sessionId;
  let device;

  const step = (name, fn) => test(name, async () => {
    try {
      await fn();
    } catch (err) {
      failed = true;
      throw err;
    }
  });

  const deviceRow = (online) => (arg) => {
    const row = document.querySelector(
      `[data-testid=device][data-device-id="${arg.id}"][data-online="${arg.online}"]`);
    return Boolean(row) && !row.closest('[data-testid=devices]').hidden && row;
  };

  describe('the Devices panel of the puzzle view', () => {
    before(async () => {
      try {
        await broker.start();
        node.args = [
          `--mqtt.uri=tcp://127.0.0.1:${broker.port}`,
          `--mqtt.client-id=${clientId}`,
          `--mqtt.presence-grace=${PRESENCE_GRACE_MS}ms`,
        ];
        // The node announces itself after it subscribed: from then on a
        // device's live messages reach it.
        const observer = await MqttClient.connect(mqtt, broker.url, { clientId: 'observer' });
        closers.push(() => observer.destroy());
        await observer.subscribe([`puzzle/nodes/${clientId}/status`]);
        await node.start();
        await observer.next((m) => m.json?.status === 'online', 'the node online', 20_000);
        browser = await playwright.chromium.launch({
          executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, timeout: 60_000,
        });
      } catch (err) {
        failed = true;
        throw err;
      }
    });

    after(async () => {
      if (failed && page) {
        const dir = artifactsDir();
        fs.mkdirSync(dir, { recursive: true });
        await page.screenshot({ path: path.join(dir, 'failure-devices-page.png') }).catch(() => {});
        process.stderr.write(`page console:\n${log.join('\n')}\n`);
        process.stderr.write(`puzzle-node output:\n${node.tail(100)}\n`);
      }
      for (const close of closers) {
        try {
          await close();
        } catch {
          // best effort
        }
      }
      await browser?.close().catch(() => {});
      let status;
      try {
        status = await node.stop();
      } finally {
        await broker.stop();
      }
      assert.equal(status?.code, 0, 'puzzle-node exits 0 on SIGTERM');
      assert.deepEqual(problems, [], 'no page errors, no CSP refusals');
      fs.rmSync(tmp, { recursive: true, force: true });
    });

    step('without devices the panel stays hidden', async () => {
      const guest = await http('POST', `${node.base}/api/auth/guest`,
        { body: { displayName: 'Owner' } });
      assert.ok(guest.status === 200 || guest.status === 201, guest.text);
      owner = guest.json;
      const created = await http('POST', `${node.base}/api/sessions`, {
        token: owner.token,
        body: { name: 'devices page', imageId: 'aurora-lake', rows: 2, cols: 2 },
      });
      assert.equal(created.status, 201, created.text);
      sessionId = created.json.id;

      const context = await browser.newContext({
        viewport: { width: 1280, height: 800 }, baseURL: node.base,
      });
      page = await context.newPage();
      watchPage(page, 'viewer', problems, log);
      // Answered once the page asked for the devices: the empty list is shown.
      const firstPoll = page.waitForResponse(
        (res) => res.url().endsWith(`/api/sessions/${sessionId}/devices`), { timeout: 20_000 });
      await page.goto(`/?session=${sessionId}`);
      await page.getByTestId('display-name').fill('Viewer');
      await page.getByTestId('display-name-submit').click();
      await waitForPuzzle(page, 'the viewer in the session');
      const res = await firstPoll;
      assert.deepEqual(await res.json(), []);
      assert.equal(await page.getByTestId('devices').isHidden(), true);
    });

    step('a bound device online with a reading shows its temperature', async () => {
      const bound = await http('POST', `${node.base}/api/sessions/${sessionId}/devices`, {
        token: owner.token, body: { deviceId: DEVICE },
      });
      assert.ok(bound.status === 201 || bound.status === 200, bound.text);
      device = await MqttClient.connect(mqtt, broker.url, {
        clientId: DEVICE,
        will: { topic: `iot/${DEVICE}/status`, payload: 'offline', qos: 1, retain: true },
      });
      closers.push(() => device.destroy());
      await device.publish(`iot/${DEVICE}/status`, 'online', { retain: true });
      await device.publish(`iot/${DEVICE}/sensor/environment`, {
        temperature: 21.5, humidity: 48, lightLevel: 320, soundLevel: 41,
      });
      await waitFor(page, 'the device row online with 21.5 °C', (arg) => {
        const row = document.querySelector(
          `[data-testid=device][data-device-id="${arg.id}"][data-online="true"]`);
        if (!row || row.closest('[data-testid=devices]').hidden) return false;
        return [...row.querySelectorAll('[data-testid=device-reading]')]
          .some((r) => r.textContent.includes('21.5 °C'));
      }, { id: DEVICE }, PANEL_TIMEOUT_MS);
      const readings = await page.locator(
        `[data-testid=device][data-device-id="${DEVICE}"] [data-testid=device-reading]`)
        .allTextContents();
      const dir = artifactsDir();
      fs.mkdirSync(dir, { recursive: true });
      await page.screenshot({ path: path.join(dir, 'devices-panel.png') });
      assert.ok(readings.some((t) => /48 %/.test(t) && /light 320/.test(t) && /sound 41/.test(t)),
        `readings shown: ${JSON.stringify(readings)}`);
    });

    step('an explicit offline turns the dot offline', async () => {
      await device.publish(`iot/${DEVICE}/status`, 'offline', { retain: true });
      await waitFor(page, 'the device row offline', deviceRow(false),
        { id: DEVICE, online: false }, PANEL_TIMEOUT_MS);
      const dot = page.locator(`[data-testid=device][data-device-id="${DEVICE}"] .dot`);
      assert.equal(await dot.getAttribute('aria-label'), 'offline');
      // The panel still lists it: it is bound, only not online.
      assert.equal(await page.getByTestId('devices').isVisible(), true);
    });
  });
}

// ---------------------------------------------------------------------------

const { mqtt, problem: mqttProblem } = loadMqtt();
const { playwright, problem: playwrightProblem } = loadPlaywright();
const { bin, problem: binaryProblem } = findBinary();
const { root: webRoot, problem: webProblem } = findWebRoot();
const { mosquitto, problem: mosquittoProblem } = findMosquitto();
const problems = [mqttProblem, playwrightProblem, binaryProblem, webProblem, mosquittoProblem]
  .filter(Boolean);
if (problems.length > 0) {
  test('devices page test prerequisites', () => {
    assert.fail(problems.join('\n'));
  });
} else if (!fs.existsSync(CHROMIUM)) {
  const message = `${CHROMIUM} not found: install Debian's chromium (tools/setup.sh none ` +
    'installs deploy/debian-packages.txt) or set PUZZLE_CHROMIUM';
  console.error(`\n!!! SKIPPING THE DEVICES PAGE TEST: ${message} !!!\n`);
  if (process.env.CI) {
    test('devices page test prerequisites', () => assert.fail(message));
  } else {
    test('the Devices panel of the puzzle view', { skip: message }, () => {});
  }
} else {
  defineSuite({ mqtt, playwright, bin, webRoot, mosquitto });
}
