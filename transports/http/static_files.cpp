#include "transports/http/static_files.hpp"

#include <fstream>
#include <iterator>
#include <optional>
#include <system_error>

#include <boost/beast/http/field.hpp>

namespace puzzle::transports::http {

namespace fs = std::filesystem;
namespace bhttp = boost::beast::http;

namespace {

/// Files below /assets/ carry a content hash in their name (the bundler's
/// output), so they never change: cache them for a year.
constexpr std::string_view immutable_cache
    = "public, max-age=31536000, immutable";

/// Other files (images, icons) may change with a deployment: five minutes.
constexpr std::string_view short_cache = "public, max-age=300";

constexpr std::string_view builtin_page
    = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<title>Puzzle node</title></head><body><h1>Puzzle node</h1>"
      "<p>The web client is not installed (set <code>http.web_root</code>)."
      "</p><p>API: <a href=\"/api/sessions\">/api/sessions</a>, "
      "<a href=\"/health\">/health</a>.</p></body></html>\n";

struct type_entry {
  std::string_view extension;
  std::string_view type;
};

constexpr type_entry content_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".htm", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".jpg", "image/jpeg"},
    {".jpeg", "image/jpeg"},
    {".gif", "image/gif"},
    {".webp", "image/webp"},
    {".json", "application/json"},
    {".ico", "image/x-icon"},
    {".wasm", "application/wasm"},
    {".woff2", "font/woff2"},
    {".woff", "font/woff"},
    {".map", "application/json"},
    {".txt", "text/plain; charset=utf-8"},
};

std::string to_lower(std::string_view x) {
  std::string result{x};
  for (auto& c : result)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return result;
}

bool is_html(std::string_view type) {
  return type.substr(0, 9) == "text/html";
}

/// True when every component of `root` starts `path`.
bool is_below(const fs::path& root, const fs::path& path) {
  auto r = root.begin();
  auto p = path.begin();
  for (; r != root.end(); ++r, ++p) {
    // A trailing empty component (root ending in a separator) matches all.
    if (r->empty()) continue;
    if (p == path.end() || *r != *p) return false;
  }
  return true;
}

/// The decoded path relative to the root; nullopt for a refused path.
std::optional<std::string> safe_relative(std::string_view raw) {
  auto decoded = percent_decode(raw);
  if (!decoded || decoded->empty() || decoded->front() != '/')
    return std::nullopt;
  if (decoded->find('\0') != std::string::npos
      || decoded->find('\\') != std::string::npos)
    return std::nullopt;
  std::string_view rest{*decoded};
  rest.remove_prefix(1);
  size_t pos = 0;
  while (pos <= rest.size()) {
    auto slash = rest.find('/', pos);
    auto seg = rest.substr(
        pos,
        slash == std::string_view::npos ? std::string_view::npos : slash - pos);
    if (seg == "." || seg == "..") return std::nullopt;
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }
  return std::string{rest};
}

} // namespace

std::string_view content_type_of(std::string_view file_name) {
  auto dot = file_name.rfind('.');
  auto slash = file_name.rfind('/');
  if (dot == std::string_view::npos
      || (slash != std::string_view::npos && slash > dot))
    return "application/octet-stream";
  auto ext = to_lower(file_name.substr(dot));
  for (auto& entry : content_types)
    if (entry.extension == ext) return entry.type;
  return "application/octet-stream";
}

static_files::static_files(std::string web_root) {
  if (web_root.empty()) return;
  std::error_code ec;
  auto canonical = fs::weakly_canonical(fs::absolute(web_root, ec), ec);
  root_ = ec ? fs::path{web_root} : canonical;
}

void static_files::operator()(request&& req, route_match,
                              responder reply) const {
  reply(serve(req));
}

response static_files::serve(const request& req) const {
  std::string_view target{req.target().data(), req.target().size()};
  auto path = path_of(target);
  auto relative = safe_relative(path);
  if (!relative)
    return make_error(bhttp::status::bad_request,
                      to_code(errc::invalid_argument), "invalid path", req);
  auto not_found = [&] {
    return make_error(bhttp::status::not_found, "NOT_FOUND",
                      "no resource at this path", req);
  };
  if (root_.empty()) {
    if (*relative != "" && *relative != "index.html") return not_found();
    response res{bhttp::status::ok, req.version()};
    res.set(bhttp::field::content_type, "text/html; charset=utf-8");
    res.set(bhttp::field::cache_control, "no-cache");
    res.set("Content-Security-Policy", to_beast(html_csp));
    res.body() = std::string{builtin_page};
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    return res;
  }
  std::error_code ec;
  auto file = fs::weakly_canonical(root_ / *relative, ec);
  if (ec || !is_below(root_, file)) return not_found();
  if (fs::is_directory(file, ec)) file /= "index.html";
  if (!fs::is_regular_file(file, ec)) return not_found();
  std::ifstream in{file, std::ios::binary};
  if (!in) return not_found();
  std::string body{std::istreambuf_iterator<char>{in},
                   std::istreambuf_iterator<char>{}};
  auto type = content_type_of(file.filename().string());
  response res{bhttp::status::ok, req.version()};
  res.set(bhttp::field::content_type, to_beast(type));
  if (is_html(type)) {
    res.set(bhttp::field::cache_control, "no-cache");
    res.set("Content-Security-Policy", to_beast(html_csp));
  } else if (path.substr(0, 8) == "/assets/") {
    res.set(bhttp::field::cache_control, to_beast(immutable_cache));
  } else {
    res.set(bhttp::field::cache_control, to_beast(short_cache));
  }
  res.body() = std::move(body);
  res.keep_alive(req.keep_alive());
  res.prepare_payload();
  return res;
}

} // namespace puzzle::transports::http
