#include "deepcart/core/device.h"

#include <dlfcn.h>
#include <link.h>

#include <ATen/Context.h>
#include <ATen/autocast_mode.h>
#include <ATen/cuda/CUDAContext.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <cctype>
#include <cstdlib>
#include <sstream>

#include "deepcart/core/error.h"

namespace deepcart {
namespace {

c10::Device g_device(c10::DeviceType::CPU);
c10::ScalarType g_precision = c10::ScalarType::Float;

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// How many GPUs this process can use, and why none when none: a CUDA-less LibTorch, no driver,
// or a driver that sees no device.
int usable_gpus(std::string* why) {
  const auto& hooks = at::detail::getCUDAHooks();
  if (!hooks.isBuilt()) {
    if (why) *why = "this LibTorch was built without CUDA";
    return 0;
  }
  const int n = hooks.hasCUDA() ? static_cast<int>(torch::cuda::device_count()) : 0;
  if (n == 0 && why)
    *why = "no CUDA GPU is visible (no NVIDIA driver, or CUDA_VISIBLE_DEVICES hides them all)";
  return n;
}

int find_openmp(dl_phdr_info* info, size_t, void* out) {
  const std::string name = info->dlpi_name ? info->dlpi_name : "";
  for (const char* lib : {"libgomp", "libiomp", "libomp"}) {
    if (name.find(lib) != std::string::npos) {
      *static_cast<std::string*>(out) = name;
      return 1;
    }
  }
  return 0;
}

// The GPU of this worker of a `deepcart launch` run: its local rank, modulo the GPUs there are.
int worker_gpu(int gpus) {
  const char* local = std::getenv("DEEPCART_LOCAL_RANK");
  if (local == nullptr || gpus < 1) return 0;
  char* end = nullptr;
  const long rank = std::strtol(local, &end, 10);
  return end != local && *end == '\0' && rank >= 0 ? static_cast<int>(rank % gpus) : 0;
}

}  // namespace

c10::Device resolve_device(const std::string& spec) {
  const std::string s = lower(spec);
  if (s == "cpu") return c10::Device(c10::DeviceType::CPU);
  std::string why;
  if (s == "auto") {
    const int n = usable_gpus(nullptr);
    return n > 0 ? c10::Device(c10::DeviceType::CUDA, static_cast<c10::DeviceIndex>(worker_gpu(n)))
                 : c10::Device(c10::DeviceType::CPU);
  }
  int index = -1;  // "cuda": this worker's GPU
  if (s.rfind("cuda:", 0) == 0) {
    const std::string digits = s.substr(5);
    if (digits.empty() || digits.size() > 3 ||
        digits.find_first_not_of("0123456789") != std::string::npos) {
      throw Error("--device: expected auto, cpu, cuda or cuda:N (N a GPU number), found '" + spec +
                  "'");
    }
    index = std::stoi(digits);
  } else if (s != "cuda") {
    throw Error("--device: expected auto, cpu, cuda or cuda:N (N a GPU number), found '" + spec +
                "'");
  }
  const int n = usable_gpus(&why);
  if (n == 0)
    throw Error("--device " + spec + ": " + why +
                "; use --device cpu, or auto to take a GPU only when there is one");
  if (index < 0) index = worker_gpu(n);
  if (index >= n) {
    throw Error("--device " + spec + ": this machine has " + std::to_string(n) + " GPU" +
                (n == 1 ? "" : "s") + " (cuda:0" +
                (n > 1 ? " to cuda:" + std::to_string(n - 1) : std::string()) + ")");
  }
  return c10::Device(c10::DeviceType::CUDA, static_cast<c10::DeviceIndex>(index));
}

void context_set_device(c10::Device device) { g_device = device; }
c10::Device context_device() { return g_device; }
at::Tensor on_device(const at::Tensor& t) { return t.device() == g_device ? t : t.to(g_device); }
at::Tensor on_cpu(const at::Tensor& t) {
  return t.is_cpu() ? t : t.to(c10::Device(c10::DeviceType::CPU));
}

c10::ScalarType resolve_precision(const std::string& spec) {
  const std::string s = lower(spec);
  if (s == "fp32" || s == "float32") return c10::ScalarType::Float;
  if (s == "bf16" || s == "bfloat16") return c10::ScalarType::BFloat16;
  throw Error("--precision: expected fp32 or bf16, found '" + spec + "'");
}

void context_set_precision(c10::ScalarType precision) { g_precision = precision; }
c10::ScalarType context_precision() { return g_precision; }
std::string precision_name(c10::ScalarType precision) {
  return precision == c10::ScalarType::BFloat16 ? "bf16" : "fp32";
}

AutocastScope::AutocastScope() {
  if (g_precision == c10::ScalarType::Float) return;
  type_ = g_device.type();
  was_enabled_ = at::autocast::is_autocast_enabled(type_);
  was_dtype_ = at::autocast::get_autocast_dtype(type_);
  at::autocast::set_autocast_dtype(type_, g_precision);
  at::autocast::set_autocast_enabled(type_, true);
  active_ = true;
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  at::autocast::set_autocast_enabled(type_, was_enabled_);
  at::autocast::set_autocast_dtype(type_, was_dtype_);
  if (!was_enabled_) at::autocast::clear_cache();
}

EngineInfo engine_info() {
  EngineInfo info;
  info.libtorch = TORCH_VERSION;
  info.cuda_built = at::detail::getCUDAHooks().isBuilt();
  const std::string config = at::show_config();
  auto setting = [&](const std::string& key) {
    const auto at = config.find(key + "=");
    if (at == std::string::npos) return std::string();
    const auto start = at + key.size() + 1;
    return config.substr(start, config.find_first_of(", \n", start) - start);
  };
  info.cuda_version = setting("CUDA_VERSION");
  const std::string blas = lower(setting("BLAS_INFO"));
  info.blas = blas == "mkl" ? "MKL" : blas == "open" || blas == "openblas" ? "OpenBLAS" : blas;
  dl_iterate_phdr(find_openmp, &info.openmp);
  Dl_info where{};
  if (void* f = dlsym(RTLD_DEFAULT, "sgemm_");
      f != nullptr && dladdr(f, &where) != 0 && where.dli_fname) {
    info.sgemm = where.dli_fname;
  }
  const int n = usable_gpus(&info.gpu_error);
  for (int i = 0; i < n; ++i) {
    const cudaDeviceProp* p = at::cuda::getDeviceProperties(i);
    info.gpus.push_back({i, p->name, static_cast<int64_t>(p->totalGlobalMem), p->major, p->minor});
  }
  if (n > 0 && at::detail::getCUDAHooks().hasCuDNN())
    info.cudnn_version = at::detail::getCUDAHooks().versionCuDNN();
  std::istringstream lines(config);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("Math Kernel") != std::string::npos || line.find("OpenMP") != std::string::npos ||
        line.find("CPU capability") != std::string::npos) {
      const auto first = line.find_first_not_of(" -");
      info.build +=
          (info.build.empty() ? "" : "; ") + line.substr(first == std::string::npos ? 0 : first);
    }
  }
  return info;
}

}  // namespace deepcart
