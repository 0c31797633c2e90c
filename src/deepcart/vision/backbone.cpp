#include "deepcart/vision/backbone.h"

#include <torch/torch.h>

namespace deepcart::vision {

torch::nn::Conv2d fold_batchnorm(const torch::nn::Conv2d& conv, const torch::nn::BatchNorm2d& bn) {
  TORCH_CHECK(!bn->is_training(), "fold_batchnorm: BatchNorm must be in eval mode");
  torch::NoGradGuard no_grad;
  at::Tensor scale = bn->weight / torch::sqrt(bn->running_var + bn->options.eps());  // (C)
  const auto& o = conv->options;
  torch::nn::Conv2d fused(
      torch::nn::Conv2dOptions(o.in_channels(), o.out_channels(), o.kernel_size())
          .stride(o.stride())
          .padding(o.padding())
          .bias(true));
  fused->weight.copy_(conv->weight * scale.reshape({-1, 1, 1, 1}));
  at::Tensor bias = conv->bias.defined() ? conv->bias : torch::zeros_like(bn->bias);
  fused->bias.copy_(bn->bias + (bias - bn->running_mean) * scale);
  fused->eval();
  return fused;
}

}  // namespace deepcart::vision
