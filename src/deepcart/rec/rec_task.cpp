#include "deepcart/rec/rec_task.h"

#include <torch/torch.h>

#include <algorithm>

#include "deepcart/core/device.h"
#include "deepcart/core/error.h"
#include "deepcart/rec/ease.h"
#include "deepcart/rec/mlp.h"
#include "deepcart/rec/model.h"
#include "deepcart/rec/neumf.h"
#include "deepcart/rec/ranking.h"
#include "deepcart/rec/recommender.h"

namespace deepcart::rec {

// behaviour_task.cpp: behaviour-mlp's task, with the item features it adds to the model.
TrainResult train_behaviour_mlp(const RecDataset& data, const RecSplit& split,
                                const TrainSpec& spec, MlpImpl& model, ModelFile& file);

namespace {

std::vector<std::vector<int64_t>> sorted_unique(const std::vector<std::vector<int64_t>>& lists) {
  std::vector<std::vector<int64_t>> out = lists;
  for (auto& l : out) {
    std::sort(l.begin(), l.end());
    l.erase(std::unique(l.begin(), l.end()), l.end());
  }
  return out;
}

at::Tensor pair_loss(const std::string& loss, const at::Tensor& logits /* (B, 1 + k) */) {
  if (loss == "bce") {
    at::Tensor labels = torch::zeros_like(logits);
    labels.select(1, 0).fill_(1.0f);
    return torch::binary_cross_entropy_with_logits(logits, labels);
  }
  if (loss == "bpr") {
    return -torch::log_sigmoid(logits.slice(1, 0, 1) - logits.slice(1, 1)).mean();
  }
  if (loss == "softmax") {
    return torch::cross_entropy_loss(
        logits, torch::zeros({logits.size(0)}, logits.options().dtype(torch::kLong)));
  }
  throw Error("--loss: expected bce, bpr or softmax, found '" + loss + "'");
}

// Validation shared by both families: valid items ranked against all items not in train.
class ValidationSet {
 public:
  ValidationSet(const RecSplit& split, std::vector<int> ks) : seen_(sorted_unique(split.train)) {
    for (size_t u = 0; u < split.valid.size(); ++u) {
      if (split.valid[u].empty()) continue;
      task_.users.push_back(static_cast<int64_t>(u));
      task_.targets.push_back(split.valid[u]);
    }
    task_.exclude = &seen_;
    task_.ks = std::move(ks);
  }
  std::map<std::string, double> run(const ScoreFn& score, int64_t items, int64_t batch_users) {
    if (task_.users.empty()) return {};
    task_.batch_users = batch_users;
    auto m = rank_evaluate(score, items, task_);
    m.erase("users");
    return m;
  }
  const std::vector<std::vector<int64_t>>& seen() const { return seen_; }
  // Keeps every world-th user from `rank` (data-parallel validation); all metrics are means
  // over users, so the ranks' results average exactly by user count.
  bool shard(int rank, int world) {
    if (static_cast<int64_t>(task_.users.size()) < world) return false;
    RankingTask part = task_;
    part.users.clear();
    part.targets.clear();
    for (size_t i = static_cast<size_t>(rank); i < task_.users.size();
         i += static_cast<size_t>(world)) {
      part.users.push_back(task_.users[i]);
      part.targets.push_back(task_.targets[i]);
    }
    task_ = std::move(part);
    return true;
  }
  double users() const { return static_cast<double>(task_.users.size()); }

 private:
  std::vector<std::vector<int64_t>> seen_;
  RankingTask task_;
};

class PairTask : public TrainTask {
 public:
  PairTask(std::shared_ptr<PairModelImpl> model, const RecSplit& split, int64_t items,
           std::string loss, int negatives, std::vector<int> ks)
      : model_(std::move(model)),
        items_(items),
        loss_(std::move(loss)),
        negatives_(negatives),
        valid_(split, std::move(ks)) {
    for (size_t u = 0; u < split.train.size(); ++u) {
      for (int64_t i : split.train[u]) {
        users_.push_back(static_cast<int64_t>(u));
        positives_.push_back(i);
      }
    }
  }
  torch::nn::Module& module() override { return *model_; }
  int64_t train_size() const override { return static_cast<int64_t>(users_.size()); }

  at::Tensor loss(const at::Tensor& indices, std::mt19937_64& rng) override {
    const int64_t b = indices.size(0);
    at::Tensor users = torch::empty({b}, torch::kLong);
    at::Tensor items = torch::empty({b, 1 + negatives_}, torch::kLong);
    auto idx = indices.accessor<int64_t, 1>();
    auto u = users.accessor<int64_t, 1>();
    auto it = items.accessor<int64_t, 2>();
    for (int64_t j = 0; j < b; ++j) {
      u[j] = users_[idx[j]];
      it[j][0] = positives_[idx[j]];
      for (int k = 0; k < negatives_; ++k)
        it[j][1 + k] = sample_unseen(valid_.seen()[u[j]], items_, rng);
    }
    return pair_loss(loss_, model_->score(on_device(users), on_device(items)));
  }

  bool shard_validation(int rank, int world) override { return valid_.shard(rank, world); }
  double validation_weight() const override { return valid_.users(); }

  std::map<std::string, double> validate() override {
    const int64_t batch = std::max<int64_t>(1, (1 << 24) / (items_ * model_->width_per_pair()));
    return valid_.run([&](const at::Tensor& u) { return model_->score_all(u); }, items_, batch);
  }

 private:
  std::shared_ptr<PairModelImpl> model_;
  int64_t items_;
  std::string loss_;
  int negatives_;
  ValidationSet valid_;
  std::vector<int64_t> users_, positives_;
};

class SeqTask : public TrainTask {
 public:
  SeqTask(std::shared_ptr<SeqModelImpl> model, const RecSplit& split, int64_t items,
          std::string loss, std::vector<int> ks)
      : model_(std::move(model)),
        split_(split),
        items_(items),
        loss_(std::move(loss)),
        valid_(split, std::move(ks)) {
    for (size_t u = 0; u < split.train.size(); ++u) {
      if (split.train[u].size() >= 2) users_.push_back(static_cast<int64_t>(u));
    }
    if (loss_ != "softmax" && loss_ != "bce" && loss_ != "bpr") {
      throw Error("--loss: expected softmax, bce or bpr, found '" + loss_ + "'");
    }
  }
  torch::nn::Module& module() override { return *model_; }
  int64_t train_size() const override { return static_cast<int64_t>(users_.size()); }

  at::Tensor loss(const at::Tensor& indices, std::mt19937_64& rng) override {
    const int64_t b = indices.size(0), len = model_->max_len();
    // input = seq[:-1], target = seq[1:], both the last `len` positions, left-padded.
    at::Tensor input = torch::zeros({b, len}, torch::kLong),
               target = torch::zeros({b, len}, torch::kLong);
    auto in = input.accessor<int64_t, 2>();
    auto tg = target.accessor<int64_t, 2>();
    auto idx = indices.accessor<int64_t, 1>();
    for (int64_t j = 0; j < b; ++j) {
      const auto& seq = split_.train[users_[idx[j]]];
      const int64_t n = static_cast<int64_t>(seq.size()) - 1;
      const int64_t take = std::min(n, len);
      for (int64_t p = 0; p < take; ++p) {
        in[j][len - take + p] = seq[n - take + p] + 1;
        tg[j][len - take + p] = seq[n - take + p + 1] + 1;
      }
    }
    // The input and the target have their real positions in the same slots.
    at::Tensor h = model_->encode_real(on_device(input));  // (N, D)
    const at::Tensor targets = on_device(target);          // `tg` keeps reading the CPU copy
    at::Tensor t =
        targets.flatten().index_select(0, (targets > 0).flatten().nonzero().squeeze(1)) - 1;  // (N)
    at::Tensor vectors = model_->item_vectors();  // (I, D)
    if (loss_ == "softmax") return torch::cross_entropy_loss(torch::mm(h, vectors.t()), t);
    // One sampled negative per position, never an item of that user's sequence.
    at::Tensor neg = torch::empty_like(t);
    auto ng = neg.accessor<int64_t, 1>();
    int64_t row = 0;
    for (int64_t j = 0; j < b; ++j) {
      const auto& seen = valid_.seen()[users_[idx[j]]];
      for (int64_t p = 0; p < len; ++p) {
        if (tg[j][p] > 0) ng[row++] = sample_unseen(seen, items_, rng);
      }
    }
    at::Tensor pos_logit = (h * vectors.index_select(0, t)).sum(1);
    at::Tensor neg_logit = (h * vectors.index_select(0, on_device(neg))).sum(1);
    return pair_loss(loss_, torch::stack({pos_logit, neg_logit}, 1));
  }

  bool shard_validation(int rank, int world) override { return valid_.shard(rank, world); }
  double validation_weight() const override { return valid_.users(); }

  std::map<std::string, double> validate() override {
    return valid_.run(
        [&](const at::Tensor& users) {
          std::vector<const std::vector<int64_t>*> histories;
          auto u = users.accessor<int64_t, 1>();
          for (int64_t j = 0; j < users.size(0); ++j) histories.push_back(&split_.train[u[j]]);
          at::Tensor h =
              model_->encode_last(on_device(rec_pad_histories(histories, model_->max_len())));
          return torch::mm(h, model_->item_vectors().t());  // (B, I)
        },
        items_, 256);
  }

 private:
  std::shared_ptr<SeqModelImpl> model_;
  const RecSplit& split_;
  int64_t items_;
  std::string loss_;
  ValidationSet valid_;
  std::vector<int64_t> users_;
};

void add_csr(ModelFile& file, const std::string& name,
             const std::vector<std::vector<int64_t>>& lists) {
  std::vector<int64_t> offsets{0}, flat;
  for (const auto& l : lists) {
    flat.insert(flat.end(), l.begin(), l.end());
    offsets.push_back(static_cast<int64_t>(flat.size()));
  }
  file.tensors.emplace_back(name + "/offsets", torch::tensor(offsets, torch::kLong));
  file.tensors.emplace_back(name + "/items", torch::tensor(flat, torch::kLong));
}

}  // namespace

std::string rec_default_loss(const std::string& arch) {
  if (arch == "bpr-mf") return "bpr";
  if (rec_family(arch) == RecFamily::kSeq) return "softmax";
  return "bce";
}

at::Tensor rec_pad_histories(const std::vector<const std::vector<int64_t>*>& histories,
                             int64_t len) {
  at::Tensor out = torch::zeros({static_cast<int64_t>(histories.size()), len}, torch::kLong);
  auto a = out.accessor<int64_t, 2>();
  for (size_t j = 0; j < histories.size(); ++j) {
    const auto& h = *histories[j];
    const int64_t take = std::min<int64_t>(len, static_cast<int64_t>(h.size()));
    for (int64_t p = 0; p < take; ++p) a[j][len - take + p] = h[h.size() - take + p] + 1;
  }
  return out;
}

RecTrainOutput rec_train(const RecDataset& data, const RecSplit& split, TrainSpec config) {
  config.arch = rec_arch_name(config.arch);
  const RecFamily family = rec_family(config.arch);
  if (config.loss.empty()) config.loss = rec_default_loss(config.arch);
  nlohmann::json hp = config.hparams;
  hp["items"] = data.num_items();
  if (family != RecFamily::kSeq) hp["users"] = data.num_users();
  if (config.arch == "behaviour-mlp")
    hp["features"] = static_cast<int64_t>(data.events.feature_names.size());

  RecTrainOutput out;
  ModelFile& file = out.model;
  file = ModelFile::create("rec", config.arch, nlohmann::json::object(),
                           {{"users", data.users.to_json()},
                            {"items", data.items.to_json()},
                            {"loss", config.loss},
                            {"negatives", config.negatives},
                            {"protocol", split.protocol},
                            {"seed", config.train.seed}});
  // Popularity in training: the pop model itself, and the fallback for unknown users.
  at::Tensor pop = torch::zeros({data.num_items()});
  {
    auto p = pop.accessor<float, 1>();
    for (const auto& seq : split.train) {
      for (int64_t i : seq) p[i] += 1;
    }
  }
  file.tensors.emplace_back("pop/counts", pop);
  add_csr(file, "seq", data.sequences);

  torch::manual_seed(config.train.seed);
  hp = rec_resolve_hparams(config.arch, hp);
  if (family == RecFamily::kPop) {
    file.hparams = hp;
    return out;
  }
  if (config.ks.empty()) config.ks = {10};
  if (config.train.monitor.empty()) config.train.monitor = "ndcg@" + std::to_string(config.ks[0]);
  if (family == RecFamily::kItemItem) {
    // Closed form: one solve per L2 strength, the best on validation kept.
    if (config.l2.empty()) throw Error("--l2: expected at least one value");
    at::Tensor x = on_device(ease_matrix(split.train, data.num_items()));
    at::Tensor gram = torch::mm(x.t(), x);
    ValidationSet valid(split, config.ks);
    const std::string metric = config.train.monitor;
    double best = -1;
    nlohmann::json tried = nlohmann::json::array();
    at::Tensor best_b;
    for (double l2 : config.l2) {
      at::Tensor b = ease_fit(gram, l2);
      auto m = valid.run([&](const at::Tensor& u) { return torch::mm(x.index_select(0, u), b); },
                         data.num_items(), 256);
      if (!m.count(metric))
        throw Error("--monitor: ease reports ndcg/hr/recall/precision/map/mrr@K, not '" + metric +
                    "'");
      const double value = m.at(metric);
      tried.push_back({{"l2", l2}, {metric, value}});
      if (!config.train.quiet)
        std::fprintf(stderr, "ease l2 %g: validation %s %.4f\n", l2, metric.c_str(), value);
      if (value > best) {
        best = value;
        best_b = b;
        hp["l2"] = l2;
        out.result.best_metrics = m;
      }
    }
    // The strength is chosen; the final weights use every training interaction, validation
    // items included (the test items stay unseen).
    std::vector<std::vector<int64_t>> all = split.train;
    for (size_t u = 0; u < all.size(); ++u)
      all[u].insert(all[u].end(), split.valid[u].begin(), split.valid[u].end());
    at::Tensor x_all = on_device(ease_matrix(all, data.num_items()));
    best_b = ease_fit(torch::mm(x_all.t(), x_all), hp["l2"].get<double>());
    file.hparams = hp;
    file.tensors.emplace_back("model/B", on_cpu(best_b));
    file.metrics = {{"validation", out.result.best_metrics}, {"l2_search", tried}};
    return out;
  }
  if (family == RecFamily::kPair) {
    auto model = make_pair_model(config.arch, hp);
    if (config.arch == "neumf" && (!config.init_gmf.empty() || !config.init_mlp.empty())) {
      if (config.init_gmf.empty() || config.init_mlp.empty()) {
        throw Error("--init-gmf and --init-mlp go together: NeuMF starts from both halves");
      }
      ModelFile g = model_file_read(config.init_gmf, "rec");
      ModelFile m = model_file_read(config.init_mlp, "rec");
      if (g.arch != "gmf")
        throw Error(config.init_gmf + ": expected a gmf model, found '" + g.arch + "'");
      if (m.arch != "ncf-mlp")
        throw Error(config.init_mlp + ": expected an ncf-mlp model, found '" + m.arch + "'");
      auto gmf = make_pair_model("gmf", g.hparams);
      auto mlp = make_pair_model("ncf-mlp", m.hparams);
      g.load_module("model/", *gmf);
      m.load_module("model/", *mlp);
      std::dynamic_pointer_cast<NeuMfImpl>(model)->init_from(
          *std::dynamic_pointer_cast<GmfImpl>(gmf), *std::dynamic_pointer_cast<MlpImpl>(mlp));
    }
    file.hparams = hp;
    if (config.arch == "behaviour-mlp") {
      out.result = train_behaviour_mlp(data, split, config,
                                       *std::dynamic_pointer_cast<MlpImpl>(model), file);
    } else {
      PairTask task(model, split, data.num_items(), config.loss, config.negatives, config.ks);
      out.result = Trainer(config.train).fit(task, file);
    }
    file.add_module("model/", *model);
  } else {
    auto model = make_seq_model(config.arch, hp);
    file.hparams = hp;
    SeqTask task(model, split, data.num_items(), config.loss, config.ks);
    out.result = Trainer(config.train).fit(task, file);
    file.add_module("model/", *model);
  }
  file.metrics = out.result.to_json();
  file.metrics["threads"] = at::get_num_threads();
  file.metrics["batch_size"] = config.train.batch_size;
  return out;
}

}  // namespace deepcart::rec
