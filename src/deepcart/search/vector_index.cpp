#include "deepcart/search/vector_index.h"

#include <faiss/IndexHNSW.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "deepcart/core/error.h"

namespace deepcart {
namespace {

// Exact search computes (queries, N) scores a block of queries at a time, at most this many.
constexpr int64_t kScoreBlock = int64_t{1} << 24;

// rows as (M, D) float32 on the CPU, every row of unit length.
at::Tensor checked_rows(const at::Tensor& rows, int64_t dim) {
  if (!rows.defined() || rows.dim() != 2) {
    throw Error("vector index: expected rows of shape (N, D), found " +
                (rows.defined() ? c10::str(rows.sizes()) : std::string("nothing")));
  }
  if (dim > 0 && rows.size(1) != dim) {
    throw Error("vector index: rows of size " + std::to_string(rows.size(1)) +
                " added to an index of size " + std::to_string(dim));
  }
  at::Tensor out = rows.to(torch::kCPU, torch::kFloat).contiguous();
  if (out.size(0) == 0) return out;
  if (out.size(1) == 0) throw Error("vector index: rows of size 0");
  const at::Tensor norms = out.norm(2, 1).to(torch::kDouble);
  const double* n = norms.data_ptr<double>();
  for (int64_t i = 0; i < norms.size(0); ++i) {
    if (!(std::abs(n[i] - 1.0) <= VectorIndex::kUnitTolerance)) {
      throw Error("vector index: row " + std::to_string(i) + " has length " + std::to_string(n[i]) +
                  ", expected unit length (L2-normalised rows)");
    }
  }
  return out;
}

}  // namespace

VectorIndex::VectorIndex() = default;
VectorIndex::~VectorIndex() = default;
VectorIndex::VectorIndex(VectorIndex&&) noexcept = default;
VectorIndex& VectorIndex::operator=(VectorIndex&&) noexcept = default;

VectorIndex::VectorIndex(const at::Tensor& rows, int64_t faiss_above)
    : rows_(checked_rows(rows, 0)), faiss_above_(faiss_above) {
  rebuild();
}

void VectorIndex::add(const at::Tensor& rows) {
  at::Tensor more = checked_rows(rows, dim());
  if (more.size(0) == 0) return;
  rows_ = size() == 0 ? more : torch::cat({rows_, more});
  if (faiss_ != nullptr) {
    faiss_->add(more.size(0), more.data_ptr<float>());
  } else {
    rebuild();
  }
}

void VectorIndex::set_faiss_above(int64_t n) {
  faiss_above_ = n;
  rebuild();
}

void VectorIndex::rebuild() {
  faiss_.reset();
  if (size() <= faiss_above_) return;
  // Unit vectors: inner product is cosine similarity. 32 links per node and a wide build and
  // search beam keep recall near exact for catalogue-sized sets.
  faiss_ = std::make_unique<faiss::IndexHNSWFlat>(static_cast<int>(dim()), 32,
                                                  faiss::METRIC_INNER_PRODUCT);
  faiss_->hnsw.efConstruction = 80;
  faiss_->hnsw.efSearch = 128;
  faiss_->add(size(), rows_.data_ptr<float>());
}

std::vector<std::vector<Neighbour>> VectorIndex::search(const at::Tensor& queries, int64_t k,
                                                        const std::vector<int64_t>& exclude) const {
  if (k < 1) throw Error("--k: expected at least 1, found " + std::to_string(k));
  if (!queries.defined() || queries.dim() != 2 || queries.size(1) != dim()) {
    throw Error("vector search: queries of shape " +
                (queries.defined() ? c10::str(queries.sizes()) : std::string("nothing")) +
                " against an index of size " + std::to_string(dim()));
  }
  if (!exclude.empty() && static_cast<int64_t>(exclude.size()) != queries.size(0)) {
    throw Error("vector search: " + std::to_string(exclude.size()) + " exclusions for " +
                std::to_string(queries.size(0)) + " queries");
  }
  const at::Tensor q = queries.to(torch::kCPU, torch::kFloat).contiguous();
  const int64_t want = std::min<int64_t>(k + (exclude.empty() ? 0 : 1), size());
  std::vector<std::vector<Neighbour>> found =
      want == 0 ? std::vector<std::vector<Neighbour>>(q.size(0))
                : (faiss_ ? approximate(q, want) : exact(q, want));
  for (size_t i = 0; i < found.size(); ++i) {
    auto& row = found[i];
    if (!exclude.empty()) {
      row.erase(std::remove_if(row.begin(), row.end(),
                               [&](const Neighbour& n) { return n.item == exclude[i]; }),
                row.end());
    }
    if (static_cast<int64_t>(row.size()) > k) row.resize(k);
  }
  return found;
}

std::vector<std::vector<Neighbour>> VectorIndex::exact(const at::Tensor& queries,
                                                       int64_t want) const {
  c10::InferenceMode guard;
  const int64_t n = queries.size(0);
  const int64_t block = std::max<int64_t>(1, kScoreBlock / std::max<int64_t>(1, size()));
  std::vector<std::vector<Neighbour>> out(n);
  for (int64_t b = 0; b < n; b += block) {
    const int64_t e = std::min(n, b + block);
    auto [scores, items] = torch::matmul(queries.slice(0, b, e), rows_.t()).topk(want, 1);
    auto s = scores.accessor<float, 2>();
    auto it = items.accessor<int64_t, 2>();
    for (int64_t i = b; i < e; ++i) {
      for (int64_t j = 0; j < want; ++j) out[i].push_back({it[i - b][j], s[i - b][j]});
    }
  }
  return out;
}

std::vector<std::vector<Neighbour>> VectorIndex::approximate(const at::Tensor& queries,
                                                             int64_t want) const {
  const int64_t n = queries.size(0);
  std::vector<float> scores(n * want);
  std::vector<faiss::Index::idx_t> items(n * want);
  faiss_->search(n, queries.data_ptr<float>(), want, scores.data(), items.data());
  std::vector<std::vector<Neighbour>> out(n);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < want; ++j) {
      const auto item = items[i * want + j];
      if (item < 0) continue;  // FAISS pads with -1 when the graph finds fewer
      out[i].push_back({static_cast<int64_t>(item), scores[i * want + j]});
    }
  }
  return out;
}

}  // namespace deepcart
