// Tests of transports/http/multipart: the boundary of a Content-Type and the
// parts of a multipart/form-data body, well-formed and malformed.

#include "transports/http/multipart.hpp"

#include <string>

#include <gtest/gtest.h>

namespace {

using puzzle::transports::http::multipart_boundary;
using puzzle::transports::http::multipart_limits;
using puzzle::transports::http::parse_multipart;

/// A body as a browser sends it: CRLF line ends, the closing boundary.
std::string form(const std::string& boundary, const std::string& file_bytes,
                 const std::string& name = {}) {
  std::string body = "--" + boundary + "\r\n";
  body += "Content-Disposition: form-data; name=\"file\"; filename=\"photo.png\"\r\n";
  body += "Content-Type: image/png\r\n\r\n";
  body += file_bytes + "\r\n";
  if (!name.empty()) {
    body += "--" + boundary + "\r\n";
    body += "Content-Disposition: form-data; name=\"name\"\r\n\r\n";
    body += name + "\r\n";
  }
  body += "--" + boundary + "--\r\n";
  return body;
}

// -- the boundary -------------------------------------------------------------

TEST(MultipartBoundary, ReadsTokenAndQuotedBoundariesWithoutCase) {
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=abc123"), "abc123");
  EXPECT_EQ(multipart_boundary("Multipart/Form-Data;BOUNDARY=\"a b:c\""), "a b:c");
  EXPECT_EQ(
      multipart_boundary(
          "multipart/form-data; charset=utf-8; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW"),
      "----WebKitFormBoundary7MA4YWxkTrZu0gW");
}

TEST(MultipartBoundary, MissingBoundaryOrOtherTypesHaveNone) {
  EXPECT_FALSE(multipart_boundary("multipart/form-data"));
  EXPECT_FALSE(multipart_boundary("multipart/form-data; boundary="));
  EXPECT_FALSE(multipart_boundary("multipart/form-data; boundary=\"\""));
  EXPECT_FALSE(multipart_boundary("multipart/form-data; boundary=" + std::string(71, 'b')));
  EXPECT_TRUE(multipart_boundary("multipart/form-data; boundary=" + std::string(70, 'b')));
  EXPECT_FALSE(multipart_boundary("multipart/mixed; boundary=abc"));
  EXPECT_FALSE(multipart_boundary("image/png"));
  EXPECT_FALSE(multipart_boundary(""));
}

// -- well-formed bodies -------------------------------------------------------

TEST(Multipart, SplitsFileAndNameParts) {
  const char raw[] = "\x89PNG\r\n\x1a\n\0\0binary\r\n--not-the-boundary";
  std::string bytes{raw, sizeof raw - 1};
  auto body = form("XyZ", bytes, "My picture");
  auto result = parse_multipart(body, "XyZ");
  ASSERT_TRUE(result) << result.error;
  ASSERT_EQ(result.parts.size(), 2u);
  auto file = result.find("file");
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(file->body, bytes);
  EXPECT_EQ(file->filename, "photo.png");
  EXPECT_EQ(file->content_type, "image/png");
  // The body is a view into what was parsed, not a copy.
  EXPECT_GE(file->body.data(), body.data());
  EXPECT_LT(file->body.data(), body.data() + body.size());
  auto name = result.find("name");
  ASSERT_NE(name, nullptr);
  EXPECT_EQ(name->body, "My picture");
  EXPECT_FALSE(name->filename);
  EXPECT_EQ(result.find("other"), nullptr);
}

TEST(Multipart, IgnoresPreambleEpilogueAndPaddingAfterBoundaries) {
  std::string body = "preamble text\r\n--b  \t\r\n"
                     "content-disposition: form-data; name=file; filename=a.jpg\r\n\r\n"
                     "data\r\n--b--\r\nepilogue --b\r\n";
  auto result = parse_multipart(body, "b");
  ASSERT_TRUE(result) << result.error;
  ASSERT_EQ(result.parts.size(), 1u);
  EXPECT_EQ(result.parts[0].name, "file");
  EXPECT_EQ(result.parts[0].filename, "a.jpg");
  EXPECT_EQ(result.parts[0].body, "data");
}

TEST(Multipart, DecodesQuotedAndExtendedFilenames) {
  std::string body
      = "--b\r\n"
        "Content-Disposition: form-data; name=\"file\"; filename=\"a \\\"q\\\".png\"\r\n\r\n"
        "x\r\n--b\r\n"
        "Content-Disposition: form-data; name=\"other\"; filename=\"plain.png\"; "
        "filename*=UTF-8''%C3%A9t%C3%A9.png\r\n\r\n"
        "y\r\n--b--";
  auto result = parse_multipart(body, "b");
  ASSERT_TRUE(result) << result.error;
  EXPECT_EQ(result.find("file")->filename, "a \"q\".png");
  // Other backslashes are kept: old browsers send Windows paths.
  auto path = parse_multipart("--b\r\nContent-Disposition: form-data; name=\"f\"; "
                              "filename=\"C:\\fakepath\\a.png\"\r\n\r\nx\r\n--b--",
                              "b");
  ASSERT_TRUE(path) << path.error;
  EXPECT_EQ(path.parts[0].filename, "C:\\fakepath\\a.png");
  EXPECT_EQ(result.find("other")->filename, "été.png");
}

TEST(Multipart, AnEmptyFilePartIsAPartWithAnEmptyBody) {
  auto result = parse_multipart(form("b", ""), "b");
  ASSERT_TRUE(result) << result.error;
  EXPECT_EQ(result.find("file")->body, "");
}

// -- malformed bodies ---------------------------------------------------------

TEST(Multipart, MissingOpeningBoundaryIsAnError) {
  auto result = parse_multipart("just some bytes\r\n", "b");
  EXPECT_FALSE(result);
  EXPECT_EQ(result.error, "multipart body has no opening boundary");
  EXPECT_TRUE(result.parts.empty());
  EXPECT_EQ(parse_multipart(form("other", "x"), "b").error,
            "multipart body has no opening boundary");
  EXPECT_EQ(parse_multipart("", "b").error, "multipart body has no opening boundary");
}

TEST(Multipart, MissingClosingBoundaryIsAnError) {
  auto full = form("b", "0123456789");
  // Cut anywhere before the final "--": truncated bodies never parse.
  for (size_t n = 4; n + 4 < full.size(); ++n) {
    auto result = parse_multipart(std::string_view{full}.substr(0, n), "b");
    EXPECT_FALSE(result) << n;
  }
  auto result
      = parse_multipart("--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\ndata", "b");
  EXPECT_EQ(result.error, "multipart body has no closing boundary");
  EXPECT_EQ(
      parse_multipart("--b\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nx\r\n--b", "b")
          .error,
      "multipart body has no closing boundary");
}

TEST(Multipart, AMissingPartIsNotFound) {
  std::string body = "--b\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nx\r\n--b--";
  auto result = parse_multipart(body, "b");
  ASSERT_TRUE(result);
  EXPECT_EQ(result.find("file"), nullptr);
}

TEST(Multipart, HeadersOverTheLimitAreAnError) {
  multipart_limits limits;
  limits.max_header_bytes = 64;
  std::string body = "--b\r\nContent-Disposition: form-data; name=\"file\"\r\nX-Long: "
      + std::string(100, 'a') + "\r\n\r\nx\r\n--b--";
  auto result = parse_multipart(body, "b", limits);
  EXPECT_EQ(result.error, "multipart part headers exceed 64 bytes");
  // Without an empty line within the limit, the same.
  std::string endless = "--b\r\n" + std::string(1000, 'h');
  EXPECT_EQ(parse_multipart(endless, "b", limits).error, "multipart part headers exceed 64 bytes");
  EXPECT_TRUE(parse_multipart(form("b", "x"), "b"));
}

TEST(Multipart, MalformedHeadersAreAnError) {
  auto with_headers = [](const std::string& headers) {
    return parse_multipart("--b\r\n" + headers + "\r\n\r\nx\r\n--b--", "b").error;
  };
  EXPECT_EQ(with_headers("no colon here"), "malformed multipart part header");
  EXPECT_EQ(with_headers("Content-Disposition: form-data; name=\"a\"\r\n folded: line"),
            "malformed multipart part header");
  EXPECT_EQ(with_headers("Content-Type: image/png"),
            "multipart part without a Content-Disposition name");
  EXPECT_EQ(with_headers("Content-Disposition: form-data; filename=\"a.png\""),
            "multipart part without a Content-Disposition name");
  EXPECT_EQ(with_headers("Content-Disposition: attachment; name=\"a\""),
            "multipart part is not form-data");
  EXPECT_EQ(parse_multipart("--b\r\n\r\nx\r\n--b--", "b").error,
            "multipart part without a Content-Disposition name");
  EXPECT_EQ(parse_multipart("--bX\r\n", "b").error, "malformed multipart boundary line");
}

TEST(Multipart, TooManyPartsAreAnError) {
  multipart_limits limits;
  limits.max_parts = 2;
  std::string body;
  for (int i = 0; i < 3; ++i)
    body += "--b\r\nContent-Disposition: form-data; name=\"p" + std::to_string(i)
        + "\"\r\n\r\nx\r\n";
  body += "--b--";
  EXPECT_EQ(parse_multipart(body, "b", limits).error, "multipart body has more than 2 parts");
  limits.max_parts = 3;
  EXPECT_TRUE(parse_multipart(body, "b", limits));
}

TEST(Multipart, InvalidBoundariesAreAnError) {
  EXPECT_EQ(parse_multipart("--\r\n", "").error, "invalid multipart boundary");
  EXPECT_EQ(parse_multipart("x", std::string(71, 'b')).error, "invalid multipart boundary");
}

} // namespace
