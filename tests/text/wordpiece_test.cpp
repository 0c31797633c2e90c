// WordPiece (BERT's tokenizer) against Hugging Face's BertTokenizerFast for all-MiniLM-L6-v2:
// every sentence of tests/text/encoder_reference gives the reference ids, and hand-checked cases
// pin each step (accents, CJK spacing, punctuation, "##", [UNK], truncation, special tokens,
// invalid UTF-8) and the vocabulary errors. Expected ids were read off the Python tokenizer.
#include "deepcart/text/wordpiece.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "deepcart/core/error.h"
#include "error_of.h"
#include "pretrained_encoder.h"
#include "temp_dir.h"

namespace deepcart::text {
namespace {

using Ids = std::vector<int64_t>;
using Pieces = std::vector<std::string>;
using test::error_of;

constexpr size_t kReferenceSentences = 325;
constexpr int64_t kMaxLength = 256;  // all-MiniLM-L6-v2's max_seq_length

std::string join(const Pieces& pieces) {
  std::string out;
  for (const auto& p : pieces) out += (out.empty() ? "" : " ") + p;
  return out;
}

std::string from_hex(const std::string& hex) {
  std::string bytes;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    bytes += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  }
  return bytes;
}

std::vector<nlohmann::json> read_jsonl(const std::filesystem::path& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::vector<nlohmann::json> rows;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) rows.push_back(nlohmann::json::parse(line));
  }
  return rows;
}

// The bytes the C++ side gets: the raw (invalid UTF-8) bytes where the line has them.
std::string input_of(const nlohmann::json& sentence) {
  if (sentence.contains("bytes_hex")) return from_hex(sentence["bytes_hex"].get<std::string>());
  return sentence["text"].get<std::string>();
}

class MiniLmWordPieceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_ENCODER(dir);
    static const WordPiece loaded = WordPiece::from_vocab_file(dir / "vocab.txt");
    wp_ = &loaded;
  }
  Ids ids(const std::string& text, int64_t max_length = 0) const {
    return wp_->encode(text, max_length).ids;
  }
  Pieces pieces(const std::string& text, int64_t max_length = 0) const {
    return wp_->encode(text, max_length).pieces;
  }

  const WordPiece* wp_ = nullptr;
};

// ---- the reference sentences -----------------------------------------------------------------

TEST_F(MiniLmWordPieceTest, EveryReferenceSentenceGivesTheReferenceTokens) {
  const auto dir = test_data::encoder_reference_dir();
  const auto sentences = read_jsonl(dir / "sentences.jsonl");
  const auto reference = read_jsonl(dir / "tokens.jsonl");
  ASSERT_EQ(sentences.size(), kReferenceSentences);
  ASSERT_EQ(reference.size(), kReferenceSentences);

  size_t matches = 0;
  std::string first_mismatch;
  for (size_t i = 0; i < sentences.size(); ++i) {
    const std::string input = input_of(sentences[i]);
    const auto& want = reference[i];
    ASSERT_EQ(want["index"].get<size_t>(), i);
    const auto want_ids = want["ids"].get<Ids>();
    const auto want_pieces = want["tokens"].get<Pieces>();

    const WordPieceEncoded full = wp_->encode(input, 0);
    const WordPieceEncoded cut = wp_->encode(input, kMaxLength);
    Ids want_cut = want_ids;
    if (want_cut.size() > static_cast<size_t>(kMaxLength)) {
      want_cut.resize(kMaxLength - 1);
      want_cut.push_back(wp_->sep_id());
    }
    const bool same = full.ids == want_ids && full.pieces == want_pieces && cut.ids == want_cut &&
                      cut.ids.size() == want["n_ids_truncated"].get<size_t>();
    if (same) {
      ++matches;
    } else if (first_mismatch.empty()) {
      first_mismatch =
          "sentence " + std::to_string(i) + " " + sentences[i]["text"].dump() + "\n  want (" +
          std::to_string(want_pieces.size()) + ") " + join(want_pieces) + "\n  got  (" +
          std::to_string(full.pieces.size()) + ") " + join(full.pieces) + "\n  truncated: want " +
          std::to_string(want_cut.size()) + " ids, got " + std::to_string(cut.ids.size());
    }
  }
  EXPECT_EQ(matches, kReferenceSentences) << "first mismatch: " << first_mismatch;
}

// Not a pass/fail check: how fast it is, printed for the record.
// ---- hand-checked cases ------------------------------------------------------------------------

TEST_F(MiniLmWordPieceTest, SpecialIdsAreBertsOwn) {
  EXPECT_EQ(wp_->vocab_size(), 30522);
  EXPECT_EQ(wp_->pad_id(), 0);
  EXPECT_EQ(wp_->unk_id(), 100);
  EXPECT_EQ(wp_->cls_id(), 101);
  EXPECT_EQ(wp_->sep_id(), 102);
  EXPECT_EQ(wp_->piece(103), "[MASK]");
  EXPECT_TRUE(wp_->lowercase());
}

TEST_F(MiniLmWordPieceTest, AccentsAreStrippedAndCaseLowered) {
  EXPECT_EQ(ids("Café"), (Ids{101, 7668, 102}));
  EXPECT_EQ(pieces("Crème brûlée"),
            (Pieces{"[CLS]", "cr", "##eme", "br", "##ule", "##e", "[SEP]"}));
  EXPECT_EQ(pieces("e\u0301"), (Pieces{"[CLS]", "e", "[SEP]"}));          // combining acute
  EXPECT_EQ(pieces("İstanbul"), (Pieces{"[CLS]", "istanbul", "[SEP]"}));  // I + dot above
  // Per character, so a final capital sigma becomes σ, not ς.
  EXPECT_EQ(wp_->normalize_and_split("ΣΟΦΙΑΣ"), (Pieces{"σοφιασ"}));
  // Hangul syllables decompose into conjoining jamo.
  EXPECT_EQ(ids("품질"), (Ids{101, 1468, 30014, 30023, 30000, 30019, 30022, 102}));
}

TEST_F(MiniLmWordPieceTest, CjkIdeographsAreWordsOfTheirOwn) {
  EXPECT_EQ(wp_->normalize_and_split("质量好abc"), (Pieces{"质", "量", "好", "abc"}));
  EXPECT_EQ(ids("好中abc"), (Ids{101, 100, 1746, 5925, 102}));  // 好 is not in the vocabulary
}

TEST_F(MiniLmWordPieceTest, PunctuationIsSplitOff) {
  EXPECT_EQ(ids("Hello,world!!"), (Ids{101, 7592, 1010, 2088, 999, 999, 102}));
  // ASCII symbols count as punctuation too.
  EXPECT_EQ(pieces("$5^2"), (Pieces{"[CLS]", "$", "5", "^", "2", "[SEP]"}));
}

TEST_F(MiniLmWordPieceTest, ControlsAreDeletedAndUnicodeSpacesSplit) {
  EXPECT_EQ(pieces("a\u200bb"), (Pieces{"[CLS]", "ab", "[SEP]"}));      // zero-width space (Cf)
  EXPECT_EQ(pieces("x\u2028y"), (Pieces{"[CLS]", "x", "y", "[SEP]"}));  // line separator
  EXPECT_EQ(ids("   \t\n "), (Ids{101, 102}));
}

// tokenizers takes its character classes from Unicode 8.0 (see
// scripts/make_bert_unicode_tables.py): newer marks and punctuation are plain letters, and a
// few characters keep their 8.0 category.
TEST_F(MiniLmWordPieceTest, CharacterClassesAreUnicode8s) {
  EXPECT_EQ(wp_->normalize_and_split("a\u2e42b a\u2e43b"),
            (Pieces{"a", "\u2e42", "b", "a\u2e43b"}));
  EXPECT_EQ(wp_->normalize_and_split("a\u1ab0b a\u08d4b"),
            (Pieces{"ab", "a\u08d4b"}));  // Mn 7.0, 9.0
  EXPECT_EQ(wp_->normalize_and_split("a\u180eb a\u08e2b"),
            (Pieces{"ab", "a\u08e2b"}));  // Cf 6.3, 9.0
  // Mn today, Lo in 8.0 / Mc today, Mn in 8.0 / Mn today, Po in 8.0.
  EXPECT_EQ(wp_->normalize_and_split("a\u1885b a\u1734b a\U000111c9b"),
            (Pieces{"a\u1885b", "ab", "a", "\U000111c9", "b"}));
  EXPECT_EQ(ids("a\u1885b"), (Ids{101, 100, 102}));
}

TEST_F(MiniLmWordPieceTest, WordsAreCutIntoLongestPiecesWithContinuationPrefix) {
  EXPECT_EQ(ids("unaffable"), (Ids{101, 14477, 20961, 3468, 102}));
  EXPECT_EQ(pieces("unaffable"), (Pieces{"[CLS]", "una", "##ffa", "##ble", "[SEP]"}));
}

TEST_F(MiniLmWordPieceTest, UnmatchableWordIsOneUnk) {
  EXPECT_EQ(ids("good 😀x day"), (Ids{101, 2204, 100, 2154, 102}));
}

TEST_F(MiniLmWordPieceTest, WordsOverAHundredCharactersAreUnk) {
  const Ids hundred = ids(std::string(100, 'a'));
  ASSERT_EQ(hundred.size(), 52u);  // aaa, 48 x ##aa, ##a
  EXPECT_EQ(hundred[1], 13360);
  EXPECT_EQ(hundred[2], 11057);
  EXPECT_EQ(hundred[50], 2050);
  EXPECT_EQ(ids(std::string(101, 'a')), (Ids{101, 100, 102}));
  // Characters, not bytes: 100 two-byte characters are still cut into pieces.
  std::string umlauts;
  for (int i = 0; i < 100; ++i) umlauts += "\xc3\xbc";  // ü -> u
  EXPECT_NE(ids(umlauts)[1], 100);
}

TEST_F(MiniLmWordPieceTest, TruncationKeepsSepLast) {
  const std::string text = "good good good good";
  EXPECT_EQ(ids(text, 0), (Ids{101, 2204, 2204, 2204, 2204, 102}));
  EXPECT_EQ(ids(text, 6), (Ids{101, 2204, 2204, 2204, 2204, 102}));
  EXPECT_EQ(ids(text, 4), (Ids{101, 2204, 2204, 102}));
  EXPECT_EQ(ids(text, 2), (Ids{101, 102}));
  // Pieces of one word are cut too.
  EXPECT_EQ(pieces("unaffable", 3), (Pieces{"[CLS]", "una", "[SEP]"}));
  EXPECT_EQ(error_of([&] { wp_->encode(text, 1); }),
            "WordPiece max_length 1: expected 0 (no limit) or at least 2 ([CLS] and [SEP])");
}

TEST_F(MiniLmWordPieceTest, SpecialTokensInTheTextKeepTheirIds) {
  EXPECT_EQ(pieces("ab[SEP]cd"), (Pieces{"[CLS]", "ab", "[SEP]", "cd", "[SEP]"}));
  EXPECT_EQ(ids("ab[SEP]cd"), (Ids{101, 11113, 102, 3729, 102}));
  EXPECT_EQ(ids("[CLS][SEP]"), (Ids{101, 101, 102, 102}));
  // Case-sensitive: [sep] is punctuation and a word.
  EXPECT_EQ(ids("[sep] x [MASK]"), (Ids{101, 1031, 19802, 1033, 1060, 103, 102}));
  EXPECT_EQ(wp_->normalize_and_split("x[UNK]y"), (Pieces{"x", "[UNK]", "y"}));
}

TEST_F(MiniLmWordPieceTest, EmptyTextIsClsSep) {
  EXPECT_EQ(ids(""), (Ids{101, 102}));
  EXPECT_EQ(pieces(""), (Pieces{"[CLS]", "[SEP]"}));
  EXPECT_TRUE(wp_->normalize_and_split("").empty());
}

TEST_F(MiniLmWordPieceTest, InvalidUtf8BytesAreDropped) {
  const Ids cafe_au_lait{101, 24689, 8740, 21110, 2102, 102};  // caf au lai ##t
  EXPECT_EQ(ids("Caf\xe9 au lait"), cafe_au_lait);             // a Latin-1 byte
  EXPECT_EQ(ids("Caf\xef\xbf\xbd au lait"), cafe_au_lait);     // a real U+FFFD
  EXPECT_EQ(wp_->normalize_and_split("a\xc0\xaf"
                                     "b \xed\xa0\x80z \xf4\x90\x80\x80q \xe4\xb8"),
            (Pieces{"ab", "z", "q"}));  // overlong '/', surrogate, above U+10FFFF, truncated
  // A truncated sequence does not swallow the valid character after it.
  EXPECT_EQ(wp_->normalize_and_split("\xe4\xb8x\xe2\x82"), (Pieces{"x"}));
}

TEST_F(MiniLmWordPieceTest, EncodesTheSameOnManyThreads) {
  const std::string text = "Crème brûlée, 质量好! ab[SEP]cd unaffable";
  const WordPieceEncoded want = wp_->encode(text);
  std::vector<int> same(4, 0);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < same.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < 200; ++r) same[t] += wp_->encode(text).ids == want.ids;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(same, (std::vector<int>(4, 200)));
}

// ---- small vocabularies
// --------------------------------------------------------------------------

Pieces tiny_vocab() {
  return {"[PAD]", "[UNK]",  "[CLS]", "[SEP]", "un",   "##a", "##af",
          "##aff", "##able", "a",     "Ca",    "##fé", "ca",  "##fe"};
}

TEST(WordPieceTest, GreedyLongestMatchFromTheLeft) {
  const WordPiece wp = WordPiece::from_pieces(tiny_vocab());
  EXPECT_EQ(wp.encode("unaffable").pieces, (Pieces{"[CLS]", "un", "##aff", "##able", "[SEP]"}));
  EXPECT_EQ(wp.encode("unaffable").ids, (Ids{2, 4, 7, 8, 3}));
  // "un" + "##a" leaves "ffable" unmatched: the whole word is [UNK], not a partial cut.
  EXPECT_EQ(wp.encode("una unaffx").ids, (Ids{2, 4, 5, 1, 3}));
}

TEST(WordPieceTest, WithoutLowercaseAccentsAndCaseStay) {
  const WordPiece cased = WordPiece::from_pieces(tiny_vocab(), /*lowercase=*/false);
  EXPECT_FALSE(cased.lowercase());
  EXPECT_EQ(cased.encode("Café").pieces, (Pieces{"[CLS]", "Ca", "##fé", "[SEP]"}));
  const WordPiece uncased = WordPiece::from_pieces(tiny_vocab());
  EXPECT_EQ(uncased.encode("Café").pieces, (Pieces{"[CLS]", "ca", "##fe", "[SEP]"}));
}

TEST(WordPieceTest, PieceOutsideTheVocabularyIsAnError) {
  const WordPiece wp = WordPiece::from_pieces(tiny_vocab());
  EXPECT_EQ(wp.piece(4), "un");
  EXPECT_EQ(error_of([&] { wp.piece(14); }), "WordPiece id 14 is outside the vocabulary [0, 14)");
  EXPECT_EQ(error_of([&] { wp.piece(-1); }), "WordPiece id -1 is outside the vocabulary [0, 14)");
}

TEST(WordPieceTest, VocabularyWithoutSepIsRefused) {
  EXPECT_EQ(error_of([] {
              WordPiece::from_pieces({"[PAD]", "[UNK]", "[CLS]", "x"});
            }),
            "WordPiece vocabulary: no [SEP] in the vocabulary (4 pieces); expected a BERT "
            "vocabulary with [PAD] [UNK] [CLS] [SEP]");
  EXPECT_EQ(error_of([] { WordPiece::from_pieces({}); }),
            "WordPiece vocabulary: empty vocabulary, expected one WordPiece piece per line");
}

class WordPieceFileTest : public test_data::TempDirTest {};

TEST_F(WordPieceFileTest, MissingFileIsNamed) {
  const std::string path = dir_ + "/no_such_vocab.txt";
  EXPECT_EQ(error_of([&] { WordPiece::from_vocab_file(path); }),
            path + ": cannot open the WordPiece vocabulary: No such file or directory");
  EXPECT_EQ(error_of([&] { WordPiece::from_vocab_file(dir_); }),
            dir_ + ": is a folder, expected a WordPiece vocab.txt file");
}

TEST_F(WordPieceFileTest, EmptyOrIncompleteFileIsNamed) {
  const std::string empty = write("empty.txt", "");
  EXPECT_EQ(error_of([&] { WordPiece::from_vocab_file(empty); }),
            empty + ": empty vocabulary, expected one WordPiece piece per line");
  const std::string no_cls = write("no_cls.txt", "[PAD]\n[UNK]\n[SEP]\n");
  EXPECT_EQ(error_of([&] { WordPiece::from_vocab_file(no_cls); }),
            no_cls +
                ": no [CLS] in the vocabulary (3 pieces); expected a BERT vocabulary with "
                "[PAD] [UNK] [CLS] [SEP]");
}

TEST_F(WordPieceFileTest, LineNumbersAreIdsAndCrlfIsAccepted) {
  const std::string path = write("vocab.txt", "[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\nhi\r\n##ya\r\n");
  const WordPiece wp = WordPiece::from_vocab_file(path);
  EXPECT_EQ(wp.vocab_size(), 6);
  EXPECT_EQ(wp.encode("Hiya hi").ids, (Ids{2, 4, 5, 4, 3}));
  EXPECT_EQ(wp.pieces().back(), "##ya");
}

}  // namespace
}  // namespace deepcart::text
