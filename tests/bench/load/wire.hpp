#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

/// The load generator's view of the wire: encoders for the few client
/// messages it sends and a scanner that classifies what comes back without a
/// JSON parser (the generator must stay far cheaper than the server it
/// measures). Speaks the node's raw WebSocket JSON (`/ws`, also spoken by the
/// Node `ws` peer), the SignalR JSON hub protocol, Engine.IO v4 / Socket.IO v5
/// over WebSocket (the node and the Node `socket.io` peer) and MQTT 3.1.1
/// (mosquitto, fan-out only).
namespace puzzle::bench {

enum class protocol : uint8_t { ws, signalr, socketio, mqtt };

/// Parses "ws", "signalr", "socketio" or "mqtt"; throws on anything else.
protocol parse_protocol(std::string_view name);
const char* to_string(protocol p);

/// What a received message is, as far as the generator cares.
struct inbound {
  enum kind_t : uint8_t {
    other,      ///< Handshake answers, pings, events we do not time.
    ack,        ///< The answer to one of our calls; `id` is its id.
    failure,    ///< A failed call (`id` set when the protocol echoes it).
    event,      ///< A piece event with `piece`, `x`, `y` (timed).
    engine_ping ///< Engine.IO ping: answer with "3".
  } kind
      = other;
  int64_t id = -1;
  int32_t piece = -1;
  double x = 0;
  double y = 0;
};

/// Classifies one text message (one WebSocket message; for SignalR one record
/// without its separator) into `out`.
void classify(protocol p, std::string_view text, std::vector<inbound>& out);

/// Splits SignalR records and classifies each.
void classify_signalr_frame(std::string_view frame, std::vector<inbound>& out);

/// The operation a mover sends.
enum class operation : uint8_t { drag, move };

/// A join of session `session` as call `id`.
std::string encode_join(protocol p, int64_t id, std::string_view session);

/// A drag or move (drop) of `piece` to (x, y) at rotation 0 as call `id`.
std::string encode_piece_op(protocol p, operation op, int64_t id, std::string_view session,
                            int32_t piece, double x, double y);

/// What an MQTT publisher sends: the same fields a relay's event carries.
std::string mqtt_payload(int32_t piece, double x, double y);

// -- MQTT 3.1.1 packets (QoS 0 only) -----------------------------------------

std::string mqtt_connect(std::string_view client_id, uint16_t keep_alive_s);
std::string mqtt_subscribe(uint16_t packet_id, std::string_view topic);
std::string mqtt_publish(std::string_view topic, std::string_view payload);
std::string mqtt_pingreq();

/// Incremental MQTT packet reader: feed bytes, take whole packets.
class mqtt_reader {
public:
  struct packet {
    uint8_t type = 0; ///< Upper nibble of the fixed header (3 = PUBLISH).
    std::string_view body;
  };

  void append(std::string_view bytes) {
    buf_.append(bytes.data(), bytes.size());
  }

  /// The next whole packet, valid until the next call; false when none.
  bool next(packet& out);

private:
  std::string buf_;
  size_t pos_ = 0;
};

/// The payload of a PUBLISH packet body (after the topic).
std::string_view mqtt_publish_payload(std::string_view body);

// -- coordinates carry the sequence number ------------------------------------

/// A mover's n-th message goes to a position that encodes n modulo 2^16, so an
/// observer can tell which scheduled send an event belongs to from the event
/// alone: x = 10 + n % 256, y = 10 + (n / 256) % 256 (whole pixels, well
/// inside the table and left of the board, so a drop never snaps).
constexpr uint32_t seq_space = 65536;
inline double seq_x(uint64_t n) {
  return 10.0 + static_cast<double>(n % 256);
}
inline double seq_y(uint64_t n) {
  return 10.0 + static_cast<double>((n / 256) % 256);
}
/// The sequence number modulo `seq_space`, or -1 when (x, y) is no such
/// position (e.g. a clamped or snapped move).
int64_t seq_of(double x, double y);

} // namespace puzzle::bench
