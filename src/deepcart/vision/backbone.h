// What every image network shares: its options (stored as the ModelFile's hparams), and the
// backbone interface the class and attribute heads sit on. A backbone turns images into a
// last convolutional feature map (what Grad-CAM explains) and that map into an embedding
// (what look-alike search compares).
#pragma once

#include <string>

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <nlohmann/json.hpp>

namespace deepcart::vision {

struct VisionOptions {
  std::string arch = "cnn";  // cnn | resnet
  int64_t channels = 1;      // 1 grey, 3 RGB
  int64_t rows = 28, cols = 28;
  int64_t classes = 10;
  int64_t attributes = 0;  // multi-label head outputs; 0 = no attribute head
  int64_t width = 32;      // cnn: filters of the first block; resnet: of the first stage
  int64_t depth = 2;       // resnet: residual blocks per stage
  int64_t hidden = 128;    // cnn: embedding size
  double dropout = 0.25;   // before the dense layers
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(VisionOptions, arch, channels, rows, cols, classes,
                                                attributes, width, depth, hidden, dropout)

class BackboneImpl : public torch::nn::Module {
 public:
  // images (B, C, rows, cols) float, normalised -> last convolutional features (B, F, h, w)
  virtual at::Tensor feature_map(const at::Tensor& images) = 0;
  // (B, F, h, w) -> (B, embedding_size())
  virtual at::Tensor embed_map(const at::Tensor& map) = 0;
  virtual int64_t embedding_size() const = 0;
  // Folds BatchNorm into the convolutions (eval mode only; outputs unchanged up to rounding).
  virtual void fuse_batchnorm() = 0;
};

// A convolution with `bn`'s running statistics folded in: conv then bn == the result, in eval.
torch::nn::Conv2d fold_batchnorm(const torch::nn::Conv2d& conv, const torch::nn::BatchNorm2d& bn);

}  // namespace deepcart::vision
