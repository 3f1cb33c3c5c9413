#include "actors/device/binding_file.hpp"

#include <cstdio>
#include <filesystem>
#include <system_error>
#include <fstream>
#include <iterator>

#include <caf/actor_system.hpp>
#include <caf/spawn_options.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace puzzle {

namespace {

using json = nlohmann::json;

std::shared_ptr<spdlog::logger> log() {
  static auto logger = [] {
    auto existing = spdlog::get("puzzle.actor.device");
    return existing ? existing
                    : spdlog::default_logger()->clone("puzzle.actor.device");
  }();
  return logger;
}

} // namespace

std::string load_bindings(const std::string& path,
                          std::vector<device_binding>& out) {
  out.clear();
  std::ifstream in{path};
  if (!in) return {}; // no file yet
  std::string text{std::istreambuf_iterator<char>{in},
                   std::istreambuf_iterator<char>{}};
  auto doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return path + ": not a JSON object";
  auto list = doc.find("bindings");
  if (list == doc.end() || !list->is_array())
    return path + ": no \"bindings\" array";
  for (auto& item : *list) {
    if (!item.is_object()) return path + ": a binding is not an object";
    device_binding b;
    auto text_of = [&item](const char* key, std::string& field) {
      auto it = item.find(key);
      if (it == item.end() || !it->is_string()) return false;
      field = it->get<std::string>();
      return true;
    };
    if (!text_of("deviceId", b.device_id) || !text_of("sessionId", b.session_id)
        || !valid_device_id(b.device_id))
      return path + ": a binding lacks a valid deviceId or sessionId";
    text_of("boundBy", b.bound_by);
    auto at = item.find("boundAt");
    if (at != item.end() && at->is_number_integer())
      b.bound_at = at->get<int64_t>();
    out.push_back(std::move(b));
  }
  return {};
}

std::string save_bindings(const std::string& path,
                          const std::vector<device_binding>& bindings) {
  auto list = json::array();
  for (auto& b : bindings)
    list.push_back(json{{"deviceId", b.device_id},
                        {"sessionId", b.session_id},
                        {"boundBy", b.bound_by},
                        {"boundAt", b.bound_at}});
  auto text = json{{"bindings", std::move(list)}}.dump(2);
  auto parent = std::filesystem::path{path}.parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  auto tmp = path + ".tmp";
  {
    std::ofstream out{tmp, std::ios::trunc};
    if (!out) return "cannot write " + tmp;
    out << text << '\n';
    out.flush();
    if (!out) return "cannot write " + tmp;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    return "cannot rename " + tmp + " to " + path;
  return {};
}

binding_saver_actor spawn_binding_saver(caf::actor_system& sys,
                                        std::string path) {
  return sys.spawn<caf::detached>(
      [path = std::move(path)](
          binding_saver_actor::pointer) -> binding_saver_actor::behavior_type {
        return {
            [path](const std::vector<device_binding>& bindings) {
              auto err = save_bindings(path, bindings);
              if (!err.empty())
                log()->error("event=bindings_not_saved error=\"{}\"", err);
            },
        };
      });
}

} // namespace puzzle
