// deepcart rec train | eval | recommend
#include <torch/torch.h>

#include <cstdio>
#include <iostream>

#include "cli_common.h"
#include "deepcart/core/error.h"
#include "deepcart/rec/mlp_task.h"
#include "deepcart/rec/recommender.h"

namespace deepcart::cli {
namespace {

struct DataFlags {
  std::string user_col = "user_id", item_col = "item_id", event_col = "event",
              time_col = "timestamp", positive_event = "purchase", features;
  std::string fill_missing;  // empty = no filling
  std::string on_bad_row = "error";
};

void add_data_flags(CLI::App* app, DataFlags& d) {
  app->add_option("--user-col", d.user_col, "user id column")->capture_default_str();
  app->add_option("--item-col", d.item_col, "item id column")->capture_default_str();
  app->add_option("--event-col", d.event_col, "event type column (optional in the file)")
      ->capture_default_str();
  app->add_option("--time-col", d.time_col, "timestamp column (optional in the file)")
      ->capture_default_str();
  app->add_option("--positive-event", d.positive_event, "event value that counts as a purchase")
      ->capture_default_str();
  app->add_option("--features", d.features,
                  "comma-separated numeric behaviour columns fed to the model (per-item means)");
  app->add_option("--fill-missing", d.fill_missing,
                  "fill empty numeric cells with this value (default: an empty cell is an error)");
  app->add_option("--on-bad-row", d.on_bad_row, "error | skip (skipped rows are counted and reported)")
      ->check(CLI::IsMember({"error", "skip"}))
      ->capture_default_str();
}

rec::LogColumns columns_from(const DataFlags& d) {
  rec::LogColumns c;
  c.user = d.user_col;
  c.item = d.item_col;
  c.event = d.event_col;
  c.time = d.time_col;
  c.positive_event = d.positive_event;
  c.features = parse_name_list(d.features);
  return c;
}

data::TableOptions table_from(const DataFlags& d) {
  data::TableOptions t;
  if (!d.fill_missing.empty()) {
    try {
      t.fill_missing = std::stod(d.fill_missing);
    } catch (const std::exception&) {
      throw Error("--fill-missing: expected a number, found '" + d.fill_missing + "'");
    }
  }
  t.on_bad_row = d.on_bad_row == "skip" ? data::OnBadRow::kSkip : data::OnBadRow::kError;
  return t;
}

void print_read_report(const data::ReadReport& r, bool quiet) {
  if (quiet) return;
  std::fprintf(stderr, "read %lld rows: %lld kept, %lld skipped, %lld empty cells filled\n",
               static_cast<long long>(r.rows_read), static_cast<long long>(r.rows_kept),
               static_cast<long long>(r.rows_skipped), static_cast<long long>(r.cells_filled));
  for (const auto& reason : r.skip_reasons) std::fprintf(stderr, "  skipped: %s\n", reason.c_str());
}

std::string metric_line(const std::map<std::string, double>& m) {
  std::string out;
  char buf[64];
  for (const auto& [name, value] : m) {
    const bool count = value == static_cast<double>(static_cast<int64_t>(value)) && value > 1;
    std::snprintf(buf, sizeof(buf), count ? "%s%s %.0f" : "%s%s %.4f", out.empty() ? "" : "  ",
                  name.c_str(), value);
    out += buf;
  }
  return out;
}

}  // namespace

void register_rec(CLI::App& app) {
  CLI::App* rec = app.add_subcommand("rec", "recommendation: train, eval, recommend");
  rec->require_subcommand(1);

  // train
  {
    auto* cmd = rec->add_subcommand("train", "train a recommender on a behaviour log (CSV)");
    auto common = std::make_shared<Common>();
    auto data = std::make_shared<DataFlags>();
    auto config = std::make_shared<rec::MlpTrainConfig>();
    auto model = std::make_shared<std::string>("mlp");
    auto path = std::make_shared<std::string>();
    auto out = std::make_shared<std::string>();
    auto layers = std::make_shared<std::string>("64,32");
    config->train.epochs = 20;
    config->train.batch_size = 512;
    config->train.lr = 0.01;  // chosen on the demo shop's validation split (bench/RESULTS.md)
    config->train.patience = 3;
    config->train.monitor = "ndcg@10";
    add_common(cmd, *common);
    cmd->add_option("--model", *model, "architecture")->check(CLI::IsMember({"mlp"}))->capture_default_str();
    cmd->add_option("--data", *path, "behaviour log CSV (user, item, event, timestamp, ...)")->required();
    cmd->add_option("--out", *out, "ModelFile to write (.dcm)")->required();
    add_data_flags(cmd, *data);
    cmd->add_option("--dim", config->model.dim, "embedding size")->capture_default_str();
    cmd->add_option("--layers", *layers, "hidden layer widths")->capture_default_str();
    cmd->add_option("--dropout", config->model.dropout, "dropout after each hidden layer")
        ->capture_default_str();
    cmd->add_option("--negatives", config->negatives, "sampled negatives per purchase")
        ->capture_default_str();
    add_train_flags(cmd, config->train);
    cmd->add_option("--monitor", config->train.monitor, "validation metric for early stopping")
        ->capture_default_str();
    cmd->callback([=] {
      init_context(*common);
      config->columns = columns_from(*data);
      config->table = table_from(*data);
      config->model.layers = parse_int_list(*layers, "--layers");
      config->train.seed = common->seed;
      config->train.quiet = common->quiet;
      if (config->train.checkpoint_path.empty()) config->train.checkpoint_path = *out + ".ckpt";
      rec::MlpTrainOutput result = rec::mlp_train(*path, *config);
      print_read_report(result.read_report, common->quiet || common->json);
      model_file_write(result.model, *out);
      if (common->json) {
        print_json({{"model", *out}, {"metrics", result.model.metrics}});
        return;
      }
      std::printf("trained %s in %.1f s (%d epochs, best %d, %.0f examples/s)\n", out->c_str(),
                  result.result.seconds, result.result.epochs_run, result.result.best_epoch,
                  result.result.examples_per_second);
      std::printf("validation: %s\n", metric_line(result.result.best_metrics).c_str());
      std::printf("test:       %s\n", metric_line(result.test).c_str());
    });
  }

  // eval
  {
    auto* cmd = rec->add_subcommand("eval", "evaluate a recommender: AUC, log-loss, HR/NDCG@K (leave-one-out)");
    auto common = std::make_shared<Common>();
    auto model = std::make_shared<std::string>();
    auto path = std::make_shared<std::string>();
    auto ks = std::make_shared<std::string>("10");
    auto negatives = std::make_shared<int>(4);
    add_common(cmd, *common);
    cmd->add_option("--model", *model, "trained ModelFile (.dcm)")->required();
    cmd->add_option("--data", *path, "behaviour log CSV (default: the file it was trained on)");
    cmd->add_option("--k", *ks, "cut-offs, comma-separated")->capture_default_str();
    cmd->add_option("--negatives", *negatives, "sampled negatives per held-out purchase (AUC, log-loss)")
        ->capture_default_str();
    cmd->callback([=] {
      init_context(*common);
      rec::Recommender rec = rec::Recommender::load(*model);
      const auto& meta = rec.file().meta;
      const auto& c = meta.at("columns");
      rec::LogColumns columns;
      columns.user = c.at("user");
      columns.item = c.at("item");
      columns.event = c.at("event");
      columns.time = c.at("time");
      columns.positive_event = c.at("positive_event");
      data::TableOptions table;
      if (!meta.at("fill_missing").is_null()) table.fill_missing = meta.at("fill_missing").get<double>();
      const std::string source = path->empty() ? meta.at("source").get<std::string>() : *path;
      rec::Interactions raw = rec::interactions_read(source, columns, table);
      int64_t dropped = 0;
      rec::Interactions log = rec::interactions_remap(raw, rec.users(), rec.items(), &dropped);
      rec::LooSplit split = rec::split_leave_one_out(log);
      std::vector<int> cutoffs;
      for (int64_t k : parse_int_list(*ks, "--k")) cutoffs.push_back(static_cast<int>(k));
      auto metrics = rec::rec_evaluate(rec, log, split, cutoffs, *negatives, common->seed);
      metrics["rows_dropped_unknown_ids"] = static_cast<double>(dropped);
      if (common->json) {
        print_json({{"model", *model}, {"data", source},
                    {"protocol", "leave-one-out, full ranking over all items the user has not interacted with"},
                    {"metrics", metrics}});
        return;
      }
      std::printf("%s on %s (leave-one-out, full ranking)\n", model->c_str(), source.c_str());
      for (const auto& [name, value] : metrics) std::printf("  %-26s %.4f\n", name.c_str(), value);
    });
  }

  // recommend
  {
    auto* cmd = rec->add_subcommand("recommend", "top-K items a user has not bought yet");
    auto common = std::make_shared<Common>();
    auto model = std::make_shared<std::string>();
    auto user = std::make_shared<std::string>();
    auto k = std::make_shared<int>(10);
    auto include_bought = std::make_shared<bool>(false);
    add_common(cmd, *common);
    cmd->add_option("--model", *model, "trained ModelFile (.dcm)")->required();
    cmd->add_option("--user", *user, "user id as in the training data")->required();
    cmd->add_option("--k", *k, "how many items")->capture_default_str();
    cmd->add_flag("--include-bought", *include_bought, "also rank items the user already bought");
    cmd->callback([=] {
      init_context(*common);
      rec::Recommender rec = rec::Recommender::load(*model);
      auto items = rec.recommend(*user, *k, !*include_bought);
      if (common->json) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& s : items) out.push_back({{"item", s.item}, {"score", s.score}});
        print_json({{"user", *user}, {"items", out}});
        return;
      }
      std::printf("top %zu for %s (purchase probability):\n", items.size(), user->c_str());
      for (size_t j = 0; j < items.size(); ++j) {
        std::printf("%3zu. %-16s %.4f\n", j + 1, items[j].item.c_str(), items[j].score);
      }
    });
  }
}

}  // namespace deepcart::cli
