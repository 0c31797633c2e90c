// deepcart data inspect: what deepcart sees in a CSV/TSV file (columns, inferred types, empty
// cells, bad rows) and how long reading it takes, before any training.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "cli_common.h"
#include "deepcart/data/table.h"

namespace deepcart::cli {
namespace {

const char* type_name(data::ColumnType t) {
  switch (t) {
    case data::ColumnType::kInt:
      return "int";
    case data::ColumnType::kFloat:
      return "float";
    case data::ColumnType::kString:
      return "string";
    default:
      return "auto";
  }
}

}  // namespace

void register_data(CLI::App& app) {
  auto* data_cmd = app.add_subcommand("data", "inspect data files");
  data_cmd->require_subcommand(1);
  auto* cmd = data_cmd->add_subcommand(
      "inspect", "read a CSV/TSV with the shared reader: columns, types, empty cells, bad rows");
  auto common = std::make_shared<Common>();
  auto path = std::make_shared<std::string>();
  auto on_bad_row = std::make_shared<std::string>("error");
  auto fill = std::make_shared<std::string>();
  add_common(cmd, *common);
  cmd->add_option("--data", *path, "CSV or TSV file (TSV by its .tsv name)")->required();
  cmd->add_option("--on-bad-row", *on_bad_row, "error | skip")
      ->check(CLI::IsMember({"error", "skip"}))
      ->capture_default_str();
  cmd->add_option(
      "--fill-missing", *fill,
      "fill empty numeric cells with this value (without it, they are counted as empty)");
  cmd->callback([=] {
    data::TableOptions options;
    options.on_bad_row = *on_bad_row == "skip" ? data::OnBadRow::kSkip : data::OnBadRow::kError;
    if (!fill->empty()) {
      char* end = nullptr;
      const double value = std::strtod(fill->c_str(), &end);
      if (end == fill->c_str() || *end != '\0' || !std::isfinite(value)) {
        throw Error("--fill-missing: expected a number, found '" + *fill + "'");
      }
      options.fill_missing = value;
    }
    // Inspection reports empty cells; it does not stop at the first one.
    options.tolerate_empty = true;
    const auto t0 = std::chrono::steady_clock::now();
    data::Table table = data::read_table(*path, options);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    nlohmann::json columns = nlohmann::json::array();
    for (const auto& c : table.columns) {
      int64_t empty = 0;
      for (const auto& s : c.strings) empty += s.empty();
      columns.push_back({{"name", c.name},
                         {"type", type_name(c.type)},
                         {fill->empty() ? "empty" : "filled", c.missing},
                         {"empty_strings", empty}});
    }
    const auto& r = table.report;
    nlohmann::json j = {{"file", *path},
                        {"rows", table.num_rows()},
                        {"rows_read", r.rows_read},
                        {"rows_skipped", r.rows_skipped},
                        {"cells_filled", r.cells_filled},
                        {"skip_reasons", r.skip_reasons},
                        {"columns", columns},
                        {"seconds", seconds}};
    if (common->json) return print_json(j);
    std::printf("%s: %lld rows (%lld read, %lld skipped), %zu columns, read in %.3f s\n",
                path->c_str(), (long long)table.num_rows(), (long long)r.rows_read,
                (long long)r.rows_skipped, table.columns.size(), seconds);
    const char* empty_key = fill->empty() ? "empty" : "filled";
    for (const auto& c : columns) {
      const std::string name = c["name"].get<std::string>();
      std::printf("  %-24s %-6s  %s %lld  empty text %lld\n",
                  name.empty() ? "(unnamed)" : name.c_str(), c["type"].get<std::string>().c_str(),
                  empty_key, c[empty_key].get<long long>(), c["empty_strings"].get<long long>());
    }
    for (const auto& reason : r.skip_reasons) std::printf("  skipped: %s\n", reason.c_str());
  });
}

}  // namespace deepcart::cli
