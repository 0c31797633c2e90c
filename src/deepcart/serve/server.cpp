#include "deepcart/serve/server.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <random>

#include "deepcart/data/csv_reader.h"
#include "deepcart/serve/server_impl.h"

namespace deepcart::serve {
namespace {

bool is_health(const std::string& path) {
  return path == "/healthz" || path == "/readyz" || path == "/v2/health/live" ||
         path == "/v2/health/ready";
}

// The pattern's captures when `path` matches it.
std::optional<std::vector<std::string>> match(const std::string& pattern, const std::string& path) {
  std::vector<std::string> captures;
  size_t p = 0, q = 0;
  while (p < pattern.size()) {
    if (pattern[p] == '{') {
      const size_t close = pattern.find('}', p);
      const size_t end = path.find('/', q);
      const std::string segment =
          path.substr(q, end == std::string::npos ? std::string::npos : end - q);
      if (segment.empty()) return std::nullopt;
      captures.push_back(segment);
      p = close + 1;
      q = end == std::string::npos ? path.size() : end;
    } else {
      if (q >= path.size() || path[q] != pattern[p]) return std::nullopt;
      ++p;
      ++q;
    }
  }
  if (q != path.size()) return std::nullopt;
  return captures;
}

// RFC 7235: the scheme name is case-insensitive; the token is compared exactly.
bool bearer_matches(const std::string& authorization, const std::string& token) {
  const size_t space = authorization.find(' ');
  if (space == std::string::npos || lower(authorization.substr(0, space)) != "bearer") return false;
  size_t start = authorization.find_first_not_of(' ', space);
  return start != std::string::npos && authorization.compare(start, std::string::npos, token) == 0;
}

// A short random id that ties a 500 answer to its log line.
std::string error_id() {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  char buf[17];
  std::snprintf(buf, sizeof buf, "%08llx", static_cast<unsigned long long>(rng() & 0xffffffffULL));
  return buf;
}

}  // namespace

std::string internal_error_body(const std::string& request, const std::exception& e) {
  const std::string id = error_id();
  std::fprintf(stderr, "serve: error %s: %s: %s\n", id.c_str(), request.c_str(), e.what());
  return dump(json{{"error", "internal error (id " + id + "; the server log has the details)"},
                   {"id", id}});
}

void check_serve_options(const ServeOptions& o) {
  if (o.http_threads < 1 || o.io_threads < 1)
    throw Error("serve: --http-threads and --io-threads: expected at least 1");
  if (o.max_connections < 1)
    throw Error("serve: --max-connections: expected at least 1, found " +
                std::to_string(o.max_connections));
  if (!(o.header_timeout_seconds > 0) || !(o.body_timeout_seconds > 0)) {
    throw Error(
        "serve: --header-timeout and --body-timeout: expected a positive number of seconds");
  }
  if (o.max_body_bytes < 1) throw Error("serve: --max-body: expected at least 1 byte");
}

Server::Impl::Impl(ServeOptions options, ModelRegistry& m, Metrics& mt)
    : o(std::move(options)), models(m), metrics(mt) {
  if (!o.item_images.empty()) {
    data::CsvReader csv(o.item_images);
    const int item = csv.column_index("item_id"), image = csv.column_index("image");
    if (item < 0 || image < 0) throw Error(o.item_images + ": expected columns item_id,image");
    std::vector<std::string> fields;
    while (csv.next(fields)) item_images[fields[item]] = fields[image];
  }
}

// Runs a route; its JSON is the response, its exceptions become JSON errors. A 500 carries
// only a short id: the details (which may hold library internals) go to the log under it.
void Server::Impl::run(const Route& route, const HttpRequest& req, HttpResponse& res) {
  try {
    json out = route.body(req, res);
    if (!out.is_null()) res.set_content(dump(out), "application/json");
  } catch (const HttpError& e) {
    send_error(res, e.status(), e.what());
  } catch (const Error& e) {
    send_error(res, 400, e.what());
  } catch (const std::exception& e) {
    res.status = 500;
    res.set_content(internal_error_body(req.method + " " + req.path, e), "application/json");
  }
}

const Route* Server::Impl::find_route(const HttpRequest& req, std::string& allowed) const {
  for (const auto& r : routes) {
    if (!match(r.pattern, req.path)) continue;
    if (r.method == req.method) return &r;
    allowed += (allowed.empty() ? "" : ", ") + r.method;
  }
  return nullptr;
}

// On the I/O thread, with the head only: token, route, encoding; cheap routes answer here.
Admission Server::Impl::admit(HttpRequest& req, HttpResponse& res) {
  std::string allowed;
  const Route* route = find_route(req, allowed);
  const bool open = route != nullptr ? route->open : (is_health(req.path) || req.path == "/");
  if (!o.token.empty() && !open) {
    // <img> tags cannot send headers: pictures may carry the token in the query.
    const bool picture = route != nullptr && (route->pattern == "/v1/images/catalogue" ||
                                              route->pattern == "/v1/items/{id}/image");
    const bool query_token = picture && req.param("token") == o.token;
    if (!query_token && !bearer_matches(req.header("Authorization"), o.token)) {
      res.set_header("WWW-Authenticate", "Bearer");
      send_error(res, 401,
                 req.has_header("Authorization")
                     ? "wrong token"
                     : "missing token: send 'Authorization: Bearer TOKEN'");
      return Admission::kRespond;
    }
  }
  if (route == nullptr) {
    if (!allowed.empty()) {
      res.set_header("Allow", allowed);
      send_error(
          res, 405,
          "method " + req.method + " not allowed on " + req.path + " (allowed: " + allowed + ")");
    } else {
      send_error(res, 404, "no route for " + req.method + " " + req.path);
    }
    return Admission::kRespond;
  }
  req.route = route->pattern;
  const std::string encoding = lower(req.header("Content-Encoding"));
  if (!encoding.empty() && encoding != "identity") {
    // Decompression would bypass the body limit (a small gzip can expand to gigabytes).
    send_error(res, 415,
               "Content-Encoding '" + encoding + "' is not accepted: send the body uncompressed");
    return Admission::kRespond;
  }
  if (!route->at_once) return Admission::kReadBody;
  req.matches = *match(route->pattern, req.path);
  run(*route, req, res);
  return Admission::kRespond;
}

// On a request thread, with the whole request.
void Server::Impl::handle(HttpRequest& req, HttpResponse& res) {
  std::string allowed;
  const Route* route = find_route(req, allowed);
  req.matches = *match(route->pattern, req.path);
  run(*route, req, res);
}

void Server::Impl::done(const HttpRequest& req, const HttpResponse& res, double seconds) {
  const std::string route = req.route.empty() ? "other" : req.route;
  metrics.request(route, res.status, seconds);
  if (o.log)
    std::fprintf(stderr, "serve: %s %s %d %.2f ms\n", req.method.c_str(), route.c_str(), res.status,
                 1000 * seconds);
}

void Server::Impl::add(std::string method, std::string pattern,
                       std::function<json(const HttpRequest&, HttpResponse&)> body, bool at_once,
                       bool open) {
  routes.push_back({std::move(method), std::move(pattern), std::move(body), at_once, open});
}

void Server::Impl::install() {
  // No two routes share a pattern, so the order of the capabilities changes nothing.
  install_admin_routes();
  install_rec_routes();
  install_image_routes();
  install_text_routes();

  check_serve_options(o);
  HttpOptions h;
  h.host = o.host;
  h.port = o.port;
  h.io_threads = o.io_threads;
  h.request_threads = o.http_threads;
  h.max_body_bytes = o.max_body_bytes;
  h.max_body_total = std::max(o.max_body_total, o.max_body_bytes);
  h.max_connections = o.max_connections;
  h.header_timeout =
      std::chrono::milliseconds(static_cast<int64_t>(o.header_timeout_seconds * 1000));
  h.body_timeout = std::chrono::milliseconds(static_cast<int64_t>(o.body_timeout_seconds * 1000));
  HttpHandlers handlers;
  handlers.admit = [this](HttpRequest& req, HttpResponse& res) { return admit(req, res); };
  handlers.handle = [this](HttpRequest& req, HttpResponse& res) { handle(req, res); };
  handlers.essential = [](const HttpRequest& req) { return is_health(req.path); };
  handlers.error = [](HttpResponse& res, int status, const std::string& message) {
    send_error(res, status, message);
  };
  handlers.done = [this](const HttpRequest& req, const HttpResponse& res, double seconds) {
    done(req, res, seconds);
  };
  http = std::make_unique<HttpServer>(h, handlers);
}

Server::Server(ServeOptions options, ModelRegistry& models, Metrics& metrics)
    : impl_(std::make_unique<Impl>(std::move(options), models, metrics)) {
  impl_->install();
}

Server::~Server() = default;

int Server::bind() { return impl_->http->bind(); }

void Server::run() { impl_->http->run(); }

void Server::stop() { impl_->http->stop(); }

}  // namespace deepcart::serve
