// End-to-end test of the SignalR hub: the real puzzle-node binary, driven over
// loopback by the real @microsoft/signalr client (contract.md sections 1-3, 9).
//
// Run through CTest (tests/integration/CMakeLists.txt), which passes
//   PUZZLE_NODE_BIN  path of the built puzzle-node
//   PUZZLE_WEB_ROOT  the built browser client (<build>/web/public)
// or by hand: PUZZLE_NODE_BIN=build/ci/cluster/puzzle-node node --test
//   tests/integration/signalr.test.mjs
// PUZZLE_TEST_VERBOSE=1 prints the node's and the clients' logs as they come.
//
// No fixed sleeps: every wait is for an event (a hub message, the process'
// exit, a log line) with a bounded timeout (see support/harness.mjs).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import {
  EVENT_TIMEOUT_MS, PuzzleNode, SETUP_HINT, UUID_RE, asList, brief, codePoints, correctSpot, describeExit, findBinary, http, safeSpot, withTimeout,
} from './support/harness.mjs';
import { HubClient } from './support/hub_client.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');

// What a clear refusal of an oversized message looks like: the error code,
// the message-size limit named, or the WebSocket close code for "message too
// big" (RFC 6455). A close for another reason (say a slow reader) is no pass.
const CLEAR_LIMIT_RE =
  /LIMIT_EXCEEDED|max-message-bytes|message[^.]*(too (big|large)|exceed)|status code: 1009/i;


// ---------------------------------------------------------------------------
// Prerequisites: fail loudly, never skip.

function loadSignalR() {
  try {
    return { signalR: createRequire(import.meta.url)('@microsoft/signalr') };
  } catch (err) {
    return {
      problem: `cannot load @microsoft/signalr from ${HERE}/node_modules ` +
        `(${err.code ?? err.message}): ${SETUP_HINT}`,
    };
  }
}


function assertNear(actual, expected, what) {
  assert.ok(Number.isFinite(actual), `${what}: ${actual} is not a finite number`);
  assert.ok(Math.abs(actual - expected) < 1e-6,
    `${what}: expected ${expected}, got ${actual}`);
}

function assertSessionState(state, { sessionId, rows, cols, imageId }) {
  assert.equal(state.sessionId, sessionId);
  assert.equal(state.rows, rows);
  assert.equal(state.cols, cols);
  assert.equal(state.pieceCount, rows * cols);
  assert.ok(Array.isArray(state.pieces), 'pieces is an array');
  assert.equal(state.pieces.length, rows * cols);
  state.pieces.forEach((p, i) => {
    assert.equal(p.id, i, `pieces[${i}].id`);
    assert.ok(Number.isFinite(p.x) && Number.isFinite(p.y), `pieces[${i}] x, y`);
    assert.ok([0, 90, 180, 270].includes(p.rotation), `pieces[${i}].rotation`);
    assert.equal(typeof p.isPlaced, 'boolean', `pieces[${i}].isPlaced`);
  });
  assert.equal(state.image?.id, imageId);
  assert.ok(state.image.width > 0 && state.image.height > 0, 'image size');
  assert.ok(Number.isFinite(state.board?.x) && Number.isFinite(state.board?.y),
    'board.x, board.y');
  assert.ok(state.pieceWidth > 0 && state.pieceHeight > 0, 'piece size');
  assert.ok(state.table?.width >= cols * state.pieceWidth, 'table width');
  assert.ok(state.table?.height >= rows * state.pieceHeight, 'table height');
  assert.ok(Number.isInteger(state.version), 'version is an integer');
  assert.ok(Array.isArray(state.participants), 'participants is an array');
  assert.ok(Array.isArray(state.chat), 'chat is an array');
  assert.equal(typeof state.isCompleted, 'boolean');
}

const pieceView = (p) => ({
  id: p.id, x: p.x, y: p.y, rotation: p.rotation, isPlaced: p.isPlaced,
  groupId: p.groupId,
});
const chatView = (m) => ({
  id: m.id, userId: m.userId, username: m.username, message: m.message,
  timestamp: Date.parse(m.timestamp),
});

// ---------------------------------------------------------------------------
// The suite.

function defineSuite(signalR, bin) {
  const webRoot = process.env.PUZZLE_WEB_ROOT ?? path.join(REPO, 'web', 'public');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'puzzle-it-'));
  const node = new PuzzleNode(bin, {
    dataDir: path.join(tmp, 'data'),
    webRoot,
    // A fixed secret for this run keeps tokens valid across the restart.
    env: { PUZZLE_JWT_SECRET: crypto.randomBytes(32).toString('hex') },
  });
  const clientLog = [];
  const clients = [];
  const users = {};
  const s1 = { rows: 3, cols: 4 };  // the shared play session
  const s2 = { rows: 2, cols: 2 };  // the one that gets solved
  let lastDropVersion = 0;
  let failed = false;

  // Every test body goes through here so that `after` knows to keep the logs.
  const step = (name, fn) => test(name, async (t) => {
    try {
      await fn(t);
    } catch (err) {
      failed = true;
      throw err;
    }
  });

  const newClient = async (label, user) => {
    const client = new HubClient(signalR, label, user, clientLog);
    clients.push(client);
    await client.connect(node.base);
    return client;
  };

  const guest = async (displayName) => {
    const res = await http('POST', `${node.base}/api/auth/guest`,
      { body: { displayName } });
    assert.ok(res.status === 200 || res.status === 201,
      `POST /api/auth/guest: HTTP ${res.status} ${res.text}`);
    const { token, userId, expiresAt } = res.json ?? {};
    assert.equal(typeof token, 'string');
    assert.ok(token.length > 0, 'token is not empty');
    assert.match(userId, UUID_RE);
    assert.equal(res.json.displayName, displayName);
    assert.ok(!Number.isNaN(Date.parse(expiresAt)), `expiresAt ${expiresAt}`);
    return { token, userId, displayName };
  };

  const createSession = async (user, name, { rows, cols }) => {
    const res = await http('POST', `${node.base}/api/sessions`, {
      token: user.token,
      body: { name, imageId: 'aurora-lake', rows, cols, public: true },
    });
    assert.equal(res.status, 201, `POST /api/sessions: ${res.text}`);
    const id = res.json?.sessionId ?? res.json?.id;
    assert.match(String(id), UUID_RE, `session id in ${res.text}`);
    const location = res.headers.get('location');
    assert.ok(location?.includes(id), `Location header ${location}`);
    return id;
  };

  // Locks a piece for `client`, then drops it at (x, y).
  const lockAndMove = async (client, sessionId, pieceId, x, y, rotation = 0) => {
    const lock = await client.invoke('LockPiece', sessionId, pieceId);
    assert.equal(lock?.granted, true,
      `${client.label} LockPiece(${pieceId}): ${brief(lock)}`);
    const result = await client.invoke('MovePiece', sessionId, pieceId, x, y,
      rotation);
    assert.equal(result?.success, true,
      `${client.label} MovePiece(${pieceId}): ${brief(result)}`);
    assert.ok(Number.isInteger(result.version), 'MovePiece returns a version');
    lastDropVersion = Math.max(lastDropVersion, result.version);
    return result;
  };

  // A round trip on each connection: events sent before it have arrived.
  const barrier = async (sessionId, ...cs) => {
    for (const c of cs) await c.invoke('GetSessionState', sessionId);
  };

  describe('puzzle-node over SignalR (real @microsoft/signalr client)', () => {
    let A;  // Alice: creates and plays
    let B;  // Bob: plays along
    let S1;
    let S2;

    before(async () => {
      try {
        await node.start();
      } catch (err) {
        failed = true;
        throw err;
      }
    });

    after(async () => {
      for (const c of clients) {
        try {
          await c.stop();
        } catch {
          // Already closed or the node is gone: nothing to clean up.
        }
      }
      await node.kill();
      if (failed) {
        process.stderr.write(`\n=== puzzle-node output (last lines; data dir ` +
          `kept in ${tmp}) ===\n${node.tail(150)}\n` +
          `=== SignalR client log (last lines) ===\n` +
          `${clientLog.slice(-60).join('\n')}\n`);
      } else {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    });

    step('is ready, logs its URL and answers the health checks', async () => {
      await node.waitForOutput(new RegExp(`https?://[^\\s"']*:${node.port}\\b`));
      for (const p of ['/health', '/health/live', '/health/ready']) {
        const res = await http('GET', `${node.base}${p}`);
        assert.equal(res.status, 200, `GET ${p}: ${res.text}`);
      }
    });

    step('serves the placeholder page from the web root', async () => {
      const res = await http('GET', `${node.base}/`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /text\/html/);
      assert.match(res.text, /Collaborative Puzzle Platform/);
    });

    step('lists the three built-in images', async () => {
      const res = await http('GET', `${node.base}/api/images`);
      assert.equal(res.status, 200, res.text);
      const images = asList(res.json, 'images', 'items');
      assert.ok(images, `GET /api/images: a list, got ${brief(res.json)}`);
      for (const id of ['aurora-lake', 'autumn-mosaic', 'coral-reef']) {
        const image = images.find((i) => (i.id ?? i.imageId) === id);
        assert.ok(image, `built-in image ${id} in ${brief(images)}`);
        if (image.url) {
          const pic = await http('GET', new URL(image.url, node.base).href);
          assert.equal(pic.status, 200, `GET ${image.url}`);
        }
      }
    });

    step('hands out guest tokens', async () => {
      users.alice = await guest('Alice');
      users.bob = await guest('Bob');
      users.mallory = await guest('Mallory');
      users.carol = await guest('Carol');
      assert.notEqual(users.alice.userId, users.bob.userId);
    });

    step('creates a public session and lists it', async () => {
      S1 = await createSession(users.alice, 'Integration: shared table', s1);
      const res = await http('GET', `${node.base}/api/sessions`);
      assert.equal(res.status, 200, res.text);
      const sessions = asList(res.json, 'sessions', 'items');
      assert.ok(sessions, `GET /api/sessions: a list, got ${brief(res.json)}`);
      assert.ok(sessions.some((s) => (s.sessionId ?? s.id) === S1),
        `session ${S1} listed in ${brief(sessions)}`);
    });

    step('two clients join one session', async () => {
      A = await newClient('alice', users.alice);
      B = await newClient('bob', users.bob);

      const stateA = await A.invoke('JoinPuzzleSession', S1, users.alice.userId);
      assertSessionState(stateA, { sessionId: S1, ...s1, imageId: 'aurora-lake' });
      assert.equal(stateA.isCompleted, false);
      assert.equal(stateA.completedPieces, 0);
      assert.equal(stateA.completionPercentage, 0);
      assert.ok(stateA.participants.some((p) => p.userId === users.alice.userId),
        'Alice is a participant');
      await A.waitFor('SessionStateUpdate', (s) => s.sessionId === S1);

      const markA = A.mark();
      const stateB = await B.invoke('JoinPuzzleSession', S1, users.bob.userId);
      assertSessionState(stateB, { sessionId: S1, ...s1, imageId: 'aurora-lake' });
      await B.waitFor('SessionStateUpdate', (s) => s.sessionId === S1);
      const joined = await A.waitFor('UserJoined',
        (u) => u.userId === users.bob.userId, { from: markA });
      assert.equal(joined.username, 'Bob');
      assert.ok(!Number.isNaN(Date.parse(joined.joinedAt)), 'joinedAt');
    });

    step('a held piece is refused to the other client', async () => {
      const markB = B.mark();
      const lock = await A.invoke('LockPiece', S1, 5);
      assert.equal(lock.granted, true, brief(lock));
      if (lock.lockedBy != null) assert.equal(lock.lockedBy, users.alice.userId);
      const locked = await B.waitFor('PieceLocked', (e) => e.pieceId === 5,
        { from: markB });
      assert.equal(locked.userId, users.alice.userId);

      const refused = await B.invoke('LockPiece', S1, 5);
      assert.equal(refused.granted, false, brief(refused));
      assert.equal(refused.lockedBy, users.alice.userId);

      const state = await B.invoke('GetSessionState', S1);
      const spot = safeSpot(state, 5);
      await assert.rejects(B.invoke('MovePiece', S1, 5, spot.x, spot.y, 0),
        /PIECE_LOCKED/);

      const markB2 = B.mark();
      await A.invoke('UnlockPiece', S1, 5);
      await B.waitFor('PieceUnlocked', (e) => e.pieceId === 5, { from: markB2 });
    });

    step('drops reach the other client as PieceMoved with increasing versions',
      async () => {
        const state = await A.invoke('GetSessionState', S1);
        const markA = A.mark();
        const markB = B.mark();
        let previous = -Infinity;
        for (const id of [0, 5, 11, 3]) {
          const spot = safeSpot(state, id);
          const result = await lockAndMove(A, S1, id, spot.x, spot.y);
          assert.equal(result.isCorrectlyPlaced, false);
          assert.ok(result.version > previous,
            `version ${result.version} after ${previous}`);
          previous = result.version;
          state.pieces[id].x = spot.x;
          state.pieces[id].y = spot.y;

          const moved = await B.waitFor('PieceMoved',
            (e) => e.pieceId === id && e.version === result.version, { from: markB });
          assertNear(moved.x, spot.x, 'PieceMoved.x');
          assertNear(moved.y, spot.y, 'PieceMoved.y');
          assert.equal(moved.rotation, 0);
          assert.equal(moved.movedBy, users.alice.userId);
          assert.equal(moved.isCorrectlyPlaced, false);
          await A.waitFor('PieceMoved',
            (e) => e.pieceId === id && e.version === result.version, { from: markA });
        }
        const versions = B.found('PieceMoved', () => true, markB)
          .map((e) => e.data.version);
        assert.equal(versions.length, 4, `PieceMoved events: ${B.summary(markB)}`);
        for (let i = 1; i < versions.length; i += 1) {
          assert.ok(versions[i] > versions[i - 1],
            `versions strictly increase: ${versions.join(', ')}`);
        }
      });

    step('a drop on the correct spot places the piece', async () => {
      const state = await A.invoke('GetSessionState', S1);
      const id = 6;  // row 1, column 2
      const spot = correctSpot(state, id);
      const markB = B.mark();
      const result = await lockAndMove(A, S1, id, spot.x, spot.y, 0);
      assert.equal(result.isCorrectlyPlaced, true, brief(result));
      const moved = await B.waitFor('PieceMoved',
        (e) => e.pieceId === id && e.version === result.version, { from: markB });
      assert.equal(moved.isCorrectlyPlaced, true);
      assertNear(moved.x, spot.x, 'PieceMoved.x');
      assertNear(moved.y, spot.y, 'PieceMoved.y');

      const now = await B.invoke('GetSessionState', S1);
      assert.equal(now.pieces[id].isPlaced, true);
      assert.ok(now.completedPieces >= 1, `completedPieces ${now.completedPieces}`);
      assert.ok(now.completionPercentage > 0 && now.completionPercentage < 100,
        `completionPercentage ${now.completionPercentage}`);
      assert.equal(now.isCompleted, false);
      assert.ok(now.version >= result.version);
    });

    step('chat round-trips emoji and right-to-left text exactly', async () => {
      const message = 'Hello 👋🏽 مرحبا بالعالم — שלום עולם — 🧩👨‍👩‍👧‍👦 café (cafe\u0301) 中文';
      const markA = A.mark();
      const markB = B.mark();
      await A.invoke('SendChatMessage', S1, message);
      for (const [c, mark] of [[A, markA], [B, markB]]) {
        const got = await c.waitFor('ChatMessageReceived',
          (m) => m.message === message, { from: mark });
        assert.equal(got.message, message);
        assert.equal(got.userId, users.alice.userId);
        assert.equal(got.username, 'Alice');
        assert.equal(got.sessionId, S1);
        assert.ok(got.id !== undefined && got.id !== null, 'chat message id');
        assert.ok(!Number.isNaN(Date.parse(got.timestamp)), 'timestamp');
      }
    });

    step('chat length counts code points: 500 accepted, 501 refused', async () => {
      const ok = '🧩'.repeat(500);
      const tooLong = '🧩'.repeat(501);
      const tooLongAscii = 'a'.repeat(501);
      assert.equal(codePoints(ok), 500);
      assert.equal(codePoints(tooLong), 501);
      const markB = B.mark();

      await A.invoke('SendChatMessage', S1, ok);
      await B.waitFor('ChatMessageReceived', (m) => m.message === ok,
        { from: markB });
      await assert.rejects(A.invoke('SendChatMessage', S1, tooLong),
        /INVALID_MESSAGE/);
      await assert.rejects(A.invoke('SendChatMessage', S1, tooLongAscii),
        /INVALID_MESSAGE/);
      await assert.rejects(A.invoke('SendChatMessage', S1, '   '),
        /INVALID_MESSAGE/);

      await barrier(S1, B);
      assert.equal(B.count('ChatMessageReceived', (m) => m.message !== ok, markB),
        0, `only the 500 code point message arrives: ${B.summary(markB)}`);
    });

    describe('bad input over the hub', () => {
      let M;  // Mallory: sends the bad input
      let marks;
      let held;

      before(async () => {
        M = await newClient('mallory', users.mallory);
        await M.invoke('JoinPuzzleSession', S1, users.mallory.userId);
        marks = { A: A.mark(), B: B.mark() };
      });

      // After each bad call: the caller's connection still works.
      const stillWorks = async () => {
        assert.ok(M.connected, 'the caller is still connected');
        const state = await M.invoke('GetSessionState', S1);
        assert.equal(state.sessionId, S1);
        return state;
      };

      step('an unknown method is refused', async () => {
        await assert.rejects(M.invoke('NoSuchMethod', S1), /Method does not exist/);
        await stillWorks();
      });

      step('a wrong argument count is refused', async () => {
        await assert.rejects(M.invoke('LockPiece', S1), /Failed to invoke/);
        await assert.rejects(M.invoke('JoinPuzzleSession'), /Failed to invoke/);
        await stillWorks();
      });

      step('a wrong argument type is refused', async () => {
        await assert.rejects(M.invoke('LockPiece', S1, { pieceId: 1 }),
          /Failed to invoke/);
        await stillWorks();
      });

      step('non-finite, non-numeric and bad-rotation moves change nothing',
        async () => {
          held = 9;
          const lock = await M.invoke('LockPiece', S1, held);
          assert.equal(lock.granted, true, brief(lock));
          const prior = await stillWorks();
          // JSON has no NaN or Infinity: the JS client sends null for both.
          const bad = [
            [NaN, 100, 0], [100, NaN, 0], [Infinity, 100, 0], [100, -Infinity, 0],
            ['100', 100, 0], [100, 100, 45],
          ];
          for (const [x, y, rotation] of bad) {
            await assert.rejects(M.invoke('MovePiece', S1, held, x, y, rotation),
              /INVALID_MOVE/, `MovePiece(${x}, ${y}, ${rotation})`);
          }
          const now = await stillWorks();
          assert.deepEqual(pieceView(now.pieces[held]), pieceView(prior.pieces[held]));
          assert.equal(now.version, prior.version, 'no version was used');
          await M.invoke('UnlockPiece', S1, held);
        });

      step('a piece id out of range is refused', async () => {
        for (const id of [s1.rows * s1.cols, 1_000_000, -1]) {
          await assert.rejects(M.invoke('MovePiece', S1, id, 100, 100, 0),
            /INVALID_MOVE/, `MovePiece(piece ${id})`);
        }
        await stillWorks();
      });

      step('a 1 MiB message is refused clearly, only for its sender', async (t) => {
        const big = 'x'.repeat(1 << 20);
        assert.ok(M.connected, 'the sender is connected before it sends');
        let error;
        try {
          await M.invoke('SendChatMessage', S1, big);
        } catch (err) {
          error = err;
        }
        assert.ok(error, 'a 1 MiB message must not be accepted');
        let outcome = 'closed';
        if (/LIMIT_EXCEEDED/.test(error.message)) {
          try {
            await M.invoke('GetSessionState', S1);
            outcome = 'refused';
          } catch {
            outcome = 'closed';
          }
        }
        if (outcome === 'refused') {
          t.diagnostic(`refused in-band: ${error.message}`);
        } else {
          const closeError = await withTimeout(M.closed, EVENT_TIMEOUT_MS,
            'the oversized sender to be disconnected');
          const reason = `${closeError?.message ?? '(no close error)'} | ` +
            `invoke: ${error.message}`;
          t.diagnostic(`connection closed: ${reason}`);
          assert.match(reason, CLEAR_LIMIT_RE,
            'the close reason must name the limit');
        }
      });

      step('the other clients were not affected', async () => {
        for (const [c, mark] of [[A, marks.A], [B, marks.B]]) {
          assert.ok(c.connected, `${c.label} is still connected`);
          const state = await c.invoke('GetSessionState', S1);
          assert.ok(state.chat.every((m) => codePoints(m.message) <= 500),
            'no oversized chat message was stored');
          assert.equal(c.count('Error', () => true, mark), 0,
            `${c.label} got no Error: ${c.summary(mark)}`);
          assert.equal(c.count('ChatMessageReceived', () => true, mark), 0,
            `${c.label} got no chat message: ${c.summary(mark)}`);
          assert.equal(c.count('PieceMoved', () => true, mark), 0,
            `${c.label} saw no move: ${c.summary(mark)}`);
        }
        if (M.connected) await M.stop();
      });
    });

    step('solving a 2x2 puzzle completes it exactly once for everyone', async () => {
      S2 = await createSession(users.alice, 'Integration: 2x2', s2);
      const state = await A.invoke('JoinPuzzleSession', S2, users.alice.userId);
      assertSessionState(state, { sessionId: S2, ...s2, imageId: 'aurora-lake' });
      await B.invoke('JoinPuzzleSession', S2, users.bob.userId);
      const markA = A.mark();
      const markB = B.mark();

      for (const id of [0, 1, 2, 3]) {
        const mover = id % 2 === 0 ? A : B;
        const spot = correctSpot(state, id);
        const result = await lockAndMove(mover, S2, id, spot.x, spot.y, 0);
        assert.equal(result.isCorrectlyPlaced, true,
          `piece ${id} on its spot: ${brief(result)}`);
      }
      const done = await Promise.all([
        A.waitFor('PuzzleCompleted', () => true, { from: markA }),
        B.waitFor('PuzzleCompleted', () => true, { from: markB }),
      ]);
      for (const event of done) {
        assert.ok(!Number.isNaN(Date.parse(event.completedAt)), 'completedAt');
        assert.ok(Array.isArray(event.participants), 'participants');
      }
      await barrier(S2, A, B);
      assert.equal(A.count('PuzzleCompleted', () => true, markA), 1,
        `exactly one PuzzleCompleted for Alice: ${A.summary(markA)}`);
      assert.equal(B.count('PuzzleCompleted', () => true, markB), 1,
        `exactly one PuzzleCompleted for Bob: ${B.summary(markB)}`);

      const solved = await A.invoke('GetSessionState', S2);
      assert.equal(solved.isCompleted, true);
      assert.equal(solved.completionPercentage, 100);
      assert.equal(solved.completedPieces, 4);
      assert.ok(solved.pieces.every((p) => p.isPlaced), 'every piece is placed');
      assert.ok(!Number.isNaN(Date.parse(solved.completedAt)), 'completedAt');

      // Someone who joins later sees it completed too.
      const C = await newClient('carol', users.carol);
      const late = await C.invoke('JoinPuzzleSession', S2, users.carol.userId);
      assert.equal(late.isCompleted, true);
      assert.equal(late.completionPercentage, 100);
      await C.stop();
    });

    step("a disconnect releases the leaver's locks", async () => {
      const id = 7;
      const markA = A.mark();
      const lock = await B.invoke('LockPiece', S1, id);
      assert.equal(lock.granted, true, brief(lock));
      await A.waitFor('PieceLocked', (e) => e.pieceId === id, { from: markA });

      const markLeave = A.mark();
      await B.stop();
      await A.waitFor('PieceUnlocked', (e) => e.pieceId === id, { from: markLeave });
      await A.waitFor('UserLeft', (e) => e.userId === users.bob.userId,
        { from: markLeave });

      const mine = await A.invoke('LockPiece', S1, id);
      assert.equal(mine.granted, true, `after Bob left: ${brief(mine)}`);
      await A.invoke('UnlockPiece', S1, id);
    });

    step('the state survives a restart on the same data dir', async () => {
      const before1 = await A.invoke('GetSessionState', S1);
      const before2 = await A.invoke('GetSessionState', S2);
      await A.stop();

      const stopped = await node.stop('SIGTERM');
      assert.deepEqual(stopped, { code: 0, signal: null },
        `SIGTERM must end the node with exit code 0: ${describeExit(stopped)}`);
      await node.start();

      A = await newClient('alice-again', users.alice);
      await A.invoke('JoinPuzzleSession', S1, users.alice.userId);
      const after1 = await A.invoke('GetSessionState', S1);
      assert.deepEqual(after1.pieces.map(pieceView), before1.pieces.map(pieceView));
      assert.deepEqual(after1.chat.map(chatView), before1.chat.map(chatView));
      assert.equal(after1.completedPieces, before1.completedPieces);
      assert.ok(after1.version >= lastDropVersion,
        `version ${after1.version} >= last acknowledged drop ${lastDropVersion}`);

      await A.invoke('JoinPuzzleSession', S2, users.alice.userId);
      const after2 = await A.invoke('GetSessionState', S2);
      assert.deepEqual(after2.pieces.map(pieceView), before2.pieces.map(pieceView));
      assert.equal(after2.isCompleted, true);
      assert.equal(after2.completionPercentage, 100);
      assert.equal(Date.parse(after2.completedAt), Date.parse(before2.completedAt));
    });

    step('stops cleanly on SIGTERM', async () => {
      await A.stop();
      const stopped = await node.stop('SIGTERM');
      assert.deepEqual(stopped, { code: 0, signal: null },
        `SIGTERM must end the node with exit code 0: ${describeExit(stopped)}`);
    });
  });
}

// ---------------------------------------------------------------------------

const { signalR, problem: clientProblem } = loadSignalR();
const { bin, problem: binaryProblem } = findBinary();
const problems = [clientProblem, binaryProblem].filter(Boolean);
if (problems.length > 0) {
  test('integration test prerequisites', () => {
    assert.fail(problems.join('\n'));
  });
} else {
  defineSuite(signalR, bin);
}
