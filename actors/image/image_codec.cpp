#include "actors/image/image_codec.hpp"

#include <algorithm>
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <new>
#include <utility>
#include <vector>

// jpeglib.h needs <cstdio> (FILE, size_t) first; jerror.h defines the
// message codes.
#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

namespace puzzle::image {

namespace {

// -- constants ----------------------------------------------------------------

/// Quality of JPEG thumbnails: clean at thumbnail size, a few KiB each.
constexpr int thumbnail_jpeg_quality = 85;

/// Every scan of a progressive JPEG makes libjpeg walk its whole coefficient
/// buffer, so a small file with thousands of scans takes minutes to decode.
/// libjpeg-turbo advises a cap (its djpeg has -maxscans); encoders write
/// about ten scans.
constexpr int max_jpeg_scans = 500;

/// Bytes of an error message kept from a library.
constexpr std::size_t message_capacity = 256;

/// Decoded pixels are RGBA, 8 bits per channel.
constexpr std::size_t channels = 4;

constexpr unsigned char full_alpha = 255;

constexpr unsigned char png_signature[]
    = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

constexpr unsigned char jpeg_soi[] = {0xff, 0xd8, 0xff};

/// EXIF orientations 5 to 8 swap width and height.
constexpr int first_transposing_orientation = 5;

/// The EXIF tag and the TIFF type of the orientation.
constexpr uint32_t exif_orientation_tag = 0x0112;
constexpr uint32_t tiff_short = 3;
constexpr uint32_t tiff_magic = 42;

// -- errors shared with the C callbacks ---------------------------------------

/// Where libpng's and libjpeg's errors end up. Trivially destructible, as
/// everything the C-style functions below hold: `longjmp` skips their
/// frames without running destructors.
struct failure_state {
  std::jmp_buf jump;
  errc code;
  char message[message_capacity];
};

void set_failure(failure_state* f, errc code, const char* prefix,
                 const char* text) noexcept {
  f->code = code;
  // `prefix` and `text` joined, cut to fit (with its terminating zero).
  std::size_t n = 0;
  for (const char* part : {prefix, text})
    for (; *part != '\0' && n + 1 < sizeof f->message; ++part)
      f->message[n++] = *part;
  f->message[n] = '\0';
}

// -- the thumbnail, built row by row ------------------------------------------

/// Receives the decoded rows of one image and averages them into the
/// thumbnail. Every member the decoders call is `noexcept` and returns
/// normally: memory errors become return values, never exceptions that
/// would have to cross libpng or libjpeg.
class thumbnail_builder {
public:
  explicit thumbnail_builder(const limits& lim) noexcept : limits_(lim) {
    // nop
  }

  /// Checks the size from the header against the limits and prepares the
  /// accumulators; on failure fills `f` and returns false.
  bool start(uint32_t width, uint32_t height, int orientation,
             failure_state& f) noexcept {
    char text[message_capacity];
    auto pixels = uint64_t{width} * height;
    if (pixels > limits_.max_pixels) {
      std::snprintf(text, sizeof text,
                    "image is %ux%u pixels; at most %llu pixels "
                    "(images.max-pixels)",
                    width, height,
                    static_cast<unsigned long long>(limits_.max_pixels));
      set_failure(&f, errc::limit_exceeded, "", text);
      return false;
    }
    auto max_side = static_cast<uint32_t>(std::max(limits_.max_side, 1));
    if (width > max_side || height > max_side) {
      std::snprintf(text, sizeof text,
                    "image is %ux%u pixels; each side at most %u pixels "
                    "(limits.max-image-side)",
                    width, height, max_side);
      set_failure(&f, errc::limit_exceeded, "", text);
      return false;
    }
    if (width == 0 || height == 0) {
      set_failure(&f, errc::invalid_image, "", "image has no pixels");
      return false;
    }
    width_ = width;
    height_ = height;
    orientation_ = orientation;
    auto longest = std::max(width, height);
    auto side = static_cast<uint32_t>(std::max(limits_.thumbnail_side, 1));
    if (longest <= side) {
      thumb_width_ = width;
      thumb_height_ = height;
    } else {
      auto scaled = [&](uint32_t x) {
        auto y = (uint64_t{x} * side + longest / 2) / longest;
        return static_cast<uint32_t>(std::max<uint64_t>(y, 1));
      };
      thumb_width_ = scaled(width);
      thumb_height_ = scaled(height);
    }
    try {
      column_cell_.resize(width);
      column_count_.assign(thumb_width_, 0);
      row_count_.assign(thumb_height_, 0);
      for (uint32_t x = 0; x < width; ++x) {
        auto cell = static_cast<uint32_t>(uint64_t{x} * thumb_width_ / width);
        column_cell_[x] = cell;
        ++column_count_[cell];
      }
      for (uint32_t y = 0; y < height; ++y)
        ++row_count_[cell_row(y)];
      sums_.assign(std::size_t{thumb_width_} * thumb_height_ * channels, 0);
    } catch (const std::bad_alloc&) {
      set_failure(&f, errc::internal, "", "out of memory");
      return false;
    }
    return true;
  }

  /// Bytes of one decoded row.
  std::size_t row_bytes() const noexcept {
    return std::size_t{width_} * channels;
  }

  /// Memory for `count` decoded rows (one, or the whole image for an
  /// interlaced PNG); null when out of memory.
  unsigned char* rows(std::size_t count) noexcept {
    try {
      buffer_.resize(row_bytes() * count);
    } catch (const std::bad_alloc&) {
      return nullptr;
    }
    return buffer_.data();
  }

  /// Adds row `y` of the image (RGBA) to the thumbnail. The colour is
  /// weighted by alpha, so that transparent pixels do not bleed in.
  void add_row(const unsigned char* rgba, uint32_t y) noexcept {
    if (y >= height_) return;
    auto* row_sums
        = sums_.data() + std::size_t{cell_row(y)} * thumb_width_ * channels;
    for (uint32_t x = 0; x < width_; ++x) {
      const auto* px = rgba + std::size_t{x} * channels;
      auto* s = row_sums + std::size_t{column_cell_[x]} * channels;
      uint64_t alpha = px[3];
      s[0] += px[0] * alpha;
      s[1] += px[1] * alpha;
      s[2] += px[2] * alpha;
      s[3] += alpha;
      if (alpha != full_alpha) opaque_ = false;
    }
    ++rows_added_;
  }

  /// The result after every row arrived: sizes as displayed, the thumbnail
  /// averaged, oriented and encoded.
  decode_result finish(format type) {
    decode_result result;
    if (rows_added_ != height_) {
      result.error = errc::invalid_image;
      result.message = "image data is incomplete";
      return result;
    }
    try {
      auto raw = average();
      auto& out = result.image;
      out.type = type;
      out.opaque = opaque_;
      bool swap = orientation_ >= first_transposing_orientation;
      out.width = static_cast<int32_t>(swap ? height_ : width_);
      out.height = static_cast<int32_t>(swap ? width_ : height_);
      auto shown_w = swap ? thumb_height_ : thumb_width_;
      auto shown_h = swap ? thumb_width_ : thumb_height_;
      auto shown = orient(raw);
      out.thumbnail_width = static_cast<int32_t>(shown_w);
      out.thumbnail_height = static_cast<int32_t>(shown_h);
      std::string error;
      bool ok = false;
      if (opaque_) {
        out.thumbnail_type = format::jpeg;
        ok = encode_jpeg(shown, shown_w, shown_h, out.thumbnail, error);
      } else {
        out.thumbnail_type = format::png;
        ok = encode_png(shown, shown_w, shown_h, out.thumbnail, error);
      }
      if (!ok) {
        result.error = errc::internal;
        result.message = "cannot encode the thumbnail: " + error;
      }
    } catch (const std::bad_alloc&) {
      result = decode_result{};
      result.error = errc::internal;
      result.message = "out of memory";
    }
    return result;
  }

private:
  uint32_t cell_row(uint32_t y) const noexcept {
    return static_cast<uint32_t>(uint64_t{y} * thumb_height_ / height_);
  }

  /// The thumbnail in the image's stored orientation, RGBA.
  std::vector<unsigned char> average() const {
    std::vector<unsigned char> out(sums_.size());
    for (uint32_t ty = 0; ty < thumb_height_; ++ty) {
      for (uint32_t tx = 0; tx < thumb_width_; ++tx) {
        auto at = (std::size_t{ty} * thumb_width_ + tx) * channels;
        const auto* s = sums_.data() + at;
        auto* px = out.data() + at;
        auto alpha_sum = s[3];
        if (alpha_sum == 0) continue; // Fully transparent: stays 0.
        uint64_t count = uint64_t{column_count_[tx]} * row_count_[ty];
        for (std::size_t c = 0; c < 3; ++c)
          px[c]
              = static_cast<unsigned char>((s[c] + alpha_sum / 2) / alpha_sum);
        px[3] = static_cast<unsigned char>((alpha_sum + count / 2) / count);
      }
    }
    return out;
  }

  /// Applies the EXIF orientation: the pixel shown at (dx, dy) is the
  /// stored pixel (sx, sy) of the thumbnail (w x h as stored).
  std::vector<unsigned char> orient(std::vector<unsigned char>& raw) const {
    if (orientation_ <= 1 || orientation_ > 8) return std::move(raw);
    std::vector<unsigned char> out(raw.size());
    auto w = thumb_width_;
    auto h = thumb_height_;
    bool swap = orientation_ >= first_transposing_orientation;
    auto shown_w = swap ? h : w;
    auto shown_h = swap ? w : h;
    for (uint32_t dy = 0; dy < shown_h; ++dy) {
      for (uint32_t dx = 0; dx < shown_w; ++dx) {
        uint32_t sx = dx;
        uint32_t sy = dy;
        switch (orientation_) {
          case 2: sx = w - 1 - dx; break;                  // mirror
          case 3: sx = w - 1 - dx, sy = h - 1 - dy; break; // 180
          case 4: sy = h - 1 - dy; break;                  // flip
          case 5: sx = dy, sy = dx; break;                 // transpose
          case 6: sx = dy, sy = h - 1 - dx; break;         // 90 clockwise
          case 7: sx = w - 1 - dy, sy = h - 1 - dx; break; // transverse
          case 8: sx = w - 1 - dy, sy = dx; break;         // 90 counter
          default: break;
        }
        std::memcpy(out.data() + (std::size_t{dy} * shown_w + dx) * channels,
                    raw.data() + (std::size_t{sy} * w + sx) * channels,
                    channels);
      }
    }
    return out;
  }

  static bool encode_png(const std::vector<unsigned char>& rgba, uint32_t w,
                         uint32_t h, std::string& out, std::string& error);

  static bool encode_jpeg(const std::vector<unsigned char>& rgba, uint32_t w,
                          uint32_t h, std::string& out, std::string& error);

  limits limits_;
  uint32_t width_ = 0;
  uint32_t height_ = 0;
  int orientation_ = 1;
  uint32_t thumb_width_ = 0;
  uint32_t thumb_height_ = 0;
  std::vector<uint32_t> column_cell_;  ///< Image column -> thumbnail column.
  std::vector<uint32_t> column_count_; ///< Image columns per thumbnail column.
  std::vector<uint32_t> row_count_;    ///< Image rows per thumbnail row.
  std::vector<uint64_t> sums_; ///< Per thumbnail pixel: r*a, g*a, b*a, a.
  std::vector<unsigned char> buffer_;
  uint32_t rows_added_ = 0;
  bool opaque_ = true;
};

// -- decoding: C-style from here on -------------------------------------------

/// One decode. Holds nothing with a destructor.
struct decode_job {
  const unsigned char* data;
  std::size_t size;
  std::size_t pos;
  thumbnail_builder* sink;
  failure_state failure;
};

// -- PNG ----------------------------------------------------------------------

[[noreturn]] void on_png_error(png_structp png, png_const_charp text) {
  auto* job = static_cast<decode_job*>(png_get_error_ptr(png));
  set_failure(&job->failure, errc::invalid_image, "corrupt PNG: ", text);
  png_longjmp(png, 1);
}

void on_png_warning(png_structp, png_const_charp) {
  // Warnings are about ancillary data that libpng skips: nothing to do.
}

void on_png_read(png_structp png, png_bytep out, std::size_t n) {
  auto* job = static_cast<decode_job*>(png_get_io_ptr(png));
  if (job->size - job->pos < n) png_error(png, "the file is truncated");
  std::memcpy(out, job->data + job->pos, n);
  job->pos += n;
}

/// Reads the whole PNG as 8-bit RGBA rows into the sink.
bool read_png(png_structp png, png_infop info, decode_job* job) {
  png_set_read_fn(png, job, on_png_read);
  png_read_info(png, info);
  png_uint_32 width = 0;
  png_uint_32 height = 0;
  int depth = 0;
  int color = 0;
  png_get_IHDR(png, info, &width, &height, &depth, &color, nullptr, nullptr,
               nullptr);
  if (!job->sink->start(width, height, 1, job->failure)) return false;
  bool has_trns = png_get_valid(png, info, PNG_INFO_tRNS) != 0;
  if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color == PNG_COLOR_TYPE_GRAY && depth < 8)
    png_set_expand_gray_1_2_4_to_8(png);
  if (has_trns) png_set_tRNS_to_alpha(png);
  if (depth == 16) png_set_scale_16(png);
  if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA)
    png_set_gray_to_rgb(png);
  if ((color & PNG_COLOR_MASK_ALPHA) == 0 && !has_trns)
    png_set_filler(png, full_alpha, PNG_FILLER_AFTER);
  int passes = png_set_interlace_handling(png);
  png_read_update_info(png, info);
  auto row_bytes = job->sink->row_bytes();
  if (png_get_rowbytes(png, info) != row_bytes)
    png_error(png, "unexpected row size after conversion to RGBA");
  // Interlaced images arrive in passes over the whole image: they need all
  // rows at once. Everything else is decoded one row at a time.
  bool interlaced = passes > 1;
  auto* buffer = job->sink->rows(interlaced ? height : 1);
  if (buffer == nullptr) {
    set_failure(&job->failure, errc::internal, "", "out of memory");
    return false;
  }
  if (interlaced) {
    for (int pass = 0; pass < passes; ++pass)
      for (png_uint_32 y = 0; y < height; ++y)
        png_read_row(png, buffer + y * row_bytes, nullptr);
    for (png_uint_32 y = 0; y < height; ++y)
      job->sink->add_row(buffer + y * row_bytes, y);
  } else {
    for (png_uint_32 y = 0; y < height; ++y) {
      png_read_row(png, buffer, nullptr);
      job->sink->add_row(buffer, y);
    }
  }
  // Up to IEND, checking every CRC: a file cut after its pixels is refused.
  png_read_end(png, nullptr);
  return true;
}

/// libpng longjmps here on every error.
bool guarded_read_png(png_structp png, png_infop info, decode_job* job) {
  if (setjmp(png_jmpbuf(png))) return false;
  return read_png(png, info, job);
}

bool run_png(decode_job* job) {
  auto png = png_create_read_struct(PNG_LIBPNG_VER_STRING, job, on_png_error,
                                    on_png_warning);
  if (png == nullptr) {
    set_failure(&job->failure, errc::internal, "", "out of memory");
    return false;
  }
  auto info = png_create_info_struct(png);
  if (info == nullptr) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    set_failure(&job->failure, errc::internal, "", "out of memory");
    return false;
  }
  auto ok = guarded_read_png(png, info, job);
  png_destroy_read_struct(&png, &info, nullptr);
  return ok;
}

// -- JPEG ---------------------------------------------------------------------

/// libjpeg's error manager with our state; `mgr` first, so the pointer that
/// libjpeg hands back (`cinfo->err`) converts to this struct.
struct jpeg_error_state {
  jpeg_error_mgr mgr;
  failure_state* failure;
  errc code;
  const char* prefix;
};

struct jpeg_progress_state {
  jpeg_progress_mgr mgr;
  failure_state* failure;
};

[[noreturn]] void on_jpeg_error(j_common_ptr cinfo) {
  auto* state = reinterpret_cast<jpeg_error_state*>(cinfo->err);
  char text[JMSG_LENGTH_MAX];
  (*cinfo->err->format_message)(cinfo, text);
  set_failure(state->failure, state->code, state->prefix, text);
  std::longjmp(state->failure->jump, 1);
}

/// Warnings that mean damaged data. libjpeg decodes on after them (a
/// truncated file is filled with grey), so they are errors here. Other
/// warnings (an unknown JFIF revision or Adobe transform, extraneous bytes
/// before a marker, common in camera files) are harmless.
bool is_corruption(int code) noexcept {
  switch (code) {
    case JWRN_JPEG_EOF:
    case JWRN_HIT_MARKER:
    case JWRN_HUFF_BAD_CODE:
    case JWRN_ARITH_BAD_CODE:
    case JWRN_MUST_RESYNC:
    case JWRN_NOT_SEQUENTIAL:
    case JWRN_BOGUS_PROGRESSION:
    case JWRN_TOO_MUCH_DATA: return true;
    default: return false;
  }
}

void on_jpeg_message(j_common_ptr cinfo, int level) {
  // Levels 0 and up are trace output; -1 is a warning.
  if (level < 0 && is_corruption(cinfo->err->msg_code)) on_jpeg_error(cinfo);
}

void on_jpeg_encoder_message(j_common_ptr, int) {
  // The encoder only warns about its own parameters: nothing to report.
}

void on_jpeg_progress(j_common_ptr cinfo) {
  if (!cinfo->is_decompressor) return;
  auto* dinfo = reinterpret_cast<j_decompress_ptr>(cinfo);
  if (dinfo->input_scan_number <= max_jpeg_scans) return;
  auto* state = reinterpret_cast<jpeg_progress_state*>(cinfo->progress);
  char text[message_capacity];
  std::snprintf(text, sizeof text, "more than %d progressive scans",
                max_jpeg_scans);
  set_failure(state->failure, errc::invalid_image, "corrupt JPEG: ", text);
  std::longjmp(state->failure->jump, 1);
}

struct jpeg_reader {
  jpeg_decompress_struct cinfo;
  jpeg_error_state errors;
  jpeg_progress_state progress;
};

/// CMYK as Photoshop writes it (inverted, with an Adobe marker) or plain,
/// to RGBA in place.
void cmyk_to_rgba(unsigned char* row, uint32_t width, bool inverted) noexcept {
  for (uint32_t x = 0; x < width; ++x) {
    auto* px = row + std::size_t{x} * channels;
    unsigned c = px[0];
    unsigned m = px[1];
    unsigned y = px[2];
    unsigned k = px[3];
    if (!inverted) {
      c = 255 - c;
      m = 255 - m;
      y = 255 - y;
      k = 255 - k;
    }
    px[0] = static_cast<unsigned char>((c * k + 127) / 255);
    px[1] = static_cast<unsigned char>((m * k + 127) / 255);
    px[2] = static_cast<unsigned char>((y * k + 127) / 255);
    px[3] = full_alpha;
  }
}

/// Reads the whole JPEG as RGBA rows into the sink.
bool read_jpeg(jpeg_reader* reader, decode_job* job) {
  auto* cinfo = &reader->cinfo;
  jpeg_create_decompress(cinfo);
  cinfo->progress = &reader->progress.mgr;
  jpeg_mem_src(cinfo, job->data, static_cast<unsigned long>(job->size));
  jpeg_save_markers(cinfo, JPEG_APP0 + 1, 0xffff);
  if (jpeg_read_header(cinfo, TRUE) != JPEG_HEADER_OK) {
    set_failure(&job->failure, errc::invalid_image,
                "corrupt JPEG: ", "no image in the file");
    return false;
  }
  int orientation = 1;
  for (auto m = cinfo->marker_list; m != nullptr; m = m->next) {
    if (m->marker != JPEG_APP0 + 1) continue;
    orientation = exif_orientation(m->data, m->data_length);
    if (orientation != 1) break;
  }
  if (!job->sink->start(cinfo->image_width, cinfo->image_height, orientation,
                        job->failure))
    return false;
  bool cmyk = cinfo->jpeg_color_space == JCS_CMYK
      || cinfo->jpeg_color_space == JCS_YCCK;
  cinfo->out_color_space = cmyk ? JCS_CMYK : JCS_EXT_RGBA;
  jpeg_start_decompress(cinfo);
  if (cinfo->output_components != static_cast<int>(channels)
      || cinfo->output_width != cinfo->image_width
      || cinfo->output_height != cinfo->image_height) {
    set_failure(&job->failure, errc::invalid_image,
                "corrupt JPEG: ", "unexpected output format");
    return false;
  }
  auto* row = job->sink->rows(1);
  if (row == nullptr) {
    set_failure(&job->failure, errc::internal, "", "out of memory");
    return false;
  }
  while (cinfo->output_scanline < cinfo->output_height) {
    auto y = cinfo->output_scanline;
    JSAMPROW rows[] = {row};
    if (jpeg_read_scanlines(cinfo, rows, 1) != 1) {
      set_failure(&job->failure, errc::invalid_image,
                  "corrupt JPEG: ", "no scanline");
      return false;
    }
    if (cmyk) cmyk_to_rgba(row, cinfo->output_width, cinfo->saw_Adobe_marker);
    job->sink->add_row(row, y);
  }
  // Up to EOI: damage after the last scanline is refused too.
  jpeg_finish_decompress(cinfo);
  return true;
}

/// libjpeg longjmps here on every error.
bool guarded_read_jpeg(jpeg_reader* reader, decode_job* job) {
  if (setjmp(job->failure.jump)) return false;
  return read_jpeg(reader, job);
}

bool run_jpeg(decode_job* job) {
  jpeg_reader reader{};
  reader.cinfo.err = jpeg_std_error(&reader.errors.mgr);
  reader.errors.mgr.error_exit = on_jpeg_error;
  reader.errors.mgr.emit_message = on_jpeg_message;
  reader.errors.failure = &job->failure;
  reader.errors.code = errc::invalid_image;
  reader.errors.prefix = "corrupt JPEG: ";
  reader.progress.mgr.progress_monitor = on_jpeg_progress;
  reader.progress.failure = &job->failure;
  auto ok = guarded_read_jpeg(&reader, job);
  // Safe after a failed create too: the struct starts zeroed (mem null).
  jpeg_destroy_decompress(&reader.cinfo);
  return ok;
}

// -- encoding the thumbnail ---------------------------------------------------

struct jpeg_writer {
  jpeg_compress_struct cinfo;
  jpeg_error_state errors;
  failure_state failure;
  unsigned char* out;
  unsigned long out_size;
};

bool write_jpeg(jpeg_writer* writer, const unsigned char* rgba, uint32_t width,
                uint32_t height) {
  auto* cinfo = &writer->cinfo;
  jpeg_create_compress(cinfo);
  jpeg_mem_dest(cinfo, &writer->out, &writer->out_size);
  cinfo->image_width = width;
  cinfo->image_height = height;
  cinfo->input_components = static_cast<int>(channels);
  cinfo->in_color_space = JCS_EXT_RGBX; // The alpha byte is ignored.
  jpeg_set_defaults(cinfo);
  jpeg_set_quality(cinfo, thumbnail_jpeg_quality, TRUE);
  jpeg_start_compress(cinfo, TRUE);
  auto row_bytes = std::size_t{width} * channels;
  while (cinfo->next_scanline < cinfo->image_height) {
    // libjpeg's API is not const-correct; it only reads the rows.
    JSAMPROW row
        = const_cast<unsigned char*>(rgba + cinfo->next_scanline * row_bytes);
    jpeg_write_scanlines(cinfo, &row, 1);
  }
  jpeg_finish_compress(cinfo);
  return true;
}

bool guarded_write_jpeg(jpeg_writer* writer, const unsigned char* rgba,
                        uint32_t width, uint32_t height) {
  if (setjmp(writer->failure.jump)) return false;
  return write_jpeg(writer, rgba, width, height);
}

bool thumbnail_builder::encode_jpeg(const std::vector<unsigned char>& rgba,
                                    uint32_t w, uint32_t h, std::string& out,
                                    std::string& error) {
  jpeg_writer writer{};
  writer.cinfo.err = jpeg_std_error(&writer.errors.mgr);
  writer.errors.mgr.error_exit = on_jpeg_error;
  writer.errors.mgr.emit_message = on_jpeg_encoder_message;
  writer.errors.failure = &writer.failure;
  writer.errors.code = errc::internal;
  writer.errors.prefix = "";
  auto ok = guarded_write_jpeg(&writer, rgba.data(), w, h);
  jpeg_destroy_compress(&writer.cinfo);
  // libjpeg allocated the output with malloc, also when it failed midway.
  struct release {
    unsigned char* p;
    ~release() {
      std::free(p);
    }
  } guard{writer.out};
  if (!ok) {
    error = writer.failure.message;
    return false;
  }
  out.assign(reinterpret_cast<const char*>(writer.out), writer.out_size);
  return true;
}

bool thumbnail_builder::encode_png(const std::vector<unsigned char>& rgba,
                                   uint32_t w, uint32_t h, std::string& out,
                                   std::string& error) {
  // libpng's simplified API catches its own longjmps.
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  image.width = w;
  image.height = h;
  image.format = PNG_FORMAT_RGBA;
  png_alloc_size_t size = 0;
  if (png_image_write_to_memory(&image, nullptr, &size, 0, rgba.data(), 0,
                                nullptr)
      == 0) {
    error = image.message;
    return false;
  }
  out.resize(size);
  if (png_image_write_to_memory(&image, &out[0], &size, 0, rgba.data(), 0,
                                nullptr)
      == 0) {
    error = image.message;
    return false;
  }
  out.resize(size);
  return true;
}

decode_result failed(errc code, std::string message) {
  decode_result result;
  result.error = code;
  result.message = std::move(message);
  return result;
}

} // namespace

// -- public functions ---------------------------------------------------------

format sniff(std::string_view bytes) noexcept {
  auto starts_with = [bytes](const unsigned char* magic, std::size_t n) {
    return bytes.size() >= n && std::memcmp(bytes.data(), magic, n) == 0;
  };
  if (starts_with(png_signature, sizeof png_signature)) return format::png;
  if (starts_with(jpeg_soi, sizeof jpeg_soi)) return format::jpeg;
  return format::unknown;
}

std::string_view content_type(format x) noexcept {
  switch (x) {
    case format::png: return "image/png";
    case format::jpeg: return "image/jpeg";
    case format::unknown: break;
  }
  return {};
}

decode_result decode(std::string_view bytes, const limits& lim) {
  if (bytes.size() > lim.max_bytes)
    return failed(errc::limit_exceeded,
                  "image is " + std::to_string(bytes.size())
                      + " bytes; at most " + std::to_string(lim.max_bytes)
                      + " bytes (images.max-bytes)");
  auto type = sniff(bytes);
  if (type == format::unknown)
    return failed(errc::invalid_image, "not a PNG or JPEG image");
  thumbnail_builder sink{lim};
  decode_job job{};
  job.data = reinterpret_cast<const unsigned char*>(bytes.data());
  job.size = bytes.size();
  job.sink = &sink;
  auto ok = type == format::png ? run_png(&job) : run_jpeg(&job);
  if (!ok) {
    auto code
        = job.failure.code == errc::none ? errc::internal : job.failure.code;
    return failed(code, job.failure.message);
  }
  return sink.finish(type);
}

int exif_orientation(const unsigned char* data, std::size_t size) noexcept {
  constexpr unsigned char exif_id[] = {'E', 'x', 'i', 'f', 0, 0};
  constexpr std::size_t tiff_header = 8;
  constexpr std::size_t entry_size = 12;
  if (data == nullptr || size < sizeof exif_id + tiff_header
      || std::memcmp(data, exif_id, sizeof exif_id) != 0)
    return 1;
  const auto* tiff = data + sizeof exif_id;
  auto n = size - sizeof exif_id;
  bool little = false;
  if (tiff[0] == 'I' && tiff[1] == 'I')
    little = true;
  else if (!(tiff[0] == 'M' && tiff[1] == 'M'))
    return 1;
  auto u16 = [tiff, little](std::size_t at) -> uint32_t {
    return little ? tiff[at] | (uint32_t{tiff[at + 1]} << 8)
                  : (uint32_t{tiff[at]} << 8) | tiff[at + 1];
  };
  auto u32 = [&u16, little](std::size_t at) -> uint32_t {
    return little ? u16(at) | (u16(at + 2) << 16)
                  : (u16(at) << 16) | u16(at + 2);
  };
  if (u16(2) != tiff_magic) return 1;
  std::size_t ifd = u32(4);
  if (ifd < tiff_header || ifd > n - 2) return 1;
  auto count = u16(ifd);
  for (std::size_t i = 0; i < count; ++i) {
    auto at = ifd + 2 + i * entry_size;
    if (at > n || n - at < entry_size) return 1;
    if (u16(at) != exif_orientation_tag) continue;
    if (u16(at + 2) != tiff_short) return 1;
    auto value = static_cast<int>(u16(at + 8));
    return value >= 1 && value <= 8 ? value : 1;
  }
  return 1;
}

} // namespace puzzle::image
