// Micro-benchmarks of the move path's hot spots (performance.md):
// decoding a hub invocation and a /ws message, encoding one event for each
// wire format, the snapping rule, and a session actor round trip on CAF's
// real (threaded) scheduler. CTest runs them with a tiny minimum time (label
// `bench`) so they never rot; numbers come from a quiet machine:
//
//   build/bench/tests/bench/puzzle-micro-bench --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/model/puzzle_model.hpp"
#include "actors/session/session_actor.hpp"
#include "actors/session/session_json.hpp"
#include "actors/type_ids.hpp"
#include "tests/unit/actors/support/test_fixture.hpp"
#include "transports/signalr/hub_protocol.hpp"
#include "transports/socketio/socketio_calls.hpp"
#include "transports/ws/ws_protocol.hpp"

namespace {

using namespace puzzle;

const std::string session_id = "0b6e5f2c-6d1a-4c1e-9a51-3f1d2e4c5b6a";

/// The `PieceMoved` payload of a single-piece drop, as the session builds it.
std::string piece_moved_args() {
  return *session_json::args(
      "{\"pieceId\":17,\"x\":123.5,\"y\":456.25,\"rotation\":0,\"movedBy\":"
      "\"5f0c4c8e-2b7a-4a43-8f55-1f4a3f7f0d11\",\"isCorrectlyPlaced\":false,\"groupId\":17,"
      "\"version\":4242,\"pieces\":[{\"id\":17,\"x\":123.5,\"y\":456.25,\"rotation\":0,"
      "\"isPlaced\":false,\"groupId\":17,\"lockedBy\":null}]}");
}

// -- decode -------------------------------------------------------------------

void BM_HubParseMovePiece(benchmark::State& state) {
  const std::string record = "{\"type\":1,\"invocationId\":\"42\",\"target\":\"MovePiece\","
                             "\"arguments\":[\""
      + session_id + "\",17,123.5,456.25,0]}";
  for (auto _ : state) {
    auto msg = transports::signalr::parse_message(record);
    benchmark::DoNotOptimize(msg);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(record.size()));
}
BENCHMARK(BM_HubParseMovePiece);

void BM_HubRecordReader(benchmark::State& state) {
  // One WebSocket frame carrying a record, split at the separator.
  const std::string frame = "{\"type\":1,\"target\":\"DragPiece\",\"arguments\":[\"" + session_id
      + "\",17,123.5,456.25,0]}\x1e";
  transports::signalr::record_reader reader(65536);
  for (auto _ : state) {
    (void)reader.append(frame);
    while (auto rec = reader.next())
      benchmark::DoNotOptimize(*rec);
  }
}
BENCHMARK(BM_HubRecordReader);

void BM_WsDecodeMove(benchmark::State& state) {
  const std::string text = "{\"type\":\"move\",\"id\":42,\"sessionId\":\"" + session_id
      + "\",\"pieceId\":17,\"x\":123.5,\"y\":456.25,\"rotation\":0}";
  transports::ws::protocol_limits limits;
  for (auto _ : state) {
    auto msg = transports::ws::decode(text, limits);
    benchmark::DoNotOptimize(msg);
  }
}
BENCHMARK(BM_WsDecodeMove);

// -- encode (once per event and wire format, shared by all recipients) --------

void BM_SignalrEncodeInvocation(benchmark::State& state) {
  auto args = piece_moved_args();
  for (auto _ : state) {
    auto frame = transports::signalr::encode_invocation("PieceMoved", args);
    benchmark::DoNotOptimize(frame);
  }
}
BENCHMARK(BM_SignalrEncodeInvocation);

void BM_WsEncodeEvent(benchmark::State& state) {
  auto args = piece_moved_args();
  for (auto _ : state) {
    auto frame = transports::ws::encode_event(session_id, "PieceMoved", args);
    benchmark::DoNotOptimize(frame);
  }
}
BENCHMARK(BM_WsEncodeEvent);

void BM_SocketioEncodeEvent(benchmark::State& state) {
  auto args = piece_moved_args();
  for (auto _ : state) {
    auto frame = transports::socketio::encode_session_event("PieceMoved", args);
    benchmark::DoNotOptimize(frame);
  }
}
BENCHMARK(BM_SocketioEncodeEvent);

/// The session's own work per drag: building the `PieceDragged` payload.
void BM_SessionBuildDragPayload(benchmark::State& state) {
  const std::string user = "5f0c4c8e-2b7a-4a43-8f55-1f4a3f7f0d11";
  for (auto _ : state) {
    auto payload = session_json::args(
        "{\"pieceId\":" + std::to_string(17) + ",\"x\":" + session_json::number(123.5)
        + ",\"y\":" + session_json::number(456.25) + ",\"rotation\":" + std::to_string(0)
        + ",\"userId\":" + session_json::quote(user) + '}');
    benchmark::DoNotOptimize(payload);
  }
}
BENCHMARK(BM_SessionBuildDragPayload);

// -- the snapping rule ----------------------------------------------------------

model::puzzle_spec spec_of(int32_t rows, int32_t cols) {
  model::puzzle_spec spec;
  spec.image_width = 1600;
  spec.image_height = 1200;
  spec.rows = rows;
  spec.cols = cols;
  spec.seed = 42;
  return spec;
}

/// A drop that snaps nowhere (the common case): clamp, spot check, neighbour
/// search. Arg: piece count (25x40 = 1000, 50x100 = 5000).
void BM_ApplyMoveDrop(benchmark::State& state) {
  auto cols = static_cast<int32_t>(state.range(0) / 25 >= 100 ? 100 : 40);
  auto rows = static_cast<int32_t>(state.range(0)) / cols;
  auto spec = spec_of(rows, cols);
  auto geo = model::make_geometry(spec);
  auto pieces = model::make_layout(spec, geo);
  int64_t i = 0;
  for (auto _ : state) {
    auto x = 10.0 + static_cast<double>(i % 256);
    auto y = 10.0 + static_cast<double>((i / 256) % 256);
    auto out = model::apply_move(geo, pieces, 17, x, y, 0, false, true);
    benchmark::DoNotOptimize(out);
    ++i;
  }
}
BENCHMARK(BM_ApplyMoveDrop)->Arg(1000)->Arg(5000);

/// A drop on the correct spot (snaps and places); the piece is reset each time.
void BM_ApplyMoveSnapToSpot(benchmark::State& state) {
  auto spec = spec_of(25, 40);
  auto geo = model::make_geometry(spec);
  auto start = model::make_layout(spec, geo);
  auto spot = model::correct_position(geo, 17);
  auto pieces = start;
  for (auto _ : state) {
    pieces[17] = start[17];
    auto out = model::apply_move(geo, pieces, 17, spot.x + 0.1, spot.y, 0, false, true);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_ApplyMoveSnapToSpot);

void BM_ApplyMoveDrag(benchmark::State& state) {
  auto spec = spec_of(25, 40);
  auto geo = model::make_geometry(spec);
  auto pieces = model::make_layout(spec, geo);
  int64_t i = 0;
  for (auto _ : state) {
    auto out = model::apply_move(geo, pieces, 17, 10.0 + static_cast<double>(i % 256), 20.0, 0,
                                 false, false);
    benchmark::DoNotOptimize(out);
    ++i;
  }
}
BENCHMARK(BM_ApplyMoveDrag);

// -- a session actor round trip -------------------------------------------------

/// A member that drops every event (what an idle observer costs the session).
client_events_actor::behavior_type silent_member() {
  return {[](const session_event&) {}};
}

/// Drag requests from a blocking caller to a live session actor on CAF's
/// work-stealing scheduler, each awaited: hand-off to a worker, the drag
/// handler, the fan-out to `range(0)` observers, the reply. Store: the
/// in-memory store of the actor tests.
void BM_SessionDragRoundTrip(benchmark::State& state) {
  caf::actor_system_config cfg;
  register_message_types(cfg);
  cfg.set("scheduler.max-threads", 2);
  cfg.set("logger.console-verbosity", caf::atom("quiet"));
  cfg.set("logger.file-verbosity", caf::atom("quiet"));
  spdlog::set_level(spdlog::level::err);
  caf::actor_system sys{cfg};
  auto data = std::make_shared<test_support::memory_store_data>();
  auto store = sys.spawn(test_support::memory_store, data);
  auto st = test_support::make_state(25, 40);
  data->sessions[st.session_id] = st;
  auto session = sys.spawn(session_behavior, st, store_actor{store}, session_options{});
  caf::scoped_actor self{sys};
  std::vector<client_events_actor> members;
  for (int64_t k = 0; k < state.range(0); ++k) {
    auto m = sys.spawn(silent_member);
    members.push_back(m);
    self->request(session, std::chrono::seconds(5), join_atom::value,
                  user_identity{"u-" + std::to_string(k), "observer"}, m)
        .receive([](std::string&) {}, [](caf::error&) {});
  }
  self->request(session, std::chrono::seconds(5), join_atom::value,
                user_identity{"u-mover", "mover"}, caf::actor_cast<client_events_actor>(self))
      .receive([](std::string&) {}, [](caf::error&) {});
  int64_t i = 0;
  uint64_t failures = 0;
  for (auto _ : state) {
    self->request(session, std::chrono::seconds(5), drag_atom::value, int32_t{17},
                  10.0 + static_cast<double>(i % 256), 20.0, int32_t{0})
        .receive([](uint64_t) {},
                 [&](caf::error&) {
                   ++failures;
                 });
    ++i;
  }
  state.counters["failures"] = static_cast<double>(failures);
  // Drop the mover's own events (SessionStateUpdate) and stop everything.
  self->send_exit(session, caf::exit_reason::user_shutdown);
  self->send_exit(store, caf::exit_reason::user_shutdown);
  for (auto& m : members)
    self->send_exit(m, caf::exit_reason::user_shutdown);
}
BENCHMARK(BM_SessionDragRoundTrip)->Arg(0)->Arg(8)->Arg(64)->UseRealTime();

} // namespace

BENCHMARK_MAIN();
