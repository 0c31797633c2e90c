// Dropout with its mask drawn on every core. On the CPU, LibTorch draws a dropout mask one
// element at a time on one thread, unless the processor is Intel's (then MKL's generator does
// it): on this AMD EPYC that was 30% of a text transformer's training step (bench/RESULTS.md).
// The distribution is dropout's: each element is kept with probability 1 - p and scaled by
// 1 / (1 - p), else zeroed. Runs are reproducible: each call takes one number from LibTorch's
// default CPU generator (torch::manual_seed) and derives every element's draw from it. On a
// GPU, LibTorch's own fused dropout runs.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

namespace deepcart {

// x unchanged when not training or p == 0; p in [0, 1].
at::Tensor parallel_dropout(const at::Tensor& x, double p, bool training);

class DropoutImpl : public torch::nn::Module {
 public:
  explicit DropoutImpl(double p = 0.5);
  at::Tensor forward(const at::Tensor& x) { return parallel_dropout(x, p_, is_training()); }
  double p() const { return p_; }

 private:
  double p_;
};
TORCH_MODULE(Dropout);

}  // namespace deepcart
