#include "actors/session/session_state.hpp"

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <gtest/gtest.h>

#include "actors/caf_errors.hpp"
#include "actors/session/session_event.hpp"
#include "actors/type_ids.hpp"

namespace {

using namespace puzzle;

constexpr uint64_t big_seed = 0xF00DFACE12345679ULL; // above 2^63

caf::actor_system_config& config(caf::actor_system_config& cfg) {
  register_message_types(cfg);
  cfg.set("scheduler.policy", caf::atom("testing"));
  return cfg;
}

/// A state with every field set to something other than its default.
session_state full_state() {
  session_state st;
  st.schema_version = 7;
  st.session_id = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b";
  st.name = "Café 🧩 لغز";
  st.owner_id = "u-owner";
  st.is_public = false;
  st.image = image_ref{"img-42", "/images/ünïcode.png", 16384, 9001};
  st.spec.image_width = 16384;
  st.spec.image_height = 9001;
  st.spec.rows = 50;
  st.spec.cols = 100;
  st.spec.seed = big_seed;
  st.spec.rotation = true;
  st.spec.snap_ratio = 0.0375;
  st.spec.table_factor = 2.75;
  st.version = std::numeric_limits<uint64_t>::max() - 3;
  for (int32_t i = 0; i < 5000; ++i) {
    model::piece_state p;
    p.id = i;
    p.x = i * 3.3 - 0.1;
    p.y = 1e6 / (i + 1) + 0.5;
    p.rotation = (i % 4) * 90;
    p.placed = i % 7 == 0;
    p.group_id = i / 3;
    st.pieces.push_back(p);
  }
  st.participants.push_back(participant{"u-1", "Zoë", "#e6194b", 1'700'000'000'123, true});
  st.participants.push_back(participant{"u-2", "עמית", "#3cb44b", -1, false});
  st.chat.push_back(chat_entry{"c-1", "u-1", "Zoë", "Hello 👋🏽 world", 1'700'000'000'500});
  st.chat.push_back(chat_entry{"c-2", "u-2", "עמית", "שלום! مرحبا \u202e RTL", 1'700'000'001'000});
  st.chat.back().message += std::string{"\0tail", 5}; // embedded NUL
  st.created_at = std::numeric_limits<int64_t>::min() + 1;
  st.started_at = 1'700'000'000'000;
  st.completed_at = std::numeric_limits<int64_t>::max();
  return st;
}

void expect_same(const session_state& a, const session_state& b) {
  EXPECT_EQ(a.schema_version, b.schema_version);
  EXPECT_EQ(a.session_id, b.session_id);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.owner_id, b.owner_id);
  EXPECT_EQ(a.is_public, b.is_public);
  EXPECT_EQ(a.image.id, b.image.id);
  EXPECT_EQ(a.image.url, b.image.url);
  EXPECT_EQ(a.image.width, b.image.width);
  EXPECT_EQ(a.image.height, b.image.height);
  EXPECT_EQ(a.spec.image_width, b.spec.image_width);
  EXPECT_EQ(a.spec.image_height, b.spec.image_height);
  EXPECT_EQ(a.spec.rows, b.spec.rows);
  EXPECT_EQ(a.spec.cols, b.spec.cols);
  EXPECT_EQ(a.spec.seed, b.spec.seed);
  EXPECT_EQ(a.spec.rotation, b.spec.rotation);
  EXPECT_EQ(a.spec.snap_ratio, b.spec.snap_ratio);
  EXPECT_EQ(a.spec.table_factor, b.spec.table_factor);
  EXPECT_EQ(a.version, b.version);
  ASSERT_EQ(a.pieces.size(), b.pieces.size());
  for (size_t i = 0; i < a.pieces.size(); ++i) {
    auto& p = a.pieces[i];
    auto& q = b.pieces[i];
    ASSERT_EQ(p.id, q.id) << i;
    ASSERT_EQ(p.x, q.x) << i;
    ASSERT_EQ(p.y, q.y) << i;
    ASSERT_EQ(p.rotation, q.rotation) << i;
    ASSERT_EQ(p.placed, q.placed) << i;
    ASSERT_EQ(p.group_id, q.group_id) << i;
  }
  ASSERT_EQ(a.participants.size(), b.participants.size());
  for (size_t i = 0; i < a.participants.size(); ++i) {
    EXPECT_EQ(a.participants[i].user_id, b.participants[i].user_id);
    EXPECT_EQ(a.participants[i].username, b.participants[i].username);
    EXPECT_EQ(a.participants[i].color, b.participants[i].color);
    EXPECT_EQ(a.participants[i].joined_at, b.participants[i].joined_at);
    EXPECT_EQ(a.participants[i].online, b.participants[i].online);
  }
  ASSERT_EQ(a.chat.size(), b.chat.size());
  for (size_t i = 0; i < a.chat.size(); ++i) {
    EXPECT_EQ(a.chat[i].id, b.chat[i].id);
    EXPECT_EQ(a.chat[i].user_id, b.chat[i].user_id);
    EXPECT_EQ(a.chat[i].username, b.chat[i].username);
    EXPECT_EQ(a.chat[i].message, b.chat[i].message);
    EXPECT_EQ(a.chat[i].timestamp, b.chat[i].timestamp);
  }
  EXPECT_EQ(a.created_at, b.created_at);
  EXPECT_EQ(a.started_at, b.started_at);
  EXPECT_EQ(a.completed_at, b.completed_at);
}

class SessionStateSerialization : public ::testing::Test {
protected:
  SessionStateSerialization() : sys(config(cfg)) {
    // nop
  }

  template<class T>
  std::vector<char> save(T& value) {
    std::vector<char> buf;
    caf::binary_serializer sink{sys, buf};
    auto err = sink(value);
    EXPECT_FALSE(err) << sys.render(err);
    return buf;
  }

  /// Loads a `T` from `buf`, expecting every byte to be used.
  template<class T>
  T load(const std::vector<char>& buf) {
    T value;
    caf::binary_deserializer source{sys, buf};
    auto err = source(value);
    EXPECT_FALSE(err) << sys.render(err);
    EXPECT_EQ(source.remaining(), 0u);
    return value;
  }

  caf::actor_system_config cfg;
  caf::actor_system sys;
};

TEST_F(SessionStateSerialization, RoundTripsEveryFieldExactly) {
  auto original = full_state();
  ASSERT_GT(original.spec.seed, uint64_t{1} << 63);
  auto bytes = save(original);
  auto copy = load<session_state>(bytes);
  expect_same(original, copy);
  // Saving the copy yields the same bytes: nothing is normalised on the way.
  EXPECT_EQ(save(copy), bytes);
}

TEST_F(SessionStateSerialization, RoundTripsADefaultState) {
  session_state empty;
  auto copy = load<session_state>(save(empty));
  expect_same(empty, copy);
  EXPECT_EQ(copy.schema_version, session_state::current_schema);
}

TEST_F(SessionStateSerialization, TruncatedBytesAreAnErrorNotACrash) {
  auto original = full_state();
  auto bytes = save(original);
  bytes.resize(bytes.size() / 2);
  session_state copy;
  caf::binary_deserializer source{sys, bytes};
  EXPECT_TRUE(source(copy));
}

TEST_F(SessionStateSerialization, RoundTripsInsideACafMessage) {
  // How a state travels between nodes: as a typed message element.
  auto original = full_state();
  auto msg = caf::make_message(original);
  auto bytes = save(msg);
  auto copy = load<caf::message>(bytes);
  ASSERT_TRUE(copy.match_elements<session_state>());
  expect_same(original, copy.get_as<session_state>(0));
}

TEST_F(SessionStateSerialization, SessionEventRoundTripsItsPayload) {
  session_event ev;
  ev.session_id = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b";
  ev.name = "ChatMessageReceived";
  ev.version = uint64_t{1} << 63;
  ev.payload
      = std::make_shared<const std::string>(R"([{"message":"Hello 👋🏽 שלום","x":1.5}])");
  auto copy = load<session_event>(save(ev));
  EXPECT_EQ(copy.session_id, ev.session_id);
  EXPECT_EQ(copy.name, ev.name);
  EXPECT_EQ(copy.version, ev.version);
  ASSERT_TRUE(copy.payload);
  EXPECT_EQ(*copy.payload, *ev.payload);
  EXPECT_NE(copy.payload, ev.payload); // a copy, not the sender's buffer
  // The frame cache stays local: the copy gets its own, empty one.
  ASSERT_TRUE(copy.cache);
  EXPECT_NE(copy.cache, ev.cache);
  int encodes = 0;
  auto frame = copy.cache->get(wire_format::signalr_json, [&] {
    ++encodes;
    return std::make_shared<const std::string>("frame");
  });
  EXPECT_EQ(encodes, 1);
  EXPECT_EQ(*frame, "frame");
}

TEST_F(SessionStateSerialization, SessionEventWithoutPayloadLoadsAnEmptyOne) {
  session_event ev;
  ev.name = "Ping";
  ev.payload = nullptr;
  auto copy = load<session_event>(save(ev));
  ASSERT_TRUE(copy.payload);
  EXPECT_EQ(*copy.payload, "");
}

TEST_F(SessionStateSerialization, SessionEventRoundTripsInsideACafMessage) {
  session_event ev;
  ev.session_id = "s";
  ev.name = "PieceMoved";
  ev.version = 12;
  ev.payload = std::make_shared<const std::string>(R"([{"pieceId":3}])");
  auto msg = caf::make_message(ev);
  auto copy = load<caf::message>(save(msg));
  ASSERT_TRUE(copy.match_elements<session_event>());
  auto& loaded = copy.get_as<session_event>(0);
  EXPECT_EQ(loaded.name, "PieceMoved");
  EXPECT_EQ(loaded.version, 12u);
  ASSERT_TRUE(loaded.payload);
  EXPECT_EQ(*loaded.payload, R"([{"pieceId":3}])");
}

} // namespace
