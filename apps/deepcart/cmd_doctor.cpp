// deepcart doctor: versions, threads, the BLAS in force, and which data sets are present.
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <unistd.h>

#include "cli_common.h"
#include "deepcart/core/context.h"

namespace deepcart::cli {
namespace {

constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

nlohmann::json doctor_report() {
  namespace fs = std::filesystem;
  BlasInfo blas = blas_info();
  nlohmann::json j;
  j["deepcart"] = DEEPCART_VERSION;
  j["libtorch"] = TORCH_VERSION;
  j["cores"] = context_cores();
  j["threads"] = at::get_num_threads();
  j["interop_threads"] = at::get_num_interop_threads();
  j["blas"] = {{"library", blas.library},
               {"openblas", blas.is_openblas},
               {"config", blas.config},
               {"threads", blas.threads},
               {"reference", blas.is_reference},
               {"OPENBLAS_NUM_THREADS", std::getenv("OPENBLAS_NUM_THREADS")
                                            ? std::getenv("OPENBLAS_NUM_THREADS") : ""}};
  int fmnist_files = 0;
  for (const char* f : {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                        "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"}) {
    fmnist_files += fs::exists(fs::path(kFashionMnistDir) / f);
  }
  j["fashion_mnist"] = {{"path", kFashionMnistDir}, {"present", fmnist_files == 4}};
  const std::string shared = shared_data_dir();
  j["shared_data"] = {{"path", shared}, {"present", fs::exists(fs::path(shared) / "README.md")}};
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  nlohmann::json env = nlohmann::json::object();
  for (const char* name : {"DEEPCART_WORLD_SIZE", "DEEPCART_RANK", "DEEPCART_MASTER", "DEEPCART_DIST_TIMEOUT",
                           "DEEPCART_GLOO_HOST", "DEEPCART_GLOO_IFACE"}) {
    if (const char* value = std::getenv(name)) env[name] = value;
  }
  j["distributed"] = {{"backend", "c10d ProcessGroupGloo over TCP"}, {"hostname", host}, {"environment", env}};
  return j;
}

}  // namespace

void register_doctor(CLI::App& app) {
  auto* cmd = app.add_subcommand("doctor", "versions, threads, BLAS in use, data sets found");
  auto common = std::make_shared<Common>();
  add_common(cmd, *common);
  cmd->callback([=] {
    init_context(*common);
    nlohmann::json r = doctor_report();
    if (common->json) {
      print_json(r);
      return;
    }
    const auto& b = r["blas"];
    std::printf("deepcart      %s\n", r["deepcart"].get<std::string>().c_str());
    std::printf("LibTorch      %s\n", r["libtorch"].get<std::string>().c_str());
    std::printf("threads       %d LibTorch intra-op (of %d cores; --threads to change), %d inter-op\n",
                r["threads"].get<int>(), r["cores"].get<int>(), r["interop_threads"].get<int>());
    std::printf("BLAS          %s\n", b["library"].get<std::string>().c_str());
    if (b["openblas"].get<bool>()) {
      std::printf("              OpenBLAS %s; its pool: %d thread(s) (deepcart sets it; "
                  "DEEPCART_BLAS_THREADS overrides)\n",
                  b["config"].get<std::string>().c_str(), b["threads"].get<int>());
    }
    if (!b["OPENBLAS_NUM_THREADS"].get<std::string>().empty()) {
      std::printf("              OPENBLAS_NUM_THREADS=%s in the environment\n",
                  b["OPENBLAS_NUM_THREADS"].get<std::string>().c_str());
    }
    if (b["reference"].get<bool>()) {
      std::printf("\n  WARNING: libblas.so.3 is Debian's REFERENCE BLAS, about 30x slower than\n"
                  "  OpenBLAS on this machine. Every Linear layer will crawl. Fix:\n"
                  "    apt-get install libopenblas0-pthread\n"
                  "    update-alternatives --config libblas.so.3-x86_64-linux-gnu\n\n");
    } else if (!b["openblas"].get<bool>()) {
      std::printf("              (not OpenBLAS: deepcart cannot size its thread pool)\n");
    }
    std::printf("Fashion-MNIST %s: %s\n", r["fashion_mnist"]["path"].get<std::string>().c_str(),
                r["fashion_mnist"]["present"].get<bool>() ? "found"
                    : "MISSING (apt-get install dataset-fashion-mnist)");
    std::printf("shared data   %s: %s\n", r["shared_data"]["path"].get<std::string>().c_str(),
                r["shared_data"]["present"].get<bool>() ? "found" : "not found (only tests and benchmarks need it)");
    const auto& d = r["distributed"];
    std::string env;
    for (const auto& [name, value] : d["environment"].items()) env += " " + name + "=" + value.get<std::string>();
    std::printf("distributed   %s on host %s; %s\n", d["backend"].get<std::string>().c_str(),
                d["hostname"].get<std::string>().c_str(),
                env.empty() ? "one process (`deepcart launch` sets DEEPCART_WORLD_SIZE and the rest)"
                            : ("in force:" + env).c_str());
  });
}

}  // namespace deepcart::cli
