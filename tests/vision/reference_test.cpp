// The image networks against PyTorch-Python for fixed weights (tests/reference/
// make_reference.py writes the reference), to 1e-5: outputs in evaluation mode (BatchNorm's
// running statistics), the same with BatchNorm folded into the convolutions, and in training
// mode (batch statistics) the outputs, every parameter's gradient and the updated statistics.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "deepcart/vision/net.h"
#include "reference_case.h"

namespace deepcart::vision {
namespace {

VisionOptions options(const std::string& arch, int64_t channels, int64_t size, int64_t classes,
                      int64_t attributes, int64_t width, int64_t depth, int64_t hidden) {
  VisionOptions o;
  o.arch = arch;
  o.channels = channels;
  o.rows = o.cols = size;
  o.classes = classes;
  o.attributes = attributes;
  o.width = width;
  o.depth = depth;
  o.hidden = hidden;
  o.dropout = 0.0;
  return o;
}

void expect_outputs(test::ReferenceCase& ref, const VisionOutput& out, const std::string& prefix,
                    const std::string& path) {
  ref.expect_output(prefix + "logits", out.logits, path);
  if (out.attribute_logits.defined())
    ref.expect_output(prefix + "attribute_logits", out.attribute_logits, path);
}

// Evaluation and training outputs in float32; the gradients in `grad_type`.
void check_vision_net(const std::string& name, const VisionOptions& o, at::ScalarType grad_type) {
  test::ReferenceCase ref(name);
  const at::Tensor& images = ref.input("images");  // (B, C, rows, cols)
  {
    torch::NoGradGuard no_grad;
    VisionNet net(o);
    ref.load_into(*net);
    net->eval();
    expect_outputs(ref, net->forward(images), "eval_", "");
    net->fuse_batchnorm();
    expect_outputs(ref, net->forward(images), "eval_", "BatchNorm folded");
    VisionNet training(o);
    ref.load_into(*training);
    expect_outputs(ref, training->forward(images), "", "");  // batch statistics
    ref.expect_buffers_after(*training);
  }
  VisionNet net(o);
  ref.load_into(*net);
  net->to(grad_type);
  VisionOutput out = net->forward(images.to(grad_type));
  expect_outputs(ref, out, "", torch::toString(grad_type));
  at::Tensor loss = ref.probe_loss("logits", out.logits);
  if (out.attribute_logits.defined())
    loss = loss + ref.probe_loss("attribute_logits", out.attribute_logits);
  loss.backward();
  ref.expect_grads(*net);
}

TEST(ReferenceVision, Cnn) {
  check_vision_net("cnn", options("cnn", 2, 8, 5, 3, 3, 1, 10), at::kFloat);  // 3 images 2x8x8
}

// The ResNets' gradients are checked in float64. In float32, oneDNN's weight gradient of a 1x1
// stride-2 convolution over channels-last input with fewer input channels than its kernel's
// block (8 on this AVX2 CPU) is wrong, or crashes, depending on the shape and the thread count
// (oneDNN issue #6035): the projection shortcuts at these small widths are such convolutions. In
// float64 ATen's own convolution runs. The default width, 32, is not affected. Rounding alone
// takes the float32 gradients of these BatchNorm stacks close to 1e-5 (9.5e-6) already.

// Small images: a full-resolution stem and three stages of two blocks, with and without
// projection shortcuts.
TEST(ReferenceVision, ResNetSmallImages) {
  check_vision_net("resnet", options("resnet", 2, 8, 4, 2, 2, 2, 0), at::kDouble);  // 3 x 2x8x8
}

// 64x64 photos: the strided stem, max-pooling and a fourth stage.
TEST(ReferenceVision, ResNetLargeImages) {
  check_vision_net("resnet_large", options("resnet", 1, 64, 3, 0, 2, 1, 0), at::kDouble);
}

}  // namespace
}  // namespace deepcart::vision
