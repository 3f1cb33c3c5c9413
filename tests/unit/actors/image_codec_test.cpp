// Tests of actors/image/image_codec: sniffing, limits checked from the
// header, full decoding (truncated and corrupt files refused) and the
// thumbnail. Every image is made here with libpng or libjpeg.

#include "actors/image/image_codec.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "tests/unit/support/test_images.hpp"

namespace {

using puzzle::errc;
using puzzle::image::content_type;
using puzzle::image::decode;
using puzzle::image::decode_result;
using puzzle::image::exif_orientation;
using puzzle::image::format;
using puzzle::image::limits;
using puzzle::image::sniff;
using namespace puzzle_test;

limits default_limits() {
  return limits{};
}

decode_result decode_ok(const std::string& bytes, const limits& lim = default_limits()) {
  auto result = decode(bytes, lim);
  EXPECT_TRUE(result) << result.message;
  return result;
}

/// Width and height of an encoded thumbnail, decoded by our own decoder.
std::pair<int32_t, int32_t> size_of(const std::string& file) {
  auto again = decode(file, default_limits());
  EXPECT_TRUE(again) << again.message;
  return {again.image.width, again.image.height};
}

rgba solid(uint8_t r, uint8_t g, uint8_t b, uint8_t a = 255) {
  return {r, g, b, a};
}

bool near(uint8_t x, uint8_t y, int tolerance) {
  return std::abs(int{x} - int{y}) <= tolerance;
}

// -- sniffing -----------------------------------------------------------------

TEST(ImageCodec, SniffsTheFormatFromMagicBytes) {
  EXPECT_EQ(sniff(make_png(2, 2)), format::png);
  EXPECT_EQ(sniff(make_jpeg(2, 2)), format::jpeg);
  EXPECT_EQ(sniff("GIF89a......"), format::unknown);
  EXPECT_EQ(sniff(""), format::unknown);
  EXPECT_EQ(sniff(std::string{"\x89PNG\r\n\x1a", 7}), format::unknown);
  EXPECT_EQ(content_type(format::png), "image/png");
  EXPECT_EQ(content_type(format::jpeg), "image/jpeg");
  EXPECT_EQ(content_type(format::unknown), "");
}

// -- decoding and thumbnails --------------------------------------------------

TEST(ImageCodec, DecodesAnOpaquePngAndMakesAJpegThumbnail) {
  auto result = decode_ok(make_png(640, 480));
  auto& img = result.image;
  EXPECT_EQ(img.type, format::png);
  EXPECT_EQ(img.width, 640);
  EXPECT_EQ(img.height, 480);
  EXPECT_TRUE(img.opaque);
  EXPECT_EQ(img.thumbnail_type, format::jpeg);
  EXPECT_EQ(img.thumbnail_width, 320);
  EXPECT_EQ(img.thumbnail_height, 240);
  EXPECT_EQ(sniff(img.thumbnail), format::jpeg);
  EXPECT_EQ(size_of(img.thumbnail), std::make_pair(320, 240));
}

TEST(ImageCodec, PngWithTransparencyGetsAPngThumbnail) {
  auto png = make_png(
      400, 100,
      [](uint32_t x, uint32_t) {
        return solid(10, 20, 30, x < 200 ? 255 : 0);
      },
      true);
  auto result = decode_ok(png);
  EXPECT_FALSE(result.image.opaque);
  EXPECT_EQ(result.image.thumbnail_type, format::png);
  auto thumb = read_png(result.image.thumbnail);
  EXPECT_EQ(thumb.width, 320u);
  EXPECT_EQ(thumb.height, 80u);
  auto left = thumb.at(10, 40);
  EXPECT_EQ(left.a, 255);
  EXPECT_EQ(left.r, 10);
  EXPECT_EQ(thumb.at(300, 40).a, 0);
}

TEST(ImageCodec, AnAlphaChannelThatIsAllOpaqueStillGivesAJpegThumbnail) {
  auto result = decode_ok(make_png(50, 50, gradient, true));
  EXPECT_TRUE(result.image.opaque);
  EXPECT_EQ(result.image.thumbnail_type, format::jpeg);
}

TEST(ImageCodec, ThumbnailKeepsTheAspectRatioAndNeverUpscales) {
  auto wide = decode_ok(make_jpeg(1000, 250));
  EXPECT_EQ(wide.image.type, format::jpeg);
  EXPECT_EQ(wide.image.thumbnail_width, 320);
  EXPECT_EQ(wide.image.thumbnail_height, 80);
  EXPECT_EQ(size_of(wide.image.thumbnail), std::make_pair(320, 80));
  auto tall = decode_ok(make_png(30, 3000));
  EXPECT_EQ(tall.image.thumbnail_width, 3);
  EXPECT_EQ(tall.image.thumbnail_height, 320);
  auto thin = decode_ok(make_png(2000, 1));
  EXPECT_EQ(thin.image.thumbnail_width, 320);
  EXPECT_EQ(thin.image.thumbnail_height, 1);
  auto small = decode_ok(make_png(100, 50));
  EXPECT_EQ(small.image.thumbnail_width, 100);
  EXPECT_EQ(small.image.thumbnail_height, 50);
  auto custom = limits{};
  custom.thumbnail_side = 64;
  auto sized = decode_ok(make_png(640, 480), custom);
  EXPECT_EQ(size_of(sized.image.thumbnail), std::make_pair(64, 48));
}

TEST(ImageCodec, ThumbnailAveragesAreasWeightedByAlpha) {
  // 4x2: left half red, right half blue; the top-right pixel is fully
  // transparent green, which must not tint its cell.
  auto png = make_png(
      4, 2,
      [](uint32_t x, uint32_t y) {
        if (x == 3 && y == 0) return solid(0, 255, 0, 0);
        return x < 2 ? solid(200, 0, 0) : solid(0, 0, 200);
      },
      true);
  auto lim = limits{};
  lim.thumbnail_side = 2;
  auto result = decode_ok(png, lim);
  ASSERT_EQ(result.image.thumbnail_type, format::png);
  auto thumb = read_png(result.image.thumbnail);
  ASSERT_EQ(thumb.width, 2u);
  ASSERT_EQ(thumb.height, 1u);
  auto left = thumb.at(0, 0);
  EXPECT_EQ(left.r, 200);
  EXPECT_EQ(left.b, 0);
  EXPECT_EQ(left.a, 255);
  auto right = thumb.at(1, 0);
  EXPECT_EQ(right.r, 0);
  EXPECT_EQ(right.g, 0);
  EXPECT_EQ(right.b, 200);
  EXPECT_EQ(right.a, 191); // three opaque pixels of four: 765 / 4
}

TEST(ImageCodec, DecodesInterlaced16BitAndGreyPngs) {
  auto interlaced = decode_ok(make_interlaced_png(333, 77));
  EXPECT_EQ(interlaced.image.width, 333);
  EXPECT_EQ(interlaced.image.height, 77);
  EXPECT_EQ(interlaced.image.thumbnail_width, 320);
  auto deep = decode_ok(make_png(40, 30, gradient, true, true));
  EXPECT_EQ(deep.image.width, 40);
  EXPECT_TRUE(deep.image.opaque);
  auto grey = decode_ok(make_gray_png(17, 9));
  EXPECT_EQ(grey.image.width, 17);
  EXPECT_EQ(grey.image.thumbnail_type, format::jpeg);
}

TEST(ImageCodec, DecodesProgressiveGreyAndCmykJpegs) {
  jpeg_options progressive;
  progressive.progressive = true;
  auto p = decode_ok(make_jpeg(500, 300, gradient, progressive));
  EXPECT_EQ(p.image.width, 500);
  EXPECT_EQ(p.image.height, 300);
  jpeg_options grey;
  grey.gray = true;
  EXPECT_EQ(decode_ok(make_jpeg(20, 10, gradient, grey)).image.width, 20);
  jpeg_options cmyk;
  cmyk.cmyk = true;
  // Inverted CMYK 255,255,255,255 is paper white; K 0 is black.
  auto white = decode_ok(make_jpeg(
      16, 16,
      [](uint32_t, uint32_t) {
        return solid(255, 255, 255, 255);
      },
      cmyk));
  auto px = read_jpeg(white.image.thumbnail).at(8, 8);
  EXPECT_TRUE(near(px.r, 255, 3) && near(px.g, 255, 3) && near(px.b, 255, 3));
  auto black = decode_ok(make_jpeg(
      16, 16,
      [](uint32_t, uint32_t) {
        return solid(255, 255, 255, 0);
      },
      cmyk));
  px = read_jpeg(black.image.thumbnail).at(8, 8);
  EXPECT_TRUE(near(px.r, 0, 3) && near(px.g, 0, 3) && near(px.b, 0, 3));
}

TEST(ImageCodec, ExifOrientationSwapsTheSizeAndTurnsTheThumbnail) {
  // Stored 40x20: left half red, right half blue. Orientation 6 shows it
  // turned 90 degrees clockwise: 20x40, red on top.
  auto halves = [](uint32_t x, uint32_t) {
    return x < 20 ? solid(255, 0, 0) : solid(0, 0, 255);
  };
  jpeg_options turned;
  turned.orientation = 6;
  auto result = decode_ok(make_jpeg(40, 20, halves, turned));
  EXPECT_EQ(result.image.width, 20);
  EXPECT_EQ(result.image.height, 40);
  EXPECT_EQ(result.image.thumbnail_width, 20);
  EXPECT_EQ(result.image.thumbnail_height, 40);
  auto thumb = read_jpeg(result.image.thumbnail);
  ASSERT_EQ(thumb.width, 20u);
  ASSERT_EQ(thumb.height, 40u);
  EXPECT_GT(thumb.at(10, 5).r, 200);
  EXPECT_LT(thumb.at(10, 5).b, 60);
  EXPECT_GT(thumb.at(10, 35).b, 200);
  // Orientation 3 (180 degrees) keeps the size and puts blue on the left.
  turned.orientation = 3;
  auto upside = decode_ok(make_jpeg(40, 20, halves, turned));
  EXPECT_EQ(upside.image.width, 40);
  EXPECT_GT(read_jpeg(upside.image.thumbnail).at(5, 10).b, 200);
}

TEST(ImageCodec, ReadsExifOrientationDefensively) {
  auto read = [](const std::string& x) {
    return exif_orientation(reinterpret_cast<const unsigned char*>(x.data()), x.size());
  };
  EXPECT_EQ(read(exif_with_orientation(6)), 6);
  EXPECT_EQ(read(exif_with_orientation(8, false)), 8);
  EXPECT_EQ(read(exif_with_orientation(9)), 1);
  EXPECT_EQ(read(exif_with_orientation(0)), 1);
  EXPECT_EQ(read(""), 1);
  EXPECT_EQ(exif_orientation(nullptr, 0), 1);
  auto good = exif_with_orientation(6);
  // Cut anywhere before the end of the orientation entry: no orientation.
  for (size_t n = 0; n < good.size(); ++n)
    EXPECT_EQ(read(good.substr(0, n)), n >= 28 ? 6 : 1) << n;
  // An IFD offset pointing outside the data.
  auto bad = good;
  bad[10] = '\x7f';
  EXPECT_EQ(read(bad), 1);
  auto not_exif = good;
  not_exif[0] = 'X';
  EXPECT_EQ(read(not_exif), 1);
}

// -- refusals -----------------------------------------------------------------

TEST(ImageCodec, GarbageIsNotAnImage) {
  for (std::string bytes : {std::string{}, std::string{"hello, world\n"}, std::string(1000, '\0'),
                            std::string{"GIF89a\x01\x00\x01\x00"}}) {
    auto result = decode(bytes, default_limits());
    EXPECT_EQ(result.error, errc::invalid_image);
    EXPECT_EQ(result.message, "not a PNG or JPEG image");
  }
}

TEST(ImageCodec, CorruptFilesAreRefusedWithTheLibrarysReason) {
  auto png = make_png(64, 64);
  auto broken = png;
  broken[20] = static_cast<char>(broken[20] ^ 0x55); // inside IHDR: CRC mismatch
  auto result = decode(broken, default_limits());
  EXPECT_EQ(result.error, errc::invalid_image);
  EXPECT_EQ(result.message.rfind("corrupt PNG: ", 0), 0u) << result.message;
  auto garbage_after_signature = png.substr(0, 8) + std::string(200, 'x');
  auto r2 = decode(garbage_after_signature, default_limits());
  EXPECT_EQ(r2.error, errc::invalid_image);
  EXPECT_EQ(r2.message.rfind("corrupt PNG: ", 0), 0u) << r2.message;
  auto jpeg = make_jpeg(64, 64);
  auto r3 = decode(jpeg.substr(0, 3) + std::string(100, 'x'), default_limits());
  EXPECT_EQ(r3.error, errc::invalid_image);
  EXPECT_EQ(r3.message.rfind("corrupt JPEG: ", 0), 0u) << r3.message;
}

TEST(ImageCodec, TruncatedFilesAreRefused) {
  auto png = make_png(200, 200);
  for (auto cut : {png.size() / 2, png.size() - 12, png.size() - 1}) {
    auto result = decode(png.substr(0, cut), default_limits());
    EXPECT_EQ(result.error, errc::invalid_image) << cut;
    EXPECT_EQ(result.message.rfind("corrupt PNG: ", 0), 0u) << result.message;
  }
  auto jpeg = make_jpeg(200, 200);
  for (auto cut : {jpeg.size() / 2, jpeg.size() - 2}) {
    auto result = decode(jpeg.substr(0, cut), default_limits());
    EXPECT_EQ(result.error, errc::invalid_image) << cut;
    EXPECT_EQ(result.message.rfind("corrupt JPEG: ", 0), 0u) << result.message;
  }
  jpeg_options progressive;
  progressive.progressive = true;
  auto pjpeg = make_jpeg(200, 200, gradient, progressive);
  EXPECT_EQ(decode(pjpeg.substr(0, pjpeg.size() * 2 / 3), default_limits()).error,
            errc::invalid_image);
}

TEST(ImageCodec, PngHeaderOverThePixelLimitIsRefusedBeforeDecoding) {
  // The IHDR claims 30000x30000 but the data is that of a 1x1 image: had
  // the decoder gone on, it would have failed as corrupt, or allocated
  // 3.6 GB for an interlaced image.
  auto liar = with_png_size(make_png(1, 1), 30000, 30000);
  auto result = decode(liar, default_limits());
  EXPECT_EQ(result.error, errc::limit_exceeded);
  EXPECT_EQ(result.message,
            "image is 30000x30000 pixels; at most 40000000 pixels (images.max-pixels)");
  auto lim = limits{};
  lim.max_pixels = 100;
  auto small = decode(make_png(20, 20), lim);
  EXPECT_EQ(small.error, errc::limit_exceeded);
  EXPECT_EQ(small.message, "image is 20x20 pixels; at most 100 pixels (images.max-pixels)");
  EXPECT_TRUE(decode(make_png(10, 10), lim));
}

TEST(ImageCodec, SideOverTheLimitIsRefusedFromTheHeader) {
  auto liar = with_png_size(make_png(1, 1), 20000, 100);
  auto result = decode(liar, default_limits());
  EXPECT_EQ(result.error, errc::limit_exceeded);
  EXPECT_EQ(result.message,
            "image is 20000x100 pixels; each side at most 16384 pixels (limits.max-image-side)");
  auto jpeg = with_jpeg_size(make_jpeg(8, 8), 30000, 30000);
  auto r2 = decode(jpeg, default_limits());
  EXPECT_EQ(r2.error, errc::limit_exceeded);
  EXPECT_EQ(r2.message, "image is 30000x30000 pixels; at most 40000000 pixels (images.max-pixels)");
  auto lim = limits{};
  lim.max_side = 100;
  auto r3 = decode(make_jpeg(101, 10), lim);
  EXPECT_EQ(r3.error, errc::limit_exceeded);
  EXPECT_EQ(r3.message,
            "image is 101x10 pixels; each side at most 100 pixels (limits.max-image-side)");
}

TEST(ImageCodec, BytesOverTheLimitAreRefusedFirst) {
  auto lim = limits{};
  lim.max_bytes = 100;
  auto result = decode(make_png(64, 64), lim);
  EXPECT_EQ(result.error, errc::limit_exceeded);
  EXPECT_NE(result.message.find("(images.max-bytes)"), std::string::npos) << result.message;
}

} // namespace
