// Uploaded images: sniffing, the limit checks and the full PNG / JPEG
// decode with the thumbnail, under small limits so each run is fast.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "actors/image/image_codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes{reinterpret_cast<const char*>(data), size};
  puzzle::image::limits lim;
  lim.max_bytes = 1 << 20;
  lim.max_pixels = 1 << 18;
  lim.max_side = 4096;
  lim.thumbnail_side = 32;
  (void)puzzle::image::decode(bytes, lim);
  (void)puzzle::image::exif_orientation(data, size);
  return 0;
}
