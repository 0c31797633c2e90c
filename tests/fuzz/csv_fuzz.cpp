// libFuzzer target: the CSV reader and the typed table reader on top of it. Any input must
// either read into records and columns that keep their invariants, or throw deepcart::Error;
// nothing else. The input becomes an in-memory file (memfd), read with a 7-byte buffer so that
// every chunk boundary is crossed.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "deepcart/data/csv_reader.h"
#include "deepcart/data/table.h"

namespace {

std::string as_file(const uint8_t* data, size_t size, int* fd) {
  *fd = memfd_create("csv", 0);
  if (*fd < 0) std::abort();
  size_t done = 0;
  while (done < size) {
    const ssize_t n = write(*fd, data + done, size - done);
    if (n <= 0) std::abort();
    done += static_cast<size_t>(n);
  }
  return "/proc/self/fd/" + std::to_string(*fd);
}

void read_records(const std::string& path, bool header) {
  deepcart::data::CsvOptions options;
  options.has_header = header;
  options.buffer_bytes = 7;
  options.max_field_bytes = 1 << 12;
  try {
    deepcart::data::CsvReader reader(path, options);
    std::vector<std::string> fields;
    int64_t records = 0;
    for (;;) {
      try {
        if (!reader.next(fields)) break;
        ++records;
        if (static_cast<int>(fields.size()) != reader.num_columns()) std::abort();
      } catch (const deepcart::data::RecordError&) {
        ++records;
      }
      if (reader.records_read() != records) std::abort();
    }
  } catch (const deepcart::Error&) {
  }
}

void read_typed(const std::string& path, deepcart::data::OnBadRow on_bad_row) {
  using deepcart::data::ColumnType;
  deepcart::data::TableOptions options;
  options.csv.buffer_bytes = 7;
  options.on_bad_row = on_bad_row;
  options.columns = {
      {"a", ColumnType::kInt, false},
      {"b", ColumnType::kFloat, false, -deepcart::data::kInt64Safe, deepcart::data::kInt64Safe},
      {"c", ColumnType::kString, false, 0, 0, true},
      {"d", ColumnType::kAuto, false}};
  try {
    const deepcart::data::Table table = deepcart::data::read_table(path, options);
    const auto& r = table.report;
    if (r.rows_read != r.rows_kept + r.rows_skipped) std::abort();
    for (const auto& c : table.columns) {
      const size_t n = c.type == ColumnType::kInt     ? c.ints.size()
                       : c.type == ColumnType::kFloat ? c.floats.size()
                                                      : c.strings.size();
      if (static_cast<int64_t>(n) != table.num_rows()) std::abort();
      if (c.name == "b") {
        for (double x : c.floats) {
          if (!(x >= -deepcart::data::kInt64Safe && x <= deepcart::data::kInt64Safe)) std::abort();
        }
      }
      if (c.name == "c") {
        for (const auto& s : c.strings) {
          if (deepcart::data::find_control(s) != std::string::npos) std::abort();
        }
      }
    }
  } catch (const deepcart::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int fd = -1;
  const std::string path = as_file(data, size, &fd);
  read_records(path, true);
  read_records(path, false);
  read_typed(path, deepcart::data::OnBadRow::kSkip);
  read_typed(path, deepcart::data::OnBadRow::kError);
  close(fd);
  return 0;
}
