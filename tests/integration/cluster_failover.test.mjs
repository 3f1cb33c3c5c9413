// Failover and restart on three real puzzle-node processes (fresh database
// of the fixture's PostgreSQL; heartbeat 200 ms, connection timeout 1 s,
// down after 2 s more).
//
// - The node hosting a session is killed with SIGKILL after acknowledged
//   drops, while its client holds a lock. Within the grace period and some
//   slack the session is active on a survivor (GET /api/cluster/sessions:
//   another node, the generation up by exactly one, on every survivor).
// - The client of the killed node loses its connection, connects to a
//   survivor, joins again and finds every acknowledged drop.
// - A client on a survivor keeps playing once its client actor has joined
//   the re-activated session (a full SessionStateUpdate), and can lock the
//   piece the dead node's client held: that lease died with the node.
// - Restarted with the same node id and addresses, the killed node is a
//   new incarnation, up, while the old one stays down; a migration to its
//   node id lands on the new incarnation and play goes on there.
//
// Run through CTest (integration.cluster_failover, label needs-services,
// fixture `postgresql`).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { CALL_TIMEOUT_MS, brief, safeSpot, withTimeout } from './support/harness.mjs';
import {
  Cluster, GRACE_MS, SLACK_MS, clusterPrerequisites, lockAndDrop, piecesById, pollUntil,
  stepper,
} from './support/cluster.mjs';

const prereq = clusterPrerequisites();

if (prereq.problem) {
  test('cluster failover: prerequisites', () => assert.fail(prereq.problem));
} else {
  const cluster = new Cluster(prereq, { label: 'fail', seeds: 'all' });
  const steps = stepper();
  const step = steps.step(test);
  const names = cluster.names;

  describe('a session survives the SIGKILL of its node', () => {
    const users = {};
    let sessionId;
    let host;
    let survivors;
    let deadIncarnation;
    let generation;
    let spots;
    let onHost;
    let onSurvivor;
    let rejoined;
    const acks = [];

    before(async () => {
      try {
        await cluster.start();
        users.kim = await cluster.guest('a', 'Kim');
        users.lou = await cluster.guest('b', 'Lou');
      } catch (err) {
        steps.failed = true;
        throw err;
      }
    });

    after(async () => cluster.close(steps.failed));

    step('clients on the host and on a survivor drop pieces; the host\'s client holds a lock',
      async () => {
        sessionId = await cluster.createSession('a', users.kim, { rows: 3, cols: 4 });
        let entry;
        ({ host, entry } = await cluster.hostOf(sessionId, 'a'));
        generation = entry.generation;
        survivors = names.filter((n) => n !== host);
        deadIncarnation = await cluster.incarnation(host);
        onHost = await cluster.client(`kim@${host}`, users.kim, host);
        onSurvivor = await cluster.client(`lou@${survivors[0]}`, users.lou, survivors[0]);
        const state = await onHost.invoke('JoinPuzzleSession', sessionId, users.kim.userId);
        await onSurvivor.invoke('JoinPuzzleSession', sessionId, users.lou.userId);
        spots = new Map([0, 2, 8, 10].map((id) => [id, safeSpot(state, id)]));
        for (const [client, pieceId, dx] of [
          [onHost, 0, 0], [onSurvivor, 8, 0], [onHost, 0, 5], [onSurvivor, 10, 0],
        ]) {
          const spot = spots.get(pieceId);
          const ack = await lockAndDrop(client, sessionId, pieceId, spot.x + dx, spot.y);
          acks.push({ pieceId, x: spot.x + dx, y: spot.y, version: ack.version });
        }
        const mark = onSurvivor.mark();
        const held = await onHost.invoke('LockPiece', sessionId, 2);
        assert.equal(held.granted, true, brief(held));
        await onSurvivor.waitFor('PieceLocked', (e) => e.pieceId === 2, { from: mark });
      });

    step('killed, its session is active on a survivor within the grace period', async (t) => {
      const markSurvivor = onSurvivor.mark();
      await cluster.nodes[host].kill();
      const killedAt = Date.now();
      // The survivor that re-activates it logs so at once; the listing
      // below confirms it through the operator API.
      await Promise.any(survivors.map((n) => cluster.nodes[n].waitForOutput(
        new RegExp(`event=session_reactivated session=${sessionId} ` +
          `from_incarnation=${deadIncarnation}`), GRACE_MS + SLACK_MS)));
      const reactivatedAfter = Date.now() - killedAt;
      const moved = await pollUntil(`session ${sessionId} to be re-activated on a survivor`,
        GRACE_MS + SLACK_MS, async () => {
          const e = await cluster.sessionEntry(survivors[0], sessionId);
          return e && e.node !== cluster.nodeId(host) && e.generation > generation ? e : undefined;
        }, { every: 100, describe: () => cluster.sessionEntry(survivors[0], sessionId) });
      t.diagnostic(`session re-activated on ${moved.node} ${reactivatedAfter} ms after the ` +
        `kill (grace period ${GRACE_MS} ms); listed by the operator API after ` +
        `${Date.now() - killedAt} ms; the survivor's client is on node-${survivors[0]}`);
      assert.ok(survivors.map((n) => cluster.nodeId(n)).includes(moved.node), brief(moved));
      assert.equal(moved.generation, generation + 1, `one claim: ${brief(moved)}`);
      assert.notEqual(moved.incarnation, deadIncarnation);
      const seenByOther = await cluster.sessionEntry(survivors[1], sessionId);
      assert.equal(seenByOther.node, moved.node);
      assert.equal(seenByOther.generation, moved.generation);
      const newHost = names.find((n) => cluster.nodeId(n) === moved.node);
      await cluster.nodes[newHost].waitForOutput(
        new RegExp(`event=session_reactivated session=${sessionId} ` +
          `from_incarnation=${deadIncarnation}`));
      // The survivor's client actor joined the re-activated session again.
      try {
        await onSurvivor.waitFor('SessionStateUpdate', (s) => s.sessionId === sessionId,
          { from: markSurvivor, timeout: GRACE_MS + SLACK_MS });
      } catch (err) {
        // What the client actor says about itself (joined sessions,
        // outstanding calls, re-joining) explains a missing re-join.
        const probe = await cluster.api(survivors[0], 'GET',
          `/api/cluster/actors/client/${users.lou.userId}`);
        err.message += `; lou's client actor on ${survivors[0]}: ${probe.status} ${probe.text}`;
        throw err;
      }
      generation = moved.generation;
    });

    step('the killed node\'s client reconnects to a survivor and finds every drop', async () => {
      const closed = await withTimeout(onHost.closed, CALL_TIMEOUT_MS,
        'the SignalR connection to the killed node to close');
      assert.ok(closed !== undefined);
      rejoined = await cluster.client(`kim@${survivors[1]}`, users.kim, survivors[1]);
      const state = await rejoined.invoke('JoinPuzzleSession', sessionId, users.kim.userId);
      const last = acks.at(-1).version;
      assert.ok(state.version >= last, `version ${state.version} after the drop at ${last}`);
      const pieces = piecesById(state);
      const latest = new Map(acks.map((a) => [a.pieceId, a]));
      for (const [pieceId, a] of latest) {
        assert.equal(pieces.get(pieceId).x, a.x, `piece ${pieceId}: ${brief(pieces.get(pieceId))}`);
        assert.equal(pieces.get(pieceId).y, a.y);
      }
      // The lease of the dead node's client died with it.
      assert.equal(pieces.get(2).lockedBy ?? null, null, brief(pieces.get(2)));
    });

    step('the survivor\'s client keeps playing and can take the dead client\'s piece',
      async () => {
        // Calls that met the dead actor were answered with an error; once the
        // client actor has re-joined, they succeed.
        const lock = await pollUntil('Lou to lock piece 2 after the failover', CALL_TIMEOUT_MS,
          () => onSurvivor.invoke('LockPiece', sessionId, 2), { every: 100 });
        assert.equal(lock.granted, true, brief(lock));
        const mark = rejoined.mark();
        const spot = spots.get(2);
        const ack = await onSurvivor.invoke('MovePiece', sessionId, 2, spot.x, spot.y, 0);
        assert.equal(ack.success, true, brief(ack));
        assert.ok(ack.version > acks.at(-1).version);
        acks.push({ pieceId: 2, x: spot.x, y: spot.y, version: ack.version });
        const seen = await rejoined.waitFor('PieceMoved', (e) => e.version === ack.version,
          { from: mark });
        assert.equal(seen.pieceId, 2);
        // And the reconnected client plays too.
        const again = await lockAndDrop(rejoined, sessionId, 0, spots.get(0).x + 2, spots.get(0).y);
        assert.ok(again.version > ack.version);
        acks.push({ pieceId: 0, x: spots.get(0).x + 2, y: spots.get(0).y, version: again.version });
      });

    step('restarted under its node id it is a new incarnation; the old stays down; ' +
      'a migration to its node id lands on the new one', async () => {
      await cluster.nodes[host].start();
      for (const name of names) await cluster.waitAllUp(name);
      const list = await cluster.members(survivors[0]);
      const mine = list.filter((m) => m.nodeId === cluster.nodeId(host));
      assert.equal(mine.length, 2, brief(mine));
      assert.equal(mine.find((m) => m.incarnation === deadIncarnation)?.state, 'down');
      const fresh = mine.find((m) => m.state === 'up');
      assert.notEqual(fresh.incarnation, deadIncarnation);
      assert.equal(fresh.address, cluster.clusterAddress[host]);
      assert.equal(await cluster.incarnation(host), fresh.incarnation);

      const res = await cluster.migrate(survivors[0], sessionId, cluster.nodeId(host));
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.incarnation, fresh.incarnation, res.text);
      const entry = await cluster.sessionEntry(host, sessionId);
      assert.equal(entry.incarnation, fresh.incarnation, brief(entry));
      assert.equal(entry.generation, generation + 1, brief(entry));
      const ack = await lockAndDrop(onSurvivor, sessionId, 8, spots.get(8).x + 4, spots.get(8).y);
      assert.ok(ack.version > acks.at(-1).version);
      const state = await rejoined.invoke('GetSessionState', sessionId);
      assert.equal(state.version, ack.version);
      assert.equal(piecesById(state).get(8).x, spots.get(8).x + 4);
      assert.equal(piecesById(state).get(0).x, spots.get(0).x + 2);
      assert.equal(piecesById(state).get(2).x, spots.get(2).x);
    });
  });
}
