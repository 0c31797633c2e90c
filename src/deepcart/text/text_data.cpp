// Both input formats feed one SetBuilder, so the rules for joining text, skipping and counting
// rows and naming labels are written once; the readers only know where a field comes from and
// how to name its location in a message.
#include "deepcart/text/text_data.h"

#include <utf8proc.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <unordered_map>

#include "deepcart/core/error.h"
#include "deepcart/data/csv_reader.h"
#include "deepcart/data/gz_reader.h"

namespace deepcart::text {
namespace {

using json = nlohmann::json;
using data::has_extension;

// Blank means only whitespace or invisible characters (a stray BOM, a zero-width space).
// The input is valid UTF-8 (checked by the readers).
bool is_blank(const std::string& s) {
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(s.data());
  size_t i = 0;
  while (i < s.size()) {
    if (p[i] < 0x80) {
      if (p[i] > 0x20 && p[i] != 0x7f) return false;
      ++i;
      continue;
    }
    utf8proc_int32_t c;
    const utf8proc_ssize_t len = utf8proc_iterate(p + i, s.size() - i, &c);
    if (len <= 0) return false;
    const utf8proc_category_t cat = utf8proc_category(c);
    if (cat != UTF8PROC_CATEGORY_ZS && cat != UTF8PROC_CATEGORY_ZL && cat != UTF8PROC_CATEGORY_ZP &&
        cat != UTF8PROC_CATEGORY_CC && cat != UTF8PROC_CATEGORY_CF) {
      return false;
    }
    i += len;
  }
  return true;
}

bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && is_ascii_space(s[b])) ++b;
  while (e > b && is_ascii_space(s[e - 1])) --e;
  return s.substr(b, e - b);
}

std::string quoted_list(const std::vector<std::string>& names, size_t max_names = 30) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < max_names; ++i) {
    out += (i ? ", '" : "'") + names[i] + "'";
  }
  if (names.size() > max_names) out += ", ... (" + std::to_string(names.size()) + " in all)";
  return out;
}

std::string missing_message(const std::string& where, const char* kind,
                            const std::vector<std::string>& missing,
                            const std::vector<std::string>& found) {
  return where + ": missing " + kind + (missing.size() > 1 ? "s " : " ") + quoted_list(missing) +
         " (the " + kind + "s are " + (found.empty() ? "none" : quoted_list(found)) + ")";
}

// Same as the CSV reader's check: offset of the first bad byte, or npos.
size_t find_invalid_utf8(const std::string& s) {
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(s.data());
  size_t i = 0;
  while (i < s.size()) {
    if (p[i] < 0x80) {
      ++i;
      continue;
    }
    utf8proc_int32_t c;
    const utf8proc_ssize_t len = utf8proc_iterate(p + i, s.size() - i, &c);
    if (len <= 0) return i;
    i += len;
  }
  return std::string::npos;
}

std::string hex_byte(unsigned char c) {
  static const char kHex[] = "0123456789abcdef";
  return std::string("0x") + kHex[c >> 4] + kHex[c & 15];
}

std::optional<int64_t> parse_integer(const std::string& s) {
  const char* begin = s.data() + (!s.empty() && s[0] == '+');
  int64_t v = 0;
  const auto [end, ec] = std::from_chars(begin, s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || begin == end) return std::nullopt;
  return v;
}

// Distinct labels in presentation order: by value when every label is an integer, else by bytes.
std::vector<std::string> sorted_label_names(std::vector<std::string> names) {
  std::vector<std::pair<int64_t, std::string>> numeric;
  for (const std::string& name : names) {
    const auto v = parse_integer(name);
    if (!v) {
      std::sort(names.begin(), names.end());
      return names;
    }
    numeric.emplace_back(*v, name);
  }
  std::sort(numeric.begin(), numeric.end());  // "01" and "1": value first, then bytes
  for (size_t i = 0; i < numeric.size(); ++i) names[i] = std::move(numeric[i].second);
  return names;
}

// Accumulates kept rows and the report; labels get provisional ids in order of appearance and
// are renumbered by finish() unless a fixed order was given.
class SetBuilder {
 public:
  SetBuilder(bool labelled, const std::vector<std::string>& fixed_names, bool grouped)
      : labelled_(labelled), fixed_(!fixed_names.empty()), grouped_(grouped) {
    set_.label_names = fixed_names;
    for (size_t i = 0; i < fixed_names.size(); ++i) ids_.emplace(fixed_names[i], i);
  }

  // `where()` names the label's location for the unknown-label message; called only then.
  template <typename Where>
  void add(int64_t line, const std::vector<const std::string*>& parts, const std::string& raw_label,
           const std::string* group, const Where& where) {
    TextReadReport& r = set_.report;
    ++r.rows;
    std::string text = join(parts);
    if (text.empty()) {
      note(r.empty_text, r.empty_text_lines, line);
      return;
    }
    if (labelled_) {
      const std::string label = trim(raw_label);
      if (label.empty()) {
        note(r.empty_label, r.empty_label_lines, line);
        return;
      }
      set_.labels.push_back(label_id(label, where));
    }
    ++r.kept;
    set_.texts.push_back(std::move(text));
    if (grouped_) set_.group.push_back(*group);
  }

  TextSet finish() {
    if (labelled_ && !fixed_) renumber();
    return std::move(set_);
  }

 private:
  static std::string join(const std::vector<const std::string*>& parts) {
    std::string text;
    for (const std::string* part : parts) {
      if (is_blank(*part)) continue;
      if (!text.empty()) text += '\n';
      text += *part;
    }
    return text;
  }

  static void note(int64_t& count, std::vector<int64_t>& lines, int64_t line) {
    ++count;
    if (lines.size() < TextReadReport::kMaxLines) lines.push_back(line);
  }

  template <typename Where>
  int64_t label_id(const std::string& label, const Where& where) {
    const auto it = ids_.find(label);
    if (it != ids_.end()) return it->second;
    if (fixed_) {
      throw Error(where() + ": label '" + label + "' is not one of the " +
                  std::to_string(set_.label_names.size()) + " expected labels (" +
                  quoted_list(set_.label_names, 10) + ")");
    }
    const int64_t id = static_cast<int64_t>(set_.label_names.size());
    set_.label_names.push_back(label);
    ids_.emplace(label, id);
    return id;
  }

  void renumber() {
    const std::vector<std::string> sorted = sorted_label_names(set_.label_names);
    std::vector<int64_t> new_id(sorted.size());
    for (size_t i = 0; i < sorted.size(); ++i) new_id[ids_.at(sorted[i])] = i;
    for (int64_t& label : set_.labels) label = new_id[label];
    set_.label_names = sorted;
  }

  bool labelled_, fixed_, grouped_;
  TextSet set_;
  std::unordered_map<std::string, int64_t> ids_;
};

std::vector<std::string> wanted_columns(const TextColumns& columns, const std::string& group_col) {
  std::vector<std::string> names = columns.text;
  if (!columns.label.empty()) names.push_back(columns.label);
  if (!group_col.empty()) names.push_back(group_col);
  return names;
}

TextSet read_csv(const std::string& path, const TextColumns& columns,
                 const std::vector<std::string>& label_names, const std::string& group_col) {
  data::CsvReader reader(path);
  std::vector<std::string> missing;
  auto index_of = [&](const std::string& name) {
    const int i = reader.column_index(name);
    if (i < 0) missing.push_back(name);
    return i;
  };
  std::vector<int> text_cols;
  for (const std::string& name : columns.text) text_cols.push_back(index_of(name));
  const int label_col = columns.label.empty() ? -1 : index_of(columns.label);
  const int group_idx = group_col.empty() ? -1 : index_of(group_col);
  if (!missing.empty()) throw Error(missing_message(path, "column", missing, reader.header()));

  SetBuilder builder(label_col >= 0, label_names, group_idx >= 0);
  std::vector<std::string> fields;
  std::vector<const std::string*> parts(text_cols.size());
  static const std::string kNone;
  while (reader.next(fields)) {
    for (size_t i = 0; i < text_cols.size(); ++i) parts[i] = &fields[text_cols[i]];
    const int64_t line = reader.record_line();
    builder.add(line, parts, label_col >= 0 ? fields[label_col] : kNone,
                group_idx >= 0 ? &fields[group_idx] : nullptr,
                [&] { return reader.location(line, label_col + 1); });
  }
  return builder.finish();
}

// A JSONL field as text: strings as they are, null as empty, numbers and booleans as JSON text.
std::string field_text(const json& value, const std::string& name, const std::string& where) {
  switch (value.type()) {
    case json::value_t::string:
      return value.get<std::string>();
    case json::value_t::null:
      return "";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
    case json::value_t::boolean:
      return value.dump();
    default:
      throw Error(where + ": field '" + name + "': expected a string, number or null, found " +
                  value.type_name());
  }
}

json parse_jsonl_line(const std::string& line, const std::string& where) {
  const size_t bad = find_invalid_utf8(line);
  if (bad != std::string::npos) {
    throw Error(where + ": invalid UTF-8 at byte " + std::to_string(bad) +
                " of the line: expected a valid byte sequence, found byte " +
                hex_byte(static_cast<unsigned char>(line[bad])));
  }
  json value;
  try {
    value = json::parse(line);
  } catch (const json::parse_error& e) {
    // Drop nlohmann's "[json.exception.parse_error.101] " prefix; the rest says what and where.
    std::string what = e.what();
    const size_t end = what.find("] ");
    if (what.rfind("[json.exception", 0) == 0 && end != std::string::npos) what.erase(0, end + 2);
    throw Error(where + ": invalid JSON: " + what);
  }
  if (!value.is_object()) {
    throw Error(where + ": expected a JSON object, found " + std::string(value.type_name()));
  }
  return value;
}

// Lines of a plain or gzip-compressed file, without their '\n'.
class LineReader {
 public:
  explicit LineReader(const std::string& path) : file_(path) {}
  bool next(std::string& line) {
    for (;;) {
      const size_t newline = buffer_.find('\n', pos_);
      if (newline != std::string::npos) {
        line.assign(buffer_, pos_, newline - pos_);
        pos_ = newline + 1;
        return true;
      }
      buffer_.erase(0, pos_);
      pos_ = 0;
      const size_t have = buffer_.size();
      buffer_.resize(have + kChunk);
      const size_t got = file_.read(buffer_.data() + have, kChunk);
      buffer_.resize(have + got);
      if (got == 0) {
        if (buffer_.empty()) return false;
        line.swap(buffer_);  // the last line has no '\n'
        buffer_.clear();
        return true;
      }
    }
  }

 private:
  static constexpr size_t kChunk = size_t{1} << 18;
  data::GzReader file_;
  std::string buffer_;
  size_t pos_ = 0;
};

TextSet read_jsonl(const std::string& path, const TextColumns& columns,
                   const std::vector<std::string>& label_names, const std::string& group_col) {
  LineReader in(path);
  const bool labelled = !columns.label.empty();
  SetBuilder builder(labelled, label_names, !group_col.empty());
  const std::vector<std::string> wanted = wanted_columns(columns, group_col);
  std::vector<std::string> values(wanted.size());
  std::vector<const std::string*> parts(columns.text.size());
  std::string line;
  for (int64_t line_no = 1; in.next(line); ++line_no) {
    if (line_no == 1 && line.rfind("\xef\xbb\xbf", 0) == 0) line.erase(0, 3);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (trim(line).empty()) continue;
    const std::string where = path + ":" + std::to_string(line_no);
    const json object = parse_jsonl_line(line, where);
    std::vector<std::string> missing;
    for (size_t i = 0; i < wanted.size(); ++i) {
      const auto it = object.find(wanted[i]);
      if (it == object.end()) {
        missing.push_back(wanted[i]);
      } else {
        values[i] = field_text(*it, wanted[i], where);
      }
    }
    if (!missing.empty()) {
      std::vector<std::string> found;
      for (const auto& item : object.items()) found.push_back(item.key());
      throw Error(missing_message(where, "field", missing, found));
    }
    for (size_t i = 0; i < parts.size(); ++i) parts[i] = &values[i];
    const size_t n_text = columns.text.size();
    builder.add(line_no, parts, labelled ? values[n_text] : std::string(),
                group_col.empty() ? nullptr : &values.back(),
                [&] { return where + " (field '" + columns.label + "')"; });
  }
  return builder.finish();
}

// Uniform in [0, bound) by rejection, so the split is the same with every standard library
// (std::uniform_int_distribution and std::shuffle are implementation-defined).
uint64_t draw_below(std::mt19937_64& rng, uint64_t bound) {
  const uint64_t max = std::numeric_limits<uint64_t>::max();
  const uint64_t rejected = (max % bound + 1) % bound;  // 2^64 mod bound
  uint64_t x = rng();
  while (rejected != 0 && x >= 0 - rejected) x = rng();
  return x % bound;
}

void check_fraction(double f, const char* name) {
  if (!(f >= 0.0 && f <= 1.0)) {
    throw Error(std::string("stratified_split: expected ") + name + " in [0, 1], found " +
                std::to_string(f));
  }
}

// fastText splits on these bytes, so they cannot appear inside a label or token.
bool is_fasttext_space(char c) { return is_ascii_space(c) || c == '\0'; }

std::string fasttext_word(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && is_fasttext_space(s[b])) ++b;
  while (e > b && is_fasttext_space(s[e - 1])) --e;
  std::string out = s.substr(b, e - b);
  for (char& c : out) {
    if (is_fasttext_space(c)) c = '_';
  }
  return out;
}

}  // namespace

std::string TextReadReport::summary() const {
  auto count = [](int64_t n, const char* singular, const char* plural) {
    return std::to_string(n) + " " + (n == 1 ? singular : plural);
  };
  auto lines = [](int64_t n, const std::vector<int64_t>& list) {
    std::string s = list.size() == 1 ? " (line " : " (lines ";
    for (size_t i = 0; i < list.size(); ++i) s += (i ? ", " : "") + std::to_string(list[i]);
    if (n > static_cast<int64_t>(list.size())) s += ", ...";
    return s + ")";
  };
  std::string s = count(rows, "row", "rows") + ", " + std::to_string(kept) + " kept";
  if (empty_text > 0) {
    s +=
        ", " + count(empty_text, "empty text", "empty texts") + lines(empty_text, empty_text_lines);
  }
  if (empty_label > 0) {
    s += ", " + count(empty_label, "empty label", "empty labels") +
         lines(empty_label, empty_label_lines);
  }
  return s;
}

TextSet read_text_set(const std::string& path, const TextColumns& columns,
                      const std::vector<std::string>& label_names, const std::string& group_col) {
  if (columns.text.empty()) throw Error(path + ": expected at least one text column, found none");
  for (const std::string& name : wanted_columns(columns, group_col)) {
    if (name.empty()) throw Error(path + ": expected a column name, found an empty one");
  }
  TextSet set = has_extension(path, ".jsonl") || has_extension(path, ".ndjson")
                    ? read_jsonl(path, columns, label_names, group_col)
                    : read_csv(path, columns, label_names, group_col);
  if (set.texts.empty()) {
    throw Error(path + ": no usable rows: expected texts" +
                std::string(columns.label.empty() ? "" : " with labels") + ", found " +
                set.report.summary());
  }
  return set;
}

TextSplit stratified_split(const std::vector<int64_t>& labels, double valid_fraction,
                           double test_fraction, uint64_t seed) {
  check_fraction(valid_fraction, "valid_fraction");
  check_fraction(test_fraction, "test_fraction");
  if (valid_fraction + test_fraction > 1.0 + 1e-12) {
    throw Error("stratified_split: expected valid_fraction + test_fraction <= 1, found " +
                std::to_string(valid_fraction + test_fraction));
  }
  std::map<int64_t, std::vector<int64_t>> rows_by_label;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0) {
      throw Error("stratified_split: expected labels >= 0, found " + std::to_string(labels[i]) +
                  " at row " + std::to_string(i));
    }
    rows_by_label[labels[i]].push_back(static_cast<int64_t>(i));
  }
  std::mt19937_64 rng(seed);
  TextSplit split;
  for (auto& [label, rows] : rows_by_label) {
    for (size_t i = rows.size() - 1; i > 0; --i) std::swap(rows[i], rows[draw_below(rng, i + 1)]);
    const int64_t n = static_cast<int64_t>(rows.size());
    const int64_t n_test = std::min<int64_t>(std::llround(test_fraction * n), n);
    const int64_t n_valid = std::min<int64_t>(std::llround(valid_fraction * n), n - n_test);
    split.test.insert(split.test.end(), rows.begin(), rows.begin() + n_test);
    split.valid.insert(split.valid.end(), rows.begin() + n_test, rows.begin() + n_test + n_valid);
    split.train.insert(split.train.end(), rows.begin() + n_test + n_valid, rows.end());
  }
  std::sort(split.train.begin(), split.train.end());
  std::sort(split.valid.begin(), split.valid.end());
  std::sort(split.test.begin(), split.test.end());
  return split;
}

std::vector<int64_t> draw_shots(const std::vector<int64_t>& labels,
                                const std::vector<int64_t>& rows, int64_t shots, uint64_t seed) {
  if (shots < 1) throw Error("--shots: expected at least 1, found " + std::to_string(shots));
  std::map<int64_t, std::vector<int64_t>> rows_by_label;
  for (int64_t row : rows) rows_by_label[labels.at(static_cast<size_t>(row))].push_back(row);
  std::mt19937_64 rng(seed);
  std::vector<int64_t> kept;
  for (auto& [label, group] : rows_by_label) {
    for (size_t i = group.size() - 1; i > 0; --i)
      std::swap(group[i], group[draw_below(rng, i + 1)]);
    const size_t n = std::min(group.size(), static_cast<size_t>(shots));
    kept.insert(kept.end(), group.begin(), group.begin() + static_cast<std::ptrdiff_t>(n));
  }
  std::sort(kept.begin(), kept.end());
  return kept;
}

void write_fasttext(const std::string& path, const std::vector<std::vector<std::string>>& tokens,
                    const std::vector<int64_t>& labels,
                    const std::vector<std::string>& label_names) {
  if (tokens.size() != labels.size()) {
    throw Error(path + ": expected one label per row (" + std::to_string(tokens.size()) +
                " rows), found " + std::to_string(labels.size()) + " labels");
  }
  std::vector<std::string> names;
  for (const std::string& name : label_names) {
    const std::string word = fasttext_word(name);
    if (word.empty()) throw Error(path + ": expected non-empty label names, found '" + name + "'");
    names.push_back("__label__" + word);
  }
  std::ofstream out(path, std::ios::binary);
  if (!out) throw Error(path + ": cannot write: " + std::strerror(errno));
  for (size_t row = 0; row < tokens.size(); ++row) {
    const int64_t label = labels[row];
    if (label < 0 || label >= static_cast<int64_t>(names.size())) {
      throw Error(path + ": row " + std::to_string(row) + ": expected a label in [0, " +
                  std::to_string(names.size()) + "), found " + std::to_string(label));
    }
    std::string line = names[label];
    for (const std::string& token : tokens[row]) {
      const std::string word = fasttext_word(token);
      if (!word.empty()) line += ' ' + word;
    }
    line += '\n';
    out << line;
  }
  out.close();
  if (!out) throw Error(path + ": cannot write: " + std::strerror(errno));
}

TextSet rows_of(const TextSet& set, const std::vector<int64_t>& rows) {
  TextSet out;
  out.label_names = set.label_names;
  for (int64_t r : rows) {
    out.texts.push_back(set.texts[r]);
    if (!set.labels.empty()) out.labels.push_back(set.labels[r]);
    if (!set.group.empty()) out.group.push_back(set.group[r]);
  }
  return out;
}

std::map<std::string, std::string> read_answers(const std::string& path) {
  data::CsvReader csv(path);
  const int intent = csv.column_index("intent"), answer = csv.column_index("answer");
  if (intent < 0 || answer < 0) throw Error(path + ": expected columns intent,answer");
  std::map<std::string, std::string> out;
  std::vector<std::string> fields;
  while (csv.next(fields)) out[fields[intent]] = fields[answer];
  return out;
}

std::map<std::string, std::string> parse_label_names(const std::string& text_or_path) {
  std::map<std::string, std::string> out;
  auto add = [&](const std::string& label, const std::string& name, const std::string& where) {
    if (label.empty() || name.empty())
      throw Error(where + ": expected label=name with both non-empty");
    if (!out.emplace(label, name).second)
      throw Error(where + ": label '" + label + "' given twice");
  };
  if (text_or_path.find('=') == std::string::npos && std::filesystem::exists(text_or_path)) {
    data::CsvReader csv(text_or_path);
    const int label = csv.column_index("label"), name = csv.column_index("name");
    if (label < 0 || name < 0) throw Error(text_or_path + ": expected columns label,name");
    std::vector<std::string> fields;
    while (csv.next(fields)) add(fields[label], fields[name], text_or_path);
    return out;
  }
  size_t start = 0;
  while (start <= text_or_path.size()) {
    size_t end = text_or_path.find(',', start);
    if (end == std::string::npos) end = text_or_path.size();
    const std::string entry = text_or_path.substr(start, end - start);
    const size_t eq = entry.find('=');
    if (eq == std::string::npos) {
      throw Error(
          "--label-names: expected label=name pairs separated by commas (or a label,name "
          "CSV file), found '" +
          entry + "'");
    }
    add(entry.substr(0, eq), entry.substr(eq + 1), "--label-names");
    start = end + 1;
  }
  return out;
}

std::vector<std::string> texts_from(const std::vector<std::string>& args, const std::string& file) {
  std::vector<std::string> texts = args;
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) throw Error(file + ": cannot open");
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!line.empty()) texts.push_back(line);
    }
  }
  if (texts.empty()) throw Error("no text given: pass it as an argument or with --file");
  return texts;
}

}  // namespace deepcart::text
