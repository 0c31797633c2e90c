// Typed, columnar view of a CSV file: the cleaning step between a raw shop export and a model.
// Columns are chosen and typed up front (or inferred), empty numbers are filled or rejected, and
// bad rows either stop the read or are skipped and reported, never dropped silently.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "deepcart/data/csv_reader.h"

namespace deepcart::data {

enum class ColumnType { kAuto, kInt, kFloat, kString };

struct ColumnSpec {
  std::string name;
  ColumnType type = ColumnType::kAuto;
  bool required = true;  // a missing optional column is simply absent from the Table
  // Numeric columns: values outside [min, max] are errors naming the cell (a timestamp of 1e26
  // does not fit the 64-bit time it becomes).
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  // String columns holding ids or event names: a control character (a stray CR, a NUL) in one
  // is an error naming the cell, never part of an id.
  bool identifier = false;
};

// The range of a number that becomes an int64 (a time): within +-9.2e18.
inline constexpr double kInt64Safe = 9.2e18;

enum class OnBadRow { kError, kSkip };

struct TableOptions {
  CsvOptions csv;
  std::vector<ColumnSpec> columns;  // which columns to keep, in this order; empty = all, kAuto
  // Empty numeric cells become this value; without it an empty numeric cell is an error.
  std::optional<double> fill_missing;
  // For inspection: an empty numeric cell is neither an error nor filled by the user; it is
  // counted in Column::missing and holds 0.
  bool tolerate_empty = false;
  OnBadRow on_bad_row = OnBadRow::kError;
  size_t max_reasons = 5;  // how many skip reasons to keep
};

// One column; only the vector matching `type` is filled.
struct Column {
  std::string name;
  ColumnType type = ColumnType::kString;  // resolved type, never kAuto
  std::vector<int64_t> ints;
  std::vector<double> floats;
  std::vector<std::string> strings;
  int64_t missing = 0;  // how many empty cells were filled
};

// rows_read == rows_kept + rows_skipped always holds.
struct ReadReport {
  int64_t rows_read = 0;
  int64_t rows_kept = 0;
  int64_t rows_skipped = 0;
  int64_t cells_filled = 0;
  std::vector<std::string> skip_reasons;  // the first max_reasons messages
};

struct Table {
  std::vector<Column> columns;
  ReadReport report;

  int64_t num_rows() const;
  // Throws Error "no column 'x'; columns are: a, b, c".
  const Column& column(const std::string& name) const;
  bool has_column(const std::string& name) const;
};

// Reads and cleans a whole CSV file; memory grows with the kept columns only.
//
// Types: kInt accepts a whole 64-bit integer or an integral float ("3.0" -> 3, "3.5" is an
// error). kFloat accepts a finite number with nothing after it ("nan", "inf", "1x" are errors).
// kAuto decides after the read: int if every non-empty value is written as an integer, else
// float if every one is a number, else string; a column with no non-empty value is string.
// Empty cells of an auto column that turns numeric are filled like declared ones; in kSkip mode
// without fill_missing their rows are dropped and reported at the end.
//
// Without a header, columns are named by position: "1", "2", ... Cell errors give the line
// where the record starts, which differs from the cell's line only after a multi-line field.
//
// Throws Error for a missing required column, an unreadable file or an unterminated quote (fatal
// even in kSkip mode: nothing after it can be trusted), and RecordError for a bad row in kError
// mode.
Table read_table(const std::string& path, const TableOptions& options);

// A cell value for a message: quoted, control characters escaped (a NUL would cut the message
// short), and cut at a character boundary if long.
std::string show_value(const std::string& value);
// The first control character (below 0x20, or 0x7f) in `value`, or npos.
size_t find_control(const std::string& value);

}  // namespace deepcart::data
