// Builds a Table from CsvReader records. Declared numeric cells are converted as they stream in;
// auto columns are kept as text until the whole file has been seen, because one late "n/a" turns
// a numeric-looking column into a string one.
#include "deepcart/data/table.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <utility>

namespace deepcart::data {
namespace {

constexpr size_t kMaxShownValue = 40;

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ", ";
    out += names[i];
  }
  return out;
}

// from_chars rejects a leading '+', which spreadsheets write; accept it but not "+-1".
const char* skip_plus(const char* begin, const char* end) {
  if (begin != end && *begin == '+' && begin + 1 != end && begin[1] != '-') return begin + 1;
  return begin;
}

bool parse_int(const std::string& s, int64_t* out) {
  const char* end = s.data() + s.size();
  const char* begin = skip_plus(s.data(), end);
  if (begin == end) return false;
  const auto [ptr, ec] = std::from_chars(begin, end, *out);
  return ec == std::errc() && ptr == end;
}

// Finite numbers only: "nan" and "inf" parse, but a cleaned feature column must not hold them.
bool parse_float(const std::string& s, double* out) {
  const char* end = s.data() + s.size();
  const char* begin = skip_plus(s.data(), end);
  if (begin == end) return false;
  const auto [ptr, ec] = std::from_chars(begin, end, *out);
  return ec == std::errc() && ptr == end && std::isfinite(*out);
}

std::string format_bound(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", x);
  return buf;
}

bool is_integral(double x) {
  // 2^63 is exact as a double; anything at or above it does not fit in int64_t.
  return std::isfinite(x) && std::floor(x) == x && x >= -9223372036854775808.0 &&
         x < 9223372036854775808.0;
}

// Declared integer columns also take integral floats ("3.0"), which exports from tools that
// store every number as a double produce.
bool parse_int_or_integral(const std::string& s, int64_t* out) {
  if (parse_int(s, out)) return true;
  double x;
  if (!parse_float(s, &x) || !is_integral(x)) return false;
  *out = static_cast<int64_t>(x);
  return true;
}

template <typename T>
void keep_rows(std::vector<T>& values, const std::vector<char>& keep) {
  size_t out = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    if (keep[i]) values[out++] = std::move(values[i]);
  }
  values.resize(out);
}

std::vector<std::string> position_names(int count) {
  std::vector<std::string> names;
  for (int i = 1; i <= count; ++i) names.push_back(std::to_string(i));
  return names;
}

class TableBuilder {
 public:
  TableBuilder(const CsvReader& reader, const TableOptions& options)
      : reader_(reader), options_(options) {}

  bool resolved() const { return resolved_; }

  // Chooses the kept columns from the file's column names.
  void resolve(const std::vector<std::string>& names) {
    resolved_ = true;
    const std::vector<ColumnSpec>& asked = options_.columns;
    for (size_t i = 0; i < asked.size(); ++i) {
      for (size_t j = 0; j < i; ++j) {
        if (asked[j].name == asked[i].name) {
          throw Error(reader_.path() + ": column '" + asked[i].name +
                      "' is asked for twice: expected each column once");
        }
      }
    }
    for (const ColumnSpec& spec : asked) {
      if (spec.name.empty()) {
        throw Error(reader_.path() +
                    ": expected a column name, found an empty one (an unnamed column in the "
                    "header cannot be chosen)");
      }
    }
    std::vector<ColumnSpec> specs = asked;
    if (specs.empty()) {
      for (const std::string& name : names) specs.push_back({name, ColumnType::kAuto, true});
    }
    for (const ColumnSpec& spec : specs) {
      const auto found = std::find(names.begin(), names.end(), spec.name);
      if (found == names.end()) {
        if (!spec.required) continue;
        throw Error(reader_.path() + ": missing required column '" + spec.name +
                    "': expected it in the header, found: " + join(names));
      }
      if (spec.type == ColumnType::kInt && options_.fill_missing &&
          !is_integral(*options_.fill_missing)) {
        throw Error(reader_.path() + ": cannot fill integer column '" + spec.name +
                    "': expected a whole fill value, found " +
                    std::to_string(*options_.fill_missing));
      }
      Slot slot;
      slot.source = static_cast<int>(found - names.begin());
      slot.declared = spec.type;
      slot.min = spec.min;
      slot.max = spec.max;
      slot.identifier = spec.identifier;
      slots_.push_back(std::move(slot));
      Column column;
      column.name = spec.name;
      column.type = spec.type == ColumnType::kAuto ? ColumnType::kString : spec.type;
      table_.columns.push_back(std::move(column));
    }
  }

  // Adds one record, or throws RecordError and leaves every column as it was.
  void add_row(const std::vector<std::string>& fields) {
    for (size_t k = 0; k < slots_.size(); ++k) {
      Slot& slot = slots_[k];
      const std::string& value = fields[slot.source];
      slot.filled = false;
      if (slot.declared == ColumnType::kInt) {
        if (value.empty()) {
          slot.int_value = static_cast<int64_t>(fill_or_throw(slot, "an integer"));
        } else if (!parse_int_or_integral(value, &slot.int_value)) {
          throw RecordError(cell(slot) + ": expected an integer, found " + show_value(value));
        }
      } else if (slot.declared == ColumnType::kFloat) {
        if (value.empty()) {
          slot.float_value = fill_or_throw(slot, "a number");
        } else if (!parse_float(value, &slot.float_value)) {
          throw RecordError(cell(slot) + ": expected a number, found " + show_value(value));
        }
      } else if (slot.identifier && find_control(value) != std::string::npos) {
        throw RecordError(cell(slot) + ": expected an id without control characters, found " +
                          show_value(value));
      }
      const double number = slot.declared == ColumnType::kInt ? static_cast<double>(slot.int_value)
                                                              : slot.float_value;
      if ((slot.declared == ColumnType::kInt || slot.declared == ColumnType::kFloat) &&
          (number < slot.min || number > slot.max)) {
        throw RecordError(cell(slot) + ": expected a number from " + format_bound(slot.min) +
                          " to " + format_bound(slot.max) + ", found " + show_value(value));
      }
    }
    for (size_t k = 0; k < slots_.size(); ++k) {
      Slot& slot = slots_[k];
      Column& column = table_.columns[k];
      const std::string& value = fields[slot.source];
      switch (slot.declared) {
        case ColumnType::kInt:
          column.ints.push_back(slot.int_value);
          break;
        case ColumnType::kFloat:
          column.floats.push_back(slot.float_value);
          break;
        case ColumnType::kAuto:
          if (value.empty()) slot.empties.push_back({kept_, reader_.record_line()});
          [[fallthrough]];
        case ColumnType::kString:
          column.strings.push_back(value);  // a copy: the reader reuses its field buffers
          break;
      }
      if (slot.filled) {
        ++column.missing;
        ++table_.report.cells_filled;
      }
    }
    ++kept_;
  }

  void skip(const std::string& reason) {
    ++skipped_;
    if (table_.report.skip_reasons.size() < options_.max_reasons) {
      table_.report.skip_reasons.push_back(reason);
    }
  }

  Table finish() {
    std::vector<size_t> numeric;  // auto columns that turn out numeric
    for (size_t k = 0; k < slots_.size(); ++k) {
      if (slots_[k].declared != ColumnType::kAuto) continue;
      table_.columns[k].type = infer_type(k);
      if (table_.columns[k].type != ColumnType::kString) numeric.push_back(k);
    }
    if (!options_.fill_missing && !options_.tolerate_empty) drop_rows_with_empty_numbers(numeric);
    for (size_t k : numeric) convert(k);
    table_.report.rows_kept = kept_;
    table_.report.rows_skipped = skipped_;
    table_.report.rows_read = kept_ + skipped_;
    return std::move(table_);
  }

 private:
  struct Slot {
    int source = 0;  // 0-based field index in the file
    ColumnType declared = ColumnType::kAuto;
    // Conversion result of the current row, held until every cell of the row has converted.
    int64_t int_value = 0;
    double float_value = 0;
    bool filled = false;
    double min = -std::numeric_limits<double>::infinity();
    double max = std::numeric_limits<double>::infinity();
    bool identifier = false;
    std::vector<std::pair<int64_t, int64_t>> empties;  // auto only: (kept row, line)
  };

  std::string cell(const Slot& slot) const {
    return reader_.location(reader_.record_line(), slot.source + 1);
  }

  std::string empty_message(const Slot& slot, int64_t line, const char* expected) const {
    return reader_.location(line, slot.source + 1) + ": expected " + expected +
           ", found an empty field (use --fill-missing to fill it)";
  }

  double fill_or_throw(Slot& slot, const char* expected) {
    if (!options_.fill_missing && options_.tolerate_empty) {
      slot.filled = true;
      return 0;
    }
    if (!options_.fill_missing) {
      throw RecordError(empty_message(slot, reader_.record_line(), expected));
    }
    slot.filled = true;
    return *options_.fill_missing;
  }

  ColumnType infer_type(size_t k) const {
    const std::vector<std::string>& values = table_.columns[k].strings;
    bool any = false;
    bool all_int = true;
    for (const std::string& value : values) {
      if (value.empty()) continue;
      any = true;
      int64_t i;
      double x;
      if (all_int && parse_int(value, &i)) continue;
      all_int = false;
      if (!parse_float(value, &x)) return ColumnType::kString;
    }
    if (!any) return ColumnType::kString;  // nothing says the column is numeric
    // A fractional fill value cannot live in an int column; the column becomes float instead.
    const bool fill_fractional = options_.fill_missing && !is_integral(*options_.fill_missing);
    if (all_int && !(fill_fractional && !slots_[k].empties.empty())) return ColumnType::kInt;
    return ColumnType::kFloat;
  }

  // Empty cells in auto columns that turned numeric, without a fill value: an error at the first
  // one, or in kSkip mode their rows go, each with a reason.
  void drop_rows_with_empty_numbers(const std::vector<size_t>& numeric) {
    std::vector<std::pair<int64_t, std::string>> bad;  // (kept row, message)
    for (size_t k : numeric) {
      for (const auto& [row, line] : slots_[k].empties) {
        bad.push_back({row, empty_message(slots_[k], line, "a number")});
      }
    }
    if (bad.empty()) return;
    std::stable_sort(bad.begin(), bad.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    if (options_.on_bad_row == OnBadRow::kError) throw RecordError(bad.front().second);
    std::vector<char> keep(kept_, 1);
    for (const auto& [row, message] : bad) {
      if (!keep[row]) continue;  // one reason per row
      keep[row] = 0;
      --kept_;
      skip(message);
    }
    for (Column& column : table_.columns) {
      keep_rows(column.ints, keep);
      keep_rows(column.floats, keep);
      keep_rows(column.strings, keep);
    }
  }

  void convert(size_t k) {
    Column& column = table_.columns[k];
    std::vector<std::string> values;
    values.swap(column.strings);
    for (const std::string& value : values) {
      double x = 0;
      int64_t i = 0;
      if (value.empty()) {  // only reached with a fill value, or when tolerating empty cells
        x = options_.fill_missing.value_or(0.0);
        i = static_cast<int64_t>(x);
        ++column.missing;
        ++table_.report.cells_filled;
      } else if (column.type == ColumnType::kInt) {
        parse_int(value, &i);  // infer_type checked every value
      } else {
        parse_float(value, &x);
      }
      if (column.type == ColumnType::kInt) {
        column.ints.push_back(i);
      } else {
        column.floats.push_back(x);
      }
    }
  }

  const CsvReader& reader_;
  const TableOptions& options_;
  bool resolved_ = false;
  std::vector<Slot> slots_;  // parallel to table_.columns
  Table table_;
  int64_t kept_ = 0;
  int64_t skipped_ = 0;
};

}  // namespace

std::string show_value(const std::string& value) {
  // Cut at a character boundary, because a misaligned review text in a number column would
  // otherwise flood the terminal.
  size_t cut = value.size();
  if (cut > kMaxShownValue) {
    cut = kMaxShownValue;
    while (cut > 0 && (static_cast<unsigned char>(value[cut]) & 0xc0) == 0x80) --cut;
  }
  static const char kHex[] = "0123456789abcdef";
  std::string out = "'";
  for (size_t i = 0; i < cut; ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      out += std::string("\\x") + kHex[c >> 4] + kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + (cut < value.size() ? "...'" : "'");
}

size_t find_control(const std::string& value) {
  for (size_t i = 0; i < value.size(); ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (c < 0x20 || c == 0x7f) return i;
  }
  return std::string::npos;
}

int64_t Table::num_rows() const {
  if (columns.empty()) return report.rows_kept;
  const Column& first = columns.front();
  switch (first.type) {
    case ColumnType::kInt:
      return static_cast<int64_t>(first.ints.size());
    case ColumnType::kFloat:
      return static_cast<int64_t>(first.floats.size());
    default:
      return static_cast<int64_t>(first.strings.size());
  }
}

const Column& Table::column(const std::string& name) const {
  for (const Column& c : columns) {
    if (c.name == name) return c;
  }
  std::vector<std::string> names;
  for (const Column& c : columns) names.push_back(c.name);
  throw Error("no column '" + name + "'; columns are: " + join(names));
}

bool Table::has_column(const std::string& name) const {
  for (const Column& c : columns) {
    if (c.name == name) return true;
  }
  return false;
}

Table read_table(const std::string& path, const TableOptions& options) {
  CsvReader reader(path, options.csv);
  TableBuilder builder(reader, options);
  if (options.csv.has_header) builder.resolve(reader.header());
  std::vector<std::string> fields;
  for (;;) {
    try {
      if (!reader.next(fields)) break;
      if (!builder.resolved()) builder.resolve(position_names(reader.num_columns()));
      builder.add_row(fields);
    } catch (const RecordError& e) {
      if (options.on_bad_row == OnBadRow::kError) throw;
      // Without a header even a bad first record fixes the column count.
      if (!builder.resolved() && reader.num_columns() > 0) {
        builder.resolve(position_names(reader.num_columns()));
      }
      builder.skip(e.what());
    }
  }
  if (!builder.resolved()) builder.resolve({});  // headerless empty file
  return builder.finish();
}

}  // namespace deepcart::data
