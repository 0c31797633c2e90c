// The BERT encoder against sentence-transformers: the reference embeddings, padded batch and
// per-layer states were written once by encoder_reference/make_reference.py (all-MiniLM-L6-v2,
// sentence-transformers 6.2.0); this test needs no Python.
#include "deepcart/text/bert.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>

#include "deepcart/core/safetensors.h"
#include "deepcart/text/net.h"
#include "deepcart/text/pretrained.h"
#include "error_of.h"
#include "pretrained_encoder.h"
#include "temp_dir.h"

namespace deepcart::text {
namespace {

constexpr double kTolerance = 1e-4;  // the issue's bar for sentence embeddings

TextNet pretrained_net(const std::string& name) {
  PretrainedEncoder encoder = find_encoder(name);
  TextOptions o = encoder.options;
  o.classes = 3;
  TextNet net(o);
  load_encoder_weights(*net, read_encoder_weights(encoder));
  net->eval();
  return net;
}

std::map<std::string, at::Tensor> reference() {
  return safetensors_read(test_data::encoder_reference_dir() / "embeddings.safetensors");
}

double max_difference(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

TEST(Bert, FindsMiniLmAndReadsItsConfig) {
  REQUIRE_ENCODER(dir);
  PretrainedEncoder e = find_encoder("minilm");
  EXPECT_EQ(e.dir, dir);
  EXPECT_EQ(e.options.arch, "bert");
  EXPECT_EQ(e.options.vocab, 30522);
  EXPECT_EQ(e.options.dim, 384);
  EXPECT_EQ(e.options.hidden, 1536);
  EXPECT_EQ(e.options.layers, 6);
  EXPECT_EQ(e.options.heads, 12);
  EXPECT_EQ(e.options.max_length, 512);
  EXPECT_DOUBLE_EQ(e.options.norm_eps, 1e-12);
  EXPECT_EQ(e.weights.filename(), "model.safetensors");
}

TEST(Bert, EmbeddingsMatchSentenceTransformers) {
  REQUIRE_ENCODER(dir);
  TextNet net = pretrained_net("minilm");
  auto ref = reference();
  const at::Tensor ids = ref.at("input_ids"), expected = ref.at("embeddings");
  ASSERT_EQ(ids.size(0), 41);
  ASSERT_EQ(expected.sizes(), (std::vector<int64_t>{41, 384}));
  {  // inference: the fused kernels
    c10::InferenceMode guard;
    at::Tensor got = net->features(ids);
    ASSERT_EQ(got.sizes(), expected.sizes());
    EXPECT_LT(max_difference(got, expected), kTolerance);
    std::printf("41 sentences: max |difference| %.2e (fused inference kernels)\n",
                max_difference(got, expected));
  }
  // training path (autograd, scaled_dot_product_attention), dropout off
  at::Tensor got = net->features(ids);
  EXPECT_TRUE(got.requires_grad());
  EXPECT_LT(max_difference(got.detach(), expected), kTolerance);
}

TEST(Bert, EveryLayerMatchesTheReferenceStates) {
  REQUIRE_ENCODER(dir);
  TextNet net = pretrained_net("minilm");
  auto ref = reference();
  torch::NoGradGuard no_grad;
  const at::Tensor ids = ref.at("token_states_input_ids_0").unsqueeze(0);
  const at::Tensor expected = ref.at("hidden_states_0");  // (7, T, 384)
  auto& bert = dynamic_cast<BertEncoderImpl&>(net->encoder());
  std::vector<at::Tensor> states = bert.states(net->embed(ids), ids);
  ASSERT_EQ(states.size(), 7u);
  for (size_t i = 0; i < states.size(); ++i) {
    EXPECT_LT(max_difference(states[i][0], expected[i]), kTolerance) << "layer " << i;
  }
  const at::Tensor ids1 = ref.at("token_states_input_ids_1").unsqueeze(0);
  EXPECT_LT(max_difference(bert.states(net->embed(ids1), ids1).back()[0], ref.at("token_states_1")),
            kTolerance);
}

TEST(Bert, PaddingDoesNotChangeAnEmbedding) {
  REQUIRE_ENCODER(dir);
  TextNet net = pretrained_net("minilm");
  c10::InferenceMode guard;
  at::Tensor alone = torch::tensor({101, 2307, 3737, 102}, torch::kLong).unsqueeze(0);
  at::Tensor padded = torch::tensor({101, 2307, 3737, 102, 0, 0, 0}, torch::kLong).unsqueeze(0);
  at::Tensor a = net->features(alone), b = net->features(padded);
  EXPECT_LT(max_difference(a, b), 1e-5);
  EXPECT_NEAR(a.norm().item<double>(), 1.0, 1e-5);
  at::Tensor logits = net->forward(padded);
  EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{1, 3}));
}

class BertFolder : public test_data::TempDirTest {};

TEST_F(BertFolder, NamesWhatIsMissing) {
  EXPECT_EQ(test::error_of([&] { find_encoder(dir_ + "/nowhere"); }),
            "--encoder: " + dir_ + "/nowhere is not a folder (expected minilm or a folder)");
  EXPECT_EQ(test::error_of([&] { find_encoder(dir_); }),
            dir_ + ": no vocab.txt (a BERT WordPiece vocabulary)");
  write("vocab.txt", "[PAD]\n");
  EXPECT_EQ(test::error_of([&] { find_encoder(dir_); }),
            dir_ + ": no model.safetensors or pytorch_model.bin");
  write("model.safetensors", "");
  write("config.json", R"({"model_type": "gpt2"})");
  EXPECT_EQ(test::error_of([&] { find_encoder(dir_); }),
            dir_ + "/config.json: model_type 'gpt2' is not supported (bert only)");
  write("config.json", R"({"model_type": "bert", "vocab_size": 10})");
  EXPECT_EQ(test::error_of([&] { find_encoder(dir_); }), dir_ + "/config.json: no \"hidden_size\"");
}

TEST(Bert, MissingWeightsAreListed) {
  TextOptions o;
  o.arch = "bert";
  o.vocab = 10, o.dim = 8, o.hidden = 16, o.layers = 1, o.heads = 2, o.max_length = 4;
  TextNet net(o);
  std::map<std::string, at::Tensor> weights = {
      {"embeddings.word_embeddings.weight", torch::ones({10, 8})},
      {"embeddings.position_embeddings.weight", torch::ones({5, 8})}};
  const std::string message = test::error_of([&] { load_encoder_weights(*net, weights); });
  EXPECT_EQ(
      message.rfind("pretrained weights: missing embeddings.token_type_embeddings.weight; ", 0), 0u)
      << message;
  EXPECT_NE(message.find("more"), std::string::npos) << message;
}

}  // namespace
}  // namespace deepcart::text
