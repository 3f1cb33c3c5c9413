#include "actors/model/puzzle_model.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

using namespace puzzle;
using namespace puzzle::model;

namespace {

constexpr double k_inf = std::numeric_limits<double>::infinity();
constexpr double k_nan = std::numeric_limits<double>::quiet_NaN();

puzzle_spec make_spec(int32_t width, int32_t height, int32_t rows, int32_t cols, uint64_t seed = 1,
                      bool rotation = false) {
  puzzle_spec spec;
  spec.image_width = width;
  spec.image_height = height;
  spec.rows = rows;
  spec.cols = cols;
  spec.seed = seed;
  spec.rotation = rotation;
  return spec;
}

// 400x300 image, 3 rows x 4 cols: square 100 px pieces, table 800x600, board
// at (200, 150), snap tolerance 2 px. Every number below is exact in binary.
geometry square_geo() {
  return make_geometry(make_spec(400, 300, 3, 4));
}

// 600x200 image, 2 rows x 3 cols: 200x100 pieces, table 1200x400, board at
// (300, 100), snap tolerance 2 px.
geometry wide_geo() {
  return make_geometry(make_spec(600, 200, 2, 3));
}

// Every piece its own group, scattered so that no two pieces are near their
// joined offset and none is near its correct spot.
std::vector<piece_state> loose(const geometry& geo) {
  std::vector<piece_state> pieces;
  for (int32_t id = 0; id < geo.rows * geo.cols; ++id) {
    piece_state p;
    p.id = id;
    p.group_id = id;
    p.x = 1 + 37 * id;
    p.y = 1 + 23 * id;
    pieces.push_back(p);
  }
  return pieces;
}

void put(std::vector<piece_state>& pieces, int32_t id, double x, double y, int32_t rotation = 0) {
  auto& p = pieces[static_cast<size_t>(id)];
  p.x = x;
  p.y = y;
  p.rotation = rotation;
}

void group(std::vector<piece_state>& pieces, std::vector<int32_t> ids, int32_t group_id) {
  for (auto id : ids)
    pieces[static_cast<size_t>(id)].group_id = group_id;
}

const piece_state& at(const std::vector<piece_state>& pieces, int32_t id) {
  return pieces[static_cast<size_t>(id)];
}

bool same(const std::vector<piece_state>& a, const std::vector<piece_state>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].id != b[i].id || a[i].x != b[i].x || a[i].y != b[i].y || a[i].rotation != b[i].rotation
        || a[i].placed != b[i].placed || a[i].group_id != b[i].group_id)
      return false;
  return true;
}

// The cut algorithm as documented in puzzle_model.cpp, written again from
// the description: what a client would do to redraw the cut.
std::vector<piece_edges> reference_cut(int32_t rows, int32_t cols, uint64_t seed) {
  uint64_t state = seed;
  auto next = [&state] {
    state += 0x9E3779B97F4A7C15ULL;
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  };
  std::vector<piece_edges> cut(static_cast<size_t>(rows * cols),
                               piece_edges{edge::flat, edge::flat, edge::flat, edge::flat});
  auto idx = [cols](int32_t r, int32_t c) {
    return static_cast<size_t>(r * cols + c);
  };
  for (int32_t r = 0; r < rows; ++r)
    for (int32_t c = 0; c < cols - 1; ++c) {
      bool bit = (next() >> 63) != 0;
      cut[idx(r, c)][1] = bit ? edge::tab : edge::blank;
      cut[idx(r, c + 1)][3] = bit ? edge::blank : edge::tab;
    }
  for (int32_t r = 0; r < rows - 1; ++r)
    for (int32_t c = 0; c < cols; ++c) {
      bool bit = (next() >> 63) != 0;
      cut[idx(r, c)][2] = bit ? edge::tab : edge::blank;
      cut[idx(r + 1, c)][0] = bit ? edge::blank : edge::tab;
    }
  return cut;
}

const std::pair<int32_t, int32_t> cut_sizes[]
    = {{1, 2}, {2, 1}, {2, 2}, {3, 4}, {7, 5}, {1, 50}, {40, 60}};
const uint64_t cut_seeds[] = {0, 1, 42, 0xDEADBEEFULL, UINT64_MAX};

edge opposite(edge e) {
  return static_cast<edge>(-static_cast<int>(e));
}

} // namespace

// -- cut ----------------------------------------------------------------------

TEST(PuzzleModel, CutHasOneEntryPerPiece) {
  for (auto [rows, cols] : cut_sizes)
    EXPECT_EQ(make_cut(rows, cols, 7).size(), static_cast<size_t>(rows * cols));
}

TEST(PuzzleModel, BorderEdgesAreFlatAndInnerEdgesAreNot) {
  for (auto [rows, cols] : cut_sizes)
    for (auto seed : cut_seeds) {
      auto cut = make_cut(rows, cols, seed);
      for (int32_t r = 0; r < rows; ++r)
        for (int32_t c = 0; c < cols; ++c) {
          const auto& e = cut[static_cast<size_t>(r * cols + c)];
          EXPECT_EQ(e[0] == edge::flat, r == 0) << r << "," << c;
          EXPECT_EQ(e[1] == edge::flat, c == cols - 1) << r << "," << c;
          EXPECT_EQ(e[2] == edge::flat, r == rows - 1) << r << "," << c;
          EXPECT_EQ(e[3] == edge::flat, c == 0) << r << "," << c;
        }
    }
}

TEST(PuzzleModel, InnerEdgesAreSharedWithOppositeSign) {
  for (auto [rows, cols] : cut_sizes)
    for (auto seed : cut_seeds) {
      auto cut = make_cut(rows, cols, seed);
      for (int32_t r = 0; r < rows; ++r)
        for (int32_t c = 0; c < cols; ++c) {
          const auto& e = cut[static_cast<size_t>(r * cols + c)];
          if (c + 1 < cols) {
            const auto& right = cut[static_cast<size_t>(r * cols + c + 1)];
            EXPECT_EQ(e[1], opposite(right[3])) << r << "," << c;
          }
          if (r + 1 < rows) {
            const auto& below = cut[static_cast<size_t>((r + 1) * cols + c)];
            EXPECT_EQ(e[2], opposite(below[0])) << r << "," << c;
          }
        }
    }
}

TEST(PuzzleModel, CutMatchesPublishedSplitmix64ValuesForSeedZero) {
  // splitmix64 from state 0 yields 0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4,
  // 0x06C45D188009454F, 0xF88BB8A8724C81EC: top bits 1, 0, 0, 1. Draw order:
  // edge 0|1, edge 2|3, edge 0/2, edge 1/3.
  auto cut = make_cut(2, 2, 0);
  ASSERT_EQ(cut.size(), 4u);
  EXPECT_EQ(cut[0], (piece_edges{edge::flat, edge::tab, edge::blank, edge::flat}));
  EXPECT_EQ(cut[1], (piece_edges{edge::flat, edge::flat, edge::tab, edge::blank}));
  EXPECT_EQ(cut[2], (piece_edges{edge::tab, edge::blank, edge::flat, edge::flat}));
  EXPECT_EQ(cut[3], (piece_edges{edge::blank, edge::flat, edge::flat, edge::tab}));
}

TEST(PuzzleModel, CutFollowsTheDocumentedAlgorithm) {
  for (auto [rows, cols] : cut_sizes)
    for (auto seed : cut_seeds)
      EXPECT_EQ(make_cut(rows, cols, seed), reference_cut(rows, cols, seed))
          << rows << "x" << cols << " seed " << seed;
}

TEST(PuzzleModel, SameSeedGivesSameCutAndLayout) {
  auto spec = make_spec(1000, 800, 20, 25, 99, true);
  auto geo = make_geometry(spec);
  EXPECT_EQ(make_cut(20, 25, 99), make_cut(20, 25, 99));
  EXPECT_TRUE(same(make_layout(spec, geo), make_layout(spec, geo)));
}

TEST(PuzzleModel, DifferentSeedsGiveDifferentCutAndLayout) {
  auto a = make_spec(1000, 800, 20, 25, 99, true);
  auto b = a;
  b.seed = 100;
  EXPECT_NE(make_cut(20, 25, 99), make_cut(20, 25, 100));
  auto la = make_layout(a, make_geometry(a));
  auto lb = make_layout(b, make_geometry(b));
  ASSERT_EQ(la.size(), lb.size());
  size_t differ = 0;
  for (size_t i = 0; i < la.size(); ++i)
    if (la[i].x != lb[i].x || la[i].y != lb[i].y) ++differ;
  EXPECT_EQ(differ, la.size());
}

// -- layout -------------------------------------------------------------------

TEST(PuzzleModel, LayoutKeepsEveryPieceOnTheTable) {
  const puzzle_spec specs[] = {
      make_spec(400, 300, 3, 4, 5),         make_spec(400, 300, 3, 4, 5, true),
      make_spec(1000, 200, 10, 2, 8, true), make_spec(4000, 3000, 50, 100, 3),
      make_spec(640, 480, 1, 2, 11, true),  make_spec(16384, 7, 1, 2, 1, true),
  };
  for (auto spec : specs)
    for (double factor : {1.0, 1.25, 2.0, 3.0}) {
      spec.table_factor = factor;
      auto geo = make_geometry(spec);
      auto pieces = make_layout(spec, geo);
      ASSERT_EQ(pieces.size(), static_cast<size_t>(spec.rows * spec.cols));
      for (const auto& p : pieces) {
        auto box = cell_extent(geo, p.rotation);
        EXPECT_GE(p.x, 0.0);
        EXPECT_GE(p.y, 0.0);
        EXPECT_LE(p.x + box.width, geo.table_width) << p.id;
        EXPECT_LE(p.y + box.height, geo.table_height) << p.id;
      }
    }
}

TEST(PuzzleModel, LayoutKeepsPiecesOffTheBoardWhenTheTableAllows) {
  auto spec = make_spec(1200, 900, 30, 40, 17, true);
  auto geo = make_geometry(spec);
  auto board_right = geo.board_x + 1200;
  auto board_bottom = geo.board_y + 900;
  int left = 0, right = 0, above = 0, below = 0;
  for (const auto& p : make_layout(spec, geo)) {
    auto box = cell_extent(geo, p.rotation);
    bool overlaps = p.x < board_right && p.x + box.width > geo.board_x && p.y < board_bottom
        && p.y + box.height > geo.board_y;
    EXPECT_FALSE(overlaps) << p.id << " at " << p.x << "," << p.y;
    left += p.x + box.width <= geo.board_x;
    right += p.x >= board_right;
    above += p.y + box.height <= geo.board_y;
    below += p.y >= board_bottom;
  }
  // 1200 pieces spread over all four margins (a fixed seed: no flakiness).
  EXPECT_GT(left, 0);
  EXPECT_GT(right, 0);
  EXPECT_GT(above, 0);
  EXPECT_GT(below, 0);
}

TEST(PuzzleModel, LayoutMakesEachPieceItsOwnUnplacedGroup) {
  auto spec = make_spec(400, 300, 3, 4, 5);
  auto pieces = make_layout(spec, make_geometry(spec));
  ASSERT_EQ(pieces.size(), 12u);
  for (int32_t i = 0; i < 12; ++i) {
    EXPECT_EQ(at(pieces, i).id, i);
    EXPECT_EQ(at(pieces, i).group_id, i);
    EXPECT_FALSE(at(pieces, i).placed);
  }
  EXPECT_EQ(placed_count(pieces), 0);
  EXPECT_FALSE(is_complete(pieces));
}

TEST(PuzzleModel, LayoutRotatesPiecesOnlyWhenRotationIsEnabled) {
  auto plain = make_spec(1000, 1000, 10, 10, 3, false);
  for (const auto& p : make_layout(plain, make_geometry(plain)))
    EXPECT_EQ(p.rotation, 0);
  auto turning = plain;
  turning.rotation = true;
  int seen[4] = {0, 0, 0, 0};
  for (const auto& p : make_layout(turning, make_geometry(turning))) {
    ASSERT_TRUE(valid_rotation(p.rotation)) << p.rotation;
    ++seen[p.rotation / 90];
  }
  // 100 pieces: every quarter turn shows up (a fixed seed, so no flakiness).
  for (int count : seen)
    EXPECT_GT(count, 0);
}

// -- validate -----------------------------------------------------------------

TEST(PuzzleModel, ValidateRefusesOnePiece) {
  std::string msg;
  EXPECT_EQ(validate(make_spec(400, 300, 1, 1), {}, msg), errc::limit_exceeded);
  EXPECT_EQ(msg, "pieces must be between 2 and 5000 (got 1)");
}

TEST(PuzzleModel, ValidateAcceptsTwoPieces) {
  std::string msg = "stale";
  EXPECT_EQ(validate(make_spec(400, 300, 1, 2), {}, msg), errc::none);
  EXPECT_EQ(msg, "");
}

TEST(PuzzleModel, ValidateAcceptsFiveThousandPieces) {
  std::string msg;
  EXPECT_EQ(validate(make_spec(4000, 3000, 50, 100), {}, msg), errc::none);
}

TEST(PuzzleModel, ValidateRefusesFiveThousandAndOnePieces) {
  std::string msg;
  EXPECT_EQ(validate(make_spec(4000, 3000, 3, 1667), {}, msg), errc::limit_exceeded);
  EXPECT_EQ(msg, "pieces must be between 2 and 5000 (got 5001)");
}

TEST(PuzzleModel, ValidateRefusesZeroOrNegativeRowsAndCols) {
  std::string msg;
  EXPECT_EQ(validate(make_spec(400, 300, 0, 10), {}, msg), errc::invalid_argument);
  EXPECT_EQ(msg, "rows must be at least 1 (got 0)");
  EXPECT_EQ(validate(make_spec(400, 300, 10, -3), {}, msg), errc::invalid_argument);
  EXPECT_EQ(msg, "cols must be at least 1 (got -3)");
}

TEST(PuzzleModel, ValidateComputesPieceCountWithoutOverflow) {
  // 4 * 1073741849 = 2^32 + 100: in 32 bits it would wrap to an allowed 100.
  std::string msg;
  EXPECT_EQ(validate(make_spec(400, 300, 4, 1073741849), {}, msg), errc::limit_exceeded);
  EXPECT_EQ(msg, "pieces must be between 2 and 5000 (got 4294967396)");
  EXPECT_EQ(validate(make_spec(400, 300, INT32_MAX, INT32_MAX), {}, msg), errc::limit_exceeded);
  EXPECT_EQ(msg, "pieces must be between 2 and 5000 (got 4611686014132420609)");
}

TEST(PuzzleModel, ValidateRefusesRowsOrColsAboveMaxSide) {
  std::string msg;
  EXPECT_EQ(validate(make_spec(400, 300, 201, 2), {}, msg), errc::limit_exceeded);
  EXPECT_EQ(msg, "rows must be at most 200 (got 201)");
  EXPECT_EQ(validate(make_spec(400, 300, 2, 201), {}, msg), errc::limit_exceeded);
  EXPECT_EQ(msg, "cols must be at most 200 (got 201)");
  EXPECT_EQ(validate(make_spec(400, 300, 25, 200), {}, msg), errc::none);
}

TEST(PuzzleModel, ValidateChecksImageSides) {
  std::string msg;
  EXPECT_EQ(validate(make_spec(0, 300, 2, 2), {}, msg), errc::invalid_argument);
  EXPECT_EQ(msg, "image width must be at least 1 (got 0)");
  EXPECT_EQ(validate(make_spec(400, -1, 2, 2), {}, msg), errc::invalid_argument);
  EXPECT_EQ(msg, "image height must be at least 1 (got -1)");
  EXPECT_EQ(validate(make_spec(16385, 300, 2, 2), {}, msg), errc::limit_exceeded);
  EXPECT_EQ(msg, "image width must be at most 16384 (got 16385)");
  EXPECT_EQ(validate(make_spec(1, 16384, 2, 2), {}, msg), errc::none);
}

TEST(PuzzleModel, ValidateRefusesNonFiniteOrSillyRatios) {
  std::string msg;
  auto spec = make_spec(400, 300, 3, 4);
  for (double bad : {k_nan, k_inf, -k_inf, -0.01, 0.51}) {
    auto s = spec;
    s.snap_ratio = bad;
    EXPECT_EQ(validate(s, {}, msg), errc::invalid_argument) << bad;
    EXPECT_EQ(msg.rfind("snap_ratio must be between 0 and 0.5 (got ", 0), 0u) << msg;
  }
  for (double bad : {k_nan, k_inf, -k_inf, 0.0, 0.99, 16.5}) {
    auto s = spec;
    s.table_factor = bad;
    EXPECT_EQ(validate(s, {}, msg), errc::invalid_argument) << bad;
    EXPECT_EQ(msg.rfind("table_factor must be between 1 and 16 (got ", 0), 0u) << msg;
  }
  spec.table_factor = 1.0;
  spec.snap_ratio = 0.0;
  EXPECT_EQ(validate(spec, {}, msg), errc::none) << msg;
}

TEST(PuzzleModel, ValidateUsesTheConfiguredLimits) {
  puzzle_limits limits;
  limits.min_pieces = 4;
  limits.max_pieces = 9;
  limits.max_side = 3;
  limits.max_image_side = 500;
  std::string msg;
  EXPECT_EQ(validate(make_spec(400, 300, 1, 3), limits, msg), errc::limit_exceeded);
  EXPECT_EQ(msg, "pieces must be between 4 and 9 (got 3)");
  EXPECT_EQ(validate(make_spec(400, 300, 3, 3), limits, msg), errc::none);
  EXPECT_EQ(validate(make_spec(400, 300, 4, 2), limits, msg), errc::limit_exceeded);
  EXPECT_EQ(msg, "rows must be at most 3 (got 4)");
  EXPECT_EQ(validate(make_spec(501, 300, 2, 2), limits, msg), errc::limit_exceeded);
  EXPECT_EQ(msg, "image width must be at most 500 (got 501)");
}

// -- geometry -----------------------------------------------------------------

TEST(PuzzleModel, GeometryDerivesSizesFromImageAndTableFactor) {
  auto geo = square_geo();
  EXPECT_EQ(geo.piece_width, 100.0);
  EXPECT_EQ(geo.piece_height, 100.0);
  EXPECT_EQ(geo.table_width, 800.0);
  EXPECT_EQ(geo.table_height, 600.0);
  EXPECT_EQ(geo.board_x, 200.0);
  EXPECT_EQ(geo.board_y, 150.0);
  EXPECT_EQ(geo.snap_tolerance, 2.0);
  EXPECT_EQ(geo.rows, 3);
  EXPECT_EQ(geo.cols, 4);

  auto spec = make_spec(600, 200, 2, 3);
  spec.table_factor = 1.5;
  spec.snap_ratio = 0.05;
  auto wide = make_geometry(spec);
  EXPECT_EQ(wide.piece_width, 200.0);
  EXPECT_EQ(wide.piece_height, 100.0);
  EXPECT_EQ(wide.table_width, 900.0);
  EXPECT_EQ(wide.table_height, 300.0);
  EXPECT_EQ(wide.board_x, 150.0);
  EXPECT_EQ(wide.board_y, 50.0);
  EXPECT_EQ(wide.snap_tolerance, 5.0); // 5% of the smaller side, 100
}

TEST(PuzzleModel, CorrectPositionFollowsRowMajorOrder) {
  auto geo = square_geo();
  EXPECT_EQ(correct_position(geo, 0).x, 200.0);
  EXPECT_EQ(correct_position(geo, 0).y, 150.0);
  EXPECT_EQ(correct_position(geo, 6).x, 400.0); // row 1, col 2
  EXPECT_EQ(correct_position(geo, 6).y, 250.0);
  EXPECT_EQ(correct_position(geo, 11).x, 500.0); // row 2, col 3
  EXPECT_EQ(correct_position(geo, 11).y, 350.0);
}

TEST(PuzzleModel, CellExtentSwapsSidesAtQuarterTurns) {
  auto geo = wide_geo();
  EXPECT_EQ(cell_extent(geo, 0).width, 200.0);
  EXPECT_EQ(cell_extent(geo, 0).height, 100.0);
  EXPECT_EQ(cell_extent(geo, 90).width, 100.0);
  EXPECT_EQ(cell_extent(geo, 90).height, 200.0);
  EXPECT_EQ(cell_extent(geo, 180).width, 200.0);
  EXPECT_EQ(cell_extent(geo, 270).width, 100.0);
}

TEST(PuzzleModel, ValidRotationAcceptsOnlyQuarterTurns) {
  for (int32_t r : {0, 90, 180, 270})
    EXPECT_TRUE(valid_rotation(r)) << r;
  for (int32_t r : {-90, 45, 89, 360, 450, INT32_MIN})
    EXPECT_FALSE(valid_rotation(r)) << r;
}

// -- moves: dragging and clamping ---------------------------------------------

TEST(PuzzleModel, DragMovesTheWholeGroupByTheSameDelta) {
  auto geo = square_geo();
  auto pieces = loose(geo);
  put(pieces, 0, 10, 20);
  put(pieces, 1, 110, 20);
  put(pieces, 5, 110, 120);
  group(pieces, {0, 1, 5}, 0);
  auto out = apply_move(geo, pieces, 5, 300.5, 400.25, 0, false, false);
  EXPECT_EQ(out.error, errc::none);
  EXPECT_EQ(at(pieces, 0).x, 200.5);
  EXPECT_EQ(at(pieces, 0).y, 300.25);
  EXPECT_EQ(at(pieces, 1).x, 300.5);
  EXPECT_EQ(at(pieces, 1).y, 300.25);
  EXPECT_EQ(at(pieces, 5).x, 300.5);
  EXPECT_EQ(at(pieces, 5).y, 400.25);
  EXPECT_EQ(out.moved, (std::vector<int32_t>{0, 1, 5}));
  EXPECT_EQ(out.group_id, 0);
  EXPECT_EQ(out.group_members, (std::vector<int32_t>{0, 1, 5}));
  EXPECT_FALSE(out.placed);
  EXPECT_FALSE(out.joined);
  // Pieces outside the group stay where they were.
  EXPECT_EQ(at(pieces, 2).x, 75.0);
  EXPECT_EQ(at(pieces, 2).y, 47.0);
}

TEST(PuzzleModel, DragDoesNotSnapEvenOnTheCorrectSpot) {
  auto geo = square_geo();
  auto pieces = loose(geo);
  auto out = apply_move(geo, pieces, 5, 300, 250, 0, false, false);
  EXPECT_EQ(out.error, errc::none);
  EXPECT_FALSE(out.placed);
  EXPECT_FALSE(at(pieces, 5).placed);
  EXPECT_EQ(placed_count(pieces), 0);
}

class ClampedGroup : public ::testing::Test {
protected:
  // Pieces 0, 1 (right of 0) and 4 (below 0) as one group.
  void SetUp() override {
    put(pieces, 0, 300, 300);
    put(pieces, 1, 400, 300);
    put(pieces, 4, 300, 400);
    group(pieces, {0, 1, 4}, 0);
  }

  void expect_group_at(double x0, double y0) {
    EXPECT_EQ(at(pieces, 0).x, x0);
    EXPECT_EQ(at(pieces, 0).y, y0);
    EXPECT_EQ(at(pieces, 1).x, x0 + 100);
    EXPECT_EQ(at(pieces, 1).y, y0);
    EXPECT_EQ(at(pieces, 4).x, x0);
    EXPECT_EQ(at(pieces, 4).y, y0 + 100);
  }

  geometry geo = square_geo();
  std::vector<piece_state> pieces = loose(geo);
};

TEST_F(ClampedGroup, StopsAtTheLeftEdge) {
  // Dragging piece 1 far left: piece 0, 100 px to its left, stops at x = 0.
  EXPECT_EQ(apply_move(geo, pieces, 1, -500, 200, 0, false, false).error, errc::none);
  expect_group_at(0, 200);
}

TEST_F(ClampedGroup, StopsAtTheRightEdge) {
  // Table 800, piece 100: piece 1 may reach x = 700, so piece 0 x = 600.
  EXPECT_EQ(apply_move(geo, pieces, 0, 1e9, 200, 0, false, false).error, errc::none);
  expect_group_at(600, 200);
}

TEST_F(ClampedGroup, StopsAtTheTopEdge) {
  EXPECT_EQ(apply_move(geo, pieces, 4, 100, -1, 0, false, false).error, errc::none);
  expect_group_at(100, 0);
}

TEST_F(ClampedGroup, StopsAtTheBottomEdge) {
  // Table 600, piece 100: piece 4 may reach y = 500, so piece 0 y = 400.
  EXPECT_EQ(apply_move(geo, pieces, 1, 250, 590, 0, false, false).error, errc::none);
  expect_group_at(150, 400);
}

TEST_F(ClampedGroup, StopsInTheCornerWhenBothAxesOverflow) {
  EXPECT_EQ(apply_move(geo, pieces, 0, -1e300, 1e300, 0, false, true).error, errc::none);
  expect_group_at(0, 400);
}

TEST(PuzzleModel, TurnedPieceIsClampedByItsTurnedBox) {
  // Table 1200x400; a 200x100 piece turned 90 degrees is 100 wide, 200 tall.
  auto geo = wide_geo();
  auto pieces = loose(geo);
  auto out = apply_move(geo, pieces, 0, 5000, 5000, 90, true, false);
  EXPECT_EQ(out.error, errc::none);
  EXPECT_EQ(at(pieces, 0).x, 1100.0);
  EXPECT_EQ(at(pieces, 0).y, 200.0);
  EXPECT_EQ(at(pieces, 0).rotation, 90);
}

// -- moves: refusals ----------------------------------------------------------

TEST(PuzzleModel, NonFiniteCoordinatesAreRefusedAndChangeNothing) {
  auto geo = square_geo();
  auto pieces = loose(geo);
  const auto before = pieces;
  const std::pair<double, double> bad[]
      = {{k_nan, 10}, {10, k_nan}, {k_inf, 10}, {10, k_inf}, {-k_inf, 10}, {10, -k_inf}};
  for (auto [x, y] : bad)
    for (bool snap : {false, true}) {
      auto out = apply_move(geo, pieces, 3, x, y, 0, true, snap);
      EXPECT_EQ(out.error, errc::invalid_move) << x << "," << y;
      EXPECT_TRUE(out.moved.empty());
      EXPECT_TRUE(same(pieces, before));
    }
}

TEST(PuzzleModel, UnknownPieceIsRefused) {
  auto geo = square_geo();
  auto pieces = loose(geo);
  const auto before = pieces;
  EXPECT_EQ(apply_move(geo, pieces, -1, 10, 10, 0, false, true).error, errc::invalid_move);
  EXPECT_EQ(apply_move(geo, pieces, 12, 10, 10, 0, false, true).error, errc::invalid_move);
  EXPECT_TRUE(same(pieces, before));
}

TEST(PuzzleModel, BadRotationIsRefused) {
  auto geo = square_geo();
  auto pieces = loose(geo);
  const auto before = pieces;
  for (int32_t r : {45, -90, 360, 1})
    EXPECT_EQ(apply_move(geo, pieces, 2, 10, 10, r, true, true).error, errc::invalid_move) << r;
  // A quarter turn is fine in itself but not in a session without rotation.
  EXPECT_EQ(apply_move(geo, pieces, 2, 10, 10, 90, false, true).error, errc::invalid_move);
  EXPECT_TRUE(same(pieces, before));
}

TEST(PuzzleModel, PlacedPieceCannotMove) {
  auto geo = square_geo();
  auto pieces = loose(geo);
  ASSERT_TRUE(apply_move(geo, pieces, 5, 300, 250, 0, false, true).placed);
  const auto before = pieces;
  auto out = apply_move(geo, pieces, 5, 10, 10, 0, false, false);
  EXPECT_EQ(out.error, errc::invalid_move);
  EXPECT_TRUE(same(pieces, before));
}

// -- moves: snapping to the correct spot --------------------------------------

TEST(PuzzleModel, DropWithinToleranceSnapsExactlyOntoTheCorrectSpot) {
  auto geo = square_geo(); // piece 5 belongs at (300, 250), tolerance 2
  auto pieces = loose(geo);
  auto out = apply_move(geo, pieces, 5, 301.5, 248.5, 0, false, true);
  EXPECT_EQ(out.error, errc::none);
  EXPECT_TRUE(out.placed);
  EXPECT_FALSE(out.joined);
  EXPECT_EQ(at(pieces, 5).x, 300.0);
  EXPECT_EQ(at(pieces, 5).y, 250.0);
  EXPECT_TRUE(at(pieces, 5).placed);
  EXPECT_EQ(out.moved, (std::vector<int32_t>{5}));
  EXPECT_EQ(out.group_members, (std::vector<int32_t>{5}));
  EXPECT_EQ(placed_count(pieces), 1);
}

TEST(PuzzleModel, DropExactlyAtTheToleranceStillSnaps) {
  auto geo = square_geo();
  auto pieces = loose(geo);
  EXPECT_TRUE(apply_move(geo, pieces, 5, 302, 248, 0, false, true).placed);
  EXPECT_EQ(at(pieces, 5).x, 300.0);
  EXPECT_EQ(at(pieces, 5).y, 250.0);
}

TEST(PuzzleModel, DropJustOutsideToleranceDoesNotSnap) {
  auto geo = square_geo();
  auto pieces = loose(geo);
  auto out = apply_move(geo, pieces, 5, 302.5, 250, 0, false, true);
  EXPECT_EQ(out.error, errc::none);
  EXPECT_FALSE(out.placed);
  EXPECT_EQ(at(pieces, 5).x, 302.5);
  EXPECT_EQ(at(pieces, 5).y, 250.0);
  EXPECT_FALSE(at(pieces, 5).placed);
  out = apply_move(geo, pieces, 5, 300, 247.5, 0, false, true);
  EXPECT_FALSE(out.placed);
  EXPECT_EQ(at(pieces, 5).y, 247.5);
}

TEST(PuzzleModel, DropOnTheCorrectSpotAtQuarterTurnDoesNotSnap) {
  auto geo = square_geo();
  auto pieces = loose(geo);
  for (int32_t r : {90, 180, 270}) {
    auto out = apply_move(geo, pieces, 5, 300, 250, r, true, true);
    EXPECT_EQ(out.error, errc::none);
    EXPECT_FALSE(out.placed) << r;
    EXPECT_FALSE(at(pieces, 5).placed) << r;
    EXPECT_EQ(at(pieces, 5).rotation, r);
  }
}

TEST(PuzzleModel, SnappingPlacesTheWholeGroup) {
  auto geo = square_geo();
  auto pieces = loose(geo);
  put(pieces, 5, 10, 10);
  put(pieces, 6, 110, 10);
  group(pieces, {5, 6}, 5);
  // Piece 6 belongs at (400, 250); piece 5 follows to (300, 250).
  auto out = apply_move(geo, pieces, 6, 398.5, 251, 0, false, true);
  EXPECT_TRUE(out.placed);
  EXPECT_EQ(at(pieces, 5).x, 300.0);
  EXPECT_EQ(at(pieces, 5).y, 250.0);
  EXPECT_EQ(at(pieces, 6).x, 400.0);
  EXPECT_EQ(at(pieces, 6).y, 250.0);
  EXPECT_TRUE(at(pieces, 5).placed);
  EXPECT_TRUE(at(pieces, 6).placed);
  EXPECT_EQ(out.moved, (std::vector<int32_t>{5, 6}));
}

// -- moves: joining neighbours ------------------------------------------------

TEST(PuzzleModel, DropNearTheRightOffsetJoinsTheNeighbour) {
  auto geo = square_geo();
  auto pieces = loose(geo);
  put(pieces, 4, 10, 10);
  // Piece 5 sits right of piece 4: (110, 10) exactly; dropped 1.5 px off.
  auto out = apply_move(geo, pieces, 5, 111.5, 8.5, 0, false, true);
  EXPECT_EQ(out.error, errc::none);
  EXPECT_TRUE(out.joined);
  EXPECT_FALSE(out.placed);
  EXPECT_EQ(at(pieces, 5).x, 110.0);
  EXPECT_EQ(at(pieces, 5).y, 10.0);
  EXPECT_EQ(at(pieces, 4).x, 10.0); // the neighbour does not move
  EXPECT_EQ(at(pieces, 4).y, 10.0);
  EXPECT_EQ(out.group_id, 4); // the smaller group id
  EXPECT_EQ(at(pieces, 4).group_id, 4);
  EXPECT_EQ(at(pieces, 5).group_id, 4);
  EXPECT_EQ(out.group_members, (std::vector<int32_t>{4, 5}));
  EXPECT_EQ(group_of(pieces, 5), (std::vector<int32_t>{4, 5}));
  EXPECT_EQ(out.moved, (std::vector<int32_t>{5}));
}

TEST(PuzzleModel, JoinKeepsTheSmallerGroupIdWhenTheMovedGroupHasIt) {
  auto geo = square_geo();
  auto pieces = loose(geo);
  put(pieces, 4, 300, 450);
  // Piece 0 sits above piece 4: 100 px higher.
  auto out = apply_move(geo, pieces, 0, 299, 351, 0, false, true);
  EXPECT_TRUE(out.joined);
  EXPECT_EQ(at(pieces, 0).x, 300.0);
  EXPECT_EQ(at(pieces, 0).y, 350.0);
  EXPECT_EQ(out.group_id, 0);
  EXPECT_EQ(at(pieces, 4).group_id, 0);
}

TEST(PuzzleModel, DropAtAWrongOffsetDoesNotJoin) {
  auto geo = square_geo();
  auto pieces = loose(geo);
  put(pieces, 4, 300, 300);
  // Just beyond the tolerance of the right offset.
  auto out = apply_move(geo, pieces, 5, 402.5, 300, 0, false, true);
  EXPECT_FALSE(out.joined);
  EXPECT_EQ(at(pieces, 5).x, 402.5);
  EXPECT_EQ(at(pieces, 5).group_id, 5);
  // On the wrong side of piece 4.
  out = apply_move(geo, pieces, 5, 200, 300, 0, false, true);
  EXPECT_FALSE(out.joined);
  EXPECT_EQ(at(pieces, 5).x, 200.0);
  // Piece 0 is diagonal to piece 5, so not a true neighbour even when put
  // exactly where piece 4 would be.
  put(pieces, 0, 10, 10);
  put(pieces, 4, 700, 500);
  out = apply_move(geo, pieces, 5, 110, 10, 0, false, true);
  EXPECT_FALSE(out.joined);
  EXPECT_EQ(out.group_members, (std::vector<int32_t>{5}));
}

TEST(PuzzleModel, PiecesWithDifferentRotationsDoNotJoin) {
  auto geo = square_geo();
  auto pieces = loose(geo);
  put(pieces, 4, 300, 300, 90);
  auto out = apply_move(geo, pieces, 5, 400, 300, 0, true, true);
  EXPECT_FALSE(out.joined);
  EXPECT_EQ(at(pieces, 5).group_id, 5);
  // Same rotation, but the unturned offset is wrong for a quarter turn.
  out = apply_move(geo, pieces, 5, 400, 300, 90, true, true);
  EXPECT_FALSE(out.joined);
}

TEST(PuzzleModel, TurnedPiecesJoinAtTheTurnedOffset) {
  auto geo = square_geo();
  auto pieces = loose(geo);
  put(pieces, 4, 300, 300, 90);
  // Turned clockwise, "right of 4" points down: (0, 100).
  auto out = apply_move(geo, pieces, 5, 301, 401, 90, true, true);
  EXPECT_TRUE(out.joined);
  EXPECT_EQ(at(pieces, 5).x, 300.0);
  EXPECT_EQ(at(pieces, 5).y, 400.0);
  EXPECT_EQ(out.group_members, (std::vector<int32_t>{4, 5}));
}

TEST(PuzzleModel, DropJoinsTheClosestOfTwoNeighbours) {
  auto geo = square_geo();
  auto pieces = loose(geo);
  put(pieces, 4, 10, 10);
  put(pieces, 6, 212, 10);
  // 0.5 px from its spot next to 4, 1.5 px from its spot next to 6.
  auto out = apply_move(geo, pieces, 5, 110.5, 10, 0, false, true);
  EXPECT_TRUE(out.joined);
  EXPECT_EQ(at(pieces, 5).x, 110.0);
  EXPECT_EQ(at(pieces, 5).y, 10.0);
  // Piece 6 is now 2 px off: within tolerance but not exactly aligned.
  EXPECT_EQ(out.group_members, (std::vector<int32_t>{4, 5}));
  EXPECT_EQ(at(pieces, 6).group_id, 6);
  EXPECT_EQ(at(pieces, 6).x, 212.0);
}

TEST(PuzzleModel, JoinThatWouldPushTheGroupOffTheTableIsSkipped) {
  auto geo = square_geo(); // table 800 wide, pieces 100
  auto pieces = loose(geo);
  put(pieces, 0, 601, 300);
  // Piece 1 would belong at x = 701, 1 px past the last legal x of 700.
  auto out = apply_move(geo, pieces, 1, 750, 300, 0, false, true);
  EXPECT_EQ(out.error, errc::none);
  EXPECT_FALSE(out.joined);
  EXPECT_EQ(at(pieces, 1).x, 700.0);
  EXPECT_EQ(at(pieces, 1).group_id, 1);
  EXPECT_EQ(at(pieces, 0).x, 601.0);
}

TEST(PuzzleModel, JoinedGroupsMoveAsOneAfterwards) {
  auto geo = square_geo();
  auto pieces = loose(geo);
  put(pieces, 4, 10, 10);
  ASSERT_TRUE(apply_move(geo, pieces, 5, 111, 11, 0, false, true).joined);
  auto out = apply_move(geo, pieces, 5, 500, 400, 0, false, false);
  EXPECT_EQ(at(pieces, 4).x, 400.0);
  EXPECT_EQ(at(pieces, 4).y, 400.0);
  EXPECT_EQ(at(pieces, 5).x, 500.0);
  EXPECT_EQ(at(pieces, 5).y, 400.0);
  EXPECT_EQ(out.moved, (std::vector<int32_t>{4, 5}));
}

TEST(PuzzleModel, ExactlyAlignedNeighboursAlsoJoinAfterASnap) {
  auto geo = square_geo();
  auto pieces = loose(geo);
  put(pieces, 0, 10, 10);
  put(pieces, 2, 210, 10); // where piece 2 belongs once 1 fills the gap
  auto out = apply_move(geo, pieces, 1, 111, 9, 0, false, true);
  EXPECT_TRUE(out.joined);
  EXPECT_EQ(at(pieces, 1).x, 110.0);
  EXPECT_EQ(at(pieces, 1).y, 10.0);
  EXPECT_EQ(out.group_id, 0);
  EXPECT_EQ(out.group_members, (std::vector<int32_t>{0, 1, 2}));
  EXPECT_EQ(out.moved, (std::vector<int32_t>{1}));
}

TEST(PuzzleModel, JoiningAPlacedGroupPlacesTheGroup) {
  auto geo = square_geo();
  auto pieces = loose(geo);
  ASSERT_TRUE(apply_move(geo, pieces, 0, 200, 150, 0, false, true).placed);
  // Piece 1 (with piece 2 in tow) dropped next to placed piece 0.
  put(pieces, 1, 10, 400);
  put(pieces, 2, 110, 400);
  group(pieces, {1, 2}, 1);
  auto out = apply_move(geo, pieces, 1, 301, 151, 0, false, true);
  EXPECT_TRUE(out.placed);
  EXPECT_TRUE(out.joined);
  EXPECT_EQ(out.group_id, 0);
  EXPECT_EQ(out.group_members, (std::vector<int32_t>{0, 1, 2}));
  EXPECT_TRUE(at(pieces, 1).placed);
  EXPECT_TRUE(at(pieces, 2).placed);
  EXPECT_EQ(at(pieces, 1).x, 300.0);
  EXPECT_EQ(at(pieces, 1).y, 150.0);
  EXPECT_EQ(at(pieces, 2).x, 400.0);
  EXPECT_EQ(at(pieces, 2).y, 150.0);
  EXPECT_EQ(placed_count(pieces), 3);
}

TEST(PuzzleModel, LooseGroupAlignedWithAPlacedGroupBecomesPlaced) {
  auto geo = square_geo();
  auto pieces = loose(geo);
  // Piece 2 dragged (no snap) exactly onto its spot: not placed yet.
  apply_move(geo, pieces, 2, 400, 150, 0, false, false);
  ASSERT_FALSE(at(pieces, 2).placed);
  // Placing piece 1 next to it pulls piece 2 in and places it too.
  auto out = apply_move(geo, pieces, 1, 300, 150, 0, false, true);
  EXPECT_TRUE(out.placed);
  EXPECT_TRUE(out.joined);
  EXPECT_TRUE(at(pieces, 2).placed);
  EXPECT_EQ(out.group_members, (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(out.moved, (std::vector<int32_t>{1, 2})); // 2 changed state
}

// -- moves: rotation ----------------------------------------------------------

TEST(PuzzleModel, RotationTurnsTheGroupAboutTheMovedPiece) {
  auto geo = wide_geo(); // 200x100 pieces, table 1200x400
  auto pieces = loose(geo);
  put(pieces, 0, 100, 50);
  put(pieces, 1, 300, 50);
  group(pieces, {0, 1}, 0);
  // A quarter turn clockwise: piece 1, right of 0, ends up below it.
  auto out = apply_move(geo, pieces, 0, 500, 0, 90, true, false);
  EXPECT_EQ(out.error, errc::none);
  EXPECT_EQ(at(pieces, 0).x, 500.0);
  EXPECT_EQ(at(pieces, 0).y, 0.0);
  EXPECT_EQ(at(pieces, 1).x, 500.0);
  EXPECT_EQ(at(pieces, 1).y, 200.0);
  EXPECT_EQ(at(pieces, 1).rotation, 90);
  // Another quarter turn, about piece 1 this time: 0 ends up right of 1.
  out = apply_move(geo, pieces, 1, 600, 100, 180, true, false);
  EXPECT_EQ(at(pieces, 1).x, 600.0);
  EXPECT_EQ(at(pieces, 1).y, 100.0);
  EXPECT_EQ(at(pieces, 0).x, 800.0);
  EXPECT_EQ(at(pieces, 0).y, 100.0);
  EXPECT_EQ(at(pieces, 0).rotation, 180);
  // At 270 piece 1 is above piece 0 (boxes 100x200, so 200 px higher).
  apply_move(geo, pieces, 0, 100, 200, 270, true, false);
  EXPECT_EQ(at(pieces, 0).x, 100.0);
  EXPECT_EQ(at(pieces, 0).y, 200.0);
  EXPECT_EQ(at(pieces, 1).x, 100.0);
  EXPECT_EQ(at(pieces, 1).y, 0.0);
  // 270 -> 0 wraps round (minus three quarters = one quarter clockwise) and
  // restores the start layout.
  apply_move(geo, pieces, 0, 100, 50, 0, true, false);
  EXPECT_EQ(at(pieces, 0).x, 100.0);
  EXPECT_EQ(at(pieces, 0).y, 50.0);
  EXPECT_EQ(at(pieces, 1).x, 300.0);
  EXPECT_EQ(at(pieces, 1).y, 50.0);
  EXPECT_EQ(at(pieces, 1).rotation, 0);
}

TEST(PuzzleModel, ThreeQuarterTurnsTurnTheGroupCounterclockwise) {
  auto geo = wide_geo(); // 200x100 pieces, table 1200x400
  auto pieces = loose(geo);
  put(pieces, 0, 100, 50);
  put(pieces, 1, 300, 50);
  group(pieces, {0, 1}, 0);
  // 0 -> 270: piece 1, right of 0, ends up above it (boxes 100x200).
  apply_move(geo, pieces, 0, 100, 200, 270, true, false);
  EXPECT_EQ(at(pieces, 1).x, 100.0);
  EXPECT_EQ(at(pieces, 1).y, 0.0);
  // 270 -> 90 (two quarters), then 90 -> 0 (minus one quarter).
  apply_move(geo, pieces, 0, 500, 0, 90, true, false);
  EXPECT_EQ(at(pieces, 1).x, 500.0);
  EXPECT_EQ(at(pieces, 1).y, 200.0);
  apply_move(geo, pieces, 0, 100, 50, 0, true, false);
  EXPECT_EQ(at(pieces, 1).x, 300.0);
  EXPECT_EQ(at(pieces, 1).y, 50.0);
}

TEST(PuzzleModel, TurningInPlaceCountsAsAMove) {
  auto geo = square_geo();
  auto pieces = loose(geo);
  put(pieces, 3, 500, 20);
  auto out = apply_move(geo, pieces, 3, 500, 20, 180, true, true);
  EXPECT_EQ(out.moved, (std::vector<int32_t>{3}));
  EXPECT_EQ(at(pieces, 3).rotation, 180);
  // Dropping it again unchanged changes nothing.
  out = apply_move(geo, pieces, 3, 500, 20, 180, true, true);
  EXPECT_EQ(out.error, errc::none);
  EXPECT_TRUE(out.moved.empty());
}

TEST(PuzzleModel, TurningAGroupTooLongForTheTableIsRefused) {
  // Table factor 1: the 1200 px wide image turned upright needs 1200 px of a
  // 400 px high table.
  auto spec = make_spec(1200, 400, 1, 2);
  spec.table_factor = 1.0;
  auto geo = make_geometry(spec);
  auto pieces = loose(geo);
  put(pieces, 0, 0, 0);
  put(pieces, 1, 600, 0);
  group(pieces, {0, 1}, 0);
  const auto before = pieces;
  auto out = apply_move(geo, pieces, 0, 0, 0, 90, true, false);
  EXPECT_EQ(out.error, errc::invalid_move);
  EXPECT_TRUE(same(pieces, before));
}

// -- completion ---------------------------------------------------------------

TEST(PuzzleModel, PuzzleIsCompleteExactlyWhenTheLastPieceIsPlaced) {
  auto spec = make_spec(400, 300, 2, 2);
  auto geo = make_geometry(spec); // pieces 200x150, board at (200, 150)
  auto pieces = make_layout(spec, geo);
  for (int32_t id = 0; id < 4; ++id) {
    EXPECT_FALSE(is_complete(pieces)) << id;
    EXPECT_EQ(placed_count(pieces), id);
    auto spot = correct_position(geo, id);
    auto out = apply_move(geo, pieces, id, spot.x + 1, spot.y - 1, 0, false, true);
    ASSERT_TRUE(out.placed) << id;
  }
  EXPECT_EQ(placed_count(pieces), 4);
  EXPECT_TRUE(is_complete(pieces));
  EXPECT_FALSE(is_complete({}));
}

// -- text ---------------------------------------------------------------------

TEST(PuzzleModel, Utf8LengthCountsAsciiBytes) {
  EXPECT_EQ(utf8_length(""), 0);
  EXPECT_EQ(utf8_length("hello, world"), 12);
}

TEST(PuzzleModel, Utf8LengthCountsEmojiAsOneCodePoint) {
  EXPECT_EQ(utf8_length("\xF0\x9F\x98\x80"), 1); // U+1F600
  EXPECT_EQ(utf8_length("a\xF0\x9F\xA7\xA9"
                        "b"),
            3); // a U+1F9E9 b
  // Family: man ZWJ woman ZWJ girl, five code points in one glyph.
  EXPECT_EQ(utf8_length("\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9"
                        "\xE2\x80\x8D\xF0\x9F\x91\xA7"),
            5);
}

TEST(PuzzleModel, Utf8LengthCountsRightToLeftText) {
  EXPECT_EQ(utf8_length("\xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D"),
            4); // Hebrew shalom
  EXPECT_EQ(utf8_length("\xD9\x85\xD8\xB1\xD8\xAD\xD8\xA8\xD8\xA7"),
            5); // Arabic marhaba
}

TEST(PuzzleModel, Utf8LengthAcceptsTheEdgesOfTheValidRanges) {
  EXPECT_EQ(utf8_length(std::string("\x00", 1)), 1);
  EXPECT_EQ(utf8_length("\x7F\xC2\x80\xDF\xBF"), 3);     // U+7F, U+80, U+7FF
  EXPECT_EQ(utf8_length("\xE0\xA0\x80\xED\x9F\xBF"), 2); // U+800, U+D7FF
  EXPECT_EQ(utf8_length("\xEE\x80\x80\xEF\xBF\xBF"), 2); // U+E000, U+FFFF
  EXPECT_EQ(utf8_length("\xF0\x90\x80\x80\xF4\x8F\xBF\xBF"),
            2); // U+10000, U+10FFFF
}

TEST(PuzzleModel, Utf8LengthRejectsInvalidSequences) {
  const char* bad[] = {
      "\x80",             // stray continuation byte
      "a\xBF",            // stray continuation byte after ASCII
      "\xC0\xAF",         // overlong '/'
      "\xC1\xBF",         // overlong U+7F
      "\xE0\x80\xAF",     // overlong '/'
      "\xE0\x9F\xBF",     // overlong U+7FF
      "\xF0\x80\x80\xAF", // overlong '/'
      "\xF0\x8F\xBF\xBF", // overlong U+FFFF
      "\xED\xA0\x80",     // U+D800, a surrogate
      "\xED\xBF\xBF",     // U+DFFF, a surrogate
      "\xF4\x90\x80\x80", // U+110000
      "\xF5\x80\x80\x80", // lead byte beyond U+10FFFF
      "\xFF",             // never valid
      "\xE2\x82",         // truncated euro sign
      "ok\xF0\x9F\x98",   // truncated emoji at the end
      "\xC3\x28",         // lead byte followed by ASCII
  };
  for (const char* text : bad)
    EXPECT_EQ(utf8_length(text), -1) << ::testing::PrintToString(std::string{text});
}

TEST(PuzzleModel, TrimRemovesAsciiWhiteSpaceAtBothEnds) {
  EXPECT_EQ(trim_unicode("  hello world \t\r\n"), "hello world");
  EXPECT_EQ(trim_unicode("\v\fx"), "x");
  EXPECT_EQ(trim_unicode(" \t "), "");
  EXPECT_EQ(trim_unicode(""), "");
  EXPECT_EQ(trim_unicode("a  b"), "a  b");
}

TEST(PuzzleModel, TrimRemovesUnicodeSpacesAtBothEnds) {
  // NBSP, ideographic space, BOM, en quad, hair space, line/paragraph
  // separators, narrow NBSP, medium math space, Ogham space mark.
  EXPECT_EQ(trim_unicode("\xC2\xA0\xE3\x80\x80\xEF\xBB\xBFhi\xE2\x80\x80\xE2\x80\x8A"), "hi");
  EXPECT_EQ(trim_unicode("\xE2\x80\xA8\xE2\x80\xA9x\xE2\x80\xAF\xE2\x81\x9F\xE1\x9A\x80"), "x");
  // Inner Unicode spaces stay.
  EXPECT_EQ(trim_unicode(" a\xC2\xA0"
                         "b "),
            "a\xC2\xA0"
            "b");
}

TEST(PuzzleModel, TrimKeepsEverythingThatIsNotSpace) {
  // Emoji and RTL text survive untouched, and a zero-width space (U+200B,
  // not white space) is kept.
  EXPECT_EQ(trim_unicode(" \xF0\x9F\x98\x80 "), "\xF0\x9F\x98\x80");
  EXPECT_EQ(trim_unicode("\xC2\xA0\xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D\xC2\xA0"),
            "\xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D");
  EXPECT_EQ(trim_unicode("\xE2\x80\x8Bx\xE2\x80\x8B"), "\xE2\x80\x8Bx\xE2\x80\x8B");
}
