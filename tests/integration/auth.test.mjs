// Identity end to end: tokens minted by an independent JWT library (jose)
// against a node that knows the same secret. A valid token is accepted; a
// token with alg none, a wrong signature, an unknown key id, expired, not
// yet valid, a wrong issuer or audience, or a tampered role claim is
// refused over HTTP (401 + WWW-Authenticate) and over every real-time
// transport (SignalR negotiate and upgrade, /webrtchub, raw /ws, Socket.IO
// CONNECT). A valid token cannot act as another user (FORBIDDEN). Accounts:
// register, login, duplicates, wrong passwords, roles from config.
//
// Run through CTest (tests/integration/CMakeLists.txt). No fixed sleeps.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

import {
  CALL_TIMEOUT_MS, PuzzleNode, SETUP_HINT, UUID_RE, findBinary, http, withTimeout,
} from './support/harness.mjs';

const require = createRequire(import.meta.url);

function loadModules() {
  try {
    return {
      jose: require('jose'),
      signalR: require('@microsoft/signalr'),
      WebSocket: require('ws'),
      io: require('socket.io-client').io,
    };
  } catch (err) {
    return {
      problem: `cannot load jose, @microsoft/signalr, ws, socket.io-client ` +
        `(${err.code ?? err.message}): ${SETUP_HINT}`,
    };
  }
}

const { jose, signalR, WebSocket, io, problem } = loadModules();
const { bin, problem: binaryProblem } = findBinary();
const problems = [problem, binaryProblem].filter(Boolean);

const SECRET = crypto.randomBytes(32).toString('hex');
const ROTATED = { kid: 'k2026', secret: crypto.randomBytes(32).toString('hex') };
const ISSUER = 'puzzle';
const AUDIENCE = 'puzzle-clients';
// The node's tolerance (auth.clock-skew, default 30 s): the bad times lie
// well beyond it.
const SKEW_S = 30;

const b64url = (text) => Buffer.from(text).toString('base64url');
const fromB64url = (text) => JSON.parse(Buffer.from(text, 'base64url').toString());
const now = () => Math.floor(Date.now() / 1000);

/// A token signed with HS256 by jose, overriding claims or the header.
async function mint({
  secret = SECRET, kid = 'default', sub = crypto.randomUUID(), claims = {},
  iat = now(), nbf = iat, exp = iat + 3600, iss = ISSUER, aud = AUDIENCE,
} = {}) {
  const header = { alg: 'HS256', typ: 'JWT' };
  if (kid) header.kid = kid;
  const token = await new jose.SignJWT({ name: 'Minted', roles: ['player'], ...claims })
    .setProtectedHeader(header)
    .setSubject(sub)
    .setIssuer(iss)
    .setAudience(aud)
    .setIssuedAt(iat)
    .setNotBefore(nbf)
    .setExpirationTime(exp)
    .setJti(crypto.randomUUID())
    .sign(new TextEncoder().encode(secret));
  return { token, userId: sub };
}

/// The body of a SignalR negotiate answer or its error.
async function negotiate(base, hub, token) {
  return http('POST', `${base}${hub}/negotiate?negotiateVersion=1`, { token });
}

/// Resolves with the HTTP status of a refused WebSocket upgrade, or 101.
function upgradeStatus(url) {
  return withTimeout(new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (req, res) => {
      res.resume();
      resolve(res.statusCode);
    });
    ws.once('error', reject);
  }), CALL_TIMEOUT_MS, `the upgrade of ${url}`);
}

/// Connects a Socket.IO client with `token` in the CONNECT payload; resolves
/// with the socket or rejects with connect_error's error.
function socketIo(base, token) {
  return withTimeout(new Promise((resolve, reject) => {
    const socket = io(base, {
      auth: { token },
      reconnection: false,
      forceNew: true,
      transports: ['websocket'],
      timeout: CALL_TIMEOUT_MS,
    });
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (err) => {
      socket.close();
      reject(err);
    });
  }), CALL_TIMEOUT_MS, 'the Socket.IO CONNECT');
}

async function hubConnection(base, hub, token) {
  const conn = new signalR.HubConnectionBuilder()
    .withUrl(`${base}${hub}`, { accessTokenFactory: () => token })
    .configureLogging(signalR.LogLevel.None).build();
  await withTimeout(conn.start(), CALL_TIMEOUT_MS, `connect to ${hub}`);
  return conn;
}

/// Every way a token can reach the node; each resolves to 'accepted' or
/// throws/returns a description of the refusal checked by the caller.
function transports(node) {
  const q = (token) => `access_token=${encodeURIComponent(token)}`;
  const ws = (p) => node.base.replace(/^http/, 'ws') + p;
  return {
    async http(token) {
      const res = await http('POST', `${node.base}/api/sessions`, {
        token,
        body: { name: 'Auth check', imageId: 'aurora-lake', rows: 2, cols: 2 },
      });
      if (res.status === 401) {
        assert.equal(res.json?.code, 'UNAUTHORIZED', res.text);
        assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
        return 'refused';
      }
      assert.equal(res.status, 201, res.text);
      return 'accepted';
    },
    async puzzlehubNegotiate(token) {
      const res = await negotiate(node.base, '/puzzlehub', token);
      if (res.status === 401) return 'refused';
      assert.equal(res.status, 200, res.text);
      return 'accepted';
    },
    async puzzlehubUpgrade(token) {
      const status = await upgradeStatus(ws(`/puzzlehub?${q(token)}`));
      return status === 401 ? 'refused' : status === 101 ? 'accepted' : `HTTP ${status}`;
    },
    async puzzlehubClient(token) {
      try {
        const conn = await hubConnection(node.base, '/puzzlehub', token);
        await conn.stop();
        return 'accepted';
      } catch (err) {
        assert.match(String(err), /401|Unauthorized/i);
        return 'refused';
      }
    },
    async webrtchub(token) {
      const res = await negotiate(node.base, '/webrtchub', token);
      if (res.status === 401) return 'refused';
      assert.equal(res.status, 200, res.text);
      return 'accepted';
    },
    async rawWs(token) {
      const status = await upgradeStatus(ws(`/ws?${q(token)}`));
      return status === 401 ? 'refused' : status === 101 ? 'accepted' : `HTTP ${status}`;
    },
    async socketIo(token) {
      try {
        const socket = await socketIo(node.base, token);
        socket.close();
        return 'accepted';
      } catch (err) {
        assert.equal(err.data?.code, 'UNAUTHORIZED', `connect_error: ${err.message}`);
        return 'refused';
      }
    },
  };
}

if (problems.length > 0) {
  test('integration test prerequisites', () => assert.fail(problems.join('\n')));
} else {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'puzzle-auth-'));
  const node = new PuzzleNode(bin, {
    dataDir: path.join(tmp, 'data'),
    webRoot: process.env.PUZZLE_WEB_ROOT ?? path.join(tmp, 'web'),
    env: {
      PUZZLE_JWT_SECRET: SECRET,
      PUZZLE_JWT_KEYS: `${ROTATED.kid}:${ROTATED.secret}`,
    },
    args: [
      // Cheap hashes keep the suite fast; production uses the defaults.
      '--auth.hash-ops-limit=1',
      '--auth.hash-memory-kib=8',
      '--auth.admins=["root"]',
      '--auth.operators=["ops"]',
      '--rate-limits.http-auth=token-bucket 1000 100/1s',
      '--rate-limits.http-write=token-bucket 1000 100/1s',
      '--rate-limits.http-connect=token-bucket 1000 100/1s',
    ],
  });
  const paths = transports(node);

  before(async () => {
    await node.start();
  });

  after(async () => {
    await node.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  describe('tokens minted by jose', () => {
    test('a valid token is accepted everywhere, with either accepted key', async () => {
      for (const minted of [await mint(), await mint({ kid: ROTATED.kid, secret: ROTATED.secret })]) {
        for (const [name, check] of Object.entries(paths)) {
          assert.equal(await check(minted.token), 'accepted', name);
        }
      }
    });

    const forged = {
      'alg none': async () => {
        const { token } = await mint();
        const [, payload] = token.split('.');
        return `${b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${payload}.`;
      },
      'a wrong signature': async () => (await mint({ secret: crypto.randomBytes(32).toString('hex') })).token,
      'an unknown key id': async () => (await mint({ kid: 'retired' })).token,
      'a known key id with another key': async () => (await mint({ kid: ROTATED.kid })).token,
      'an expired token': async () => (await mint({
        iat: now() - 7200, exp: now() - SKEW_S - 60,
      })).token,
      'a token not yet valid': async () => (await mint({ nbf: now() + SKEW_S + 120 })).token,
      'a wrong issuer': async () => (await mint({ iss: 'someone-else' })).token,
      'a wrong audience': async () => (await mint({ aud: 'other-clients' })).token,
      'a tampered role claim': async () => {
        const guest = await http('POST', `${node.base}/api/auth/guest`, {
          body: { displayName: 'Tamper' },
        });
        assert.equal(guest.status, 200, guest.text);
        const [header, payload, signature] = guest.json.token.split('.');
        const claims = fromB64url(payload);
        assert.deepEqual(claims.roles, ['player']);
        claims.roles = ['admin', 'operator'];
        return `${header}.${b64url(JSON.stringify(claims))}.${signature}`;
      },
    };

    for (const [what, make] of Object.entries(forged)) {
      test(`${what} is refused over HTTP and every transport`, async () => {
        const token = await make();
        for (const [name, check] of Object.entries(paths)) {
          assert.equal(await check(token), 'refused', `${what} over ${name}`);
        }
      });
    }

    test('a valid token cannot act as another user', async () => {
      const alice = await mint();
      const bob = await mint();
      const created = await http('POST', `${node.base}/api/sessions`, {
        token: alice.token,
        body: { name: 'Alice only', imageId: 'aurora-lake', rows: 2, cols: 2 },
      });
      assert.equal(created.status, 201, created.text);
      const sessionId = created.json.id;

      const hub = await hubConnection(node.base, '/puzzlehub', alice.token);
      try {
        await assert.rejects(hub.invoke('JoinPuzzleSession', sessionId, bob.userId), /FORBIDDEN/);
        const state = await hub.invoke('JoinPuzzleSession', sessionId, alice.userId);
        assert.equal(state.sessionId, sessionId);
      } finally {
        await hub.stop();
      }

      const socket = await socketIo(node.base, alice.token);
      try {
        const refused = await withTimeout(
          socket.emitWithAck('join', { sessionId, userId: bob.userId }), CALL_TIMEOUT_MS, 'join');
        assert.deepEqual([refused.ok, refused.code], [false, 'FORBIDDEN'], JSON.stringify(refused));
      } finally {
        socket.close();
      }

      const raw = new WebSocket(`${node.base.replace(/^http/, 'ws')}/ws?access_token=${alice.token}`);
      try {
        await withTimeout(new Promise((resolve, reject) => {
          raw.once('open', resolve);
          raw.once('error', reject);
        }), CALL_TIMEOUT_MS, 'the /ws upgrade');
        const answer = withTimeout(new Promise((resolve) => {
          raw.on('message', (data) => {
            const m = JSON.parse(data.toString());
            if (m.id === 'j1') resolve(m);
          });
        }), CALL_TIMEOUT_MS, 'the answer to join');
        raw.send(JSON.stringify({ type: 'join', id: 'j1', sessionId, userId: bob.userId }));
        const m = await answer;
        assert.deepEqual([m.type, m.code], ['error', 'FORBIDDEN'], JSON.stringify(m));
      } finally {
        raw.close();
      }
    });

    test('the roles of a token reach the node: guests are players', async () => {
      const guest = await http('POST', `${node.base}/api/auth/guest`, { body: { displayName: 'G' } });
      assert.equal(guest.status, 200, guest.text);
      assert.deepEqual(guest.json.roles, ['player']);
      const [header] = guest.json.token.split('.');
      assert.equal(fromB64url(header).kid, 'default');
      const claims = jose.decodeJwt(guest.json.token);
      assert.deepEqual(claims.roles, ['player']);
      assert.match(claims.jti, UUID_RE);
      // jose agrees that the node's own token is valid under the secret.
      const { payload } = await jose.jwtVerify(guest.json.token, new TextEncoder().encode(SECRET),
        { issuer: ISSUER, audience: AUDIENCE, algorithms: ['HS256'] });
      assert.equal(payload.sub, guest.json.userId);
    });
  });

  describe('accounts', () => {
    const register = (body) => http('POST', `${node.base}/api/auth/register`, { body });
    const login = (body) => http('POST', `${node.base}/api/auth/login`, { body });
    const password = 'correct horse battery';

    const expectToken = (res, status, username, roles) => {
      assert.equal(res.status, status, res.text);
      assert.match(res.json.userId, UUID_RE);
      assert.equal(res.json.displayName, username);
      assert.deepEqual(res.json.roles, roles);
      assert.ok(Date.parse(res.json.expiresAt) > Date.now());
      const claims = jose.decodeJwt(res.json.token);
      assert.equal(claims.sub, res.json.userId);
      assert.deepEqual(claims.roles, roles);
      assert.match(claims.jti, UUID_RE);
    };

    test('register, log in, and the token works on the hub', async () => {
      const created = await register({ username: 'Ada.L', email: 'ada@example.org', password });
      expectToken(created, 201, 'Ada.L', ['player', 'owner']);
      for (const name of [{ username: 'Ada.L' }, { username: 'ada.l' }, { email: 'ADA@example.org' }]) {
        const res = await login({ ...name, password });
        expectToken(res, 200, 'Ada.L', ['player', 'owner']);
        assert.equal(res.json.userId, created.json.userId, JSON.stringify(name));
      }
      const { token, userId } = (await login({ username: 'ada.l', password })).json;
      const session = await http('POST', `${node.base}/api/sessions`, {
        token, body: { name: 'Ada owns', imageId: 'aurora-lake', rows: 2, cols: 2 },
      });
      assert.equal(session.status, 201, session.text);
      assert.equal(session.json.ownerId, userId);
      const hub = await hubConnection(node.base, '/puzzlehub', token);
      try {
        const state = await hub.invoke('JoinPuzzleSession', session.json.id, userId);
        assert.equal(state.sessionId, session.json.id);
      } finally {
        await hub.stop();
      }
    });

    test('a taken username or email is 409 CONFLICT, in any case', async () => {
      assert.equal((await register({ username: 'grace', email: 'grace@example.org', password })).status, 201);
      const sameName = await register({ username: 'GRACE', email: 'other@example.org', password });
      assert.equal(sameName.status, 409, sameName.text);
      assert.equal(sameName.json.code, 'CONFLICT');
      assert.match(sameName.json.message, /username/);
      const sameEmail = await register({ username: 'grace2', email: 'Grace@Example.org', password });
      assert.equal(sameEmail.status, 409, sameEmail.text);
      assert.equal(sameEmail.json.code, 'CONFLICT');
      assert.match(sameEmail.json.message, /email/);
    });

    test('a wrong password and an unknown user get the same 401', async () => {
      assert.equal((await register({ username: 'linus', email: 'linus@example.org', password })).status, 201);
      const wrong = await login({ username: 'linus', password: 'not the password' });
      const unknown = await login({ username: 'nobody-here', password });
      for (const res of [wrong, unknown]) {
        assert.equal(res.status, 401, res.text);
        assert.equal(res.json.code, 'UNAUTHORIZED');
        assert.equal(res.json.message, 'invalid username or password');
        assert.equal(res.headers.get('www-authenticate'), 'Bearer');
      }
    });

    test('bad usernames, emails and passwords are 400 naming the field', async () => {
      const cases = [
        [{ username: 'ab', email: 'ab@example.org', password }, /username/],
        [{ username: 'has space', email: 'hs@example.org', password }, /username/],
        [{ username: '-dash', email: 'd@example.org', password }, /username/],
        [{ username: 'noat', email: 'noat.example.org', password }, /email/],
        [{ username: 'twoat', email: 'a@b@example.org', password }, /email/],
        [{ username: 'short', email: 'short@example.org', password: 'seven77' },
          /at least 8 characters \(auth\.min-password-length\)/],
        [{ username: 'long', email: 'long@example.org', password: 'x'.repeat(257) },
          /at most 256 bytes \(auth\.max-password-bytes\)/],
        [{ username: 'nopw', email: 'nopw@example.org' }, /password/],
      ];
      for (const [body, message] of cases) {
        const res = await register(body);
        assert.equal(res.status, 400, `${JSON.stringify(body).slice(0, 80)}: ${res.text}`);
        assert.equal(res.json.code, 'INVALID_ARGUMENT');
        assert.match(res.json.message, message);
      }
      const tooLong = await login({ username: 'linus', password: 'x'.repeat(257) });
      assert.equal(tooLong.status, 400, tooLong.text);
      assert.match(tooLong.json.message, /auth\.max-password-bytes/);
    });

    test('admin and operator roles come from config', async () => {
      const root = await register({ username: 'root', email: 'root@example.org', password });
      expectToken(root, 201, 'root', ['player', 'owner', 'admin']);
      const ops = await register({ username: 'Ops', email: 'ops@example.org', password });
      expectToken(ops, 201, 'Ops', ['player', 'owner', 'operator']);
      const again = await login({ username: 'ops', password });
      expectToken(again, 200, 'Ops', ['player', 'owner', 'operator']);
    });
  });
}
