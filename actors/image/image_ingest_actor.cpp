#include "actors/image/image_ingest_actor.hpp"

#include <string>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/spawn_options.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/caf_errors.hpp"
#include "actors/util/ids.hpp"

namespace puzzle {

image_ingest_actor::behavior_type
image_ingest(image_ingest_actor::stateful_pointer<image_ingest_state> self,
             store_actor store, image_ingest_options options) {
  self->state.ticket = std::move(options.ticket);
  return {
      [=](create_atom, image_upload& upload) {
        auto rp = self->make_response_promise<image_info>();
        // Blocks this actor's own thread (it is detached) for the decode.
        auto decoded = image::decode(upload.bytes.str(), options.limits);
        if (!decoded) {
          rp.deliver(make_error(decoded.error, std::move(decoded.message)));
          self->quit();
          return rp;
        }
        auto& img = decoded.image;
        image_record record;
        auto& info = record.info;
        info.id = util::new_uuid();
        info.name = std::move(upload.name);
        info.content_type = std::string{image::content_type(img.type)};
        info.width = img.width;
        info.height = img.height;
        info.byte_count = upload.bytes.size();
        info.thumbnail_content_type
            = std::string{image::content_type(img.thumbnail_type)};
        info.owner_id = std::move(upload.owner.user_id);
        info.created_at = options.clock ? options.clock() : util::now_ms();
        // The original goes on exactly as uploaded, shared, not copied.
        record.original = std::move(upload.bytes);
        record.thumbnail = shared_bytes{std::move(img.thumbnail)};
        auto answer = info; // `record` moves into the request below.
        self->request(store, options.store_timeout, put_atom_v,
                      std::move(record))
            .then(
                [=](bool) mutable {
                  rp.deliver(answer);
                  self->quit();
                },
                [=](caf::error& err) mutable {
                  rp.deliver(std::move(err));
                  self->quit();
                });
        return rp;
      },
  };
}

image_ingest_actor spawn_image_ingest(caf::actor_system& sys, store_actor store,
                                      image_ingest_options options) {
  return sys.spawn<caf::detached>(image_ingest, std::move(store),
                                  std::move(options));
}

} // namespace puzzle
