// Normalisation and pre-tokenisation go through utf8proc, so the character classes follow the
// Unicode tables rather than the C locale. SentencePiece is trained in memory from a sentence
// iterator and its model proto is kept as bytes, which makes the tokenizer one portable blob.
#include "deepcart/text/tokenizer.h"

#include <utf8proc.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <unordered_map>

#include "deepcart/core/error.h"
#include "deepcart/text/sentencepiece_lib.h"
#include "deepcart/text/wordpiece.h"

namespace deepcart::text {
namespace {

constexpr char kMagic[4] = {'D', 'C', 'T', 'K'};
constexpr uint32_t kVersion = 1;
// Default training budgets (see TokenizerOptions::max_training_chars): more text barely changes
// a subword vocabulary but makes training slower.
constexpr int64_t kMaxTrainingChars = 2'000'000;
constexpr double kBpeCharsTimesVocab = 1.5e10;
const std::string kWordStart = "\xe2\x96\x81";  // U+2581, SentencePiece's word-start mark

// ---- UTF-8 and character classes -------------------------------------------------------------

// Offset of the first byte that does not start a well-formed UTF-8 sequence, or npos.
// utf8proc_iterate rejects overlongs, surrogates and code points above U+10FFFF.
size_t find_invalid_utf8(const std::string& s) {
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    if (p[i] < 0x80) {
      ++i;
      continue;
    }
    utf8proc_int32_t c;
    const utf8proc_ssize_t len = utf8proc_iterate(p + i, n - i, &c);
    if (len <= 0) return i;
    i += len;
  }
  return std::string::npos;
}

void check_utf8(const std::string& s) {
  const size_t bad = find_invalid_utf8(s);
  if (bad != std::string::npos) {
    throw Error("text: invalid UTF-8 at byte " + std::to_string(bad));
  }
}

bool is_ascii(const std::string& s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return false;
  }
  return true;
}

// Scripts written without spaces between words, where one character is the useful unit.
bool is_single_char_script(int32_t c) {
  return (c >= 0x3005 && c <= 0x3007) ||    // 々 〆 〇
         (c >= 0x3040 && c <= 0x30ff) ||    // Hiragana, Katakana
         (c >= 0x31f0 && c <= 0x31ff) ||    // Katakana phonetic extensions
         (c >= 0x3400 && c <= 0x4dbf) ||    // CJK extension A
         (c >= 0x4e00 && c <= 0x9fff) ||    // CJK unified ideographs
         (c >= 0xac00 && c <= 0xd7af) ||    // Hangul syllables
         (c >= 0xf900 && c <= 0xfaff) ||    // CJK compatibility ideographs
         (c >= 0x1b000 && c <= 0x1b16f) ||  // Kana supplement and extensions
         (c >= 0x20000 && c <= 0x3ffff);    // CJK extensions B-H, compatibility supplement
}

bool is_mark(utf8proc_category_t cat) {
  return cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_MC || cat == UTF8PROC_CATEGORY_ME;
}

bool is_word_char(int32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  const utf8proc_category_t cat = utf8proc_category(c);
  return (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) ||
         (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO) || is_mark(cat);
}

constexpr int32_t kZwj = 0x200d;

// Whitespace, control and format characters: they separate pieces and are never pieces.
bool is_separator(int32_t c) {
  if (c < 0x80) return c <= 0x20 || c == 0x7f;
  const utf8proc_category_t cat = utf8proc_category(c);
  return cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL ||
         cat == UTF8PROC_CATEGORY_ZP || cat == UTF8PROC_CATEGORY_CC || cat == UTF8PROC_CATEGORY_CF;
}

bool is_apostrophe(int32_t c) { return c == '\'' || c == 0x2019; }
bool is_skin_tone(int32_t c) { return c >= 0x1f3fb && c <= 0x1f3ff; }
bool is_regional_indicator(int32_t c) { return c >= 0x1f1e6 && c <= 0x1f1ff; }

struct CodePoint {
  int32_t c;
  size_t begin, end;  // byte span
};

std::vector<CodePoint> decode(const std::string& s) {
  check_utf8(s);
  std::vector<CodePoint> cps;
  cps.reserve(s.size());
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(s.data());
  size_t i = 0;
  while (i < s.size()) {
    utf8proc_int32_t c;
    const utf8proc_ssize_t len = utf8proc_iterate(p + i, s.size() - i, &c);
    cps.push_back({c, i, i + static_cast<size_t>(len)});
    i += len;
  }
  return cps;
}

// End (exclusive index) of the emoji or symbol cluster starting at cps[i]: the symbol plus its
// variation selectors and marks, skin tone, ZWJ-joined followers, and the second flag letter.
size_t symbol_cluster_end(const std::vector<CodePoint>& cps, size_t i) {
  const size_t n = cps.size();
  const bool flag = is_regional_indicator(cps[i].c);
  size_t j = i + 1;
  if (flag && j < n && is_regional_indicator(cps[j].c)) return j + 1;
  for (;;) {
    while (j < n && (is_skin_tone(cps[j].c) || is_mark(utf8proc_category(cps[j].c)))) ++j;
    if (j + 1 < n && cps[j].c == kZwj && !is_separator(cps[j + 1].c)) {
      j += 2;
      continue;
    }
    return j;
  }
}

// End of the word starting at cps[i]; an apostrophe counts only between two word characters.
size_t word_end(const std::vector<CodePoint>& cps, size_t i) {
  const size_t n = cps.size();
  auto in_word = [&](size_t k) {
    return k < n && is_word_char(cps[k].c) && !is_single_char_script(cps[k].c);
  };
  size_t j = i + 1;
  for (;;) {
    if (in_word(j)) {
      ++j;
    } else if (j < n && is_apostrophe(cps[j].c) && in_word(j + 1)) {
      j += 2;
    } else {
      return j;
    }
  }
}

// Normalised text as SentencePiece sees it: separators (tabs, line breaks, ZWSP, ...) become one
// space, so its pieces split where pre_tokenize would.
std::string sentencepiece_input(const std::string& normalized) {
  std::string out;
  out.reserve(normalized.size());
  bool pending_space = false;
  for (const CodePoint& cp : decode(normalized)) {
    if (is_separator(cp.c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out.append(normalized, cp.begin, cp.end - cp.begin);
  }
  return out;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
    s.replace(pos, from.size(), to);
  }
  return s;
}

// ---- options ---------------------------------------------------------------------------------

void check_options(const TokenizerOptions& o, const std::string& where) {
  if (o.kind != "words" && o.kind != "unigram" && o.kind != "bpe" && o.kind != "wordpiece") {
    throw Error(where + ": expected kind words, unigram, bpe or wordpiece, found '" + o.kind + "'");
  }
  if (o.vocab_size < 3 || o.vocab_size > (int64_t{1} << 31)) {
    throw Error(where + ": expected vocab_size in [3, 2^31] (2 ids are reserved), found " +
                std::to_string(o.vocab_size));
  }
  if (o.min_count < 1) {
    throw Error(where + ": expected min_count >= 1, found " + std::to_string(o.min_count));
  }
  if (o.max_length < 1) {
    throw Error(where + ": expected max_length >= 1, found " + std::to_string(o.max_length));
  }
  if (o.max_training_chars < 0) {
    throw Error(where + ": expected max_training_chars >= 0 (0 = automatic), found " +
                std::to_string(o.max_training_chars));
  }
}

int64_t training_char_budget(const TokenizerOptions& o) {
  if (o.max_training_chars > 0) return o.max_training_chars;
  if (o.kind != "bpe") return kMaxTrainingChars;
  const auto bpe = static_cast<int64_t>(kBpeCharsTimesVocab / static_cast<double>(o.vocab_size));
  return std::min(kMaxTrainingChars, bpe);
}

// ---- SentencePiece training ------------------------------------------------------------------

int64_t count_chars(const std::string& s) {
  int64_t n = 0;
  for (unsigned char c : s) n += (c & 0xc0) != 0x80;
  return n;
}

// Normalised, whitespace-collapsed sentences, thinned evenly (every k-th in effect) when the
// corpus exceeds `budget` characters, so the sample covers the whole file, not just its start.
std::vector<std::string> sentencepiece_corpus(const std::vector<std::string>& texts,
                                              int64_t budget) {
  std::vector<std::string> all;
  all.reserve(texts.size());
  int64_t total = 0;
  for (const std::string& text : texts) {
    std::string s = sentencepiece_input(normalize(text));
    if (s.empty()) continue;
    total += count_chars(s);
    all.push_back(std::move(s));
  }
  if (total <= budget) return all;
  const double keep = static_cast<double>(budget) / static_cast<double>(total);
  std::vector<std::string> sample;
  for (size_t i = 0; i < all.size(); ++i) {
    if (static_cast<int64_t>((i + 1) * keep) > static_cast<int64_t>(i * keep)) {
      sample.push_back(std::move(all[i]));
    }
  }
  return sample;
}

std::string train_sentencepiece(const std::vector<std::string>& texts,
                                const TokenizerOptions& options) {
  const std::vector<std::string> corpus =
      sentencepiece_corpus(texts, training_char_budget(options));
  if (corpus.empty()) {
    throw Error("tokenizer: cannot train " + options.kind + ": no non-empty training text");
  }
  size_t longest = 0;
  for (const std::string& s : corpus) longest = std::max(longest, s.size());
  // Our ids are SentencePiece's + 1 (0 is padding), and its unk is id 0, so it gets one id less.
  const std::vector<std::pair<std::string, std::string>> args = {
      {"model_type", options.kind},
      {"vocab_size", std::to_string(options.vocab_size - 1)},
      {"hard_vocab_limit", "false"},
      {"character_coverage", "0.9995"},
      {"num_threads", "1"},
      {"input_sentence_size", "0"},  // we sample ourselves, deterministically
      {"shuffle_input_sentence", "false"},
      {"max_sentence_length", std::to_string(std::max<size_t>(longest, 4192))},
      {"normalization_rule_name", "identity"},  // normalize() already did NFKC and case folding
      {"unk_id", "0"},
      {"bos_id", "-1"},
      {"eos_id", "-1"},
      {"pad_id", "-1"},
      // Its INFO and WARNING lines would flood the CLI; failures come back as a Status. This is
      // a process-wide setting of the library.
      {"minloglevel", "2"},
  };
  try {
    return sentencepiece_train(args, corpus);
  } catch (const Error& e) {
    // Its vocab_size is ours minus the padding id; say so, since its message quotes its own.
    throw Error("tokenizer: cannot train " + options.kind + " with vocab_size " +
                std::to_string(options.vocab_size) + " (SentencePiece's " +
                std::to_string(options.vocab_size - 1) + " plus padding): " + e.what());
  }
}

// ---- byte encoding for serialize/deserialize -------------------------------------------------

void put_u64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

void put_string(std::string& out, const std::string& s) {
  put_u64(out, s.size());
  out += s;
}

uint64_t fnv1a(const char* data, size_t n) {
  uint64_t h = 14695981039346656037ULL;
  for (size_t i = 0; i < n; ++i) {
    h ^= static_cast<unsigned char>(data[i]);
    h *= 1099511628211ULL;
  }
  return h;
}

uint64_t get_u64_at(const std::string& bytes, size_t pos) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{static_cast<unsigned char>(bytes[pos + i])} << (8 * i);
  return v;
}

// Bounds-checked reader over the blob body; every failure names the field and the offset.
class BlobReader {
 public:
  BlobReader(const std::string& bytes, size_t pos, size_t end)
      : bytes_(bytes), pos_(pos), end_(end) {}

  uint64_t u64(const char* what) {
    need(8, what);
    const uint64_t v = get_u64_at(bytes_, pos_);
    pos_ += 8;
    return v;
  }
  int64_t i64(const char* what) { return static_cast<int64_t>(u64(what)); }
  std::string str(const char* what) {
    const uint64_t n = u64(what);
    need(n, what);
    std::string s = bytes_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  void expect_end() const {
    if (pos_ != end_) {
      throw Error("tokenizer blob: expected end of data at byte " + std::to_string(pos_) +
                  ", found " + std::to_string(end_ - pos_) + " more bytes");
    }
  }

 private:
  void need(uint64_t n, const char* what) const {
    if (n > end_ - pos_) {
      throw Error("tokenizer blob: truncated " + std::string(what) + " at byte " +
                  std::to_string(pos_) + ": expected " + std::to_string(n) + " bytes, found " +
                  std::to_string(end_ - pos_));
    }
  }
  const std::string& bytes_;
  size_t pos_, end_;
};

std::string printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      static const char kHex[] = "0123456789abcdef";
      out += std::string("\\x") + kHex[c >> 4] + kHex[c & 15];
    }
  }
  return out;
}

}  // namespace

// ---- free functions --------------------------------------------------------------------------

std::string normalize(const std::string& utf8) {
  check_utf8(utf8);
  if (is_ascii(utf8)) {  // NFKC leaves ASCII alone; case folding is then tolower
    std::string out = utf8;
    for (char& c : out) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
  }
  utf8proc_uint8_t* mapped = nullptr;
  const utf8proc_ssize_t n =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(utf8.data()), utf8.size(), &mapped,
                   static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE |
                                                  UTF8PROC_COMPAT | UTF8PROC_CASEFOLD));
  if (n < 0) throw Error(std::string("text: cannot normalise: ") + utf8proc_errmsg(n));
  std::string out(reinterpret_cast<const char*>(mapped), n);
  std::free(mapped);
  return out;
}

std::vector<std::string> pre_tokenize(const std::string& normalized) {
  const std::vector<CodePoint> cps = decode(normalized);
  std::vector<std::string> pieces;
  size_t i = 0;
  while (i < cps.size()) {
    const int32_t c = cps[i].c;
    if (is_separator(c)) {
      ++i;
      continue;
    }
    size_t j;
    if (is_single_char_script(c)) {
      j = i + 1;
      while (j < cps.size() && is_mark(utf8proc_category(cps[j].c))) ++j;  // e.g. a dakuten
    } else if (is_word_char(c)) {
      j = word_end(cps, i);
    } else {
      j = symbol_cluster_end(cps, i);
    }
    pieces.emplace_back(normalized, cps[i].begin, cps[j - 1].end - cps[i].begin);
    i = j;
  }
  return pieces;
}

// ---- Tokenizer -------------------------------------------------------------------------------

Tokenizer Tokenizer::wordpiece(const std::filesystem::path& vocab_txt, int64_t max_length) {
  Tokenizer tok;
  tok.wordpiece_ = std::make_shared<WordPiece>(WordPiece::from_vocab_file(vocab_txt));
  tok.pieces_ = tok.wordpiece_->pieces();
  tok.options_.kind = "wordpiece";
  tok.options_.vocab_size = tok.vocab_size();
  tok.options_.max_length = max_length;
  check_options(tok.options_, "wordpiece tokenizer");
  if (max_length < 2)
    throw Error("wordpiece tokenizer: max_length must be at least 2 ([CLS] and [SEP])");
  return tok;
}

Tokenizer Tokenizer::train(const std::vector<std::string>& texts, const TokenizerOptions& options) {
  check_options(options, "tokenizer options");
  if (options.kind == "wordpiece")
    throw Error(
        "tokenizer: a wordpiece vocabulary comes with a pretrained encoder (--model minilm)");
  Tokenizer tok;
  tok.options_ = options;
  if (options.kind != "words") {
    tok.load_sentencepiece(train_sentencepiece(texts, options));
    return tok;
  }
  std::unordered_map<std::string, int64_t> counts;
  for (const std::string& text : texts) {
    for (std::string& piece : pre_tokenize(normalize(text))) ++counts[std::move(piece)];
  }
  std::vector<std::pair<std::string, int64_t>> sorted;
  for (auto& [piece, count] : counts) {
    if (count >= options.min_count) sorted.emplace_back(piece, count);
  }
  // Most frequent first; equal counts by bytes, so the vocabulary does not depend on hash order.
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  const size_t keep = std::min<size_t>(sorted.size(), options.vocab_size - 2);
  for (size_t i = 0; i < keep; ++i) tok.pieces_.push_back(std::move(sorted[i].first));
  tok.build_index();
  return tok;
}

void Tokenizer::build_index() {
  index_.clear();
  index_.reserve(pieces_.size());
  for (size_t id = 2; id < pieces_.size(); ++id) index_.emplace(pieces_[id], id);
}

void Tokenizer::load_sentencepiece(const std::string& model_proto) {
  std::shared_ptr<SentencePieceModel> sp;
  try {
    sp = std::make_shared<SentencePieceModel>(model_proto);
  } catch (const Error& e) {
    throw Error(std::string("tokenizer blob: cannot load the SentencePiece model: ") + e.what());
  }
  if (sp->unk_id() != 0 || sp->size() < 1) {
    throw Error("tokenizer blob: expected a SentencePiece model with unk id 0, found unk id " +
                std::to_string(sp->unk_id()) + " and " + std::to_string(sp->size()) + " pieces");
  }
  pieces_ = {"<pad>", "<unk>"};
  for (int id = 1; id < sp->size(); ++id) {
    pieces_.push_back(replace_all(sp->piece(id), kWordStart, " "));
  }
  index_.clear();
  sp_ = std::move(sp);
  sp_model_ = model_proto;
}

Encoded Tokenizer::encode(const std::string& text) const {
  if (wordpiece_) {
    WordPieceEncoded e = wordpiece_->encode(text, options_.max_length);
    return {std::move(e.ids), std::move(e.pieces)};
  }
  const std::string normalized = normalize(text);
  return is_sentencepiece() ? encode_sentencepiece(normalized) : encode_words(normalized);
}

Encoded Tokenizer::encode_words(const std::string& normalized) const {
  Encoded out;
  std::vector<std::string> pieces = pre_tokenize(normalized);
  if (static_cast<int64_t>(pieces.size()) > options_.max_length) pieces.resize(options_.max_length);
  out.ids.reserve(pieces.size());
  for (const std::string& piece : pieces) {
    const auto it = index_.find(piece);
    out.ids.push_back(it == index_.end() ? kUnknown : it->second);
  }
  out.pieces = std::move(pieces);
  return out;
}

Encoded Tokenizer::encode_sentencepiece(const std::string& normalized) const {
  Encoded out;
  const auto pieces = sp_->encode(sentencepiece_input(normalized));
  const size_t n = std::min<size_t>(pieces.size(), options_.max_length);
  out.ids.reserve(n);
  out.pieces.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    out.ids.push_back(static_cast<int64_t>(pieces[i].first) + 1);
    // For an unknown span, the piece is its own text, not "<unk>".
    out.pieces.push_back(replace_all(pieces[i].second, kWordStart, " "));
  }
  return out;
}

int64_t Tokenizer::vocab_size() const { return static_cast<int64_t>(pieces_.size()); }

const std::string& Tokenizer::piece(int64_t id) const {
  if (id < 0 || id >= vocab_size()) {
    throw Error("tokenizer: expected an id in [0, " + std::to_string(vocab_size()) + "), found " +
                std::to_string(id));
  }
  return pieces_[id];
}

const TokenizerOptions& Tokenizer::options() const { return options_; }

// Layout: "DCTK", version (u64), kind, vocab_size, min_count, max_length, max_training_chars,
// piece count, pieces
// (without the 2 reserved), SentencePiece model proto (empty for words), FNV-1a of all before.
// Integers are little-endian u64; strings are a u64 length and the bytes.
std::string Tokenizer::serialize() const {
  std::string out(kMagic, sizeof(kMagic));
  put_u64(out, kVersion);
  put_string(out, options_.kind);
  put_u64(out, options_.vocab_size);
  put_u64(out, options_.min_count);
  put_u64(out, options_.max_length);
  put_u64(out, options_.max_training_chars);
  // wordpiece keeps every piece: its ids 0 and 1 are the model's own, not the reserved two.
  const size_t first = wordpiece_ ? 0 : 2;
  put_u64(out, pieces_.size() - first);
  for (size_t id = first; id < pieces_.size(); ++id) put_string(out, pieces_[id]);
  put_string(out, sp_model_);
  put_u64(out, fnv1a(out.data(), out.size()));
  return out;
}

Tokenizer Tokenizer::deserialize(const std::string& bytes) {
  constexpr size_t kHeader = sizeof(kMagic) + 8;
  if (bytes.size() < kHeader + 8) {
    throw Error("tokenizer blob: expected at least " + std::to_string(kHeader + 8) +
                " bytes, found " + std::to_string(bytes.size()));
  }
  if (std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    throw Error("tokenizer blob: expected magic 'DCTK', found '" +
                printable(bytes.substr(0, sizeof(kMagic))) + "'");
  }
  const uint64_t version = get_u64_at(bytes, sizeof(kMagic));
  if (version != kVersion) {
    throw Error("tokenizer blob: expected version " + std::to_string(kVersion) + ", found " +
                std::to_string(version));
  }
  const size_t body_end = bytes.size() - 8;
  const uint64_t stored = get_u64_at(bytes, body_end);
  const uint64_t computed = fnv1a(bytes.data(), body_end);
  if (stored != computed) {
    throw Error("tokenizer blob: checksum mismatch (stored " + std::to_string(stored) +
                ", computed " + std::to_string(computed) + "): the blob is corrupt");
  }
  BlobReader in(bytes, kHeader, body_end);
  Tokenizer tok;
  tok.options_.kind = in.str("kind");
  tok.options_.vocab_size = in.i64("vocab_size");
  tok.options_.min_count = in.i64("min_count");
  tok.options_.max_length = in.i64("max_length");
  tok.options_.max_training_chars = in.i64("max_training_chars");
  check_options(tok.options_, "tokenizer blob");
  const uint64_t count = in.u64("piece count");
  if (count > static_cast<uint64_t>(tok.options_.vocab_size)) {
    throw Error("tokenizer blob: expected at most " + std::to_string(tok.options_.vocab_size) +
                " pieces, found " + std::to_string(count));
  }
  if (tok.options_.kind == "wordpiece") tok.pieces_.clear();
  for (uint64_t i = 0; i < count; ++i) tok.pieces_.push_back(in.str("piece"));
  const std::string model = in.str("SentencePiece model");
  in.expect_end();
  if (tok.options_.kind == "wordpiece") {
    if (!model.empty())
      throw Error("tokenizer blob: a wordpiece tokenizer has a SentencePiece model");
    try {
      tok.wordpiece_ = std::make_shared<WordPiece>(WordPiece::from_pieces(tok.pieces_));
    } catch (const Error& e) {
      throw Error(std::string("tokenizer blob: ") + e.what());
    }
    return tok;
  }
  if (tok.options_.kind == "words") {
    if (!model.empty()) throw Error("tokenizer blob: a words tokenizer has a SentencePiece model");
    tok.build_index();
    return tok;
  }
  const std::vector<std::string> stored_pieces = tok.pieces_;
  tok.load_sentencepiece(model);
  if (tok.pieces_ != stored_pieces) {
    throw Error("tokenizer blob: the stored vocabulary (" + std::to_string(stored_pieces.size()) +
                " ids) does not match the SentencePiece model (" +
                std::to_string(tok.pieces_.size()) + " ids)");
  }
  return tok;
}

}  // namespace deepcart::text
