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
  dropout_ = register_module("dropout", Dropout(dropout));
}

at::Tensor SasRecBlockImpl::forward(const at::Tensor& x, const at::Tensor& mask,
                                    at::Tensor* weights) {
  at::Tensor h = norm1_(x);
  at::Tensor a;
  if (weights) {  // the attention weights are wanted (reasons): LibTorch's module returns them
    auto [out, w] = attention_->forward(h, h, h, /*key_padding_mask=*/at::Tensor(),
                                        /*need_weights=*/true, mask);
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
  auto qkv = torch::nn::functional::linear(h, attention_->in_proj_weight, attention_->in_proj_bias)
                 .chunk(3, -1);
  auto split = [&](const at::Tensor& t) {  // (L, B, D) -> (B, H, L, D/H)
    return t.reshape({len, batch * heads, head_dim})
        .transpose(0, 1)
        .reshape({batch, heads, len, head_dim});
  };
  const double p = is_training() ? attention_->options.dropout() : 0.0;
  at::Tensor out =
      at::scaled_dot_product_attention(split(qkv[0]), split(qkv[1]), split(qkv[2]), {}, p,
                                       /*is_causal=*/true);  // (B, H, L, D/H)
  out = out.permute({2, 0, 1, 3}).reshape({len, batch, dim});
  return attention_->out_proj->forward(out);
}

// Padding never changes a real position's output, but in the padded batch it is most of the
// work: a Beauty batch of 128 x 50 has about 730 real positions. Here the position-wise layers
// (norms, projections, feed-forward, dropout) see the real positions only. A padding position
// enters every block as zeros (encode() zeroes it after each block), so its normalised input
// is norm1's bias, and its query, key and value are one row, the same for every padding slot:
// the attention grid gets that row in every padding slot and the real rows in theirs. The
// result equals encode() at the real positions, gradients included (tests/rec/models_test.cpp).
at::Tensor SasRecBlockImpl::forward_real(const at::Tensor& x, const at::Tensor& real, int64_t batch,
                                         int64_t len) {
  const int64_t dim = x.size(1), heads = attention_->options.num_heads(), head_dim = dim / heads;
  const auto& w = attention_->in_proj_weight;
  const auto& b = attention_->in_proj_bias;
  at::Tensor h = norm1_(x);
  at::Tensor padding = torch::nn::functional::linear(norm1_->bias.unsqueeze(0), w, b);  // (1, 3D)
  at::Tensor grid = padding.expand({batch * len, 3 * dim})
                        .contiguous()
                        .index_copy(0, real, torch::nn::functional::linear(h, w, b));  // (B*L, 3D)
  at::Tensor qkv =
      grid.view({batch, len, 3, heads, head_dim}).permute({2, 0, 3, 1, 4});  // (3, B, H, L, D/H)
  const double p = is_training() ? attention_->options.dropout() : 0.0;
  at::Tensor a =
      at::scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], {}, p, /*is_causal=*/true);
  a = a.transpose(1, 2).reshape({batch * len, dim}).index_select(0, real);  // (N, D)
  at::Tensor y = x + dropout_(attention_->out_proj->forward(a));
  return y + dropout_(ff2_(dropout_(torch::relu(ff1_(norm2_(y))))));
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
  final_norm_ = register_module(
      "final_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.dim}).eps(1e-8)));
  dropout_ = register_module("dropout", Dropout(o.dropout));
}

at::Tensor SasRecImpl::encode(const at::Tensor& history) {
  const int64_t len = history.size(1);
  TORCH_CHECK(len <= options_.max_len, "sasrec: history of length ", len, " exceeds max_len ",
              options_.max_len);
  at::Tensor keep = (history > 0).unsqueeze(-1).to(torch::kFloat);  // (B, L, 1)
  const auto on = history.options();                                // the history's device
  at::Tensor positions =
      torch::arange(options_.max_len - len, options_.max_len, on.dtype(torch::kLong));
  at::Tensor x = item_emb_(history) * std::sqrt(static_cast<double>(options_.dim)) +
                 pos_emb_(positions).unsqueeze(0);  // (B, L, D)
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
    x = blocks_[b]->as<SasRecBlock>()->forward(x, mask,
                                               last && record_attention_ ? &weights : nullptr);
    x = x * keep.transpose(0, 1);
    if (weights.defined()) last_attention_ = weights.select(1, len - 1);  // (B, L)
  }
  return final_norm_(x.transpose(0, 1));  // (B, L, D)
}

at::Tensor SasRecImpl::encode_real(const at::Tensor& history) {
  if (record_attention_) return SeqModelImpl::encode_real(history);  // the weights need the module
  const int64_t batch = history.size(0), len = history.size(1);
  TORCH_CHECK(len <= options_.max_len, "sasrec: history of length ", len, " exceeds max_len ",
              options_.max_len);
  at::Tensor flat = history.flatten();
  at::Tensor real = flat.nonzero().squeeze(1);  // slots of the real positions in the (B, L) grid
  // A slot's position is its column, counted so that the last column is max_len - 1, as in
  // encode().
  at::Tensor positions = real.remainder(len) + (options_.max_len - len);
  at::Tensor x = dropout_(item_emb_(flat.index_select(0, real)) *
                              std::sqrt(static_cast<double>(options_.dim)) +
                          pos_emb_(positions));  // (N, D)
  for (const auto& block : *blocks_)
    x = block->as<SasRecBlock>()->forward_real(x, real, batch, len);
  return final_norm_(x);
}

at::Tensor SasRecImpl::encode_last(const at::Tensor& history) {
  at::Tensor counts = (history > 0).sum(1);  // real positions per row
  // A row with no item has only padding, whose output only encode() gives; so has record_attention.
  if (record_attention_ || counts.min().item<int64_t>() == 0)
    return SeqModelImpl::encode_last(history);
  return encode_real(history).index_select(0,
                                           counts.cumsum(0) - 1);  // each row's last real position
}

at::Tensor SasRecImpl::item_vectors() { return item_emb_->weight.slice(0, 1); }

}  // namespace deepcart::rec
