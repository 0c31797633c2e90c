// deepcart's HTTP server: every model it was given, behind one JSON API, plus the shop page at
// `/`. Health and readiness routes (also under Triton's /v2/health/...), Prometheus metrics,
// micro-batched inference, atomic hot reload, body/pixel/nesting/batch limits, optional bearer
// token, and a graceful stop that lets requests in flight finish.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "deepcart/data/image.h"
#include "deepcart/serve/metrics.h"
#include "deepcart/serve/models.h"

namespace deepcart::serve {

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                         // 0 = any free port (see Server::bind)
  std::string token;                       // empty = no auth; else "Authorization: Bearer TOKEN" on all but health
  size_t max_body_bytes = 8 << 20;         // larger bodies get 413
  int max_json_depth = 16;                 // deeper nesting gets 400
  int64_t max_batch_length = 256;          // texts or images per request
  int64_t max_k = 1000;                    // recommendations and look-alikes per request
  size_t max_text_bytes = 20000;           // one review or question
  data::ImageLimits image_limits{8 << 20, 4'000'000};  // encoded bytes, pixels (from the header)
  // Connections served at once. cpp-httplib keeps a thread per keep-alive connection, so a
  // client with more connections than threads waits up to keep_alive_seconds for one: with 16
  // wrk connections, 8 threads gave /v1/recommend a p99 of 10.1 ms, 16 or 32 gave 6.6-8.5 ms.
  int http_threads = 32;
  int keep_alive_seconds = 2;              // also bounds how long stop() waits for idle connections
  bool log = true;                         // one line per request on stderr
  std::string item_images;                 // optional CSV item_id,image (a PNG/JPEG path or fashion-mnist:SPLIT:N)
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

// The shop page served at `/`: HTML, CSS and JS in one string, no external resources.
const std::string& shop_page();

}  // namespace deepcart::serve
