#include "deepcart/shop/doctor.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <ATen/Parallel.h>

#include "deepcart/core/context.h"
#include "deepcart/core/device.h"
#include "deepcart/core/text_out.h"
#include "deepcart/data/idx.h"
#include "deepcart/dist/nccl_backend.h"

namespace deepcart::shop {

nlohmann::json doctor_report(const std::string& version, const std::string& shared_data) {
  namespace fs = std::filesystem;
  BlasInfo blas = blas_info();
  nlohmann::json j;
  j["deepcart"] = version;
  const EngineInfo engine = engine_info();
  j["libtorch"] = engine.libtorch;
  nlohmann::json gpus = nlohmann::json::array();
  for (const auto& g : engine.gpus) {
    gpus.push_back(
        {{"index", g.index},
         {"name", g.name},
         {"memory_bytes", g.total_bytes},
         {"compute_capability", std::to_string(g.major) + "." + std::to_string(g.minor)}});
  }
  j["cuda"] = {{"built", engine.cuda_built},
               {"version", engine.cuda_version},
               {"gpus", gpus},
               {"cudnn", engine.cudnn_version},
               {"why_none", engine.gpus.empty() ? engine.gpu_error : ""}};
  j["torch_blas"] = engine.blas;
  j["sgemm"] = engine.sgemm;
  j["openmp"] = {
      {"runtime", engine.openmp},
      {"OMP_WAIT_POLICY", std::getenv("OMP_WAIT_POLICY") ? std::getenv("OMP_WAIT_POLICY") : ""},
      {"GOMP_SPINCOUNT", std::getenv("GOMP_SPINCOUNT") ? std::getenv("GOMP_SPINCOUNT") : ""}};
  j["build"] = engine.build;
  j["cores"] = context_cores();
  j["threads"] = at::get_num_threads();
  j["interop_threads"] = at::get_num_interop_threads();
  j["blas"] = {{"library", blas.library},
               {"openblas", blas.is_openblas},
               {"config", blas.config},
               {"threads", blas.threads},
               {"reference", blas.is_reference},
               {"OPENBLAS_NUM_THREADS",
                std::getenv("OPENBLAS_NUM_THREADS") ? std::getenv("OPENBLAS_NUM_THREADS") : ""}};
  int fmnist_files = 0;
  for (const char* f : {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                        "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"}) {
    fmnist_files += fs::exists(fs::path(data::fashion_mnist_dir()) / f);
  }
  j["fashion_mnist"] = {{"path", data::fashion_mnist_dir()}, {"present", fmnist_files == 4}};
  j["shared_data"] = {{"path", shared_data},
                      {"present", fs::exists(fs::path(shared_data) / "README.md")}};
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  nlohmann::json env = nlohmann::json::object();
  for (const char* name : {"DEEPCART_WORLD_SIZE", "DEEPCART_RANK", "DEEPCART_MASTER",
                           "DEEPCART_DIST_TIMEOUT", "DEEPCART_GLOO_HOST", "DEEPCART_GLOO_IFACE"}) {
    if (const char* value = std::getenv(name)) env[name] = value;
  }
  j["distributed"] = {
      {"backend",
       dist::nccl_built()
           ? "c10d ProcessGroupGloo over TCP (CPU workers), ProcessGroupNCCL (GPU workers)"
           : "c10d ProcessGroupGloo over TCP (CPU workers); no NCCL in this build"},
      {"nccl", dist::nccl_built()},
      {"hostname", host},
      {"environment", env}};
  return j;
}

std::string doctor_text(const nlohmann::json& r) {
  TextOut out;
  const auto& b = r["blas"];
  out.add("deepcart      %s\n", r["deepcart"].get<std::string>().c_str());
  const auto& cuda = r["cuda"];
  out.add("LibTorch      %s, %s\n", r["libtorch"].get<std::string>().c_str(),
          cuda["built"].get<bool>()
              ? ("built with CUDA " + cuda["version"].get<std::string>()).c_str()
              : "CPU only (built without CUDA)");
  if (cuda["gpus"].empty()) {
    out.add("GPUs          none: %s\n", cuda["why_none"].get<std::string>().c_str());
  } else {
    for (const auto& g : cuda["gpus"]) {
      out.add("GPU cuda:%d    %s, %.1f GiB, compute capability %s\n", g["index"].get<int>(),
              g["name"].get<std::string>().c_str(), g["memory_bytes"].get<double>() / (1 << 30),
              g["compute_capability"].get<std::string>().c_str());
    }
    const int64_t cudnn = cuda["cudnn"].get<int64_t>();
    out.add("cuDNN         %s\n", cudnn > 0 ? std::to_string(cudnn).c_str() : "not available");
  }
  out.add("matrix BLAS   %s (LibTorch's own; %s)\n", r["torch_blas"].get<std::string>().c_str(),
          r["build"].get<std::string>().c_str());
  std::string waits;
  for (const char* name : {"OMP_WAIT_POLICY", "GOMP_SPINCOUNT"}) {
    const std::string value = r["openmp"][name].get<std::string>();
    if (!value.empty()) waits += std::string(waits.empty() ? "" : " ") + name + "=" + value;
  }
  out.add("OpenMP        %s; idle workers: %s\n", r["openmp"]["runtime"].get<std::string>().c_str(),
          waits.empty() ? "libgomp's default spin" : waits.c_str());
  out.add("threads       %d LibTorch intra-op (of %d cores; --threads to change), %d inter-op\n",
          r["threads"].get<int>(), r["cores"].get<int>(), r["interop_threads"].get<int>());
  out.add("sgemm_        answered by %s\n", r["sgemm"].get<std::string>().c_str());
  out.add("libblas.so.3  %s (loaded for FAISS)\n",
          b["library"].empty() ? "not loaded" : b["library"].get<std::string>().c_str());
  if (b["openblas"].get<bool>()) {
    out.add(
        "              OpenBLAS %s; its pool: %d thread(s) (deepcart sets it; "
        "DEEPCART_BLAS_THREADS overrides)\n",
        b["config"].get<std::string>().c_str(), b["threads"].get<int>());
  }
  if (!b["OPENBLAS_NUM_THREADS"].get<std::string>().empty()) {
    out.add("              OPENBLAS_NUM_THREADS=%s in the environment\n",
            b["OPENBLAS_NUM_THREADS"].get<std::string>().c_str());
  }
  if (b["reference"].get<bool>()) {
    out.add(
        "\n  WARNING: libblas.so.3 is Debian's REFERENCE BLAS, about 30x slower than\n"
        "  OpenBLAS on this machine. FAISS's look-alike search will crawl. Fix:\n"
        "    apt-get install libopenblas0-pthread\n"
        "    update-alternatives --config libblas.so.3-x86_64-linux-gnu\n\n");
  } else if (!b["openblas"].get<bool>() && !b["library"].get<std::string>().empty()) {
    out.add("              (not OpenBLAS: deepcart cannot size its thread pool)\n");
  }
  out.add("Fashion-MNIST %s: %s\n", r["fashion_mnist"]["path"].get<std::string>().c_str(),
          r["fashion_mnist"]["present"].get<bool>()
              ? "found"
              : "MISSING (apt-get install dataset-fashion-mnist)");
  out.add("shared data   %s: %s\n", r["shared_data"]["path"].get<std::string>().c_str(),
          r["shared_data"]["present"].get<bool>()
              ? "found"
              : "not found (only tests and benchmarks need it)");
  const auto& d = r["distributed"];
  std::string env;
  for (const auto& [name, value] : d["environment"].items())
    env += " " + name + "=" + value.get<std::string>();
  out.add("distributed   %s on host %s; %s\n", d["backend"].get<std::string>().c_str(),
          d["hostname"].get<std::string>().c_str(),
          env.empty() ? "one process (`deepcart launch` sets DEEPCART_WORLD_SIZE and the rest)"
                      : ("in force:" + env).c_str());
  return out.s;
}

}  // namespace deepcart::shop
