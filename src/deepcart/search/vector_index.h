// Nearest neighbours among unit-length vectors by inner product (= cosine similarity), shared by
// the look-alike product index (vision) and semantic search over texts. Up to `faiss_above` rows
// one matrix product answers exactly; above it a FAISS HNSW graph answers approximately.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <ATen/core/Tensor.h>

namespace faiss {
struct IndexHNSWFlat;
}

namespace deepcart {

struct Neighbour {
  int64_t item;  // row of the index
  float similarity;
};

class VectorIndex {
 public:
  static constexpr int64_t kDefaultFaissAbove = 50000;
  // How far a row's L2 norm may be from 1 (float32 normalisation is far more exact than this).
  static constexpr double kUnitTolerance = 1e-3;

  VectorIndex();  // empty; the first add() sets the dimension
  // rows (N, D), each of unit length; Error naming the first row that is not.
  explicit VectorIndex(const at::Tensor& rows, int64_t faiss_above = kDefaultFaissAbove);
  ~VectorIndex();
  VectorIndex(VectorIndex&&) noexcept;
  VectorIndex& operator=(VectorIndex&&) noexcept;

  // Appends rows (M, D) of unit length; D must be the index's.
  void add(const at::Tensor& rows);
  // queries (Q, D) -> the k rows with the highest inner product per query, best first (fewer
  // when the index is smaller). `exclude` (empty, or one row per query; -1 = none) drops that
  // row from the query's answer. Error for k < 1 or queries of another dimension.
  std::vector<std::vector<Neighbour>> search(const at::Tensor& queries, int64_t k,
                                             const std::vector<int64_t>& exclude = {}) const;

  void set_faiss_above(int64_t n);  // rebuilds the graph, or drops it, as the new size says
  int64_t faiss_above() const { return faiss_above_; }
  bool uses_faiss() const { return faiss_ != nullptr; }
  int64_t size() const { return rows_.defined() ? rows_.size(0) : 0; }
  int64_t dim() const { return rows_.defined() ? rows_.size(1) : 0; }
  const at::Tensor& rows() const { return rows_; }  // (N, D) float32 on the CPU

 private:
  void rebuild();
  std::vector<std::vector<Neighbour>> exact(const at::Tensor& queries, int64_t want) const;
  std::vector<std::vector<Neighbour>> approximate(const at::Tensor& queries, int64_t want) const;

  at::Tensor rows_;  // (N, D) float32, unit rows
  int64_t faiss_above_ = kDefaultFaissAbove;
  std::unique_ptr<faiss::IndexHNSWFlat> faiss_;
};

}  // namespace deepcart
