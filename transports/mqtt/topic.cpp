#include "transports/mqtt/topic.hpp"

namespace puzzle::transports::mqtt {

namespace {

constexpr std::string_view share_prefix = "$share/";

/// Well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, at most
/// U+10FFFF) without U+0000.
topic_error check_utf8(std::string_view text) noexcept {
  size_t i = 0;
  auto byte = [&](size_t k) {
    return static_cast<unsigned char>(text[k]);
  };
  while (i < text.size()) {
    auto c = byte(i);
    if (c == 0) return topic_error::null_character;
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n = 0;
    uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1Fu;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0Fu;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07u;
    } else {
      return topic_error::not_utf8;
    }
    if (i + n >= text.size()) return topic_error::not_utf8; // truncated
    for (size_t k = 1; k <= n; ++k) {
      auto d = byte(i + k);
      if ((d & 0xC0) != 0x80) return topic_error::not_utf8;
      cp = (cp << 6) | (d & 0x3Fu);
    }
    static constexpr uint32_t least[] = {0, 0x80, 0x800, 0x10000};
    if (cp < least[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return topic_error::not_utf8;
    i += n + 1;
  }
  return topic_error::none;
}

topic_error check_common(std::string_view text) noexcept {
  if (text.empty()) return topic_error::empty;
  if (text.size() > max_topic_bytes) return topic_error::too_long;
  return check_utf8(text);
}

/// Checks the levels of a filter (without a `$share/` prefix).
topic_error check_levels(std::string_view filter) noexcept {
  size_t start = 0;
  for (;;) {
    auto end = filter.find('/', start);
    auto last = end == std::string_view::npos;
    auto level
        = filter.substr(start, last ? std::string_view::npos : end - start);
    if (level.find('#') != std::string_view::npos
        && (level.size() != 1 || !last))
      return topic_error::misplaced_hash;
    if (level.find('+') != std::string_view::npos && level.size() != 1)
      return topic_error::misplaced_plus;
    if (last) return topic_error::none;
    start = end + 1;
  }
}

/// The part of a `$share/{name}/{filter}` filter that is matched.
std::string_view matched_part(std::string_view filter) noexcept {
  if (filter.substr(0, share_prefix.size()) != share_prefix) return filter;
  auto rest = filter.substr(share_prefix.size());
  auto slash = rest.find('/');
  if (slash == std::string_view::npos) return {};
  return rest.substr(slash + 1);
}

/// The next level of `text` from `pos` (advanced past the separator);
/// `done` when there was none left.
std::string_view next_level(std::string_view text, size_t& pos,
                            bool& done) noexcept {
  if (pos > text.size()) {
    done = true;
    return {};
  }
  auto end = text.find('/', pos);
  if (end == std::string_view::npos) end = text.size();
  auto level = text.substr(pos, end - pos);
  pos = end + 1; // past the separator; > size() after the last level
  return level;
}

} // namespace

std::string_view to_string(topic_error x) noexcept {
  switch (x) {
    case topic_error::none: return "valid";
    case topic_error::empty: return "empty topic";
    case topic_error::too_long: return "topic longer than 65535 bytes";
    case topic_error::not_utf8: return "topic is not well-formed UTF-8";
    case topic_error::null_character: return "topic contains U+0000";
    case topic_error::wildcard_in_name: return "wildcard in topic name";
    case topic_error::misplaced_hash:
      return "'#' must be a whole level and the last one";
    case topic_error::misplaced_plus: return "'+' must be a whole level";
    case topic_error::bad_shared_filter:
      return "malformed $share/{ShareName}/{filter}";
  }
  return "invalid topic";
}

topic_error check_topic_name(std::string_view name) noexcept {
  if (auto err = check_common(name); err != topic_error::none) return err;
  if (name.find_first_of("+#") != std::string_view::npos)
    return topic_error::wildcard_in_name;
  return topic_error::none;
}

topic_error check_topic_filter(std::string_view filter) noexcept {
  if (auto err = check_common(filter); err != topic_error::none) return err;
  if (filter.substr(0, share_prefix.size()) == share_prefix) {
    auto rest = filter.substr(share_prefix.size());
    auto slash = rest.find('/');
    if (slash == 0 || slash == std::string_view::npos)
      return topic_error::bad_shared_filter;
    auto share_name = rest.substr(0, slash);
    if (share_name.find_first_of("+#") != std::string_view::npos)
      return topic_error::bad_shared_filter;
    auto inner = rest.substr(slash + 1);
    if (inner.empty()) return topic_error::bad_shared_filter;
    return check_levels(inner);
  }
  return check_levels(filter);
}

bool topic_matches(std::string_view filter, std::string_view name) noexcept {
  filter = matched_part(filter);
  if (filter.empty() || name.empty()) return false;
  // [MQTT-4.7.2-1]: `#...` and `+...` never match `$...` names.
  if (name.front() == '$' && (filter.front() == '#' || filter.front() == '+'))
    return false;
  size_t fpos = 0;
  size_t npos = 0;
  for (;;) {
    bool fdone = false;
    bool ndone = false;
    auto flevel = next_level(filter, fpos, fdone);
    if (fdone) {
      // The filter ended: a match when the name ended with it.
      next_level(name, npos, ndone);
      return ndone;
    }
    if (flevel == "#") return true; // the parent level and any children
    auto nlevel = next_level(name, npos, ndone);
    if (ndone) return false;
    if (flevel != "+" && flevel != nlevel) return false;
  }
}

} // namespace puzzle::transports::mqtt
