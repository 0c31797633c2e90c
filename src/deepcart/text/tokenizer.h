// Text to ids for the text models: Unicode normalisation, a script-aware pre-tokeniser that works
// for Chinese and English alike, and a vocabulary (whole words, or SentencePiece unigram/BPE)
// that is trained on the training texts and travels inside the model file as one blob.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace deepcart::text {

class SentencePieceModel;
class WordPiece;

// NFKC normalisation (utf8proc) then Unicode case folding, so "ＡＢＣ" == "abc" and "，" == ",".
// Invalid UTF-8 -> Error "text: invalid UTF-8 at byte N" (N = 0-based offset of the first bad
// byte).
std::string normalize(const std::string& utf8);

// Splits normalised text into pieces:
// - CJK ideographs (with extensions and compatibility ideographs), Hiragana, Katakana and Hangul
//   syllables: one piece per character, since these scripts do not separate words by spaces;
// - runs of letters, digits and combining marks of other scripts are words; an apostrophe (' or
//   U+2019) between two word characters stays inside ("don't", "rock'n'roll");
// - every other visible character (punctuation, symbols, emoji) is its own piece; an emoji keeps
//   its variation selector, skin tone and ZWJ-joined parts, and flag pairs stay together;
// - whitespace, control and invisible format characters (ZWSP, a BOM inside the text) separate
//   pieces and are dropped.
std::vector<std::string> pre_tokenize(const std::string& normalized);

struct TokenizerOptions {
  // words (pre_tokenize + vocabulary) | unigram | bpe (SentencePiece) | wordpiece (a pretrained
  // BERT's vocabulary, wordpiece.h: never trained here)
  std::string kind = "words";
  int64_t vocab_size = 30000;  // upper bound for words; the target for SentencePiece (a small
                               // corpus may give fewer: hard_vocab_limit=false)
  int64_t min_count = 1;       // words: pieces seen fewer times are unknown
  int64_t max_length = 256;    // encode() truncates to this many ids
  // SentencePiece: at most this many characters of training text, taken evenly across the texts.
  // 0 = automatic: 2,000,000 for unigram; for bpe 1.5e10 / vocab_size (500,000 at 30000), capped
  // at 2,000,000, because the BPE trainer of SentencePiece 0.1.97 costs about characters x vocab.
  int64_t max_training_chars = 0;
};

struct Encoded {
  std::vector<int64_t> ids;  // 0 = padding (never produced), 1 = unknown, others = vocabulary
  // Same length as ids: the text of each id, for explanations. Unknown words keep their own text
  // (not "<unk>"). SentencePiece's word-start mark U+2581 becomes a space, so concatenating the
  // pieces gives the normalised text back (with a leading space).
  std::vector<std::string> pieces;
};

class Tokenizer {
 public:
  static constexpr int64_t kPad = 0;
  static constexpr int64_t kUnknown = 1;

  Tokenizer() = default;  // empty vocabulary: every piece is unknown
  // Throws Error for bad options (unknown kind, vocab_size < 3, min_count < 1, max_length < 1,
  // max_training_chars < 0) and when SentencePiece cannot train on the texts (its message).
  static Tokenizer train(const std::vector<std::string>& texts, const TokenizerOptions& options);
  // A pretrained BERT's WordPiece vocabulary (vocab.txt): ids are the model's own, with [CLS]
  // first and [SEP] last, at most max_length ids in all.
  static Tokenizer wordpiece(const std::filesystem::path& vocab_txt, int64_t max_length);

  // normalize + split + lookup, truncated. wordpiece: BERT's own normalisation; the pieces are
  // the vocabulary's ("##" marks a piece that continues a word).
  Encoded encode(const std::string& text) const;
  std::vector<int64_t> ids(const std::string& text) const { return encode(text).ids; }
  int64_t vocab_size() const;  // including the 2 reserved ids (wordpiece: the model's own)
  bool is_wordpiece() const { return wordpiece_ != nullptr; }
  // "<pad>", "<unk>", or the piece; Error for an id outside [0, vocab_size()).
  const std::string& piece(int64_t id) const;
  const TokenizerOptions& options() const;

  // The whole tokenizer (options, vocabulary, SentencePiece model proto) as bytes, for a
  // ModelFile blob. deserialize checks magic, version, lengths and a checksum and throws Error
  // "tokenizer blob: ..." on a corrupt blob.
  std::string serialize() const;
  static Tokenizer deserialize(const std::string& bytes);

 private:
  bool is_sentencepiece() const { return sp_ != nullptr; }
  void build_index();  // vocabulary -> id map for "words"
  void load_sentencepiece(const std::string& model_proto);
  Encoded encode_words(const std::string& normalized) const;
  Encoded encode_sentencepiece(const std::string& normalized) const;

  TokenizerOptions options_;
  std::vector<std::string> pieces_ = {"<pad>", "<unk>"};  // by id
  std::unordered_map<std::string, int64_t> index_;        // words only: piece -> id
  // SentencePiece kinds only. Shared because the processor cannot be copied; it is never
  // modified after loading, and its Encode is const.
  std::shared_ptr<const SentencePieceModel> sp_;
  std::string sp_model_;                        // serialized ModelProto, kept for serialize()
  std::shared_ptr<const WordPiece> wordpiece_;  // wordpiece only
};

}  // namespace deepcart::text
