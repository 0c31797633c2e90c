#include "deepcart/dist/nccl_backend.h"

#ifdef DEEPCART_HAVE_NCCL
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include "deepcart/core/error.h"

namespace deepcart::dist {

#ifdef DEEPCART_HAVE_NCCL

bool nccl_built() { return true; }

c10::intrusive_ptr<c10d::Backend> make_nccl_backend(const c10::intrusive_ptr<c10d::Store>& store,
                                                    int rank, int world,
                                                    std::chrono::milliseconds timeout,
                                                    c10::Device device) {
  if (!device.is_cuda()) throw Error("NCCL carries CUDA tensors only, not " + device.str());
  c10::cuda::set_device(device.index());
  auto options = c10d::ProcessGroupNCCL::Options::create();
  options->timeout = timeout;
  return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, world, options);
}

#else

bool nccl_built() { return false; }

c10::intrusive_ptr<c10d::Backend> make_nccl_backend(const c10::intrusive_ptr<c10d::Store>&, int,
                                                    int, std::chrono::milliseconds, c10::Device) {
  require_nccl();
  return {};
}

#endif

void require_nccl() {
  if (nccl_built()) return;
  throw Error(
      "this deepcart was built without NCCL (CMake found no nccl.h), so data-parallel workers "
      "cannot train on GPUs; use --device cpu with `deepcart launch`");
}

}  // namespace deepcart::dist
