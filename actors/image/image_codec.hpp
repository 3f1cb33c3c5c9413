#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "actors/errc.hpp"

/// Checking and decoding of uploaded images (PNG and JPEG) and their
/// thumbnails: libpng and libjpeg-turbo behind plain functions, without CAF
/// or I/O, so that tests and fuzzers can call them directly.
///
/// Both libraries report errors with `longjmp`. They are driven from
/// C-style functions that hold no C++ object across a `setjmp`, so an error
/// (a corrupt file, out of memory) comes back as a value and never aborts
/// the process or skips a destructor.
namespace puzzle::image {

/// The formats an upload may have.
enum class format : uint8_t {
  unknown = 0,
  png = 1,
  jpeg = 2,
};

/// The format by the first bytes of a file (the PNG signature, the JPEG SOI
/// marker), whatever its name or declared content type says.
format sniff(std::string_view bytes) noexcept;

/// `image/png`, `image/jpeg`, or an empty string for `unknown`.
std::string_view content_type(format x) noexcept;

/// What an image must meet. Each limit is checked before the memory it
/// protects is taken: the size before anything is parsed, width and height
/// from the PNG IHDR or JPEG SOF header before any pixel is decoded.
struct limits {
  uint64_t max_bytes = 10 << 20;    ///< `images.max-bytes`
  uint64_t max_pixels = 40'000'000; ///< `images.max-pixels`
  int32_t max_side = 16384;         ///< `limits.max-image-side`
  int32_t thumbnail_side = 320;     ///< `images.thumbnail-side`
};

/// A checked image and its thumbnail.
struct decoded_image {
  format type = format::unknown;
  /// The size as displayed: a JPEG's EXIF orientation (rotations and
  /// mirrors, as browsers apply it) is taken into account.
  int32_t width = 0;
  int32_t height = 0;
  /// Every pixel has full alpha (always for JPEG).
  bool opaque = true;
  /// JPEG for opaque images, PNG when any pixel is transparent.
  format thumbnail_type = format::unknown;
  /// At most `limits::thumbnail_side` on the longest side, never larger
  /// than the image; the aspect ratio is kept (rounded to whole pixels).
  int32_t thumbnail_width = 0;
  int32_t thumbnail_height = 0;
  std::string thumbnail; ///< The encoded thumbnail file.
};

/// The outcome of `decode`: `error` is `errc::none` on success.
struct decode_result {
  /// `errc::invalid_image` (not a PNG or JPEG, corrupt or truncated),
  /// `errc::limit_exceeded` (a limit of `limits`, named in `message`) or
  /// `errc::internal` (out of memory).
  errc error = errc::none;
  std::string message;
  decoded_image image;

  explicit operator bool() const noexcept {
    return error == errc::none;
  }
};

/// Checks `bytes` against `lim`, decodes every pixel (a truncated or
/// corrupt file is refused) and makes the thumbnail by area averaging
/// (alpha-weighted, so transparent pixels do not darken the edges).
///
/// Memory: a non-interlaced PNG and a baseline JPEG are decoded row by row
/// (one row plus the thumbnail); an interlaced PNG needs the whole image
/// at 4 bytes per pixel and a progressive JPEG keeps its coefficients
/// (2 bytes per sample), both bounded by `max_pixels`.
///
/// Blocking and CPU-bound (about 0.1 s per 10 million pixels): call it off
/// the I/O threads.
decode_result decode(std::string_view bytes, const limits& lim);

/// The EXIF orientation (1 to 8) in the payload of a JPEG APP1 marker
/// (`Exif\0\0` and a TIFF header); 1 when absent or malformed.
int exif_orientation(const unsigned char* data, std::size_t size) noexcept;

} // namespace puzzle::image
