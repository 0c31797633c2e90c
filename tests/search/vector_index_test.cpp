// VectorIndex: exact search against a brute-force ranking, FAISS HNSW against exact search,
// exclusions, growth past the FAISS threshold, and the messages for bad rows and queries.
#include "deepcart/search/vector_index.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "error_of.h"

namespace deepcart {
namespace {

at::Tensor unit_rows(int64_t n, int64_t d, uint64_t seed) {
  torch::manual_seed(seed);
  at::Tensor x = torch::randn({n, d});
  return x / x.norm(2, 1, true);
}

TEST(VectorIndex, ExactSearchIsTheBruteForceRanking) {
  const at::Tensor rows = unit_rows(300, 16, 1), queries = unit_rows(12, 16, 2);
  VectorIndex index(rows);
  EXPECT_FALSE(index.uses_faiss());
  EXPECT_EQ(index.size(), 300);
  EXPECT_EQ(index.dim(), 16);
  const auto found = index.search(queries, 5);
  ASSERT_EQ(found.size(), 12u);
  const at::Tensor scores = torch::matmul(queries, rows.t());  // (12, 300)
  for (int64_t q = 0; q < 12; ++q) {
    ASSERT_EQ(found[q].size(), 5u);
    auto [best, items] = scores[q].topk(5);
    for (int64_t j = 0; j < 5; ++j) {
      EXPECT_EQ(found[q][j].item, items[j].item<int64_t>()) << "query " << q << " rank " << j;
      EXPECT_NEAR(found[q][j].similarity, best[j].item<float>(), 1e-6);
    }
  }
  // More than there are: every row, best first.
  const auto all = index.search(queries.slice(0, 0, 1), 1000);
  ASSERT_EQ(all[0].size(), 300u);
  for (size_t j = 1; j < all[0].size(); ++j)
    EXPECT_LE(all[0][j].similarity, all[0][j - 1].similarity);
}

TEST(VectorIndex, FaissAgreesWithExactSearchOnARandomSet) {
  const at::Tensor rows = unit_rows(3000, 32, 3);
  // Queries near stored rows (a little noise) and far from all of them.
  at::Tensor near = rows.slice(0, 0, 100) + 0.05 * torch::randn({100, 32});
  near = near / near.norm(2, 1, true);
  const at::Tensor queries = torch::cat({near, unit_rows(100, 32, 4)});
  VectorIndex exact(rows);
  VectorIndex graph(rows, /*faiss_above=*/1000);
  ASSERT_FALSE(exact.uses_faiss());
  ASSERT_TRUE(graph.uses_faiss());
  const auto a = exact.search(queries, 10), b = graph.search(queries, 10);
  int64_t top1 = 0, recall = 0;
  for (int64_t q = 0; q < 200; ++q) {
    ASSERT_EQ(b[q].size(), 10u);
    top1 += a[q][0].item == b[q][0].item;
    for (const Neighbour& n : b[q]) {
      // Every similarity FAISS reports is the row's true dot product with the query.
      EXPECT_NEAR(n.similarity, torch::dot(queries[q], rows[n.item]).item<float>(), 1e-5);
      for (const Neighbour& m : a[q]) recall += m.item == n.item;
    }
  }
  EXPECT_EQ(top1, 200) << "HNSW with efSearch 128 finds the nearest row of 3,000";
  EXPECT_GE(recall, 1980) << "recall@10 of at least 0.99";
  for (int64_t q = 0; q < 100; ++q) EXPECT_EQ(b[q][0].item, q) << "a noisy copy finds its row";
}

TEST(VectorIndex, ExcludeDropsOneRowPerQuery) {
  const at::Tensor rows = unit_rows(50, 8, 5);
  for (int64_t faiss_above : {1000, 10}) {
    VectorIndex index(rows, faiss_above);
    const auto with = index.search(rows.slice(0, 0, 3), 4);
    const auto without = index.search(rows.slice(0, 0, 3), 4, {0, -1, 2});
    for (int64_t q = 0; q < 3; ++q) {
      EXPECT_EQ(with[q][0].item, q);
      ASSERT_EQ(without[q].size(), 4u);
    }
    EXPECT_EQ(without[0][0].item, with[0][1].item);
    EXPECT_EQ(without[1][0].item, 1) << "-1 excludes nothing";
    EXPECT_EQ(without[2][2].item, with[2][3].item);
  }
}

TEST(VectorIndex, AddGrowsPastTheThresholdIntoAGraph) {
  const at::Tensor rows = unit_rows(120, 8, 6);
  VectorIndex index;
  EXPECT_EQ(index.size(), 0);
  index.set_faiss_above(100);
  index.add(rows.slice(0, 0, 60));
  EXPECT_FALSE(index.uses_faiss());
  index.add(rows.slice(0, 60, 120));
  EXPECT_TRUE(index.uses_faiss());
  EXPECT_EQ(index.size(), 120);
  EXPECT_TRUE(torch::equal(index.rows(), rows));
  const auto found = index.search(rows.slice(0, 100, 120), 1);
  for (int64_t q = 0; q < 20; ++q) EXPECT_EQ(found[q][0].item, 100 + q);
  index.set_faiss_above(VectorIndex::kDefaultFaissAbove);
  EXPECT_FALSE(index.uses_faiss());
}

TEST(VectorIndex, BadRowsAndQueriesAreNamed) {
  at::Tensor rows = unit_rows(4, 3, 7);
  rows[2] *= 2;
  EXPECT_EQ(test::error_of([&] { VectorIndex{rows}; }),
            "vector index: row 2 has length 2.000000, expected unit length (L2-normalised rows)");
  rows[2] = torch::tensor({NAN, 0.0f, 0.0f});
  EXPECT_EQ(test::error_of([&] { VectorIndex{rows}; }),
            "vector index: row 2 has length nan, expected unit length (L2-normalised rows)");
  VectorIndex index(unit_rows(4, 3, 8));
  EXPECT_EQ(test::error_of([&] { index.add(unit_rows(2, 5, 9)); }),
            "vector index: rows of size 5 added to an index of size 3");
  EXPECT_EQ(test::error_of([&] { index.search(unit_rows(2, 3, 9), 0); }),
            "--k: expected at least 1, found 0");
  EXPECT_EQ(test::error_of([&] { index.search(unit_rows(2, 4, 9), 1); }),
            "vector search: queries of shape [2, 4] against an index of size 3");
  EXPECT_EQ(test::error_of([&] { index.search(unit_rows(2, 3, 9), 1, {0}); }),
            "vector search: 1 exclusions for 2 queries");
}

}  // namespace
}  // namespace deepcart
