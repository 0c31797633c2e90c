// A residual network (He et al. 2016, basic blocks) with width and depth options. Small
// inputs (both sides under 64, e.g. 28x28) keep full resolution in a 3x3 stem and use three
// stages of W, 2W, 4W filters; larger photos get a strided stem with max-pooling and a fourth
// stage of 8W. The embedding is the globally averaged last stage.
#pragma once

#include <vector>

#include "deepcart/vision/backbone.h"

namespace deepcart::vision {

class ResidualBlockImpl : public torch::nn::Module {
 public:
  ResidualBlockImpl(int64_t in, int64_t out, int64_t stride);
  at::Tensor forward(const at::Tensor& x);
  void fuse_batchnorm();

 private:
  bool fused_ = false;
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, shortcut_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr}, shortcut_bn_{nullptr};
};
TORCH_MODULE(ResidualBlock);

class ResNetImpl : public BackboneImpl {
 public:
  explicit ResNetImpl(const VisionOptions& options);
  at::Tensor feature_map(const at::Tensor& images) override;
  at::Tensor embed_map(const at::Tensor& map) override;
  int64_t embedding_size() const override { return features_; }
  void fuse_batchnorm() override;

 private:
  bool fused_ = false, large_;
  int64_t features_;
  torch::nn::Conv2d stem_{nullptr};
  torch::nn::BatchNorm2d stem_bn_{nullptr};
  std::vector<ResidualBlock> blocks_;
};
TORCH_MODULE(ResNet);

}  // namespace deepcart::vision
