#include "deepcart/rec/workflow.h"

#include <cstdio>

#include "deepcart/core/error.h"
#include "deepcart/core/text_out.h"
#include "deepcart/rec/model.h"
#include "deepcart/rec/rec_task.h"

namespace deepcart::rec {
namespace {

std::string with_sampling(const std::string& protocol, int64_t sampled) {
  return protocol + "; " +
         (sampled > 0 ? "sampled ranking against " + std::to_string(sampled) + " negatives"
                      : std::string("full ranking over all items"));
}

// The test metrics of `model` on `split`: behaviour-mlp's protocol on behaviour logs, else
// ranking of each user's test items.
std::map<std::string, double> test_metrics(Recommender& model, const RecDataset& data,
                                           const RecSplit& split, const std::vector<int>& ks,
                                           int64_t sampled, int negatives, uint64_t seed) {
  if (!split.train_rows.empty()) {
    return rec_evaluate_behaviour(model, data, split, ks, negatives, seed);
  }
  return rec_evaluate_split(model, split, true, ks, sampled, seed);
}

void check_cut_offs(const std::vector<int>& ks) {
  for (int k : ks) {
    if (k < 1) throw Error("--k: expected positive cut-offs, found " + std::to_string(k));
  }
}

}  // namespace

std::pair<RecDataset, RecSplit> load_and_split(const TrainSpec& spec) {
  const DataSpec& d = spec.data;
  const bool say = !spec.train.quiet;
  RecLoadOptions options = d.load;
  options.keep_events = rec_arch_name(spec.arch) == "behaviour-mlp";
  if (!d.test_path.empty()) {
    if (options.keep_events)
      throw Error(
          "behaviour-mlp: holds out each user's last purchases; --test files apply to "
          "the other architectures");
    if (d.path.empty()) throw Error("--test needs --train (the explicit split)");
    RecDataset train = rec_dataset_read(d.path, options);
    RecLoadOptions test_options = options;
    test_options.min_user_interactions = test_options.min_item_interactions = 0;
    RecDataset test = rec_dataset_read(d.test_path, test_options);
    int64_t dropped = 0;
    RecSplit split = split_explicit(train, test, d.valid_ratio, &dropped);
    if (say) std::fprintf(stderr, "%s\n", rec_dataset_summary(train, d.path, options).c_str());
    if (say && dropped) {
      std::fprintf(stderr, "test file: %lld rows with users or items unknown to training dropped\n",
                   static_cast<long long>(dropped));
    }
    return {std::move(train), std::move(split)};
  }
  if (d.path.empty()) throw Error("--data FILE (or --train FILE --test FILE) is required");
  if (options.keep_events && d.split != "loo") {
    throw Error("--split " + d.split +
                ": behaviour-mlp holds out each user's last two purchases (--split loo)");
  }
  RecDataset data = rec_dataset_read(d.path, options);
  if (say) std::fprintf(stderr, "%s\n", rec_dataset_summary(data, d.path, options).c_str());
  RecSplit split = split_by_name(data, d.split, d.valid_ratio, spec.train.seed);
  return {std::move(data), std::move(split)};
}

TrainReport train(TrainSpec spec) {
  spec.arch = rec_arch_name(spec.arch);
  check_cut_offs(spec.test_ks);
  auto [data, split] = load_and_split(spec);
  RecTrainOutput trained = rec_train(data, split, spec);
  TrainReport report;
  report.model = std::move(trained.model);
  report.result = trained.result;
  report.model.meta["spec"] = spec;
  report.model.meta["source"] = spec.data.path;
  report.split = split.protocol;
  report.rows_read = data.rows_read;
  report.rows_skipped = data.rows_skipped;
  report.cells_filled = data.cells_filled;
  if (spec.train.parallel && spec.train.parallel->rank() != 0) return report;
  Recommender model(report.model);
  report.test = test_metrics(model, data, split, spec.test_ks, 0, spec.negatives, spec.train.seed);
  report.protocol = with_sampling(split.protocol, 0);
  report.model.metrics["test"] = report.test;
  report.model.metrics["protocol"] = report.protocol;
  return report;
}

EvalReport evaluate(Recommender& model, const EvalOptions& options) {
  check_cut_offs(options.ks);
  const nlohmann::json& meta = model.file().meta;
  if (!meta.contains("spec")) {
    throw Error(
        "the model holds no training spec (it was written by an older deepcart): train "
        "it again to evaluate it");
  }
  TrainSpec spec = meta.at("spec").get<TrainSpec>();
  spec.train.quiet = true;
  if (!options.data.empty()) {
    spec.data.path = options.data;
    spec.data.test_path.clear();
  }
  EvalReport report;
  report.source = spec.data.path;
  auto [data, split] = load_and_split(spec);
  int64_t dropped = 0;
  if (data.users.to_json() != model.users().to_json() ||
      data.items.to_json() != model.items().to_json()) {
    data = rec_dataset_remap(data, model.users(), model.items(), &dropped);
    split = split_by_name(data, spec.data.split, spec.data.valid_ratio, spec.train.seed);
  }
  const int negatives = options.negatives > 0 ? options.negatives : spec.negatives;
  report.metrics =
      test_metrics(model, data, split, options.ks, options.sampled, negatives, options.seed);
  if (dropped) report.metrics["rows_dropped_unknown_ids"] = static_cast<double>(dropped);
  report.protocol = with_sampling(split.protocol, split.train_rows.empty() ? options.sampled : 0);
  return report;
}

std::string TrainReport::describe(const std::string& out, const std::string& arch) const {
  // name value pairs on one line; whole counts without decimals.
  auto line = [](const std::map<std::string, double>& metrics) {
    TextOut text;
    for (const auto& [name, value] : metrics) {
      const bool count = value == static_cast<double>(static_cast<int64_t>(value)) && value > 1;
      text.add(count ? "%s%s %.0f" : "%s%s %.4f", text.s.empty() ? "" : "  ", name.c_str(), value);
    }
    return text.s;
  };
  TextOut text;
  if (arch != "pop" && arch != "ease") {
    text.add("trained %s (%s) in %.1f s: %d epochs, best %d, %.0f examples/s\n", out.c_str(),
             arch.c_str(), result.seconds, result.epochs_run, result.best_epoch,
             result.examples_per_second);
    text.add("validation: %s\n", line(result.best_metrics).c_str());
  }
  text.add("test (%s):\n  %s\n", protocol.c_str(), line(test).c_str());
  return text.s;
}

}  // namespace deepcart::rec
