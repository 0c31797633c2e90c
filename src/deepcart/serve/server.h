// deepcart's HTTP server: every model it was given, behind one JSON API, plus the shop page at
// `/`. Health and readiness routes (also under Triton's /v2/health/...), Prometheus metrics,
// micro-batched inference, atomic hot reload, body/pixel/nesting/batch limits, optional bearer
// token, and a graceful stop that lets requests in flight finish. The transport is http.h.
#pragma once

#include <cstdint>
#include <exception>
#include <memory>
#include <string>

#include "deepcart/data/image.h"
#include "deepcart/serve/metrics.h"
#include "deepcart/serve/models.h"

namespace deepcart::serve {

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8080;    // 0 = any free port (see Server::bind)
  std::string token;  // empty = no auth; else "Authorization: Bearer TOKEN" on all but health
  size_t max_body_bytes = 8 << 20;  // larger bodies get 413
  int max_json_depth = 16;          // deeper nesting gets 400
  int64_t max_batch_length = 256;   // texts or images per request
  int64_t max_k = 1000;             // recommendations and look-alikes per request
  size_t max_text_bytes = 20000;    // one review or question
  data::ImageLimits image_limits{8 << 20, 4'000'000};  // encoded bytes, pixels (from the header)
  // The transport is event-driven: connections cost no threads. Routes run on http_threads
  // request threads; a request waiting for its micro-batch holds one, so keep it above the
  // number of clients that send at once.
  int http_threads = 32;
  int io_threads = 1;                  // event loops (accept, parse, write)
  int max_connections = 1000;          // over it, only the health routes are answered
  size_t max_body_total = 32 << 20;    // all request bodies held at once (503 above)
  double header_timeout_seconds = 10;  // a request's head, from connect or the last response
  double body_timeout_seconds = 30;    // its body, after the head
  bool log = true;                     // one line per request on stderr
  std::string item_images;  // optional CSV item_id,image (a PNG/JPEG path or fashion-mnist:SPLIT:N)
};

class Server {
 public:
  Server(ServeOptions options, ModelRegistry& models, Metrics& metrics);
  ~Server();
  // Binds host:port and returns the port (the chosen one when port is 0). Throws on failure.
  int bind();
  // Serves until stop(); requests in flight are finished before it returns.
  void run();
  // Stops accepting connections; safe from another thread (not from a signal handler).
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Throws Error naming the flag for options no server can run with (no threads, a cap of 0, a
// timeout of 0); run before any model is loaded.
void check_serve_options(const ServeOptions& options);

// The answer to an unexpected exception in a route: its details go to stderr under a short
// random id, and the JSON body returned holds only that id, never library internals.
std::string internal_error_body(const std::string& request, const std::exception& e);

// The shop page served at `/`: HTML, CSS and JS in one string, no external resources.
const std::string& shop_page();

}  // namespace deepcart::serve
