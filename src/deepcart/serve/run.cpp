#include "deepcart/serve/run.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include <ATen/Parallel.h>

#include "deepcart/core/error.h"

namespace deepcart::serve {
namespace {
int stop_pipe[2] = {-1, -1};

// SIGTERM and SIGINT only write a byte to a pipe (async-signal-safe); a thread reading the pipe
// stops the server as ordinary code. Any thread may take the signal, including LibTorch's own,
// so a handler is used rather than a blocked mask.
void catch_stop_signals() {
  if (stop_pipe[0] < 0 && pipe(stop_pipe) != 0) throw Error("serve: cannot create the stop pipe");
  struct sigaction action {};
  action.sa_handler = [](int sig) {
    const char byte = static_cast<char>(sig);
    [[maybe_unused]] ssize_t n = write(stop_pipe[1], &byte, 1);
  };
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
}
}  // namespace

std::vector<std::pair<std::string, std::string>> models_to_serve(
    const std::vector<std::string>& pairs, const std::string& dir) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!dir.empty()) {
    if (!std::filesystem::is_directory(dir)) throw Error("--models " + dir + ": not a folder");
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      const auto ext = e.path().extension();
      if (e.is_regular_file() && (ext == ".dcm" || ext == ".dci")) files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) out.emplace_back(f.stem().string(), f.string());
  }
  for (const auto& p : pairs) {
    const size_t eq = p.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == p.size()) {
      throw Error("--model: expected NAME=PATH, found '" + p + "'");
    }
    out.emplace_back(p.substr(0, eq), p.substr(eq + 1));
  }
  if (out.empty()) throw Error("serve: no models: give --models DIR or --model NAME=PATH");
  return out;
}

void run_until_stopped(RunOptions o) {
  if (o.server.token.empty()) {
    if (const char* env = std::getenv("DEEPCART_TOKEN")) o.server.token = env;
  }
  if (o.quiet) o.server.log = false;
  check_serve_options(o.server);
  catch_stop_signals();
  Metrics metrics;
  ModelRegistry registry(o.batch, metrics);
  for (const auto& [name, path] : o.models) {
    auto m = registry.load(name, path);
    if (!o.quiet) {
      std::fprintf(stderr, "serve: %s: %s (%s) from %s in %.2f s\n", name.c_str(),
                   kind_name(m->kind).c_str(), m->arch.c_str(), path.c_str(), m->load_seconds);
    }
  }
  Server server(o.server, registry, metrics);
  const int port = server.bind();
  std::printf("deepcart serve: http://%s:%d/  (%zu models, %d threads; SIGTERM or Ctrl-C stops)\n",
              o.server.host.c_str(), port, registry.all().size(), at::get_num_threads());
  std::fflush(stdout);
  std::thread waiter([&] {
    char sig = 0;
    if (read(stop_pipe[0], &sig, 1) == 1 && sig != 0) {
      if (!o.quiet) {
        std::fprintf(stderr, "serve: %s: finishing the requests in flight\n",
                     sig == SIGTERM ? "SIGTERM" : "SIGINT");
      }
      server.stop();
    }
  });
  server.run();
  // run() can also return on its own (a failed accept loop): wake the waiter and join it.
  const char done = 0;
  [[maybe_unused]] ssize_t n = write(stop_pipe[1], &done, 1);
  waiter.join();
  if (!o.quiet) std::fprintf(stderr, "serve: stopped\n");
}

}  // namespace deepcart::serve
