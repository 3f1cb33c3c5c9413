#include "actors/model/puzzle_model.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <limits>
#include <utility>

// Randomness: every client must be able to redraw the same cut from the
// session's seed, so the generator is splitmix64 (Steele, Lea, Flood 2014),
// whose output is fully specified, instead of <random> distributions, whose
// output differs between standard libraries.
//
// The cut algorithm, exactly:
//   state = seed; next() { state += 0x9E3779B97F4A7C15; z = state;
//     z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
//     z = (z ^ (z >> 27)) * 0x94D049BB133111EB; return z ^ (z >> 31); }
//   (all arithmetic modulo 2^64). Every edge starts flat. Then, for each row
//   r = 0..rows-1 and column c = 0..cols-2 in that order, the vertical edge
//   between (r, c) and (r, c+1) draws one next(): if its top bit (z >> 63)
//   is 1, piece (r, c) gets a tab on its right and (r, c+1) a blank on its
//   left, else the reverse. After that, for each row r = 0..rows-2 and
//   column c = 0..cols-1, the horizontal edge between (r, c) and (r+1, c)
//   draws one next() the same way: top bit 1 puts the tab on the bottom of
//   (r, c) and the blank on the top of (r+1, c), else the reverse.
//
// The layout uses its own splitmix64 stream seeded with seed ^ layout_salt,
// so a client that only redraws the cut need not know it.

namespace puzzle::model {

namespace {

constexpr uint64_t layout_salt = 0x6C61796F75745F31ULL; // "layout_1"

class splitmix64 {
public:
  explicit splitmix64(uint64_t seed) noexcept : state_(seed) {}

  uint64_t next() noexcept {
    state_ += 0x9E3779B97F4A7C15ULL;
    uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }

  /// Uniform in [0, 1): the top 53 bits scaled exactly, so the result is the
  /// same on every IEEE-754 platform.
  double next_unit() noexcept {
    return static_cast<double>(next() >> 11) * 0x1.0p-53;
  }

private:
  uint64_t state_;
};

std::string format_number(double x) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", x);
  return buf;
}

errc fail(std::string& message, errc code, std::string text) {
  message = std::move(text);
  return code;
}

// Checks 1..max for one integer field of the spec.
errc check_side(const char* what, int32_t value, int32_t max,
                std::string& message) {
  if (value < 1)
    return fail(message, errc::invalid_argument,
                std::string{what} + " must be at least 1 (got "
                    + std::to_string(value) + ")");
  if (value > max)
    return fail(message, errc::limit_exceeded,
                std::string{what} + " must be at most " + std::to_string(max)
                    + " (got " + std::to_string(value) + ")");
  return errc::none;
}

// Turns the vector (x, y) clockwise by `quarters` quarter turns. Screen y
// grows downwards, so one clockwise turn maps (x, y) to (-y, x). Only swaps
// and negations: exact, unlike a rotation matrix built with sin/cos.
point turn(point v, int32_t quarters) noexcept {
  switch (((quarters % 4) + 4) % 4) {
    case 1: return {-v.y, v.x};
    case 2: return {-v.x, -v.y};
    case 3: return {v.y, -v.x};
    default: return v;
  }
}

// Where neighbour `other` must sit relative to `self` when both share
// `rotation` and are joined.
point grid_offset(const geometry& geo, int32_t self, int32_t other,
                  int32_t rotation) noexcept {
  auto drow = other / geo.cols - self / geo.cols;
  auto dcol = other % geo.cols - self % geo.cols;
  return turn({dcol * geo.piece_width, drow * geo.piece_height}, rotation / 90);
}

// Up to four true grid neighbours of `id`; returns how many were written.
int neighbours(const geometry& geo, int32_t id,
               std::array<int32_t, 4>& out) noexcept {
  int n = 0;
  auto row = id / geo.cols;
  auto col = id % geo.cols;
  if (row > 0) out[static_cast<size_t>(n++)] = id - geo.cols;
  if (col + 1 < geo.cols) out[static_cast<size_t>(n++)] = id + 1;
  if (row + 1 < geo.rows) out[static_cast<size_t>(n++)] = id + geo.cols;
  if (col > 0) out[static_cast<size_t>(n++)] = id - 1;
  return n;
}

// How far `other` is from where it would sit if joined to `self`, per axis.
point misalignment(const geometry& geo, const piece_state& self,
                   const piece_state& other) noexcept {
  auto want = grid_offset(geo, self.id, other.id, self.rotation);
  return {std::fabs(other.x - self.x - want.x),
          std::fabs(other.y - self.y - want.y)};
}

/// Remembers the state of each piece before apply_move first changes it, so
/// that the outcome can list exactly the pieces that changed.
class change_log {
public:
  explicit change_log(const std::vector<piece_state>& pieces)
      : seen_(pieces.size(), 0) {}

  void touch(const piece_state& p) {
    auto& flag = seen_[static_cast<size_t>(p.id)];
    if (flag == 0) {
      flag = 1;
      before_.push_back(p);
    }
  }

  std::vector<int32_t> changed(const std::vector<piece_state>& pieces) const {
    std::vector<int32_t> ids;
    for (const auto& old : before_) {
      const auto& now = pieces[static_cast<size_t>(old.id)];
      if (now.x != old.x || now.y != old.y || now.rotation != old.rotation
          || now.placed != old.placed)
        ids.push_back(old.id);
    }
    std::sort(ids.begin(), ids.end());
    return ids;
  }

private:
  std::vector<char> seen_;
  std::vector<piece_state> before_;
};

std::vector<int32_t> members_of(const std::vector<piece_state>& pieces,
                                int32_t group_id) {
  std::vector<int32_t> ids;
  for (const auto& p : pieces)
    if (p.group_id == group_id) ids.push_back(p.id);
  return ids; // Already sorted: pieces are stored by id.
}

// Merges group `other` into group `self`; the merged group keeps the smaller
// id. If either was placed, every member is put exactly on its correct spot
// and placed (a placed group never moves, so the other one comes to it).
// Returns the merged group id.
int32_t merge_groups(const geometry& geo, std::vector<piece_state>& pieces,
                     change_log& log, int32_t self, int32_t other) {
  auto merged = std::min(self, other);
  bool placed = false;
  for (const auto& p : pieces)
    if ((p.group_id == self || p.group_id == other) && p.placed) placed = true;
  for (auto& p : pieces) {
    if (p.group_id != self && p.group_id != other) continue;
    p.group_id = merged;
    if (placed && !p.placed) {
      log.touch(p);
      auto spot = correct_position(geo, p.id);
      p.x = spot.x;
      p.y = spot.y;
      p.placed = true;
    }
  }
  return merged;
}

// Joins every group that is now exactly aligned with a true neighbour of
// group `gid`, repeatedly, so that a piece dropped into a gap connects on
// all sides. Returns the final group id.
int32_t absorb_aligned(const geometry& geo, std::vector<piece_state>& pieces,
                       change_log& log, int32_t gid, bool& joined) {
  std::array<int32_t, 4> around{};
  for (bool again = true; again;) {
    again = false;
    for (auto m : members_of(pieces, gid)) {
      const auto& self = pieces[static_cast<size_t>(m)];
      auto count = neighbours(geo, m, around);
      for (int i = 0; i < count && !again; ++i) {
        const auto& other
            = pieces[static_cast<size_t>(around[static_cast<size_t>(i)])];
        if (other.group_id == gid || other.rotation != self.rotation) continue;
        auto off = misalignment(geo, self, other);
        if (off.x <= align_epsilon && off.y <= align_epsilon) {
          gid = merge_groups(geo, pieces, log, gid, other.group_id);
          joined = true;
          again = true;
        }
      }
      if (again) break;
    }
  }
  return gid;
}

} // namespace

errc validate(const puzzle_spec& spec, const puzzle_limits& limits,
              std::string& message) {
  message.clear();
  if (auto err = check_side("image width", spec.image_width,
                            limits.max_image_side, message);
      err != errc::none)
    return err;
  if (auto err = check_side("image height", spec.image_height,
                            limits.max_image_side, message);
      err != errc::none)
    return err;
  if (spec.rows < 1)
    return fail(message, errc::invalid_argument,
                "rows must be at least 1 (got " + std::to_string(spec.rows)
                    + ")");
  if (spec.cols < 1)
    return fail(message, errc::invalid_argument,
                "cols must be at least 1 (got " + std::to_string(spec.cols)
                    + ")");
  // 64-bit, so that rows * cols cannot wrap into the allowed range.
  auto count = int64_t{spec.rows} * int64_t{spec.cols};
  if (count < limits.min_pieces || count > limits.max_pieces)
    return fail(message, errc::limit_exceeded,
                "pieces must be between " + std::to_string(limits.min_pieces)
                    + " and " + std::to_string(limits.max_pieces) + " (got "
                    + std::to_string(count) + ")");
  if (auto err = check_side("rows", spec.rows, limits.max_side, message);
      err != errc::none)
    return err;
  if (auto err = check_side("cols", spec.cols, limits.max_side, message);
      err != errc::none)
    return err;
  // Written so that NaN fails too: every comparison with NaN is false.
  if (!(spec.snap_ratio >= 0.0 && spec.snap_ratio <= max_snap_ratio))
    return fail(message, errc::invalid_argument,
                "snap_ratio must be between 0 and "
                    + format_number(max_snap_ratio) + " (got "
                    + format_number(spec.snap_ratio) + ")");
  if (!(spec.table_factor >= 1.0 && spec.table_factor <= max_table_factor))
    return fail(message, errc::invalid_argument,
                "table_factor must be between 1 and "
                    + format_number(max_table_factor) + " (got "
                    + format_number(spec.table_factor) + ")");
  return errc::none;
}

geometry make_geometry(const puzzle_spec& spec) {
  geometry geo;
  geo.rows = spec.rows;
  geo.cols = spec.cols;
  if (spec.rows < 1 || spec.cols < 1) return geo;
  auto width = static_cast<double>(spec.image_width);
  auto height = static_cast<double>(spec.image_height);
  geo.piece_width = width / spec.cols;
  geo.piece_height = height / spec.rows;
  geo.table_width = spec.table_factor * width;
  geo.table_height = spec.table_factor * height;
  geo.board_x = (geo.table_width - width) / 2;
  geo.board_y = (geo.table_height - height) / 2;
  geo.snap_tolerance
      = spec.snap_ratio * std::min(geo.piece_width, geo.piece_height);
  return geo;
}

std::vector<piece_edges> make_cut(int32_t rows, int32_t cols, uint64_t seed) {
  if (rows < 1 || cols < 1) return {};
  auto at = [cols](int32_t r, int32_t c) {
    return static_cast<size_t>(r) * static_cast<size_t>(cols)
        + static_cast<size_t>(c);
  };
  constexpr size_t top = 0, right = 1, bottom = 2, left = 3;
  std::vector<piece_edges> cut(
      at(rows, 0), {edge::flat, edge::flat, edge::flat, edge::flat});
  splitmix64 rng{seed};
  for (int32_t r = 0; r < rows; ++r)
    for (int32_t c = 0; c + 1 < cols; ++c) {
      auto tab_first = (rng.next() >> 63) == 1;
      cut[at(r, c)][right] = tab_first ? edge::tab : edge::blank;
      cut[at(r, c + 1)][left] = tab_first ? edge::blank : edge::tab;
    }
  for (int32_t r = 0; r + 1 < rows; ++r)
    for (int32_t c = 0; c < cols; ++c) {
      auto tab_first = (rng.next() >> 63) == 1;
      cut[at(r, c)][bottom] = tab_first ? edge::tab : edge::blank;
      cut[at(r + 1, c)][top] = tab_first ? edge::blank : edge::tab;
    }
  return cut;
}

point correct_position(const geometry& geo, int32_t id) {
  if (geo.cols < 1) return {};
  return {geo.board_x + (id % geo.cols) * geo.piece_width,
          geo.board_y + (id / geo.cols) * geo.piece_height};
}

extent cell_extent(const geometry& geo, int32_t rotation) noexcept {
  if (rotation == 90 || rotation == 270)
    return {geo.piece_height, geo.piece_width};
  return {geo.piece_width, geo.piece_height};
}

std::vector<piece_state> make_layout(const puzzle_spec& spec,
                                     const geometry& geo) {
  std::vector<piece_state> pieces;
  if (geo.rows < 1 || geo.cols < 1) return pieces;
  auto count = int64_t{geo.rows} * int64_t{geo.cols};
  pieces.reserve(static_cast<size_t>(count));
  auto board_w = static_cast<double>(spec.image_width);
  auto board_h = static_cast<double>(spec.image_height);
  const auto tw = geo.table_width;
  const auto th = geo.table_height;
  splitmix64 rng{spec.seed ^ layout_salt};
  for (int32_t id = 0; id < count; ++id) {
    piece_state p;
    p.id = id;
    p.group_id = id;
    if (spec.rotation) {
      p.rotation = static_cast<int32_t>(rng.next() >> 62) * 90;
      // A turned piece taller than the table has no legal spot; lay it
      // sideways instead (it always fits unturned: table >= image).
      auto box = cell_extent(geo, p.rotation);
      if (box.width > tw || box.height > th)
        p.rotation = (p.rotation + 90) % 360;
    }
    auto box = cell_extent(geo, p.rotation);
    // The four margins around the board, as ranges of top-left corners that
    // keep the whole box on the table and off the board. Each is weighted by
    // the margin's area so that pieces spread evenly over free table.
    struct strip {
      double x0, x1, y0, y1, weight;
    };
    const strip strips[] = {
        {0, geo.board_x - box.width, 0, th - box.height, geo.board_x * th},
        {geo.board_x + board_w, tw - box.width, 0, th - box.height,
         (tw - geo.board_x - board_w) * th},
        {0, tw - box.width, 0, geo.board_y - box.height, tw * geo.board_y},
        {0, tw - box.width, geo.board_y + board_h, th - box.height,
         tw * (th - geo.board_y - board_h)},
    };
    double total = 0;
    for (const auto& s : strips)
      if (s.x1 >= s.x0 && s.y1 >= s.y0) total += s.weight;
    // Anywhere on the table when the margins are too narrow for this piece.
    strip pick{0, std::max(0.0, tw - box.width), 0,
               std::max(0.0, th - box.height), 0};
    auto choice = rng.next_unit() * total;
    for (const auto& s : strips) {
      if (!(s.x1 >= s.x0 && s.y1 >= s.y0)) continue;
      pick = s;
      if (choice < s.weight) break;
      choice -= s.weight;
    }
    p.x = pick.x0 + rng.next_unit() * (pick.x1 - pick.x0);
    p.y = pick.y0 + rng.next_unit() * (pick.y1 - pick.y0);
    pieces.push_back(p);
  }
  return pieces;
}

bool valid_rotation(int32_t rotation) noexcept {
  return rotation == 0 || rotation == 90 || rotation == 180 || rotation == 270;
}

move_outcome apply_move(const geometry& geo, std::vector<piece_state>& pieces,
                        int32_t id, double x, double y, int32_t rotation,
                        bool allow_rotation, bool snap) {
  move_outcome out;
  auto refuse = [&out](errc code) {
    out.error = code;
    return out;
  };
  if (!std::isfinite(x) || !std::isfinite(y) || !valid_rotation(rotation)
      || (rotation != 0 && !allow_rotation) || id < 0
      || static_cast<size_t>(id) >= pieces.size())
    return refuse(errc::invalid_move);
  // A state that does not match its geometry is our bug, not the client's.
  if (geo.rows < 1 || geo.cols < 1
      || int64_t{geo.rows} * geo.cols != static_cast<int64_t>(pieces.size())
      || pieces[static_cast<size_t>(id)].id != id)
    return refuse(errc::internal);
  const auto anchor = pieces[static_cast<size_t>(id)];
  if (anchor.placed) return refuse(errc::invalid_move);
  auto gid = anchor.group_id;
  auto group = members_of(pieces, gid);
  auto quarters = (rotation - anchor.rotation) / 90;
  // Offsets of the members from the moved piece after the turn; computed
  // before anything changes so that a refused move leaves no trace.
  std::vector<point> offsets;
  offsets.reserve(group.size());
  auto box = cell_extent(geo, rotation);
  auto lo = point{-std::numeric_limits<double>::infinity(),
                  -std::numeric_limits<double>::infinity()};
  auto hi = point{std::numeric_limits<double>::infinity(),
                  std::numeric_limits<double>::infinity()};
  for (auto m : group) {
    const auto& p = pieces[static_cast<size_t>(m)];
    auto off = turn({p.x - anchor.x, p.y - anchor.y}, quarters);
    offsets.push_back(off);
    lo.x = std::max(lo.x, -off.x);
    lo.y = std::max(lo.y, -off.y);
    hi.x = std::min(hi.x, geo.table_width - box.width - off.x);
    hi.y = std::min(hi.y, geo.table_height - box.height - off.y);
  }
  // Only a turned group longer than the table can get here.
  if (lo.x > hi.x || lo.y > hi.y) return refuse(errc::invalid_move);
  x = std::clamp(x, lo.x, hi.x);
  y = std::clamp(y, lo.y, hi.y);
  change_log log{pieces};
  for (size_t i = 0; i < group.size(); ++i) {
    auto& p = pieces[static_cast<size_t>(group[i])];
    log.touch(p);
    p.x = x + offsets[i].x;
    p.y = y + offsets[i].y;
    p.rotation = rotation;
  }
  if (snap) {
    const auto tol = geo.snap_tolerance;
    auto spot = correct_position(geo, id);
    if (rotation == 0 && std::fabs(x - spot.x) <= tol
        && std::fabs(y - spot.y) <= tol) {
      for (auto m : group) {
        auto& p = pieces[static_cast<size_t>(m)];
        auto exact = correct_position(geo, m);
        p.x = exact.x;
        p.y = exact.y;
        p.placed = true;
      }
      out.placed = true;
      gid = absorb_aligned(geo, pieces, log, gid, out.joined);
    } else {
      // Closest true neighbour of any member first; ties go to the lowest
      // member id, then to the neighbour order top, right, bottom, left.
      struct candidate {
        double distance;
        int32_t member;
        int32_t other;
      };
      std::vector<candidate> found;
      std::array<int32_t, 4> around{};
      for (auto m : group) {
        const auto& self = pieces[static_cast<size_t>(m)];
        auto count = neighbours(geo, m, around);
        for (int i = 0; i < count; ++i) {
          const auto& other
              = pieces[static_cast<size_t>(around[static_cast<size_t>(i)])];
          if (other.group_id == gid || other.rotation != rotation) continue;
          auto off = misalignment(geo, self, other);
          if (off.x <= tol && off.y <= tol)
            found.push_back({std::max(off.x, off.y), m, other.id});
        }
      }
      std::stable_sort(found.begin(), found.end(),
                       [](const candidate& a, const candidate& b) {
                         return a.distance < b.distance;
                       });
      for (const auto& c : found) {
        const auto& self = pieces[static_cast<size_t>(c.member)];
        const auto& other = pieces[static_cast<size_t>(c.other)];
        auto want = grid_offset(geo, c.member, c.other, rotation);
        auto dx = other.x - want.x - self.x;
        auto dy = other.y - want.y - self.y;
        // The shift is at most the tolerance, but may still push a group
        // clamped at an edge off the table; skip that neighbour rather than
        // move someone else's group.
        bool fits = true;
        for (auto m : group) {
          const auto& p = pieces[static_cast<size_t>(m)];
          fits = fits && p.x + dx >= -align_epsilon
              && p.y + dy >= -align_epsilon
              && p.x + dx + box.width <= geo.table_width + align_epsilon
              && p.y + dy + box.height <= geo.table_height + align_epsilon;
        }
        if (!fits) continue;
        auto other_group = other.group_id;
        for (auto m : group) {
          auto& p = pieces[static_cast<size_t>(m)];
          p.x += dx;
          p.y += dy;
        }
        gid = merge_groups(geo, pieces, log, gid, other_group);
        out.joined = true;
        gid = absorb_aligned(geo, pieces, log, gid, out.joined);
        break;
      }
    }
  }
  const auto& moved = pieces[static_cast<size_t>(id)];
  out.placed = moved.placed;
  out.group_id = moved.group_id;
  out.group_members = members_of(pieces, moved.group_id);
  out.moved = log.changed(pieces);
  return out;
}

std::vector<int32_t> group_of(const std::vector<piece_state>& pieces,
                              int32_t id) {
  if (id < 0 || static_cast<size_t>(id) >= pieces.size()) return {};
  auto gid = pieces[static_cast<size_t>(id)].group_id;
  std::vector<int32_t> ids;
  for (const auto& p : pieces)
    if (p.group_id == gid) ids.push_back(p.id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

int32_t placed_count(const std::vector<piece_state>& pieces) noexcept {
  int32_t n = 0;
  for (const auto& p : pieces)
    if (p.placed) ++n;
  return n;
}

bool is_complete(const std::vector<piece_state>& pieces) noexcept {
  return !pieces.empty()
      && std::all_of(pieces.begin(), pieces.end(), [](const piece_state& p) {
           return p.placed;
         });
}

namespace {

// Decodes one strictly valid UTF-8 sequence at `pos`. Returns its length in
// bytes (code point in `cp`), or 0 for anything invalid: stray continuation
// bytes, overlong forms, surrogates, values above U+10FFFF, truncation.
size_t decode_utf8(const std::string& text, size_t pos, char32_t& cp) noexcept {
  auto byte = [&text](size_t i) {
    return static_cast<unsigned char>(text[i]);
  };
  auto b0 = byte(pos);
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  size_t len = 0;
  // The allowed range of the second byte rules out overlong forms (E0, F0),
  // surrogates (ED) and values above U+10FFFF (F4) in one check.
  unsigned char lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
    cp = b0 & 0x1Fu;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    cp = b0 & 0x0Fu;
    if (b0 == 0xE0)
      lo = 0xA0;
    else if (b0 == 0xED)
      hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    cp = b0 & 0x07u;
    if (b0 == 0xF0)
      lo = 0x90;
    else if (b0 == 0xF4)
      hi = 0x8F;
  } else {
    return 0;
  }
  if (text.size() - pos < len) return 0;
  for (size_t i = 1; i < len; ++i) {
    auto b = byte(pos + i);
    if (b < lo || b > hi) return 0;
    lo = 0x80;
    hi = 0xBF;
    cp = (cp << 6) | (b & 0x3Fu);
  }
  return len;
}

// ASCII white space plus Unicode's White_Space spaces and separators, and
// U+FEFF, which editors leave at the start of pasted text.
bool is_trimmed_space(char32_t cp) noexcept {
  switch (cp) {
    case U' ':
    case U'\t':
    case U'\n':
    case U'\v':
    case U'\f':
    case U'\r':
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
    case 0xFEFF: return true;
    default: return cp >= 0x2000 && cp <= 0x200A;
  }
}

} // namespace

int64_t utf8_length(const std::string& text) noexcept {
  int64_t count = 0;
  char32_t cp = 0;
  for (size_t pos = 0; pos < text.size(); ++count) {
    auto len = decode_utf8(text, pos, cp);
    if (len == 0) return -1;
    pos += len;
  }
  return count;
}

std::string trim_unicode(const std::string& text) {
  char32_t cp = 0;
  size_t first = 0;
  while (first < text.size()) {
    auto len = decode_utf8(text, first, cp);
    if (len == 0 || !is_trimmed_space(cp)) break;
    first += len;
  }
  size_t last = text.size();
  while (last > first) {
    // Step back to the lead byte of the last sequence (at most 3 bytes).
    auto start = last - 1;
    while (start > first && last - start < 4
           && (static_cast<unsigned char>(text[start]) & 0xC0u) == 0x80u)
      --start;
    auto len = decode_utf8(text, start, cp);
    if (len != last - start || !is_trimmed_space(cp)) break;
    last = start;
  }
  return text.substr(first, last - first);
}

} // namespace puzzle::model
