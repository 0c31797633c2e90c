// deepcart rec train | eval | recommend | similar
#include <torch/torch.h>

#include <cstdio>
#include <fstream>
#include <iostream>

#include "cli_common.h"
#include "deepcart/core/error.h"
#include "deepcart/rec/recommender.h"
#include "deepcart/rec/workflow.h"

namespace deepcart::cli {
namespace {

// Flags that have no field of their own in the spec: parsed in the callback.
struct DataFlags {
  std::string format = "auto", features, fill_missing, on_bad_row = "error", data, train;
  std::optional<double> min_rating;
};

void add_data_flags(CLI::App* app, rec::DataSpec& d, DataFlags& f) {
  rec::RecLoadOptions& o = d.load;
  app->add_option("--data", f.data,
                  "interactions: CSV, MovieLens u.data/ratings.dat, or user-sequence file");
  app->add_option("--format", f.format, "csv | movielens | seq | auto (guessed from the file)")
      ->check(CLI::IsMember({"auto", "csv", "movielens", "seq"}))
      ->capture_default_str();
  app->add_option("--user-col", o.user_col, "CSV: user id column")->capture_default_str();
  app->add_option("--item-col", o.item_col, "CSV: item id column")->capture_default_str();
  app->add_option("--event-col", o.event_col, "CSV: event type column (optional in the file)")
      ->capture_default_str();
  app->add_option("--time-col", o.time_col, "CSV: timestamp column (optional in the file)")
      ->capture_default_str();
  app->add_option("--rating-col", o.rating_col, "CSV: rating column (optional in the file)")
      ->capture_default_str();
  app->add_option("--positive-event", o.positive_event,
                  "event value that counts as an interaction (when the event column exists)")
      ->capture_default_str();
  app->add_option("--features", f.features,
                  "behaviour-mlp: comma-separated numeric behaviour columns (per-item means)");
  app->add_option("--fill-missing", f.fill_missing,
                  "behaviour-mlp: fill empty numeric cells with this value (default: an empty "
                  "cell is an error)");
  app->add_option("--on-bad-row", f.on_bad_row,
                  "error | skip (skipped rows are counted and reported)")
      ->check(CLI::IsMember({"error", "skip"}))
      ->capture_default_str();
  app->add_option_function<double>(
      "--min-rating", [&f](double v) { f.min_rating = v; },
      "implicit: keep ratings >= this (default: keep all)");
  app->add_option("--min-user", o.min_user_interactions,
                  "k-core: users need this many interactions")
      ->capture_default_str();
  app->add_option("--min-item", o.min_item_interactions,
                  "k-core: items need this many interactions")
      ->capture_default_str();
  app->add_flag("--dedupe", o.dedupe, "keep only the first interaction of each (user, item)");
  app->add_option("--split", d.split, "loo | random:TEST_RATIO | time:TRAIN_RATIO")
      ->capture_default_str();
  app->add_option("--train", f.train, "explicit split: training file (instead of --data)");
  app->add_option("--test", d.test_path, "explicit split: test file");
  app->add_option("--valid-ratio", d.valid_ratio,
                  "share of each user's training items kept for validation (random/time/explicit)")
      ->capture_default_str();
}

// The flags that are not bound to the spec directly, into it.
void finish_data_spec(const DataFlags& f, rec::DataSpec& d) {
  d.path = f.data.empty() ? f.train : f.data;
  d.load.format = rec::rec_format_from_name(f.format);
  d.load.features = parse_name_list(f.features);
  d.load.min_rating = f.min_rating;
  d.load.on_bad_row = f.on_bad_row == "skip" ? data::OnBadRow::kSkip : data::OnBadRow::kError;
  if (!f.fill_missing.empty()) {
    try {
      d.load.fill_missing = std::stod(f.fill_missing);
    } catch (const std::exception&) {
      throw Error("--fill-missing: expected a number, found '" + f.fill_missing + "'");
    }
  }
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

// What `rec train` parses before it knows the architecture's defaults.
struct TrainFlags {
  std::string arch = "behaviour-mlp", out, layers, ks = "5,10,20", l2 = "50,100,200,400,800,1600";
  rec::TrainSpec spec;  // data, loss, negatives, init files and training flags as given
  DataFlags data;
  std::map<std::string, double> sizes;  // --dim, --blocks, ...
};

// The architecture's tuned defaults, overridden by the flags the user gave.
rec::TrainSpec spec_from_flags(const CLI::App* cmd, TrainFlags& f, const Common& common) {
  rec::TrainSpec spec = rec::default_spec(f.arch);
  finish_data_spec(f.data, f.spec.data);
  spec.data = f.spec.data;
  spec.loss = f.spec.loss;
  if (cmd->count("--negatives")) spec.negatives = f.spec.negatives;
  spec.init_gmf = f.spec.init_gmf;
  spec.init_mlp = f.spec.init_mlp;
  spec.test_ks = parse_ks(f.ks);
  spec.l2.clear();
  for (const auto& v : parse_name_list(f.l2)) spec.l2.push_back(std::stod(v));
  for (const auto& [name, value] : f.sizes) {
    std::string key = name;
    std::replace(key.begin(), key.end(), '-', '_');
    if (key == "dropout")
      spec.hparams[key] = value;
    else
      spec.hparams[key] = static_cast<int64_t>(value);
  }
  if (!f.layers.empty()) spec.hparams["layers"] = parse_int_list(f.layers, "--layers");
  take_given_train_flags(cmd, f.spec.train, spec.train);
  spec.train.seed = common.seed;
  spec.train.quiet = common.quiet || common.json;
  if (spec.train.checkpoint_path.empty()) spec.train.checkpoint_path = f.out + ".ckpt";
  return spec;
}

void print_trained(const rec::TrainReport& r, const std::string& out, const std::string& arch) {
  if (arch != "pop" && arch != "ease") {
    std::printf("trained %s (%s) in %.1f s: %d epochs, best %d, %.0f examples/s\n", out.c_str(),
                arch.c_str(), r.result.seconds, r.result.epochs_run, r.result.best_epoch,
                r.result.examples_per_second);
    std::printf("validation: %s\n", metric_line(r.result.best_metrics).c_str());
  }
  std::printf("test (%s):\n  %s\n", r.protocol.c_str(), metric_line(r.test).c_str());
}

void add_train_command(CLI::App* rec) {
  auto* cmd = rec->add_subcommand("train",
                                  "train a recommender (pop, bpr-mf, gmf, ncf-mlp, neumf, "
                                  "sasrec, gru4rec, ease, or behaviour-mlp on a behaviour log)");
  auto common = std::make_shared<Common>();
  auto f = std::make_shared<TrainFlags>();
  add_common(cmd, *common);
  add_device(cmd, *common, true);
  cmd->add_option("--model", f->arch, "architecture (mlp is short for behaviour-mlp)")
      ->check(CLI::IsMember({"pop", "bpr-mf", "gmf", "ncf-mlp", "neumf", "behaviour-mlp", "mlp",
                             "sasrec", "gru4rec", "ease"}))
      ->capture_default_str();
  cmd->add_option("--out", f->out, "ModelFile to write (.dcm)")->required();
  add_data_flags(cmd, f->spec.data, f->data);
  for (const char* name : {"dim", "dropout", "blocks", "heads", "max-len", "gmf-dim", "mlp-dim"}) {
    cmd->add_option_function<double>(
        std::string("--") + name, [f, name](double v) { f->sizes[name] = v; },
        "model size (see README for each architecture's default)");
  }
  cmd->add_option("--layers", f->layers,
                  "MLP tower widths (behaviour-mlp: 64,32; ncf-mlp and neumf: 64,32,16)");
  cmd->add_option("--loss", f->spec.loss,
                  "bce | bpr | softmax (default: bpr for bpr-mf, softmax for sequence models, bce "
                  "otherwise)");
  cmd->add_option("--negatives", f->spec.negatives,
                  "sampled negatives per positive (default 8 for behaviour-mlp, else 4)");
  cmd->add_option("--init-gmf", f->spec.init_gmf, "neumf: start from this trained gmf model");
  cmd->add_option("--init-mlp", f->spec.init_mlp, "neumf: start from this trained ncf-mlp model");
  cmd->add_option("--k", f->ks, "cut-offs for the test report")->capture_default_str();
  cmd->add_option("--l2", f->l2, "ease: L2 strengths to try; the best on validation is kept")
      ->capture_default_str();
  add_train_flags(cmd, f->spec.train);
  cmd->add_option("--monitor", f->spec.train.monitor,
                  "validation metric for early stopping (default ndcg@10)");
  cmd->footer(
      "Defaults by architecture (when the flag is not given): --epochs 20 --batch-size 512 "
      "--patience 3; --lr 0.01 for behaviour-mlp and bpr-mf, 0.001 otherwise; sasrec and "
      "gru4rec: --batch-size 128 --epochs 200 --patience 10. Sizes: bpr-mf --dim 64; gmf --dim "
      "32; behaviour-mlp --dim 32 --layers 64,32; ncf-mlp --dim 32 --layers 64,32,16; neumf "
      "--gmf-dim 32 --mlp-dim 32 --layers 64,32,16; sasrec --dim 64 --blocks 2 --heads 1 "
      "--max-len 50 --dropout 0.2; gru4rec --dim 64 --max-len 50 --dropout 0.2.");
  cmd->callback([=] {
    init_context(*common);
    rec::TrainSpec spec = spec_from_flags(cmd, *f, *common);
    const bool writes = join_data_parallel(spec.train, *common);
    rec::TrainReport report = rec::train(spec);
    if (!writes) return;  // rank 0 evaluates and writes
    model_file_write(report.model, f->out);
    if (common->json) return print_json({{"model", f->out}, {"metrics", report.model.metrics}});
    print_trained(report, f->out, rec::rec_arch_name(f->arch));
  });
}

void add_eval_command(CLI::App* rec) {
  auto* cmd = rec->add_subcommand("eval", "evaluate a recommender on its held-out data");
  auto common = std::make_shared<Common>();
  auto model_path = std::make_shared<std::string>();
  auto ks = std::make_shared<std::string>("5,10,20");
  auto options = std::make_shared<rec::EvalOptions>();
  add_common(cmd, *common);
  add_device(cmd, *common);
  cmd->add_option("--model", *model_path, "trained ModelFile (.dcm)")->required();
  cmd->add_option("--data", options->data, "interactions (default: the file it was trained on)");
  cmd->add_option("--k", *ks, "cut-offs, comma-separated")->capture_default_str();
  cmd->add_option("--sampled", options->sampled,
                  "rank against N sampled negatives instead of all items (papers' protocol)")
      ->capture_default_str();
  cmd->add_option("--negatives", options->negatives,
                  "behaviour-mlp: sampled negatives per held-out purchase for AUC (default: as "
                  "in training)");
  cmd->callback([=] {
    init_context(*common);
    rec::Recommender model = rec::Recommender::load(*model_path);
    options->ks = parse_ks(*ks);
    options->seed = common->seed;
    const rec::EvalReport r = rec::evaluate(model, *options);
    if (common->json) {
      return print_json({{"model", *model_path},
                         {"data", r.source},
                         {"protocol", r.protocol},
                         {"metrics", r.metrics}});
    }
    std::printf("%s on %s\nprotocol: %s\n", model_path->c_str(), r.source.c_str(),
                r.protocol.c_str());
    for (const auto& [name, value] : r.metrics) std::printf("  %-26s %.4f\n", name.c_str(), value);
  });
}

}  // namespace

void register_rec(CLI::App& app) {
  CLI::App* group = app.add_subcommand("rec", "recommendation: train, eval, recommend, similar");
  group->require_subcommand(1);
  add_train_command(group);
  add_eval_command(group);
  add_rec_query_commands(group);
}

}  // namespace deepcart::cli
