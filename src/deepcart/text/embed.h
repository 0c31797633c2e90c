// Sentence embeddings for semantic search: a BERT sentence encoder (all-MiniLM-L6-v2, a
// sentence-transformers folder, or the fine-tuned encoder inside a `text train --model minilm`
// model) turns texts into unit-length vectors whose dot products are cosine similarities.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include "deepcart/text/text_data.h"
#include "deepcart/text/tokenizer.h"

namespace deepcart::text {

class TextNetImpl;

struct EmbedOptions {
  int64_t batch_size = 64;  // texts per forward pass (sorted by length, so little padding)
  bool quiet = true;        // false: a progress bar on a terminal and a summary line on stderr
};

class SentenceEncoder {
 public:
  // "minilm" (the installed all-MiniLM-L6-v2), a sentence-transformers BERT folder, or a text
  // ModelFile (.dcm, any file) trained with --model minilm: its own fine-tuned encoder and
  // tokenizer. The encoder runs on the context device. Errors name the source; a text model of
  // another architecture says which it is.
  static SentenceEncoder load(const std::string& source);

  // texts -> (N, dim()) float32 on the CPU, each row of unit length (mean pooling over the
  // tokens, then L2 normalisation, as sentence-transformers does). Texts longer than
  // max_length() tokens are cut from the right. Invalid UTF-8 bytes are dropped, as BERT's own
  // tokenizer does with the replacement characters Python decodes them to.
  at::Tensor embed(const std::vector<std::string>& texts, const EmbedOptions& options = {}) const;

  int64_t dim() const { return dim_; }
  int64_t max_length() const { return tokenizer_.options().max_length; }
  const std::string& source() const { return source_; }  // as given to load()
  // SHA-256 over the encoder's weights (names, shapes and bytes; a classifier's head is not
  // part of it): two sources with the same fingerprint give the same embeddings.
  const std::string& fingerprint() const { return fingerprint_; }
  const Tokenizer& tokenizer() const { return tokenizer_; }

 private:
  SentenceEncoder() = default;
  void finish_loading(int64_t max_length);

  std::shared_ptr<TextNetImpl> net_;  // shared: copies embed with the same weights
  Tokenizer tokenizer_;
  std::string source_, fingerprint_;
  int64_t dim_ = 0;
};

// Texts from a file, with an optional id per text: with `text_cols`, a CSV/TSV/JSONL read by
// read_text_set (rows with an empty text, or an empty id when `id_col` is given, are skipped and
// counted in `report`); without, a plain text file with one text per line (empty lines skipped
// and counted). Error for a CSV/TSV/JSONL without text columns, --id-col without --text-col, or
// invalid UTF-8 (naming the line).
struct TextFile {
  std::vector<std::string> texts;
  std::vector<std::string> ids;  // empty without an id column
  TextReadReport report;
  // report.summary(), where an empty label is an empty id.
  std::string summary() const;
};
TextFile read_texts(const std::string& path, const std::vector<std::string>& text_cols,
                    const std::string& id_col = "");

// `text embed`: embeds the texts of `input` (read_texts) with `encoder` and writes `out`: a .npy
// file (float32, shape (N, D), rows in input order) when it ends in .npy, else JSON Lines, one
// {"text", "embedding"} (and "id" with an id column) per text. Returns {"out", "format",
// "texts", "dim", "encoder", "seconds", "texts_per_second", "read"}.
struct EmbedFileOptions {
  std::string encoder = "minilm";
  std::string input, out;
  std::vector<std::string> text_cols;
  std::string id_col;
  EmbedOptions embed;
};
nlohmann::json embed_file(const EmbedFileOptions& options);

// Throws Error "WHERE: invalid UTF-8 at byte N" (N 0-based) unless `text` is valid UTF-8: for
// texts that end up in JSON (index files, JSON output).
void check_utf8(const std::string& text, const std::string& where);

// Writes (N, D) float32 rows as a NumPy .npy file (format 1.0, little-endian, C order).
void write_npy(const std::string& path, const at::Tensor& rows);

}  // namespace deepcart::text
