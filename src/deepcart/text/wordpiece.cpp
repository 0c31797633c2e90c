#include "deepcart/text/wordpiece.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <system_error>
#include <utility>

#include "deepcart/core/error.h"

namespace deepcart::text {
namespace {

struct CodeRange {
  char32_t first, last;
};
struct Decomposition {
  char32_t code;
  char32_t chars[4];  // full canonical decomposition, 0-padded
};
struct LowercaseRun {  // every step-th code point in [first, last] lowercases to itself + delta
  char32_t first, last;
  int32_t step, delta;
};
struct LowercaseLong {
  char32_t code;
  char32_t chars[2];
};

#include "deepcart/text/bert_unicode_tables.inc"

constexpr char32_t kReplacement = 0xFFFD;
constexpr char32_t kHangulFirst = 0xAC00, kHangulLast = 0xD7A3;

template <size_t N>
bool in_ranges(const CodeRange (&table)[N], char32_t c) {
  const auto* after = std::upper_bound(std::begin(table), std::end(table), c,
                                       [](char32_t v, const CodeRange& r) { return v < r.first; });
  return after != std::begin(table) && c <= std::prev(after)->last;
}

// Whitespace as the tokenizers library sees it: \t \n \r plus Rust's char::is_whitespace. The
// other White_Space characters (VT, FF, NEL) are controls, deleted before this is asked.
bool is_whitespace(char32_t c) {
  if (c < 0x80) return c == ' ' || c == '\t' || c == '\n' || c == '\r';
  return in_ranges(kBertWhitespace, c);
}

// Cc Cf Co Cs as of Unicode 8.0 (see the table script), less \t \n \r.
bool is_control(char32_t c) {
  if (c < 0x80) return (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F;
  return in_ranges(kBertControl, c);
}

// ASCII punctuation (which includes symbols such as $ + ^) or P* as of Unicode 8.0.
bool is_punctuation(char32_t c) {
  if (c < 0x80) {
    return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
           (c >= 123 && c <= 126);
  }
  return in_ranges(kBertPunctuation, c);
}

bool is_nonspacing_mark(char32_t c) { return c >= 0x300 && in_ranges(kBertNonspacingMark, c); }

// The CJK ideograph blocks BERT surrounds with spaces, so each ideograph is a word.
bool is_chinese(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

// Calls fn on each code point of c's NFD. Canonical reordering of a run of combining marks is
// left out: nearly every mark it could move is deleted right after as Mn. The rest (spacing
// marks with a combining class, marks newer than Unicode 8.0) leave a word that is [UNK] in
// either order with BERT's vocabularies; no reference sentence and no fuzzed one disagrees.
template <typename Fn>
void for_each_nfd(char32_t c, Fn&& fn) {
  if (c < 0xC0) return fn(c);                   // nothing below U+00C0 decomposes
  if (c >= kHangulFirst && c <= kHangulLast) {  // Unicode's algorithmic Hangul decomposition
    const char32_t s = c - kHangulFirst;
    fn(0x1100 + s / 588);                  // leading consonant
    fn(0x1161 + (s % 588) / 28);           // vowel
    if (s % 28 != 0) fn(0x11A7 + s % 28);  // trailing consonant
    return;
  }
  const auto* it = std::lower_bound(std::begin(kBertDecomposition), std::end(kBertDecomposition), c,
                                    [](const Decomposition& d, char32_t v) { return d.code < v; });
  if (it == std::end(kBertDecomposition) || it->code != c) return fn(c);
  for (char32_t d : it->chars) {
    if (d != 0) fn(d);
  }
}

// Calls fn on each code point of c's full lowercase mapping (per character: a final capital
// sigma gives σ, as in Rust's char::to_lowercase).
template <typename Fn>
void for_each_lowercase(char32_t c, Fn&& fn) {
  if (c < 0x80) return fn(c >= 'A' && c <= 'Z' ? c + 32 : c);
  const auto* after =
      std::upper_bound(std::begin(kBertLowercase), std::end(kBertLowercase), c,
                       [](char32_t v, const LowercaseRun& r) { return v < r.first; });
  if (after != std::begin(kBertLowercase)) {
    const LowercaseRun& run = *std::prev(after);
    if (c <= run.last && (c - run.first) % run.step == 0) {
      return fn(static_cast<char32_t>(static_cast<int64_t>(c) + run.delta));
    }
  }
  for (const LowercaseLong& m : kBertLowercaseLong) {
    if (m.code == c) {
      for (char32_t l : m.chars) fn(l);
      return;
    }
  }
  fn(c);
}

// Decodes the code point at s[i] (i < end) and moves i past it. An invalid sequence (bad lead
// byte, missing continuation byte, overlong form, surrogate, above U+10FFFF) gives U+FFFD and
// moves one byte only: the bytes after it are decoded on their own, so no valid character is
// lost or made up, as with Python's errors="replace".
char32_t next_code_point(const std::string& s, size_t& i, size_t end) {
  const auto lead = static_cast<unsigned char>(s[i]);
  if (lead < 0x80) {
    ++i;
    return lead;
  }
  size_t length = 0;
  char32_t c = 0;
  unsigned char low = 0x80, high = 0xBF;  // allowed range of the first continuation byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2, c = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3, c = lead & 0x0F;
    if (lead == 0xE0) low = 0xA0;   // overlong
    if (lead == 0xED) high = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4, c = lead & 0x07;
    if (lead == 0xF0) low = 0x90;   // overlong
    if (lead == 0xF4) high = 0x8F;  // above U+10FFFF
  } else {
    ++i;
    return kReplacement;
  }
  for (size_t k = 1; k < length; ++k) {
    if (i + k >= end) {
      ++i;
      return kReplacement;
    }
    const auto byte = static_cast<unsigned char>(s[i + k]);
    if (byte < low || byte > high) {
      ++i;
      return kReplacement;
    }
    c = (c << 6) | (byte & 0x3F);
    low = 0x80, high = 0xBF;
  }
  i += length;
  return c;
}

void append_utf8(char32_t c, std::string& out) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

bool is_continuation_byte(char b) { return (static_cast<unsigned char>(b) & 0xC0) == 0x80; }

int64_t find_id(const std::unordered_map<std::string, int64_t>& ids, const std::string& piece,
                size_t n_pieces, const std::string& source) {
  const auto it = ids.find(piece);
  if (it == ids.end()) {
    throw Error(source + ": no " + piece + " in the vocabulary (" + std::to_string(n_pieces) +
                " pieces); expected a BERT vocabulary with [PAD] [UNK] [CLS] [SEP]");
  }
  return it->second;
}

}  // namespace

WordPiece WordPiece::from_vocab_file(const std::filesystem::path& vocab_txt, bool lowercase) {
  const std::string name = vocab_txt.string();
  std::error_code ec;
  if (std::filesystem::is_directory(vocab_txt, ec)) {
    throw Error(name + ": is a folder, expected a WordPiece vocab.txt file");
  }
  std::ifstream in(vocab_txt, std::ios::binary);
  if (!in) {
    throw Error(name + ": cannot open the WordPiece vocabulary: " + std::strerror(errno));
  }
  std::vector<std::string> pieces;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    pieces.push_back(std::move(line));
  }
  if (in.bad()) {
    throw Error(name + ": read error after " + std::to_string(pieces.size()) + " lines");
  }
  return WordPiece(std::move(pieces), lowercase, name);
}

WordPiece WordPiece::from_pieces(std::vector<std::string> pieces, bool lowercase) {
  return WordPiece(std::move(pieces), lowercase, "WordPiece vocabulary");
}

WordPiece::WordPiece(std::vector<std::string> pieces, bool lowercase, const std::string& source)
    : pieces_(std::move(pieces)), lowercase_(lowercase) {
  if (pieces_.empty()) {
    throw Error(source + ": empty vocabulary, expected one WordPiece piece per line");
  }
  ids_.reserve(pieces_.size());
  for (size_t id = 0; id < pieces_.size(); ++id) {
    const std::string& p = pieces_[id];
    ids_[p] = static_cast<int64_t>(id);  // a repeated piece keeps its last id, as tokenizers does
    const bool continuation = p.size() > 2 && p.compare(0, 2, "##") == 0;
    max_piece_bytes_ = std::max(max_piece_bytes_, continuation ? p.size() - 2 : p.size());
  }
  pad_id_ = find_id(ids_, "[PAD]", pieces_.size(), source);
  unk_id_ = find_id(ids_, "[UNK]", pieces_.size(), source);
  cls_id_ = find_id(ids_, "[CLS]", pieces_.size(), source);
  sep_id_ = find_id(ids_, "[SEP]", pieces_.size(), source);
  // tokenizers' added tokens. All start with '[', which split() relies on.
  for (const char* special : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}) {
    const auto it = ids_.find(special);
    if (it != ids_.end()) specials_.emplace_back(it->first, it->second);
  }
}

const std::string& WordPiece::piece(int64_t id) const {
  if (id < 0 || id >= vocab_size()) {
    throw Error("WordPiece id " + std::to_string(id) + " is outside the vocabulary [0, " +
                std::to_string(vocab_size()) + ")");
  }
  return pieces_[static_cast<size_t>(id)];
}

// Special tokens are found on the raw bytes before anything else (leftmost, then longest),
// as tokenizers does with added tokens that are not normalised; the text between them goes
// through the normaliser and pre-tokenizer on its own.
std::vector<WordPiece::Word> WordPiece::split(const std::string& utf8) const {
  std::vector<Word> words;
  size_t begin = 0;
  for (size_t i = utf8.find('['); i != std::string::npos; i = utf8.find('[', i)) {
    const std::pair<std::string, int64_t>* match = nullptr;
    for (const auto& special : specials_) {
      if (utf8.compare(i, special.first.size(), special.first) == 0 &&
          (match == nullptr || special.first.size() > match->first.size())) {
        match = &special;
      }
    }
    if (match == nullptr) {
      ++i;
      continue;
    }
    split_plain(utf8, begin, i, words);
    words.push_back({match->first, match->second});
    i += match->first.size();
    begin = i;
  }
  split_plain(utf8, begin, utf8.size(), words);
  return words;
}

// BertNormalizer (clean text, space around CJK ideographs, NFD and drop Mn, lowercase) and
// BertPreTokenizer (split on whitespace, punctuation on its own) in one pass over the code
// points of utf8[begin, end).
void WordPiece::split_plain(const std::string& utf8, size_t begin, size_t end,
                            std::vector<Word>& words) const {
  std::string word;
  const auto finish_word = [&] {
    if (word.empty()) return;
    words.push_back({std::move(word)});
    word.clear();
  };
  const auto pre_tokenize = [&](char32_t c) {
    if (is_whitespace(c)) {
      finish_word();
    } else if (is_punctuation(c)) {
      finish_word();
      append_utf8(c, word);
      finish_word();
    } else {
      append_utf8(c, word);
    }
  };
  const auto strip_and_lower = [&](char32_t c) {
    if (!lowercase_) return pre_tokenize(c);
    for_each_nfd(c, [&](char32_t d) {
      if (!is_nonspacing_mark(d)) for_each_lowercase(d, pre_tokenize);
    });
  };
  for (size_t i = begin; i < end;) {
    const char32_t c = next_code_point(utf8, i, end);
    if (c == 0 || c == kReplacement || is_control(c)) continue;
    if (is_whitespace(c)) {
      finish_word();
    } else if (is_chinese(c)) {
      finish_word();
      strip_and_lower(c);
      finish_word();
    } else {
      strip_and_lower(c);
    }
  }
  finish_word();
}

// Greedy longest match from the left; continuation pieces carry "##". A word that cannot be
// cut to the end, or has more than kMaxWordChars code points, is one [UNK].
void WordPiece::encode_word(const std::string& word, std::vector<int64_t>& ids) const {
  size_t starts[kMaxWordChars + 1];  // byte offset of each code point, then word.size()
  size_t n_chars = 0;
  for (size_t b = 0; b < word.size(); ++b) {
    if (is_continuation_byte(word[b])) continue;
    if (n_chars == kMaxWordChars) {
      ids.push_back(unk_id_);
      return;
    }
    starts[n_chars++] = b;
  }
  starts[n_chars] = word.size();

  const size_t first_piece = ids.size();
  std::string candidate;  // reused, so trying a piece allocates nothing once it has grown
  candidate.reserve(word.size() + 2);
  for (size_t start = 0; start < n_chars;) {
    int64_t found = -1;
    size_t stop = n_chars;
    for (; stop > start; --stop) {
      const size_t bytes = starts[stop] - starts[start];
      if (bytes > max_piece_bytes_) continue;
      candidate.assign(start == 0 ? "" : "##");
      candidate.append(word, starts[start], bytes);
      const auto it = ids_.find(candidate);
      if (it != ids_.end()) {
        found = it->second;
        break;
      }
    }
    if (found < 0) {
      ids.resize(first_piece);
      ids.push_back(unk_id_);
      return;
    }
    ids.push_back(found);
    start = stop;
  }
}

WordPieceEncoded WordPiece::encode(const std::string& utf8, int64_t max_length) const {
  if (max_length < 0 || max_length == 1) {
    throw Error("WordPiece max_length " + std::to_string(max_length) +
                ": expected 0 (no limit) or at least 2 ([CLS] and [SEP])");
  }
  // [CLS] and the pieces kept before [SEP]; pieces beyond it are never computed.
  const size_t keep = max_length > 0 ? static_cast<size_t>(max_length - 1) : SIZE_MAX;
  WordPieceEncoded out;
  out.ids.push_back(cls_id_);
  for (const Word& w : split(utf8)) {
    if (out.ids.size() >= keep) break;
    if (w.special_id >= 0) {
      out.ids.push_back(w.special_id);
    } else {
      encode_word(w.text, out.ids);
    }
  }
  if (out.ids.size() > keep) out.ids.resize(keep);
  out.ids.push_back(sep_id_);
  out.pieces.reserve(out.ids.size());
  for (int64_t id : out.ids) out.pieces.push_back(pieces_[static_cast<size_t>(id)]);
  return out;
}

std::vector<std::string> WordPiece::normalize_and_split(const std::string& utf8) const {
  std::vector<std::string> out;
  for (Word& w : split(utf8)) out.push_back(std::move(w.text));
  return out;
}

}  // namespace deepcart::text
