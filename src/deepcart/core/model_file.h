// ModelFile: one file per trained model or checkpoint (.dcm). Layout:
//   "DEEPCART" | u32 format version | u64 payload size | payload | SHA-256(all before it)
// payload = u64 header size | header JSON | tensor and blob bytes, located by the header.
// Writing is atomic (temp file, fsync, rename, fsync of the folder); reading verifies magic,
// version, size and checksum before it trusts a single byte.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

namespace torch::nn {
class Module;
}

namespace deepcart {

inline constexpr uint32_t kModelFileVersion = 1;

struct ModelFile {
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

  std::string source;  // the path it was read from, for messages
};

void model_file_write(const ModelFile& file, const std::string& path);
// Reads and verifies a ModelFile. With expected_task set, a model of another task is an error.
ModelFile model_file_read(const std::string& path, const std::string& expected_task = "");

// Lower-case hex SHA-256 of `bytes`.
std::string sha256_hex(const std::string& bytes);

}  // namespace deepcart
