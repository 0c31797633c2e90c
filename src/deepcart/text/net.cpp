#include "deepcart/text/net.h"

#include <torch/torch.h>

#include "deepcart/core/error.h"
#include "deepcart/text/bert.h"
#include "deepcart/text/bow.h"
#include "deepcart/text/rnn.h"
#include "deepcart/text/transformer.h"

namespace deepcart::text {

at::Tensor masked_pool(const at::Tensor& x, const at::Tensor& keep, const std::string& pooling) {
  at::Tensor k = keep.unsqueeze(2);  // (B, L, 1)
  if (pooling == "max") {
    at::Tensor pooled =
        std::get<0>(x.masked_fill(~k, -std::numeric_limits<float>::infinity()).max(1));
    return pooled.masked_fill(~keep.any(1, true), 0.0);  // empty text -> zeros, not -inf
  }
  if (pooling == "mean") {
    // masked_fill, not a product: positions outside the mask may hold anything, even NaN.
    return x.masked_fill(~k, 0.0).sum(1) / k.to(x.dtype()).sum(1).clamp_min(1.0);
  }
  throw Error("--pooling: expected max or mean, found '" + pooling + "'");
}

TextNetImpl::TextNetImpl(const TextOptions& o) : options_(o) {
  if (o.vocab < 3) throw Error("text: the vocabulary is empty (no training text?)");
  if (o.classes < 2)
    throw Error("text: expected at least 2 labels, found " + std::to_string(o.classes));
  if (o.pooling != "max" && o.pooling != "mean") {
    throw Error("--pooling: expected max or mean, found '" + o.pooling + "'");
  }
  embedding_ = register_module(
      "embedding",
      torch::nn::Embedding(torch::nn::EmbeddingOptions(o.vocab, o.dim).padding_idx(0)));
  if (o.arch == "bow") {
    encoder_ = register_module("encoder", std::make_shared<BowImpl>(o));
    torch::NoGradGuard no_grad;
    embedding_->weight.uniform_(-1.0 / o.dim, 1.0 / o.dim);  // fastText's initialisation
    embedding_->weight[0].zero_();
  } else if (o.arch == "gru" || o.arch == "lstm") {
    encoder_ = register_module("encoder", std::make_shared<RnnImpl>(o));
  } else if (o.arch == "transformer") {
    encoder_ = register_module("encoder", std::make_shared<TransformerImpl>(o));
    torch::NoGradGuard no_grad;
    embedding_->weight.normal_(0.0, 0.02);
    embedding_->weight[0].zero_();
  } else if (o.arch == "bert") {
    encoder_ = register_module("encoder", std::make_shared<BertEncoderImpl>(o));
  } else {
    throw Error("--model: expected bow, gru, lstm, transformer or minilm, found '" + o.arch + "'");
  }
  dropout_ = register_module("dropout", Dropout(o.arch == "bow" ? 0.0 : o.dropout));
  head_ = register_module("head", torch::nn::Linear(encoder_->features(), o.classes));
}

at::Tensor TextNetImpl::logits(const at::Tensor& embedded, const at::Tensor& ids) {
  return head_(dropout_(encoder_->encode(embedded, ids)));
}

}  // namespace deepcart::text
