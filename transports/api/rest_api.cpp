#include "transports/api/rest_api.hpp"

#include <atomic>
#include <limits>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>
#include <nlohmann/json.hpp>

#include "actors/image/image_codec.hpp"
#include "actors/image/image_ingest_actor.hpp"
#include "actors/model/puzzle_model.hpp"
#include "actors/util/ids.hpp"
#include "transports/api/account_api.hpp"
#include "transports/api/actor_bridge.hpp"
#include "transports/api/replies.hpp"
#include "transports/api/work_slots.hpp"
#include "transports/api/builtin_images.hpp"
#include "transports/api/rest_body.hpp"
#include "transports/http/http_util.hpp"
#include "transports/http/multipart.hpp"

namespace puzzle::transports::api {

namespace bhttp = boost::beast::http;
// Ordered: fields appear as the contract lists them, as ASP.NET writes them.
using json = nlohmann::ordered_json;
using http::request;
using http::responder;
using http::response;
using http::route_match;

namespace {

using context_ptr = std::shared_ptr<const rest_context>;

/// Uploaded files never change under their id.
constexpr std::string_view immutable_cache_control
    = "public, max-age=31536000, immutable";

/// Seconds a client waits before retrying an upload refused for load.
constexpr std::string_view upload_retry_after = "1";

/// The name of an upload that brings none.
constexpr std::string_view default_image_name = "Uploaded image";

// -- JSON helpers -------------------------------------------------------------

std::string now_iso() {
  return util::iso8601(util::now_ms());
}

/// The JSON object of a request body; answers 415/400 and returns nullopt
/// when there is none.
std::optional<json> parse_body(const request& req, responder& reply) {
  if (!http::has_json_content_type(req)) {
    send_error(reply, bhttp::status::unsupported_media_type,
               "UNSUPPORTED_MEDIA_TYPE",
               "Content-Type must be application/json");
    return std::nullopt;
  }
  json body;
  // Nesting is limited while parsing (rest_body.hpp).
  if (auto error = parse_object_body(req.body(), body); !error.empty()) {
    send_invalid(reply, error);
    return std::nullopt;
  }
  return body;
}

/// A trimmed name of 1..max code points from `body[field]`, or nullopt
/// after answering 400.
std::optional<std::string> name_field(const json& body, const char* field,
                                      uint32_t max, responder& reply) {
  auto fail = [&] {
    send_invalid(reply,
                 std::string{field} + " must be a string of 1 to "
                     + std::to_string(max) + " characters");
    return std::nullopt;
  };
  auto it = body.find(field);
  if (it == body.end() || !it->is_string()) return fail();
  auto name = model::trim_unicode(it->get<std::string>());
  auto length = model::utf8_length(name);
  if (length < 1 || length > static_cast<int64_t>(max)) return fail();
  return name;
}

/// An int32 from `body[field]`, or nullopt after answering 400.
std::optional<int32_t> int_field(const json& body, const char* field,
                                 responder& reply) {
  auto it = body.find(field);
  if (it != body.end() && it->is_number_integer()) {
    // is_number_integer covers signed and unsigned storage.
    if (it->is_number_unsigned()) {
      auto x = it->get<uint64_t>();
      if (x <= static_cast<uint64_t>(std::numeric_limits<int32_t>::max()))
        return static_cast<int32_t>(x);
    } else {
      auto x = it->get<int64_t>();
      if (x >= std::numeric_limits<int32_t>::min()
          && x <= std::numeric_limits<int32_t>::max())
        return static_cast<int32_t>(x);
    }
  }
  send_invalid(reply, std::string{field} + " must be a 32-bit integer");
  return std::nullopt;
}

/// An optional boolean `body[field]` (`fallback` when absent or null).
std::optional<bool> bool_field(const json& body, const char* field,
                               bool fallback, responder& reply) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return fallback;
  if (it->is_boolean()) return it->get<bool>();
  send_invalid(reply, std::string{field} + " must be a boolean");
  return std::nullopt;
}

/// Who the Bearer token speaks for, or nullopt after answering 401.
std::optional<user_identity>
authenticate(const rest_context& ctx, const request& req, responder& reply) {
  auto fail = [&](const std::string& message) {
    auto res = http::make_error(bhttp::status::unauthorized,
                                to_code(errc::unauthorized), message);
    res.set(bhttp::field::www_authenticate, "Bearer");
    reply(std::move(res));
    return std::nullopt;
  };
  auto token = http::bearer_token(req);
  if (!token) return fail("a Bearer token is required");
  auto user = ctx.tokens.verify(*token);
  if (!user) return fail(message_of(user.error()));
  return std::move(*user);
}

/// The thumbnail of a session's image: an upload's own, or the built-in
/// (vector) image itself.
std::string thumbnail_url_of(const image_ref& x) {
  static const std::string suffix = "/file";
  if (x.url.size() > suffix.size()
      && x.url.compare(x.url.size() - suffix.size(), suffix.size(), suffix)
          == 0)
    return x.url.substr(0, x.url.size() - suffix.size()) + "/thumbnail";
  return x.url;
}

json image_json(const image_ref& x) {
  return json{{"id", x.id},
              {"url", x.url},
              {"thumbnailUrl", thumbnail_url_of(x)},
              {"width", x.width},
              {"height", x.height}};
}

json builtin_image_json(const builtin_image& x) {
  auto url = builtin_image_url(x.id);
  return json{{"id", std::string{x.id}},
              {"name", std::string{x.name}},
              {"url", url},
              {"width", x.width},
              {"height", x.height},
              {"thumbnailUrl", url},
              {"contentType", std::string{builtin_image_content_type}},
              {"builtIn", true}};
}

std::string uploaded_image_url(const std::string& id) {
  return "/api/images/" + id + "/file";
}

std::string uploaded_thumbnail_url(const std::string& id) {
  return "/api/images/" + id + "/thumbnail";
}

json uploaded_image_json(const image_info& x) {
  return json{{"id", x.id},
              {"name", x.name},
              {"url", uploaded_image_url(x.id)},
              {"thumbnailUrl", uploaded_thumbnail_url(x.id)},
              {"width", x.width},
              {"height", x.height},
              {"contentType", x.content_type},
              {"bytes", x.byte_count},
              {"ownerId", x.owner_id},
              {"createdAt", util::iso8601(x.created_at)},
              {"builtIn", false}};
}

/// What a session stores about an uploaded image.
image_ref uploaded_image_ref(const image_info& x) {
  return image_ref{x.id, uploaded_image_url(x.id), x.width, x.height};
}

json summary_json(const session_summary& s) {
  double percentage
      = s.piece_count > 0 ? 100.0 * s.placed_count / s.piece_count : 0.0;
  return json{{"id", s.session_id},
              {"name", s.name},
              {"image", image_json(s.image)},
              {"rows", s.rows},
              {"cols", s.cols},
              {"pieceCount", s.piece_count},
              {"completedPieces", s.placed_count},
              {"participantsOnline", s.participants_online},
              {"completionPercentage", percentage},
              {"isCompleted", s.is_completed},
              {"isPublic", s.is_public},
              {"ownerId", s.owner_id},
              {"createdAt", util::iso8601(s.created_at)}};
}

void no_store(response& res) {
  res.set(bhttp::field::cache_control, "no-store, no-cache");
}

// -- auth and images ----------------------------------------------------------

void guest(const context_ptr& ctx, request&& req, route_match,
           responder reply) {
  auto body = parse_body(req, reply);
  if (!body) return;
  auto name = name_field(*body, "displayName",
                         ctx->settings.limits.max_name_length, reply);
  if (!name) return;
  auto token = ctx->tokens.issue_guest(std::move(*name));
  send_json(reply, bhttp::status::ok,
            json{{"token", token.value},
                 {"userId", token.user_id},
                 {"displayName", token.display_name},
                 {"expiresAt", util::iso8601(token.expires_at_ms)},
                 {"roles", auth::role_names(token.roles)}});
}

void send_image_not_found(responder& reply) {
  send_error(reply, bhttp::status::not_found, to_code(errc::image_not_found),
             "no image with this id");
}

void list_images(const context_ptr& ctx, request&&, route_match,
                 responder reply) {
  auto result = json::array();
  for (auto& x : builtin_images)
    result.push_back(builtin_image_json(x));
  if (!ctx->store) return send_json(reply, bhttp::status::ok, result);
  ask(
      ctx->system, ctx->store, ctx->ask_timeout,
      [reply, result](const std::vector<image_info>& xs) mutable {
        for (auto& x : xs)
          result.push_back(uploaded_image_json(x));
        send_json(reply, bhttp::status::ok, result);
      },
      [reply](const caf::error& err) mutable {
        send_actor_error(reply, err);
      },
      list_atom_v, image_atom_v);
}

void get_image(const context_ptr& ctx, request&&, route_match match,
               responder reply) {
  auto& id = match.params.at(0);
  if (auto image = find_builtin_image(id))
    return send_json(reply, bhttp::status::ok, builtin_image_json(*image));
  if (!ctx->store) return send_image_not_found(reply);
  ask(
      ctx->system, ctx->store, ctx->ask_timeout,
      [reply](const image_info& x) mutable {
        send_json(reply, bhttp::status::ok, uploaded_image_json(x));
      },
      [reply](const caf::error& err) mutable {
        send_actor_error(reply, err);
      },
      load_atom_v, image_atom_v, std::move(id));
}

/// `GET /api/images/{id}/file` and `/thumbnail`.
void get_image_file(const context_ptr& ctx, image_part part, request&&,
                    route_match match, responder reply) {
  auto& id = match.params.at(0);
  if (auto image = find_builtin_image(id)) {
    // Built-in images are static files: one SVG serves as both.
    response res{bhttp::status::found, 11};
    res.set(bhttp::field::location, builtin_image_url(image->id));
    return reply(std::move(res));
  }
  if (!ctx->store) return send_image_not_found(reply);
  ask(
      ctx->system, ctx->store, ctx->ask_timeout,
      [reply](image_file& file) mutable {
        response res{bhttp::status::ok, 11};
        res.set(bhttp::field::content_type, file.content_type);
        // An id names the same bytes forever (ids are never reused).
        res.set(bhttp::field::cache_control,
                http::to_beast(immutable_cache_control));
        res.set("X-Content-Type-Options", "nosniff");
        // The reply is the only owner of the bytes: moved, not copied.
        res.body() = std::move(file.bytes);
        reply(std::move(res));
      },
      [reply](const caf::error& err) mutable {
        send_actor_error(reply, err);
      },
      load_atom_v, image_atom_v, std::move(id), part);
}

// -- upload -------------------------------------------------------------------

/// Counts the uploads being decoded; at most `images.max-decoding`.
using upload_slots = work_slots;

/// The media type of the request, lowercased, without parameters.
std::string media_type(const request& req) {
  auto it = req.find(bhttp::field::content_type);
  if (it == req.end()) return {};
  std::string_view value{it->value().data(), it->value().size()};
  value = value.substr(0, value.find(';'));
  std::string result;
  for (char c : value) {
    if (c == ' ' || c == '\t') continue;
    result += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return result;
}

/// A name derived from a file name: without directories (old browsers send
/// a path), trimmed, cut to `max` code points; `fallback` when nothing
/// usable is left.
std::string derived_name(const std::string& filename, uint32_t max,
                         std::string_view fallback) {
  auto slash = filename.find_last_of("/\\");
  auto name = model::trim_unicode(
      slash == std::string::npos ? filename : filename.substr(slash + 1));
  if (name.empty() || model::utf8_length(name) < 0)
    return std::string{fallback};
  // Cut at a code point boundary: count lead bytes.
  uint32_t points = 0;
  for (size_t i = 0; i < name.size(); ++i) {
    if ((static_cast<unsigned char>(name[i]) & 0xC0u) == 0x80u) continue;
    if (points++ == max) {
      name.resize(i);
      break;
    }
  }
  return model::trim_unicode(name);
}

void upload_image(const context_ptr& ctx,
                  const std::shared_ptr<upload_slots>& slots, request&& req,
                  route_match, responder reply) {
  auto user = authenticate(*ctx, req, reply);
  if (!user) return;
  auto max_name = ctx->settings.limits.max_name_length;
  auto type = media_type(req);
  std::optional<std::string> name;
  std::string fallback{default_image_name};
  auto& body = req.body();
  if (type == "image/png" || type == "image/jpeg") {
    std::string_view target{req.target().data(), req.target().size()};
    name = http::query_param(target, "name");
  } else if (type == "multipart/form-data") {
    auto header = req[bhttp::field::content_type];
    auto boundary = http::multipart_boundary({header.data(), header.size()});
    if (!boundary)
      return send_invalid(reply,
                          "multipart/form-data needs a boundary parameter");
    // On the I/O thread: one Boyer-Moore pass over at most images.max-bytes
    // (about a millisecond for 10 MiB); decoding is what takes long.
    auto form = http::parse_multipart(body, *boundary);
    if (!form) return send_invalid(reply, form.error);
    auto file = form.find("file");
    if (file == nullptr)
      return send_invalid(reply, "multipart part 'file' is missing");
    if (auto part = form.find("name")) name = std::string{part->body};
    if (file->filename)
      fallback = derived_name(*file->filename, max_name, default_image_name);
    // Keep only the file's bytes, in place: no second buffer of upload
    // size. The views of `form` are invalid from here on.
    auto offset = static_cast<size_t>(file->body.data() - body.data());
    auto size = file->body.size();
    body.erase(offset + size);
    body.erase(0, offset);
  } else {
    return send_error(reply, bhttp::status::unsupported_media_type,
                      "UNSUPPORTED_MEDIA_TYPE",
                      "Content-Type must be image/png, image/jpeg or "
                      "multipart/form-data");
  }
  std::string final_name;
  if (name) {
    final_name = model::trim_unicode(*name);
    auto length = model::utf8_length(final_name);
    if (length < 1 || length > static_cast<int64_t>(max_name))
      return send_invalid(reply,
                          "name must be a string of 1 to "
                              + std::to_string(max_name) + " characters");
  } else {
    final_name = std::move(fallback);
  }
  // Garbage is refused here, before it takes a decoding slot.
  if (image::sniff(body) == image::format::unknown)
    return send_error(reply, bhttp::status::bad_request,
                      to_code(errc::invalid_image), "not a PNG or JPEG image");
  if (!ctx->store)
    return send_error(reply, bhttp::status::service_unavailable,
                      to_code(errc::internal), "no store for uploaded images");
  auto ticket = slots->try_take();
  if (!ticket) {
    auto res = http::make_error(
        bhttp::status::service_unavailable, to_code(errc::limit_exceeded),
        "too many uploads in progress (images.max-decoding = "
            + std::to_string(ctx->settings.images.max_decoding)
            + "); retry shortly");
    res.set(bhttp::field::retry_after, http::to_beast(upload_retry_after));
    return reply(std::move(res));
  }
  image_ingest_options options;
  auto& images = ctx->settings.images;
  options.limits.max_bytes = images.max_bytes;
  options.limits.max_pixels = images.max_pixels;
  options.limits.max_side = ctx->settings.limits.max_image_side;
  options.limits.thumbnail_side = images.thumbnail_side;
  options.store_timeout = ctx->ask_timeout;
  options.ticket = std::move(ticket);
  options.clock = ctx->clock;
  // Decoding may take a second: a detached actor does it, off the I/O
  // threads and off CAF's shared workers (see image_ingest_actor.hpp).
  auto worker = spawn_image_ingest(ctx->system, ctx->store, std::move(options));
  image_upload upload{std::move(final_name), std::move(*user),
                      shared_bytes{std::move(body)}};
  ask(
      ctx->system, worker, ctx->upload_timeout,
      [reply](const image_info& x) mutable {
        auto res = http::make_json(bhttp::status::created,
                                   dump(uploaded_image_json(x)));
        res.set(bhttp::field::location, "/api/images/" + x.id);
        reply(std::move(res));
      },
      [reply](const caf::error& err) mutable {
        send_actor_error(reply, err);
      },
      create_atom_v, std::move(upload));
}

// -- sessions -----------------------------------------------------------------

/// Asks the directory to create the session of `cr` and answers 201.
void create(const context_ptr& ctx, create_request cr, responder reply);

void create_session(const context_ptr& ctx, request&& req, route_match,
                    responder reply) {
  auto user = authenticate(*ctx, req, reply);
  if (!user) return;
  auto body = parse_body(req, reply);
  if (!body) return;
  auto name
      = name_field(*body, "name", ctx->settings.limits.max_name_length, reply);
  if (!name) return;
  auto image_id = body->find("imageId");
  if (image_id == body->end() || !image_id->is_string())
    return send_invalid(reply, "imageId must be a string");
  auto builtin = find_builtin_image(image_id->get<std::string>());
  if (builtin == nullptr && !ctx->store)
    return send_invalid(reply, "imageId names no known image");
  auto rows = int_field(*body, "rows", reply);
  if (!rows) return;
  auto cols = int_field(*body, "cols", reply);
  if (!cols) return;
  auto rotation = bool_field(*body, "rotation", false, reply);
  if (!rotation) return;
  auto is_public = bool_field(*body, "public", true, reply);
  if (!is_public) return;
  create_request cr;
  cr.name = std::move(*name);
  cr.rows = *rows;
  cr.cols = *cols;
  cr.rotation = *rotation;
  cr.is_public = *is_public;
  cr.owner = std::move(*user);
  if (builtin != nullptr) {
    cr.image = to_image_ref(*builtin);
    return create(ctx, std::move(cr), std::move(reply));
  }
  // An uploaded image: the store knows its size.
  ask(
      ctx->system, ctx->store, ctx->ask_timeout,
      [ctx, cr, reply](const image_info& x) mutable {
        cr.image = uploaded_image_ref(x);
        create(ctx, std::move(cr), std::move(reply));
      },
      [reply](const caf::error& err) mutable {
        if (code_of(err) == errc::image_not_found)
          return send_invalid(reply, "imageId names no known image");
        send_actor_error(reply, err);
      },
      load_atom_v, image_atom_v, image_id->get<std::string>());
}

/// The link that lets a user into a private session (the browser client
/// redeems `invite`, then joins `session`).
std::string invite_url(const std::string& session_id, const std::string& code) {
  return "/?session=" + session_id + "&invite=" + code;
}

void send_created(responder& reply, json body, const std::string& id) {
  auto res = http::make_json(bhttp::status::created, dump(body));
  res.set(bhttp::field::location, "/api/sessions/" + id);
  reply(std::move(res));
}

void create(const context_ptr& ctx, create_request cr, responder reply) {
  auto owner = cr.owner;
  ask(
      ctx->system, ctx->directory, ctx->ask_timeout,
      [ctx, reply, owner](const session_summary& s) mutable {
        if (s.is_public)
          return send_created(reply, summary_json(s), s.session_id);
        // A private session: its owner gets the invite link to hand out.
        ask(
            ctx->system, ctx->directory, ctx->ask_timeout,
            [reply, s](const std::string& code) mutable {
              auto body = summary_json(s);
              body["inviteCode"] = code;
              body["inviteUrl"] = invite_url(s.session_id, code);
              send_created(reply, std::move(body), s.session_id);
            },
            [reply](const caf::error& err) mutable {
              send_actor_error(reply, err);
            },
            invite_atom_v, s.session_id, owner);
      },
      [reply](const caf::error& err) mutable {
        send_actor_error(reply, err);
      },
      create_atom_v, std::move(cr));
}

void list_sessions(const context_ptr& ctx, request&&, route_match,
                   responder reply) {
  ask(
      ctx->system, ctx->directory, ctx->ask_timeout,
      [reply](const std::vector<session_summary>& xs) mutable {
        auto result = json::array();
        for (auto& x : xs)
          if (x.is_public) result.push_back(summary_json(x));
        send_json(reply, bhttp::status::ok, result);
      },
      [reply](const caf::error& err) mutable {
        send_actor_error(reply, err);
      },
      list_atom_v);
}

void get_session(const context_ptr& ctx, request&& req, route_match match,
                 responder reply) {
  // Reading needs no token; without one the reader is anonymous (no roles),
  // which hides private sessions. A bad token is still refused.
  user_identity reader;
  reader.roles = 0;
  if (http::bearer_token(req)) {
    auto user = authenticate(*ctx, req, reply);
    if (!user) return;
    reader = std::move(*user);
  }
  ask(
      ctx->system, ctx->directory, ctx->ask_timeout,
      [reply](std::string& state) mutable {
        auto res = http::make_json(bhttp::status::ok, std::move(state));
        // It may carry an invite code: never kept by a shared cache.
        res.set(bhttp::field::cache_control, "no-store");
        reply(std::move(res));
      },
      [reply](const caf::error& err) mutable {
        send_actor_error(reply, err);
      },
      state_atom_v, std::move(match.params.at(0)), std::move(reader));
}

/// `POST /api/sessions/{id}/invite {code}`: lets the caller into a private
/// session.
void redeem_invite(const context_ptr& ctx, request&& req, route_match match,
                   responder reply) {
  auto user = authenticate(*ctx, req, reply);
  if (!user) return;
  auto body = parse_body(req, reply);
  if (!body) return;
  auto code = body->find("code");
  if (code == body->end() || !code->is_string()
      || code->get_ref<const std::string&>().empty()
      || code->get_ref<const std::string&>().size() > 256)
    return send_invalid(reply, "code must be a string of 1 to 256 bytes");
  auto id = match.params.at(0);
  ask(
      ctx->system, ctx->directory, ctx->ask_timeout,
      [reply, id](bool) mutable {
        send_json(reply, bhttp::status::ok,
                  json{{"sessionId", id}, {"allowed", true}});
      },
      [reply](const caf::error& err) mutable {
        send_actor_error(reply, err);
      },
      invite_atom_v, id, std::move(*user), code->get<std::string>());
}

void delete_session(const context_ptr& ctx, request&& req, route_match match,
                    responder reply) {
  auto user = authenticate(*ctx, req, reply);
  if (!user) return;
  auto is_admin = user->has_role(user_role::admin);
  ask(
      ctx->system, ctx->directory, ctx->ask_timeout,
      [reply](bool deleted) mutable {
        if (!deleted)
          return send_error(reply, bhttp::status::not_found,
                            to_code(errc::session_not_found),
                            "no session with this id");
        reply(response{bhttp::status::no_content, 11});
      },
      [reply](const caf::error& err) mutable {
        send_actor_error(reply, err);
      },
      delete_atom_v, std::move(match.params.at(0)), std::move(user->user_id),
      is_admin);
}

// -- health -------------------------------------------------------------------

void health(std::string_view status, responder& reply) {
  auto res = http::make_json(
      bhttp::status::ok,
      dump(json{{"status", std::string{status}}, {"timestamp", now_iso()}}));
  no_store(res);
  reply(std::move(res));
}

/// Runs the database check and calls `done(ok, description, duration,
/// total)`; with no check configured the node is healthy.
template<class F>
void run_check(const rest_context& ctx, F done) {
  auto start = std::chrono::steady_clock::now();
  if (!ctx.check_database)
    return done(true, std::string{"no database check configured"},
                std::chrono::microseconds{0}, std::chrono::microseconds{0});
  ctx.check_database([start, done](bool ok, std::string description,
                                   std::chrono::microseconds duration) mutable {
    auto total = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - start);
    done(ok, std::move(description), duration, total);
  });
}

void ready(const context_ptr& ctx, request&&, route_match, responder reply) {
  run_check(*ctx,
            [reply](bool ok, std::string, std::chrono::microseconds,
                    std::chrono::microseconds total) mutable {
              auto status
                  = ok ? bhttp::status::ok : bhttp::status::service_unavailable;
              auto res = http::make_json(
                  status,
                  dump(json{{"status", ok ? "Healthy" : "Unhealthy"},
                            {"totalDuration", util::timespan(total)},
                            {"timestamp", now_iso()}}));
              no_store(res);
              reply(std::move(res));
            });
}

void detailed(const context_ptr& ctx, request&&, route_match, responder reply) {
  run_check(*ctx,
            [ctx, reply](bool ok, std::string description,
                         std::chrono::microseconds duration,
                         std::chrono::microseconds total) mutable {
              std::string status_text = ok ? "Healthy" : "Unhealthy";
              json database{{"status", status_text},
                            {"description", std::move(description)},
                            {"duration", util::timespan(duration)},
                            {"exception", nullptr},
                            {"data", json::object()}};
              json results{{"database", std::move(database)}};
              for (auto& [name, entry] : ctx->health_entries) {
                auto value = json::parse(entry(), nullptr, false);
                if (value.is_discarded()) continue;
                auto status = value.value("status", std::string{});
                if (status == "Unhealthy") ok = false;
                if (!ok)
                  status_text = "Unhealthy";
                else if (status == "Degraded")
                  status_text = "Degraded";
                results[name] = std::move(value);
              }
              json body{{"status", status_text},
                        {"totalDuration", util::timespan(total)},
                        {"timestamp", now_iso()},
                        {"results", std::move(results)}};
              auto res = http::make_json(
                  ok ? bhttp::status::ok : bhttp::status::service_unavailable,
                  dump(body));
              no_store(res);
              reply(std::move(res));
            });
}

// -- demo ---------------------------------------------------------------------

struct realtime_endpoint {
  std::string_view type;
  std::string_view url;
  std::string_view protocol;
  std::string_view feature;
};

constexpr realtime_endpoint realtime_endpoints[] = {
    {"SignalR", "/puzzlehub", "WebSocket", "SignalR Hub"},
    {"WebRTC", "/webrtchub", "WebSocket", "WebRTC Signaling"},
    {"Raw WebSocket", "/ws", "WebSocket", "WebSocket Raw"},
    {"Socket.IO", "/socket.io", "WebSocket", "Socket.IO Compatibility"},
};

/// Whether the node serves an endpoint: its path or its SignalR-style
/// negotiate path has a route or an upgrade handler.
bool served(const http::router& routes, std::string_view url) {
  std::string path{url};
  return routes.serves(path) || routes.serves(path + "/negotiate");
}

void demo_status(const context_ptr& ctx, const http::router* routes, request&&,
                 route_match, responder reply) {
  auto features = json::array({"REST API", "Health Checks"});
  for (auto& x : realtime_endpoints)
    if (served(*routes, x.url)) features.push_back(std::string{x.feature});
  if (!ctx->settings.mqtt.uri.empty())
    features.push_back("MQTT IoT Integration");
  auto uptime = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::system_clock::now() - ctx->started_at);
  json body{
      {"status", "running"},
      {"version", ctx->version},
      {"timestamp", now_iso()},
      {"uptime", util::timespan(uptime)},
      {"openConnections", ctx->open_connections ? ctx->open_connections() : 0},
      {"features", std::move(features)}};
  send_json(reply, bhttp::status::ok, body);
}

void demo_connections(const context_ptr& ctx, const http::router* routes,
                      request&&, route_match, responder reply) {
  auto endpoints = json::array();
  for (auto& x : realtime_endpoints)
    endpoints.push_back(json{{"type", std::string{x.type}},
                             {"url", std::string{x.url}},
                             {"protocol", std::string{x.protocol}},
                             {"available", served(*routes, x.url)}});
  // The node is an MQTT client of a broker (mqtt.uri), not a broker.
  endpoints.push_back(json{{"type", "MQTT"},
                           {"url", nullptr},
                           {"protocol", "MQTT"},
                           {"available", !ctx->settings.mqtt.uri.empty()}});
  send_json(reply, bhttp::status::ok, json{{"endpoints", endpoints}});
}

void demo_echo(request&& req, route_match, responder reply) {
  auto body = parse_body(req, reply);
  if (!body) return;
  auto it = body->find("message");
  if (it == body->end() || !it->is_string())
    return send_invalid(reply, "message must be a string");
  auto now = now_iso();
  send_json(reply, bhttp::status::ok,
            json{{"message", *it}, {"timestamp", now}, {"echoedAt", now}});
}

} // namespace

void register_rest_api(http::router& routes, rest_context ctx_value) {
  using bhttp::verb;
  auto ctx = std::make_shared<const rest_context>(std::move(ctx_value));
  const http::router* self = &routes;
  auto with_ctx = [ctx](auto fn) {
    return [ctx, fn](request&& req, route_match m, responder reply) {
      fn(ctx, std::move(req), std::move(m), std::move(reply));
    };
  };
  routes.add(verb::post, "/api/auth/guest", with_ctx(guest));
  register_account_api(routes, ctx);
  routes.add(verb::get, "/api/images", with_ctx(list_images));
  routes.add(verb::get, "/api/images/{id}", with_ctx(get_image));
  routes.add(verb::get, "/api/images/{id}/file",
             [ctx](request&& req, route_match m, responder reply) {
               get_image_file(ctx, image_part::original, std::move(req),
                              std::move(m), std::move(reply));
             });
  routes.add(verb::get, "/api/images/{id}/thumbnail",
             [ctx](request&& req, route_match m, responder reply) {
               get_image_file(ctx, image_part::thumbnail, std::move(req),
                              std::move(m), std::move(reply));
             });
  // Uploads are the one route with large bodies: images.max-bytes instead
  // of http.body-limit, enforced while the body is read.
  auto slots
      = std::make_shared<upload_slots>(ctx->settings.images.max_decoding);
  routes.add(
      verb::post, "/api/images",
      [ctx, slots](request&& req, route_match m, responder reply) {
        upload_image(ctx, slots, std::move(req), std::move(m),
                     std::move(reply));
      },
      http::route_options{ctx->settings.images.max_bytes, "images.max-bytes"});
  routes.add(verb::post, "/api/sessions", with_ctx(create_session));
  routes.add(verb::get, "/api/sessions", with_ctx(list_sessions));
  routes.add(verb::get, "/api/sessions/{id}", with_ctx(get_session));
  routes.add(verb::delete_, "/api/sessions/{id}", with_ctx(delete_session));
  routes.add(verb::post, "/api/sessions/{id}/invite", with_ctx(redeem_invite));
  routes.add(verb::get, "/health", [](request&&, route_match, responder reply) {
    health("Healthy", reply);
  });
  routes.add(verb::get, "/health/live",
             [](request&&, route_match, responder reply) {
               health("Alive", reply);
             });
  routes.add(verb::get, "/health/ready", with_ctx(ready));
  routes.add(verb::get, "/health/detailed", with_ctx(detailed));
  routes.add(verb::get, "/api/demo/status",
             [ctx, self](request&& req, route_match m, responder reply) {
               demo_status(ctx, self, std::move(req), std::move(m),
                           std::move(reply));
             });
  routes.add(verb::get, "/api/demo/connections",
             [ctx, self](request&& req, route_match m, responder reply) {
               demo_connections(ctx, self, std::move(req), std::move(m),
                                std::move(reply));
             });
  routes.add(verb::post, "/api/demo/echo", demo_echo);
}

} // namespace puzzle::transports::api
