#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "actors/session/session_state.hpp"

/// The images every node offers without uploads. The SVG files live in
/// `web/public/images/<id>.svg` and are served by the static file handler;
/// the sizes here must match their `viewBox`.
///
/// Header-only on purpose: the table is a handful of constants and this
/// keeps it out of the build lists.
namespace puzzle::transports::api {

struct builtin_image {
  std::string_view id;
  std::string_view name;
  int32_t width;
  int32_t height;
};

inline constexpr builtin_image builtin_images[] = {
    {"aurora-lake", "Aurora Lake", 1600, 1200},
    {"autumn-mosaic", "Autumn Mosaic", 1600, 1000},
    {"coral-reef", "Coral Reef", 1200, 1200},
};

/// The content type of every built-in image.
inline constexpr std::string_view builtin_image_content_type = "image/svg+xml";

/// The URL of an image file: `/images/<id>.svg`.
inline std::string builtin_image_url(std::string_view id) {
  std::string result = "/images/";
  result += id;
  result += ".svg";
  return result;
}

/// The built-in image with this id, or null.
inline const builtin_image* find_builtin_image(std::string_view id) {
  for (auto& x : builtin_images)
    if (x.id == id) return &x;
  return nullptr;
}

/// The reference a session stores.
inline image_ref to_image_ref(const builtin_image& x) {
  return image_ref{std::string{x.id}, builtin_image_url(x.id), x.width,
                   x.height};
}

} // namespace puzzle::transports::api
