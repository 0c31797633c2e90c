#include "deepcart/rec/spec.h"

#include <algorithm>

#include "deepcart/core/error.h"
#include "deepcart/rec/model.h"

namespace deepcart::rec {
namespace {

std::string format_name(RecFormat format) {
  switch (format) {
    case RecFormat::kCsv:
      return "csv";
    case RecFormat::kMovieLens:
      return "movielens";
    case RecFormat::kSeq:
      return "seq";
    case RecFormat::kAuto:
      break;
  }
  return "auto";
}

template <typename T>
nlohmann::json optional_json(const std::optional<T>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

template <typename T>
std::optional<T> optional_from(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || j.at(key).is_null()) return std::nullopt;
  return j.at(key).get<T>();
}

}  // namespace

std::string rec_arch_name(const std::string& arch) {
  return arch == "mlp" ? "behaviour-mlp" : arch;
}

TrainSpec default_spec(const std::string& arch) {
  TrainSpec s;
  s.arch = rec_arch_name(arch);
  const RecFamily family = rec_family(s.arch);  // throws for unknown names
  s.train.epochs = 20;
  s.train.batch_size = 512;
  // 0.01 for behaviour-mlp, chosen on the demo shop's validation split, and for bpr-mf.
  s.train.lr = s.arch == "behaviour-mlp" || s.arch == "bpr-mf" ? 0.01 : 0.001;
  s.train.patience = 3;
  s.train.monitor = "ndcg@10";
  if (family == RecFamily::kSeq) {
    s.train.batch_size = 128;
    s.train.epochs = 200;
    s.train.patience = 10;
  }
  if (s.arch == "behaviour-mlp") s.negatives = 8;
  if (s.arch == "ncf-mlp") s.hparams["layers"] = std::vector<int64_t>{64, 32, 16};
  return s;
}

std::vector<Setting> spec_settings() {
  using K = SettingKind;
  std::vector<Setting> s = {
      {"model",
       "/arch",
       K::kText,
       "architecture (mlp is short for behaviour-mlp)",
       {"pop", "bpr-mf", "gmf", "ncf-mlp", "neumf", "behaviour-mlp", "mlp", "sasrec", "gru4rec",
        "ease"}},
      {"data", "/data/path", K::kText,
       "interactions: CSV, MovieLens u.data/ratings.dat, or user-sequence file"},
      {"format",
       "/data/format",
       K::kText,
       "csv | movielens | seq | auto (guessed from the file)",
       {"auto", "csv", "movielens", "seq"}},
      {"user-col", "/data/user_col", K::kText, "CSV: user id column"},
      {"item-col", "/data/item_col", K::kText, "CSV: item id column"},
      {"event-col", "/data/event_col", K::kText, "CSV: event type column (optional in the file)"},
      {"time-col", "/data/time_col", K::kText, "CSV: timestamp column (optional in the file)"},
      {"rating-col", "/data/rating_col", K::kText, "CSV: rating column (optional in the file)"},
      {"positive-event", "/data/positive_event", K::kText,
       "event value that counts as an interaction (when the event column exists)"},
      {"features", "/data/features", K::kNames,
       "behaviour-mlp: comma-separated numeric behaviour columns (per-item means)"},
      {"fill-missing", "/data/fill_missing", K::kNumber,
       "behaviour-mlp: fill empty numeric cells with this value (default: an empty cell is an "
       "error)"},
      {"on-bad-row",
       "/data/on_bad_row",
       K::kText,
       "error | skip (skipped rows are counted and reported)",
       {"error", "skip"}},
      {"min-rating", "/data/min_rating", K::kNumber,
       "implicit: keep ratings >= this (default: keep all)"},
      {"min-user", "/data/min_user", K::kInt, "k-core: users need this many interactions"},
      {"min-item", "/data/min_item", K::kInt, "k-core: items need this many interactions"},
      {"dedupe", "/data/dedupe", K::kSwitch,
       "keep only the first interaction of each (user, item)"},
      {"split", "/data/split", K::kText, "loo | random:TEST_RATIO | time:TRAIN_RATIO"},
      {"train", "/data/path", K::kText, "explicit split: training file (instead of --data)"},
      {"test", "/data/test_path", K::kText, "explicit split: test file"},
      {"valid-ratio", "/data/valid_ratio", K::kNumber,
       "share of each user's training items kept for validation (random/time/explicit)"},
      {"layers", "/hparams/layers", K::kInts,
       "MLP tower widths (behaviour-mlp: 64,32; ncf-mlp and neumf: 64,32,16); gru4rec: stacked "
       "GRU layers"},
      {"loss", "/loss", K::kText,
       "bce | bpr | softmax (default: bpr for bpr-mf, softmax for sequence models, bce "
       "otherwise)"},
      {"negatives", "/negatives", K::kInt,
       "sampled negatives per positive (default 8 for behaviour-mlp, else 4)"},
      {"init-gmf", "/init_gmf", K::kText, "neumf: start from this trained gmf model"},
      {"init-mlp", "/init_mlp", K::kText, "neumf: start from this trained ncf-mlp model"},
      {"k", "/test_ks", K::kInts, "cut-offs for the test report"},
      {"l2", "/l2", K::kNumbers, "ease: L2 strengths to try; the best on validation is kept"},
  };
  for (const char* size : {"dim", "blocks", "heads", "max-len", "gmf-dim", "mlp-dim", "dropout"}) {
    std::string key = size;
    std::replace(key.begin(), key.end(), '-', '_');
    s.push_back({size, "/hparams/" + key, key == "dropout" ? K::kNumber : K::kInt,
                 "model size (see README for each architecture's default)"});
  }
  for (auto& t : train_settings("/train")) s.push_back(t);
  return s;
}

std::string describe_defaults() {
  const std::vector<std::string> trained = {"epochs", "batch-size", "lr", "patience", "negatives"};
  std::string out = "Defaults by architecture, when the flag is not given:";
  for (const char* arch :
       {"bpr-mf", "gmf", "ncf-mlp", "neumf", "behaviour-mlp", "sasrec", "gru4rec", "ease"}) {
    nlohmann::json spec = default_spec(arch);
    spec["hparams"] = rec_resolve_hparams(arch, spec["hparams"]);
    const bool ease = rec_family(arch) == RecFamily::kItemItem;
    out += std::string(" ") + arch + ":";
    for (const Setting& setting : spec_settings()) {
      const bool size = setting.path.rfind("/hparams/", 0) == 0;
      const bool shown = ease ? setting.name == "l2"
                              : size || std::count(trained.begin(), trained.end(), setting.name);
      const std::string value = setting_text(spec, setting);
      if (shown && !value.empty()) out += " --" + setting.name + " " + value;
    }
    out += ";";
  }
  out.back() = '.';
  return out;
}

void to_json(nlohmann::json& j, const DataSpec& d) {
  const RecLoadOptions& o = d.load;
  j = {{"path", d.path},
       {"test_path", d.test_path},
       {"format", format_name(o.format)},
       {"user_col", o.user_col},
       {"item_col", o.item_col},
       {"rating_col", o.rating_col},
       {"time_col", o.time_col},
       {"event_col", o.event_col},
       {"positive_event", o.positive_event},
       {"min_rating", optional_json(o.min_rating)},
       {"min_user", o.min_user_interactions},
       {"min_item", o.min_item_interactions},
       {"dedupe", o.dedupe},
       {"on_bad_row", o.on_bad_row == data::OnBadRow::kSkip ? "skip" : "error"},
       {"keep_events", o.keep_events},
       {"features", o.features},
       {"fill_missing", optional_json(o.fill_missing)},
       {"split", d.split},
       {"valid_ratio", d.valid_ratio}};
}

void from_json(const nlohmann::json& j, DataSpec& d) {
  const DataSpec defaults;
  const RecLoadOptions& def = defaults.load;
  RecLoadOptions& o = d.load;
  d.path = j.value("path", defaults.path);
  d.test_path = j.value("test_path", defaults.test_path);
  o.format = rec_format_from_name(j.value("format", std::string("auto")));
  o.user_col = j.value("user_col", def.user_col);
  o.item_col = j.value("item_col", def.item_col);
  o.rating_col = j.value("rating_col", def.rating_col);
  o.time_col = j.value("time_col", def.time_col);
  o.event_col = j.value("event_col", def.event_col);
  o.positive_event = j.value("positive_event", def.positive_event);
  o.min_rating = optional_from<double>(j, "min_rating");
  o.min_user_interactions = j.value("min_user", def.min_user_interactions);
  o.min_item_interactions = j.value("min_item", def.min_item_interactions);
  o.dedupe = j.value("dedupe", def.dedupe);
  const std::string bad = j.value("on_bad_row", std::string("error"));
  if (bad != "error" && bad != "skip")
    throw Error("spec: on_bad_row: expected error or skip, found '" + bad + "'");
  o.on_bad_row = bad == "skip" ? data::OnBadRow::kSkip : data::OnBadRow::kError;
  o.keep_events = j.value("keep_events", def.keep_events);
  o.features = j.value("features", def.features);
  o.fill_missing = optional_from<double>(j, "fill_missing");
  d.split = j.value("split", defaults.split);
  d.valid_ratio = j.value("valid_ratio", defaults.valid_ratio);
}

void to_json(nlohmann::json& j, const TrainSpec& s) {
  j = {{"data", s.data},       {"arch", s.arch},           {"hparams", s.hparams},
       {"loss", s.loss},       {"negatives", s.negatives}, {"ks", s.ks},
       {"test_ks", s.test_ks}, {"init_gmf", s.init_gmf},   {"init_mlp", s.init_mlp},
       {"l2", s.l2},           {"train", s.train}};
}

void from_json(const nlohmann::json& j, TrainSpec& s) {
  const TrainSpec d;
  s.data = j.value("data", d.data);
  s.arch = rec_arch_name(j.value("arch", d.arch));
  s.hparams = j.value("hparams", d.hparams);
  s.loss = j.value("loss", d.loss);
  s.negatives = j.value("negatives", d.negatives);
  s.ks = j.value("ks", d.ks);
  s.test_ks = j.value("test_ks", d.test_ks);
  s.init_gmf = j.value("init_gmf", d.init_gmf);
  s.init_mlp = j.value("init_mlp", d.init_mlp);
  s.l2 = j.value("l2", d.l2);
  s.train = j.value("train", d.train);
}

}  // namespace deepcart::rec
