// The founding document's convolutional network for product photos: two blocks of
// conv 3x3 - BatchNorm - ReLU - max-pool 2, dropout, then a dense layer (the embedding used for
// look-alikes) and the class layer.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <nlohmann/json.hpp>

namespace deepcart::vision {

struct CnnOptions {
  int64_t channels = 1;  // 1 grey, 3 RGB
  int64_t size = 28;     // square input side; must be divisible by 4
  int64_t classes = 10;
  int64_t width = 32;    // filters of the first block; the second has twice as many
  int64_t hidden = 128;  // embedding size
  double dropout = 0.25;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(CnnOptions, channels, size, classes, width, hidden,
                                                dropout)

class CnnImpl : public torch::nn::Module {
 public:
  explicit CnnImpl(const CnnOptions& options);
  // images (B, C, S, S) float, normalised -> logits (B, classes)
  at::Tensor forward(const at::Tensor& images);
  // images (B, C, S, S) -> embeddings (B, hidden), before the class layer
  at::Tensor embed(const at::Tensor& images);
  const CnnOptions& options() const { return options_; }
  // Folds each BatchNorm's running statistics into the convolution before it (inference
  // only: the module must be in eval mode and stay there). Outputs are unchanged up to float
  // rounding; each block saves one pass over its feature map.
  void fuse_batchnorm();

 private:
  bool fused_ = false;
  CnnOptions options_;
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  torch::nn::Linear fc_{nullptr};   // 2W * (S/4)^2 -> hidden
  torch::nn::Linear out_{nullptr};  // hidden -> classes
};
TORCH_MODULE(Cnn);

}  // namespace deepcart::vision
