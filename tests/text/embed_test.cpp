// Sentence embeddings and semantic search: raw sentences through SentenceEncoder("minilm")
// (WordPiece + BERT + pooling, end to end) against sentence-transformers' embeddings written once
// by encoder_reference/make_reference.py; the text index (search, save/load, the encoder check);
// the text file readers and the .npy writer.
#include "deepcart/text/embed.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>

#include "deepcart/core/model_file.h"
#include "deepcart/core/safetensors.h"
#include "deepcart/text/net.h"
#include "deepcart/text/pretrained.h"
#include "deepcart/text/text_index.h"
#include "error_of.h"
#include "pretrained_encoder.h"
#include "temp_dir.h"

namespace deepcart::text {
namespace {

using test::error_of;

constexpr double kTolerance = 1e-4;  // the bar for sentence embeddings

std::string from_hex(const std::string& hex) {
  std::string bytes;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    bytes += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return bytes;
}

// MiniLM, loaded once for the whole binary (copies share the weights).
const SentenceEncoder& minilm() {
  static const SentenceEncoder encoder = SentenceEncoder::load("minilm");
  return encoder;
}

// A BERT of another shape, saved the old way (pytorch_model.bin: names under "bert.", LayerNorm
// as gamma/beta, a classifier beside it), written once by encoder_reference/make_tiny_bin.py
// with transformers' own BertModel: no installed encoder needed.
class TinyBert : public test_data::TempDirTest {};

TEST_F(TinyBert, PyTorchBinWeightsGiveTransformersEmbeddings) {
  const auto dir = test_data::encoder_reference_dir() / "tiny_bert";
  const PretrainedEncoder found = find_encoder(dir.string());
  EXPECT_EQ(found.weights.filename(), "pytorch_model.bin");
  EXPECT_EQ(found.options.dim, 32);
  EXPECT_EQ(found.options.layers, 2);
  EXPECT_EQ(found.options.heads, 4);
  EXPECT_EQ(found.options.hidden, 48);
  EXPECT_DOUBLE_EQ(found.options.norm_eps, 1e-7);
  const auto weights = read_encoder_weights(found);
  EXPECT_EQ(weights.count("embeddings.word_embeddings.weight"), 1u);  // "bert." taken off

  std::ifstream in(dir / "reference.json");
  const auto reference = nlohmann::json::parse(in);
  const auto texts = reference.at("sentences").get<std::vector<std::string>>();
  const SentenceEncoder encoder = SentenceEncoder::load(dir.string());
  for (size_t i = 0; i < texts.size(); ++i)
    EXPECT_EQ(encoder.tokenizer().ids(texts[i]),
              reference.at("ids")[i].get<std::vector<int64_t>>());
  const at::Tensor got = encoder.embed(texts);
  at::Tensor expected = torch::empty({static_cast<int64_t>(texts.size()), 32});
  for (size_t i = 0; i < texts.size(); ++i) {
    expected[static_cast<int64_t>(i)] =
        torch::tensor(reference.at("embeddings")[i].get<std::vector<float>>());
  }
  ASSERT_EQ(got.sizes(), expected.sizes());
  EXPECT_LT((got - expected).abs().max().item<double>(), 1e-5);

  // Not a state dict: the file is named.
  for (const char* f : {"config.json", "vocab.txt"})
    std::filesystem::copy_file(dir / f, std::filesystem::path(dir_) / f);
  write("pytorch_model.bin", "not a pickle");
  const std::string message = error_of([&] { read_encoder_weights(find_encoder(dir_)); });
  EXPECT_EQ(message.rfind(dir_ + "/pytorch_model.bin: not a PyTorch state dict (", 0), 0u)
      << message;
}

TEST(SentenceEncoder, RawSentencesGiveSentenceTransformersEmbeddings) {
  REQUIRE_ENCODER(dir);
  const auto ref_dir = test_data::encoder_reference_dir();
  std::vector<nlohmann::json> sentences;
  std::ifstream in(ref_dir / "sentences.jsonl");
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) sentences.push_back(nlohmann::json::parse(line));
  }
  ASSERT_EQ(sentences.size(), 325u);
  std::ifstream meta_in(ref_dir / "embedding_sentences.json");
  const auto meta = nlohmann::json::parse(meta_in);
  const auto indices = meta.at("indices").get<std::vector<int64_t>>();
  ASSERT_EQ(indices.size(), 41u);
  // The raw bytes where a sentence came from invalid UTF-8 (Python saw U+FFFD there).
  std::vector<std::string> texts;
  int64_t raw = 0;
  for (int64_t i : indices) {
    const auto& s = sentences[i];
    raw += s.contains("bytes_hex");
    texts.push_back(s.contains("bytes_hex") ? from_hex(s["bytes_hex"].get<std::string>())
                                            : s["text"].get<std::string>());
  }
  EXPECT_GE(raw, 1) << "at least one embedded sentence is invalid UTF-8";
  const at::Tensor expected =
      safetensors_read(ref_dir / "embeddings.safetensors").at("embeddings");  // (41, 384)

  const SentenceEncoder& encoder = minilm();
  EXPECT_EQ(encoder.dim(), 384);
  EXPECT_EQ(encoder.max_length(), meta.at("max_seq_length").get<int64_t>());
  // Small batches: several length-sorted batches, put back in input order.
  for (int64_t batch : {64, 5}) {
    EmbedOptions o;
    o.batch_size = batch;
    const at::Tensor got = encoder.embed(texts, o);
    ASSERT_EQ(got.sizes(), expected.sizes());
    const double worst = (got - expected).abs().max().item<double>();
    EXPECT_LT(worst, kTolerance) << "batch " << batch;
    std::printf("41 raw sentences, batches of %lld: max |difference| %.2e\n",
                static_cast<long long>(batch), worst);
    EXPECT_TRUE(torch::allclose(got.norm(2, 1), torch::ones({41}), 0, 1e-5));
  }
  EXPECT_EQ(encoder.embed({}).sizes(), (std::vector<int64_t>{0, 384}));
}

class TextIndexTest : public test_data::TempDirTest {
 protected:
  const std::vector<std::string> answers_ = {
      "How do I reset my password?", "What payment methods do you accept?",
      "When will my order arrive?", "How can I return a product for a refund?",
      "Do you ship internationally?"};
  const std::vector<std::string> ids_ = {"password", "payment", "delivery", "refund", "shipping"};
  const std::vector<std::string> questions_ = {"I forgot my password", "can I pay by credit card",
                                               "I want my money back", "do you deliver to Canada",
                                               "where is my package"};
  // The id of each question's answer.
  const std::vector<std::string> expected_ = {"password", "payment", "refund", "shipping",
                                              "delivery"};
};

TEST_F(TextIndexTest, FindsTheAnswerWithSimilarityEqualToTheDotProduct) {
  REQUIRE_ENCODER(dir);
  TextIndex index = TextIndex::build(minilm(), answers_, ids_);
  EXPECT_EQ(index.size(), 5);
  EXPECT_EQ(index.encoder_source(), "minilm");
  const auto found = index.search(questions_, 3);
  ASSERT_EQ(found.size(), 5u);
  const at::Tensor q = minilm().embed(questions_);
  const at::Tensor dots = torch::matmul(q, index.embeddings().t());  // (5, 5)
  for (size_t i = 0; i < questions_.size(); ++i) {
    ASSERT_EQ(found[i].size(), 3u);
    EXPECT_EQ(index.ids()[found[i][0].item], expected_[i]) << questions_[i];
    for (size_t j = 0; j < 3; ++j) {
      EXPECT_NEAR(found[i][j].similarity, dots[i][found[i][j].item].item<float>(), 1e-5);
      if (j > 0) {
        EXPECT_LE(found[i][j].similarity, found[i][j - 1].similarity);
      }
    }
  }
  // The index's own rows are the texts' embeddings.
  EXPECT_LT((index.embeddings() - minilm().embed(answers_)).abs().max().item<double>(), 1e-6);
  const nlohmann::json j = index.to_json("I forgot my password", found[0]);
  EXPECT_EQ(j["query"], "I forgot my password");
  EXPECT_EQ(j["results"][0]["id"], "password");
  EXPECT_EQ(j["results"][0]["text"], "How do I reset my password?");
  EXPECT_NEAR(j["results"][0]["similarity"].get<double>(), found[0][0].similarity, 1e-7);
  // Without ids, the row numbers name the texts; FAISS answers the same on a forced graph.
  TextIndex plain = TextIndex::build(minilm(), answers_);
  EXPECT_EQ(plain.ids(), (std::vector<std::string>{"0", "1", "2", "3", "4"}));
  plain.set_faiss_above(2);
  ASSERT_TRUE(plain.uses_faiss());
  const auto again = plain.search(questions_, 1);
  for (size_t i = 0; i < questions_.size(); ++i) EXPECT_EQ(again[i][0].item, found[i][0].item);
}

TEST_F(TextIndexTest, SavesAndLoadsWithIdenticalResults) {
  REQUIRE_ENCODER(dir);
  const TextIndex index = TextIndex::build(minilm(), answers_, ids_);
  const std::string path = dir_ + "/answers.dti";
  index.save(path);
  EXPECT_LT(std::filesystem::file_size(path), 20000u) << "embeddings and texts, not the encoder";
  const TextIndex loaded = TextIndex::load(path);
  EXPECT_EQ(loaded.texts(), answers_);
  EXPECT_EQ(loaded.ids(), ids_);
  EXPECT_TRUE(torch::equal(loaded.embeddings(), index.embeddings()));
  EXPECT_EQ(loaded.encoder().fingerprint(), minilm().fingerprint());
  const auto a = index.search(questions_, 5), b = loaded.search(questions_, 5);
  for (size_t i = 0; i < a.size(); ++i) {
    for (size_t j = 0; j < 5; ++j) {
      EXPECT_EQ(a[i][j].item, b[i][j].item);
      EXPECT_EQ(a[i][j].similarity, b[i][j].similarity);
    }
  }
  const nlohmann::json r = search_index({path, "", {"I forgot my password"}, 2, {}});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0]["results"].size(), 2u);
  EXPECT_EQ(r[0]["results"][0]["id"], "password");
  const std::string lines = describe_search(r);
  EXPECT_EQ(lines.rfind("I forgot my password\n  0.", 0), 0u) << lines;
  EXPECT_NE(lines.find("password                 How do I reset my password?\n"), std::string::npos)
      << lines;
}

// A text ModelFile as `text train --model minilm` writes it, around MiniLM's weights;
// `change` edits the network before it is stored.
std::string write_bert_model(const std::string& path,
                             const std::function<void(TextNetImpl&)>& change = {}) {
  const PretrainedEncoder pretrained = find_encoder("minilm");
  TextOptions o = pretrained.options;
  o.classes = 3;
  TextNet net(o);
  load_encoder_weights(*net, read_encoder_weights(pretrained));
  if (change) change(*net);
  ModelFile f = ModelFile::create("text", "bert", o, {{"labels", {"a", "b", "c"}}});
  f.add_module("model/", *net);
  f.blobs["tokenizer"] = Tokenizer::wordpiece(pretrained.vocab, 128).serialize();
  model_file_write(f, path);
  return path;
}

TEST_F(TextIndexTest, AFineTunedModelEmbedsWithItsOwnWeightsAndTheIndexChecksThem) {
  REQUIRE_ENCODER(dir);
  // The same encoder weights (a head-only fine-tune): the same fingerprint and embeddings.
  const std::string same = write_bert_model(dir_ + "/head-only.dcm");
  const SentenceEncoder head_only = SentenceEncoder::load(same);
  EXPECT_EQ(head_only.fingerprint(), minilm().fingerprint());
  EXPECT_EQ(head_only.max_length(), 128) << "the model's own tokenizer";
  EXPECT_LT((head_only.embed(answers_) - minilm().embed(answers_)).abs().max().item<double>(),
            1e-6);
  // Changed encoder weights (a full fine-tune): other embeddings, another fingerprint.
  const std::string tuned = write_bert_model(dir_ + "/tuned.dcm", [](TextNetImpl& net) {
    torch::NoGradGuard no_grad;
    net.named_parameters()["encoder.layer5.ff2.weight"].mul_(1.5);
  });
  const SentenceEncoder full = SentenceEncoder::load(tuned);
  EXPECT_NE(full.fingerprint(), minilm().fingerprint());
  EXPECT_GT((full.embed(answers_) - minilm().embed(answers_)).abs().max().item<double>(), 1e-3);

  const std::string path = dir_ + "/answers.dti";
  TextIndex::build(full, answers_, ids_).save(path);
  EXPECT_EQ(TextIndex::load(path).encoder_source(), tuned) << "stored as an absolute path";
  EXPECT_EQ(error_of([&] { TextIndex::load(path, same); }),
            path + ": built with the encoder " + tuned + " (weights " +
                full.fingerprint().substr(0, 12) + "), but " + same + " has other weights (" +
                minilm().fingerprint().substr(0, 12) +
                "): search with the encoder it was built with, or rebuild the index with "
                "`deepcart text index`");
}

TEST_F(TextIndexTest, ErrorsNameTheEncoderAndTheIndex) {
  REQUIRE_ENCODER(dir);
  EXPECT_EQ(error_of([&] { SentenceEncoder::load(dir_ + "/none.dcm"); }),
            "--encoder: " + dir_ +
                "/none.dcm does not exist (expected minilm, a sentence-transformers folder or a "
                "text model .dcm trained with --model minilm)");
  ModelFile bow = ModelFile::create("text", "bow", TextOptions{}, {{"labels", {"a", "b"}}});
  model_file_write(bow, dir_ + "/bow.dcm");
  EXPECT_EQ(error_of([&] { SentenceEncoder::load(dir_ + "/bow.dcm"); }),
            dir_ +
                "/bow.dcm: a text model of architecture 'bow' has no sentence encoder: only "
                "minilm models embed (text train --model minilm), or use --encoder minilm");
  model_file_write(
      ModelFile::create("vision", "cnn", nlohmann::json::object(), nlohmann::json::object()),
      dir_ + "/cnn.dcm");
  EXPECT_EQ(error_of([&] { SentenceEncoder::load(dir_ + "/cnn.dcm"); }),
            dir_ + "/cnn.dcm: is a 'vision' model (cnn): expected a 'text' model");

  const std::string path = dir_ + "/answers.dti";
  TextIndex::build(minilm(), answers_, ids_).save(path);
  // An index whose encoder changed since it was built.
  ModelFile f = model_file_read(path, "text-index");
  const std::string built_with = f.meta["encoder"]["fingerprint"];
  f.meta["encoder"]["fingerprint"] = std::string(64, '0');
  model_file_write(f, path);
  EXPECT_EQ(error_of([&] { TextIndex::load(path); }),
            path +
                ": built with the encoder minilm (weights 000000000000), but minilm has other "
                "weights (" +
                built_with.substr(0, 12) +
                "): search with the encoder it was built with, or rebuild the index with "
                "`deepcart text index`");
  f.meta["encoder"]["source"] = dir_ + "/moved.dcm";
  model_file_write(f, path);
  EXPECT_EQ(error_of([&] {
              TextIndex::load(path);
            }).rfind(path + ": its encoder: --encoder: " + dir_ + "/moved.dcm does not exist", 0),
            0u);
  EXPECT_EQ(error_of([&] { TextIndex::load(dir_ + "/bow.dcm"); }),
            dir_ + "/bow.dcm: is a 'text' model (bow): expected a 'text-index' model");
  EXPECT_EQ(error_of([&] { TextIndex::build(minilm(), {}); }), "text index: no texts to index");
  EXPECT_EQ(error_of([&] {
              TextIndex::build(minilm(), {"a", "b"}, {"x"});
            }),
            "text index: 1 ids for 2 texts");
  EXPECT_EQ(error_of([&] {
              TextIndex::build(minilm(), {"ok", "bad \xff"});
            }),
            "text 1: invalid UTF-8 at byte 4");
  EXPECT_EQ(error_of([&] {
              search_index({path, "", {}, 5});
            }),
            "no question given: pass it as an argument or with --file");
}

class TextFileTest : public test_data::TempDirTest {};

TEST_F(TextFileTest, LinesTablesAndIds) {
  const TextFile lines =
      read_texts(write("q.txt", "\xEF\xBB\xBFwhere is it?\r\n\n  \nrefund\n"), {});
  EXPECT_EQ(lines.texts, (std::vector<std::string>{"where is it?", "refund"}));
  EXPECT_TRUE(lines.ids.empty());
  EXPECT_EQ(lines.report.summary(), "4 rows, 2 kept, 2 empty texts (lines 2, 3)");
  const TextFile table = read_texts(
      write("a.csv", "sku,title\n17,Red dress\n,No id\n9,Blue shirt\n8,\n"), {"title"}, "sku");
  EXPECT_EQ(table.texts, (std::vector<std::string>{"Red dress", "Blue shirt"}));
  EXPECT_EQ(table.ids, (std::vector<std::string>{"17", "9"}));
  EXPECT_EQ(table.summary(), "4 rows, 2 kept, 1 empty text (line 5), 1 empty id (line 3)");
  EXPECT_EQ(error_of([&] { read_texts(dir_ + "/a.csv", {}); }),
            dir_ + "/a.csv: a CSV, TSV or JSONL file needs --text-col (the column to read)");
  EXPECT_EQ(error_of([&] { read_texts(dir_ + "/q.txt", {}, "sku"); }),
            "--id-col: needs --text-col (a CSV, TSV or JSONL file)");
  const std::string bad = write("bad.txt", "fine\nnot \xc3\x28 fine\n");
  EXPECT_EQ(error_of([&] { read_texts(bad, {}); }), bad + ":2: invalid UTF-8 at byte 4");
  EXPECT_EQ(error_of([&] { read_texts(dir_ + "/none.txt", {}); }), dir_ + "/none.txt: cannot open");
}

TEST_F(TextFileTest, NpyHasNumpysHeaderAndTheRows) {
  const at::Tensor rows = torch::arange(6, torch::kFloat).reshape({2, 3}) / 8;
  const std::string path = dir_ + "/x.npy";
  write_npy(path, rows);
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GE(bytes.size(), 10u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  const size_t header =
      static_cast<unsigned char>(bytes[8]) + 256 * static_cast<unsigned char>(bytes[9]);
  EXPECT_EQ((10 + header) % 64, 0u);
  EXPECT_EQ(bytes.substr(10, header)
                .rfind("{'descr': '<f4', 'fortran_order': False, "
                       "'shape': (2, 3), }",
                       0),
            0u);
  EXPECT_EQ(bytes[10 + header - 1], '\n');
  ASSERT_EQ(bytes.size(), 10 + header + 6 * sizeof(float));
  std::vector<float> values(6);
  std::memcpy(values.data(), bytes.data() + 10 + header, 6 * sizeof(float));
  EXPECT_EQ(values, (std::vector<float>{0, 0.125f, 0.25f, 0.375f, 0.5f, 0.625f}));
}

}  // namespace
}  // namespace deepcart::text
