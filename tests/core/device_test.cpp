// --device and --precision: parsing, the CPU paths, and autocast. The GPU paths are in
// tests/gpu/ (label `gpu`).
#include "deepcart/core/device.h"

#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "deepcart/core/trainer.h"
#include "error_of.h"

namespace deepcart {
namespace {

using test::error_of;

class DeviceTest : public ::testing::Test {
 protected:
  void TearDown() override {
    context_set_device(c10::Device(c10::DeviceType::CPU));
    context_set_precision(c10::ScalarType::Float);
  }
};

TEST_F(DeviceTest, ParsesEveryForm) {
  EXPECT_EQ(resolve_device("cpu"), c10::Device(c10::DeviceType::CPU));
  EXPECT_EQ(resolve_device("CPU"), c10::Device(c10::DeviceType::CPU));
  const bool gpu = torch::cuda::is_available();
  EXPECT_EQ(resolve_device("auto").type(), gpu ? c10::DeviceType::CUDA : c10::DeviceType::CPU);
  for (const char* bad : {"gpu", "cuda:", "cuda:x", "cuda:-1", "cuda:1234", "", "cpu:0"}) {
    EXPECT_EQ(
        error_of([&] { resolve_device(bad); }),
        std::string("--device: expected auto, cpu, cuda or cuda:N (N a GPU number), found '") +
            bad + "'");
  }
  if (!gpu) {
    EXPECT_EQ(error_of([] { resolve_device("cuda"); }),
              "--device cuda: no CUDA GPU is visible (no NVIDIA driver, or CUDA_VISIBLE_DEVICES "
              "hides them all); "
              "use --device cpu, or auto to take a GPU only when there is one");
    EXPECT_NE(
        error_of([] { resolve_device("cuda:3"); }).find("--device cuda:3: no CUDA GPU is visible"),
        std::string::npos);
  } else {
    const int n = static_cast<int>(torch::cuda::device_count());
    EXPECT_EQ(resolve_device("cuda:" + std::to_string(n - 1)),
              c10::Device(c10::DeviceType::CUDA, n - 1));
    EXPECT_NE(
        error_of([&] { resolve_device("cuda:" + std::to_string(n)); }).find("this machine has"),
        std::string::npos);
  }
  EXPECT_EQ(resolve_precision("fp32"), c10::ScalarType::Float);
  EXPECT_EQ(resolve_precision("BF16"), c10::ScalarType::BFloat16);
  EXPECT_EQ(error_of([] { resolve_precision("fp16"); }),
            "--precision: expected fp32 or bf16, found 'fp16'");
}

TEST_F(DeviceTest, OnTheCpuMovesNothing) {
  at::Tensor t = torch::arange(6);
  EXPECT_TRUE(on_device(t).is_same(t));
  EXPECT_TRUE(on_cpu(t).is_same(t));
}

TEST_F(DeviceTest, AutocastScopeFollowsThePrecision) {
  at::Tensor a = torch::randn({4, 8}), b = torch::randn({8, 3});
  {
    AutocastScope fp32;  // the default precision: no autocast
    EXPECT_EQ(torch::mm(a, b).scalar_type(), torch::kFloat);
  }
  context_set_precision(c10::ScalarType::BFloat16);
  {
    AutocastScope bf16;
    at::Tensor c = torch::mm(a, b);
    EXPECT_EQ(c.scalar_type(), torch::kBFloat16);
    EXPECT_TRUE(torch::allclose(c.to(torch::kFloat),
                                torch::mm(a, b).to(torch::kFloat)));  // same op, same dtype
    EXPECT_LT((c.to(torch::kFloat) -
               torch::mm(a.to(torch::kDouble), b.to(torch::kDouble)).to(torch::kFloat))
                  .abs()
                  .max()
                  .item<float>(),
              0.1f);
  }
  EXPECT_FALSE(at::autocast::is_autocast_enabled(c10::DeviceType::CPU));
  EXPECT_EQ(torch::mm(a, b).scalar_type(), torch::kFloat);
}

// A linear regression trained in bf16 autocast reaches the fp32 loss within bf16's precision.
class LinearTask : public TrainTask {
 public:
  LinearTask() {
    torch::manual_seed(3);
    net_ = torch::nn::Linear(8, 1);
    x_ = torch::randn({512, 8});
    y_ = x_.matmul(torch::linspace(-1, 1, 8)).unsqueeze(1);
  }
  torch::nn::Module& module() override { return *net_; }
  int64_t train_size() const override { return 512; }
  at::Tensor loss(const at::Tensor& idx, std::mt19937_64&) override {
    at::Tensor out = net_->forward(on_device(x_.index_select(0, idx)));
    dtypes.insert(out.scalar_type());
    return torch::mse_loss(out.to(torch::kFloat), on_device(y_.index_select(0, idx)));
  }
  std::map<std::string, double> validate() override {
    return {{"mse", torch::mse_loss(net_->forward(on_device(x_)).to(torch::kFloat), on_device(y_))
                        .item<double>()}};
  }
  torch::nn::Linear net_{nullptr};
  at::Tensor x_, y_;
  std::set<c10::ScalarType> dtypes;
};

TEST_F(DeviceTest, Bf16TrainingMatchesFp32) {
  TrainOptions o;
  o.epochs = 30;
  o.batch_size = 64;
  o.lr = 0.05;
  o.quiet = true;
  LinearTask fp32;
  const double fp32_mse = Trainer(o).fit(fp32, ModelFile{}).history.back()["val_mse"].get<double>();
  context_set_precision(c10::ScalarType::BFloat16);
  LinearTask bf16;
  const double bf16_mse = Trainer(o).fit(bf16, ModelFile{}).history.back()["val_mse"].get<double>();
  EXPECT_EQ(fp32.dtypes, std::set<c10::ScalarType>{torch::kFloat});
  EXPECT_EQ(bf16.dtypes, std::set<c10::ScalarType>{torch::kBFloat16});
  EXPECT_LT(fp32_mse, 1e-3);
  EXPECT_LT(bf16_mse, 1e-2);                                  // bf16 keeps 8 bits of mantissa
  EXPECT_EQ(bf16.net_->weight.scalar_type(), torch::kFloat);  // the weights stay fp32
}

}  // namespace
}  // namespace deepcart
