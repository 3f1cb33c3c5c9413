#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/image/image_codec.hpp"
#include "actors/message_types.hpp"
#include "actors/store_interface.hpp"

namespace puzzle {

/// Takes one upload from bytes to a stored image, then quits.
///
/// - `(create_atom, image_upload)` -> `image_info`: checks the bytes against
///   the limits (size, then width and height from the header, before any
///   pixel is decoded), decodes every pixel, makes the thumbnail and asks
///   the store to keep the record; replies once the store committed it.
///   Errors: `INVALID_IMAGE` (not a PNG or JPEG, corrupt, truncated),
///   `LIMIT_EXCEEDED` naming the key (`images.max-bytes`,
///   `images.max-pixels`, `limits.max-image-side`, `images.max-stored`),
///   `INTERNAL` (out of memory, the store failed or did not answer).
///
/// One actor per upload, spawned `detached`: decoding is CPU-bound and takes
/// up to about a second for the largest images, so it gets its own thread
/// instead of blocking a CAF worker (and with it every session scheduled
/// there) or a Beast I/O thread. The HTTP layer bounds how many run at once
/// (`images.max-decoding`). The actor answers exactly one request and quits;
/// only the HTTP layer that spawned it knows its handle.
using image_ingest_actor = caf::typed_actor<
    caf::replies_to<create_atom, image_upload>::with<image_info>>;

/// What one ingest needs besides the upload.
struct image_ingest_options {
  image::limits limits;
  /// How long to wait for the store to commit the image.
  std::chrono::milliseconds store_timeout{10'000};
  /// Released when the actor terminates, e.g. a slot of the HTTP layer's
  /// count of uploads in progress. May be null.
  std::shared_ptr<void> ticket;
  /// The image's `created_at`; empty: the system clock.
  std::function<unix_ms()> clock;
};

struct image_ingest_state {
  static inline const char* name = "puzzle.image_ingest";

  /// Held for the actor's lifetime (see `image_ingest_options::ticket`).
  std::shared_ptr<void> ticket;
};

/// The behaviour of an ingest actor that stores into `store`.
image_ingest_actor::behavior_type
image_ingest(image_ingest_actor::stateful_pointer<image_ingest_state> self,
             store_actor store, image_ingest_options options);

/// Spawns a detached ingest actor for one upload.
image_ingest_actor spawn_image_ingest(caf::actor_system& sys, store_actor store,
                                      image_ingest_options options);

} // namespace puzzle
