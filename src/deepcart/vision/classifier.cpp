#include "deepcart/vision/classifier.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "deepcart/core/error.h"
#include "deepcart/data/idx.h"

namespace deepcart::vision {
namespace {

at::Tensor to_unit(const at::Tensor& images) { return images.to(torch::kFloat).div_(255.0); }

class ClassifierTask : public TrainTask {
 public:
  ClassifierTask(Cnn model, at::Tensor train_x, at::Tensor train_y, at::Tensor valid_x,
                 at::Tensor valid_y, at::Tensor mean, at::Tensor std, Augment augment,
                 double smoothing)
      : model_(std::move(model)), train_x_(std::move(train_x)), train_y_(std::move(train_y)),
        valid_x_(std::move(valid_x)), valid_y_(std::move(valid_y)), mean_(std::move(mean)),
        std_(std::move(std)), augment_(augment), smoothing_(smoothing) {}

  torch::nn::Module& module() override { return *model_; }
  int64_t train_size() const override { return train_x_.size(0); }

  at::Tensor loss(const at::Tensor& indices, std::mt19937_64& rng) override {
    at::Tensor x = augment_batch(to_unit(train_x_.index_select(0, indices)), augment_, rng);
    at::Tensor logits = model_->forward((x - mean_) / std_);  // (B, classes)
    return torch::nn::functional::cross_entropy(
        logits, train_y_.index_select(0, indices),
        torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(smoothing_));
  }

  std::map<std::string, double> validate() override {
    int64_t correct = 0;
    double loss = 0;
    for (int64_t b = 0; b < valid_x_.size(0); b += 1000) {
      at::Tensor x = normalise(valid_x_.slice(0, b, b + 1000), mean_, std_);
      at::Tensor y = valid_y_.slice(0, b, b + 1000);
      at::Tensor logits = model_->forward(x);
      correct += (logits.argmax(1) == y).sum().item<int64_t>();
      loss += torch::cross_entropy_loss(logits, y, {}, at::Reduction::Sum).item<double>();
    }
    const double n = static_cast<double>(valid_x_.size(0));
    return {{"accuracy", correct / n}, {"loss", loss / n}};
  }

 private:
  Cnn model_;
  at::Tensor train_x_, train_y_, valid_x_, valid_y_, mean_, std_;
  Augment augment_;
  double smoothing_;
};

}  // namespace

ImageSet image_set_named(const std::string& name, const std::string& split) {
  if (name != "fashion-mnist") {
    throw Error("--data: expected fashion-mnist (folders and manifests are not supported yet), found '" +
                name + "'");
  }
  data::IdxImages idx = data::fashion_mnist(split);
  ImageSet set;
  set.images = torch::from_blob(idx.pixels.data(), {idx.count, 1, idx.rows, idx.cols}, torch::kUInt8).clone();
  set.labels = torch::from_blob(idx.labels.data(), {idx.count}, torch::kUInt8).to(torch::kLong);
  set.classes = data::fashion_mnist_classes();
  return set;
}

at::Tensor augment_batch(const at::Tensor& images, const Augment& a, std::mt19937_64& rng) {
  at::Tensor out = images;
  const int64_t b = images.size(0), h = images.size(2), w = images.size(3);
  if (a.pad_crop > 0) {
    const int64_t p = a.pad_crop;
    at::Tensor padded = torch::constant_pad_nd(images, {p, p, p, p}, 0.0);  // (B, C, H+2p, W+2p)
    out = torch::empty_like(images);
    // Images are grouped by their (dy, dx) shift: (2p + 1)^2 slice copies per batch instead of
    // one per image.
    std::uniform_int_distribution<int64_t> shift(0, 2 * p);
    std::vector<std::vector<int64_t>> groups((2 * p + 1) * (2 * p + 1));
    for (int64_t i = 0; i < b; ++i) {
      const int64_t dy = shift(rng), dx = shift(rng);
      groups[dy * (2 * p + 1) + dx].push_back(i);
    }
    for (size_t g = 0; g < groups.size(); ++g) {
      if (groups[g].empty()) continue;
      const int64_t dy = static_cast<int64_t>(g) / (2 * p + 1), dx = static_cast<int64_t>(g) % (2 * p + 1);
      at::Tensor idx = torch::tensor(groups[g], torch::kLong);
      out.index_copy_(0, idx, padded.index_select(0, idx).narrow(2, dy, h).narrow(3, dx, w));
    }
  }
  if (a.flip) {
    std::vector<int64_t> flip;
    std::bernoulli_distribution coin(0.5);
    for (int64_t i = 0; i < b; ++i) {
      if (coin(rng)) flip.push_back(i);
    }
    if (!flip.empty()) {
      at::Tensor idx = torch::tensor(flip, torch::kLong);
      out = out.clone();
      out.index_copy_(0, idx, out.index_select(0, idx).flip({3}));
    }
  }
  if (a.erase > 0) {
    std::bernoulli_distribution coin(a.erase);
    std::uniform_int_distribution<int64_t> side(h / 8, h / 2), y0(0, h - 1), x0(0, w - 1);
    if (out.data_ptr() == images.data_ptr()) out = out.clone();
    for (int64_t i = 0; i < b; ++i) {
      if (!coin(rng)) continue;
      const int64_t eh = side(rng), ew = side(rng);
      const int64_t y = std::min(y0(rng), h - eh), x = std::min(x0(rng), w - ew);
      out[i].narrow(1, y, eh).narrow(2, x, ew).zero_();
    }
  }
  return out;
}

at::Tensor normalise(const at::Tensor& images, const at::Tensor& mean, const at::Tensor& std) {
  return (to_unit(images) - mean) / std;
}

VisionTrainOutput vision_train(const ImageSet& train, VisionTrainConfig config) {
  if (config.arch != "cnn") throw Error("--model: expected cnn, found '" + config.arch + "'");
  const int64_t n = train.size();
  if (config.valid_count < 1 || config.valid_count >= n) {
    throw Error("--valid: expected between 1 and " + std::to_string(n - 1) + " images");
  }
  // A seeded permutation: the last valid_count images are the validation part.
  torch::manual_seed(config.train.seed);
  at::Tensor order = torch::randperm(n, torch::kLong);
  at::Tensor train_idx = order.slice(0, 0, n - config.valid_count);
  at::Tensor valid_idx = order.slice(0, n - config.valid_count);
  at::Tensor train_x = train.images.index_select(0, train_idx);
  at::Tensor pixels = to_unit(train_x);
  const int64_t channels = train.images.size(1);
  at::Tensor mean = pixels.mean({0, 2, 3}).reshape({1, channels, 1, 1});
  at::Tensor std = pixels.std({0, 2, 3}).reshape({1, channels, 1, 1});

  nlohmann::json hp = config.hparams;
  hp["channels"] = channels;
  hp["size"] = train.images.size(2);
  hp["classes"] = static_cast<int64_t>(train.classes.size());
  CnnOptions options = hp.get<CnnOptions>();
  Cnn model(options);

  VisionTrainOutput out;
  ModelFile& file = out.model;
  file.task = "vision";
  file.arch = config.arch;
  file.hparams = options;
  file.meta = {{"classes", train.classes},
               {"mean", std::vector<float>(mean.data_ptr<float>(), mean.data_ptr<float>() + channels)},
               {"std", std::vector<float>(std.data_ptr<float>(), std.data_ptr<float>() + channels)},
               {"augment", config.augment},
               {"label_smoothing", config.label_smoothing},
               {"valid_count", config.valid_count},
               {"seed", config.train.seed}};
  if (config.train.monitor.empty()) config.train.monitor = "accuracy";
  ClassifierTask task(model, train_x, train.labels.index_select(0, train_idx),
                      train.images.index_select(0, valid_idx), train.labels.index_select(0, valid_idx),
                      mean, std, config.augment, config.label_smoothing);
  out.result = Trainer(config.train).fit(task, file);
  file.add_module("model/", *model);
  file.metrics = out.result.to_json();
  return out;
}

ImageClassifier::ImageClassifier(ModelFile file) : file_(std::move(file)) {
  if (file_.task != "vision") {
    throw Error(file_.source + ": expected a 'vision' model, found '" + file_.task + "'");
  }
  model_ = Cnn(file_.hparams.get<CnnOptions>());
  file_.load_module("model/", *model_);
  model_->eval();
  model_->fuse_batchnorm();
  classes_ = file_.meta.at("classes").get<std::vector<std::string>>();
  const auto mean = file_.meta.at("mean").get<std::vector<float>>();
  const auto std = file_.meta.at("std").get<std::vector<float>>();
  const int64_t c = static_cast<int64_t>(mean.size());
  mean_ = torch::tensor(mean).reshape({1, c, 1, 1});
  std_ = torch::tensor(std).reshape({1, c, 1, 1});
}

ImageClassifier ImageClassifier::load(const std::string& path) {
  return ImageClassifier(model_file_read(path, "vision"));
}

at::Tensor ImageClassifier::probabilities(const at::Tensor& images, int64_t batch) {
  const auto& o = model_->options();
  TORCH_CHECK(images.dim() == 4 && images.size(1) == o.channels && images.size(2) == o.size &&
                  images.size(3) == o.size,
              "images: expected (B, ", o.channels, ", ", o.size, ", ", o.size, "), got ", images.sizes());
  c10::InferenceMode guard;
  std::vector<at::Tensor> parts;
  for (int64_t b = 0; b < images.size(0); b += batch) {
    parts.push_back(torch::softmax(model_->forward(normalise(images.slice(0, b, b + batch), mean_, std_)), 1));
  }
  return torch::cat(parts);
}

VisionReport vision_evaluate(ImageClassifier& model, const ImageSet& test) {
  const int64_t classes = static_cast<int64_t>(model.classes().size());
  const auto t0 = std::chrono::steady_clock::now();
  at::Tensor probs = model.probabilities(test.images);  // (N, classes)
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto [confidence, predicted] = probs.max(1);
  VisionReport r;
  r.confusion.assign(classes, std::vector<int64_t>(classes, 0));
  auto p = predicted.accessor<int64_t, 1>();
  auto y = test.labels.accessor<int64_t, 1>();
  auto conf = confidence.accessor<float, 1>();
  const int64_t n = test.size();
  int64_t correct = 0;
  // Expected calibration error over 15 equal-width confidence bins.
  constexpr int kBins = 15;
  std::vector<double> bin_conf(kBins, 0), bin_acc(kBins, 0), bin_n(kBins, 0);
  for (int64_t i = 0; i < n; ++i) {
    ++r.confusion[y[i]][p[i]];
    const bool hit = p[i] == y[i];
    correct += hit;
    const int bin = std::min(kBins - 1, static_cast<int>(conf[i] * kBins));
    bin_conf[bin] += conf[i];
    bin_acc[bin] += hit;
    bin_n[bin] += 1;
  }
  for (int b = 0; b < kBins; ++b) r.ece += std::abs(bin_acc[b] - bin_conf[b]) / n;
  r.accuracy = static_cast<double>(correct) / n;
  r.images_per_second = seconds > 0 ? n / seconds : 0.0;
  for (int64_t c = 0; c < classes; ++c) {
    int64_t tp = r.confusion[c][c], predicted_c = 0, actual_c = 0;
    for (int64_t k = 0; k < classes; ++k) {
      predicted_c += r.confusion[k][c];
      actual_c += r.confusion[c][k];
    }
    const double prec = predicted_c ? static_cast<double>(tp) / predicted_c : 0.0;
    const double rec = actual_c ? static_cast<double>(tp) / actual_c : 0.0;
    r.precision.push_back(prec);
    r.recall.push_back(rec);
    r.f1.push_back(prec + rec > 0 ? 2 * prec * rec / (prec + rec) : 0.0);
  }
  r.macro_f1 = std::accumulate(r.f1.begin(), r.f1.end(), 0.0) / classes;
  return r;
}

nlohmann::json VisionReport::to_json(const std::vector<std::string>& classes) const {
  nlohmann::json per_class = nlohmann::json::array();
  for (size_t c = 0; c < classes.size(); ++c) {
    per_class.push_back({{"class", classes[c]}, {"precision", precision[c]}, {"recall", recall[c]}, {"f1", f1[c]}});
  }
  return {{"accuracy", accuracy}, {"macro_f1", macro_f1}, {"ece", ece},
          {"images_per_second", images_per_second},
          {"per_class", per_class}, {"confusion", confusion}};
}

}  // namespace deepcart::vision
