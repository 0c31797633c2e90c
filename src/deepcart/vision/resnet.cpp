#include "deepcart/vision/resnet.h"

#include <torch/torch.h>

#include "deepcart/core/error.h"

namespace deepcart::vision {
namespace {

torch::nn::Conv2d conv3x3(int64_t in, int64_t out, int64_t stride) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false));
}

}  // namespace

ResidualBlockImpl::ResidualBlockImpl(int64_t in, int64_t out, int64_t stride) {
  conv1_ = register_module("conv1", conv3x3(in, out, stride));
  bn1_ = register_module("bn1", torch::nn::BatchNorm2d(out));
  conv2_ = register_module("conv2", conv3x3(out, out, 1));
  bn2_ = register_module("bn2", torch::nn::BatchNorm2d(out));
  if (stride != 1 || in != out) {
    shortcut_ = register_module(
        "shortcut",
        torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1).stride(stride).bias(false)));
    shortcut_bn_ = register_module("shortcut_bn", torch::nn::BatchNorm2d(out));
  }
  // Zero-initialised last BatchNorm scale: each block starts as the identity, which trains
  // deeper stacks faster (Goyal et al. 2017).
  torch::NoGradGuard no_grad;
  bn2_->weight.zero_();
}

void ResidualBlockImpl::fuse_batchnorm() {
  if (fused_) return;
  conv1_ = replace_module("conv1", fold_batchnorm(conv1_, bn1_));
  conv2_ = replace_module("conv2", fold_batchnorm(conv2_, bn2_));
  if (shortcut_) shortcut_ = replace_module("shortcut", fold_batchnorm(shortcut_, shortcut_bn_));
  fused_ = true;
}

at::Tensor ResidualBlockImpl::forward(const at::Tensor& x) {
  at::Tensor h = conv1_(x);
  h = torch::relu(fused_ ? h : bn1_(h));
  h = conv2_(h);
  if (!fused_) h = bn2_(h);
  at::Tensor skip = x;
  if (shortcut_) {
    skip = shortcut_(x);
    if (!fused_) skip = shortcut_bn_(skip);
  }
  return torch::relu(h + skip);
}

ResNetImpl::ResNetImpl(const VisionOptions& o) : large_(std::min(o.rows, o.cols) >= 64) {
  if (o.width < 1 || o.depth < 1) {
    throw Error("resnet: width and depth must be at least 1, found width " +
                std::to_string(o.width) + ", depth " + std::to_string(o.depth));
  }
  stem_ = register_module("stem", conv3x3(o.channels, o.width, large_ ? 2 : 1));
  stem_bn_ = register_module("stem_bn", torch::nn::BatchNorm2d(o.width));
  const int stages = large_ ? 4 : 3;
  int64_t in = o.width;
  for (int s = 0; s < stages; ++s) {
    const int64_t out = o.width << s;
    for (int64_t b = 0; b < o.depth; ++b) {
      const int64_t stride = (s > 0 && b == 0) ? 2 : 1;
      blocks_.push_back(register_module("block" + std::to_string(s) + "_" + std::to_string(b),
                                        ResidualBlock(in, out, stride)));
      in = out;
    }
  }
  features_ = in;
}

void ResNetImpl::fuse_batchnorm() {
  if (fused_) return;
  stem_ = replace_module("stem", fold_batchnorm(stem_, stem_bn_));
  for (auto& block : blocks_) block->fuse_batchnorm();
  fused_ = true;
}

at::Tensor ResNetImpl::feature_map(const at::Tensor& x) {
  at::Tensor h = stem_(x);
  h = torch::relu(fused_ ? h : stem_bn_(h));
  if (large_) h = torch::max_pool2d(h, 3, 2, 1);
  for (auto& block : blocks_) h = block->forward(h);
  return h;  // (B, features, h, w)
}

at::Tensor ResNetImpl::embed_map(const at::Tensor& map) {
  return map.mean({2, 3});  // (B, features)
}

}  // namespace deepcart::vision
