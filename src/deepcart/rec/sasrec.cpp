#include "deepcart/rec/sasrec.h"

#include <torch/torch.h>

#include <cmath>

#include "deepcart/core/error.h"

namespace deepcart::rec {

SasRecBlockImpl::SasRecBlockImpl(int64_t dim, int64_t heads, double dropout) {
  auto ln = torch::nn::LayerNormOptions({dim}).eps(1e-8);
  norm1_ = register_module("norm1", torch::nn::LayerNorm(ln));
  norm2_ = register_module("norm2", torch::nn::LayerNorm(ln));
  attention_ = register_module(
      "attention", torch::nn::MultiheadAttention(
                       torch::nn::MultiheadAttentionOptions(dim, heads).dropout(dropout)));
  ff1_ = register_module("ff1", torch::nn::Linear(dim, dim));
  ff2_ = register_module("ff2", torch::nn::Linear(dim, dim));
  dropout_ = register_module("dropout", torch::nn::Dropout(dropout));
}

at::Tensor SasRecBlockImpl::forward(const at::Tensor& x, const at::Tensor& mask, at::Tensor* weights) {
  at::Tensor h = norm1_(x);
  at::Tensor a;
  if (weights) {  // the attention weights are wanted (reasons): LibTorch's module returns them
    auto [out, w] = attention_->forward(h, h, h, /*key_padding_mask=*/at::Tensor(), /*need_weights=*/true, mask);
    *weights = w;  // (B, L, L), averaged over heads
    a = out;
  } else {
    a = causal_attention(h);
  }
  at::Tensor y = x + dropout_(a);
  return y + dropout_(ff2_(dropout_(torch::relu(ff1_(norm2_(y))))));
}

// The module's own weights through the fused scaled_dot_product_attention kernel, causal, as
// PyTorch-Python's MultiheadAttention does when no weights are asked for. LibTorch's C++
// MultiheadAttention is the unfused path (matmul, softmax, matmul), which made SASRec training
// 0.76x the speed of the same model in Python on the same LibTorch (bench/RESULTS.md).
at::Tensor SasRecBlockImpl::causal_attention(const at::Tensor& h /* (L, B, D) */) {
  const int64_t len = h.size(0), batch = h.size(1), dim = h.size(2);
  const int64_t heads = attention_->options.num_heads(), head_dim = dim / heads;
  auto qkv = torch::nn::functional::linear(h, attention_->in_proj_weight, attention_->in_proj_bias).chunk(3, -1);
  auto split = [&](const at::Tensor& t) {  // (L, B, D) -> (B, H, L, D/H)
    return t.reshape({len, batch * heads, head_dim}).transpose(0, 1).reshape({batch, heads, len, head_dim});
  };
  const double p = is_training() ? attention_->options.dropout() : 0.0;
  at::Tensor out = at::scaled_dot_product_attention(split(qkv[0]), split(qkv[1]), split(qkv[2]), {}, p,
                                                    /*is_causal=*/true);                 // (B, H, L, D/H)
  out = out.permute({2, 0, 1, 3}).reshape({len, batch, dim});
  return attention_->out_proj->forward(out);
}

SasRecImpl::SasRecImpl(const SasRecOptions& o) : options_(o) {
  if (o.items < 1) throw Error("sasrec: expected at least one item");
  if (o.dim % o.heads != 0) {
    throw Error("sasrec: --dim " + std::to_string(o.dim) + " must be divisible by --heads " +
                std::to_string(o.heads));
  }
  max_len_ = o.max_len;
  item_emb_ = register_module("item_emb", seq_item_embedding(o.items, o.dim));
  pos_emb_ = register_module("pos_emb", torch::nn::Embedding(o.max_len, o.dim));
  blocks_ = register_module("blocks", torch::nn::ModuleList());
  for (int64_t b = 0; b < o.blocks; ++b) blocks_->push_back(SasRecBlock(o.dim, o.heads, o.dropout));
  final_norm_ = register_module("final_norm",
                                torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.dim}).eps(1e-8)));
  dropout_ = register_module("dropout", torch::nn::Dropout(o.dropout));
}

at::Tensor SasRecImpl::encode(const at::Tensor& history) {
  const int64_t len = history.size(1);
  TORCH_CHECK(len <= options_.max_len, "sasrec: history of length ", len, " exceeds max_len ",
              options_.max_len);
  at::Tensor keep = (history > 0).unsqueeze(-1).to(torch::kFloat);                     // (B, L, 1)
  const auto on = history.options();  // the history's device
  at::Tensor positions = torch::arange(options_.max_len - len, options_.max_len, on.dtype(torch::kLong));
  at::Tensor x = item_emb_(history) * std::sqrt(static_cast<double>(options_.dim)) +
                 pos_emb_(positions).unsqueeze(0);                                      // (B, L, D)
  x = dropout_(x) * keep;
  // Attention wants (L, B, D); the causal mask forbids looking at later positions. LibTorch
  // 1.13's C++ attention ADDS attn_mask to the scores (a bool mask would add 0/1), so it is a
  // float mask of 0 and -inf.
  at::Tensor mask = torch::zeros({len, len}, on.dtype(torch::kFloat))
                        .masked_fill(torch::ones({len, len}, on.dtype(torch::kBool)).triu(1),
                                     -std::numeric_limits<float>::infinity());
  x = x.transpose(0, 1);
  for (size_t b = 0; b < blocks_->size(); ++b) {
    at::Tensor weights;
    const bool last = b + 1 == blocks_->size();
    x = blocks_[b]->as<SasRecBlock>()->forward(x, mask, last && record_attention_ ? &weights : nullptr);
    x = x * keep.transpose(0, 1);
    if (weights.defined()) last_attention_ = weights.select(1, len - 1);  // (B, L)
  }
  return final_norm_(x.transpose(0, 1));  // (B, L, D)
}

at::Tensor SasRecImpl::item_vectors() { return item_emb_->weight.slice(0, 1); }

}  // namespace deepcart::rec
