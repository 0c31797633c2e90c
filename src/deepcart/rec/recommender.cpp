#include "deepcart/rec/recommender.h"

#include <torch/torch.h>

#include <algorithm>
#include <random>

#include "deepcart/core/error.h"
#include "deepcart/core/metrics.h"
#include "deepcart/rec/ranking.h"

namespace deepcart::rec {

Recommender::Recommender(ModelFile file) : file_(std::move(file)) {
  if (file_.task != "rec") throw Error(file_.source + ": expected a 'rec' model, found '" + file_.task + "'");
  if (file_.arch != "mlp") {
    throw Error(file_.source + ": architecture '" + file_.arch + "' is not supported by this build");
  }
  model_ = Mlp(MlpOptions::from_json(file_.hparams));
  file_.load_module("model/", *model_);
  model_->eval();
  users_ = data::IdMap::from_json(file_.meta.at("users"));
  items_ = data::IdMap::from_json(file_.meta.at("items"));
  const at::Tensor offsets = file_.tensor("bought/offsets");
  const at::Tensor flat = file_.tensor("bought/items");
  TORCH_CHECK(offsets.numel() == users_.size() + 1, "bought/offsets: expected ", users_.size() + 1,
              " entries, got ", offsets.numel());
  auto o = offsets.accessor<int64_t, 1>();
  auto f = flat.accessor<int64_t, 1>();
  bought_.resize(users_.size());
  for (int64_t u = 0; u < users_.size(); ++u) {
    for (int64_t j = o[u]; j < o[u + 1]; ++j) bought_[u].push_back(f[j]);
  }
  popularity_ = file_.tensor("pop/counts");
}

Recommender Recommender::load(const std::string& path) { return Recommender(model_file_read(path, "rec")); }

at::Tensor Recommender::score_all(const at::Tensor& users) {
  c10::InferenceMode guard;
  return model_->score_all(users);
}

at::Tensor Recommender::probability(const at::Tensor& users, const at::Tensor& items) {
  c10::InferenceMode guard;
  return torch::sigmoid(model_->forward(users, items));
}

std::vector<ScoredItem> Recommender::recommend(const std::string& user, int k, bool exclude_bought) {
  if (k < 1) throw Error("--k: expected at least 1, found " + std::to_string(k));
  const int64_t u = users_.find(user);
  if (u < 0) {
    throw Error("unknown user '" + user + "': the model knows " + std::to_string(users_.size()) +
                " users (e.g. '" + users_.name(0) + "')");
  }
  c10::InferenceMode guard;
  at::Tensor scores = torch::sigmoid(model_->score_all(torch::tensor({u}, torch::kLong))[0]);  // (I)
  if (exclude_bought) {
    for (int64_t item : bought_[u]) scores[item] = -1.0f;
  }
  const int64_t available = items_.size() - (exclude_bought ? static_cast<int64_t>(bought_[u].size()) : 0);
  const int64_t take = std::min<int64_t>(k, std::max<int64_t>(0, available));
  auto top = scores.topk(take);
  at::Tensor values = std::get<0>(top), indices = std::get<1>(top);
  std::vector<ScoredItem> out;
  for (int64_t j = 0; j < take; ++j) {
    out.push_back({items_.name(indices[j].item<int64_t>()), values[j].item<double>()});
  }
  return out;
}

Interactions interactions_remap(const Interactions& log, const data::IdMap& users,
                                const data::IdMap& items, int64_t* dropped) {
  Interactions out;
  out.users = users;
  out.items = items;
  out.has_events = log.has_events;
  out.report = log.report;
  int64_t skipped = 0;
  for (int64_t r = 0; r < log.rows(); ++r) {
    const int64_t u = users.find(log.users.name(log.user[r]));
    const int64_t i = items.find(log.items.name(log.item[r]));
    if (u < 0 || i < 0) {
      ++skipped;
      continue;
    }
    out.user.push_back(u);
    out.item.push_back(i);
    out.time.push_back(log.time[r]);
    out.positive.push_back(log.positive[r]);
  }
  if (dropped) *dropped = skipped;
  return out;
}

std::map<std::string, double> rec_evaluate(Recommender& model, const Interactions& log,
                                           const LooSplit& split, const std::vector<int>& ks,
                                           int negatives, uint64_t seed) {
  const int64_t n_items = model.items().size();
  // Everything the user interacted with except the test item is excluded from the ranking.
  std::vector<std::vector<int64_t>> exclude = items_by_user(log, split.train_rows, false);
  RankingTask task;
  task.ks = ks;
  task.exclude = &exclude;
  for (size_t u = 0; u < split.test_item.size(); ++u) {
    if (split.test_item[u] < 0) continue;
    task.users.push_back(static_cast<int64_t>(u));
    task.targets.push_back(split.test_item[u]);
    auto& ex = exclude[u];
    ex.insert(std::upper_bound(ex.begin(), ex.end(), split.val_item[u]), split.val_item[u]);
  }
  if (task.users.empty()) {
    throw Error("evaluation: no user has 3 or more distinct purchases, so nothing is held out");
  }
  std::map<std::string, double> out =
      rank_full([&](const at::Tensor& u) { return model.score_all(u); }, n_items, task);

  const at::Tensor pop = model.popularity();
  for (const auto& [name, value] :
       rank_full([&](const at::Tensor& u) { return pop.unsqueeze(0).expand({u.size(0), n_items}); },
                 n_items, task)) {
    if (name != "users") out["pop_" + name] = value;
  }

  // Held-out rows: each test purchase against `negatives` never-seen items, seeded.
  std::vector<std::vector<int64_t>> seen = items_by_user(log, {}, false);
  std::mt19937_64 rng(seed ^ 0xe7a1);
  std::vector<int64_t> users, items;
  std::vector<float> labels;
  for (size_t j = 0; j < task.users.size(); ++j) {
    const int64_t u = task.users[j];
    users.push_back(u);
    items.push_back(task.targets[j]);
    labels.push_back(1.0f);
    for (int k = 0; k < std::max(1, negatives); ++k) {
      users.push_back(u);
      items.push_back(sample_unseen(seen[u], n_items, rng));
      labels.push_back(0.0f);
    }
  }
  at::Tensor p = model.probability(torch::tensor(users, torch::kLong), torch::tensor(items, torch::kLong));
  std::vector<float> probs(p.data_ptr<float>(), p.data_ptr<float>() + p.numel());
  out["auc"] = auc(probs, labels);
  out["logloss"] = log_loss(probs, labels);
  out["heldout_rows"] = static_cast<double>(labels.size());
  return out;
}

}  // namespace deepcart::rec
