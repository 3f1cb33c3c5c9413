#pragma once

#include <vector>

#include <caf/type_id.hpp>

#include "actors/account_interface.hpp"
#include "actors/channel/channel_registry_actor.hpp"
#include "actors/device/binding_file.hpp"
#include "actors/device/device_interface.hpp"
#include "actors/client/client_interface.hpp"
#include "actors/directory_interface.hpp"
#include "actors/message_types.hpp"
#include "actors/session/session_interface.hpp"
#include "actors/store_interface.hpp"
#include "actors/webrtc/webrtc_interface.hpp"

/// The project's one type-ID block, identical on every node (architecture.md:
/// a type missing on one end arrives as an empty message). Append only.
CAF_BEGIN_TYPE_ID_BLOCK(puzzle, caf::first_custom_type_id)

  CAF_ADD_TYPE_ID(puzzle, (puzzle::participant))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::chat_entry))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::image_ref))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::model::puzzle_spec))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::model::piece_state))
  CAF_ADD_TYPE_ID(puzzle, (std::vector<puzzle::model::piece_state>))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::session_state))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::session_summary))
  CAF_ADD_TYPE_ID(puzzle, (std::vector<puzzle::session_summary>))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::session_event))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::user_identity))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::drop_record))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::lock_result))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::move_result))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::create_request))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::client_command))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::client_events_actor))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::client_actor))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::session_actor))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::directory_actor))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::store_actor))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::channel_message))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::channel_subscriber_actor))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::channel_registry_actor))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::shared_bytes))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::image_info))
  CAF_ADD_TYPE_ID(puzzle, (std::vector<puzzle::image_info>))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::image_record))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::image_part))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::image_file))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::image_upload))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::webrtc_participant))
  CAF_ADD_TYPE_ID(puzzle, (std::vector<puzzle::webrtc_participant>))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::webrtc_relay))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::webrtc_event))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::webrtc_command))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::webrtc_member_actor))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::webrtc_room_actor))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::webrtc_rooms_actor))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::webrtc_peer_actor))

  // IoT devices and the MQTT bridge.
  CAF_ADD_TYPE_ID(puzzle, (puzzle::device_status))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::device_reading))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::device_placement))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::session_progress))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::device_command))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::device_binding))
  CAF_ADD_TYPE_ID(puzzle, (std::vector<puzzle::device_binding>))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::device_reading_view))
  CAF_ADD_TYPE_ID(puzzle, (std::vector<puzzle::device_reading_view>))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::device_view))
  CAF_ADD_TYPE_ID(puzzle, (std::vector<puzzle::device_view>))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::device_outcome))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::device_outbox_actor))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::device_actor))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::device_registry_actor))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::binding_saver_actor))

  // Accounts (actors/account_interface.hpp).
  CAF_ADD_TYPE_ID(puzzle, (puzzle::user_account))

  // Private sessions (actors/session/session_access.hpp) and the operator
  // API's listing of live sessions.
  CAF_ADD_TYPE_ID(puzzle, (puzzle::session_access))
  CAF_ADD_TYPE_ID(puzzle, (std::vector<std::string>))

  // The cluster (actors/cluster_interface.hpp,
  // actors/session/session_snapshot.hpp).
  CAF_ADD_TYPE_ID(puzzle, (puzzle::session_location))
  CAF_ADD_TYPE_ID(puzzle, (std::vector<puzzle::session_location>))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::node_endpoints))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::cluster_member))
  CAF_ADD_TYPE_ID(puzzle, (std::vector<puzzle::cluster_member>))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::actor_probe))
  CAF_ADD_TYPE_ID(puzzle, (std::vector<puzzle::actor_probe>))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::audit_record))
  CAF_ADD_TYPE_ID(puzzle, (std::vector<puzzle::audit_record>))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::member_snapshot))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::lease_snapshot))
  CAF_ADD_TYPE_ID(puzzle, (puzzle::session_snapshot))
CAF_END_TYPE_ID_BLOCK(puzzle)

namespace caf {
class actor_system_config;
} // namespace caf

namespace puzzle {

/// Registers every type of the block and the `puzzle` error category.
void register_message_types(caf::actor_system_config& cfg);

} // namespace puzzle
