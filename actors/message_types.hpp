#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/error.hpp>
#include <caf/fwd.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/atom.hpp>
#include <caf/typed_actor.hpp>
#include <caf/replies_to.hpp>

#include "actors/session/session_event.hpp"
#include "actors/session/session_state.hpp"

/// The message vocabulary of the node: every atom, every message struct and
/// every typed actor handle that crosses an actor boundary. One type-ID block
/// for the whole project, identical on every node (architecture.md: a type
/// missing on one end arrives as an empty message).
namespace puzzle {

/// What a user may do beyond playing, as carried in the token's `roles`
/// claim. Ownership of one session is not a role: it is the session's
/// `owner` (see `session_summary`).
enum class user_role : uint8_t {
  player = 1u << 0,    ///< Everyone with a valid token.
  owner = 1u << 1,     ///< An account (not a guest): may own sessions.
  admin = 1u << 2,     ///< Deletes any session, binds devices anywhere.
  operator_ = 1u << 3, ///< Reaches the operator API and console.
};

/// Who a connection acts as.
struct user_identity {
  std::string user_id;
  std::string username;
  /// Bit set of `user_role`; guests and tokens without `roles` are players.
  uint8_t roles = static_cast<uint8_t>(user_role::player);

  bool has_role(user_role role) const noexcept {
    return (roles & static_cast<uint8_t>(role)) != 0;
  }
};

/// A drop made durable by the store: the pieces it changed.
struct drop_record {
  std::string session_id;
  uint64_t version = 0;
  std::vector<model::piece_state> pieces;
  unix_ms started_at = 0;
  unix_ms completed_at = 0;
};

/// Answer to `LockPiece`.
struct lock_result {
  bool granted = false;
  std::string locked_by; ///< Holder's user id (the caller when granted).
  unix_ms expires_at = 0;
  std::vector<int32_t> piece_ids; ///< The whole group that is held.
};

/// Answer to `MovePiece`.
struct move_result {
  bool success = false;
  bool is_correctly_placed = false;
  uint64_t version = 0;
};

/// What `POST /api/sessions` asks for, after HTTP validation.
struct create_request {
  std::string name;
  image_ref image;
  int32_t rows = 0;
  int32_t cols = 0;
  bool rotation = false;
  bool is_public = true;
  user_identity owner;
};

/// A transport-neutral real-time call, decoded by a transport codec.
enum class command_kind : uint8_t {
  join = 0,
  leave,
  lock,
  drag,
  move,
  unlock,
  chat,
  cursor,
  get_state,
};

struct client_command {
  command_kind kind = command_kind::get_state;
  std::string call_id; ///< Empty: non-blocking, no answer expected.
  std::string session_id;
  int32_t piece_id = 0;
  double x = 0;
  double y = 0;
  int32_t rotation = 0;
  std::string text;    ///< Chat message.
  std::string user_id; ///< Optional `userId` argument of a join.
};

// -- images -------------------------------------------------------------------

/// Immutable bytes that the actors of one node pass on without copying: an
/// upload on its way to the store, a thumbnail. Between nodes they are
/// serialised by value.
struct shared_bytes {
  std::shared_ptr<const std::string> data;

  shared_bytes() = default;

  explicit shared_bytes(std::string bytes)
      : data(std::make_shared<const std::string>(std::move(bytes))) {
    // nop
  }

  /// The bytes; an empty string when there are none.
  const std::string& str() const noexcept {
    static const std::string empty;
    return data ? *data : empty;
  }

  std::size_t size() const noexcept {
    return str().size();
  }
};

/// What the store keeps about an uploaded image besides its bytes.
struct image_info {
  std::string id; ///< A UUID; never reused.
  std::string name;
  std::string content_type; ///< `image/png` or `image/jpeg`.
  int32_t width = 0;        ///< As displayed (JPEG EXIF orientation applied).
  int32_t height = 0;
  uint64_t byte_count = 0; ///< Size of the original file.
  std::string thumbnail_content_type;
  std::string owner_id;
  unix_ms created_at = 0;
};

/// An uploaded image as the store writes it: the original bytes exactly as
/// uploaded and the thumbnail.
struct image_record {
  image_info info;
  shared_bytes original;
  shared_bytes thumbnail;
};

/// Which file of an image to read.
enum class image_part : uint8_t {
  original = 0,
  thumbnail = 1,
};

/// `original` or `thumbnail`.
inline std::string to_string(image_part x) {
  return x == image_part::thumbnail ? "thumbnail" : "original";
}

/// One file of an image. Read replies carry the bytes by value: the reply
/// is its only owner, so the HTTP layer moves them into the response.
struct image_file {
  std::string content_type;
  std::string bytes;
};

/// What `POST /api/images` hands to the image ingest actor, after HTTP
/// parsing: the bytes are not checked yet.
struct image_upload {
  std::string name;
  user_identity owner;
  shared_bytes bytes;
};

// -- inspection ---------------------------------------------------------------

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, user_identity& x) {
  return f(caf::meta::type_name("user_identity"), x.user_id, x.username,
           x.roles);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, drop_record& x) {
  return f(caf::meta::type_name("drop_record"), x.session_id, x.version,
           x.pieces, x.started_at, x.completed_at);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, lock_result& x) {
  return f(caf::meta::type_name("lock_result"), x.granted, x.locked_by,
           x.expires_at, x.piece_ids);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, move_result& x) {
  return f(caf::meta::type_name("move_result"), x.success,
           x.is_correctly_placed, x.version);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, create_request& x) {
  return f(caf::meta::type_name("create_request"), x.name, x.image, x.rows,
           x.cols, x.rotation, x.is_public, x.owner);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, client_command& x) {
  return f(caf::meta::type_name("client_command"), x.kind, x.call_id,
           x.session_id, x.piece_id, x.x, x.y, x.rotation, x.text, x.user_id);
}

/// Saves the bytes without a copy; loading builds a new shared buffer.
template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, shared_bytes& x) {
  if constexpr (Inspector::reads_state) {
    return f(caf::meta::type_name("shared_bytes"), x.str());
  } else {
    std::string bytes;
    auto share = [&x, &bytes]() -> caf::error {
      x = shared_bytes{std::move(bytes)};
      return caf::none;
    };
    return f(caf::meta::type_name("shared_bytes"), bytes,
             caf::meta::load_callback(share));
  }
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, image_info& x) {
  return f(caf::meta::type_name("image_info"), x.id, x.name, x.content_type,
           x.width, x.height, x.byte_count, x.thumbnail_content_type,
           x.owner_id, x.created_at);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, image_record& x) {
  return f(caf::meta::type_name("image_record"), x.info, x.original,
           x.thumbnail);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, image_file& x) {
  return f(caf::meta::type_name("image_file"), x.content_type, x.bytes);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, image_upload& x) {
  return f(caf::meta::type_name("image_upload"), x.name, x.owner, x.bytes);
}

} // namespace puzzle

// -- atoms (CAF 0.17: at most 10 characters) ----------------------------------

CAF_ADD_ATOM(puzzle, puzzle, join_atom, "join")
CAF_ADD_ATOM(puzzle, puzzle, leave_atom, "leave")
CAF_ADD_ATOM(puzzle, puzzle, lock_atom, "lock")
CAF_ADD_ATOM(puzzle, puzzle, unlock_atom, "unlock")
CAF_ADD_ATOM(puzzle, puzzle, drag_atom, "drag")
CAF_ADD_ATOM(puzzle, puzzle, move_atom, "move")
CAF_ADD_ATOM(puzzle, puzzle, chat_atom, "chat")
CAF_ADD_ATOM(puzzle, puzzle, cursor_atom, "cursor")
CAF_ADD_ATOM(puzzle, puzzle, state_atom, "state")
CAF_ADD_ATOM(puzzle, puzzle, summary_atom, "summary")
CAF_ADD_ATOM(puzzle, puzzle, renew_atom, "renew")
CAF_ADD_ATOM(puzzle, puzzle, expire_atom, "expire")
CAF_ADD_ATOM(puzzle, puzzle, lookup_atom, "lookup")
CAF_ADD_ATOM(puzzle, puzzle, create_atom, "create")
CAF_ADD_ATOM(puzzle, puzzle, list_atom, "list")
CAF_ADD_ATOM(puzzle, puzzle, delete_atom, "delete")
CAF_ADD_ATOM(puzzle, puzzle, put_atom, "put")
CAF_ADD_ATOM(puzzle, puzzle, save_atom, "save")
CAF_ADD_ATOM(puzzle, puzzle, load_atom, "load")
CAF_ADD_ATOM(puzzle, puzzle, flush_atom, "flush")
CAF_ADD_ATOM(puzzle, puzzle, ping_atom, "ping")
CAF_ADD_ATOM(puzzle, puzzle, stats_atom, "stats")
CAF_ADD_ATOM(puzzle, puzzle, close_atom, "close")
CAF_ADD_ATOM(puzzle, puzzle, tick_atom, "tick")
CAF_ADD_ATOM(puzzle, puzzle, image_atom, "image")
CAF_ADD_ATOM(puzzle, puzzle, subscribe_atom, "subscribe")
CAF_ADD_ATOM(puzzle, puzzle, unsubscribe_atom, "unsub")
CAF_ADD_ATOM(puzzle, puzzle, publish_atom, "publish")
CAF_ADD_ATOM(puzzle, puzzle, relay_atom, "relay")
CAF_ADD_ATOM(puzzle, puzzle, idle_atom, "idle")
// IoT devices and the MQTT bridge (actors/device/, transports/mqtt/).
CAF_ADD_ATOM(puzzle, puzzle, bind_atom, "bind")
CAF_ADD_ATOM(puzzle, puzzle, unbind_atom, "unbind")
CAF_ADD_ATOM(puzzle, puzzle, device_atom, "device")
CAF_ADD_ATOM(puzzle, puzzle, command_atom, "command")
CAF_ADD_ATOM(puzzle, puzzle, feed_atom, "feed")
CAF_ADD_ATOM(puzzle, puzzle, outbox_atom, "outbox")
CAF_ADD_ATOM(puzzle, puzzle, mqtt_up_atom, "mqttup")
CAF_ADD_ATOM(puzzle, puzzle, mqtt_down_atom, "mqttdown")
CAF_ADD_ATOM(puzzle, puzzle, mqtt_connect_atom, "mqttconn")
// The cluster: directory, migration, inspection (cluster/, docs/cluster.md).
CAF_ADD_ATOM(puzzle, puzzle, migrate_atom, "migrate")
CAF_ADD_ATOM(puzzle, puzzle, adopt_atom, "adopt")
CAF_ADD_ATOM(puzzle, puzzle, moved_atom, "moved")
CAF_ADD_ATOM(puzzle, puzzle, drain_atom, "drain")
CAF_ADD_ATOM(puzzle, puzzle, members_atom, "members")
CAF_ADD_ATOM(puzzle, puzzle, inspect_atom, "inspect")
CAF_ADD_ATOM(puzzle, puzzle, kill_atom, "kill")
CAF_ADD_ATOM(puzzle, puzzle, owner_atom, "owner")
CAF_ADD_ATOM(puzzle, puzzle, claim_atom, "claim")
CAF_ADD_ATOM(puzzle, puzzle, audit_atom, "audit")
CAF_ADD_ATOM(puzzle, puzzle, actors_atom, "actors")
CAF_ADD_ATOM(puzzle, puzzle, endpoints_atom, "endpoints")
