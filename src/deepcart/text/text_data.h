// Labelled text (reviews, customer questions) from CSV/TSV or JSON Lines into memory, plus the
// seeded stratified split and the fastText export that text experiments share. Rows that cannot
// train (empty text, empty label) are counted with their line numbers, never dropped silently.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace deepcart::text {

struct TextColumns {
  // One or more columns, joined with "\n" in this order (e.g. Title + Review Text); empty or
  // whitespace-only parts are skipped.
  std::vector<std::string> text;
  std::string label;  // may be empty for unlabelled input (prediction, reports)
};

// rows == kept + empty_text + empty_label. A row with both an empty text and an empty label is
// counted once, as an empty text.
struct TextReadReport {
  static constexpr size_t kMaxLines = 20;

  int64_t rows = 0;  // data records read
  int64_t kept = 0;
  int64_t empty_text = 0;   // joined text empty or whitespace only: not kept
  int64_t empty_label = 0;  // labelled input with an empty label: not kept
  // The first kMaxLines line numbers (where the CSV record / JSONL line begins), for messages.
  std::vector<int64_t> empty_text_lines, empty_label_lines;

  // "23486 rows, 22628 kept, 845 empty texts (lines 94, 96, ...), 13 empty labels (line 7)";
  // a count of 0 is left out.
  std::string summary() const;
};

struct TextSet {
  std::vector<std::string> texts;
  std::vector<int64_t> labels;  // index into label_names; empty when there is no label column
  std::vector<std::string> label_names;
  std::vector<std::string> group;  // per-row value of `group_col` (for reports), else empty
  TextReadReport report;

  int64_t size() const { return static_cast<int64_t>(texts.size()); }
};

// Reads CSV/TSV (delimiter from the extension, via data::CsvReader) or JSON Lines (.jsonl or
// .ndjson: one JSON object per line, blank lines skipped). UTF-8 is validated and a leading BOM
// is dropped. In JSONL, a null field is empty, numbers and booleans become their JSON text
// ("10", "1.5", "true"); an array or object where text is expected is an Error. Labels are
// trimmed of ASCII whitespace.
// label_names: a fixed order to use (e.g. a trained model's); a label not in it is an Error
// naming file, line and the label. When empty, the names are the sorted distinct labels,
// numerically sorted when all are integers ("1" < "2" < "10").
// Missing columns (or JSONL fields) are an Error listing the columns found. Malformed CSV records
// are Errors (data::CsvReader's messages).
TextSet read_text_set(const std::string& path, const TextColumns& columns,
                      const std::vector<std::string>& label_names = {},
                      const std::string& group_col = "");

// The rows `rows` of a set, labels and groups included.
TextSet rows_of(const TextSet& set, const std::vector<int64_t>& rows);

// An `intent,answer` CSV (other columns ignored): intent -> answer.
std::map<std::string, std::string> read_answers(const std::string& path);

// Names people read for the labels (`--label-names`): "0=not recommended,1=recommended", or
// the path of a CSV file with columns label,name. Error for an entry without '=', an empty
// label or name, a label given twice, or a file without those columns.
std::map<std::string, std::string> parse_label_names(const std::string& text_or_path);
// The texts of a command line: `args`, then each non-empty line of `file` (when given). None at
// all is an Error.
std::vector<std::string> texts_from(const std::vector<std::string>& args, const std::string& file);

struct TextSplit {
  std::vector<int64_t> train, valid, test;  // row indices, each sorted ascending
};

// Seeded stratified split. One std::mt19937_64(seed) visits the labels in ascending order and
// shuffles each label's rows (Fisher-Yates with unbiased draws, so the result does not depend on
// the standard library); the first round(test_fraction * n_label) go to test, the next
// round(valid_fraction * n_label) (at most what is left) to valid, the rest to train.
// Throws Error for fractions outside [0, 1], a sum above 1 or a negative label.
TextSplit stratified_split(const std::vector<int64_t>& labels, double valid_fraction,
                           double test_fraction, uint64_t seed);

// Few-shot training: at most `shots` of `rows` for each label, drawn like stratified_split (one
// std::mt19937_64(seed), labels in ascending order, unbiased Fisher-Yates), sorted ascending.
// Throws Error for shots < 1.
std::vector<int64_t> draw_shots(const std::vector<int64_t>& labels,
                                const std::vector<int64_t>& rows, int64_t shots, uint64_t seed);

// Writes rows in fastText's supervised format "__label__NAME token token ...\n", so Debian's
// fasttext can be compared on identical splits. Whitespace inside a label name or a token becomes
// '_' (leading and trailing whitespace of a token is dropped first, which turns SentencePiece's
// " word" into "word"); tokens that end up empty are left out. Throws Error naming the path when
// it cannot be written, and for mismatched sizes or a label outside label_names.
void write_fasttext(const std::string& path, const std::vector<std::vector<std::string>>& tokens,
                    const std::vector<int64_t>& labels,
                    const std::vector<std::string>& label_names);

}  // namespace deepcart::text
