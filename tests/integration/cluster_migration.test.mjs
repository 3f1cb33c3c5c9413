// Live migration and drain on three real puzzle-node processes (fresh
// database of the fixture's PostgreSQL, every node seeding the others).
//
// - Migration under load: two SignalR clients on two different nodes drop
//   pieces without pause (each drop a LockPiece and an acknowledged
//   MovePiece) while an operator moves the session with
//   POST /api/cluster/sessions/<id>/migrate, twice, to each of the other
//   nodes. Afterwards every acknowledged drop is in the final state and was
//   seen exactly once by each client with the acknowledged version and
//   position; each sender's versions strictly increase; nothing failed;
//   the session lives on the last target (GET /api/cluster/sessions, the
//   generation up by one per move). The longest gap between two
//   acknowledgements is reported (the pause a player notices).
// - Drain: POST /api/cluster/nodes/<node>/drain on the node that hosts the
//   session, while a client on another node plays: the answer counts the
//   moved sessions, the session lives elsewhere with its state intact,
//   drops are acknowledged after the drain, the drained node is leaving or
//   down for the others and its process exits 0.
//
// Run through CTest (integration.cluster_migration, label needs-services,
// fixture `postgresql`).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { brief, http, safeSpot } from './support/harness.mjs';
import {
  Cluster, SLACK_MS, TIMINGS, clusterPrerequisites, lockAndDrop, piecesById, pollUntil, stepper,
} from './support/cluster.mjs';

// How long the players drop before, between and after the moves.
const PLAY_BEFORE_MOVE = 10;
const PLAY_AFTER_MOVE = 10;

const prereq = clusterPrerequisites();

if (prereq.problem) {
  test('cluster migration: prerequisites', () => assert.fail(prereq.problem));
} else {
  // Players drop as fast as the node answers: the per-user budget of
// MovePiece/LockPiece calls is out of the way (this is not a rate test).
const cluster = new Cluster(prereq, {
  label: 'migr',
  seeds: 'all',
  args: () => ['--rate-limits.moves=token-bucket 100000 100000/1s'],
});
  const steps = stepper();
  const step = steps.step(test);
  const names = cluster.names;

  /// One player dropping its own pieces, one acknowledged drop after the
  /// other, until `stop` is set. Each drop goes to a new x, so a drop is
  /// recognised in the events and the state by (piece, x).
  class Player {
    constructor(client, sessionId, pieceIds, spots) {
      Object.assign(this, { client, sessionId, pieceIds, spots });
      this.acks = [];
      this.stopRequested = false;
      this.error = null;
    }

    start() {
      this.done = (async () => {
        for (let i = 0; !this.stopRequested; ++i) {
          const pieceId = this.pieceIds[i % this.pieceIds.length];
          const spot = this.spots.get(pieceId);
          // Within a few pixels of a safe spot: never snapped nor joined.
          const x = spot.x + (i % 7);
          try {
            const ack = await lockAndDrop(this.client, this.sessionId, pieceId, x, spot.y);
            this.acks.push({ pieceId, x, y: spot.y, version: ack.version, at: Date.now() });
          } catch (err) {
            this.error = err;
            return;
          }
        }
      })();
      return this;
    }

    /// Resolves once this player has `n` more acknowledgements than now.
    async more(n, ms = 20_000) {
      const target = this.acks.length + n;
      await pollUntil(`${this.client.label} to get ${n} more acknowledged drops`, ms,
        () => {
          if (this.error) throw this.error;
          return this.acks.length >= target ? true : undefined;
        }, { every: 10, describe: () => `${this.acks.length} acks` });
    }

    async stop() {
      this.stopRequested = true;
      await this.done;
      if (this.error) throw this.error;
    }
  }

  const maxGap = (acks) => {
    const times = acks.map((a) => a.at).sort((x, y) => x - y);
    let gap = 0;
    for (let i = 1; i < times.length; ++i) gap = Math.max(gap, times[i] - times[i - 1]);
    return gap;
  };

  describe('sessions move between three nodes while two players drop pieces', () => {
    let sessionId;
    let users;

    before(async () => {
      try {
        await cluster.start();
        users = { a: await cluster.guest('a', 'Ada'), b: await cluster.guest('b', 'Bo') };
      } catch (err) {
        steps.failed = true;
        throw err;
      }
    });

    after(async () => cluster.close(steps.failed));

    step('the operator API moves a session twice under load; every drop counts once',
      async (t) => {
        sessionId = await cluster.createSession('a', users.a, { rows: 3, cols: 4 });
        const { host, entry } = await cluster.hostOf(sessionId, 'a');
        const others = names.filter((n) => n !== host);
        // The players sit on two different nodes: one on the first host,
        // one on the node the session moves to last.
        const seats = [others[0], host];
        const clients = [
          await cluster.client(`p1@${seats[0]}`, users.a, seats[0]),
          await cluster.client(`p2@${seats[1]}`, users.b, seats[1]),
        ];
        const state = await clients[0].invoke('JoinPuzzleSession', sessionId, users.a.userId);
        await clients[1].invoke('JoinPuzzleSession', sessionId, users.b.userId);
        const startVersion = state.version;
        // Pieces 0 and 2 for one, 8 and 10 for the other: none is a
        // neighbour of another moving piece, so no drop joins two groups.
        const spots = new Map([0, 2, 8, 10].map((id) => [id, safeSpot(state, id)]));
        const marks = clients.map((c) => c.mark());
        const players = [
          new Player(clients[0], sessionId, [0, 2], spots).start(),
          new Player(clients[1], sessionId, [8, 10], spots).start(),
        ];

        const moves = [];
        let generation = entry.generation;
        try {
          for (const p of players) await p.more(PLAY_BEFORE_MOVE);
          // To each other node in turn: off the original host, then on.
          for (const target of [others[1], others[0]]) {
            const started = Date.now();
            const res = await cluster.migrate('b', sessionId, cluster.nodeId(target));
            assert.equal(res.status, 200, `migrate to ${target}: ${res.text}`);
            assert.equal(res.json.sessionId ?? res.json.id, sessionId, res.text);
            assert.equal(res.json.node, cluster.nodeId(target), res.text);
            assert.equal(res.json.incarnation, await cluster.incarnation(target), res.text);
            moves.push({ target, ms: Date.now() - started });
            const now = await cluster.sessionEntry('b', sessionId);
            assert.equal(now.node, cluster.nodeId(target), brief(now));
            assert.equal(now.generation, generation + 1, brief(now));
            generation += 1;
            for (const p of players) await p.more(PLAY_AFTER_MOVE);
          }
        } finally {
          for (const p of players) await p.stop();
        }

        const all = [...players[0].acks, ...players[1].acks];
        // Each sender's acknowledgements come in strictly increasing versions.
        for (const p of players) {
          p.acks.forEach((a, i) => {
            if (i > 0) {
              assert.ok(a.version > p.acks[i - 1].version,
                `${p.client.label}: version ${a.version} after ${p.acks[i - 1].version}`);
            }
          });
        }
        // No version was acknowledged twice.
        assert.equal(new Set(all.map((a) => a.version)).size, all.length);
        assert.ok(all.every((a) => a.version > startVersion));

        // Each client saw every acknowledged drop exactly once, as acknowledged.
        const byVersion = new Map(all.map((a) => [a.version, a]));
        for (const [i, c] of clients.entries()) {
          await pollUntil(`${c.label} to see every acknowledged drop`, 10_000, () => {
            const seen = new Set(c.found('PieceMoved', () => true, marks[i])
              .map((e) => e.data.version));
            return all.every((a) => seen.has(a.version)) ? true : undefined;
          });
          const moved = c.found('PieceMoved', () => true, marks[i]).map((e) => e.data);
          assert.equal(moved.length, all.length,
            `${c.label} saw ${moved.length} PieceMoved for ${all.length} drops`);
          for (const e of moved) {
            const a = byVersion.get(e.version);
            assert.ok(a, `${c.label}: PieceMoved of an unacknowledged version ${e.version}`);
            assert.equal(e.pieceId, a.pieceId);
            assert.equal(e.x, a.x);
            assert.equal(e.y, a.y);
          }
          const order = moved.map((e) => e.version);
          const outOfOrder = order.filter((v, k) => k > 0 && v < order[k - 1]).length;
          t.diagnostic(`${c.label}: ${moved.length} PieceMoved, ` +
            `${outOfOrder} out of version order`);
        }

        // The final state, from the store's owner and from every node: the
        // last drop of each piece, at the latest version.
        const last = new Map();
        for (const a of [...all].sort((x, y) => x.version - y.version)) last.set(a.pieceId, a);
        const finalVersion = Math.max(...all.map((a) => a.version));
        for (const view of [
          await clients[0].invoke('GetSessionState', sessionId),
          await clients[1].invoke('GetSessionState', sessionId),
          (await http('GET', `${cluster.base('c')}/api/sessions/${sessionId}`,
            { token: users.a.token })).json,
        ]) {
          assert.equal(view.version, finalVersion);
          const pieces = piecesById(view);
          for (const [pieceId, a] of last) {
            assert.equal(pieces.get(pieceId).x, a.x,
              `piece ${pieceId}: ${brief(pieces.get(pieceId))}`);
            assert.equal(pieces.get(pieceId).y, a.y);
          }
        }
        for (const name of names) {
          const now = await cluster.sessionEntry(name, sessionId);
          assert.equal(now.node, cluster.nodeId(others[0]), `seen from ${name}: ${brief(now)}`);
          assert.equal(now.generation, generation, `seen from ${name}: ${brief(now)}`);
        }

        const pause = maxGap(all);
        t.diagnostic(`drops acknowledged: ${players[0].acks.length} + ${players[1].acks.length}; ` +
          `migrations: ${moves.map((m) => `to ${m.target} in ${m.ms} ms`).join(', ')}; ` +
          `longest gap between acknowledgements: ${pause} ms`);
        for (const m of ['a', 'b', 'c']) {
          const logged = [...cluster.nodes[m].output.matchAll(
            /event=session_migrated [^\n]*pause_ms=(\d+)/g)].map((x) => Number(x[1]));
          if (logged.length) t.diagnostic(`node ${m} logged pause_ms=${logged.join(',')}`);
        }
        assert.ok(pause < 2 * TIMINGS.connectionTimeoutMs + SLACK_MS,
          `longest gap between acknowledgements ${pause} ms`);
      });

    step('draining the host moves its sessions; play goes on; the node exits 0', async (t) => {
      const { host, entry } = await cluster.hostOf(sessionId, 'a');
      const seat = names.find((n) => n !== host);
      const player = await cluster.client(`p3@${seat}`, users.b, seat);
      const initial = await player.invoke('JoinPuzzleSession', sessionId, users.b.userId);
      const spot = safeSpot(initial, 9);
      const first = await lockAndDrop(player, sessionId, 9, spot.x, spot.y);
      const hosted = (await cluster.sessions(seat))
        .filter((s) => s.node === cluster.nodeId(host)).length;
      assert.ok(hosted >= 1);
      const hostIncarnation = await cluster.incarnation(host);

      const started = Date.now();
      const res = await cluster.drain(seat, cluster.nodeId(host));
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.node, cluster.nodeId(host), res.text);
      assert.equal(res.json.sessionsMoved, hosted, res.text);
      t.diagnostic(`drain of ${host} moved ${hosted} session(s) in ${Date.now() - started} ms`);

      const exit = await cluster.nodes[host].exited;
      assert.equal(exit.code, 0, `the drained node's exit: ${JSON.stringify(exit)}`);
      for (const name of names.filter((n) => n !== host)) {
        await cluster.waitMembers(name, `node ${name} to see ${host} leave`,
          TIMINGS.connectionTimeoutMs + SLACK_MS, (l) => (['leaving', 'down'].includes(
            l.find((m) => m.incarnation === hostIncarnation)?.state) ? true : undefined));
      }
      const moved = await cluster.sessionEntry(seat, sessionId);
      assert.notEqual(moved.node, cluster.nodeId(host), brief(moved));
      assert.equal(moved.generation, entry.generation + 1, brief(moved));

      // The player goes on: its drop before the drain is there, the next is acknowledged.
      const second = await lockAndDrop(player, sessionId, 9, spot.x + 3, spot.y);
      assert.ok(second.version > first.version);
      const later = await player.invoke('GetSessionState', sessionId);
      assert.equal(later.version, second.version);
      assert.equal(piecesById(later).get(9).x, spot.x + 3);
      for (const p of initial.pieces.filter((q) => q.id !== 9)) {
        assert.deepEqual({ x: piecesById(later).get(p.id).x, y: piecesById(later).get(p.id).y },
          { x: p.x, y: p.y }, `piece ${p.id} unchanged by the drain`);
      }
    });
  });
}
