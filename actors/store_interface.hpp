#pragma once

#include <string>
#include <vector>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/message_types.hpp"

namespace puzzle {

/// The store: owns the database connection and makes writes durable.
///
/// Implemented in `persistence/` (SOCI over SQLite or PostgreSQL). Every
/// write replies `true` only after its transaction committed; writes that
/// arrive while one is in progress are committed together (group commit),
/// so a reply may wait for the next batch. Errors come back as
/// `errc::internal` (database failure) or `errc::session_not_found`.
/// Requests are answered in arrival order.
///
/// - `(put_atom, session_state)` -> `bool`: creates or replaces a whole
///   session (pieces, participants, chat).
/// - `(save_atom, drop_record)` -> `bool`: stores the pieces of one drop and
///   the session's version, start and completion times.
/// - `(join_atom, session_id, participant)` -> `bool`: upserts a participant.
/// - `(chat_atom, session_id, chat_entry)` -> `bool`: appends a chat line and
///   keeps the newest `chat_history` lines of that session.
/// - `(load_atom, session_id)` -> `session_state` (participants offline).
/// - `(list_atom)` -> every stored session's summary, newest first.
/// - `(delete_atom, session_id)` -> `bool`: `false` when there was none.
/// - `(ping_atom)` -> `bool`: the database answers a trivial query.
///
/// Uploaded images (shared by every node that uses the same database):
/// - `(put_atom, image_record)` -> `bool`: stores a new image (metadata,
///   original bytes, thumbnail) in its own transaction; `LIMIT_EXCEEDED`
///   naming `images.max-stored` when the store holds that many already.
///   The bytes are shared, not copied, on the way.
/// - `(list_atom, image_atom)` -> metadata of every uploaded image, newest
///   first (no bytes).
/// - `(load_atom, image_atom, id)` -> `image_info`; `IMAGE_NOT_FOUND`.
/// - `(load_atom, image_atom, id, image_part)` -> `image_file`: the original
///   or the thumbnail with its content type; `IMAGE_NOT_FOUND`.
using store_actor = caf::typed_actor<
    caf::replies_to<put_atom, session_state>::with<bool>,
    caf::replies_to<save_atom, drop_record>::with<bool>,
    caf::replies_to<join_atom, std::string, participant>::with<bool>,
    caf::replies_to<chat_atom, std::string, chat_entry>::with<bool>,
    caf::replies_to<load_atom, std::string>::with<session_state>,
    caf::replies_to<list_atom>::with<std::vector<session_summary>>,
    caf::replies_to<delete_atom, std::string>::with<bool>,
    caf::replies_to<ping_atom>::with<bool>,
    caf::replies_to<put_atom, image_record>::with<bool>,
    caf::replies_to<list_atom, image_atom>::with<std::vector<image_info>>,
    caf::replies_to<load_atom, image_atom, std::string>::with<image_info>,
    caf::replies_to<load_atom, image_atom, std::string,
                    image_part>::with<image_file>>;

} // namespace puzzle
