// Look-alike search over a catalogue: every catalogue image's L2-normalised embedding from a
// trained classifier, searched by cosine similarity. Small catalogues are searched exactly
// with one matrix product; above `faiss_above` items a FAISS HNSW graph answers instead.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include "deepcart/core/model_file.h"
#include "deepcart/vision/classifier.h"

namespace faiss {
struct IndexHNSWFlat;
}

namespace deepcart::vision {

// Which classifier an index belongs to: a hash of its class layer's weights.
std::string model_fingerprint(const ModelFile& file);

struct Neighbour {
  int64_t item;  // row in the catalogue
  float similarity;
};

class LookAlikeIndex;
// `vision index`: embeds the catalogue `data` (its `split` for fashion-mnist) with `model`,
// writes the index to `out`, and reports {"index", "items", "seconds", "faiss", "k",
// "precision_at_k"} (precision@k over the catalogue when k > 0).
nlohmann::json index_catalogue(ImageClassifier& model, const std::string& data,
                               const std::string& split, const std::string& out, int64_t k);

class LookAlikeIndex {
 public:
  static constexpr int64_t kDefaultFaissAbove = 50000;

  // Embeds every image of `catalogue` with `model`.
  static LookAlikeIndex build(ImageClassifier& model, const ImageSet& catalogue);
  static LookAlikeIndex load(const std::string& path);
  void save(const std::string& path) const;  // a ModelFile of task "vision-index"
  ~LookAlikeIndex();
  LookAlikeIndex(LookAlikeIndex&&) noexcept;
  LookAlikeIndex& operator=(LookAlikeIndex&&) noexcept;

  // queries (Q, D) L2-normalised -> the k most similar catalogue items per query, best first.
  // `exclude` (optional, one row per query, -1 = none) drops that catalogue item.
  std::vector<std::vector<Neighbour>> search(const at::Tensor& queries, int64_t k,
                                             const std::vector<int64_t>& exclude = {}) const;
  // Mean precision@k over every catalogue item as a query (itself excluded), where relevant
  // means the same category.
  double precision_at(int64_t k) const;

  void set_faiss_above(int64_t n);  // for tests and tuning; rebuilds the graph if needed
  bool uses_faiss() const { return faiss_ != nullptr; }
  int64_t size() const { return embeddings_.size(0); }
  const std::vector<std::string>& ids() const { return ids_; }
  const at::Tensor& labels() const { return labels_; }
  const std::vector<std::string>& classes() const { return classes_; }
  // [{"id", "category", "similarity"}, ...] for one query's neighbours.
  nlohmann::json to_json(const std::vector<Neighbour>& found) const;
  const std::string& model_checksum() const { return model_checksum_; }
  const at::Tensor& embeddings() const { return embeddings_; }

 private:
  LookAlikeIndex() = default;
  void rebuild();
  at::Tensor embeddings_;  // (N, D) float, unit rows
  at::Tensor labels_;      // (N) int64
  std::vector<std::string> ids_, classes_;
  std::string model_checksum_;  // the classifier these embeddings came from
  int64_t faiss_above_ = kDefaultFaissAbove;
  std::unique_ptr<faiss::IndexHNSWFlat> faiss_;
};

}  // namespace deepcart::vision
