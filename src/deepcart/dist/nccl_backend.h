// c10d's ProcessGroupNCCL, for data-parallel workers whose tensors live on a GPU. It is inside
// the wheel's libtorch_cuda; its header needs nccl.h, so this part is built only where CMake
// finds one (DEEPCART_HAVE_NCCL). Without it, asking for NCCL is a clear Error.
#pragma once

#include <chrono>

#include <c10/core/Device.h>
#include <torch/csrc/distributed/c10d/Backend.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>

namespace deepcart::dist {

// True when this build can run GPU workers over NCCL.
bool nccl_built();
// Throws the Error that says GPU workers need a build with NCCL, unless this one has it.
void require_nccl();

// A NCCL group of `world` ranks on `device` (a CUDA device, made current here), meeting through
// `store`; every collective is bounded by `timeout`.
c10::intrusive_ptr<c10d::Backend> make_nccl_backend(const c10::intrusive_ptr<c10d::Store>& store,
                                                    int rank, int world,
                                                    std::chrono::milliseconds timeout,
                                                    c10::Device device);

}  // namespace deepcart::dist
