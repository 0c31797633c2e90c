// behaviour-mlp's training: examples are the (user, item) pairs of a behaviour log's training
// rows, labelled 1 when the user ever purchased the item, plus uniformly sampled unseen items as
// negatives; item features are the per-item means of the log's numeric columns.
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "deepcart/core/device.h"
#include "deepcart/core/error.h"
#include "deepcart/core/metrics.h"
#include "deepcart/rec/mlp.h"
#include "deepcart/rec/ranking.h"
#include "deepcart/rec/rec_task.h"

namespace deepcart::rec {
namespace {

// Mean of each feature per item over the training rows, standardised across items.
at::Tensor item_features(const RecDataset& data, const std::vector<int64_t>& rows,
                         std::vector<double>* means, std::vector<double>* stds) {
  const BehaviourLog& log = data.events;
  const int64_t n_items = data.items.size(), n_features = log.features.size();
  at::Tensor out = torch::zeros({n_items, n_features});
  auto a = out.accessor<float, 2>();
  for (int64_t f = 0; f < n_features; ++f) {
    std::vector<double> sum(n_items, 0.0), count(n_items, 0.0);
    for (int64_t r : rows) {
      sum[log.item[r]] += log.features[f][r];
      count[log.item[r]] += 1;
    }
    double mean = 0, sq = 0, seen = 0;
    for (int64_t i = 0; i < n_items; ++i) {
      if (count[i] == 0) continue;
      sum[i] /= count[i];
      mean += sum[i];
      sq += sum[i] * sum[i];
      seen += 1;
    }
    mean = seen ? mean / seen : 0.0;
    const double var = seen ? sq / seen - mean * mean : 0.0;
    const double std = var > 1e-12 ? std::sqrt(var) : 1.0;
    for (int64_t i = 0; i < n_items; ++i) a[i][f] = count[i] ? (sum[i] - mean) / std : 0.0f;
    means->push_back(mean);
    stds->push_back(std);
  }
  return out;
}

class BehaviourTask : public TrainTask {
 public:
  BehaviourTask(MlpImpl& model, const RecDataset& data, const RecSplit& split, int negatives,
                std::vector<int> ks, uint64_t seed)
      : model_(model), negatives_(negatives), ks_(std::move(ks)) {
    const BehaviourLog& log = data.events;
    train_items_ = items_by_user(data, split.train_rows);
    // One example per (user, item) pair in the training rows: 1 if it was ever purchased.
    std::unordered_map<int64_t, size_t> pair_index;
    const int64_t n_items = data.items.size();
    for (int64_t r : split.train_rows) {
      const int64_t key = log.user[r] * n_items + log.item[r];
      auto [it, inserted] = pair_index.emplace(key, users_.size());
      if (inserted) {
        users_.push_back(log.user[r]);
        items_.push_back(log.item[r]);
        labels_.push_back(0.0f);
      }
      if (log.positive[r]) labels_[it->second] = 1.0f;
    }
    for (size_t u = 0; u < split.valid.size(); ++u) {
      if (!split.valid[u].empty()) {
        val_.users.push_back(static_cast<int64_t>(u));
        val_.targets.push_back({split.valid[u][0]});
      }
    }
    val_.exclude = &train_items_;
    val_.ks = ks_;
    val_.batch_users = std::max<int64_t>(1, (1 << 24) / (n_items * model_.width_per_pair()));
    std::mt19937_64 rng(seed ^ 0x7a1);
    auto all_items = items_by_user(data, {});
    for (size_t v = 0; v < val_.users.size(); ++v) {
      val_pair_users_.push_back(val_.users[v]);
      val_pair_items_.push_back(val_.targets[v][0]);
      val_pair_labels_.push_back(1.0f);
      for (int k = 0; k < std::max(1, negatives_); ++k) {
        val_pair_users_.push_back(val_.users[v]);
        val_pair_items_.push_back(sample_unseen(all_items[val_.users[v]], n_items, rng));
        val_pair_labels_.push_back(0.0f);
      }
    }
  }

  torch::nn::Module& module() override { return model_; }
  int64_t train_size() const override { return static_cast<int64_t>(users_.size()); }

  at::Tensor loss(const at::Tensor& indices, std::mt19937_64& rng) override {
    std::vector<int64_t> users, items;
    std::vector<float> labels;
    auto idx = indices.accessor<int64_t, 1>();
    const int64_t n_items = model_.options().items;
    for (int64_t b = 0; b < idx.size(0); ++b) {
      const int64_t e = idx[b];
      users.push_back(users_[e]);
      items.push_back(items_[e]);
      labels.push_back(labels_[e]);
      if (labels_[e] == 0.0f) continue;
      for (int k = 0; k < negatives_; ++k) {
        users.push_back(users_[e]);
        items.push_back(sample_unseen(train_items_[users_[e]], n_items, rng));
        labels.push_back(0.0f);
      }
    }
    at::Tensor logits = model_.forward(on_device(torch::tensor(users, torch::kLong)),
                                       on_device(torch::tensor(items, torch::kLong)));  // (B')
    return torch::binary_cross_entropy_with_logits(logits, on_device(torch::tensor(labels)));
  }

  std::map<std::string, double> validate() override {
    if (val_.users.empty()) return {};
    auto metrics = rank_evaluate([&](const at::Tensor& u) { return model_.score_all(u); },
                                 model_.options().items, val_);
    at::Tensor p = on_cpu(torch::sigmoid(model_.forward(
                              on_device(torch::tensor(val_pair_users_, torch::kLong)),
                              on_device(torch::tensor(val_pair_items_, torch::kLong)))))
                       .to(torch::kFloat)
                       .contiguous();
    std::vector<float> probs(p.data_ptr<float>(), p.data_ptr<float>() + p.numel());
    metrics["auc"] = auc(probs, val_pair_labels_);
    metrics.erase("users");
    return metrics;
  }

  int64_t positives() const { return std::count(labels_.begin(), labels_.end(), 1.0f); }

 private:
  MlpImpl& model_;
  int negatives_;
  std::vector<int> ks_;
  std::vector<int64_t> users_, items_;
  std::vector<float> labels_;
  std::vector<std::vector<int64_t>> train_items_;
  RankingTask val_;
  std::vector<int64_t> val_pair_users_, val_pair_items_;
  std::vector<float> val_pair_labels_;
};

}  // namespace

TrainResult train_behaviour_mlp(const RecDataset& data, const RecSplit& split,
                                const TrainSpec& spec, MlpImpl& model, ModelFile& file) {
  if (data.events.empty() || split.train_rows.empty()) {
    throw Error("behaviour-mlp: expected a behaviour log split leave-one-out (--split loo)");
  }
  std::vector<double> means, stds;
  model.set_item_features(item_features(data, split.train_rows, &means, &stds));
  file.meta["features"] = data.events.feature_names;
  file.meta["feature_mean"] = means;
  file.meta["feature_std"] = stds;
  BehaviourTask task(model, data, split, spec.negatives, spec.ks, spec.train.seed);
  if (task.positives() == 0) throw Error(spec.data.path + ": no purchases left for training");
  return Trainer(spec.train).fit(task, file);
}

}  // namespace deepcart::rec
