// Process-wide run settings: thread counts (LibTorch and OpenBLAS) and the seed.
// LibTorch 1.13 from Debian starts with one thread and OpenBLAS with one per core; both are set
// here, once, before any work, so that nothing oversubscribes the cores.
#pragma once

#include <cstdint>
#include <string>

namespace deepcart {

struct ContextOptions {
  int threads = 0;        // 0 = every core
  int blas_threads = -1;  // -1 = 1 when threads > 1 (see README: measured), else threads
  uint64_t seed = 42;
};

struct BlasInfo {
  std::string library;  // real path of the libblas.so.3 loaded in this process
  std::string config;   // openblas_get_config(), or empty
  int threads = -1;     // openblas_get_num_threads(), or -1 when not OpenBLAS
  bool is_reference = false;
  bool is_openblas = false;
};

// Applies options: at::set_num_threads, the OpenBLAS pool size, torch::manual_seed.
// Returns the thread count in force.
int context_init(const ContextOptions& options);

int context_threads();
// Serves large allocations from the heap instead of fresh mmap()s (once per process; called by
// context_init and Trainer::fit). See context.cpp.
void context_tune_malloc();
int context_cores();
// Idle OpenMP workers of LibTorch's libgomp spin for 300,000 rounds before they sleep, so two
// programs sharing the cores starve each other (NeuMF: 24% of its solo speed each). A spin of
// 1,000 rounds keeps solo speed and gives each of two programs on 2 cores over half of it
// (bench/RESULTS.md, "Sharing the CPU"). libgomp reads the setting when it loads, before main,
// so a program restarts itself once with it set: pass main's argv. OMP_WAIT_POLICY or
// GOMP_SPINCOUNT in the environment are left as they are; a failed restart carries on as is.
void context_settle_openmp_wait(char** argv);
uint64_t context_seed();

// Sets the OpenBLAS pool size when OpenBLAS is the BLAS in use; returns false otherwise.
bool blas_set_threads(int n);
BlasInfo blas_info();

}  // namespace deepcart
