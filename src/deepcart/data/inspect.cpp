#include "deepcart/data/inspect.h"

#include <chrono>

#include "deepcart/core/text_out.h"

namespace deepcart::data {
namespace {

const char* type_name(ColumnType t) {
  switch (t) {
    case ColumnType::kInt:
      return "int";
    case ColumnType::kFloat:
      return "float";
    case ColumnType::kString:
      return "string";
    default:
      return "auto";
  }
}

}  // namespace

nlohmann::json inspect_table(const std::string& path, TableOptions options) {
  options.tolerate_empty = true;
  const char* empty_key = options.fill_missing ? "filled" : "empty";
  const auto t0 = std::chrono::steady_clock::now();
  const Table table = read_table(path, options);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  nlohmann::json columns = nlohmann::json::array();
  for (const auto& c : table.columns) {
    int64_t empty = 0;
    for (const auto& s : c.strings) empty += s.empty();
    columns.push_back({{"name", c.name},
                       {"type", type_name(c.type)},
                       {empty_key, c.missing},
                       {"empty_strings", empty}});
  }
  const auto& r = table.report;
  return {{"file", path},
          {"rows", table.num_rows()},
          {"rows_read", r.rows_read},
          {"rows_skipped", r.rows_skipped},
          {"cells_filled", r.cells_filled},
          {"skip_reasons", r.skip_reasons},
          {"columns", columns},
          {"seconds", seconds}};
}

std::string describe_inspection(const nlohmann::json& j) {
  TextOut out;
  out.add("%s: %lld rows (%lld read, %lld skipped), %zu columns, read in %.3f s\n",
          j["file"].get<std::string>().c_str(), j["rows"].get<long long>(),
          j["rows_read"].get<long long>(), j["rows_skipped"].get<long long>(), j["columns"].size(),
          j["seconds"].get<double>());
  for (const auto& c : j["columns"]) {
    const std::string name = c["name"].get<std::string>();
    const char* empty_key = c.contains("filled") ? "filled" : "empty";
    out.add("  %-24s %-6s  %s %lld  empty text %lld\n", name.empty() ? "(unnamed)" : name.c_str(),
            c["type"].get<std::string>().c_str(), empty_key, c[empty_key].get<long long>(),
            c["empty_strings"].get<long long>());
  }
  for (const auto& reason : j["skip_reasons"])
    out.add("  skipped: %s\n", reason.get<std::string>().c_str());
  return out.s;
}

}  // namespace deepcart::data
