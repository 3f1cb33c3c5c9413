#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "actors/errc.hpp"

/// The jigsaw's rules as plain C++: no I/O, no actors, no clocks. The session
/// actor is the only caller in production; tests call it directly.
namespace puzzle::model {

/// Limits a session must respect; they come from config (`limits.*`).
struct puzzle_limits {
  int32_t min_pieces = 2;
  int32_t max_pieces = 5000;
  int32_t max_side = 200;         ///< Upper bound for rows and for cols.
  int32_t max_image_side = 16384; ///< Upper bound for image width/height.
};

/// What a new session is made of.
struct puzzle_spec {
  int32_t image_width = 0;
  int32_t image_height = 0;
  int32_t rows = 0;
  int32_t cols = 0;
  uint64_t seed = 0;
  bool rotation = false;     ///< Pieces may be rotated (0/90/180/270).
  double snap_ratio = 0.02;  ///< Snap tolerance as a share of piece size.
  double table_factor = 2.0; ///< Table side = factor * image side.
};

/// Upper bound for `puzzle_spec::snap_ratio`: a tolerance above half a piece
/// would let one drop match two spots.
inline constexpr double max_snap_ratio = 0.5;

/// Upper bound for `puzzle_spec::table_factor`; keeps every coordinate
/// within a sane multiple of the image (the lower bound is 1: the solved
/// image must fit on the table).
inline constexpr double max_table_factor = 16.0;

/// Checks a spec against the limits before anything is allocated.
/// @returns `errc::none`, `errc::limit_exceeded` (piece count, rows/cols,
///          image side) or `errc::invalid_argument` (non-positive or
///          non-finite values); `message` names the violated limit.
errc validate(const puzzle_spec& spec, const puzzle_limits& limits,
              std::string& message);

/// Sizes derived from a valid spec. The board (where the solved image goes)
/// is centred on the table.
struct geometry {
  double piece_width = 0;
  double piece_height = 0;
  double table_width = 0;
  double table_height = 0;
  double board_x = 0;
  double board_y = 0;
  double snap_tolerance = 0; ///< snap_ratio * min(piece_width, piece_height)
  int32_t rows = 0;
  int32_t cols = 0;
};

geometry make_geometry(const puzzle_spec& spec);

/// Edge shapes, as seen from the piece that owns the edge: a tab sticks out,
/// a blank goes in. Neighbours see the same edge with opposite signs.
enum class edge : int8_t { blank = -1, flat = 0, tab = 1 };

/// The four edges of one piece in the order top, right, bottom, left.
using piece_edges = std::array<edge, 4>;

/// The cut of the whole puzzle, one entry per piece (index = piece id).
/// Deterministic in (rows, cols, seed): every client draws the same cut.
/// Border edges are flat; every inner edge is a tab on one side and a blank
/// on the other.
std::vector<piece_edges> make_cut(int32_t rows, int32_t cols, uint64_t seed);

/// One piece on the table. `x, y` is the table position of the top-left
/// corner of its grid cell (tabs excluded).
struct piece_state {
  int32_t id = 0;
  double x = 0;
  double y = 0;
  int32_t rotation = 0; ///< 0, 90, 180 or 270 degrees, clockwise.
  bool placed = false;  ///< On its correct spot; fixed from then on.
  int32_t group_id = 0; ///< Pieces with the same group move as one; a
                        ///< single piece's group is its own id.
};

/// The correct top-left position of piece `id`.
struct point {
  double x = 0;
  double y = 0;
};
point correct_position(const geometry& geo, int32_t id);

/// Width and height of a piece's axis-aligned box on the table.
struct extent {
  double width = 0;
  double height = 0;
};

/// The box of a piece at `rotation`: `piece_width x piece_height` at 0 and
/// 180, swapped at 90 and 270. A rotated piece's `x, y` is the top-left
/// corner of this box, which makes the position of one group member relative
/// to another exactly their grid offset `(dcol * piece_width, drow *
/// piece_height)` turned clockwise by the rotation in quarter turns.
extent cell_extent(const geometry& geo, int32_t rotation) noexcept;

/// Two pieces within this distance (per axis) of their relative grid offset
/// count as exactly aligned: floating-point slack, far below any tolerance.
inline constexpr double align_epsilon = 1e-6;

/// A scattered start layout: every piece inside the table, as far as the
/// table allows outside the board, each its own group, not placed; random
/// rotations when `spec.rotation` is set. Deterministic in the spec.
std::vector<piece_state> make_layout(const puzzle_spec& spec,
                                     const geometry& geo);

/// `true` for finite values and one of 0/90/180/270.
bool valid_rotation(int32_t rotation) noexcept;

/// What applying a drop or drag did.
struct move_outcome {
  errc error = errc::none;            ///< `invalid_move` on bad input.
  std::vector<int32_t> moved;         ///< Ids whose position changed.
  bool placed = false;                ///< The group snapped to its spot.
  bool joined = false;                ///< Groups merged.
  int32_t group_id = 0;               ///< The moved piece's group after it.
  std::vector<int32_t> group_members; ///< Members of that group, sorted.
};

/// Moves piece `id` and its whole group so that `id` lands at (x, y) with
/// `rotation`, clamped so that every member stays on the table. Rotation
/// turns the group about piece `id`. Refuses (INVALID_MOVE, nothing changed)
/// non-finite coordinates, an unknown id, a placed piece, a rotation other
/// than 0/90/180/270, and any rotation other than 0 when `allow_rotation` is
/// false. With `snap` (a drop) it then snaps: to the correct spot when
/// within tolerance at rotation 0 (the group becomes placed), else to a true
/// neighbour at the right relative offset and same rotation within tolerance
/// (groups merge; a group merged with a placed group becomes placed and
/// aligned). Without `snap` (a drag) it only moves.
move_outcome apply_move(const geometry& geo, std::vector<piece_state>& pieces,
                        int32_t id, double x, double y, int32_t rotation,
                        bool allow_rotation, bool snap);

/// Members of the group that piece `id` belongs to (sorted ids).
std::vector<int32_t> group_of(const std::vector<piece_state>& pieces,
                              int32_t id);

/// Number of placed pieces.
int32_t placed_count(const std::vector<piece_state>& pieces) noexcept;

/// Every piece placed.
bool is_complete(const std::vector<piece_state>& pieces) noexcept;

/// Number of Unicode code points in valid UTF-8 `text`, or -1 when `text`
/// is not valid UTF-8 (overlong forms, surrogates and values above
/// U+10FFFF are invalid).
int64_t utf8_length(const std::string& text) noexcept;

/// Trims ASCII and Unicode white space at both ends of valid UTF-8 text.
std::string trim_unicode(const std::string& text);

} // namespace puzzle::model
