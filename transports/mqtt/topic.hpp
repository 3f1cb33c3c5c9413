#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

/// MQTT topic names and topic filters as the MQTT 3.1.1 and 5.0
/// specifications define them (section 4.7 of both): validation and
/// matching, as pure functions on bytes.
///
/// - `/` separates levels; empty levels are levels (`/finance` has an empty
///   first level, and `sport/` differs from `sport`).
/// - `#` matches its parent level and any number of child levels; it must
///   be a whole level and the last one. `+` matches exactly one whole level.
/// - Wildcards are for filters only, never in a topic name.
/// - A filter starting with a wildcard does not match a name starting with
///   `$` (`$SYS/...`); `$SYS/#` does.
/// - Names and filters have 1 to 65535 bytes of well-formed UTF-8 without
///   U+0000; matching compares bytes, case-sensitive, without
///   normalisation.
/// - MQTT 5 shared subscriptions `$share/{ShareName}/{filter}` are filters
///   whose ShareName (one level, no wildcards) takes no part in matching.
namespace puzzle::transports::mqtt {

/// Why a topic name or filter is invalid.
enum class topic_error : uint8_t {
  none = 0,
  empty,             ///< No bytes [MQTT-4.7.3-1].
  too_long,          ///< More than 65535 bytes [MQTT-4.7.3-3].
  not_utf8,          ///< Not well-formed UTF-8 [MQTT-1.5.3-1].
  null_character,    ///< Contains U+0000 [MQTT-4.7.3-2].
  wildcard_in_name,  ///< `+` or `#` in a topic name [MQTT-4.7.1-1].
  misplaced_hash,    ///< `#` not a whole last level [MQTT-4.7.1-2].
  misplaced_plus,    ///< `+` not a whole level [MQTT-4.7.1-3].
  bad_shared_filter, ///< A malformed `$share/...` filter [MQTT-4.8.2-1/2].
};

/// A short text for logs, e.g. `wildcard in topic name`.
std::string_view to_string(topic_error x) noexcept;

/// The most bytes of a topic (a two-byte length prefix on the wire).
inline constexpr size_t max_topic_bytes = 65'535;

/// Checks a topic name (what a PUBLISH carries).
topic_error check_topic_name(std::string_view name) noexcept;

/// Checks a topic filter (what a SUBSCRIBE carries).
topic_error check_topic_filter(std::string_view filter) noexcept;

/// Whether `filter` matches `name`.
/// @pre `check_topic_filter(filter)` and `check_topic_name(name)` are `none`
///      (for other input the answer is `false` or meaningless, never UB).
bool topic_matches(std::string_view filter, std::string_view name) noexcept;

} // namespace puzzle::transports::mqtt
