#include "deepcart/core/context.h"
#include "deepcart/core/device.h"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>

namespace deepcart {
namespace {

TEST(Context, ThreadsDefaultToEveryCore) {
  ContextOptions options;
  EXPECT_EQ(context_init(options), context_cores());
  EXPECT_EQ(at::get_num_threads(), context_cores());
  options.threads = 1;
  EXPECT_EQ(context_init(options), 1);
  EXPECT_EQ(at::get_num_threads(), 1);
  context_init(ContextOptions{});
}

TEST(Context, LibTorchMultipliesWithItsOwnMklInOneOpenMpRuntime) {
  // The wheel's LibTorch does its matrix products with MKL, threaded by the libgomp it ships;
  // libblas.so.3 (OpenBLAS) is only FAISS's, and the core does not load it.
  const EngineInfo engine = engine_info();
  EXPECT_EQ(engine.blas, "MKL");
  EXPECT_NE(engine.openmp.find("torch/lib/libgomp.so.1"), std::string::npos) << engine.openmp;
  EXPECT_NE(engine.build.find("Math Kernel Library"), std::string::npos) << engine.build;
  EXPECT_EQ(blas_info().library, "");
  EXPECT_FALSE(blas_set_threads(1)) << "no OpenBLAS in this process to size";
}

}  // namespace
}  // namespace deepcart
