// The fast baseline, fastText's idea: the mean of the token embeddings and of hashed
// token n-gram embeddings (bigrams, or bigrams and trigrams), straight into the linear head. No
// hidden layer: it trains and predicts at tens of thousands of texts a second.
#pragma once

#include <torch/nn/modules/embedding.h>

#include "deepcart/text/encoder.h"

namespace deepcart::text {

class BowImpl : public TextEncoderImpl {
 public:
  explicit BowImpl(const TextOptions& options);
  at::Tensor encode(const at::Tensor& embedded, const at::Tensor& ids) override;  // (B, dim)
  int64_t features() const override { return dim_; }

 private:
  int64_t dim_, buckets_, ngrams_;
  torch::nn::Embedding ngram_table_{nullptr};  // (buckets, dim)
};
TORCH_MODULE(Bow);

}  // namespace deepcart::text
