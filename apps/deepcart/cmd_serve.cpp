// deepcart serve: the HTTP server over every model given, and the shop page (serve/run.h).
#include <filesystem>

#include "cli_common.h"
#include "deepcart/serve/run.h"

namespace deepcart::cli {

void register_serve(CLI::App& app) {
  struct Flags : Common {
    serve::RunOptions run;
    std::string dir;
    std::vector<std::string> pairs;
    double delay_ms = 0;
    bool no_log = false;
  };
  auto f = std::make_shared<Flags>();
  serve::ServeOptions& o = f->run.server;
  auto* cmd = add_command(
      &app, "serve",
      "the HTTP server: recommendations, images, reviews, questions, and the shop page", *f);
  cmd->add_option("--models", f->dir,
                  "serve every .dcm and .dci in this folder, named after the file");
  cmd->add_option("--model", f->pairs, "NAME=PATH of one model (repeat the flag)");
  opt(cmd, "--host", o.host, "address to listen on");
  opt(cmd, "--port", o.port, "port (0 = any free one, printed at start)");
  cmd->add_option("--token", o.token,
                  "bearer token required on every route but health and the page (default: "
                  "$DEEPCART_TOKEN; also enables /v1/admin/reload)");
  opt(cmd, "--max-body", o.max_body_bytes,
      "request body limit in bytes, chunked or not, enforced while reading (413 above)");
  opt(cmd, "--max-batch", f->run.batch.max_items, "micro-batching: texts or images per model call");
  opt(cmd, "--batch-delay-ms", f->delay_ms,
      "micro-batching: longest wait for more requests (0 = batch what queued while busy)");
  opt(cmd, "--batch-workers", f->run.batch.workers,
      "micro-batching: model calls running at once per model (0 = one per core)");
  opt(cmd, "--max-pixels", o.image_limits.max_pixels, "image pixel cap (width x height)");
  opt(cmd, "--http-threads", o.http_threads,
      "threads that run requests (a request waiting for its micro-batch holds one; connections "
      "hold none)");
  opt(cmd, "--io-threads", o.io_threads, "event-loop threads: accept, read, write");
  opt(cmd, "--max-connections", o.max_connections,
      "open connections; over it only the health routes are answered");
  opt(cmd, "--max-body-total", o.max_body_total,
      "bytes of request bodies held at once, all connections together (503 above)");
  opt(cmd, "--header-timeout", o.header_timeout_seconds,
      "seconds for a request's head to arrive (from connect, or from the last response)");
  opt(cmd, "--body-timeout", o.body_timeout_seconds,
      "seconds for a request's body to arrive after its head");
  cmd->add_option("--item-images", o.item_images,
                  "CSV item_id,image: product pictures for recommendations (default: "
                  "item-images.csv in --models)");
  cmd->add_flag("--no-log", f->no_log, "no line per request on stderr");
  cmd->callback([=] {
    serve::RunOptions run = f->run;
    if (run.server.item_images.empty() && !f->dir.empty() &&
        std::filesystem::exists(f->dir + "/item-images.csv")) {
      run.server.item_images = f->dir + "/item-images.csv";
    }
    // Concurrent requests are the server's parallelism: each runs its LibTorch ops on one
    // thread unless --threads says otherwise. Measured with wrk on 2 cores: /v1/recommend 4,996
    // req/s with p99 10.3 ms on one thread, 3,617 req/s with p99 16.1 ms on two.
    Common settings = *f;
    if (settings.threads == 0) settings.threads = 1;
    init_context(settings);
    run.server.log = !f->no_log;
    run.quiet = f->quiet;
    run.batch.max_delay = std::chrono::microseconds(static_cast<int64_t>(f->delay_ms * 1000));
    run.models = serve::models_to_serve(f->pairs, f->dir);
    serve::run_until_stopped(run);
  });
}

}  // namespace deepcart::cli
