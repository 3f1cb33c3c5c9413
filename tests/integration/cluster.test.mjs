// Cluster membership: three real puzzle-node processes on loopback sharing
// the fixture's PostgreSQL, each configured with its own cluster.port and
// the others as seeds, and short timings (heartbeat 200 ms, connection
// timeout 1 s, down after 2 s more).
//
// - Every node's GET /api/cluster/nodes lists the three members up, with
//   distinct incarnations, its own marked `this`; /health/detailed has a
//   `cluster` entry counting them.
// - A node killed with SIGKILL is seen unreachable by the others at once
//   (their CAF links to its node agent break, before its heartbeat ages),
//   and down only after the grace period (connection timeout + down-after).
// - Restarted with the same cluster address it is a new incarnation, up,
//   while its old incarnation stays down.
// - A node stopped with SIGTERM is leaving/down at once for the others
//   (long before the grace period).
// - A clustered node with store.pool-size 1 (no connection left for the
//   heartbeats) refuses to start, naming the key.
//
// Run through CTest (label needs-services, fixture `postgresql`), which sets
// PUZZLE_NODE_BIN and PUZZLE_TEST_PG_DIR; or by hand with
// PUZZLE_TEST_PG_URL set. A missing prerequisite fails with the reason.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import {
  CALL_TIMEOUT_MS, PuzzleNode, SETUP_HINT, VERBOSE, findBinary, freePort, http, withTimeout,
} from './support/harness.mjs';
import { testServerUrl } from './support/pg_server.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');

// The cluster keys given to every node, and what follows from them.
const HEARTBEAT_MS = 200;
const CONNECTION_TIMEOUT_MS = 1_000;
const DOWN_AFTER_MS = 2_000;
// A member is buried once its last heartbeat is this old.
const GRACE_MS = CONNECTION_TIMEOUT_MS + DOWN_AFTER_MS;
// Slack for a loaded 2-core machine on top of the configured times.
const SLACK_MS = 2_000;
const POLL_MS = 50;
// A killed node is unreachable for the others within this (their link to
// its agent breaks), sooner than its heartbeat can age past the timeout.
const LINK_DETECTION_MS = CONNECTION_TIMEOUT_MS - HEARTBEAT_MS - 100;

const SECRET = crypto.randomBytes(32).toString('hex');
// token_service's defaults (auth.issuer, auth.audience).
const ISSUER = 'puzzle';
const AUDIENCE = 'puzzle-clients';


function loadJose() {
  try {
    return { jose: createRequire(import.meta.url)('jose') };
  } catch (err) {
    return { problem: `cannot load jose (${err.code ?? err.message}): ${SETUP_HINT}` };
  }
}

function psql(url, sql) {
  return execFileSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-tAc', sql],
    { encoding: 'utf8', timeout: 30_000 });
}

/// `url` pointing at database `db`, without its password, and that password.
function storeUrl(url, db) {
  const u = new URL(url);
  const password = decodeURIComponent(u.password);
  u.password = '';
  u.pathname = `/${db}`;
  return { url: u.href, password };
}

/// An operator's token signed with the nodes' key.
async function operatorToken(jose) {
  const iat = Math.floor(Date.now() / 1000);
  return new jose.SignJWT({ name: 'Ops', roles: ['player', 'operator'] })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(crypto.randomUUID())
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(iat)
    .setNotBefore(iat)
    .setExpirationTime(iat + 3600)
    .setJti(crypto.randomUUID())
    .sign(new TextEncoder().encode(SECRET));
}

const bin = findBinary();
const server = testServerUrl();
const { jose, problem: joseProblem } = loadJose();
const problem = bin.problem ?? server.problem ?? joseProblem;

if (problem) {
  test('cluster membership: prerequisites', () => assert.fail(problem));
} else {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'puzzle-it-cluster-'));
  const webRoot = process.env.PUZZLE_WEB_ROOT ?? path.join(REPO, 'web', 'public');
  const dbName = `puzzle_it_cl_${process.pid}_${crypto.randomBytes(3).toString('hex')}`;
  const clusterName = `it-${crypto.randomBytes(3).toString('hex')}`;
  const store = storeUrl(server.url, dbName);
  const names = ['a', 'b', 'c'];
  const nodes = {};
  const addresses = {};
  let token;
  let failed = false;
  const step = (name, fn) => test(name, async (t) => {
    try {
      await fn(t);
    } catch (err) {
      failed = true;
      throw err;
    }
  });

  async function members(node) {
    const res = await http('GET', `${node.base}/api/cluster/nodes`, { token });
    assert.equal(res.status, 200, res.text);
    assert.ok(Array.isArray(res.json), res.text);
    return res.json;
  }

  /// Polls `node`'s member list until `check` returns a value (not
  /// undefined), failing with the last list after `ms`.
  async function waitFor(node, what, ms, check) {
    const deadline = Date.now() + ms;
    let last;
    for (;;) {
      last = await members(node);
      const found = check(last);
      if (found !== undefined) return found;
      if (Date.now() > deadline) {
        assert.fail(`${what} within ${ms} ms; last /api/cluster/nodes: ` +
          JSON.stringify(last, null, 1));
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  const selfOf = (list) => list.find((m) => m.this === true);
  const live = (list) => list.filter((m) => m.state === 'up');

  describe('cluster membership on three nodes', () => {
    before(async () => {
      psql(server.url, `CREATE DATABASE ${dbName}`);
      token = await operatorToken(jose);
      for (const name of names) addresses[name] = `127.0.0.1:${await freePort()}`;
      for (const name of names) {
        const seeds = names.filter((n) => n !== name).map((n) => `"${addresses[n]}"`);
        nodes[name] = new PuzzleNode(bin.bin ?? bin, {
          dataDir: path.join(tmp, name),
          webRoot,
          env: { PUZZLE_JWT_SECRET: SECRET, PUZZLE_STORE_PASSWORD: store.password },
          args: [
            `--store.url=${store.url}`, '--store.pool-size=2',
            `--cluster.name=${clusterName}`,
            `--cluster.port=${addresses[name].split(':')[1]}`,
            `--cluster.seeds=[${seeds.join(',')}]`,
            `--cluster.heartbeat-interval=${HEARTBEAT_MS}ms`,
            `--cluster.connection-timeout=${CONNECTION_TIMEOUT_MS}ms`,
            `--cluster.down-after=${DOWN_AFTER_MS}ms`,
          ],
        });
      }
      // One after the other: the first start migrates the new database.
      for (const name of names) await nodes[name].start();
    });

    after(async () => {
      for (const name of names) await nodes[name]?.kill();
      if (failed && !VERBOSE) {
        for (const name of names) {
          process.stderr.write(`node ${name} output:\n${nodes[name]?.tail(60)}\n`);
        }
      }
      try {
        psql(server.url, `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      } catch (err) {
        process.stderr.write(`cannot drop ${dbName}: ${err.message}\n`);
      }
      fs.rmSync(tmp, { recursive: true, force: true });
    });

    const incarnations = {};

    step('every node lists the three members up, with distinct incarnations', async () => {
      for (const name of names) {
        const list = await waitFor(nodes[name], `node ${name} to see three members up`,
          CONNECTION_TIMEOUT_MS + SLACK_MS, (l) => (live(l).length === 3 ? l : undefined));
        assert.equal(list.length, 3, JSON.stringify(list));
        assert.equal(new Set(list.map((m) => m.incarnation)).size, 3);
        assert.deepEqual(list.map((m) => m.address).sort(),
          names.map((n) => addresses[n]).sort());
        const self = selfOf(list);
        assert.ok(self, `node ${name} marks itself: ${JSON.stringify(list)}`);
        assert.equal(list.filter((m) => m.this).length, 1);
        assert.equal(self.address, addresses[name]);
        assert.equal(typeof self.load?.connections, 'number');
        for (const m of list) {
          assert.ok(m.nodeId && m.id === m.nodeId, JSON.stringify(m));
          assert.ok(Number.isFinite(m.lastHeartbeatMs) && m.lastHeartbeatMs > 0);
          assert.ok(!Number.isNaN(Date.parse(m.lastHeartbeat)), m.lastHeartbeat);
          assert.equal(typeof m.uptime, 'string');
        }
        incarnations[name] = self.incarnation;
      }
      // Every node agrees on who is who.
      const seen = await members(nodes.a);
      for (const name of names) {
        assert.equal(seen.find((m) => m.address === addresses[name])?.incarnation,
          incarnations[name]);
      }
      const health = await http('GET', `${nodes.a.base}/health/detailed`);
      assert.equal(health.status, 200, health.text);
      const entry = health.json?.results?.cluster;
      assert.ok(entry, `a cluster entry in /health/detailed: ${health.text}`);
      assert.equal(entry.status, 'Healthy', health.text);
      assert.equal(entry.data?.up, 3, health.text);
      assert.equal(entry.data?.unreachable, 0, health.text);
      assert.equal(entry.data?.cluster, clusterName, health.text);
    });

    step('the operator API needs the operator role', async () => {
      const res = await http('GET', `${nodes.a.base}/api/cluster/nodes`);
      assert.equal(res.status, 401, res.text);
    });

    step('a node killed with SIGKILL is unreachable at once, down after the grace period',
      async () => {
        const dead = incarnations.c;
        await nodes.c.kill();
        const killedAt = Date.now();
        const stateOf = (l) => l.find((m) => m.incarnation === dead)?.state;
        // The others' links to its agent break with the process: it is
        // unreachable long before its heartbeat is connection-timeout old
        // (which takes at least connection-timeout - heartbeat-interval).
        for (const name of ['a', 'b']) {
          await waitFor(nodes[name], `node ${name} to see c unreachable`,
            LINK_DETECTION_MS - (Date.now() - killedAt),
            (l) => (stateOf(l) === 'unreachable' ? true : undefined));
          await nodes[name].waitForOutput(
            new RegExp(`event=member_link_lost incarnation=${dead}`));
        }
        // Not yet down: the grace period has not passed since its last heartbeat.
        const early = Date.now() - killedAt;
        if (early < GRACE_MS - HEARTBEAT_MS - 500) {
          assert.equal(stateOf(await members(nodes.a)), 'unreachable');
        }
        const health = await http('GET', `${nodes.a.base}/health/detailed`);
        const entry = health.json?.results?.cluster;
        if (Date.now() - killedAt < GRACE_MS - HEARTBEAT_MS - 500) {
          assert.equal(entry?.status, 'Degraded', health.text);
          assert.equal(entry?.data?.unreachable, 1, health.text);
        }
        for (const name of ['a', 'b']) {
          await waitFor(nodes[name], `node ${name} to see c down`, GRACE_MS + SLACK_MS,
            (l) => (stateOf(l) === 'down' ? true : undefined));
        }
        const downAfter = Date.now() - killedAt;
        // Its last heartbeat was at most one interval before the kill.
        assert.ok(downAfter >= GRACE_MS - HEARTBEAT_MS - POLL_MS,
          `declared down ${downAfter} ms after the kill, before the grace period`);
        await nodes.a.waitForOutput(new RegExp(`event=member_unreachable .*incarnation=${dead}`));
        await nodes.a.waitForOutput(new RegExp(`event=member_down .*incarnation=${dead}`));
        // The others are still up.
        const list = await members(nodes.b);
        assert.equal(live(list).length, 2, JSON.stringify(list));
      });

    step('restarted with the same address it is a new incarnation; the old stays down',
      async () => {
        await nodes.c.start();
        const list = await waitFor(nodes.a, 'node a to see c\'s new incarnation up',
          CONNECTION_TIMEOUT_MS + SLACK_MS, (l) => {
            const fresh = l.find((m) => m.address === addresses.c && m.state === 'up');
            return fresh ? l : undefined;
          });
        const atC = list.filter((m) => m.address === addresses.c);
        assert.equal(atC.length, 2, JSON.stringify(atC));
        const fresh = atC.find((m) => m.state === 'up');
        assert.notEqual(fresh.incarnation, incarnations.c);
        assert.equal(atC.find((m) => m.incarnation === incarnations.c)?.state, 'down');
        const own = selfOf(await members(nodes.c));
        assert.equal(own.incarnation, fresh.incarnation);
        incarnations.c = fresh.incarnation;
      });

    step('a node stopped with SIGTERM is leaving or down at once, not after the grace period',
      async () => {
        const leaving = incarnations.b;
        const status = await nodes.b.stop('SIGTERM');
        assert.equal(status.code, 0, JSON.stringify(status));
        assert.match(nodes.b.output, new RegExp(`event=member_leaving .*incarnation=${leaving}`));
        assert.match(nodes.b.output, new RegExp(`event=member_down .*incarnation=${leaving}.*reason=left`));
        const stoppedAt = Date.now();
        // Well below the connection timeout: the others read the row, they
        // do not wait for silence.
        for (const name of ['a', 'c']) {
          await waitFor(nodes[name], `node ${name} to see b leave`, CONNECTION_TIMEOUT_MS - 100,
            (l) => (['leaving', 'down'].includes(
              l.find((m) => m.incarnation === leaving)?.state) ? true : undefined));
        }
        assert.ok(Date.now() - stoppedAt < CONNECTION_TIMEOUT_MS);
        const list = await members(nodes.a);
        assert.equal(live(list).length, 2, JSON.stringify(list));
      });
  });

  test('a clustered node needs store.pool-size >= 2 (exit code 2, names the key)', async () => {
    const child = spawn(bin.bin ?? bin, [
      '--http.port=0', `--store.url=${store.url}`, '--store.pool-size=1', '--cluster.port=4370',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    const code = await withTimeout(new Promise((resolve) => child.once('close', resolve)),
      CALL_TIMEOUT_MS, 'puzzle-node to exit');
    assert.equal(code, 2, stderr);
    assert.match(stderr, /store\.pool-size: must be at least 2 in a cluster/);
  });
}
