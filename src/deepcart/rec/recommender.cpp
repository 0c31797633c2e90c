#include "deepcart/rec/recommender.h"

#include <torch/torch.h>

#include <algorithm>
#include <fstream>
#include <random>

#include "deepcart/core/device.h"
#include "deepcart/core/error.h"
#include "deepcart/core/metrics.h"
#include "deepcart/core/text_out.h"
#include "deepcart/rec/ranking.h"
#include "deepcart/rec/rec_task.h"

namespace deepcart::rec {
namespace {

// A stored list of item lists (one per user) in CSR form, checked before it is expanded: the
// offsets start at 0, never decrease and end at the item count, and every item is a known one.
std::vector<std::vector<int64_t>> read_csr(const ModelFile& file, const std::string& name,
                                           int64_t rows, int64_t items) {
  const at::Tensor offsets = file.tensor(name + "/offsets", at::kLong, {rows + 1});
  const at::Tensor flat = file.tensor(name + "/items", at::kLong, {-1});
  const int64_t* o = offsets.data_ptr<int64_t>();
  const int64_t* f = flat.data_ptr<int64_t>();
  const int64_t n = flat.numel();
  if (o[0] != 0 || o[rows] != n) {
    throw Error(file.source + ": tensor '" + name + "/offsets': expected to run from 0 to " +
                std::to_string(n) + ", found " + std::to_string(o[0]) + " to " +
                std::to_string(o[rows]));
  }
  for (int64_t r = 0; r < rows; ++r) {
    if (o[r + 1] < o[r]) {
      throw Error(file.source + ": tensor '" + name + "/offsets': decreases at entry " +
                  std::to_string(r + 1));
    }
  }
  for (int64_t i = 0; i < n; ++i) {
    if (f[i] < 0 || f[i] >= items) {
      throw Error(file.source + ": tensor '" + name + "/items': entry " + std::to_string(i) +
                  " is item " + std::to_string(f[i]) + ", expected 0 to " +
                  std::to_string(items - 1));
    }
  }
  std::vector<std::vector<int64_t>> out(rows);
  for (int64_t r = 0; r < rows; ++r) out[r].assign(f + o[r], f + o[r + 1]);
  return out;
}

// An id map stored as a JSON list of distinct strings.
data::IdMap read_ids(const ModelFile& file, const char* key) {
  auto it = file.meta.find(key);
  if (it == file.meta.end() || !it->is_array()) {
    throw Error(file.source + ": metadata '" + key + "': expected a list of ids");
  }
  for (size_t i = 0; i < it->size(); ++i) {
    if (!(*it)[i].is_string()) {
      throw Error(file.source + ": metadata '" + key + "[" + std::to_string(i) +
                  "]': expected a string, found " + (*it)[i].dump());
    }
  }
  data::IdMap map = data::IdMap::from_json(*it);
  if (map.size() != static_cast<int64_t>(it->size())) {
    throw Error(file.source + ": metadata '" + key + "': an id appears twice");
  }
  return map;
}

}  // namespace

Recommender::Recommender(ModelFile file) : file_(std::move(file)) {
  if (file_.task != "rec") {
    throw Error(file_.source + ": expected a 'rec' model, found '" + file_.task + "'");
  }
  // Everything below reads the file: checked, bounded, and refused by name when it is not sane.
  file_.checked_load([this] {
    family_ = rec_family(file_.arch);
    users_ = read_ids(file_, "users");
    items_ = read_ids(file_, "items");
    const int64_t n_users = users_.size(), n_items = items_.size();
    if (n_items == 0) throw Error("metadata 'items': the model knows no items");
    history_ = read_csr(file_, "seq", n_users, n_items);
    seen_ = file_.has_tensor("seen/offsets") ? read_csr(file_, "seen", n_users, n_items) : history_;
    for (auto& s : seen_) {
      std::sort(s.begin(), s.end());
      s.erase(std::unique(s.begin(), s.end()), s.end());
    }
    popularity_ = file_.tensor("pop/counts", at::kFloat, {n_items});
    probabilities_ = file_.meta.value("loss", "bce") == "bce" && family_ == RecFamily::kPair;
    // The network's users and items must be the id maps' (an out-of-range id would fail every
    // request later), so the sizes are checked before the network is built.
    for (const char* key : {"users", "items"}) {
      const int64_t want = key[0] == 'u' ? n_users : n_items;
      if (file_.hparams.contains(key) && file_.hparams[key] != want) {
        throw Error("hyper-parameter '" + std::string(key) + "': " + file_.hparams[key].dump() +
                    ", but the model's " + key + " list has " + std::to_string(want));
      }
    }
    at::Tensor vectors;
    if (family_ == RecFamily::kPair) {
      pair_ = make_pair_model(file_.arch, file_.hparams);
      file_.load_module("model/", *pair_);
      pair_->eval();
      vectors = pair_->item_vectors().detach();
      pair_->to(context_device());  // the network computes there; the item tables stay here
    } else if (family_ == RecFamily::kSeq) {
      seq_ = make_seq_model(file_.arch, file_.hparams);
      file_.load_module("model/", *seq_);
      seq_->eval();
      vectors = seq_->item_vectors().detach();
      seq_->to(context_device());
    } else if (family_ == RecFamily::kItemItem) {
      ease_ = file_.tensor("model/B", at::kFloat, {n_items, n_items});
      vectors = ease_;
    } else {
      vectors = popularity_.unsqueeze(1);
    }
    if (vectors.dim() != 2 || vectors.size(0) != n_items) {
      throw Error("the network has " + std::to_string(vectors.size(0)) + " item vectors for " +
                  std::to_string(n_items) + " items");
    }
    unit_vectors_ = torch::nn::functional::normalize(
        vectors, torch::nn::functional::NormalizeFuncOptions().dim(1).eps(1e-12));
  });
}

Recommender Recommender::load(const std::string& path) {
  return Recommender(model_file_read(path, "rec"));
}

int64_t Recommender::batch_users() const {
  const int64_t width = pair_ ? pair_->width_per_pair() : 1;
  return std::max<int64_t>(1, std::min<int64_t>(512, (1 << 24) / (items_.size() * width)));
}

at::Tensor Recommender::score_users(const at::Tensor& users,
                                    const std::vector<std::vector<int64_t>>* histories) {
  c10::InferenceMode guard;
  if (pair_) return on_cpu(pair_->score_all(on_device(users)));
  if (seq_) {
    const auto& source = histories ? *histories : history_;
    std::vector<const std::vector<int64_t>*> h;
    auto u = users.accessor<int64_t, 1>();
    for (int64_t j = 0; j < users.size(0); ++j) h.push_back(&source.at(u[j]));
    at::Tensor hidden =
        seq_->encode_last(on_device(rec_pad_histories(h, seq_->max_len())));  // (B, D)
    return on_cpu(torch::mm(hidden, seq_->item_vectors().t()));               // (B, I)
  }
  if (ease_.defined()) {
    const auto& source = histories ? *histories : history_;
    at::Tensor x = torch::zeros({users.size(0), items_.size()});
    float* row = x.data_ptr<float>();
    auto u = users.accessor<int64_t, 1>();
    for (int64_t j = 0; j < users.size(0); ++j, row += items_.size()) {
      for (int64_t i : source.at(u[j])) row[i] = 1.0f;
    }
    return torch::mm(x, ease_);  // (B, I)
  }
  return popularity_.unsqueeze(0).expand({users.size(0), items_.size()}).clone();
}

at::Tensor Recommender::score_history(const std::vector<int64_t>& history) {
  c10::InferenceMode guard;
  if (seq_) {
    at::Tensor hidden =
        seq_->encode_last(on_device(rec_pad_histories({&history}, seq_->max_len())));
    return on_cpu(torch::mv(seq_->item_vectors(), hidden[0]));  // (I)
  }
  if (ease_.defined()) {
    // The sum of the history's rows of B: X_u B without building X_u.
    return ease_.index_select(0, torch::tensor(history, torch::kLong)).sum(0);  // (I)
  }
  if (pair_ && !history.empty()) {
    // Cold start: the items most like the history's mean item vector.
    at::Tensor idx = torch::tensor(history, torch::kLong);
    at::Tensor query = unit_vectors_.index_select(0, idx).mean(0);
    return torch::mv(unit_vectors_, query);
  }
  return popularity_.clone();
}

at::Tensor Recommender::probability(const at::Tensor& users, const at::Tensor& items) {
  c10::InferenceMode guard;
  if (!pair_) throw Error(file_.arch + ": has no per-pair probability");
  return on_cpu(
      torch::sigmoid(pair_->score(on_device(users), on_device(items.unsqueeze(1))).squeeze(1)));
}

double Recommender::present(double raw) const {
  return probabilities_ ? 1.0 / (1.0 + std::exp(-raw)) : raw;
}

std::vector<std::string> Recommender::because(const std::vector<int64_t>& history, int64_t item,
                                              int reasons) {
  if (history.empty() || reasons < 1) return {};
  std::vector<int64_t> distinct = history;
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  at::Tensor sims = torch::mv(unit_vectors_.index_select(0, torch::tensor(distinct, torch::kLong)),
                              unit_vectors_[item]);
  auto top = std::get<1>(sims.topk(std::min<int64_t>(reasons, sims.size(0))));
  std::vector<std::string> out;
  for (int64_t j = 0; j < top.size(0); ++j)
    out.push_back(items_.name(distinct[top[j].item<int64_t>()]));
  return out;
}

std::vector<ScoredItem> Recommender::top(at::Tensor scores, int k,
                                         const std::vector<int64_t>& history, int reasons) {
  if (k < 1) throw Error("--k: expected at least 1, found " + std::to_string(k));
  const float* s = scores.data_ptr<float>();
  const int64_t available = std::count_if(
      s, s + scores.numel(), [](float v) { return v > -std::numeric_limits<float>::infinity(); });
  auto [values, indices] = scores.topk(std::min<int64_t>(k, available));
  std::vector<ScoredItem> out;
  auto v = values.accessor<float, 1>();
  auto ix = indices.accessor<int64_t, 1>();
  for (int64_t j = 0; j < values.size(0); ++j) {
    out.push_back({items_.name(ix[j]), present(v[j]), because(history, ix[j], reasons)});
  }
  return out;
}

std::vector<ScoredItem> Recommender::recommend(const std::string& user, int k, bool exclude_seen,
                                               int reasons) {
  const int64_t u = users_.find(user);
  if (u < 0) {
    throw Error("unknown user '" + user + "': the model knows " + std::to_string(users_.size()) +
                " users (e.g. '" + users_.name(0) + "'); pass --history for a new customer");
  }
  c10::InferenceMode guard;
  at::Tensor scores = (ease_.defined() ? score_history(history_[u])
                                       : score_users(torch::tensor({u}, torch::kLong))[0])
                          .contiguous()
                          .clone();  // (I)
  if (exclude_seen) {
    float* s = scores.data_ptr<float>();
    for (int64_t item : seen_[u]) s[item] = -std::numeric_limits<float>::infinity();
  }
  return top(scores, k, history_[u], reasons);
}

std::vector<ScoredItem> Recommender::recommend_history(const std::vector<std::string>& history,
                                                       int k, int reasons) {
  std::vector<int64_t> ids;
  for (const auto& name : history) {
    const int64_t id = items_.find(name);
    if (id < 0) throw Error("--history: unknown item '" + name + "'");
    ids.push_back(id);
  }
  c10::InferenceMode guard;
  at::Tensor scores = score_history(ids).contiguous().clone();
  float* s = scores.data_ptr<float>();
  for (int64_t item : ids) s[item] = -std::numeric_limits<float>::infinity();
  return top(scores, k, ids, reasons);
}

std::vector<ScoredItem> Recommender::similar(const std::string& item, int k) {
  const int64_t id = items_.find(item);
  if (id < 0) throw Error("--item: unknown item '" + item + "'");
  if (family_ == RecFamily::kPop) throw Error("pop has no item vectors: train another model");
  c10::InferenceMode guard;
  at::Tensor sims = torch::mv(unit_vectors_, unit_vectors_[id]).clone();
  sims[id] = -std::numeric_limits<float>::infinity();
  const bool was = probabilities_;
  probabilities_ = false;  // cosine similarities are shown as they are
  auto out = top(sims, k, {}, 0);
  probabilities_ = was;
  return out;
}

std::map<std::string, double> rec_evaluate_split(Recommender& model, const RecSplit& split,
                                                 bool test, const std::vector<int>& ks,
                                                 int64_t sampled_negatives, uint64_t seed) {
  const int64_t n_users = model.users().size();
  std::vector<std::vector<int64_t>> history(n_users), exclude(n_users), all(n_users);
  RankingTask task;
  for (int64_t u = 0; u < n_users; ++u) {
    history[u] = split.train[u];
    if (test) history[u].insert(history[u].end(), split.valid[u].begin(), split.valid[u].end());
    exclude[u] = history[u];
    std::sort(exclude[u].begin(), exclude[u].end());
    exclude[u].erase(std::unique(exclude[u].begin(), exclude[u].end()), exclude[u].end());
    all[u] = model.seen(u);
    const auto& targets = test ? split.test[u] : split.valid[u];
    if (targets.empty()) continue;
    task.users.push_back(u);
    task.targets.push_back(targets);
  }
  task.exclude = &exclude;
  task.seen = &all;
  task.ks = ks;
  task.sampled_negatives = sampled_negatives;
  task.seed = seed;
  task.batch_users = model.batch_users();
  if (task.users.empty()) throw Error("evaluation: no user has a held-out item");
  return rank_evaluate([&](const at::Tensor& u) { return model.score_users(u, &history); },
                       model.items().size(), task);
}

std::map<std::string, double> rec_evaluate_behaviour(Recommender& model, const RecDataset& data,
                                                     const RecSplit& split,
                                                     const std::vector<int>& ks, int negatives,
                                                     uint64_t seed) {
  const int64_t n_items = model.items().size();
  // Everything the user interacted with except the test item is excluded from the ranking.
  std::vector<std::vector<int64_t>> exclude = items_by_user(data, split.train_rows);
  RankingTask task;
  task.ks = ks;
  task.exclude = &exclude;
  task.batch_users = model.batch_users();
  for (size_t u = 0; u < split.test.size(); ++u) {
    if (split.test[u].empty()) continue;
    task.users.push_back(static_cast<int64_t>(u));
    task.targets.push_back({split.test[u][0]});
    auto& ex = exclude[u];
    const int64_t valid = split.valid[u][0];
    ex.insert(std::upper_bound(ex.begin(), ex.end(), valid), valid);
  }
  if (task.users.empty()) {
    throw Error("evaluation: no user has 3 or more distinct purchases, so nothing is held out");
  }
  std::map<std::string, double> out =
      rank_evaluate([&](const at::Tensor& u) { return model.score_users(u); }, n_items, task);
  const at::Tensor pop = model.popularity();
  for (const auto& [name, value] : rank_evaluate(
           [&](const at::Tensor& u) {
             return pop.unsqueeze(0).expand({u.size(0), n_items}).clone();
           },
           n_items, task)) {
    if (name != "users") out["pop_" + name] = value;
  }

  // Held-out rows: each test purchase against `negatives` never-seen items, seeded.
  std::vector<std::vector<int64_t>> seen = items_by_user(data, {});
  std::mt19937_64 rng(seed ^ 0xe7a1);
  std::vector<int64_t> users, items;
  std::vector<float> labels;
  for (size_t j = 0; j < task.users.size(); ++j) {
    const int64_t u = task.users[j];
    users.push_back(u);
    items.push_back(task.targets[j][0]);
    labels.push_back(1.0f);
    for (int k = 0; k < std::max(1, negatives); ++k) {
      users.push_back(u);
      items.push_back(sample_unseen(seen[u], n_items, rng));
      labels.push_back(0.0f);
    }
  }
  at::Tensor p =
      model.probability(torch::tensor(users, torch::kLong), torch::tensor(items, torch::kLong));
  std::vector<float> probs(p.data_ptr<float>(), p.data_ptr<float>() + p.numel());
  out["auc"] = auc(probs, labels);
  out["logloss"] = log_loss(probs, labels);
  out["heldout_rows"] = static_cast<double>(labels.size());
  return out;
}

void Recommender::write_top_k_csv(const std::string& path, int k, bool exclude_seen) {
  std::ofstream csv(path);
  if (!csv) throw Error(path + ": cannot open for writing");
  csv << "user_id,rank,item_id,score\n";
  for (int64_t id = 0; id < users().size(); ++id) {
    const std::string name = users().name(id);
    const auto items = recommend(name, k, exclude_seen, 0);
    for (size_t j = 0; j < items.size(); ++j)
      csv << name << ',' << j + 1 << ',' << items[j].item << ',' << items[j].score << '\n';
  }
  if (!csv.flush()) throw Error(path + ": write failed");
}

void to_json(nlohmann::json& j, const ScoredItem& item) {
  j = {{"item", item.item}, {"score", item.score}, {"because", item.because}};
}

std::string describe(const std::string& title, const std::vector<ScoredItem>& items) {
  TextOut out;
  out.add("%s\n", title.c_str());
  for (size_t j = 0; j < items.size(); ++j) {
    out.add("%3zu. %-16s %.4f", j + 1, items[j].item.c_str(), items[j].score);
    for (size_t b = 0; b < items[j].because.size(); ++b)
      out.add("%s %s", b ? " and" : "  because you bought", items[j].because[b].c_str());
    out.add("\n");
  }
  return out.s;
}

}  // namespace deepcart::rec
