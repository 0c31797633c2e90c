#include "deepcart/vision/cnn.h"

#include <torch/torch.h>

#include "deepcart/core/error.h"

namespace deepcart::vision {

CnnImpl::CnnImpl(const VisionOptions& o) : hidden_(o.hidden) {
  if (o.rows % 4 != 0 || o.cols % 4 != 0) {
    throw Error("cnn: image rows and columns must be divisible by 4, found " +
                std::to_string(o.rows) + "x" + std::to_string(o.cols));
  }
  using torch::nn::Conv2dOptions;
  conv1_ = register_module(
      "conv1", torch::nn::Conv2d(Conv2dOptions(o.channels, o.width, 3).padding(1).bias(false)));
  bn1_ = register_module("bn1", torch::nn::BatchNorm2d(o.width));
  conv2_ = register_module(
      "conv2", torch::nn::Conv2d(Conv2dOptions(o.width, 2 * o.width, 3).padding(1).bias(false)));
  bn2_ = register_module("bn2", torch::nn::BatchNorm2d(2 * o.width));
  dropout_ = register_module("dropout", Dropout(o.dropout));
  fc_ =
      register_module("fc", torch::nn::Linear(2 * o.width * (o.rows / 4) * (o.cols / 4), o.hidden));
}

void CnnImpl::fuse_batchnorm() {
  if (fused_) return;
  conv1_ = replace_module("conv1", fold_batchnorm(conv1_, bn1_));
  conv2_ = replace_module("conv2", fold_batchnorm(conv2_, bn2_));
  fused_ = true;
}

at::Tensor CnnImpl::feature_map(const at::Tensor& x) {
  at::Tensor h = conv1_(x);
  h = torch::max_pool2d(torch::relu(fused_ ? h : bn1_(h)), 2);  // (B, W, rows/2, cols/2)
  h = conv2_(h);
  return torch::max_pool2d(torch::relu(fused_ ? h : bn2_(h)), 2);  // (B, 2W, rows/4, cols/4)
}

at::Tensor CnnImpl::embed_map(const at::Tensor& map) {
  return torch::relu(fc_(dropout_(map.flatten(1))));  // (B, hidden)
}

}  // namespace deepcart::vision
