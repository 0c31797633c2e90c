// Every recommender network against PyTorch-Python for fixed weights (tests/reference/
// make_reference.py writes the reference): the outputs and every parameter's gradient, to 1e-5.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "deepcart/rec/gmf.h"
#include "deepcart/rec/gru4rec.h"
#include "deepcart/rec/mlp.h"
#include "deepcart/rec/neumf.h"
#include "deepcart/rec/sasrec.h"
#include "reference_case.h"

namespace deepcart::rec {
namespace {

constexpr int64_t kUsers = 5, kItems = 7;      // the pair models' case
constexpr int64_t kSeqItems = 9, kMaxLen = 8;  // the sequence models' case

// A pair model scores 3 users against 4 items each (score) and against every item (score_all,
// its own broadcast or GEMM path); the loss probes both.
void check_pair_model(const std::string& name, PairModelImpl& model) {
  test::ReferenceCase ref(name);
  ref.load_into(model);
  const at::Tensor& users = ref.input("users");
  at::Tensor score = model.score(users, ref.input("items"));  // (3, 4)
  at::Tensor score_all = model.score_all(users);              // (3, I)
  ref.expect_output("score", score);
  ref.expect_output("score_all", score_all);
  (ref.probe_loss("score", score) + ref.probe_loss("score_all", score_all)).backward();
  ref.expect_grads(model);
}

MlpOptions mlp_options(int64_t features, std::vector<int64_t> layers) {
  MlpOptions o;
  o.users = kUsers;
  o.items = kItems;
  o.features = features;
  o.dim = 8;
  o.layers = std::move(layers);
  o.dropout = 0.0;
  return o;
}

TEST(ReferenceRec, BehaviourLogMlpWithItemFeatures) {
  Mlp model(mlp_options(2, {16, 8}));
  check_pair_model("mlp", *model);
}

TEST(ReferenceRec, NcfMlp) {
  Mlp model(mlp_options(0, {12, 8, 4}));
  check_pair_model("ncf_mlp", *model);
}

TEST(ReferenceRec, Gmf) {
  Gmf model(GmfOptions{kUsers, kItems, 8});
  check_pair_model("gmf", *model);
}

// NeuMF keeps the output layers of its GMF and MLP halves (gmf.out, mlp.out) without using
// them: their gradients are zero here and in PyTorch.
TEST(ReferenceRec, NeuMf) {
  NeuMf model(NeuMfOptions{kUsers, kItems, 6, 8, {12, 8, 4}, 0.0});
  check_pair_model("neumf", *model);
}

// Left-padded histories of 6, 3, 1 and 4 items in 6 slots (max_len 8). encode() runs every
// position; encode_real(), the training path, only the real ones; both are checked with their
// own gradients. The attention-recording path (LibTorch's MultiheadAttention with a float mask)
// must give the same outputs, and its weights those of PyTorch's last block.
TEST(ReferenceRec, SasRec) {
  SasRec model(SasRecOptions{kSeqItems, 8, 2, 2, kMaxLen, 0.0});
  test::ReferenceCase ref("sasrec");
  ref.load_into(*model);
  const at::Tensor& history = ref.input("history");  // (4, 6)
  at::Tensor encoded = model->encode(history);       // (4, 6, 8)
  ref.expect_output("encode", encoded);
  ref.probe_loss("encode", encoded).backward();
  ref.expect_grads(*model);

  model->zero_grad();
  at::Tensor real = model->encode_real(history);  // (14, 8)
  ref.expect_output("encode_real", real);
  ref.probe_loss("encode_real", real).backward();
  ref.expect_grads(*model, "grad_real");

  model->eval();
  torch::NoGradGuard no_grad;
  ref.expect_near("encode_last", model->encode_last(history),
                  ref.output("encode").select(1, -1));  // (4, 8): each row's last position
  model->record_attention(true);
  ref.expect_output("encode", model->encode(history), "recording attention");
  ref.expect_output("last_attention", model->last_attention());  // (4, 6)
}

TEST(ReferenceRec, Gru4Rec) {
  Gru4RecOptions o;
  o.items = kSeqItems;
  o.dim = 8;
  o.layers = 2;
  o.max_len = kMaxLen;
  o.dropout = 0.0;
  Gru4Rec model(o);
  test::ReferenceCase ref("gru4rec");
  ref.load_into(*model);
  at::Tensor encoded = model->encode(ref.input("history"));  // (4, 6, 8)
  ref.expect_output("encode", encoded);
  ref.probe_loss("encode", encoded).backward();
  ref.expect_grads(*model);
}

}  // namespace
}  // namespace deepcart::rec
