// The founding document's convolutional network for product photos: two blocks of
// conv 3x3 - BatchNorm - ReLU - max-pool 2, dropout, then a dense layer whose output is the
// embedding. The class and attribute layers are the heads in net.h.
#pragma once

#include <torch/nn/modules/linear.h>

#include "deepcart/core/dropout.h"
#include "deepcart/vision/backbone.h"

namespace deepcart::vision {

class CnnImpl : public BackboneImpl {
 public:
  explicit CnnImpl(const VisionOptions& options);
  at::Tensor feature_map(const at::Tensor& images) override;  // (B, 2W, rows/4, cols/4)
  at::Tensor embed_map(const at::Tensor& map) override;       // (B, hidden)
  int64_t embedding_size() const override { return hidden_; }
  void fuse_batchnorm() override;

 private:
  bool fused_ = false;
  int64_t hidden_;
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr};
  Dropout dropout_{nullptr};
  torch::nn::Linear fc_{nullptr};  // 2W * (rows/4) * (cols/4) -> hidden
};
TORCH_MODULE(Cnn);

}  // namespace deepcart::vision
