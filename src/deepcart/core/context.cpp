#include "deepcart/core/context.h"

#include <dlfcn.h>
#include <link.h>
#include <malloc.h>
#include <unistd.h>

#include <ATen/Parallel.h>
#include <torch/utils.h>

#include <climits>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <thread>

namespace deepcart {
namespace {

int g_threads = 1;
uint64_t g_seed = 42;

// OpenBLAS entry points, looked up at run time so deepcart still runs (and `doctor` can warn)
// when libblas.so.3 is some other BLAS.
using SetThreadsFn = void (*)(int);
using GetThreadsFn = int (*)();
using GetConfigFn = char* (*)();

template <typename Fn>
Fn blas_symbol(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, name));
}

int find_blas(dl_phdr_info* info, size_t, void* out) {
  std::string name = info->dlpi_name ? info->dlpi_name : "";
  if (name.find("libblas.so") != std::string::npos) {
    *static_cast<std::string*>(out) = name;
    return 1;
  }
  return 0;
}

}  // namespace

int context_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

bool blas_set_threads(int n) {
  auto set = blas_symbol<SetThreadsFn>("openblas_set_num_threads");
  if (!set) return false;
  set(n);
  return true;
}

BlasInfo blas_info() {
  BlasInfo info;
  std::string loaded;
  dl_iterate_phdr(find_blas, &loaded);
  if (!loaded.empty()) {
    char real[PATH_MAX];
    info.library = realpath(loaded.c_str(), real) ? std::string(real) : loaded;
  }
  if (auto get_config = blas_symbol<GetConfigFn>("openblas_get_config")) {
    info.is_openblas = true;
    info.config = get_config();
  }
  if (auto get_threads = blas_symbol<GetThreadsFn>("openblas_get_num_threads")) {
    info.threads = get_threads();
  }
  // Debian's reference BLAS lives in .../blas/libblas.so.3; OpenBLAS, BLIS and MKL elsewhere.
  info.is_reference =
      !info.is_openblas && info.library.find("/blas/libblas.so") != std::string::npos;
  return info;
}

int context_init(const ContextOptions& options) {
  int threads = options.threads > 0 ? options.threads : context_cores();
  if (const char* env = std::getenv("DEEPCART_THREADS"); env != nullptr && options.threads <= 0) {
    threads = std::max(
        1, std::atoi(env));  // set by `deepcart launch`: the host's cores shared by its workers
  }
  at::set_num_threads(threads);
  // OpenBLAS's pool spins after each call; next to LibTorch's OpenMP pool on the same cores
  // that cost NeuMF 2.7x here. Unless asked otherwise, GEMMs run single-threaded inside
  // LibTorch's own parallel regions (bench/RESULTS.md has the measurement).
  int blas = options.blas_threads >= 0 ? options.blas_threads : (threads > 1 ? 1 : threads);
  if (const char* env = std::getenv("DEEPCART_BLAS_THREADS")) {
    if (options.blas_threads < 0) blas = std::max(1, std::atoi(env));
  }
  blas_set_threads(std::max(1, blas));
  context_tune_malloc();
  g_threads = threads;
  g_seed = options.seed;
  torch::manual_seed(options.seed);
  return threads;
}

void context_tune_malloc() {
  // glibc serves large blocks (over 32 MB at most) with fresh mmap()s and unmaps them on free,
  // so a training step that allocates a large gradient (an embedding table's) pays a page
  // fault for every page, every step. Serving them from the heap, and not trimming it, lets
  // the next step reuse the memory. DEEPCART_DEFAULT_MALLOC=1 keeps glibc's behaviour.
  static const bool done = [] {
    if (std::getenv("DEEPCART_DEFAULT_MALLOC")) return false;
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    return true;
  }();
  (void)done;
}

int context_threads() { return g_threads; }
uint64_t context_seed() { return g_seed; }

void context_settle_openmp_wait(char** argv) {
  if (argv == nullptr || std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return;
  setenv("GOMP_SPINCOUNT", "1000", 1);
  std::cout.flush();
  std::cerr.flush();
  execv("/proc/self/exe", argv);  // returns only on failure: then run as we are
}

}  // namespace deepcart
