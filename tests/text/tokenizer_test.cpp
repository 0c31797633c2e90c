// Tokenizer contract: normalisation and pre-tokenisation of Chinese, English and emoji, the words
// vocabulary (counts, ties, min_count, unknowns, truncation), SentencePiece unigram/BPE training,
// and that a serialised tokenizer gives the same ids while a corrupt blob is refused.
#include "deepcart/text/tokenizer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "deepcart/core/error.h"
#include "deepcart/text/text_data.h"
#include "error_of.h"
#include "shared_data.h"

namespace deepcart::text {
namespace {

using Pieces = std::vector<std::string>;
using Ids = std::vector<int64_t>;

using test::error_of;

Pieces split(const std::string& text) { return pre_tokenize(normalize(text)); }

// ---- normalize / pre_tokenize ----------------------------------------------------------------

TEST(NormalizeTest, FullWidthLettersAndDigitsBecomeAscii) {
  EXPECT_EQ(normalize("ＡＢＣ１２３"), "abc123");
  EXPECT_EQ(split("ＡＢＣ１２３"), (Pieces{"abc123"}));
}

TEST(NormalizeTest, CaseFoldsBeyondAscii) {
  EXPECT_EQ(normalize("Straße ÄÖÜ ΣΊΣΥΦΟΣ"), "strasse äöü σίσυφοσ");
  EXPECT_EQ(normalize("ﬁne ①"), "fine 1");  // compatibility ligature and circled digit
}

TEST(NormalizeTest, InvalidUtf8NamesTheFirstBadByte) {
  EXPECT_EQ(error_of([] { normalize(std::string("ab\xff") + "cd"); }),
            "text: invalid UTF-8 at byte 2");
  // A truncated sequence after a valid 3-byte character.
  EXPECT_EQ(error_of([] { normalize("好\xe4\xbd"); }), "text: invalid UTF-8 at byte 3");
  EXPECT_EQ(error_of([] { normalize("\xc0\xaf"); }), "text: invalid UTF-8 at byte 0");  // overlong
  EXPECT_EQ(error_of([] { normalize("x\xed\xa0\x80"); }),
            "text: invalid UTF-8 at byte 1");  // surrogate
  EXPECT_EQ(error_of([] { pre_tokenize("ok\x80"); }), "text: invalid UTF-8 at byte 2");
}

TEST(PreTokenizeTest, MixedChineseAndEnglish) {
  // NFKC maps the full-width comma and exclamation mark to ASCII.
  EXPECT_EQ(split("我喜欢这件T恤，很舒服! Great fit"),
            (Pieces{"我", "喜", "欢", "这", "件", "t", "恤", ",", "很", "舒", "服", "!", "great",
                    "fit"}));
  EXPECT_EQ(split("2019年买的iPhone11"), (Pieces{"2019", "年", "买", "的", "iphone11"}));
}

TEST(PreTokenizeTest, ApostrophesStayInsideWordsOnly) {
  EXPECT_EQ(split("Don't 'quote' rock'n'roll don’t"),
            (Pieces{"don't", "'", "quote", "'", "rock'n'roll", "don’t"}));
  EXPECT_EQ(split("it's... 5'8\""), (Pieces{"it's", ".", ".", ".", "5'8", "\""}));
}

TEST(PreTokenizeTest, EmojiArePiecesAndKeepTheirModifiers) {
  EXPECT_EQ(split("great👍👍!!"), (Pieces{"great", "👍", "👍", "!", "!"}));
  // Skin tone, a ZWJ family, a flag (two regional indicators) and a heart with VS16.
  EXPECT_EQ(split("👍🏽 👨‍👩‍👧 🇨🇳 ❤️ok"),
            (Pieces{"👍🏽", "👨‍👩‍👧", "🇨🇳", "❤️", "ok"}));
  EXPECT_EQ(split("$9.99 €5"), (Pieces{"$", "9", ".", "99", "€", "5"}));
}

TEST(PreTokenizeTest, KanaAndHangulAreOneCharacterEach) {
  EXPECT_EQ(split("ありがとう カード 감사"),
            (Pieces{"あ", "り", "が", "と", "う", "カ", "ー", "ド", "감", "사"}));
  EXPECT_EQ(split("ｶｰﾄﾞ"), (Pieces{"カ", "ー", "ド"}));  // half-width katakana via NFKC
}

TEST(PreTokenizeTest, WhitespaceAndInvisibleCharactersSeparate) {
  // Tab, line break, ideographic space, zero-width space and a BOM inside the text.
  EXPECT_EQ(split("a\tb\nc　d\u200be\ufefff"), (Pieces{"a", "b", "c", "d", "e", "f"}));
  EXPECT_EQ(split("  \n "), Pieces{});
  EXPECT_EQ(split("Привет, мир"), (Pieces{"привет", ",", "мир"}));
}

// ---- words ------------------------------------------------------------------------------------

TokenizerOptions words(int64_t vocab_size, int64_t min_count = 1, int64_t max_length = 256) {
  TokenizerOptions o;
  o.kind = "words";
  o.vocab_size = vocab_size;
  o.min_count = min_count;
  o.max_length = max_length;
  return o;
}

// Counts: a 3, b 2, then c, d, e once each.
const std::vector<std::string> kCorpus = {"b a c", "A b", "a e", "d"};

TEST(WordsTokenizerTest, MostFrequentFirstAndTiesByBytes) {
  const Tokenizer tok = Tokenizer::train(kCorpus, words(5));
  ASSERT_EQ(tok.vocab_size(), 5);
  EXPECT_EQ(tok.piece(0), "<pad>");
  EXPECT_EQ(tok.piece(1), "<unk>");
  EXPECT_EQ(tok.piece(2), "a");
  EXPECT_EQ(tok.piece(3), "b");
  EXPECT_EQ(tok.piece(4), "c");  // c, d, e tie at 1: bytes decide
  EXPECT_EQ(error_of([&] { tok.piece(5); }), "tokenizer: expected an id in [0, 5), found 5");
}

TEST(WordsTokenizerTest, MinCountDropsRarePieces) {
  const Tokenizer tok = Tokenizer::train(kCorpus, words(100, 2));
  EXPECT_EQ(tok.vocab_size(), 4);
  EXPECT_EQ(tok.ids("a b c"), (Ids{2, 3, 1}));
}

TEST(WordsTokenizerTest, UnseenWordsAreUnknownAndKeepTheirText) {
  const Tokenizer tok = Tokenizer::train(kCorpus, words(5));
  const Encoded e = tok.encode("A z D!");
  EXPECT_EQ(e.ids, (Ids{2, 1, 1, 1}));
  EXPECT_EQ(e.pieces, (Pieces{"a", "z", "d", "!"}));
  EXPECT_EQ(tok.ids(""), Ids{});
}

TEST(WordsTokenizerTest, EncodeTruncatesToMaxLength) {
  const Tokenizer tok = Tokenizer::train(kCorpus, words(5, 1, 3));
  const Encoded e = tok.encode("a b a b a");
  EXPECT_EQ(e.ids, (Ids{2, 3, 2}));
  EXPECT_EQ(e.pieces, (Pieces{"a", "b", "a"}));
}

TEST(WordsTokenizerTest, DefaultTokenizerKnowsOnlyTheReservedIds) {
  const Tokenizer tok;
  EXPECT_EQ(tok.vocab_size(), 2);
  EXPECT_EQ(tok.ids("hello world"), (Ids{1, 1}));
  EXPECT_EQ(Tokenizer::deserialize(tok.serialize()).vocab_size(), 2);
}

TEST(WordsTokenizerTest, BadOptionsAreRefused) {
  TokenizerOptions o;
  o.kind = "chars";
  EXPECT_EQ(error_of([&] { Tokenizer::train(kCorpus, o); }),
            "tokenizer options: expected kind words, unigram, bpe or wordpiece, found 'chars'");
  EXPECT_EQ(error_of([&] { Tokenizer::train(kCorpus, words(2)); }),
            "tokenizer options: expected vocab_size in [3, 2^31] (2 ids are reserved), found 2");
  EXPECT_EQ(error_of([&] { Tokenizer::train(kCorpus, words(10, 0)); }),
            "tokenizer options: expected min_count >= 1, found 0");
  EXPECT_EQ(error_of([&] { Tokenizer::train(kCorpus, words(10, 1, 0)); }),
            "tokenizer options: expected max_length >= 1, found 0");
}

TEST(WordsTokenizerTest, SerializeRoundTripGivesIdenticalIds) {
  const Tokenizer tok =
      Tokenizer::train({"我喜欢这件T恤", "great fit", "很舒服 great"}, words(100, 1, 7));
  const Tokenizer back = Tokenizer::deserialize(tok.serialize());
  EXPECT_EQ(back.vocab_size(), tok.vocab_size());
  EXPECT_EQ(back.options().kind, "words");
  EXPECT_EQ(back.options().max_length, 7);
  for (int64_t id = 0; id < tok.vocab_size(); ++id) EXPECT_EQ(back.piece(id), tok.piece(id));
  for (const char* text : {"我喜欢 great fit!", "很舒服很舒服很舒服", "unknown"}) {
    EXPECT_EQ(back.ids(text), tok.ids(text)) << text;
  }
  EXPECT_EQ(back.serialize(), tok.serialize());
}

TEST(WordsTokenizerTest, CorruptBlobIsAnError) {
  const std::string blob = Tokenizer::train(kCorpus, words(5)).serialize();
  std::string flipped = blob;
  flipped[blob.size() / 2] ^= 0x20;
  const std::string message = error_of([&] { Tokenizer::deserialize(flipped); });
  EXPECT_EQ(message.rfind("tokenizer blob: checksum mismatch (stored ", 0), 0u) << message;
  EXPECT_EQ(message.substr(message.size() - 22), "): the blob is corrupt") << message;

  EXPECT_EQ(error_of([&] { Tokenizer::deserialize(blob.substr(0, 10)); }),
            "tokenizer blob: expected at least 20 bytes, found 10");
  EXPECT_EQ(error_of([&] { Tokenizer::deserialize("PK\x03\x04" + blob.substr(4)); }),
            "tokenizer blob: expected magic 'DCTK', found 'PK\\x03\\x04'");
  std::string version = blob;
  version[4] = 2;
  EXPECT_EQ(error_of([&] { Tokenizer::deserialize(version); }),
            "tokenizer blob: expected version 1, found 2");
  const std::string longer = error_of([&] { Tokenizer::deserialize(blob + "x"); });
  EXPECT_EQ(longer.rfind("tokenizer blob: checksum mismatch", 0), 0u) << longer;
}

// ---- SentencePiece ----------------------------------------------------------------------------

// A few hundred reviews from a fixed generator: English words and Chinese phrases, so both the
// space-separated and the unsegmented path of SentencePiece are exercised.
std::vector<std::string> generated_corpus() {
  const std::vector<std::string> english = {
      "the",     "dress",   "fits",    "perfectly",   "fabric",   "is",        "soft",
      "but",     "color",   "faded",   "after",       "washing",  "shipping",  "was",
      "fast",    "size",    "runs",    "small",       "large",    "love",      "this",
      "shirt",   "quality", "cheap",   "expensive",   "return",   "refund",    "order",
      "arrived", "late",    "damaged", "great",       "value",    "would",     "recommend",
      "not",     "worth",   "money",   "comfortable", "material", "stitching", "button"};
  const std::vector<std::string> chinese = {"质量很好",   "物流很快", "非常舒服", "尺码偏小",
                                            "颜色好看",   "性价比高", "不推荐",   "退货了",
                                            "客服态度好", "面料柔软", "包装破损", "值得购买"};
  std::vector<std::string> texts;
  uint64_t state = 12345;
  auto next = [&](size_t n) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<size_t>((state >> 33) % n);
  };
  for (int i = 0; i < 400; ++i) {
    std::string text;
    const size_t n = 4 + next(10);
    for (size_t k = 0; k < n; ++k) {
      text += (k ? " " : "") + english[next(english.size())];
    }
    if (i % 2 == 0) {  // two draws in two statements: the order of + operands is unspecified
      text += "，" + chinese[next(chinese.size())];
      text += chinese[next(chinese.size())];
    }
    texts.push_back(text + (i % 3 == 0 ? "!" : "."));
  }
  return texts;
}

TokenizerOptions subword(const std::string& kind, int64_t vocab_size) {
  TokenizerOptions o;
  o.kind = kind;
  o.vocab_size = vocab_size;
  return o;
}

void expect_trains_and_round_trips(const std::string& kind) {
  const std::vector<std::string> corpus = generated_corpus();
  const Tokenizer tok = Tokenizer::train(corpus, subword(kind, 150));
  // The corpus is rich enough to reach the target exactly (hard_vocab_limit=false would let a
  // poorer one stop short).
  EXPECT_EQ(tok.vocab_size(), 150) << kind;
  EXPECT_EQ(tok.piece(0), "<pad>");
  EXPECT_EQ(tok.piece(1), "<unk>");

  const Tokenizer back = Tokenizer::deserialize(tok.serialize());
  EXPECT_EQ(back.vocab_size(), tok.vocab_size());
  EXPECT_EQ(back.options().kind, kind);
  for (size_t i = 0; i < corpus.size(); i += 7) EXPECT_EQ(back.ids(corpus[i]), tok.ids(corpus[i]));

  // Concatenated pieces give the normalised text back; an unseen character is unknown (1).
  const Encoded e = tok.encode("The dress，质量很好 Ω!");
  std::string joined;
  for (const std::string& p : e.pieces) joined += p;
  EXPECT_EQ(joined, " the dress,质量很好 ω!") << kind;
  ASSERT_EQ(e.ids.size(), e.pieces.size());
  for (size_t i = 0; i < e.ids.size(); ++i) {
    EXPECT_EQ(e.ids[i] == 1, e.pieces[i] == "ω") << kind << " piece '" << e.pieces[i] << "'";
    EXPECT_GE(e.ids[i], 1);
    EXPECT_LT(e.ids[i], tok.vocab_size());
  }
}

TEST(SentencePieceTokenizerTest, UnigramTrainsNearTheRequestedSizeAndRoundTrips) {
  expect_trains_and_round_trips("unigram");
}

TEST(SentencePieceTokenizerTest, BpeTrainsNearTheRequestedSizeAndRoundTrips) {
  expect_trains_and_round_trips("bpe");
}

TEST(SentencePieceTokenizerTest, TrainingIsDeterministic) {
  const std::vector<std::string> corpus = generated_corpus();
  for (const char* kind : {"unigram", "bpe"}) {
    EXPECT_EQ(Tokenizer::train(corpus, subword(kind, 150)).serialize(),
              Tokenizer::train(corpus, subword(kind, 150)).serialize())
        << kind;
  }
}

TEST(SentencePieceTokenizerTest, EncodeTruncatesToMaxLength) {
  TokenizerOptions o = subword("unigram", 150);
  o.max_length = 4;
  const Tokenizer tok = Tokenizer::train(generated_corpus(), o);
  const Encoded e = tok.encode("the dress fits perfectly but the color faded after washing");
  EXPECT_EQ(e.ids.size(), 4u);
  EXPECT_EQ(e.pieces.size(), 4u);
}

TEST(SentencePieceTokenizerTest, EmptyCorpusOrTooSmallVocabularyIsAnError) {
  EXPECT_EQ(error_of([] {
              Tokenizer::train({"", "  \n"}, subword("bpe", 100));
            }),
            "tokenizer: cannot train bpe: no non-empty training text");
  // 26 distinct characters need more than 9 pieces; the rest of the message is SentencePiece's.
  const std::string message = error_of([] {
    Tokenizer::train({"我喜欢这件T恤，很舒服! Great fit", "质量很好 物流很快"},
                     subword("unigram", 10));
  });
  const std::string prefix =
      "tokenizer: cannot train unigram with vocab_size 10 (SentencePiece's 9 plus padding): ";
  EXPECT_EQ(message.substr(0, prefix.size()), prefix);
  EXPECT_NE(message.find("Vocabulary size is smaller than required_chars. 9 vs 26."),
            std::string::npos)
      << message;
}

// ---- real data --------------------------------------------------------------------------------

TEST(RealTokenizerTest, WordsOnOnlineShoppingReviews) {
  const std::string path = test_data::shared_data_dir() + "/text/online_shopping_10_cats.csv";
  REQUIRE_SHARED_DATA(path);
  const TextSet set = read_text_set(path, TextColumns{{"review"}, "label"});
  const Tokenizer tok = Tokenizer::train(set.texts, words(30000));
  EXPECT_EQ(tok.vocab_size(), 8891);  // Chinese is one piece per character: far below 30000
  const std::string review = "看的时候兴趣不大 看完也没有期待中的收获~Just so so";
  ASSERT_EQ(set.texts[3273], review);
  const Encoded e = tok.encode(review);
  EXPECT_EQ(e.ids.size(), 23u);  // 8 + 11 characters, "~", "just", "so", "so"
  EXPECT_EQ(e.pieces.back(), "so");
  EXPECT_EQ(tok.piece(2), ",");  // the full-width comma after NFKC is the most frequent piece
  EXPECT_EQ(Tokenizer::deserialize(tok.serialize()).ids(review), e.ids);
}

}  // namespace
}  // namespace deepcart::text
