// The text networks against PyTorch-Python for fixed weights (tests/reference/
// make_reference.py writes the reference), to 1e-5: the logits and every parameter's gradient
// in the training path, and the logits again in the inference path (packed RNN, ATen's fused
// transformer layer). Four texts of 6, 4, 1 and 0 tokens, padded to 6.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "deepcart/text/net.h"
#include "reference_case.h"

namespace deepcart::text {
namespace {

TextOptions options(const std::string& arch, const std::string& pooling) {
  TextOptions o;
  o.arch = arch;
  o.vocab = 12;
  o.classes = 3;
  o.dim = 8;
  o.hidden = 6;
  o.layers = 2;
  o.heads = 2;
  o.max_length = 8;
  o.buckets = 11;
  o.ngrams = 3;
  o.pooling = pooling;
  o.dropout = 0.0;
  return o;
}

void check_text_net(const std::string& name, const TextOptions& o) {
  test::ReferenceCase ref(name);
  TextNet net(o);
  ref.load_into(*net);
  const at::Tensor& ids = ref.input("ids");  // (4, 6)
  at::Tensor logits = net->forward(ids);     // (4, 3)
  ref.expect_output("logits", logits);
  ref.probe_loss("logits", logits).backward();
  ref.expect_grads(*net);
  net->eval();
  torch::NoGradGuard no_grad;
  ref.expect_output("logits", net->forward(ids), "inference");
}

TEST(ReferenceText, BowWithBigramsAndTrigrams) { check_text_net("bow", options("bow", "max")); }
TEST(ReferenceText, GruMaxPooling) { check_text_net("gru", options("gru", "max")); }
TEST(ReferenceText, LstmMeanPooling) { check_text_net("lstm", options("lstm", "mean")); }
TEST(ReferenceText, TransformerMaxPooling) {
  check_text_net("transformer", options("transformer", "max"));
}

}  // namespace
}  // namespace deepcart::text
