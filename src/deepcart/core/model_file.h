// ModelFile: one file per trained model or checkpoint (.dcm); the byte layout and its checks
// are in model_file_format.h. Writing is atomic (temp file, fsync, rename, fsync of the folder)
// and removes temporary files that a killed writer left behind. Reading verifies magic, version,
// size and checksum, then every entry's bounds, before it allocates anything.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include "deepcart/core/model_file_format.h"

namespace torch::nn {
class Module;
}

namespace deepcart {

// Checks stored hyper-parameters against a model's defaults before they are converted: no
// unknown keys, each value of the default's kind (integer, number, string, bool, array), and
// integers within +-2^31. Throws Error "WHERE: hyper-parameter 'dim': ...".
void check_hparams(const nlohmann::json& stored, const nlohmann::json& defaults,
                   const std::string& where);

// The stored hyper-parameters as Options, checked by check_hparams against Options{} first:
// what every loader does before it builds its network.
template <class Options>
Options hparams_as(const nlohmann::json& stored, const std::string& where) {
  check_hparams(stored, nlohmann::json(Options{}), where);
  return stored.get<Options>();
}

struct ModelFile {
  // A new model's file, as every trainer starts it: its task, architecture, the
  // hyper-parameters that rebuild it and its metadata; tensors and metrics come later.
  static ModelFile create(std::string task, std::string arch, nlohmann::json hparams,
                          nlohmann::json meta);

  std::string task;  // "rec", "vision", "text"
  std::string arch;  // "mlp", "sasrec", ...
  bool checkpoint = false;
  nlohmann::json hparams = nlohmann::json::object();  // what rebuilds the model
  nlohmann::json meta = nlohmann::json::object();     // id maps, label names, normalisation
  nlohmann::json metrics = nlohmann::json::object();  // from training and evaluation
  nlohmann::json state = nlohmann::json::object();    // trainer state, checkpoints only
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  std::map<std::string, std::string> blobs;  // opaque bytes: optimizer state, tokenizer model

  // Adds every parameter and buffer of `module` as "<prefix><name>".
  void add_module(const std::string& prefix, const torch::nn::Module& module);
  // Copies "<prefix><name>" tensors into `module`, checking that names and shapes match.
  void load_module(const std::string& prefix, torch::nn::Module& module) const;
  const at::Tensor& tensor(const std::string& name) const;
  bool has_tensor(const std::string& name) const;
  // The stored tensor, checked: its type and sizes (-1 = any) must be as given.
  const at::Tensor& tensor(const std::string& name, at::ScalarType type,
                           std::vector<int64_t> sizes) const;
  int64_t tensor_bytes() const;  // all tensors together

  // Runs `load`, which interprets this file (builds its network from the hyper-parameters,
  // loads tensors, reads the metadata), so that a crafted file can neither make it allocate
  // more than the file's contents justify (2x its tensors and blobs + 64 MB) nor end it with
  // anything but an Error that names the file. Exceptions from LibTorch and JSON become such
  // Errors.
  void checked_load(const std::function<void()>& load) const;

  // Throws Error "SOURCE: is a 'TASK' model (ARCH): expected a 'task' model" for another task.
  void expect_task(const std::string& task) const;

  std::string source;  // the path it was read from, for messages
};

void model_file_write(const ModelFile& file, const std::string& path);
// Reads and verifies a ModelFile. With expected_task set, a model of another task is an error.
ModelFile model_file_read(const std::string& path, const std::string& expected_task = "");

}  // namespace deepcart
