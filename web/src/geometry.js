// Puzzle geometry: grid choice, piece boxes and rotation, and the jigsaw cut.
//
// The server decides which edges are tabs and which are blanks
// (SessionState.edges, [top, right, bottom, left] per piece: 1 tab, -1 blank,
// 0 flat). The exact curve of each edge is drawn here; it is a function of the
// edge alone (its position in the grid and the session's seed), so the two
// pieces that share an edge always draw the same curve and fit.

/** Piece counts offered when creating a session. */
export const PIECE_COUNTS = [4, 12, 24, 48, 96, 150, 300, 500, 1000];

/**
 * The grid (rows x cols) for about `count` pieces of an image so that pieces
 * are close to square. Exact counts win when a near-square grid has them.
 */
export function chooseGrid(count, width, height, maxSide = 1000) {
  let best = null;
  for (let rows = 1; rows <= Math.min(count, maxSide); rows += 1) {
    const ideal = count / rows;
    for (const cols of new Set([Math.floor(ideal), Math.ceil(ideal)])) {
      if (cols < 1 || cols > maxSide || rows * cols < 2) continue;
      const aspect = (width / cols) / (height / rows);
      const score = Math.abs(Math.log(aspect)) + 3 * Math.abs(Math.log((rows * cols) / count));
      if (!best || score < best.score) best = { rows, cols, score };
    }
  }
  return best ? { rows: best.rows, cols: best.cols } : { rows: 1, cols: 2 };
}

/** Turns (x, y) clockwise by `quarters` quarter turns (screen y grows down). */
export function turn(x, y, quarters) {
  switch (((quarters % 4) + 4) % 4) {
    case 1: return { x: -y, y: x };
    case 2: return { x: -x, y: -y };
    case 3: return { x: y, y: -x };
    default: return { x, y };
  }
}

/** Size of a piece's cell on the table at a rotation (tabs excluded). */
export function cellBox(state, rotation) {
  const quarter = rotation === 90 || rotation === 270;
  return quarter
    ? { w: state.pieceHeight, h: state.pieceWidth }
    : { w: state.pieceWidth, h: state.pieceHeight };
}

/** The table position where piece `id` belongs (rotation 0). */
export function correctSpot(state, id) {
  return {
    x: state.board.x + (id % state.cols) * state.pieceWidth,
    y: state.board.y + Math.floor(id / state.cols) * state.pieceHeight,
  };
}

/**
 * A piece's `x, y` is the top-left corner of its (rotated) cell; the centre is
 * what rotation keeps in place on screen.
 */
export function pieceCenter(state, x, y, rotation) {
  const box = cellBox(state, rotation);
  return { x: x + box.w / 2, y: y + box.h / 2 };
}

export function topLeftFromCenter(state, cx, cy, rotation) {
  const box = cellBox(state, rotation);
  return { x: cx - box.w / 2, y: cy - box.h / 2 };
}

// ---------------------------------------------------------------------------
// The cut.

// 32-bit FNV-1a of a string, then mulberry32: a small, fully specified
// generator, so every browser draws the same curve for the same edge.
function hash32(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TAB = 0.1; // tab size, in units of the smaller piece side
const JITTER = 0.04; // random variation of the tab, same unit

/**
 * The ten Bezier points (start, 3 x [c1, c2, end]) of one inner edge in image
 * coordinates, in its canonical direction: left to right for horizontal
 * edges, top to bottom for vertical ones. `bulge` is +1 when the tab sticks
 * out towards +y (horizontal) or +x (vertical), -1 the other way.
 *
 * The shape is the classic one of Draradech's jigsaw generator: a neck that
 * narrows, a round head, and small random offsets so that no two tabs look
 * alike.
 */
function edgeCurve(kind, r, c, bulge, geo) {
  const { pw, ph, seed } = geo;
  const s = Math.min(pw, ph);
  const rand = mulberry32(hash32(`${seed}:${kind}:${r}:${c}`));
  const u = () => (rand() * 2 - 1) * JITTER;
  const a = u();
  const b = u();
  const cc = u();
  const d = u();
  const e = u();
  const t = TAB;
  const length = kind === 'h' ? pw : ph;
  // Along the edge: the tab part is laid out on a stretch as long as `s`,
  // centred; perpendicular: offsets in units of `s`, towards the bulge.
  const mid = length / 2;
  const along = (v) => mid + (v - 0.5) * s;
  // Perpendicular offset: a positive v points into the tab.
  const across = (v) => v * s * bulge;
  const local = [
    [0, 0],
    [Math.min(along(0.2), length * 0.2), across(a)],
    [along(0.5 + b + d), across(-t + cc)],
    [along(0.5 - t + b), across(t + cc)],
    [along(0.5 - 2 * t + b - d), across(3 * t + cc)],
    [along(0.5 + 2 * t + b - d), across(3 * t + cc)],
    [along(0.5 + t + b), across(t + cc)],
    [along(0.5 + b + d), across(-t + cc)],
    [Math.max(along(0.8), length * 0.8), across(e)],
    [length, 0],
  ];
  if (kind === 'h') {
    const x0 = c * pw;
    const y0 = (r + 1) * ph;
    return local.map(([l, w]) => [x0 + l, y0 + w]);
  }
  const x0 = (c + 1) * pw;
  const y0 = r * ph;
  return local.map(([l, w]) => [x0 + w, y0 + l]);
}

/** How far, at most, a tab sticks out of its cell (in table units). */
export function tabReach(pw, ph) {
  return Math.min(pw, ph) * (3 * TAB + 2 * JITTER + 0.02);
}

/**
 * The outline of piece `id` as a list of path commands in the piece's own
 * coordinates (origin at its cell's top-left corner, rotation 0):
 * ['M', x, y], ['L', x, y], ['C', x1, y1, x2, y2, x, y], ['Z'].
 */
export function pieceOutline(state, id) {
  const { rows, cols } = state;
  const geo = { pw: state.pieceWidth, ph: state.pieceHeight, seed: String(state.seed ?? '0') };
  const r = Math.floor(id / cols);
  const c = id % cols;
  const edges = state.edges?.[id] ?? [
    r === 0 ? 0 : 1, c === cols - 1 ? 0 : 1, r === rows - 1 ? 0 : 1, c === 0 ? 0 : 1,
  ];
  const ox = c * geo.pw;
  const oy = r * geo.ph;
  const toLocal = (pts) => pts.map(([x, y]) => [x - ox, y - oy]);
  const cmds = [['M', 0, 0]];
  const follow = (pts) => {
    for (let i = 1; i + 2 < pts.length; i += 3) {
      cmds.push(['C', ...pts[i], ...pts[i + 1], ...pts[i + 2]]);
    }
  };
  // Top: the horizontal edge below row r-1, left to right; the tab sticks up
  // (towards -y) when this piece has a tab there.
  if (edges[0] === 0 || r === 0) cmds.push(['L', geo.pw, 0]);
  else follow(toLocal(edgeCurve('h', r - 1, c, -edges[0], geo)));
  // Right: the vertical edge right of column c, top to bottom.
  if (edges[1] === 0 || c === cols - 1) cmds.push(['L', geo.pw, geo.ph]);
  else follow(toLocal(edgeCurve('v', r, c, edges[1], geo)));
  // Bottom: the horizontal edge below row r, walked right to left.
  if (edges[2] === 0 || r === rows - 1) cmds.push(['L', 0, geo.ph]);
  else follow(toLocal(edgeCurve('h', r, c, edges[2], geo)).reverse());
  // Left: the vertical edge right of column c-1, walked bottom to top.
  if (edges[3] === 0 || c === 0) cmds.push(['L', 0, 0]);
  else follow(toLocal(edgeCurve('v', r, c - 1, -edges[3], geo)).reverse());
  cmds.push(['Z']);
  return cmds;
}

/** A Path2D from pieceOutline's commands, offset by (dx, dy). */
export function outlinePath(cmds, dx = 0, dy = 0) {
  const path = new Path2D();
  for (const [op, ...v] of cmds) {
    if (op === 'M') path.moveTo(v[0] + dx, v[1] + dy);
    else if (op === 'L') path.lineTo(v[0] + dx, v[1] + dy);
    else if (op === 'C') {
      path.bezierCurveTo(v[0] + dx, v[1] + dy, v[2] + dx, v[3] + dy, v[4] + dx, v[5] + dy);
    } else path.closePath();
  }
  return path;
}
