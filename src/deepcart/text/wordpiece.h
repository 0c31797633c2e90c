// BERT's WordPiece tokenizer, as Hugging Face's BertTokenizerFast runs it: normalise the text,
// split it into words and punctuation, cut each word into the longest vocabulary pieces and wrap
// the result in [CLS] ... [SEP]. It gives the same ids as the tokenizers library (checked on
// tests/text/encoder_reference) and needs no LibTorch.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace deepcart::text {

struct WordPieceEncoded {
  std::vector<int64_t> ids;         // [CLS] piece ids ... [SEP]
  std::vector<std::string> pieces;  // the vocabulary piece of each id ("##" marks continuations)
};

// Immutable after construction, so one instance may encode on many threads at once.
class WordPiece {
 public:
  // A word longer than this many code points becomes [UNK] (tokenizers'
  // max_input_chars_per_word).
  static constexpr int64_t kMaxWordChars = 100;

  // vocab.txt of a BERT model: one piece per line, id = line number (0-based). `lowercase`
  // also strips accents (BertNormalizer with strip_accents unset). Throws deepcart::Error
  // naming the file when it cannot be read, is empty or lacks [PAD] [UNK] [CLS] or [SEP].
  static WordPiece from_vocab_file(const std::filesystem::path& vocab_txt, bool lowercase = true);
  // The same from pieces in id order (for a vocabulary kept inside a model file).
  static WordPiece from_pieces(std::vector<std::string> pieces, bool lowercase = true);

  // [CLS] + pieces + [SEP]. With max_length > 0 the pieces are cut from the right to keep at
  // most max_length ids in all, [SEP] last; 0 keeps everything. Invalid UTF-8 byte sequences
  // are dropped (the reference decodes them to U+FFFD, which its normaliser deletes).
  // [PAD] [UNK] [CLS] [SEP] [MASK] written in the text are matched first, case-sensitively,
  // and become their own ids.
  WordPieceEncoded encode(const std::string& utf8, int64_t max_length = 256) const;

  // The words WordPiece sees: normalised, split on whitespace, each punctuation character on
  // its own; special tokens in the text stay as they are ("[SEP]").
  std::vector<std::string> normalize_and_split(const std::string& utf8) const;

  int64_t vocab_size() const { return static_cast<int64_t>(pieces_.size()); }
  // The piece of `id`; throws deepcart::Error when id is outside [0, vocab_size()).
  const std::string& piece(int64_t id) const;
  const std::vector<std::string>& pieces() const { return pieces_; }
  bool lowercase() const { return lowercase_; }
  int64_t pad_id() const { return pad_id_; }
  int64_t unk_id() const { return unk_id_; }
  int64_t cls_id() const { return cls_id_; }
  int64_t sep_id() const { return sep_id_; }

 private:
  struct Word {
    std::string text;         // UTF-8, normalised
    int64_t special_id = -1;  // id of a special token written in the text, else -1
  };

  WordPiece(std::vector<std::string> pieces, bool lowercase, const std::string& source);
  std::vector<Word> split(const std::string& utf8) const;
  void split_plain(const std::string& utf8, size_t begin, size_t end,
                   std::vector<Word>& words) const;
  // Appends the pieces of one normalised word, or [UNK] when it cannot be cut.
  void encode_word(const std::string& word, std::vector<int64_t>& ids) const;

  std::vector<std::string> pieces_;
  std::unordered_map<std::string, int64_t> ids_;
  std::vector<std::pair<std::string, int64_t>> specials_;  // matched in the raw text
  size_t max_piece_bytes_ = 0;  // longest piece, "##" not counted: bounds the match attempts
  bool lowercase_ = true;
  int64_t pad_id_ = -1, unk_id_ = -1, cls_id_ = -1, sep_id_ = -1;
};

}  // namespace deepcart::text
