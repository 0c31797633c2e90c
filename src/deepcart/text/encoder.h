// What every text network shares: its options (stored as the ModelFile's hparams) and the
// encoder interface. A network embeds token ids (0 = padding), an encoder turns the embedded
// sequence into one feature vector per text, and a linear head scores the labels. Keeping the
// embedding outside the encoder is what lets gradient x input explain any architecture.
#pragma once

#include <string>

#include <torch/nn/module.h>
#include <nlohmann/json.hpp>

namespace deepcart::text {

struct TextOptions {
  std::string arch = "bow";  // bow | gru | lstm | transformer | bert (pretrained, pretrained.h)
  int64_t vocab = 2;         // the tokenizer's vocabulary, reserved ids included
  int64_t classes = 2;
  int64_t dim = 64;             // token embedding size
  int64_t hidden = 128;         // gru/lstm: per direction; bert: feed-forward; transformer: 4 x dim
  int64_t layers = 1;           // gru/lstm/transformer
  int64_t heads = 4;            // transformer
  int64_t max_length = 256;     // transformer, bert: learned positions
  int64_t buckets = 200000;     // bow: hashed n-gram embeddings (0 = unigrams only)
  int64_t ngrams = 2;           // bow: longest token n-gram hashed into the buckets (2 or 3)
  std::string pooling = "max";  // gru/lstm/transformer: max | mean over the tokens
  double dropout = 0.1;
  double norm_eps = 1e-5;  // bert: LayerNorm epsilon
  std::string encoder;     // bert: where the pretrained weights came from (name or folder)
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(TextOptions, arch, vocab, classes, dim, hidden,
                                                layers, heads, max_length, buckets, ngrams, pooling,
                                                dropout, norm_eps, encoder)

class TextEncoderImpl : public torch::nn::Module {
 public:
  // embedded (B, L, dim), ids (B, L) int64 with 0 = padding -> (B, features())
  virtual at::Tensor encode(const at::Tensor& embedded, const at::Tensor& ids) = 0;
  virtual int64_t features() const = 0;
};

// Max or mean over the non-padding positions: x (B, L, F), keep (B, L) bool -> (B, F).
at::Tensor masked_pool(const at::Tensor& x, const at::Tensor& keep, const std::string& pooling);

}  // namespace deepcart::text
