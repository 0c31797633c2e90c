// Tests that need a CUDA GPU (CTest label `gpu`). Each one skips, saying why, where there is
// none. bench/gpu/run.sh runs them on the GPU machine.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "deepcart/core/device.h"
#include "deepcart/core/model_file.h"
#include "deepcart/rec/rec_task.h"
#include "deepcart/rec/recommender.h"
#include "rec/planted_taste.h"

namespace deepcart::rec {
namespace {

class Gpu : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA GPU on this machine (torch::cuda::is_available() is false)";
    context_set_device(resolve_device("cuda"));
  }
  void TearDown() override {
    context_set_device(c10::Device(c10::DeviceType::CPU));
    context_set_precision(c10::ScalarType::Float);
  }
};

RecTrainOutput train(const std::string& arch, const RecDataset& d, const RecSplit& split) {
  return rec_train(d, split, planted_taste_config(arch, 15));
}

// Trained on the GPU, every architecture learns the planted tastes; its ModelFile holds CPU
// tensors, and the same file ranks the same on the CPU as on the GPU.
TEST_F(Gpu, RecTrainsOnTheGpuAndTheFileRanksTheSameOnTheCpu) {
  RecDataset d = planted_taste();
  RecSplit split = split_leave_one_out(d);
  context_set_device(c10::Device(c10::DeviceType::CPU));
  Recommender popularity(train("pop", d, split).model);
  const double pop = rec_evaluate_split(popularity, split, true, {10}, 0, 1).at("hr@10");
  for (const std::string arch : {"bpr-mf", "gmf", "ncf-mlp", "neumf", "sasrec", "gru4rec", "ease"}) {
    context_set_device(resolve_device("cuda"));
    RecTrainOutput out = train(arch, d, split);
    for (const auto& [name, tensor] : out.model.tensors) EXPECT_TRUE(tensor.is_cpu()) << arch << " " << name;
    Recommender on_gpu(out.model);
    const auto gpu_metrics = rec_evaluate_split(on_gpu, split, true, {10}, 0, 1);
    EXPECT_GT(gpu_metrics.at("hr@10"), pop + 0.15) << arch;
    const auto gpu_recs = on_gpu.recommend("u7", 5);
    context_set_device(c10::Device(c10::DeviceType::CPU));
    Recommender on_cpu(out.model);
    const auto cpu_metrics = rec_evaluate_split(on_cpu, split, true, {10}, 0, 1);
    EXPECT_NEAR(cpu_metrics.at("hr@10"), gpu_metrics.at("hr@10"), 0.01) << arch;
    const auto cpu_recs = on_cpu.recommend("u7", 5);
    ASSERT_EQ(cpu_recs.size(), gpu_recs.size()) << arch;
    for (size_t j = 0; j < cpu_recs.size(); ++j) EXPECT_NEAR(cpu_recs[j].score, gpu_recs[j].score, 1e-3) << arch;
    std::printf("%s on cuda: HR@10 %.3f (cpu %.3f, pop %.3f)\n", arch.c_str(), gpu_metrics.at("hr@10"),
                cpu_metrics.at("hr@10"), pop);
  }
}

// bf16 autocast on the GPU learns as well as fp32 on the same data.
TEST_F(Gpu, Bf16SasRecWithinNoiseOfFp32) {
  RecDataset d = planted_taste();
  RecSplit split = split_leave_one_out(d);
  Recommender full(train("sasrec", d, split).model);
  const double fp32 = rec_evaluate_split(full, split, true, {10}, 0, 1).at("hr@10");
  context_set_precision(c10::ScalarType::BFloat16);
  Recommender half(train("sasrec", d, split).model);
  const double bf16 = rec_evaluate_split(half, split, true, {10}, 0, 1).at("hr@10");
  EXPECT_NEAR(bf16, fp32, 0.05) << "fp32 " << fp32 << ", bf16 " << bf16;
}

}  // namespace
}  // namespace deepcart::rec
