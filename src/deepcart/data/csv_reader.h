// Streaming RFC 4180 CSV/TSV reader: the one place where shop exports (reviews, orders, intents)
// enter deepcart. It reads fixed-size chunks, so memory stays flat however large the file is,
// and every error names the file, line and column so a user can fix the row.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "deepcart/core/error.h"
#include "deepcart/data/gz_reader.h"

namespace deepcart::data {

struct CsvOptions {
  char delimiter = 0;  // 0 = guess from the file name: ".tsv" (or ".tsv.gz") -> '\t', else ','
  bool has_header = true;
  size_t max_field_bytes = 16 << 20;  // a field larger than this is an error (protects memory)
  size_t buffer_bytes = 1 << 18;      // read chunk; tests shrink it to hit every chunk boundary
};

// A malformed record (wrong field count, bad byte, stray quote, oversized field). The reader has
// already moved past the whole record, so a caller that wants to skip bad rows can call next()
// again. Errors that leave nothing trustworthy after them (an unterminated quote, a read failure)
// are plain Error instead.
class RecordError : public Error {
 public:
  explicit RecordError(const std::string& what) : Error(what) {}
};

// Dialect decisions, where RFC 4180 is silent or real files disagree with it:
// - A record ends at LF or CRLF outside quotes. Line breaks inside quotes are kept byte for byte
//   (CRLF stays CRLF). A lone CR outside quotes is ordinary data.
// - Completely empty lines are skipped, as spreadsheet tools do, but still counted in line
//   numbers. A one-column file can spell an empty value as "".
// - A quote inside an unquoted field (5'8") is kept as data; only a field that starts with '"'
//   is quoted.
// - A UTF-8 BOM is stripped at the start of the file only; one inside a field is data.
// - With has_header, an empty file is an error. Without a header, an empty file has no records
//   and the first record fixes the field count.
class CsvReader {
 public:
  // Throws Error "PATH: cannot open: <strerror>" and "PATH: empty file: ...".
  CsvReader(const std::string& path, CsvOptions options = {});

  const std::vector<std::string>& header() const { return header_; }  // BOM stripped
  int column_index(const std::string& name) const;                    // -1 if absent
  // Fields per record: the header's, or the first record's without a header; 0 before that.
  int num_columns() const { return static_cast<int>(expected_fields_); }

  // Reads the next record into fields, reusing its strings; false at end of file. Throws
  // RecordError for a malformed record (the next call continues after it) and Error when the
  // rest of the file cannot be read.
  bool next(std::vector<std::string>& fields);

  int64_t record_line() const { return record_line_; }    // 1-based line where the record began
  int64_t records_read() const { return records_read_; }  // data records, bad ones included
  const std::string& path() const { return path_; }
  char delimiter() const { return delimiter_; }

  // "PATH:LINE:COL (column 'name')", the prefix of every cell-level message; the name is given
  // when the file has a header. col is the 1-based field index.
  std::string location(int64_t line, int col) const;

 private:
  bool parse_record(std::vector<std::string>& fields);
  bool parse_field(std::string& field, int col);
  void append(std::string& field, const char* data, size_t size, int col);
  void check_utf8(const std::string& field, int col);
  void fail_record(const std::string& message);
  // Makes at least n bytes available at pos_ (keeping unread ones); false if the file ends first.
  bool fill(size_t n);
  bool ensure() { return pos_ != end_ || fill(1); }

  std::string path_;
  char delimiter_;
  bool has_header_;
  size_t max_field_bytes_;
  std::unique_ptr<GzReader> file_;  // plain or gzip-compressed
  std::vector<char> buffer_;
  const char* pos_ = nullptr;
  const char* end_ = nullptr;
  bool eof_ = false;

  std::vector<std::string> header_;
  size_t expected_fields_ = 0;
  int64_t line_ = 1;  // physical line at pos_
  int64_t record_line_ = 0;
  int64_t records_read_ = 0;

  // State of the record being parsed: only its first problem is reported.
  std::string record_error_;
  int64_t field_line_ = 0;
  bool field_overflow_ = false;
};

}  // namespace deepcart::data
