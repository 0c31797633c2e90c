#include "deepcart/text/classifier.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>

#include "deepcart/core/device.h"
#include "deepcart/core/error.h"
#include "deepcart/core/metrics.h"
#include "deepcart/core/text_out.h"
#include "deepcart/text/pretrained.h"

namespace deepcart::text {
namespace {

// Star labels as numbers ("1".."5"), for mean absolute error.
std::vector<double> numeric_labels(const std::vector<std::string>& names) {
  std::vector<double> values;
  for (const auto& n : names) {
    try {
      size_t used = 0;
      values.push_back(std::stod(n, &used));
      if (used != n.size()) throw std::invalid_argument(n);
    } catch (const std::exception&) {
      throw Error("--task stars: labels must be numbers, found '" + n + "'");
    }
  }
  return values;
}

double mean_absolute_error(const std::vector<std::vector<int64_t>>& confusion,
                           const std::vector<double>& values) {
  double sum = 0, n = 0;
  for (size_t t = 0; t < confusion.size(); ++t) {
    for (size_t p = 0; p < confusion.size(); ++p) {
      sum += std::abs(values[t] - values[p]) * confusion[t][p];
      n += confusion[t][p];
    }
  }
  return n > 0 ? sum / n : 0.0;
}

std::vector<std::vector<int64_t>> confusion_of(const at::Tensor& predicted,
                                               const std::vector<int64_t>& truth, int64_t classes) {
  std::vector<std::vector<int64_t>> confusion(classes, std::vector<int64_t>(classes, 0));
  auto p = predicted.accessor<int64_t, 1>();
  for (size_t i = 0; i < truth.size(); ++i) ++confusion[truth[i]][p[i]];
  return confusion;
}

// Texts no shop customer would write: random vocabulary pieces, and random letter strings.
std::vector<std::vector<int64_t>> nonsense(const Tokenizer& tokenizer, int64_t count,
                                           uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int64_t> piece(2, std::max<int64_t>(2, tokenizer.vocab_size() - 1));
  std::uniform_int_distribution<int> length(2, 12), letter('a', 'z'), word(2, 9);
  std::vector<std::vector<int64_t>> out;
  for (int64_t i = 0; i < count; ++i) {
    std::vector<int64_t> ids;
    if (i % 2 == 0 && tokenizer.is_wordpiece()) {
      // As text, so the ids come wrapped in [CLS] ... [SEP] like any question's.
      std::string text;
      for (int t = length(rng); t > 0; --t) {
        std::string p = tokenizer.piece(piece(rng));
        text += (p.rfind("##", 0) == 0 ? p.substr(2) : p) + " ";
      }
      ids = tokenizer.ids(text);
    } else if (i % 2 == 0) {
      for (int t = length(rng); t > 0; --t) ids.push_back(piece(rng));
    } else {
      std::string text;
      for (int w = length(rng) / 2 + 1; w > 0; --w) {
        for (int c = word(rng); c > 0; --c) text += static_cast<char>(letter(rng));
        text += ' ';
      }
      ids = tokenizer.ids(text);
    }
    if (ids.empty()) ids.push_back(1);
    out.push_back(std::move(ids));
  }
  return out;
}

class TextTrainTask : public TrainTask {
 public:
  TextTrainTask(TextNet model, std::vector<std::vector<int64_t>> ids, std::vector<int64_t> labels,
                std::vector<int64_t> train_rows, std::vector<int64_t> valid_rows, TextTask task,
                std::vector<double> values, double smoothing)
      : model_(std::move(model)),
        ids_(std::move(ids)),
        labels_(std::move(labels)),
        train_rows_(std::move(train_rows)),
        valid_rows_(std::move(valid_rows)),
        task_(task),
        values_(std::move(values)),
        smoothing_(smoothing) {}

  torch::nn::Module& module() override { return *model_; }
  int64_t train_size() const override { return static_cast<int64_t>(train_rows_.size()); }
  std::vector<ParameterGroup> parameter_groups() override {
    return groups_.empty() ? TrainTask::parameter_groups() : groups_;
  }
  void set_parameter_groups(std::vector<ParameterGroup> groups) { groups_ = std::move(groups); }

  // A frozen encoder: its features of the training and validation texts are computed once, and
  // training and validation run the head on them.
  void cache_features() {
    torch::NoGradGuard no_grad;
    model_->eval();
    std::vector<int64_t> rows = train_rows_;
    rows.insert(rows.end(), valid_rows_.begin(), valid_rows_.end());
    feature_of_row_.assign(ids_.size(), -1);
    for (size_t i = 0; i < rows.size(); ++i) feature_of_row_[rows[i]] = static_cast<int64_t>(i);
    std::vector<std::vector<int64_t>> lists;
    for (int64_t r : rows) lists.push_back(ids_[r]);
    features_ = by_length(lists, 64, [&](const at::Tensor& ids) { return model_->features(ids); });
    model_->train();
  }
  // Back to training through the encoder.
  void drop_features() {
    features_ = at::Tensor();
    feature_of_row_.clear();
  }

  // SetFit's contrastive stage: each training text of a batch brings a partner of its label, and
  // every pair of the batch pulls its sentence embeddings to cosine 1 (same label) or 0 (other
  // labels); validation classifies by the nearest centroid of the training texts' embeddings.
  void set_contrastive(bool on) {
    contrastive_ = on;
    rows_of_label_.assign(static_cast<size_t>(model_->options().classes), {});
    for (int64_t row : train_rows_) rows_of_label_[labels_[row]].push_back(row);
  }

  at::Tensor loss(const at::Tensor& indices, std::mt19937_64& rng) override {
    if (contrastive_) return contrastive_loss(indices, rng);
    auto idx = indices.accessor<int64_t, 1>();
    if (features_.defined()) {
      std::vector<int64_t> at, y;
      for (int64_t i = 0; i < indices.size(0); ++i) {
        const int64_t row = train_rows_[idx[i]];
        at.push_back(feature_of_row_[row]);
        y.push_back(labels_[row]);
      }
      at::Tensor f =
          features_.index_select(0, torch::tensor(at, torch::kLong).to(features_.device()));
      return torch::nn::functional::cross_entropy(
          model_->head_logits(f), on_device(torch::tensor(y, torch::kLong)),
          torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(smoothing_));
    }
    std::vector<std::vector<int64_t>> batch;
    std::vector<int64_t> y;
    for (int64_t i = 0; i < indices.size(0); ++i) add_row(train_rows_[idx[i]], batch, y);
    return torch::nn::functional::cross_entropy(
        model_->forward(on_device(pad_batch(batch))), on_device(torch::tensor(y, torch::kLong)),
        torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(smoothing_));
  }

  std::map<std::string, double> validate() override {
    if (contrastive_) return {{"accuracy", centroid_accuracy()}};
    at::Tensor probs = probabilities(valid_rows_);
    std::vector<int64_t> truth;
    for (int64_t row : valid_rows_) truth.push_back(labels_[row]);
    at::Tensor y = torch::tensor(truth, torch::kLong);
    auto confusion = confusion_of(probs.argmax(1), truth, probs.size(1));
    ClassMetrics m = class_metrics(confusion);
    std::map<std::string, double> out = {
        {"accuracy", m.accuracy},
        {"macro_f1", m.macro_f1},
        {"loss", torch::nll_loss(probs.clamp_min(1e-12).log(), y).item<double>()}};
    if (task_ == TextTask::kStars) out["mae"] = mean_absolute_error(confusion, values_);
    return out;
  }

  // Softmax over rows of ids_ (or over given id lists), in eval mode, batched by length so
  // little time goes to padding.
  at::Tensor probabilities(const std::vector<int64_t>& rows) {
    if (features_.defined()) {
      torch::NoGradGuard no_grad;
      const bool was_training = model_->is_training();
      model_->eval();
      std::vector<int64_t> at;
      for (int64_t r : rows) at.push_back(feature_of_row_[r]);
      at::Tensor f =
          features_.index_select(0, torch::tensor(at, torch::kLong).to(features_.device()));
      at::Tensor p = on_cpu(torch::softmax(model_->head_logits(f), 1).to(torch::kFloat));
      model_->train(was_training);
      return p;
    }
    std::vector<std::vector<int64_t>> lists;
    for (int64_t r : rows) lists.push_back(ids_[r]);
    return probabilities_of(lists);
  }
  at::Tensor probabilities_of(const std::vector<std::vector<int64_t>>& lists) {
    torch::NoGradGuard no_grad;
    const bool was_training = model_->is_training();
    model_->eval();
    at::Tensor out = lists.empty()
                         ? torch::empty({0, model_->options().classes})
                         : on_cpu(by_length(lists, 256, [&](const at::Tensor& ids) {
                             return torch::softmax(model_->forward(ids), 1).to(torch::kFloat);
                           }));
    model_->train(was_training);
    return out;
  }

  const std::vector<int64_t>& valid_rows() const { return valid_rows_; }
  const std::vector<int64_t>& labels() const { return labels_; }

 private:
  void add_row(int64_t row, std::vector<std::vector<int64_t>>& batch, std::vector<int64_t>& y) {
    batch.push_back(ids_[row]);
    y.push_back(labels_[row]);
  }

  at::Tensor contrastive_loss(const at::Tensor& indices, std::mt19937_64& rng) {
    auto idx = indices.accessor<int64_t, 1>();
    std::vector<std::vector<int64_t>> batch;
    std::vector<int64_t> y;
    for (int64_t i = 0; i < indices.size(0); ++i) {
      const int64_t row = train_rows_[idx[i]];
      add_row(row, batch, y);
      const auto& same = rows_of_label_[labels_[row]];
      if (same.size() < 2) continue;  // a label with one text has no partner for it
      // Uniform over the label's other texts: draw among all but the last, and take the last
      // in place of the text itself.
      size_t k = std::uniform_int_distribution<size_t>(0, same.size() - 2)(rng);
      if (same[k] == row) k = same.size() - 1;
      add_row(same[k], batch, y);
    }
    at::Tensor e = model_->features(on_device(pad_batch(batch)));  // (n, D), unit length
    at::Tensor cosine = e.mm(e.t());
    at::Tensor label = on_device(torch::tensor(y, torch::kLong));
    at::Tensor same = label.unsqueeze(0) == label.unsqueeze(1);
    at::Tensor pair = torch::ones_like(same).triu(1);  // each unordered pair once
    // Both kinds of pair weigh the same, however few the same-label ones.
    at::Tensor loss = (cosine * 0).sum();
    at::Tensor positive = same & pair, negative = ~same & pair;
    if (positive.any().item<bool>())
      loss = loss + (cosine.masked_select(positive) - 1).square().mean();
    if (negative.any().item<bool>()) loss = loss + cosine.masked_select(negative).square().mean();
    return loss;
  }

  // Validation texts labelled by the closest centroid of the training texts' embeddings.
  double centroid_accuracy() {
    auto embed = [&](const std::vector<int64_t>& rows) {
      std::vector<std::vector<int64_t>> lists;
      for (int64_t r : rows) lists.push_back(ids_[r]);
      return by_length(lists, 64, [&](const at::Tensor& ids) { return model_->features(ids); });
    };
    auto label_tensor = [&](const std::vector<int64_t>& rows) {
      std::vector<int64_t> y;
      for (int64_t r : rows) y.push_back(labels_[r]);
      return on_device(torch::tensor(y, torch::kLong));
    };
    at::Tensor train = embed(train_rows_);
    at::Tensor centroids = torch::zeros({model_->options().classes, train.size(1)}, train.options())
                               .index_add(0, label_tensor(train_rows_), train);
    centroids = torch::nn::functional::normalize(
        centroids, torch::nn::functional::NormalizeFuncOptions().dim(1).eps(1e-12));
    at::Tensor predicted = embed(valid_rows_).mm(centroids.t()).argmax(1);
    return (predicted == label_tensor(valid_rows_)).to(torch::kDouble).mean().item<double>();
  }

  // f over the id lists in batches of `size` texts of similar length, rows back in input order.
  template <typename F>
  at::Tensor by_length(const std::vector<std::vector<int64_t>>& lists, size_t size, F f) {
    std::vector<int64_t> order(lists.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(),
              [&](int64_t a, int64_t b) { return lists[a].size() < lists[b].size(); });
    at::Tensor out;
    for (size_t b = 0; b < order.size(); b += size) {
      std::vector<std::vector<int64_t>> batch;
      std::vector<int64_t> where;
      for (size_t i = b; i < std::min(order.size(), b + size); ++i) {
        batch.push_back(lists[order[i]]);
        where.push_back(order[i]);
      }
      at::Tensor part = f(on_device(pad_batch(batch)));
      if (!out.defined())
        out = torch::empty({static_cast<int64_t>(lists.size()), part.size(1)}, part.options());
      out.index_copy_(0, torch::tensor(where, torch::kLong).to(part.device()), part);
    }
    return out;
  }

  bool contrastive_ = false;
  std::vector<std::vector<int64_t>> rows_of_label_;  // contrastive: training rows of each label
  std::vector<ParameterGroup> groups_;
  at::Tensor features_;                  // frozen encoder: (train + valid rows, features)
  std::vector<int64_t> feature_of_row_;  // row of ids_ -> row of features_ (-1: none)
  TextNet model_;
  std::vector<std::vector<int64_t>> ids_;
  std::vector<int64_t> labels_, train_rows_, valid_rows_;
  TextTask task_;
  std::vector<double> values_;
  double smoothing_;
};

}  // namespace

at::Tensor pad_batch(const std::vector<std::vector<int64_t>>& ids) {
  size_t longest = 1;
  for (const auto& row : ids) longest = std::max(longest, row.size());
  at::Tensor out =
      torch::zeros({static_cast<int64_t>(ids.size()), static_cast<int64_t>(longest)}, torch::kLong);
  auto a = out.accessor<int64_t, 2>();
  for (size_t i = 0; i < ids.size(); ++i) {
    for (size_t j = 0; j < ids[i].size(); ++j) a[i][j] = ids[i][j];
  }
  return out;
}

float tune_out_of_scope(const at::Tensor& in_scope_top, const at::Tensor& nonsense_top) {
  float best = 0, best_score = -1;
  for (int step = 1; step < 100; ++step) {
    const float t = step / 100.0f;
    const float kept = (in_scope_top >= t).to(torch::kFloat).mean().item<float>();
    const float rejected = (nonsense_top < t).to(torch::kFloat).mean().item<float>();
    const float score = 0.5f * (kept + rejected);
    if (score > best_score + 1e-6f) {
      best_score = score;
      best = t;
    }
  }
  return best;
}

namespace {

// A pretrained encoder's optimiser groups. "head": the head alone. "encoder": layer k of L at
// layer_decay^(L - k) and the embeddings at layer_decay^(L + 1). "full": both, the head at
// head_scale.
std::vector<ParameterGroup> pretrained_groups(TextNetImpl& net, const std::string& what,
                                              double layer_decay, double head_scale) {
  const int64_t layers = net.options().layers;
  std::vector<ParameterGroup> groups(static_cast<size_t>(layers) + 2);
  groups[0].lr_scale = head_scale;
  for (int64_t k = 0; k < layers; ++k)
    groups[1 + k].lr_scale = std::pow(layer_decay, static_cast<double>(layers - k));
  groups.back().lr_scale = std::pow(layer_decay, static_cast<double>(layers + 1));
  for (auto& p : net.named_parameters(true)) {
    const std::string& name = p.key();
    if (name.rfind("head.", 0) == 0) {
      if (what != "encoder") groups[0].params.push_back(p.value());
      continue;
    }
    if (what == "head") continue;
    size_t g = groups.size() - 1;
    if (name.rfind("encoder.layer", 0) == 0)
      g = 1 + std::stoul(name.substr(13, name.find('.', 13) - 13));
    groups[g].params.push_back(p.value());
  }
  std::vector<ParameterGroup> used;
  for (auto& g : groups) {
    if (!g.params.empty()) used.push_back(std::move(g));
  }
  return used;
}

// A stage where the head alone learns on cached embeddings: head_epochs at head_lr.
TrainOptions head_stage_options(const TrainSpec& config) {
  TrainOptions o = config.train;
  o.epochs = config.head_epochs;
  o.lr = config.head_lr > 0 ? config.head_lr : config.train.lr;
  o.batch_size = 32;
  o.warmup_steps = 0;
  o.patience = 5;
  return o;
}

// Fine-tuning a pretrained encoder, in one or two stages through the Trainer:
//   head:   the head on cached embeddings (the encoder frozen);
//   full:   [the head on cached embeddings, head_epochs > 0], then every layer (the head at
//           head_lr when it starts at random, else at lr like the top layer);
//   setfit: the encoder on contrastive pairs, then the head on cached embeddings.
// Checkpoints name their stage (meta "stage"), so --resume from a second-stage checkpoint skips
// the first stage and one from the first stage finishes it and then runs the second.
TrainResult fit_pretrained(TextTrainTask& task, TextNetImpl& net, const TrainSpec& config,
                           ModelFile& file) {
  const double head_scale = config.head_lr > 0 ? config.head_lr / config.train.lr : 1.0;
  auto say = [&](const std::string& line) {
    if (!config.train.quiet) std::fprintf(stderr, "%s\n", line.c_str());
  };
  if (config.finetune == "head") {
    for (auto& p : net.named_parameters(true)) {
      if (p.key().rfind("head.", 0) != 0) p.value().set_requires_grad(false);
    }
    task.set_parameter_groups(pretrained_groups(net, "head", 1.0, 1.0));
    say("encoding the training and validation texts once (frozen encoder)");
    task.cache_features();
    return Trainer(config.train).fit(task, file);
  }
  const bool setfit = config.finetune == "setfit";
  if (!setfit && config.finetune != "full") {
    throw Error("--finetune: expected head, full or setfit, found '" + config.finetune + "'");
  }
  if (setfit && config.head_epochs < 1)
    throw Error("--finetune setfit: --head-epochs must be at least 1 (the head learns there)");
  const std::string first = setfit ? "contrastive" : (config.head_epochs > 0 ? "head" : "");
  std::string resumed;
  if (!config.train.resume.empty())
    resumed = model_file_read(config.train.resume, "text").meta.value("stage", "");
  TrainResult first_result;
  TrainOptions second = setfit ? head_stage_options(config) : config.train;
  if (!first.empty() && resumed != "second") {
    TrainOptions o = setfit ? config.train : head_stage_options(config);
    if (!o.metrics_log.empty()) o.metrics_log += ".first-stage";
    second.resume.clear();  // the checkpoint belonged to the first stage
    file.meta["stage"] = "first";
    if (setfit) {
      say("stage 1 of 2: the encoder learns from contrastive pairs of texts");
      task.set_contrastive(true);
      task.set_parameter_groups(pretrained_groups(net, "encoder", config.layer_decay, 1.0));
    } else {
      say("stage 1 of 2: the head alone, on embeddings computed once");
      task.set_parameter_groups(pretrained_groups(net, "head", 1.0, 1.0));
      task.cache_features();
    }
    first_result = Trainer(o).fit(task, file);
    task.set_contrastive(false);
    task.drop_features();
    say("stage 2 of 2: " +
        std::string(setfit ? "the head, on the tuned encoder's embeddings" : "every layer"));
  } else if (!first.empty()) {
    // The second stage's checkpoint holds the first stage's work; the cache below needs it now.
    model_file_read(config.train.resume, "text").load_module("model/", net);
  }
  file.meta["stage"] = "second";
  if (setfit) {
    task.set_parameter_groups(pretrained_groups(net, "head", 1.0, 1.0));
    task.cache_features();
  } else {
    // A head trained first goes on at the encoder's rate; a random one needs its own, faster.
    task.set_parameter_groups(
        pretrained_groups(net, "full", config.layer_decay, first.empty() ? head_scale : 1.0));
  }
  TrainResult result = Trainer(second).fit(task, file);
  file.meta.erase("stage");
  if (!first.empty() && first_result.epochs_run > 0) {
    result.seconds += first_result.seconds;  // the run's wall time: both stages
    file.metrics["first_stage"] = first_result.to_json();
    file.metrics["first_stage"]["stage"] = first;
  }
  return result;
}

}  // namespace

TextTrainOutput text_train(const TextSet& data, const TextSplit& split, TrainSpec config) {
  if (data.labels.empty()) throw Error("text train: the data has no label column");
  if (split.train.empty() || split.valid.empty())
    throw Error("text train: the training and validation parts must not be empty");
  const bool pretrained = config.hparams.value("arch", std::string("bow")) == "minilm";
  Tokenizer tokenizer;
  TextOptions options;
  std::map<std::string, at::Tensor> weights;
  if (pretrained) {
    if (config.finetune != "head" && config.finetune != "full" && config.finetune != "setfit") {
      throw Error("--finetune: expected head, full or setfit, found '" + config.finetune + "'");
    }
    for (const auto& [key, value] : config.hparams.items()) {
      if (key != "arch" && key != "encoder" && key != "dropout")
        throw Error("--" + key + " does not apply to minilm: the pretrained encoder has its own");
    }
    PretrainedEncoder encoder =
        find_encoder(config.hparams.value("encoder", std::string("minilm")));
    options = encoder.options;
    options.dropout = config.hparams.value("dropout", options.dropout);
    if (config.tokenizer.max_length > options.max_length) {
      throw Error("--max-length " + std::to_string(config.tokenizer.max_length) +
                  ": the encoder has positions for " + std::to_string(options.max_length));
    }
    tokenizer = Tokenizer::wordpiece(encoder.vocab, config.tokenizer.max_length);
    config.tokenizer = tokenizer.options();
    weights = read_encoder_weights(encoder);
  } else {
    std::vector<std::string> train_texts;
    for (int64_t row : split.train) train_texts.push_back(data.texts[row]);
    tokenizer = Tokenizer::train(train_texts, config.tokenizer);
    nlohmann::json hp = config.hparams;
    hp["vocab"] = tokenizer.vocab_size();
    hp["max_length"] = config.tokenizer.max_length;
    options = hp.get<TextOptions>();
  }
  options.classes = static_cast<int64_t>(data.label_names.size());
  for (const auto& [label, name] : config.label_names) {
    if (std::find(data.label_names.begin(), data.label_names.end(), label) ==
        data.label_names.end()) {
      std::string known;
      for (const auto& l : data.label_names) known += (known.empty() ? "" : ", ") + l;
      throw Error("--label-names: the data has no label '" + label + "' (its labels: " + known +
                  ")");
    }
  }
  const std::vector<int64_t> train_rows =
      config.shots > 0 ? draw_shots(data.labels, split.train, config.shots, config.train.seed)
                       : split.train;
  std::vector<std::vector<int64_t>> ids;
  ids.reserve(data.texts.size());
  for (const auto& t : data.texts) ids.push_back(tokenizer.ids(t));
  torch::manual_seed(config.train.seed);
  TextNet model(options);
  if (pretrained) load_encoder_weights(*model, weights);
  weights.clear();
  if (config.warmup_fraction > 0) {
    const int64_t steps = config.train.epochs *
                          ((static_cast<int64_t>(train_rows.size()) + config.train.batch_size - 1) /
                           config.train.batch_size);
    config.train.warmup_steps =
        static_cast<int64_t>(std::ceil(config.warmup_fraction * static_cast<double>(steps)));
  }
  const std::vector<double> values =
      config.task == TextTask::kStars ? numeric_labels(data.label_names) : std::vector<double>{};

  TextTrainOutput out;
  ModelFile& file = out.model;
  file = ModelFile::create("text", options.arch, options,
                           {{"labels", data.label_names},
                            {"text_task", text_task_name(config.task)},
                            {"label_smoothing", config.label_smoothing},
                            {"answers", config.answers},
                            {"label_names", config.label_names},
                            {"seed", config.train.seed}});
  file.blobs["tokenizer"] = tokenizer.serialize();
  if (config.train.monitor.empty()) config.train.monitor = "accuracy";
  TextTrainTask task(model, std::move(ids), data.labels, train_rows, split.valid, config.task,
                     values, config.label_smoothing);
  out.result = pretrained ? fit_pretrained(task, *model, config, file)
                          : Trainer(config.train).fit(task, file);
  if (config.task == TextTask::kIntent) {
    // The threshold is tuned on validation questions and generated nonsense, never on test.
    at::Tensor in_scope = std::get<0>(task.probabilities(task.valid_rows()).max(1));
    at::Tensor junk = std::get<0>(
        task
            .probabilities_of(nonsense(
                tokenizer, std::min<int64_t>(2000, std::max<int64_t>(200, in_scope.size(0))),
                config.train.seed))
            .max(1));
    file.meta["threshold"] = tune_out_of_scope(in_scope, junk);
  }
  file.add_module("model/", *model);
  const nlohmann::json first_stage = file.metrics.value("first_stage", nlohmann::json());
  file.metrics = out.result.to_json();
  if (!first_stage.is_null()) file.metrics["first_stage"] = first_stage;
  if (config.shots > 0) file.metrics["training_texts"] = train_rows.size();
  return out;
}

TextClassifier::TextClassifier(ModelFile file) : file_(std::move(file)) {
  file_.expect_task("text");
  file_.checked_load([this] {
    const auto o = hparams_as<TextOptions>(file_.hparams, "text model");
    auto blob = file_.blobs.find("tokenizer");
    if (blob == file_.blobs.end()) throw Error("no tokenizer in the model file");
    tokenizer_ = Tokenizer::deserialize(blob->second);
    // Every token id the tokenizer can give must have an embedding row.
    if (tokenizer_.vocab_size() > o.vocab) {
      throw Error("the tokenizer has " + std::to_string(tokenizer_.vocab_size()) +
                  " tokens, the network's "
                  "hyper-parameter 'vocab' only " +
                  std::to_string(o.vocab));
    }
    if ((o.arch == "transformer" || o.arch == "bert") &&
        tokenizer_.options().max_length > o.max_length) {
      throw Error("the tokenizer keeps " + std::to_string(tokenizer_.options().max_length) +
                  " tokens, the network has positions for only " + std::to_string(o.max_length));
    }
    labels_ = file_.meta.at("labels").get<std::vector<std::string>>();
    if (static_cast<int64_t>(labels_.size()) != o.classes || o.classes < 1) {
      throw Error("metadata 'labels': " + std::to_string(labels_.size()) + " names for " +
                  std::to_string(o.classes) + " classes");
    }
    task_ = text_task_named(file_.meta.value("text_task", "sentiment"));
    if (task_ == TextTask::kStars)
      numeric_labels(labels_);  // throws for a label that is not a number
    threshold_ = file_.meta.value("threshold", 0.0f);
    answers_ = file_.meta.value("answers", std::map<std::string, std::string>{});
    const auto names = file_.meta.value("label_names", std::map<std::string, std::string>{});
    for (const auto& label : labels_) {
      auto it = names.find(label);
      display_labels_.push_back(it == names.end() ? label : it->second);
    }
    model_ = TextNet(o);
    file_.load_module("model/", *model_);
    model_->eval();
    model_->to(context_device());
  });
}

TextClassifier TextClassifier::load(const std::string& path) {
  return TextClassifier(model_file_read(path, "text"));
}

at::Tensor TextClassifier::expected_stars(const at::Tensor& probabilities) const {
  std::vector<double> values;
  for (const auto& label : labels_) {
    char* end = nullptr;
    const double v = std::strtod(label.c_str(), &end);
    if (label.empty() || *end != '\0')
      throw Error("expected stars: the label '" + label + "' is not a number");
    values.push_back(v);
  }
  return torch::mv(probabilities.to(torch::kDouble), torch::tensor(values, torch::kDouble));
}

at::Tensor TextClassifier::probabilities(const std::vector<std::string>& texts, int64_t batch) {
  c10::InferenceMode guard;
  std::vector<std::vector<int64_t>> ids;
  ids.reserve(texts.size());
  for (const auto& t : texts) ids.push_back(tokenizer_.ids(t));
  // Sorted by length so each batch pads little; results go back to input order.
  std::vector<int64_t> order(ids.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return ids[a].size() < ids[b].size(); });
  at::Tensor out =
      torch::empty({static_cast<int64_t>(ids.size()), static_cast<int64_t>(labels_.size())});
  for (size_t b = 0; b < order.size(); b += static_cast<size_t>(batch)) {
    std::vector<std::vector<int64_t>> rows;
    std::vector<int64_t> where;
    for (size_t i = b; i < std::min(order.size(), b + static_cast<size_t>(batch)); ++i) {
      rows.push_back(ids[order[i]]);
      where.push_back(order[i]);
    }
    out.index_copy_(
        0, torch::tensor(where, torch::kLong),
        on_cpu(torch::softmax(model_->forward(on_device(pad_batch(rows))), 1).to(torch::kFloat)));
  }
  return out;
}

Answer TextClassifier::answer(const std::string& question,
                              const std::map<std::string, std::string>& answers) {
  if (task_ != TextTask::kIntent)
    throw Error(file_.source + ": not an intent model (train it with --task intent)");
  return answer_of(probabilities({question})[0], answers);
}

Answer TextClassifier::answer_of(const at::Tensor& probs,
                                 const std::map<std::string, std::string>& answers) const {
  auto [top, index] = probs.topk(std::min<int64_t>(2, probs.size(0)));
  Answer a;
  a.intent = labels_[index[0].item<int64_t>()];
  a.confidence = top[0].item<float>();
  a.sure = a.confidence >= threshold_;
  if (a.sure) {
    auto it = answers.find(a.intent);
    if (it != answers.end()) a.answer = it->second;
  } else {
    for (int64_t i = 0; i < top.size(0); ++i)
      a.closest.emplace_back(labels_[index[i].item<int64_t>()], top[i].item<float>());
  }
  return a;
}

nlohmann::json Answer::to_json(const std::string& question, float threshold) const {
  nlohmann::json out = {{"question", question},
                        {"intent", intent},
                        {"confidence", confidence},
                        {"threshold", threshold},
                        {"sure", sure}};
  if (sure) {
    out["answer"] = answer;
  } else {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& [name, p] : closest) list.push_back({{"intent", name}, {"confidence", p}});
    out["closest"] = list;
  }
  return out;
}

std::string Answer::describe(float threshold) const {
  char line[256];
  if (sure) {
    std::snprintf(line, sizeof line, "intent   %s (%.1f%%)\nanswer   ", intent.c_str(),
                  100 * confidence);
    return line + (answer.empty() ? std::string("(no answer on file for this intent)") : answer) +
           "\n";
  }
  std::snprintf(line, sizeof line, "not sure (%.1f%%, under the %.0f%% threshold). Did you mean:\n",
                100 * confidence, 100 * threshold);
  std::string out = line;
  for (const auto& [name, p] : closest) {
    std::snprintf(line, sizeof line, "  %s (%.1f%%)\n", name.c_str(), 100 * p);
    out += line;
  }
  return out;
}

Attribution TextClassifier::explain(const std::string& text, int64_t label) {
  Encoded encoded = tokenizer_.encode(text);
  Attribution a;
  a.pieces = encoded.pieces;
  if (encoded.ids.empty()) {
    a.probability = 0;
    return a;
  }
  at::Tensor ids = on_device(pad_batch({encoded.ids}));
  at::Tensor embedded = model_->embed(ids).detach().requires_grad_(true);  // (1, L, D)
  at::Tensor log_probs = torch::log_softmax(model_->logits(embedded, ids), 1)[0];
  a.label = label >= 0 ? label : log_probs.argmax().item<int64_t>();
  if (a.label >= static_cast<int64_t>(labels_.size()))
    throw Error("explain: label index out of range");
  a.probability = std::exp(log_probs[a.label].item<float>());
  at::Tensor grad = torch::autograd::grad({log_probs[a.label]}, {embedded})[0];
  at::Tensor scores = on_cpu((grad * embedded).sum(2)[0].detach()).contiguous();  // (L)
  a.scores.assign(scores.data_ptr<float>(), scores.data_ptr<float>() + scores.numel());
  return a;
}

TextReport text_evaluate(TextClassifier& model, const TextSet& test) {
  if (test.labels.empty()) throw Error("text eval: the test data has no label column");
  if (test.label_names != model.labels())
    throw Error("text eval: the test labels are not aligned with the model's");
  TextReport r;
  r.texts = test.size();
  const auto t0 = std::chrono::steady_clock::now();
  at::Tensor probs = model.probabilities(test.texts);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.texts_per_second = seconds > 0 ? r.texts / seconds : 0.0;
  auto [top, predicted] = probs.max(1);
  r.confusion = confusion_of(predicted, test.labels, static_cast<int64_t>(model.labels().size()));
  ClassMetrics m = class_metrics(r.confusion);
  r.accuracy = m.accuracy;
  r.macro_f1 = m.macro_f1;
  r.precision = std::move(m.precision);
  r.recall = std::move(m.recall);
  r.f1 = std::move(m.f1);
  if (model.task() == TextTask::kStars)
    r.mae = mean_absolute_error(r.confusion, numeric_labels(model.labels()));
  if (model.task() == TextTask::kIntent) {
    at::Tensor sure = top >= model.threshold();
    r.not_sure_rate = 1.0 - sure.to(torch::kFloat).mean().item<double>();
    at::Tensor truth = torch::tensor(test.labels, torch::kLong);
    const double n_sure = sure.sum().item<double>();
    r.accuracy_when_sure =
        n_sure > 0 ? ((predicted == truth) & sure).sum().item<double>() / n_sure : 0.0;
  }
  return r;
}

nlohmann::json TextReport::to_json(const std::vector<std::string>& labels) const {
  nlohmann::json per_label = nlohmann::json::array();
  for (size_t c = 0; c < labels.size(); ++c) {
    per_label.push_back(
        {{"label", labels[c]}, {"precision", precision[c]}, {"recall", recall[c]}, {"f1", f1[c]}});
  }
  nlohmann::json out = {{"texts", texts},         {"accuracy", accuracy},
                        {"macro_f1", macro_f1},   {"texts_per_second", texts_per_second},
                        {"per_label", per_label}, {"confusion", confusion}};
  if (mae >= 0) out["mae"] = mae;
  if (not_sure_rate >= 0) {
    out["not_sure_rate"] = not_sure_rate;
    out["accuracy_when_sure"] = accuracy_when_sure;
  }
  return out;
}

Attribution TextClassifier::explain(const std::string& text, const std::string& label) {
  if (label.empty()) return explain(text, int64_t{-1});
  const auto it = std::find(labels().begin(), labels().end(), label);
  if (it == labels().end()) throw Error("--label: '" + label + "' is not a label of this model");
  return explain(text, static_cast<int64_t>(it - labels().begin()));
}

nlohmann::json Attribution::tokens_json() const {
  nlohmann::json tokens = nlohmann::json::array();
  for (size_t i = 0; i < pieces.size(); ++i)
    tokens.push_back({{"token", pieces[i]}, {"score", scores.empty() ? 0.0f : scores[i]}});
  return tokens;
}

std::string Attribution::describe(const std::string& label_name) const {
  float scale = 0;
  for (float s : scores) scale = std::max(scale, std::abs(s));
  // ANSI colour by the score relative to the largest magnitude.
  auto colour = [&](float score) {
    const float s = scale > 0 ? score / scale : 0;
    if (s > 0.5f) return "\033[1;42;30m";
    if (s > 0.15f) return "\033[32m";
    if (s < -0.5f) return "\033[1;41;30m";
    if (s < -0.15f) return "\033[31m";
    return "";
  };
  TextOut out;
  out.add("%s (%.1f%%): ", label_name.c_str(), 100 * probability);
  for (size_t i = 0; i < pieces.size(); ++i) {
    const char* c = colour(scores.empty() ? 0 : scores[i]);
    out.add("%s%s%s ", c, pieces[i].c_str(), *c ? "\033[0m" : "");
  }
  out.add("\n(green: for the label, red: against it)\n");
  return out.s;
}

std::string TextReport::describe(const std::vector<std::string>& labels) const {
  TextOut out;
  out.add("accuracy %.4f  macro-F1 %.4f", accuracy, macro_f1);
  if (mae >= 0) out.add("  MAE %.4f stars", mae);
  if (not_sure_rate >= 0) {
    out.add("  not sure %.1f%% (accuracy when sure %.4f)", 100 * not_sure_rate, accuracy_when_sure);
  }
  out.add("  (%lld texts, %.0f texts/s)\n", static_cast<long long>(texts), texts_per_second);
  out.add("  %-28s %9s %9s %9s\n", "label", "precision", "recall", "F1");
  for (size_t c = 0; c < labels.size(); ++c)
    out.add("  %-28s %9.4f %9.4f %9.4f\n", labels[c].c_str(), precision[c], recall[c], f1[c]);
  return out.s;
}

nlohmann::json TextClassifier::predict_json(const std::vector<std::string>& texts) {
  at::Tensor probs = probabilities(texts);
  auto [top, label] = probs.max(1);
  const bool stars = task() == TextTask::kStars;
  const at::Tensor expected = stars ? expected_stars(probs) : at::Tensor();
  nlohmann::json out = nlohmann::json::array();
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto row = static_cast<int64_t>(i);
    nlohmann::json item = {{"text", texts[i]},
                           {"label", labels()[label[row].item<int64_t>()]},
                           {"label_name", display_labels_[label[row].item<int64_t>()]},
                           {"probability", top[row].item<float>()}};
    if (stars) item["expected_stars"] = expected[row].item<double>();
    out.push_back(item);
  }
  return out;
}

}  // namespace deepcart::text
