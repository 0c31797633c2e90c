// The HTTP/1.1 transport under `deepcart serve`, event-driven (Boost.Beast over Asio): an open
// connection costs a socket and a few kilobytes, never a thread, so slow or idle clients cannot
// hold the server. Each request passes, in order: a deadline for its head, the connection cap
// (over it, only the essential routes are answered), the application's admission on the head
// alone (route, token, declared size; the body is not read yet), then a body limit that holds
// for every transfer encoding and is enforced while reading, under a deadline of its own and a
// budget shared by every connection. Routes run on a pool of request threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace deepcart::serve {

class Session;

struct HttpRequest {
  std::string method;
  std::string target;                                        // path and query, as sent
  std::string path;                                          // the target up to '?'
  std::vector<std::pair<std::string, std::string>> params;   // the query, percent-decoded
  std::vector<std::pair<std::string, std::string>> headers;  // as sent
  std::string body;
  std::string route;                 // the matched route's pattern, set by the application
  std::vector<std::string> matches;  // what the route pattern captured

  std::string header(std::string_view name) const;  // case-insensitive; "" when absent
  bool has_header(std::string_view name) const;
  std::string param(std::string_view name) const;  // "" when absent
  bool has_param(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  void set_content(std::string content, std::string type) {
    body = std::move(content);
    content_type = std::move(type);
  }
  void set_header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
  }
};

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 8080;           // 0 = any free port
  int io_threads = 1;        // event loops: accept, parse, write
  int request_threads = 32;  // run the routes; one waiting for its micro-batch holds a thread
  size_t max_body_bytes = 8 << 20;   // per request, whatever the transfer encoding
  size_t max_body_total = 32 << 20;  // all request bodies being received or handled at once
  size_t max_header_bytes = 16 << 10;
  int max_connections = 1000;  // over it only essential routes; 64 more are closed at once
  // From the moment the server waits for a request (a new connection, or the previous response
  // sent) until its head has arrived; then until the body has arrived; then for the response.
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds body_timeout{30000};
  std::chrono::milliseconds write_timeout{10000};
};

// What the application does with a request whose head has arrived.
enum class Admission {
  kRespond,   // the response is filled in (a refusal, or a route cheap enough to answer at once)
  kReadBody,  // read the body, then call `handle` on a request thread
};

struct HttpHandlers {
  // On an I/O thread, with the head only (no body byte has been read): must be quick.
  std::function<Admission(HttpRequest& req, HttpResponse& res)> admit;
  // On a request thread, with the whole request. Exceptions are the application's to catch.
  std::function<void(HttpRequest& req, HttpResponse& res)> handle;
  // Routes still answered over the connection cap (health checks).
  std::function<bool(const HttpRequest& req)> essential;
  // The transport's own refusals (400, 408, 413, 431, 503): fills the response's body.
  std::function<void(HttpResponse& res, int status, const std::string& message)> error;
  // After each response has been sent, for logs and metrics; seconds since the head arrived.
  std::function<void(const HttpRequest& req, const HttpResponse& res, double seconds)> done;
};

// Counters of the transport, for /metrics.
struct HttpStats {
  int64_t open = 0;             // connections open now
  int64_t accepted = 0;         // ever
  int64_t over_limit = 0;       // accepted over max_connections (essential routes only)
  int64_t refused = 0;          // closed at once, far over the cap
  int64_t head_timeouts = 0;    // no complete head in time (slow or idle clients)
  int64_t body_timeouts = 0;    // no complete body in time
  int64_t body_bytes_held = 0;  // request body memory held now, against max_body_total
};

class HttpServer {
 public:
  HttpServer(HttpOptions options, HttpHandlers handlers);
  ~HttpServer();
  // Binds host:port and returns the port (the chosen one when port is 0). Throws Error.
  int bind();
  // Serves until stop(); requests in flight are answered before it returns.
  void run();
  // Stops accepting and closes idle connections; safe from any thread (not a signal handler).
  void stop();
  HttpStats stats() const;

 private:
  friend class Session;  // one connection, in http.cpp
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// Percent-decoding of a query component ('+' is a space); invalid escapes are kept as they are.
std::string url_decode(std::string_view text);

}  // namespace deepcart::serve
