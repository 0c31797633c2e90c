#include "deepcart/vision/cnn.h"

#include <torch/torch.h>

#include "deepcart/core/error.h"

namespace deepcart::vision {

CnnImpl::CnnImpl(const CnnOptions& o) : options_(o) {
  if (o.size % 4 != 0) throw Error("cnn: image size must be divisible by 4, found " + std::to_string(o.size));
  using torch::nn::Conv2dOptions;
  conv1_ = register_module("conv1", torch::nn::Conv2d(Conv2dOptions(o.channels, o.width, 3).padding(1).bias(false)));
  bn1_ = register_module("bn1", torch::nn::BatchNorm2d(o.width));
  conv2_ = register_module("conv2", torch::nn::Conv2d(Conv2dOptions(o.width, 2 * o.width, 3).padding(1).bias(false)));
  bn2_ = register_module("bn2", torch::nn::BatchNorm2d(2 * o.width));
  dropout_ = register_module("dropout", torch::nn::Dropout(o.dropout));
  const int64_t side = o.size / 4;
  fc_ = register_module("fc", torch::nn::Linear(2 * o.width * side * side, o.hidden));
  out_ = register_module("out", torch::nn::Linear(o.hidden, o.classes));
}

void CnnImpl::fuse_batchnorm() {
  if (fused_) return;
  TORCH_CHECK(!is_training(), "fuse_batchnorm: the model must be in eval mode");
  torch::NoGradGuard no_grad;
  auto fold = [this](const std::string& name, torch::nn::Conv2d& conv, torch::nn::BatchNorm2d& bn) {
    at::Tensor scale = bn->weight / torch::sqrt(bn->running_var + bn->options.eps());  // (C)
    torch::nn::Conv2d fused(torch::nn::Conv2dOptions(conv->options.in_channels(),
                                                     conv->options.out_channels(),
                                                     conv->options.kernel_size())
                                .padding(conv->options.padding())
                                .bias(true));
    fused->weight.copy_(conv->weight * scale.reshape({-1, 1, 1, 1}));
    fused->bias.copy_(bn->bias - bn->running_mean * scale);
    fused->eval();
    conv = replace_module(name, fused);
  };
  fold("conv1", conv1_, bn1_);
  fold("conv2", conv2_, bn2_);
  fused_ = true;
}

at::Tensor CnnImpl::embed(const at::Tensor& x) {
  if (fused_) {
    at::Tensor h = torch::max_pool2d(torch::relu(conv1_(x)), 2);
    h = torch::max_pool2d(torch::relu(conv2_(h)), 2);
    return torch::relu(fc_(dropout_(h.flatten(1))));
  }
  at::Tensor h = torch::max_pool2d(torch::relu(bn1_(conv1_(x))), 2);  // (B, W, S/2, S/2)
  h = torch::max_pool2d(torch::relu(bn2_(conv2_(h))), 2);             // (B, 2W, S/4, S/4)
  return torch::relu(fc_(dropout_(h.flatten(1))));                     // (B, hidden)
}

at::Tensor CnnImpl::forward(const at::Tensor& x) {
  return out_(dropout_(embed(x)));  // (B, classes)
}

}  // namespace deepcart::vision
