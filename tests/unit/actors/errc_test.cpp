#include "actors/errc.hpp"

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "actors/caf_errors.hpp"
#include "actors/type_ids.hpp"

namespace {

using puzzle::all_errc;
using puzzle::errc;

bool is_code_text(std::string_view code) {
  if (code.empty() || code.front() == '_' || code.back() == '_') return false;
  for (char c : code)
    if (!((c >= 'A' && c <= 'Z') || c == '_')) return false;
  return true;
}

TEST(Errc, AllErrcListsEveryEnumeratorOnceInNumericOrder) {
  ASSERT_EQ(std::size(all_errc), static_cast<size_t>(errc::invalid_image) + 1);
  for (size_t i = 0; i < std::size(all_errc); ++i)
    EXPECT_EQ(static_cast<size_t>(all_errc[i]), i);
}

TEST(Errc, EveryEnumeratorHasADistinctUpperCaseCode) {
  std::set<std::string_view> seen;
  for (auto x : all_errc) {
    auto code = puzzle::to_code(x);
    EXPECT_TRUE(is_code_text(code)) << "'" << code << "' for " << int{static_cast<uint8_t>(x)};
    EXPECT_TRUE(seen.insert(code).second) << "duplicate code " << code;
    EXPECT_EQ(puzzle::to_string(x), code);
  }
  EXPECT_EQ(seen.size(), std::size(all_errc));
}

TEST(Errc, CodesAreTheContractStrings) {
  const std::map<errc, std::string_view> expected{
      {errc::none, "NONE"},
      {errc::session_not_found, "SESSION_NOT_FOUND"},
      {errc::not_joined, "NOT_JOINED"},
      {errc::piece_locked, "PIECE_LOCKED"},
      {errc::piece_not_held, "PIECE_NOT_HELD"},
      {errc::invalid_move, "INVALID_MOVE"},
      {errc::invalid_message, "INVALID_MESSAGE"},
      {errc::rate_limited, "RATE_LIMITED"},
      {errc::unauthorized, "UNAUTHORIZED"},
      {errc::forbidden, "FORBIDDEN"},
      {errc::limit_exceeded, "LIMIT_EXCEEDED"},
      {errc::internal, "INTERNAL"},
      {errc::invalid_argument, "INVALID_ARGUMENT"},
      {errc::conflict, "CONFLICT"},
      {errc::image_not_found, "IMAGE_NOT_FOUND"},
      {errc::invalid_image, "INVALID_IMAGE"},
  };
  ASSERT_EQ(expected.size(), std::size(all_errc));
  for (auto x : all_errc)
    EXPECT_EQ(puzzle::to_code(x), expected.at(x));
}

TEST(Errc, HttpStatusOfEveryCode) {
  const std::map<errc, int> expected{
      {errc::none, 200},
      {errc::session_not_found, 404},
      {errc::not_joined, 403},
      {errc::piece_locked, 409},
      {errc::piece_not_held, 409},
      {errc::invalid_move, 400},
      {errc::invalid_message, 400},
      {errc::rate_limited, 429},
      {errc::unauthorized, 401},
      {errc::forbidden, 403},
      {errc::limit_exceeded, 413},
      {errc::internal, 500},
      {errc::invalid_argument, 400},
      {errc::conflict, 409},
      {errc::image_not_found, 404},
      {errc::invalid_image, 400},
  };
  ASSERT_EQ(expected.size(), std::size(all_errc));
  for (auto x : all_errc) {
    EXPECT_EQ(puzzle::http_status(x), expected.at(x)) << puzzle::to_code(x);
    // Only `none` is a success; every error is a 4xx or 5xx.
    if (x != errc::none) {
      EXPECT_GE(puzzle::http_status(x), 400);
      EXPECT_LE(puzzle::http_status(x), 599);
    }
  }
}

TEST(Errc, UnknownNumbersFromANewerNodeAreInternal) {
  auto unknown = static_cast<errc>(200);
  EXPECT_EQ(puzzle::to_code(unknown), "INTERNAL");
  EXPECT_EQ(puzzle::http_status(unknown), 500);
}

TEST(Errc, CafErrorsCarryCodeAndMessage) {
  for (auto x : all_errc) {
    if (x == errc::none) continue;
    auto err = puzzle::make_error(x, "what happened");
    EXPECT_TRUE(err);
    EXPECT_EQ(err.category(), puzzle::errc_category);
    EXPECT_EQ(puzzle::code_of(err), x);
    EXPECT_EQ(puzzle::message_of(err), "what happened");
  }
  EXPECT_EQ(puzzle::code_of(caf::error{}), errc::none);
  // Errors of CAF itself (a dead actor, a timeout) are INTERNAL.
  auto timeout = caf::make_error(caf::sec::request_timeout);
  EXPECT_EQ(puzzle::code_of(timeout), errc::internal);
  EXPECT_EQ(puzzle::message_of(timeout), "request_timeout");
}

TEST(Errc, RegisteredRendererNamesTheCode) {
  caf::actor_system_config cfg;
  puzzle::register_message_types(cfg);
  cfg.set("scheduler.policy", caf::atom("testing"));
  caf::actor_system sys{cfg};
  auto text = sys.render(puzzle::make_error(errc::piece_locked, "piece 3 is held"));
  EXPECT_NE(text.find("PIECE_LOCKED"), std::string::npos) << text;
  EXPECT_NE(text.find("piece 3 is held"), std::string::npos) << text;
}

} // namespace
