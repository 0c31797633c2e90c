// Semantic search over texts (answer templates, product titles, FAQ entries): every text's
// sentence embedding in a VectorIndex, searched by cosine similarity with embedded questions.
// Saved as a ModelFile of task "text-index" holding the embeddings, texts and ids, and the
// encoder by reference: its source ("minilm", a folder or a .dcm path) and the fingerprint of its
// weights, not the weights themselves (10,000 answers take 15 MB, not 15 + 90 MB). Loading
// loads that encoder again and refuses one whose weights have changed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include "deepcart/search/vector_index.h"
#include "deepcart/text/embed.h"

namespace deepcart::text {

class TextIndex {
 public:
  // Embeds `texts` with `encoder`. `ids` (empty, or one per text) name the texts, e.g. an
  // intent or a product id; empty gives the row numbers "0", "1", ... Error for no texts, a
  // count mismatch or invalid UTF-8.
  static TextIndex build(SentenceEncoder encoder, std::vector<std::string> texts,
                         std::vector<std::string> ids = {}, const EmbedOptions& options = {});
  // A ModelFile of task "text-index" (arch "embeddings").
  void save(const std::string& path) const;
  // Reads an index and loads its encoder: from the source it was built with, or from `encoder`
  // when given (a moved model file). Error when that encoder's weights differ from the ones the
  // index was built with, or when it cannot be loaded.
  static TextIndex load(const std::string& path, const std::string& encoder = "");

  // The k texts most similar to each query, best first; similarity = the dot product of the
  // unit embeddings (cosine similarity). `options`: how the queries are embedded.
  std::vector<std::vector<Neighbour>> search(const std::vector<std::string>& queries, int64_t k,
                                             const EmbedOptions& options = {}) const;
  // {"query", "results": [{"id", "text", "similarity"}, ...]} for one query.
  nlohmann::json to_json(const std::string& query, const std::vector<Neighbour>& found) const;

  int64_t size() const { return vectors_.size(); }
  const std::vector<std::string>& texts() const { return texts_; }
  const std::vector<std::string>& ids() const { return ids_; }
  const at::Tensor& embeddings() const { return vectors_.rows(); }  // (N, D) unit rows
  const SentenceEncoder& encoder() const { return encoder_; }
  // Where the encoder is loaded from: "minilm", or an absolute folder or .dcm path.
  const std::string& encoder_source() const { return encoder_source_; }
  bool uses_faiss() const { return vectors_.uses_faiss(); }
  void set_faiss_above(int64_t n) { vectors_.set_faiss_above(n); }

 private:
  explicit TextIndex(SentenceEncoder encoder) : encoder_(std::move(encoder)) {}
  SentenceEncoder encoder_;
  std::string encoder_source_;
  VectorIndex vectors_;
  std::vector<std::string> texts_, ids_;
};

// `text index`: reads `data` (read_texts: --text-col, optional --id-col), builds the index with
// `encoder` and writes it to `out`. Returns {"index", "texts", "dim", "encoder", "seconds",
// "texts_per_second", "faiss", "read"}.
struct IndexFileOptions {
  std::string encoder = "minilm";
  std::string data, out;
  std::vector<std::string> text_cols;
  std::string id_col;
  EmbedOptions embed;
};
nlohmann::json index_file(const IndexFileOptions& options);

// `text search`: loads `index` (with `encoder` when given) and answers each query:
// [{"query", "results": [...]}, ...] as TextIndex::to_json.
struct SearchOptions {
  std::string index, encoder;
  std::vector<std::string> queries;
  int64_t k = 5;
  EmbedOptions embed;
};
nlohmann::json search_index(const SearchOptions& options);
// The lines `text search` prints: each query, then "  SIMILARITY  ID  TEXT" per result (the
// text left out when it equals the id).
std::string describe_search(const nlohmann::json& results);

}  // namespace deepcart::text
