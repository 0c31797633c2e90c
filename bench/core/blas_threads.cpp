// How many OpenBLAS threads next to LibTorch's pool? Times large GEMMs (where BLAS threads
// help) and a small-layer training step (where a spinning BLAS pool fights LibTorch's threads)
// under each setting, in one run. Usage: bench_blas_threads [torch_threads]
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "deepcart/core/context.h"

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double gemm_gflops(int64_t n, int reps) {
  torch::Tensor a = torch::randn({n, n}), b = torch::randn({n, n});
  torch::mm(a, b);  // warm-up
  auto t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < reps; ++r) torch::mm(a, b);
  return 2.0 * n * n * n * reps / seconds_since(t0) / 1e9;
}

// The seed MLP's shape: embeddings 32+32 -> 64 -> 32 -> 1, batch 4608 (512 + 8 negatives each).
double mlp_steps_per_second(int steps) {
  torch::nn::Sequential net(torch::nn::Linear(64, 64), torch::nn::ReLU(), torch::nn::Linear(64, 32),
                            torch::nn::ReLU(), torch::nn::Linear(32, 1));
  torch::optim::Adam adam(net->parameters(), 1e-3);
  torch::Tensor x = torch::randn({4608, 64}), y = torch::rand({4608, 1}).round();
  auto step = [&] {
    adam.zero_grad();
    auto loss = torch::binary_cross_entropy_with_logits(net->forward(x), y);
    loss.backward();
    adam.step();
  };
  step();
  auto t0 = std::chrono::steady_clock::now();
  for (int s = 0; s < steps; ++s) step();
  return steps / seconds_since(t0);
}

}  // namespace

int main(int argc, char** argv) {
  deepcart::ContextOptions options;
  options.threads = argc > 1 ? std::atoi(argv[1]) : 0;
  const int threads = deepcart::context_init(options);
  std::printf("LibTorch threads %d, BLAS %s\n", threads, deepcart::blas_info().library.c_str());
  std::printf("%-12s %14s %14s %14s %16s\n", "blas_threads", "gemm512 GF/s", "gemm1024 GF/s",
              "gemm2048 GF/s", "mlp steps/s");
  for (int blas : {1, 2}) {
    deepcart::blas_set_threads(blas);
    const double g512 = gemm_gflops(512, 40), g1024 = gemm_gflops(1024, 10),
                 g2048 = gemm_gflops(2048, 3), mlp = mlp_steps_per_second(200);
    std::printf("%-12d %14.1f %14.1f %14.1f %16.1f\n", blas, g512, g1024, g2048, mlp);
  }
  return 0;
}
