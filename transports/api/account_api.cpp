#include "transports/api/account_api.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <optional>
#include <string>
#include <utility>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>
#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/blocking_actor.hpp>
#include <nlohmann/json.hpp>

#include "actors/account_interface.hpp"
#include "actors/util/ids.hpp"
#include "transports/api/actor_bridge.hpp"
#include "transports/api/replies.hpp"
#include "transports/api/work_slots.hpp"
#include "transports/api/rest_body.hpp"
#include "transports/auth/password.hpp"
#include "transports/auth/token_service.hpp"
#include "transports/http/http_util.hpp"

namespace puzzle::transports::api {

namespace bhttp = boost::beast::http;
using json = nlohmann::ordered_json;
using http::request;
using http::responder;
using http::route_match;

namespace {

using context_ptr = std::shared_ptr<const rest_context>;

constexpr size_t min_username = 3;
constexpr size_t max_username = 32;
/// RFC 5321's limit on a forward path, less the angle brackets.
constexpr size_t max_email = 254;
constexpr const char* bad_login = "invalid username or password";

/// Counts the password hashes running; at most `auth.max-hashing`.
using hash_slots = work_slots;

using slots_ptr = std::shared_ptr<hash_slots>;

void send_error(responder& reply, bhttp::status status, errc code,
                std::string_view message) {
  reply(http::make_error(status, to_code(code), message));
}

void send_unauthorized(responder& reply) {
  auto res = http::make_error(bhttp::status::unauthorized,
                              to_code(errc::unauthorized), bad_login);
  res.set(bhttp::field::www_authenticate, "Bearer");
  reply(std::move(res));
}

std::optional<json> parse_body(const request& req, responder& reply) {
  if (!http::has_json_content_type(req)) {
    reply(http::make_error(bhttp::status::unsupported_media_type,
                           "UNSUPPORTED_MEDIA_TYPE",
                           "Content-Type must be application/json"));
    return std::nullopt;
  }
  json body;
  if (auto problem = parse_object_body(req.body(), body); !problem.empty()) {
    send_invalid(reply, problem);
    return std::nullopt;
  }
  return body;
}

/// `body[field]` as a string, or nullopt when absent or not a string.
std::optional<std::string> string_field(const json& body, const char* field) {
  auto it = body.find(field);
  if (it == body.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

bool valid_username(const std::string& x) {
  if (x.size() < min_username || x.size() > max_username) return false;
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9');
  };
  if (!alnum(x.front())) return false;
  return std::all_of(x.begin(), x.end(), [&](char c) {
    return alnum(c) || c == '.' || c == '_' || c == '-';
  });
}

bool valid_email(const std::string& x) {
  if (x.size() > max_email) return false;
  auto at = x.find('@');
  if (at == std::string::npos || at == 0 || at > 64
      || x.find('@', at + 1) != std::string::npos)
    return false;
  auto domain = x.substr(at + 1);
  auto dot = domain.find('.');
  if (dot == std::string::npos || dot == 0 || domain.back() == '.')
    return false;
  // Printable ASCII without spaces: no control characters, no look-alikes.
  return std::all_of(x.begin(), x.end(), [](char c) {
    return c > ' ' && c < 0x7F;
  });
}

/// Whether `name` is in `list`, ignoring ASCII case like logins do.
bool listed(const std::vector<std::string>& list, const std::string& name) {
  auto lower = [](std::string s) {
    for (auto& c : s)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
  };
  auto key = lower(name);
  return std::any_of(list.begin(), list.end(), [&](const std::string& x) {
    return lower(x) == key;
  });
}

/// The roles of `account` now: stored ones plus those from config.
uint8_t roles_of(const rest_context& ctx, const user_account& account) {
  auto roles = static_cast<uint8_t>(account.roles
                                    | static_cast<uint8_t>(user_role::player)
                                    | static_cast<uint8_t>(user_role::owner));
  if (listed(ctx.settings.auth.admins, account.username))
    roles |= static_cast<uint8_t>(user_role::admin);
  if (listed(ctx.settings.auth.operators, account.username))
    roles |= static_cast<uint8_t>(user_role::operator_);
  return roles;
}

void send_token(const rest_context& ctx, responder& reply, bhttp::status status,
                const user_account& account) {
  auto token
      = ctx.tokens.issue(account.id, account.username, roles_of(ctx, account));
  json body{{"token", token.value},
            {"userId", token.user_id},
            {"displayName", token.display_name},
            {"expiresAt", util::iso8601(token.expires_at_ms)},
            {"roles", auth::role_names(token.roles)}};
  reply(http::make_json(
      status, body.dump(-1, ' ', false, json::error_handler_t::replace)));
}

/// A slot for one hash, or nullptr after answering 503.
std::shared_ptr<void> take_slot(const rest_context& ctx, const slots_ptr& slots,
                                responder& reply) {
  auto ticket = slots->try_take();
  if (ticket) return ticket;
  auto res = http::make_error(
      bhttp::status::service_unavailable, to_code(errc::limit_exceeded),
      "too many logins in progress (auth.max-hashing = "
          + std::to_string(ctx.settings.auth.max_hashing) + "); retry shortly");
  res.set(bhttp::field::retry_after, "1");
  reply(std::move(res));
  return nullptr;
}

/// Runs `work` on a thread of its own (a blocking actor): hashing must not
/// hold an I/O thread or one of CAF's shared workers.
template<class F>
void off_io_threads(caf::actor_system& sys, F work) {
  sys.spawn([work = std::move(work)](caf::blocking_actor*) mutable {
    work();
  });
}

/// The store's account interface, or an invalid handle without a store.
account_store_actor accounts_of(const rest_context& ctx) {
  return caf::actor_cast<account_store_actor>(ctx.store);
}

void register_user(const context_ptr& ctx, const slots_ptr& slots,
                   request&& req, route_match, responder reply) {
  auto body = parse_body(req, reply);
  if (!body) return;
  auto username = string_field(*body, "username");
  if (!username || !valid_username(*username))
    return send_invalid(
        reply,
        "username must have 3 to 32 characters: letters, digits, "
        "'.', '_' or '-', starting with a letter or digit");
  auto email = string_field(*body, "email");
  if (!email || !valid_email(*email))
    return send_invalid(reply,
                        "email must be an address like name@example.org "
                        "(at most 254 characters)");
  auto password = string_field(*body, "password");
  if (!password) return send_invalid(reply, "password must be a string");
  if (auto problem = auth::check_new_password(*password, ctx->settings.auth);
      !problem.empty())
    return send_invalid(reply, problem);
  if (!ctx->store)
    return send_error(reply, bhttp::status::service_unavailable, errc::internal,
                      "no store for accounts");
  auto ticket = take_slot(*ctx, slots, reply);
  if (!ticket) return;
  user_account account;
  account.id = util::new_uuid();
  account.username = std::move(*username);
  account.email = std::move(*email);
  account.roles = static_cast<uint8_t>(user_role::player)
      | static_cast<uint8_t>(user_role::owner);
  account.created_at = ctx->clock ? ctx->clock() : util::now_ms();
  off_io_threads(
      ctx->system,
      [ctx, ticket, reply, account, password = std::move(*password)]() mutable {
        try {
          account.password_hash = auth::hash_password(
              password, auth::hash_cost::of(ctx->settings.auth));
        } catch (const std::exception& ex) {
          return send_error(reply, bhttp::status::internal_server_error,
                            errc::internal, ex.what());
        }
        ticket.reset();
        ask(
            ctx->system, accounts_of(*ctx), ctx->ask_timeout,
            [ctx, reply, account](bool) mutable {
              send_token(*ctx, reply, bhttp::status::created, account);
            },
            [reply](const caf::error& err) mutable {
              send_actor_error(reply, err);
            },
            put_atom_v, account);
      });
}

void login(const context_ptr& ctx, const slots_ptr& slots, request&& req,
           route_match, responder reply) {
  auto body = parse_body(req, reply);
  if (!body) return;
  auto name = string_field(*body, "username");
  if (!name) name = string_field(*body, "email");
  if (!name || name->empty())
    return send_invalid(reply, "username or email must be a string");
  auto password = string_field(*body, "password");
  if (!password) return send_invalid(reply, "password must be a string");
  // Checked before any hashing: a huge password costs no Argon2 work.
  if (password->size() > ctx->settings.auth.max_password_bytes)
    return send_invalid(
        reply,
        "password must have at most "
            + std::to_string(ctx->settings.auth.max_password_bytes)
            + " bytes (auth.max-password-bytes)");
  if (name->size() > max_email) return send_unauthorized(reply);
  if (!ctx->store)
    return send_error(reply, bhttp::status::service_unavailable, errc::internal,
                      "no store for accounts");
  auto ticket = take_slot(*ctx, slots, reply);
  if (!ticket) return;
  // Both outcomes verify one hash on a thread of its own: an unknown user
  // against the dummy hash, so that it takes as long as a wrong password.
  auto check = [ctx, ticket, reply, password = std::move(*password)](
                   std::optional<user_account> account) mutable {
    off_io_threads(
        ctx->system,
        [ctx, ticket, reply, password, account = std::move(account)]() mutable {
          try {
            auto cost = auth::hash_cost::of(ctx->settings.auth);
            const auto& hash
                = account ? account->password_hash : auth::dummy_hash(cost);
            auto ok = auth::verify_password(hash, password);
            ticket.reset();
            if (!ok || !account) return send_unauthorized(reply);
            send_token(*ctx, reply, bhttp::status::ok, *account);
          } catch (const std::exception& ex) {
            send_error(reply, bhttp::status::internal_server_error,
                       errc::internal, ex.what());
          }
        });
  };
  ask(
      ctx->system, accounts_of(*ctx), ctx->ask_timeout,
      [check](user_account& account) mutable {
        check(std::move(account));
      },
      [check, reply](const caf::error& err) mutable {
        if (code_of(err) == errc::unauthorized) return check(std::nullopt);
        send_actor_error(reply, err);
      },
      load_atom_v, account_atom_v, std::move(*name));
}

} // namespace

void register_account_api(http::router& routes, context_ptr ctx) {
  auto slots = std::make_shared<hash_slots>(ctx->settings.auth.max_hashing);
  // Made now, not at the first login of an unknown user: that login would
  // otherwise take twice as long as any other.
  auth::dummy_hash(auth::hash_cost::of(ctx->settings.auth));
  routes.add(bhttp::verb::post, "/api/auth/register",
             [ctx, slots](request&& req, route_match m, responder reply) {
               register_user(ctx, slots, std::move(req), std::move(m),
                             std::move(reply));
             });
  routes.add(bhttp::verb::post, "/api/auth/login",
             [ctx, slots](request&& req, route_match m, responder reply) {
               login(ctx, slots, std::move(req), std::move(m),
                     std::move(reply));
             });
}

} // namespace puzzle::transports::api
