// Tests that need a CUDA GPU (CTest label `gpu`). Each one skips, saying why, where there is
// none. bench/gpu/run.sh runs them on the GPU machine.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "deepcart/core/device.h"
#include "deepcart/core/model_file.h"
#include "deepcart/dist/gloo_group.h"
#include "deepcart/dist/launch.h"
#include "deepcart/dist/nccl_backend.h"
#include "deepcart/rec/rec_task.h"
#include "deepcart/rec/recommender.h"
#include "rec/planted_taste.h"

namespace deepcart::rec {
namespace {

class Gpu : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!torch::cuda::is_available())
      GTEST_SKIP() << "no CUDA GPU on this machine (torch::cuda::is_available() is false)";
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
  for (const std::string arch :
       {"bpr-mf", "gmf", "ncf-mlp", "neumf", "sasrec", "gru4rec", "ease"}) {
    context_set_device(resolve_device("cuda"));
    RecTrainOutput out = train(arch, d, split);
    for (const auto& [name, tensor] : out.model.tensors)
      EXPECT_TRUE(tensor.is_cpu()) << arch << " " << name;
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
    for (size_t j = 0; j < cpu_recs.size(); ++j)
      EXPECT_NEAR(cpu_recs[j].score, gpu_recs[j].score, 1e-3) << arch;
    std::printf("%s on cuda: HR@10 %.3f (cpu %.3f, pop %.3f)\n", arch.c_str(),
                gpu_metrics.at("hr@10"), cpu_metrics.at("hr@10"), pop);
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

// A data-parallel group of one GPU worker runs over NCCL (one GPU cannot hold two ranks):
// the averaged gradients, sums and broadcast come back unchanged, on the GPU, and a large
// embedding table goes the by-rows path.
TEST_F(Gpu, NcclGroupOfOneKeepsGradientsAndSums) {
  ASSERT_TRUE(dist::nccl_built()) << "this build has no NCCL (CMake found no nccl.h)";
  dist::DistConfig config;
  config.master_port = dist::free_loopback_port();
  config.device = resolve_device("cuda");
  config.timeout = std::chrono::milliseconds(30000);
  config.sparse_min_elements = 1000;
  auto group = dist::dist_join(config);
  ASSERT_EQ(group->world_size(), 1);
  const auto on = torch::TensorOptions().device(config.device);
  at::Tensor small = torch::randn({3, 4}, on).requires_grad_();
  at::Tensor table = torch::randn({500, 8}, on).requires_grad_();  // 4,000 elements: by rows
  (small.pow(2).sum() +
   table.index_select(0, torch::tensor({2, 7, 7}, on.dtype(torch::kLong))).sum())
      .backward();
  const at::Tensor small_grad = small.grad().clone(), table_grad = table.grad().clone();
  std::vector<double> scalars{1.5, -2.0};
  group->average_gradients({small, table}, scalars);
  EXPECT_TRUE(small.grad().is_cuda());
  EXPECT_TRUE(torch::allclose(small.grad(), small_grad));
  EXPECT_TRUE(torch::allclose(table.grad(), table_grad));
  EXPECT_EQ(scalars, (std::vector<double>{1.5, -2.0}));
  std::vector<double> values{3.0};
  group->sum(values);
  EXPECT_EQ(values, std::vector<double>{3.0});
  at::Tensor before = small.detach().clone();
  group->broadcast({small.detach()});
  EXPECT_TRUE(torch::equal(small.detach(), before));
  EXPECT_GT(group->bytes_reduced(), 0);
}

}  // namespace
}  // namespace deepcart::rec
