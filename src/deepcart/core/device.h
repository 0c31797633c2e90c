// Where the work runs: `--device auto|cpu|cuda|cuda:N` and `--precision fp32|bf16`.
//
// One process-wide device, chosen once by the command (context_set_device) and read by the
// Trainer, the evaluators, the predictors and the server's batchers. Tensors kept between calls
// (a model's weights, an evaluation's candidate table) live on it; data sets stay on the CPU and
// each batch moves over when it is used. ModelFiles always hold CPU tensors, so a model trained
// on a GPU loads on a machine without one, and the reverse.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <string>
#include <vector>

namespace deepcart {

// Parses and checks a --device value: "auto" (the first GPU when one is visible, else the CPU),
// "cpu", "cuda" (GPU 0) or "cuda:N". Asking for a GPU that is not there is an Error naming
// what is there, never a crash. Under `deepcart launch` (DEEPCART_LOCAL_RANK set), "auto" and
// "cuda" give each worker of a host its own GPU: local rank i takes GPU i mod the GPU count.
c10::Device resolve_device(const std::string& spec);

void context_set_device(c10::Device device);
c10::Device context_device();  // the CPU until a command sets another
// A batch built on the CPU, moved to the context device (the tensor itself when that is the CPU).
at::Tensor on_device(const at::Tensor& t);
// A result read back on the CPU (the tensor itself when it is there).
at::Tensor on_cpu(const at::Tensor& t);

// --precision: "fp32" (default) or "bf16" (autocast: matrix products and convolutions in
// bfloat16, reductions and the loss in float32). Error on anything else.
c10::ScalarType resolve_precision(const std::string& spec);
void context_set_precision(c10::ScalarType precision);
c10::ScalarType context_precision();  // kFloat unless set
std::string precision_name(c10::ScalarType precision);

// Turns autocast on for the context device while alive, when the context precision is not fp32.
class AutocastScope {
 public:
  AutocastScope();
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false;
  bool was_enabled_ = false;
  c10::DeviceType type_ = c10::DeviceType::CPU;
  c10::ScalarType was_dtype_ = c10::ScalarType::Float;
};

struct GpuInfo {
  int index = 0;
  std::string name;
  int64_t total_bytes = 0;
  int major = 0, minor = 0;  // compute capability
};

struct EngineInfo {
  std::string libtorch;  // e.g. "2.11.0"
  bool cuda_built = false;
  std::string cuda_version;   // the CUDA LibTorch was built against, or ""
  int64_t cudnn_version = 0;  // 0 when cuDNN is absent or no GPU is usable
  std::vector<GpuInfo> gpus;
  std::string gpu_error;  // why no GPU is usable, when none is
  std::string blas;       // the BLAS behind LibTorch's matrix products ("MKL", "OpenBLAS", ...)
  std::string openmp;     // the OpenMP runtime in this process (path of libgomp/libiomp)
  std::string
      sgemm;  // the library whose `sgemm_` answers this process's calls (MKL's: libtorch_cpu)
  std::string build;  // at::show_config(), trimmed to the lines that matter
};
EngineInfo engine_info();

}  // namespace deepcart
