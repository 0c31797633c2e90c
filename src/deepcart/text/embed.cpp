#include "deepcart/text/embed.h"

#include <torch/torch.h>
#include <utf8proc.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "deepcart/core/device.h"
#include "deepcart/core/error.h"
#include "deepcart/core/model_file.h"
#include "deepcart/core/progress.h"
#include "deepcart/text/classifier.h"
#include "deepcart/text/net.h"
#include "deepcart/text/pretrained.h"

namespace deepcart::text {
namespace fs = std::filesystem;
namespace {

// The tokens a sentence-transformers folder keeps per text: its sentence_bert_config.json's
// max_seq_length, else every position the network has (what sentence-transformers falls back to).
int64_t folder_max_length(const PretrainedEncoder& encoder) {
  const fs::path path = encoder.dir / "sentence_bert_config.json";
  if (!fs::exists(path)) return encoder.options.max_length;
  std::ifstream in(path);
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error(path.string() + ": not JSON (" + e.what() + ")");
  }
  const auto it = config.find("max_seq_length");
  if (it == config.end()) return encoder.options.max_length;
  if (!it->is_number_integer() || it->get<int64_t>() < 2) {
    throw Error(path.string() + ": \"max_seq_length\": expected an integer of at least 2, found " +
                it->dump());
  }
  return std::min(it->get<int64_t>(), encoder.options.max_length);
}

// SHA-256 over name, shape and bytes of every parameter outside the classification head.
std::string weights_fingerprint(TextNetImpl& net) {
  std::string digests;
  for (const auto& p : net.named_parameters(true)) {
    if (p.key().rfind("head.", 0) == 0) continue;
    const at::Tensor t = p.value().detach().to(torch::kCPU, torch::kFloat).contiguous();
    digests += p.key() + c10::str(t.sizes()) +
               sha256_hex(std::string(static_cast<const char*>(t.data_ptr()), t.nbytes()));
  }
  return sha256_hex(digests);
}

// Index of the first byte of an invalid UTF-8 sequence, or -1.
int64_t invalid_utf8_at(const std::string& s) {
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(s.data());
  const auto n = static_cast<utf8proc_ssize_t>(s.size());
  for (utf8proc_ssize_t at = 0; at < n;) {
    utf8proc_int32_t c;
    const utf8proc_ssize_t len = utf8proc_iterate(p + at, n - at, &c);
    if (len < 0) return at;
    at += len;
  }
  return -1;
}

bool is_table(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
  return ext == ".csv" || ext == ".tsv" || ext == ".jsonl" || ext == ".ndjson";
}

TextFile read_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open");
  TextFile out;
  int64_t number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (number == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);  // a BOM
    ++out.report.rows;
    check_utf8(line, path + ":" + std::to_string(number));
    if (line.find_first_not_of(" \t") == std::string::npos) {
      ++out.report.empty_text;
      if (out.report.empty_text_lines.size() < TextReadReport::kMaxLines)
        out.report.empty_text_lines.push_back(number);
      continue;
    }
    out.texts.push_back(std::move(line));
  }
  out.report.kept = static_cast<int64_t>(out.texts.size());
  return out;
}

}  // namespace

SentenceEncoder SentenceEncoder::load(const std::string& source) {
  SentenceEncoder e;
  e.source_ = source;
  if (source != "minilm" && !fs::exists(source)) {
    throw Error("--encoder: " + source +
                " does not exist (expected minilm, a sentence-transformers folder or a text "
                "model .dcm trained with --model minilm)");
  }
  if (source != "minilm" && !fs::is_directory(source)) {
    ModelFile file = model_file_read(source, "text");
    if (file.arch != "bert") {
      throw Error(source + ": a text model of architecture '" + file.arch +
                  "' has no sentence encoder: only minilm models embed (text train --model "
                  "minilm), or use --encoder minilm");
    }
    file.checked_load([&] {
      const auto o = hparams_as<TextOptions>(file.hparams, "text model");
      if (o.arch != "bert") throw Error("hyper-parameter 'arch' is '" + o.arch + "', not bert");
      auto blob = file.blobs.find("tokenizer");
      if (blob == file.blobs.end()) throw Error("no tokenizer in the model file");
      e.tokenizer_ = Tokenizer::deserialize(blob->second);
      if (!e.tokenizer_.is_wordpiece()) throw Error("the tokenizer is not a BERT WordPiece one");
      if (e.tokenizer_.vocab_size() > o.vocab || e.tokenizer_.options().max_length > o.max_length) {
        throw Error("the tokenizer (" + std::to_string(e.tokenizer_.vocab_size()) + " tokens, " +
                    std::to_string(e.tokenizer_.options().max_length) +
                    " per text) does not fit the network (" + std::to_string(o.vocab) + ", " +
                    std::to_string(o.max_length) + ")");
      }
      e.net_ = std::make_shared<TextNetImpl>(o);
      file.load_module("model/", *e.net_);
    });
  } else {
    const PretrainedEncoder pretrained = find_encoder(source);
    TextOptions o = pretrained.options;
    o.classes = 2;  // the head is not used
    e.net_ = std::make_shared<TextNetImpl>(o);
    load_encoder_weights(*e.net_, read_encoder_weights(pretrained));
    e.tokenizer_ = Tokenizer::wordpiece(pretrained.vocab, folder_max_length(pretrained));
  }
  e.net_->eval();
  e.fingerprint_ = weights_fingerprint(*e.net_);
  e.dim_ = e.net_->encoder().features();
  e.net_->to(context_device());
  return e;
}

at::Tensor SentenceEncoder::embed(const std::vector<std::string>& texts,
                                  const EmbedOptions& options) const {
  if (options.batch_size < 1) {
    throw Error("--batch-size: expected at least 1, found " + std::to_string(options.batch_size));
  }
  const auto n = static_cast<int64_t>(texts.size());
  std::vector<std::vector<int64_t>> ids(n);
  at::parallel_for(0, n, 64, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) ids[i] = tokenizer_.ids(texts[i]);
  });
  // Longest first: the slowest batch shows up in the first ETA, and each batch pads little.
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return ids[a].size() > ids[b].size(); });

  Progress progress(options.quiet);
  progress.start_task("embedding", n);
  const auto t0 = std::chrono::steady_clock::now();
  at::Tensor out = torch::empty({n, dim_});  // (N, D)
  c10::InferenceMode guard;
  for (int64_t b = 0; b < n; b += options.batch_size) {
    const int64_t e = std::min(n, b + options.batch_size);
    std::vector<std::vector<int64_t>> batch;
    for (int64_t i = b; i < e; ++i) batch.push_back(std::move(ids[order[i]]));
    const at::Tensor rows =
        torch::tensor(std::vector<int64_t>(order.begin() + b, order.begin() + e), torch::kLong);
    at::Tensor features = on_cpu(net_->features(on_device(pad_batch(batch))));  // (B, D)
    out.index_copy_(0, rows, features.to(torch::kFloat));
    progress.step(e, 0.0);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  char summary[160];
  std::snprintf(summary, sizeof summary, "embedded %lld texts in %.1f s (%.0f texts/s)",
                static_cast<long long>(n), seconds, seconds > 0 ? n / seconds : 0.0);
  progress.end_epoch(summary);
  return out;
}

void check_utf8(const std::string& text, const std::string& where) {
  if (const int64_t bad = invalid_utf8_at(text); bad >= 0)
    throw Error(where + ": invalid UTF-8 at byte " + std::to_string(bad));
}

std::string TextFile::summary() const {
  std::string s = report.summary();
  for (size_t at; (at = s.find("empty label")) != std::string::npos;) s.replace(at, 11, "empty id");
  return s;
}

TextFile read_texts(const std::string& path, const std::vector<std::string>& text_cols,
                    const std::string& id_col) {
  if (text_cols.empty()) {
    if (!id_col.empty()) throw Error("--id-col: needs --text-col (a CSV, TSV or JSONL file)");
    if (is_table(path)) {
      throw Error(path + ": a CSV, TSV or JSONL file needs --text-col (the column to read)");
    }
    return read_lines(path);
  }
  TextSet set = read_text_set(path, TextColumns{text_cols, id_col});
  TextFile out;
  out.texts = std::move(set.texts);
  out.report = set.report;
  if (!id_col.empty()) {
    out.ids.reserve(set.labels.size());
    for (int64_t label : set.labels) out.ids.push_back(set.label_names[label]);
  }
  return out;
}

void write_npy(const std::string& path, const at::Tensor& rows) {
  TORCH_CHECK(rows.dim() == 2, "write_npy: expected (N, D) rows, found ", rows.sizes());
  const at::Tensor data = rows.to(torch::kCPU, torch::kFloat).contiguous();
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" +
                       std::to_string(data.size(0)) + ", " + std::to_string(data.size(1)) + "), }";
  // Magic (6) + version (2) + length (2) + header + '\n' is a multiple of 64.
  header.append(63 - (10 + header.size()) % 64, ' ');
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  if (!out) throw Error(path + ": cannot write");
  const char prefix[8] = {'\x93', 'N', 'U', 'M', 'P', 'Y', 1, 0};
  out.write(prefix, 8);
  const uint16_t length = static_cast<uint16_t>(header.size());
  const char length_le[2] = {static_cast<char>(length & 0xff), static_cast<char>(length >> 8)};
  out.write(length_le, 2);
  out << header;
  // float32 is little-endian on every machine LibTorch runs on here (x86-64, aarch64).
  out.write(static_cast<const char*>(data.data_ptr()), static_cast<std::streamsize>(data.nbytes()));
  if (!out.flush()) throw Error(path + ": cannot write");
}

nlohmann::json embed_file(const EmbedFileOptions& o) {
  if (o.out.empty()) throw Error("--out: required");
  const TextFile input = read_texts(o.input, o.text_cols, o.id_col);
  if (input.texts.empty()) throw Error(o.input + ": no texts (" + input.summary() + ")");
  const SentenceEncoder encoder = SentenceEncoder::load(o.encoder);
  const auto t0 = std::chrono::steady_clock::now();
  const at::Tensor rows = encoder.embed(input.texts, o.embed);  // (N, D)
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const bool npy = fs::path(o.out).extension() == ".npy";
  if (npy) {
    write_npy(o.out, rows);
  } else {
    std::ofstream out(o.out, std::ios::binary);
    if (!out) throw Error(o.out + ": cannot write");
    const auto r = rows.accessor<float, 2>();
    for (size_t i = 0; i < input.texts.size(); ++i) {
      nlohmann::json line = {{"text", input.texts[i]}};
      if (!input.ids.empty()) line["id"] = input.ids[i];
      std::vector<float> v(r[i].data(), r[i].data() + rows.size(1));
      line["embedding"] = v;
      out << line.dump() << '\n';
    }
    if (!out.flush()) throw Error(o.out + ": cannot write");
  }
  return {{"out", o.out},
          {"format", npy ? "npy" : "jsonl"},
          {"texts", static_cast<int64_t>(input.texts.size())},
          {"dim", encoder.dim()},
          {"encoder", o.encoder},
          {"seconds", seconds},
          {"texts_per_second", seconds > 0 ? input.texts.size() / seconds : 0.0},
          {"read", input.summary()}};
}

}  // namespace deepcart::text
