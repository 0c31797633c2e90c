// EASE (Steck 2019): a linear item-item autoencoder with a closed-form solution,
//   B = I - P diagMat(1 / diag(P)),  P = (X^T X + l2 I)^-1,  diag(B) = 0,
// where X is the binary user x item training matrix. Scores are X_u B. It is the strongest
// simple baseline on small catalogues; the inverse is I x I, so it is limited to catalogues
// of up to kEaseMaxItems items.
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

namespace deepcart::rec {

inline constexpr int64_t kEaseMaxItems = 20000;

// Binary (U, I) float matrix from per-user item lists.
at::Tensor ease_matrix(const std::vector<std::vector<int64_t>>& lists, int64_t items);
// The item-item weights (I, I) for one L2 strength.
at::Tensor ease_fit(const at::Tensor& gram /* (I, I) X^T X */, double l2);

}  // namespace deepcart::rec
