// An image network: a backbone (cnn or resnet) with a class head (softmax over categories)
// and an optional multi-label attribute head (one sigmoid per attribute).
#pragma once

#include <memory>

#include <torch/nn/modules/linear.h>

#include "deepcart/core/dropout.h"
#include "deepcart/vision/backbone.h"

namespace deepcart::vision {

struct VisionOutput {
  at::Tensor logits;            // (B, classes)
  at::Tensor attribute_logits;  // (B, attributes); undefined without an attribute head
};

class VisionNetImpl : public torch::nn::Module {
 public:
  explicit VisionNetImpl(const VisionOptions& options);
  VisionOutput forward(const at::Tensor& images) { return heads(feature_map(images)); }
  at::Tensor feature_map(const at::Tensor& images) { return backbone_->feature_map(images); }
  VisionOutput heads(const at::Tensor& map);
  at::Tensor embed(const at::Tensor& images) { return backbone_->embed_map(feature_map(images)); }
  void fuse_batchnorm();
  const VisionOptions& options() const { return options_; }

 private:
  void use_channels_last();
  VisionOptions options_;
  std::shared_ptr<BackboneImpl> backbone_;
  Dropout dropout_{nullptr};
  torch::nn::Linear classifier_{nullptr}, attributes_{nullptr};
};
TORCH_MODULE(VisionNet);

}  // namespace deepcart::vision
