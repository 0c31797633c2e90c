// deepcart data inspect: what deepcart sees in a CSV/TSV file (the workflow: data/inspect.h).
#include <cstdio>

#include "cli_common.h"
#include "deepcart/data/inspect.h"

namespace deepcart::cli {

void register_data(CLI::App& app) {
  auto* group = app.add_subcommand("data", "inspect data files");
  group->require_subcommand(1);
  struct Flags : Common {
    std::string path, on_bad_row = "error", fill;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd =
      add_command(group, "inspect",
                  "read a CSV/TSV with the shared reader: columns, types, empty cells, bad rows",
                  *f, Compute::kNone);
  cmd->add_option("--data", f->path, "CSV or TSV file (TSV by its .tsv name)")->required();
  opt(cmd, "--on-bad-row", f->on_bad_row, "error | skip")->check(CLI::IsMember({"error", "skip"}));
  cmd->add_option("--fill-missing", f->fill,
                  "fill empty numeric cells with this value (without it, they are counted as "
                  "empty)");
  cmd->callback([=] {
    data::TableOptions options;
    options.on_bad_row = f->on_bad_row == "skip" ? data::OnBadRow::kSkip : data::OnBadRow::kError;
    if (!f->fill.empty())
      options.fill_missing = parse_setting<double>("fill-missing", SettingKind::kNumber, f->fill);
    const nlohmann::json report = data::inspect_table(f->path, options);
    if (f->json) return print_json(report);
    std::printf("%s", data::describe_inspection(report).c_str());
  });
}

}  // namespace deepcart::cli
