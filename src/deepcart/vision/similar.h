// Look-alike search over a catalogue: every catalogue image's L2-normalised embedding from a
// trained classifier, searched by cosine similarity through search/vector_index.h (exact for small
// catalogues, a FAISS HNSW graph above `faiss_above` items).
#pragma once

#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include "deepcart/core/model_file.h"
#include "deepcart/search/vector_index.h"
#include "deepcart/vision/classifier.h"

namespace deepcart::vision {

// Which classifier an index belongs to: a hash of its class layer's weights.
std::string model_fingerprint(const ModelFile& file);

using Neighbour = deepcart::Neighbour;  // .item is the row in the catalogue

class LookAlikeIndex;
// `vision index`: embeds the catalogue `data` (its `split` for fashion-mnist) with `model`,
// writes the index to `out`, and reports {"index", "items", "seconds", "faiss", "k",
// "precision_at_k"} (precision@k over the catalogue when k > 0).
nlohmann::json index_catalogue(ImageClassifier& model, const std::string& data,
                               const std::string& split, const std::string& out, int64_t k);

class LookAlikeIndex {
 public:
  static constexpr int64_t kDefaultFaissAbove = VectorIndex::kDefaultFaissAbove;

  // Embeds every image of `catalogue` with `model`.
  static LookAlikeIndex build(ImageClassifier& model, const ImageSet& catalogue);
  static LookAlikeIndex load(const std::string& path);
  void save(const std::string& path) const;  // a ModelFile of task "vision-index"

  // queries (Q, D) L2-normalised -> the k most similar catalogue items per query, best first.
  // `exclude` (optional, one row per query, -1 = none) drops that catalogue item.
  std::vector<std::vector<Neighbour>> search(const at::Tensor& queries, int64_t k,
                                             const std::vector<int64_t>& exclude = {}) const;
  // Mean precision@k over every catalogue item as a query (itself excluded), where relevant
  // means the same category.
  double precision_at(int64_t k) const;

  void set_faiss_above(int64_t n) { vectors_.set_faiss_above(n); }  // for tests and tuning
  bool uses_faiss() const { return vectors_.uses_faiss(); }
  int64_t size() const { return vectors_.size(); }
  const std::vector<std::string>& ids() const { return ids_; }
  const at::Tensor& labels() const { return labels_; }
  const std::vector<std::string>& classes() const { return classes_; }
  // [{"id", "category", "similarity"}, ...] for one query's neighbours.
  nlohmann::json to_json(const std::vector<Neighbour>& found) const;
  const std::string& model_checksum() const { return model_checksum_; }
  const at::Tensor& embeddings() const { return vectors_.rows(); }

 private:
  LookAlikeIndex() = default;
  VectorIndex vectors_;  // (N, D) unit rows: the catalogue's embeddings
  at::Tensor labels_;    // (N) int64
  std::vector<std::string> ids_, classes_;
  std::string model_checksum_;  // the classifier these embeddings came from
};

}  // namespace deepcart::vision
