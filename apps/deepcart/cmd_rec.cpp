// deepcart rec train | eval | recommend | similar
#include <torch/torch.h>

#include <cstdio>
#include <fstream>
#include <iostream>

#include "cli_common.h"
#include "deepcart/core/error.h"
#include "deepcart/rec/dataset.h"
#include "deepcart/rec/mlp_task.h"
#include "deepcart/rec/rec_task.h"
#include "deepcart/rec/recommender.h"

namespace deepcart::cli {
namespace {

// How to read and split the data; stored in the ModelFile so `rec eval` can repeat it.
struct DataFlags {
  std::string format = "auto";
  std::string user_col = "user_id", item_col = "item_id", event_col = "event",
              time_col = "timestamp", rating_col = "rating", positive_event = "purchase";
  std::string features;      // mlp only
  std::string fill_missing;  // empty = no filling
  std::string on_bad_row = "error";
  double min_rating = -1e300;  // unset
  int min_user = 0, min_item = 0;
  bool dedupe = false;
  std::string split = "loo";
  std::string train_file, test_file;
  double valid_ratio = 0.05;

  nlohmann::json to_json() const {
    return {{"format", format},       {"user_col", user_col},     {"item_col", item_col},
            {"event_col", event_col}, {"time_col", time_col},     {"rating_col", rating_col},
            {"positive_event", positive_event}, {"min_rating", min_rating},
            {"min_user", min_user},   {"min_item", min_item},     {"dedupe", dedupe},
            {"split", split},         {"valid_ratio", valid_ratio}, {"on_bad_row", on_bad_row},
            {"train_file", train_file}, {"test_file", test_file}};
  }
  static DataFlags from_json(const nlohmann::json& j) {
    DataFlags d;
    d.format = j.at("format");
    d.user_col = j.at("user_col");
    d.item_col = j.at("item_col");
    d.event_col = j.at("event_col");
    d.time_col = j.at("time_col");
    d.rating_col = j.at("rating_col");
    d.positive_event = j.at("positive_event");
    d.min_rating = j.at("min_rating");
    d.min_user = j.at("min_user");
    d.min_item = j.at("min_item");
    d.dedupe = j.at("dedupe");
    d.split = j.at("split");
    d.valid_ratio = j.at("valid_ratio");
    d.on_bad_row = j.at("on_bad_row");
    d.train_file = j.at("train_file");
    d.test_file = j.at("test_file");
    return d;
  }
};

void add_data_flags(CLI::App* app, DataFlags& d) {
  app->add_option("--format", d.format, "csv | movielens | seq | auto (guessed from the file)")
      ->check(CLI::IsMember({"auto", "csv", "movielens", "seq"}))
      ->capture_default_str();
  app->add_option("--user-col", d.user_col, "CSV: user id column")->capture_default_str();
  app->add_option("--item-col", d.item_col, "CSV: item id column")->capture_default_str();
  app->add_option("--event-col", d.event_col, "CSV: event type column (optional in the file)")
      ->capture_default_str();
  app->add_option("--time-col", d.time_col, "CSV: timestamp column (optional in the file)")
      ->capture_default_str();
  app->add_option("--rating-col", d.rating_col, "CSV: rating column (optional in the file)")
      ->capture_default_str();
  app->add_option("--positive-event", d.positive_event,
                  "event value that counts as an interaction (when the event column exists)")
      ->capture_default_str();
  app->add_option("--features", d.features,
                  "mlp: comma-separated numeric behaviour columns (per-item means)");
  app->add_option("--fill-missing", d.fill_missing,
                  "mlp: fill empty numeric cells with this value (default: an empty cell is an error)");
  app->add_option("--on-bad-row", d.on_bad_row, "error | skip (skipped rows are counted and reported)")
      ->check(CLI::IsMember({"error", "skip"}))
      ->capture_default_str();
  app->add_option("--min-rating", d.min_rating, "implicit: keep ratings >= this (default: keep all)");
  app->add_option("--min-user", d.min_user, "k-core: users need this many interactions")->capture_default_str();
  app->add_option("--min-item", d.min_item, "k-core: items need this many interactions")->capture_default_str();
  app->add_flag("--dedupe", d.dedupe, "keep only the first interaction of each (user, item)");
  app->add_option("--split", d.split, "loo | random:TEST_RATIO | time:TRAIN_RATIO")->capture_default_str();
  app->add_option("--train", d.train_file, "explicit split: training file (instead of --data)");
  app->add_option("--test", d.test_file, "explicit split: test file");
  app->add_option("--valid-ratio", d.valid_ratio,
                  "share of each user's training items kept for validation (random/time/explicit)")
      ->capture_default_str();
}

rec::RecLoadOptions load_options(const DataFlags& d) {
  rec::RecLoadOptions o;
  o.format = rec::rec_format_from_name(d.format);
  o.user_col = d.user_col;
  o.item_col = d.item_col;
  o.rating_col = d.rating_col;
  o.time_col = d.time_col;
  o.event_col = d.event_col;
  o.positive_event = d.positive_event;
  if (d.min_rating > -1e299) o.min_rating = d.min_rating;
  o.min_user_interactions = d.min_user;
  o.min_item_interactions = d.min_item;
  o.dedupe = d.dedupe;
  o.on_bad_row = d.on_bad_row == "skip" ? data::OnBadRow::kSkip : data::OnBadRow::kError;
  return o;
}

// Reads the data and splits it as the flags say.
std::pair<rec::RecDataset, rec::RecSplit> load_and_split(const DataFlags& d, const std::string& data,
                                                         uint64_t seed, bool quiet) {
  const auto options = load_options(d);
  if (!d.test_file.empty()) {
    if (d.train_file.empty()) throw Error("--test needs --train (the explicit split)");
    rec::RecDataset train = rec::rec_dataset_read(d.train_file, options);
    rec::RecLoadOptions test_options = options;
    test_options.min_user_interactions = test_options.min_item_interactions = 0;
    rec::RecDataset test = rec::rec_dataset_read(d.test_file, test_options);
    int64_t dropped = 0;
    rec::RecSplit split = rec::split_explicit(train, test, d.valid_ratio, &dropped);
    if (!quiet && dropped) {
      std::fprintf(stderr, "test file: %lld rows with users or items unknown to training dropped\n",
                   (long long)dropped);
    }
    return {std::move(train), std::move(split)};
  }
  const std::string path = data.empty() ? d.train_file : data;
  if (path.empty()) throw Error("--data FILE (or --train FILE --test FILE) is required");
  rec::RecDataset ds = rec::rec_dataset_read(path, options);
  if (!quiet) {
    std::fprintf(stderr, "%s: %lld users, %lld items, %lld interactions (%lld rows read",
                 path.c_str(), (long long)ds.num_users(), (long long)ds.num_items(),
                 (long long)ds.num_interactions(), (long long)ds.rows_read);
    if (ds.rows_below_rating) std::fprintf(stderr, ", %lld below --min-rating", (long long)ds.rows_below_rating);
    if (ds.rows_not_positive) std::fprintf(stderr, ", %lld not '%s'", (long long)ds.rows_not_positive, d.positive_event.c_str());
    if (ds.rows_duplicate) std::fprintf(stderr, ", %lld duplicates", (long long)ds.rows_duplicate);
    if (ds.rows_filtered_kcore) std::fprintf(stderr, ", %lld by k-core", (long long)ds.rows_filtered_kcore);
    if (ds.rows_skipped) std::fprintf(stderr, ", %lld bad rows skipped", (long long)ds.rows_skipped);
    std::fprintf(stderr, ")\n");
    for (const auto& r : ds.skip_reasons) std::fprintf(stderr, "  skipped: %s\n", r.c_str());
  }
  rec::RecSplit split = rec::split_by_name(ds, d.split, d.valid_ratio, seed);
  return {std::move(ds), std::move(split)};
}

std::string metric_line(const std::map<std::string, double>& m) {
  std::string out;
  char buf[96];
  for (const auto& [name, value] : m) {
    const bool count = value == static_cast<double>(static_cast<int64_t>(value)) && value > 1;
    std::snprintf(buf, sizeof(buf), count ? "%s%s %.0f" : "%s%s %.4f", out.empty() ? "" : "  ",
                  name.c_str(), value);
    out += buf;
  }
  return out;
}

std::vector<int> parse_ks(const std::string& text) {
  std::vector<int> ks;
  for (int64_t k : parse_int_list(text, "--k")) {
    if (k < 1) throw Error("--k: expected positive cut-offs, found " + std::to_string(k));
    ks.push_back(static_cast<int>(k));
  }
  return ks;
}

void print_items(const std::string& title, const std::vector<rec::ScoredItem>& items) {
  std::printf("%s\n", title.c_str());
  for (size_t j = 0; j < items.size(); ++j) {
    std::printf("%3zu. %-16s %.4f", j + 1, items[j].item.c_str(), items[j].score);
    if (!items[j].because.empty()) {
      std::printf("  because you bought");
      for (size_t b = 0; b < items[j].because.size(); ++b) {
        std::printf("%s %s", b ? " and" : "", items[j].because[b].c_str());
      }
    }
    std::printf("\n");
  }
}

nlohmann::json items_json(const std::vector<rec::ScoredItem>& items) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& s : items) out.push_back({{"item", s.item}, {"score", s.score}, {"because", s.because}});
  return out;
}

// The seed's behaviour-log pipeline (`--model mlp`): events, numeric features, AUC/log-loss.
void train_seed_mlp(const Common& common, const DataFlags& d, const std::string& path,
                    const std::string& out, const std::string& layers, rec::MlpTrainConfig config) {
  config.columns.user = d.user_col;
  config.columns.item = d.item_col;
  config.columns.event = d.event_col;
  config.columns.time = d.time_col;
  config.columns.positive_event = d.positive_event;
  config.columns.features = parse_name_list(d.features);
  if (!d.fill_missing.empty()) {
    try {
      config.table.fill_missing = std::stod(d.fill_missing);
    } catch (const std::exception&) {
      throw Error("--fill-missing: expected a number, found '" + d.fill_missing + "'");
    }
  }
  config.table.on_bad_row = d.on_bad_row == "skip" ? data::OnBadRow::kSkip : data::OnBadRow::kError;
  config.model.layers = parse_int_list(layers, "--layers");
  rec::MlpTrainOutput result = rec::mlp_train(path, config);
  if (config.train.parallel && config.train.parallel->rank() != 0) return;  // rank 0 writes
  model_file_write(result.model, out);
  const auto& r = result.read_report;
  if (!common.quiet && !common.json) {
    std::fprintf(stderr, "read %lld rows: %lld kept, %lld skipped, %lld empty cells filled\n",
                 (long long)r.rows_read, (long long)r.rows_kept, (long long)r.rows_skipped,
                 (long long)r.cells_filled);
    for (const auto& reason : r.skip_reasons) std::fprintf(stderr, "  skipped: %s\n", reason.c_str());
  }
  if (common.json) return print_json({{"model", out}, {"metrics", result.model.metrics}});
  std::printf("trained %s in %.1f s (%d epochs, best %d, %.0f examples/s)\n", out.c_str(),
              result.result.seconds, result.result.epochs_run, result.result.best_epoch,
              result.result.examples_per_second);
  std::printf("validation: %s\n", metric_line(result.result.best_metrics).c_str());
  std::printf("test:       %s\n", metric_line(result.test).c_str());
}

}  // namespace

void register_rec(CLI::App& app) {
  CLI::App* rec = app.add_subcommand("rec", "recommendation: train, eval, recommend, similar");
  rec->require_subcommand(1);

  // train
  {
    auto* cmd = rec->add_subcommand("train", "train a recommender (pop, bpr-mf, gmf, ncf-mlp, "
                                             "neumf, sasrec, gru4rec, ease, or the seed's mlp)");
    auto common = std::make_shared<Common>();
    auto d = std::make_shared<DataFlags>();
    auto arch = std::make_shared<std::string>("mlp");
    auto path = std::make_shared<std::string>();
    auto out = std::make_shared<std::string>();
    auto layers = std::make_shared<std::string>();
    auto ks = std::make_shared<std::string>("5,10,20");
    auto cfg = std::make_shared<rec::RecTrainConfig>();
    auto dims = std::make_shared<std::map<std::string, double>>();
    cfg->train.epochs = 20;
    cfg->train.batch_size = 512;
    cfg->train.lr = 0.01;  // the seed mlp's, chosen on the demo shop's validation split
    cfg->train.patience = 3;
    add_common(cmd, *common);
    add_device(cmd, *common, true);
    cmd->add_option("--model", *arch, "architecture")
        ->check(CLI::IsMember({"pop", "bpr-mf", "gmf", "ncf-mlp", "neumf", "mlp", "sasrec", "gru4rec", "ease"}))
        ->capture_default_str();
    cmd->add_option("--data", *path, "interactions: CSV, MovieLens u.data/ratings.dat, or user-sequence file");
    cmd->add_option("--out", *out, "ModelFile to write (.dcm)")->required();
    add_data_flags(cmd, *d);
    for (const char* name : {"dim", "dropout", "blocks", "heads", "max-len", "gmf-dim", "mlp-dim"}) {
      cmd->add_option_function<double>(std::string("--") + name,
                                       [dims, name](double v) { (*dims)[name] = v; },
                                       "model size (see README for each architecture's default)");
    }
    cmd->add_option("--layers", *layers, "MLP tower widths (mlp: 64,32; ncf-mlp and neumf: 64,32,16)");
    cmd->add_option("--loss", cfg->loss, "bce | bpr | softmax (default: bpr for bpr-mf, softmax for "
                                         "sequence models, bce otherwise)");
    cmd->add_option("--negatives", cfg->negatives, "sampled negatives per positive")->capture_default_str();
    cmd->add_option("--init-gmf", cfg->init_gmf, "neumf: start from this trained gmf model");
    cmd->add_option("--init-mlp", cfg->init_mlp, "neumf: start from this trained ncf-mlp model");
    cmd->add_option("--k", *ks, "cut-offs for the test report")->capture_default_str();
    auto l2 = std::make_shared<std::string>("50,100,200,400,800,1600");
    cmd->add_option("--l2", *l2, "ease: L2 strengths to try; the best on validation is kept")
        ->capture_default_str();
    add_train_flags(cmd, cfg->train);
    cmd->add_option("--monitor", cfg->train.monitor, "validation metric for early stopping "
                                                     "(default ndcg@10)");
    cmd->footer(
        "Defaults by architecture (when the flag is not given): --lr 0.01 for mlp and bpr-mf, "
        "0.001 otherwise; sasrec and gru4rec: --batch-size 128 --epochs 200 --patience 10. "
        "Sizes: bpr-mf --dim 64; gmf --dim 32; ncf-mlp --dim 32 --layers 64,32,16; neumf "
        "--gmf-dim 32 --mlp-dim 32 --layers 64,32,16; sasrec --dim 64 --blocks 2 --heads 1 "
        "--max-len 50 --dropout 0.2; gru4rec --dim 64 --max-len 50 --dropout 0.2.");
    cmd->callback([=] {
      init_context(*common);
      // Per-architecture defaults where the user did not choose.
      const bool sequential = *arch == "sasrec" || *arch == "gru4rec";
      if (!cmd->count("--lr") && *arch != "mlp" && *arch != "bpr-mf") cfg->train.lr = 0.001;
      if (!cmd->count("--batch-size") && sequential) cfg->train.batch_size = 128;
      if (!cmd->count("--epochs") && sequential) cfg->train.epochs = 200;
      if (!cmd->count("--patience") && sequential) cfg->train.patience = 10;
      cfg->train.seed = common->seed;
      cfg->train.quiet = common->quiet;
      if (cfg->train.checkpoint_path.empty()) cfg->train.checkpoint_path = *out + ".ckpt";
      const bool writes = join_data_parallel(cfg->train, *common);
      if (*arch == "mlp") {
        rec::MlpTrainConfig seed;
        seed.train = cfg->train;
        if (seed.train.monitor.empty()) seed.train.monitor = "ndcg@10";
        seed.negatives = cfg->negatives == 4 ? 8 : cfg->negatives;
        if (dims->count("dim")) seed.model.dim = static_cast<int64_t>(dims->at("dim"));
        if (dims->count("dropout")) seed.model.dropout = dims->at("dropout");
        return train_seed_mlp(*common, *d, *path, *out, layers->empty() ? "64,32" : *layers, seed);
      }
      for (const auto& [name, value] : *dims) {
        std::string key = name;
        std::replace(key.begin(), key.end(), '-', '_');
        if (key == "dropout") cfg->hparams[key] = value;
        else cfg->hparams[key] = static_cast<int64_t>(value);
      }
      if (!layers->empty()) cfg->hparams["layers"] = parse_int_list(*layers, "--layers");
      else if (*arch == "ncf-mlp") cfg->hparams["layers"] = std::vector<int64_t>{64, 32, 16};
      cfg->arch = *arch;
      cfg->l2.clear();
      for (const auto& v : parse_name_list(*l2)) cfg->l2.push_back(std::stod(v));
      cfg->ks = {10};
      cfg->train.monitor = cfg->train.monitor.empty() ? "ndcg@10" : cfg->train.monitor;
      auto [data, split] = load_and_split(*d, *path, common->seed, common->quiet || common->json);
      rec::RecTrainOutput trained = rec::rec_train(data, split, *cfg);
      if (!writes) return;  // rank 0 evaluates and writes
      trained.model.meta["data"] = d->to_json();
      trained.model.meta["source"] = path->empty() ? d->train_file : *path;
      rec::Recommender model(trained.model);
      auto test = rec::rec_evaluate_split(model, split, true, parse_ks(*ks), 0, common->seed);
      trained.model.metrics["test"] = test;
      trained.model.metrics["protocol"] = split.protocol + "; full ranking over all items";
      model_file_write(trained.model, *out);
      if (common->json) return print_json({{"model", *out}, {"metrics", trained.model.metrics}});
      const auto& r = trained.result;
      if (*arch != "pop" && *arch != "ease") {
        std::printf("trained %s (%s) in %.1f s: %d epochs, best %d, %.0f examples/s\n", out->c_str(),
                    arch->c_str(), r.seconds, r.epochs_run, r.best_epoch, r.examples_per_second);
        std::printf("validation: %s\n", metric_line(r.best_metrics).c_str());
      }
      std::printf("test (%s):\n  %s\n", split.protocol.c_str(), metric_line(test).c_str());
    });
  }

  // eval
  {
    auto* cmd = rec->add_subcommand("eval", "evaluate a recommender on its held-out data");
    auto common = std::make_shared<Common>();
    auto model_path = std::make_shared<std::string>();
    auto path = std::make_shared<std::string>();
    auto ks = std::make_shared<std::string>("5,10,20");
    auto sampled = std::make_shared<int64_t>(0);
    auto negatives = std::make_shared<int>(4);
    add_common(cmd, *common);
    add_device(cmd, *common);
    cmd->add_option("--model", *model_path, "trained ModelFile (.dcm)")->required();
    cmd->add_option("--data", *path, "interactions (default: the file it was trained on)");
    cmd->add_option("--k", *ks, "cut-offs, comma-separated")->capture_default_str();
    cmd->add_option("--sampled", *sampled,
                    "rank against N sampled negatives instead of all items (papers' protocol)")
        ->capture_default_str();
    cmd->add_option("--negatives", *negatives, "mlp: sampled negatives per held-out purchase for AUC")
        ->capture_default_str();
    cmd->callback([=] {
      init_context(*common);
      rec::Recommender model = rec::Recommender::load(*model_path);
      const auto& meta = model.file().meta;
      std::map<std::string, double> metrics;
      std::string protocol;
      std::string source = path->empty() ? meta.at("source").get<std::string>() : *path;
      if (meta.contains("columns")) {  // the seed's behaviour-log model
        const auto& c = meta.at("columns");
        rec::LogColumns columns;
        columns.user = c.at("user");
        columns.item = c.at("item");
        columns.event = c.at("event");
        columns.time = c.at("time");
        columns.positive_event = c.at("positive_event");
        data::TableOptions table;
        if (!meta.at("fill_missing").is_null()) table.fill_missing = meta.at("fill_missing").get<double>();
        int64_t dropped = 0;
        rec::Interactions log = rec::interactions_remap(rec::interactions_read(source, columns, table),
                                                        model.users(), model.items(), &dropped);
        metrics = rec::rec_evaluate(model, log, rec::split_leave_one_out(log), parse_ks(*ks),
                                    *negatives, common->seed);
        metrics["rows_dropped_unknown_ids"] = static_cast<double>(dropped);
        protocol = "leave-one-out on purchases; full ranking over all items the user has not interacted with";
      } else {
        DataFlags d = DataFlags::from_json(meta.at("data"));
        auto [data, split] = load_and_split(d, source, meta.at("seed").get<uint64_t>(), true);
        if (data.items.size() != model.items().size() || data.users.size() != model.users().size()) {
          throw Error(source + ": the data has " + std::to_string(data.num_users()) + " users and " +
                      std::to_string(data.num_items()) + " items; the model was trained on " +
                      std::to_string(model.users().size()) + " and " + std::to_string(model.items().size()));
        }
        metrics = rec::rec_evaluate_split(model, split, true, parse_ks(*ks), *sampled, common->seed);
        protocol = split.protocol + "; " + (*sampled > 0 ? "sampled ranking against " +
                                                               std::to_string(*sampled) + " negatives"
                                                         : std::string("full ranking over all items"));
      }
      if (common->json) {
        return print_json({{"model", *model_path}, {"data", source}, {"protocol", protocol},
                           {"metrics", metrics}});
      }
      std::printf("%s on %s\nprotocol: %s\n", model_path->c_str(), source.c_str(), protocol.c_str());
      for (const auto& [name, value] : metrics) std::printf("  %-26s %.4f\n", name.c_str(), value);
    });
  }

  // recommend
  {
    auto* cmd = rec->add_subcommand("recommend", "top-K for a user, an anonymous history, or every user");
    auto common = std::make_shared<Common>();
    auto model_path = std::make_shared<std::string>();
    auto user = std::make_shared<std::string>();
    auto history = std::make_shared<std::string>();
    auto all_out = std::make_shared<std::string>();
    auto k = std::make_shared<int>(10);
    auto include_seen = std::make_shared<bool>(false);
    add_common(cmd, *common);
    add_device(cmd, *common);
    cmd->add_option("--model", *model_path, "trained ModelFile (.dcm)")->required();
    auto* u = cmd->add_option("--user", *user, "user id as in the training data");
    auto* h = cmd->add_option("--history", *history, "a new customer's items, oldest first: i1,i2,...");
    auto* a = cmd->add_option("--all", *all_out, "write top-K for every user to this CSV");
    u->excludes(h)->excludes(a);
    h->excludes(a);
    cmd->add_option("--k", *k, "how many items")->capture_default_str();
    cmd->add_flag("--include-seen", *include_seen, "also rank items the user already has");
    cmd->callback([=] {
      init_context(*common);
      rec::Recommender model = rec::Recommender::load(*model_path);
      if (!all_out->empty()) {
        std::ofstream csv(*all_out);
        if (!csv) throw Error(*all_out + ": cannot open for writing");
        csv << "user_id,rank,item_id,score\n";
        for (int64_t id = 0; id < model.users().size(); ++id) {
          const std::string name = model.users().name(id);
          auto items = model.recommend(name, *k, !*include_seen, 0);
          for (size_t j = 0; j < items.size(); ++j) {
            csv << name << ',' << j + 1 << ',' << items[j].item << ',' << items[j].score << '\n';
          }
        }
        if (!csv.flush()) throw Error(*all_out + ": write failed");
        if (!common->quiet) {
          std::printf("wrote top-%d for %lld users to %s\n", *k, (long long)model.users().size(),
                      all_out->c_str());
        }
        return;
      }
      std::vector<rec::ScoredItem> items;
      std::string who;
      if (!history->empty()) {
        items = model.recommend_history(parse_name_list(*history), *k);
        who = "a new customer with history " + *history;
      } else if (!user->empty()) {
        items = model.recommend(*user, *k, !*include_seen);
        who = *user;
      } else {
        throw Error("give --user U, --history i1,i2,... or --all FILE.csv");
      }
      if (common->json) return print_json({{"user", *user}, {"history", *history}, {"items", items_json(items)}});
      print_items("top " + std::to_string(items.size()) + " for " + who + ":", items);
    });
  }

  // similar
  {
    auto* cmd = rec->add_subcommand("similar", "nearest items by embedding");
    auto common = std::make_shared<Common>();
    auto model_path = std::make_shared<std::string>();
    auto item = std::make_shared<std::string>();
    auto k = std::make_shared<int>(10);
    add_common(cmd, *common);
    add_device(cmd, *common);
    cmd->add_option("--model", *model_path, "trained ModelFile (.dcm)")->required();
    cmd->add_option("--item", *item, "item id")->required();
    cmd->add_option("--k", *k, "how many items")->capture_default_str();
    cmd->callback([=] {
      init_context(*common);
      rec::Recommender model = rec::Recommender::load(*model_path);
      auto items = model.similar(*item, *k);
      if (common->json) return print_json({{"item", *item}, {"similar", items_json(items)}});
      print_items("items most like " + *item + " (cosine similarity):", items);
    });
  }
}

}  // namespace deepcart::cli
