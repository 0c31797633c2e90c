#include "deepcart/core/context.h"

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

TEST(Context, OpenBlasIsInUseAndItsPoolIsSized) {
  // scripts/setup.sh installs libopenblas0-pthread, which Debian makes libblas.so.3.
  BlasInfo info = blas_info();
  ASSERT_FALSE(info.library.empty());
  EXPECT_TRUE(info.is_openblas) << info.library;
  EXPECT_FALSE(info.is_reference) << info.library;
  ContextOptions options;
  options.threads = 2;
  context_init(options);
  EXPECT_EQ(blas_info().threads, 1) << "OpenBLAS must not spin next to LibTorch's pool";
  options.blas_threads = 2;
  context_init(options);
  EXPECT_EQ(blas_info().threads, 2);
  context_init(ContextOptions{});
}

}  // namespace
}  // namespace deepcart
