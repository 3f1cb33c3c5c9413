// Play across a cluster: three real puzzle-node processes on loopback
// sharing a fresh database of the fixture's PostgreSQL. Nodes b and c
// know only node a's cluster address (their seed); a knows nobody.
//
// - Formation: every node lists the three node ids up, with the addresses
//   the seeds name, distinct incarnations, itself marked `this`.
// - A session created over REST on one node is played by real
//   @microsoft/signalr clients connected to the three nodes: joins,
//   locks, a refused lock, drops. Every client sees the others' events
//   with the same versions; GetSessionState on each node and the REST
//   state on each node agree on the version and every piece.
// - The session lives on exactly one node (GET /api/cluster/sessions
//   agrees on every node).
//
// Run through CTest (integration.cluster_play, label needs-services,
// fixture `postgresql`).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { brief, http, safeSpot } from './support/harness.mjs';
import {
  Cluster, SLACK_MS, TIMINGS, clusterPrerequisites, lockAndDrop, piecesById, stepper,
} from './support/cluster.mjs';

const prereq = clusterPrerequisites();

if (prereq.problem) {
  test('cluster play: prerequisites', () => assert.fail(prereq.problem));
} else {
  const cluster = new Cluster(prereq, { label: 'play', seeds: 'first' });
  const steps = stepper();
  const step = steps.step(test);
  const names = cluster.names;

  describe('three nodes formed from a seed list, played from three nodes', () => {
    const users = {};
    const clients = {};
    let sessionId;
    let host;
    const acks = [];

    before(async () => {
      try {
        await cluster.start();
      } catch (err) {
        steps.failed = true;
        throw err;
      }
    });

    after(async () => cluster.close(steps.failed));

    step('every node lists the three node ids up, with their addresses', async () => {
      const incarnations = new Set();
      for (const name of names) {
        const list = await cluster.waitAllUp(name, TIMINGS.connectionTimeoutMs + SLACK_MS);
        assert.equal(list.length, 3, brief(list));
        assert.deepEqual(list.map((m) => m.nodeId).sort(), ['node-a', 'node-b', 'node-c']);
        for (const n of names) {
          assert.equal(list.find((m) => m.nodeId === cluster.nodeId(n)).address,
            cluster.clusterAddress[n]);
        }
        const self = list.filter((m) => m.this === true);
        assert.equal(self.length, 1, brief(list));
        assert.equal(self[0].nodeId, cluster.nodeId(name));
        incarnations.add(self[0].incarnation);
      }
      assert.equal(incarnations.size, 3);
      // b and c were given only a's address; a was given none: they found
      // each other through a and the membership table.
      assert.match(cluster.nodes.b.output,
        new RegExp(`event=seed_contacted[^\\n]*${cluster.clusterAddress.a}`));
    });

    step('a session created on node a lives on exactly one node, as every node says',
      async () => {
        for (const [name, label] of [['a', 'Ann'], ['b', 'Ben'], ['c', 'Cat']]) {
          users[name] = await cluster.guest(name, label);
        }
        sessionId = await cluster.createSession('a', users.a, { rows: 3, cols: 4 });
        ({ host } = await cluster.hostOf(sessionId, 'a'));
        for (const name of names) {
          const entry = await cluster.sessionEntry(name, sessionId);
          assert.ok(entry, `node ${name} lists the session`);
          assert.equal(entry.node, cluster.nodeId(host), `node ${name}: ${brief(entry)}`);
          assert.ok(entry.generation >= 1, brief(entry));
        }
      });

    step('clients on the three nodes join; each sees the others join', async () => {
      for (const name of names) {
        clients[name] = await cluster.client(`${name}@node-${name}`, users[name], name);
      }
      const states = {};
      for (const name of names) {
        const marks = Object.fromEntries(names.map((n) => [n, clients[n].mark()]));
        states[name] = await clients[name].invoke('JoinPuzzleSession', sessionId,
          users[name].userId);
        assert.equal(states[name].sessionId, sessionId);
        assert.equal(states[name].pieces.length, 12);
        await clients[name].waitFor('SessionStateUpdate', (s) => s.sessionId === sessionId,
          { from: marks[name] });
        for (const other of names.filter((n) => n !== name && clients[n].conn)) {
          if (states[other] === undefined) continue;
          await clients[other].waitFor('UserJoined', (u) => u.userId === users[name].userId,
            { from: marks[other] });
        }
      }
      assert.deepEqual(states.a.pieces, states.c.pieces);
    });

    step('a lock on one node is seen on the others and refused to them', async () => {
      const { a, b, c } = clients;
      const marks = { b: b.mark(), c: c.mark() };
      const lock = await a.invoke('LockPiece', sessionId, 5);
      assert.equal(lock.granted, true, brief(lock));
      for (const name of ['b', 'c']) {
        const seen = await clients[name].waitFor('PieceLocked', (e) => e.pieceId === 5,
          { from: marks[name] });
        assert.equal(seen.userId, users.a.userId);
      }
      const refused = await c.invoke('LockPiece', sessionId, 5);
      assert.equal(refused.granted, false, brief(refused));
      assert.equal(refused.lockedBy, users.a.userId);
      const markB = b.mark();
      await a.invoke('UnlockPiece', sessionId, 5);
      await b.waitFor('PieceUnlocked', (e) => e.pieceId === 5, { from: markB });
    });

    step('drops from every node reach every client with the same versions', async () => {
      const state = await clients.a.invoke('GetSessionState', sessionId);
      const marks = Object.fromEntries(names.map((n) => [n, clients[n].mark()]));
      // Pieces 0, 2 and 10: no two are neighbours, so no drop joins them.
      const plan = [['a', 0], ['b', 2], ['c', 10], ['a', 0], ['b', 2]];
      let previous = state.version;
      for (const [i, [name, pieceId]] of plan.entries()) {
        const spot = safeSpot(state, pieceId);
        const x = spot.x + i;
        const ack = await lockAndDrop(clients[name], sessionId, pieceId, x, spot.y);
        assert.ok(ack.version > previous, `version ${ack.version} after ${previous}`);
        assert.equal(ack.isCorrectlyPlaced, false);
        previous = ack.version;
        acks.push({ by: name, pieceId, x, y: spot.y, version: ack.version });
      }
      for (const name of names) {
        const moved = [];
        for (const drop of acks) {
          moved.push(await clients[name].waitFor('PieceMoved',
            (e) => e.version === drop.version, { from: marks[name] }));
        }
        moved.forEach((e, i) => {
          const drop = acks[i];
          assert.equal(e.pieceId, drop.pieceId, `${name} saw ${brief(e)}`);
          assert.equal(e.x, drop.x);
          assert.equal(e.y, drop.y);
          assert.equal(e.movedBy, users[drop.by].userId);
        });
        const versions = clients[name].found('PieceMoved', () => true, marks[name])
          .map((e) => e.data.version);
        assert.deepEqual(versions, acks.map((d) => d.version),
          `node ${name}'s client saw each drop once, in order`);
      }
    });

    step('GetSessionState and the REST state agree on every node', async () => {
      const expected = new Map();
      for (const drop of acks) expected.set(drop.pieceId, drop);
      const lastVersion = acks.at(-1).version;
      const views = [];
      for (const name of names) {
        views.push(await clients[name].invoke('GetSessionState', sessionId));
        const rest = await http('GET', `${cluster.base(name)}/api/sessions/${sessionId}`,
          { token: users[name].token });
        assert.equal(rest.status, 200, rest.text);
        views.push(rest.json);
      }
      for (const view of views) {
        assert.equal(view.version, lastVersion, `version ${view.version}`);
        const pieces = piecesById(view);
        for (const [pieceId, drop] of expected) {
          assert.equal(pieces.get(pieceId).x, drop.x, `piece ${pieceId}`);
          assert.equal(pieces.get(pieceId).y, drop.y, `piece ${pieceId}`);
          assert.equal(pieces.get(pieceId).lockedBy ?? null, null, `piece ${pieceId} unlocked`);
        }
        assert.deepEqual(view.pieces, views[0].pieces);
      }
      // Still one owner, the same as at the start (nobody moved it).
      for (const name of names) {
        assert.equal((await cluster.sessionEntry(name, sessionId)).node, cluster.nodeId(host));
      }
    });
  });
}
