#pragma once

// Small PNG and JPEG files made in the test with libpng and libjpeg (no
// binaries in the repository), and readers to check what the code under
// test produced. Errors of the libraries abort the test binary: the inputs
// here are always valid.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include <jpeglib.h>
#include <png.h>
#include <zlib.h>

namespace puzzle_test {

/// An RGBA colour.
struct rgba {
  uint8_t r = 0;
  uint8_t g = 0;
  uint8_t b = 0;
  uint8_t a = 255;
};

/// The colour of pixel (x, y).
using pixel_fn = std::function<rgba(uint32_t x, uint32_t y)>;

inline rgba gradient(uint32_t x, uint32_t y) {
  return {static_cast<uint8_t>(x * 7), static_cast<uint8_t>(y * 5),
          static_cast<uint8_t>((x + y) * 3), 255};
}

inline std::vector<uint8_t> pixels_of(uint32_t w, uint32_t h, const pixel_fn& fn) {
  std::vector<uint8_t> out;
  out.reserve(size_t{w} * h * 4);
  for (uint32_t y = 0; y < h; ++y)
    for (uint32_t x = 0; x < w; ++x) {
      auto c = fn(x, y);
      out.insert(out.end(), {c.r, c.g, c.b, c.a});
    }
  return out;
}

/// A PNG with libpng's simplified API: RGBA or RGB (`alpha`), 8 or 16 bits.
inline std::string make_png(uint32_t w, uint32_t h, const pixel_fn& fn = gradient,
                            bool alpha = false, bool sixteen_bits = false) {
  auto rgba8 = pixels_of(w, h, fn);
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  image.width = w;
  image.height = h;
  std::vector<uint8_t> bytes;
  if (sixteen_bits) {
    // Linear 16-bit RGBA; the values only need to survive as "some colour".
    image.format = PNG_FORMAT_LINEAR_RGB_ALPHA;
    bytes.resize(rgba8.size() * 2);
    for (size_t i = 0; i < rgba8.size(); ++i) {
      uint16_t v = static_cast<uint16_t>(rgba8[i] * 257);
      std::memcpy(&bytes[i * 2], &v, 2);
    }
  } else if (alpha) {
    image.format = PNG_FORMAT_RGBA;
    bytes = rgba8;
  } else {
    image.format = PNG_FORMAT_RGB;
    for (size_t i = 0; i < rgba8.size(); i += 4)
      bytes.insert(bytes.end(), {rgba8[i], rgba8[i + 1], rgba8[i + 2]});
  }
  png_alloc_size_t size = 0;
  if (!png_image_write_to_memory(&image, nullptr, &size, 0, bytes.data(), 0, nullptr))
    throw std::runtime_error(image.message);
  std::string out(size, '\0');
  if (!png_image_write_to_memory(&image, &out[0], &size, 0, bytes.data(), 0, nullptr))
    throw std::runtime_error(image.message);
  out.resize(size);
  return out;
}

/// A grey PNG with libpng's simplified API.
inline std::string make_gray_png(uint32_t w, uint32_t h) {
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  image.width = w;
  image.height = h;
  image.format = PNG_FORMAT_GRAY;
  std::vector<uint8_t> bytes(size_t{w} * h);
  for (size_t i = 0; i < bytes.size(); ++i)
    bytes[i] = static_cast<uint8_t>(i);
  png_alloc_size_t size = 0;
  png_image_write_to_memory(&image, nullptr, &size, 0, bytes.data(), 0, nullptr);
  std::string out(size, '\0');
  png_image_write_to_memory(&image, &out[0], &size, 0, bytes.data(), 0, nullptr);
  out.resize(size);
  return out;
}

inline void append_png_data(png_structp png, png_bytep data, size_t n) {
  static_cast<std::string*>(png_get_io_ptr(png))->append(reinterpret_cast<char*>(data), n);
}

inline void flush_png(png_structp) {
  // Writing to memory: nothing to flush.
}

/// An interlaced (Adam7) RGBA PNG with libpng's classic API.
inline std::string make_interlaced_png(uint32_t w, uint32_t h, const pixel_fn& fn = gradient) {
  auto pixels = pixels_of(w, h, fn);
  std::string out;
  auto png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  auto info = png_create_info_struct(png);
  png_set_write_fn(png, &out, append_png_data, flush_png);
  png_set_IHDR(png, info, w, h, 8, PNG_COLOR_TYPE_RGB_ALPHA, PNG_INTERLACE_ADAM7,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  std::vector<png_bytep> rows(h);
  for (uint32_t y = 0; y < h; ++y)
    rows[y] = pixels.data() + size_t{y} * w * 4;
  png_set_rows(png, info, rows.data());
  png_write_png(png, info, PNG_TRANSFORM_IDENTITY, nullptr);
  png_destroy_write_struct(&png, &info);
  return out;
}

/// The EXIF APP1 payload with one orientation entry (little endian).
inline std::string exif_with_orientation(uint16_t orientation, bool little_endian = true) {
  std::string x{"Exif\0\0", 6};
  auto u16 = [&](uint16_t v) {
    if (little_endian) {
      x += static_cast<char>(v & 0xff);
      x += static_cast<char>(v >> 8);
    } else {
      x += static_cast<char>(v >> 8);
      x += static_cast<char>(v & 0xff);
    }
  };
  auto u32 = [&](uint32_t v) {
    if (little_endian) {
      u16(static_cast<uint16_t>(v & 0xffff));
      u16(static_cast<uint16_t>(v >> 16));
    } else {
      u16(static_cast<uint16_t>(v >> 16));
      u16(static_cast<uint16_t>(v & 0xffff));
    }
  };
  x += little_endian ? "II" : "MM";
  u16(42);
  u32(8);      // IFD0 right after the header
  u16(1);      // one entry
  u16(0x0112); // orientation
  u16(3);      // SHORT
  u32(1);      // count
  u16(orientation);
  u16(0);
  u32(0); // no next IFD
  return x;
}

/// Options of `make_jpeg`.
struct jpeg_options {
  int quality = 90;
  bool progressive = false;
  bool gray = false;
  bool cmyk = false;   ///< With an Adobe marker, as libjpeg writes CMYK.
  int orientation = 0; ///< 0: no EXIF marker.
};

/// A JPEG with libjpeg, in memory.
inline std::string make_jpeg(uint32_t w, uint32_t h, const pixel_fn& fn = gradient,
                             jpeg_options opts = {}) {
  jpeg_compress_struct cinfo;
  jpeg_error_mgr err;
  cinfo.err = jpeg_std_error(&err);
  jpeg_create_compress(&cinfo);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&cinfo, &buffer, &size);
  cinfo.image_width = w;
  cinfo.image_height = h;
  int components = opts.gray ? 1 : opts.cmyk ? 4 : 3;
  cinfo.input_components = components;
  cinfo.in_color_space = opts.gray ? JCS_GRAYSCALE : opts.cmyk ? JCS_CMYK : JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, opts.quality, TRUE);
  if (opts.progressive) jpeg_simple_progression(&cinfo);
  jpeg_start_compress(&cinfo, TRUE);
  if (opts.orientation != 0) {
    auto exif = exif_with_orientation(static_cast<uint16_t>(opts.orientation));
    jpeg_write_marker(&cinfo, JPEG_APP0 + 1, reinterpret_cast<const JOCTET*>(exif.data()),
                      static_cast<unsigned>(exif.size()));
  }
  std::vector<uint8_t> row(size_t{w} * static_cast<size_t>(components));
  while (cinfo.next_scanline < h) {
    auto y = cinfo.next_scanline;
    for (uint32_t x = 0; x < w; ++x) {
      auto c = fn(x, y);
      auto* px = &row[size_t{x} * static_cast<size_t>(components)];
      if (opts.gray) {
        px[0] = c.r;
      } else if (opts.cmyk) {
        // r, g, b, a are the stored C, M, Y, K bytes (Adobe's inverted
        // convention: 255 is no ink).
        px[0] = c.r;
        px[1] = c.g;
        px[2] = c.b;
        px[3] = c.a;
      } else {
        px[0] = c.r;
        px[1] = c.g;
        px[2] = c.b;
      }
    }
    JSAMPROW rows[] = {row.data()};
    jpeg_write_scanlines(&cinfo, rows, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  std::string out(reinterpret_cast<char*>(buffer), size);
  std::free(buffer);
  return out;
}

/// A decoded image for checks: RGBA pixels.
struct decoded_pixels {
  uint32_t width = 0;
  uint32_t height = 0;
  std::vector<uint8_t> pixels;

  rgba at(uint32_t x, uint32_t y) const {
    auto* p = &pixels[(size_t{y} * width + x) * 4];
    return {p[0], p[1], p[2], p[3]};
  }
};

/// Reads a PNG with libpng's simplified API (throws on error).
inline decoded_pixels read_png(const std::string& bytes) {
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&image, bytes.data(), bytes.size()))
    throw std::runtime_error(image.message);
  image.format = PNG_FORMAT_RGBA;
  decoded_pixels out;
  out.width = image.width;
  out.height = image.height;
  out.pixels.resize(PNG_IMAGE_SIZE(image));
  if (!png_image_finish_read(&image, nullptr, out.pixels.data(), 0, nullptr))
    throw std::runtime_error(image.message);
  return out;
}

/// Reads a JPEG with libjpeg (RGB, alpha 255).
inline decoded_pixels read_jpeg(const std::string& bytes) {
  jpeg_decompress_struct cinfo;
  jpeg_error_mgr err;
  cinfo.err = jpeg_std_error(&err);
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, reinterpret_cast<const unsigned char*>(bytes.data()),
               static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&cinfo, TRUE);
  cinfo.out_color_space = JCS_EXT_RGBA;
  jpeg_start_decompress(&cinfo);
  decoded_pixels out;
  out.width = cinfo.output_width;
  out.height = cinfo.output_height;
  out.pixels.resize(size_t{out.width} * out.height * 4);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW rows[] = {&out.pixels[size_t{cinfo.output_scanline} * out.width * 4]};
    jpeg_read_scanlines(&cinfo, rows, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return out;
}

inline void put_u32_be(std::string& bytes, size_t at, uint32_t v) {
  bytes[at] = static_cast<char>(v >> 24);
  bytes[at + 1] = static_cast<char>((v >> 16) & 0xff);
  bytes[at + 2] = static_cast<char>((v >> 8) & 0xff);
  bytes[at + 3] = static_cast<char>(v & 0xff);
}

/// The PNG with another width and height in its IHDR (CRC fixed), the
/// image data unchanged: a header that lies about the size.
inline std::string with_png_size(std::string png, uint32_t w, uint32_t h) {
  // Signature (8), IHDR length (4), "IHDR" (4), width, height, ... CRC.
  constexpr size_t ihdr_type = 12;
  constexpr size_t ihdr_data = 16;
  constexpr size_t ihdr_length = 13;
  put_u32_be(png, ihdr_data, w);
  put_u32_be(png, ihdr_data + 4, h);
  auto crc = crc32(0, reinterpret_cast<const Bytef*>(png.data() + ihdr_type), ihdr_length + 4);
  put_u32_be(png, ihdr_data + ihdr_length, static_cast<uint32_t>(crc));
  return png;
}

/// The JPEG with another width and height in its SOF marker.
inline std::string with_jpeg_size(std::string jpeg, uint16_t w, uint16_t h) {
  for (size_t i = 2; i + 9 < jpeg.size();) {
    if (static_cast<uint8_t>(jpeg[i]) != 0xff) throw std::runtime_error("bad marker");
    auto marker = static_cast<uint8_t>(jpeg[i + 1]);
    auto length = (static_cast<uint8_t>(jpeg[i + 2]) << 8) | static_cast<uint8_t>(jpeg[i + 3]);
    if (marker == 0xc0 || marker == 0xc1 || marker == 0xc2) {
      // FF Cn, length (2), precision (1), height (2), width (2).
      jpeg[i + 5] = static_cast<char>(h >> 8);
      jpeg[i + 6] = static_cast<char>(h & 0xff);
      jpeg[i + 7] = static_cast<char>(w >> 8);
      jpeg[i + 8] = static_cast<char>(w & 0xff);
      return jpeg;
    }
    i += 2 + static_cast<size_t>(length);
  }
  throw std::runtime_error("no SOF marker");
}

} // namespace puzzle_test
