// Serving-path latency: top-10 for one known user (seen items excluded) from a trained
// ModelFile, one thread, measured per call. Usage: bench_rec_latency MODEL.dcm [calls] [reasons]
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "deepcart/core/context.h"
#include "deepcart/rec/recommender.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL.dcm [calls=2000] [reasons=0]\n", argv[0]);
    return 2;
  }
  deepcart::ContextOptions options;
  options.threads = 1;
  deepcart::context_init(options);
  auto model = deepcart::rec::Recommender::load(argv[1]);
  const int calls = argc > 2 ? std::atoi(argv[2]) : 2000;
  const int reasons = argc > 3 ? std::atoi(argv[3]) : 0;
  std::mt19937_64 rng(1);
  std::uniform_int_distribution<int64_t> pick(0, model.users().size() - 1);
  for (int w = 0; w < 50; ++w) model.recommend(model.users().name(pick(rng)), 10, true, reasons);
  std::vector<double> micros;
  for (int c = 0; c < calls; ++c) {
    const std::string user = model.users().name(pick(rng));
    const auto t0 = std::chrono::steady_clock::now();
    auto items = model.recommend(user, 10, true, reasons);
    micros.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    if (items.size() != 10) return 1;
  }
  std::sort(micros.begin(), micros.end());
  std::printf(
      "{\"model\": \"%s\", \"arch\": \"%s\", \"items\": %lld, \"calls\": %d, \"reasons\": %d, "
      "\"median_us\": %.1f, \"p99_us\": %.1f, \"max_us\": %.1f}\n",
      argv[1], model.file().arch.c_str(), static_cast<long long>(model.items().size()), calls,
      reasons, micros[micros.size() / 2], micros[micros.size() * 99 / 100], micros.back());
  return 0;
}
