// Peer: the puzzle relay on the Node `ws` library, speaking the node's /ws
// JSON protocol subset (join, drag, move; acks, errors and session events
// shaped as the node sends them), so one load generator drives both.
//
//   node ws_relay.mjs --port 9001 [--pieces 1000] [--store DIR]
//
// Prints "listening <port>" once it accepts connections.
import { WebSocketServer } from 'ws';
import { Rooms, stateOf, applyMove, parseArgs, MAX_QUEUED_BYTES } from './relay_core.mjs';

const args = parseArgs(process.argv);
const rooms = new Rooms(args);
let nextUser = 0;

const wss = new WebSocketServer({ port: args.port, host: '127.0.0.1', path: '/ws', perMessageDeflate: false, maxPayload: 64 * 1024 });

function send(ws, data) {
  // The slow-client policy: a reader that lets this much pile up is cut off.
  if (ws.bufferedAmount > MAX_QUEUED_BYTES) {
    ws.terminate();
    return;
  }
  ws.send(data);
}

function broadcast(room, frame, except) {
  for (const member of room.members) if (member !== except) send(member, frame);
}

function error(ws, id, code, message) {
  send(ws, JSON.stringify({ type: 'error', id, code, message }));
}

wss.on('connection', (ws) => {
  const userId = `user-${++nextUser}`;
  const joined = new Map();
  ws.on('message', async (data, isBinary) => {
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      return error(ws, undefined, 'INVALID_MESSAGE', 'Invalid message format');
    }
    if (isBinary || typeof msg !== 'object' || msg === null) return error(ws, undefined, 'INVALID_MESSAGE', 'Invalid message format');
    const { id } = msg;
    switch (msg.type) {
      case 'join': {
        if (typeof msg.sessionId !== 'string') return error(ws, id, 'INVALID_MESSAGE', 'sessionId is required');
        const room = await rooms.get(msg.sessionId);
        room.members.add(ws);
        joined.set(room.id, room);
        return send(ws, JSON.stringify({ type: 'ack', id, op: 'join', result: stateOf(room) }));
      }
      case 'drag':
      case 'move': {
        const room = joined.get(msg.sessionId);
        if (!room) return error(ws, id, 'NOT_JOINED', 'join the session first');
        const out = applyMove(room, msg);
        if (out.error) return error(ws, id, out.error.code, out.error.message);
        const p = out.piece;
        const drag = msg.type === 'drag';
        // One serialization per event, shared by every recipient.
        const frame = Buffer.from(
          JSON.stringify({
            type: 'event',
            channel: `session:${room.id}`,
            event: drag ? 'PieceDragged' : 'PieceMoved',
            data: drag
              ? { pieceId: p.id, x: p.x, y: p.y, rotation: p.rotation, userId }
              : { pieceId: p.id, x: p.x, y: p.y, rotation: p.rotation, movedBy: userId, isCorrectlyPlaced: false, groupId: p.id, version: room.version },
          }),
        );
        broadcast(room, frame, drag ? ws : undefined);
        if (id === undefined) return undefined;
        return send(
          ws,
          JSON.stringify({ type: 'ack', id, op: msg.type, result: drag ? null : { success: true, isCorrectlyPlaced: false, version: room.version } }),
        );
      }
      case 'ping':
        return send(ws, JSON.stringify({ type: 'pong', timestamp: new Date().toISOString() }));
      default:
        return error(ws, id, 'INVALID_MESSAGE', 'Unknown message type');
    }
  });
  ws.on('close', () => {
    for (const room of joined.values()) room.members.delete(ws);
  });
  ws.on('error', () => {});
});

wss.on('listening', () => {
  console.log(`listening ${wss.address().port}`);
});

for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
