// `deepcart data inspect`: what deepcart sees in a CSV/TSV file before any training. Its
// columns and their inferred types, empty cells, bad rows, and how long reading it takes.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "deepcart/data/table.h"

namespace deepcart::data {

// Reads `path` with the shared reader, counting empty cells instead of stopping at the first,
// and reports {"file", "rows", "rows_read", "rows_skipped", "cells_filled", "skip_reasons",
// "columns": [{"name", "type", "empty" or "filled", "empty_strings"}], "seconds"}.
nlohmann::json inspect_table(const std::string& path, TableOptions options);
// The same report, a line per column.
std::string describe_inspection(const nlohmann::json& report);

}  // namespace deepcart::data
