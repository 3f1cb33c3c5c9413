#include "transports/http/router.hpp"

#include <optional>
#include <stdexcept>

namespace puzzle::transports::http {

namespace bhttp = boost::beast::http;

namespace {

/// Drops one trailing slash, except from the root.
std::string_view strip_trailing_slash(std::string_view path) noexcept {
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  return path;
}

/// Splits a raw absolute path into decoded segments; nullopt for a path
/// that is not absolute or has a malformed escape.
std::optional<std::vector<std::string>> split_path(std::string_view path) {
  if (path.empty() || path.front() != '/') return std::nullopt;
  path = strip_trailing_slash(path);
  std::vector<std::string> result;
  if (path == "/") return result;
  path.remove_prefix(1);
  for (;;) {
    auto slash = path.find('/');
    auto decoded = percent_decode(path.substr(0, slash));
    if (!decoded) return std::nullopt;
    result.push_back(std::move(*decoded));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return result;
}

/// Rebuilds the raw rest of a path from segment `first` on, for `{*name}`.
std::string join_from(const std::vector<std::string>& segs, size_t first) {
  std::string result;
  for (auto i = first; i < segs.size(); ++i) {
    if (i > first) result += '/';
    result += segs[i];
  }
  return result;
}

/// Appends `method` to a comma-separated list unless it is there already.
void append_method(std::string& allow, std::string_view method) {
  std::string_view rest{allow};
  while (!rest.empty()) {
    auto comma = rest.find(", ");
    if (rest.substr(0, comma) == method) return;
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 2);
  }
  if (!allow.empty()) allow += ", ";
  allow += method;
}

} // namespace

void router::add(bhttp::verb method, std::string pattern, handler h,
                 route_options options) {
  auto segs = split_path(pattern);
  if (!segs || !h) throw std::invalid_argument("bad route pattern: " + pattern);
  route r{method, pattern, {}, std::move(h), std::move(options)};
  for (size_t i = 0; i < segs->size(); ++i) {
    auto& text = (*segs)[i];
    segment seg;
    if (text.size() >= 2 && text.front() == '{' && text.back() == '}') {
      if (text.size() > 3 && text[1] == '*') {
        if (i + 1 != segs->size())
          throw std::invalid_argument("{*name} must be last: " + pattern);
        seg.kind = segment::rest;
        seg.text = text.substr(2, text.size() - 3);
      } else {
        seg.kind = segment::param;
        seg.text = text.substr(1, text.size() - 2);
      }
      if (seg.text.empty())
        throw std::invalid_argument("unnamed parameter: " + pattern);
    } else {
      seg.text = std::move(text);
    }
    r.segments.push_back(std::move(seg));
  }
  routes_.push_back(std::move(r));
}

void router::add_upgrade(std::string path, upgrade_handler h) {
  if (path.empty() || path.front() != '/' || !h)
    throw std::invalid_argument("bad upgrade path: " + path);
  path = std::string{strip_trailing_slash(path)};
  upgrades_.push_back(upgrade{std::move(path), std::move(h)});
}

void router::set_fallback(handler h) {
  fallback_ = std::move(h);
}

bool router::match(const route& r, const std::vector<std::string>& segs,
                   route_match& m, std::vector<int>& rank) {
  size_t i = 0;
  for (; i < r.segments.size(); ++i) {
    auto& seg = r.segments[i];
    if (seg.kind == segment::rest) {
      m.params.push_back(join_from(segs, i));
      rank.push_back(2);
      return true;
    }
    if (i >= segs.size()) return false;
    if (seg.kind == segment::literal) {
      if (seg.text != segs[i]) return false;
      rank.push_back(0);
    } else {
      if (segs[i].empty()) return false;
      m.params.push_back(segs[i]);
      rank.push_back(1);
    }
  }
  return i == segs.size();
}

router::lookup router::find(bhttp::verb method, std::string_view path) const {
  lookup result;
  auto segs = split_path(path);
  if (!segs) return result;
  const route* best = nullptr;
  std::vector<int> best_rank;
  route_match best_match;
  bool best_via_get = false;
  bool path_known = false;
  for (auto& r : routes_) {
    route_match m;
    std::vector<int> rank;
    if (!match(r, *segs, m, rank)) continue;
    path_known = true;
    bool via_get = method == bhttp::verb::head && r.method == bhttp::verb::get;
    if (r.method != method && !via_get) continue;
    // An exact method match beats the HEAD-to-GET fallback.
    bool better = best == nullptr || (best_via_get && !via_get)
        || (best_via_get == via_get && rank < best_rank);
    if (better) {
      best = &r;
      best_rank = std::move(rank);
      best_match = std::move(m);
      best_via_get = via_get;
    }
  }
  if (best != nullptr) {
    result.result = outcome::found;
    result.target = &best->fn;
    result.options = &best->options;
    result.match = std::move(best_match);
  } else if (path_known) {
    result.result = outcome::method_not_allowed;
    result.allow = allowed_methods(path);
  }
  return result;
}

const upgrade_handler* router::find_upgrade(std::string_view path) const {
  path = strip_trailing_slash(path);
  for (auto& u : upgrades_)
    if (u.path == path) return &u.fn;
  return nullptr;
}

std::string router::allowed_methods(std::string_view path) const {
  std::string allow;
  auto segs = split_path(path);
  if (!segs) return allow;
  for (auto& r : routes_) {
    route_match m;
    std::vector<int> rank;
    if (!match(r, *segs, m, rank)) continue;
    auto name = bhttp::to_string(r.method);
    append_method(allow, std::string_view{name.data(), name.size()});
    if (r.method == bhttp::verb::get) append_method(allow, "HEAD");
  }
  if (allow.empty() && find_upgrade(path) != nullptr)
    append_method(allow, "GET");
  if (allow.empty() && fallback_) {
    append_method(allow, "GET");
    append_method(allow, "HEAD");
  }
  if (!allow.empty()) append_method(allow, "OPTIONS");
  return allow;
}

bool router::serves(std::string_view path) const {
  if (find_upgrade(path) != nullptr) return true;
  auto segs = split_path(path);
  if (!segs) return false;
  for (auto& r : routes_) {
    route_match m;
    std::vector<int> rank;
    if (match(r, *segs, m, rank)) return true;
  }
  return false;
}

} // namespace puzzle::transports::http
