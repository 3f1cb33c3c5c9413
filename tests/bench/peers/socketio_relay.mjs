// Peer: the puzzle relay on `socket.io`, with the node's Socket.IO event
// names (join, drag_piece, move_piece; acks {ok, ...}; piece_dragged and
// piece_moved broadcast to the room), so one load generator drives both.
// Broadcasts go through a room, which socket.io encodes once per emit.
//
//   node socketio_relay.mjs --port 9002 [--pieces 1000] [--store DIR]
//
// Prints "listening <port>" once it accepts connections.
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { Rooms, stateOf, applyMove, parseArgs, MAX_QUEUED_BYTES } from './relay_core.mjs';

const args = parseArgs(process.argv);
const rooms = new Rooms(args);
const http = createServer();
const io = new Server(http, { perMessageDeflate: false, httpCompression: false, maxHttpBufferSize: 1e6 });
let nextUser = 0;

io.on('connection', (socket) => {
  const userId = `user-${++nextUser}`;
  const joined = new Map();
  const reply = (ack, value) => {
    if (typeof ack === 'function') ack(value);
  };
  socket.on('join', async (msg, ack) => {
    if (typeof msg?.sessionId !== 'string') return reply(ack, { ok: false, code: 'INVALID_MESSAGE', message: 'sessionId is required' });
    const room = await rooms.get(msg.sessionId);
    joined.set(room.id, room);
    socket.join(room.id);
    return reply(ack, { ok: true, ...stateOf(room) });
  });
  const onPiece = (drag) => (msg, ack) => {
    const room = joined.get(msg?.sessionId);
    if (!room) return reply(ack, { ok: false, code: 'NOT_JOINED', message: 'join the session first' });
    const out = applyMove(room, msg);
    if (out.error) return reply(ack, { ok: false, ...out.error });
    const p = out.piece;
    if (drag) {
      socket.to(room.id).emit('piece_dragged', { pieceId: p.id, x: p.x, y: p.y, rotation: p.rotation, userId });
      return reply(ack, { ok: true });
    }
    io.to(room.id).emit('piece_moved', {
      pieceId: p.id, x: p.x, y: p.y, rotation: p.rotation, movedBy: userId, isCorrectlyPlaced: false, groupId: p.id, version: room.version,
    });
    return reply(ack, { ok: true, success: true, isCorrectlyPlaced: false, version: room.version });
  };
  socket.on('drag_piece', onPiece(true));
  socket.on('move_piece', onPiece(false));
});

// The slow-client policy, as the ws peer and the node: a WebSocket reader
// with more than MAX_QUEUED_BYTES queued is cut off (socket.io itself has no
// such limit; checked every 100 ms since a room emit has no per-member hook).
setInterval(() => {
  for (const socket of io.of('/').sockets.values()) {
    const ws = socket.conn?.transport?.socket;
    if (ws && ws.bufferedAmount > MAX_QUEUED_BYTES) ws.terminate();
  }
}, 100).unref();

http.listen(args.port, '127.0.0.1', () => {
  console.log(`listening ${http.address().port}`);
});

for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
