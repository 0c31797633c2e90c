#include "deepcart/vision/classifier.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "deepcart/core/device.h"
#include "deepcart/core/error.h"
#include "deepcart/core/metrics.h"
#include "deepcart/core/text_out.h"

namespace deepcart::vision {
namespace {

at::Tensor to_unit(const at::Tensor& images) { return images.to(torch::kFloat).div_(255.0); }

std::vector<float> column(const at::Tensor& matrix, int64_t j) {
  at::Tensor c = matrix.select(1, j).to(torch::kFloat).contiguous();
  return {c.data_ptr<float>(), c.data_ptr<float>() + c.numel()};
}

// Mean average precision over attribute columns that have at least one positive.
double mean_average_precision(const at::Tensor& probabilities, const at::Tensor& truth,
                              std::vector<double>* per_attribute = nullptr) {
  double sum = 0;
  int64_t counted = 0;
  for (int64_t j = 0; j < truth.size(1); ++j) {
    const double ap = average_precision(column(probabilities, j), column(truth, j));
    if (per_attribute) per_attribute->push_back(ap);
    if (truth.select(1, j).sum().item<float>() > 0) {
      sum += ap;
      ++counted;
    }
  }
  return counted ? sum / counted : 0.0;
}

class ClassifierTask : public TrainTask {
 public:
  ClassifierTask(VisionNet model, ImageSet train, ImageSet valid, at::Tensor mean, at::Tensor std,
                 Augment augment, double smoothing)
      : model_(std::move(model)),
        train_(std::move(train)),
        valid_(std::move(valid)),
        mean_(on_device(mean)),
        std_(on_device(std)),
        augment_(augment),
        smoothing_(smoothing) {}

  torch::nn::Module& module() override { return *model_; }
  int64_t train_size() const override { return train_.size(); }

  at::Tensor loss(const at::Tensor& indices, std::mt19937_64& rng) override {
    // Augmented on the CPU (its random draws stay reproducible), then moved.
    at::Tensor x =
        on_device(augment_batch(to_unit(train_.images.index_select(0, indices)), augment_, rng));
    VisionOutput out =
        model_->forward(((x - mean_) / std_).contiguous(at::MemoryFormat::ChannelsLast));
    at::Tensor loss = torch::nn::functional::cross_entropy(
        out.logits, on_device(train_.labels.index_select(0, indices)),
        torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(smoothing_));
    if (out.attribute_logits.defined()) {
      loss =
          loss + torch::binary_cross_entropy_with_logits(
                     out.attribute_logits, on_device(train_.attributes.index_select(0, indices)));
    }
    return loss;
  }

  std::map<std::string, double> validate() override {
    auto [probabilities, attribute_probabilities] = valid_predictions();
    std::map<std::string, double> m;
    const double n = static_cast<double>(valid_.size());
    m["accuracy"] = (probabilities.argmax(1) == valid_.labels).sum().item<double>() / n;
    m["loss"] = torch::nll_loss(probabilities.clamp_min(1e-12).log(), valid_.labels).item<double>();
    if (attribute_probabilities.defined()) {
      m["attribute_map"] = mean_average_precision(attribute_probabilities, valid_.attributes);
    }
    return m;
  }

  // Class and attribute probabilities on the validation images, in eval mode.
  std::pair<at::Tensor, at::Tensor> valid_predictions() {
    torch::NoGradGuard no_grad;
    const bool was_training = model_->is_training();
    model_->eval();
    std::vector<at::Tensor> probs, attrs;
    for (int64_t b = 0; b < valid_.size(); b += 500) {
      VisionOutput out =
          model_->forward(normalise(on_device(valid_.images.slice(0, b, b + 500)), mean_, std_));
      probs.push_back(on_cpu(torch::softmax(out.logits.to(torch::kFloat), 1)));
      if (out.attribute_logits.defined())
        attrs.push_back(on_cpu(torch::sigmoid(out.attribute_logits.to(torch::kFloat))));
    }
    model_->train(was_training);
    return {torch::cat(probs), attrs.empty() ? at::Tensor() : torch::cat(attrs)};
  }

  const ImageSet& valid() const { return valid_; }

 private:
  VisionNet model_;
  ImageSet train_, valid_;
  at::Tensor mean_, std_;
  Augment augment_;
  double smoothing_;
};

}  // namespace

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
      const int64_t dy = static_cast<int64_t>(g) / (2 * p + 1),
                    dx = static_cast<int64_t>(g) % (2 * p + 1);
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
    std::uniform_int_distribution<int64_t> side_h(h / 8, h / 2), side_w(w / 8, w / 2), y0(0, h - 1),
        x0(0, w - 1);
    if (out.data_ptr() == images.data_ptr()) out = out.clone();
    for (int64_t i = 0; i < b; ++i) {
      if (!coin(rng)) continue;
      const int64_t eh = side_h(rng), ew = side_w(rng);
      const int64_t y = std::min(y0(rng), h - eh), x = std::min(x0(rng), w - ew);
      out[i].narrow(1, y, eh).narrow(2, x, ew).zero_();
    }
  }
  return out;
}

at::Tensor normalise(const at::Tensor& images, const at::Tensor& mean, const at::Tensor& std) {
  return ((to_unit(images) - mean) / std).contiguous(at::MemoryFormat::ChannelsLast);
}

std::vector<float> tune_thresholds(const at::Tensor& probabilities, const at::Tensor& truth) {
  std::vector<float> thresholds;
  for (int64_t j = 0; j < truth.size(1); ++j) {
    const std::vector<float> p = column(probabilities, j), y = column(truth, j);
    float best = 0.5f;
    double best_f1 = -1;
    for (int step = 1; step < 100; ++step) {
      const float t = step / 100.0f;
      double tp = 0, fp = 0, fn = 0;
      for (size_t i = 0; i < p.size(); ++i) {
        const bool predicted = p[i] >= t, actual = y[i] > 0.5f;
        tp += predicted && actual;
        fp += predicted && !actual;
        fn += !predicted && actual;
      }
      const double f1 = f1_from_counts(tp, fp, fn);
      if (f1 > best_f1 + 1e-12 ||
          (std::abs(f1 - best_f1) <= 1e-12 && std::abs(t - 0.5f) < std::abs(best - 0.5f))) {
        best_f1 = f1;
        best = t;
      }
    }
    thresholds.push_back(best);
  }
  return thresholds;
}

VisionTrainOutput vision_train(const ImageSet& data, TrainSpec config) {
  auto [train, valid] = hold_out(data, config.valid_count, config.train.seed);
  at::Tensor pixels = to_unit(train.images);
  const int64_t channels = data.images.size(1);
  at::Tensor mean = pixels.mean({0, 2, 3}).reshape({1, channels, 1, 1});
  at::Tensor std = pixels.std({0, 2, 3}).reshape({1, channels, 1, 1}).clamp_min(1e-3);
  pixels = at::Tensor();

  nlohmann::json hp = config.hparams;
  hp["channels"] = channels;
  hp["rows"] = data.images.size(2);
  hp["cols"] = data.images.size(3);
  hp["classes"] = static_cast<int64_t>(data.classes.size());
  hp["attributes"] = data.has_attributes() ? static_cast<int64_t>(data.attribute_names.size()) : 0;
  VisionOptions options = hp.get<VisionOptions>();
  if (options.arch == "resnet" && options.width < 8) {
    // Found by the reference tests (bench/RESULTS.md): oneDNN's float32 weight gradient of a 1x1
    // stride-2 convolution on channels-last input with under 8 input channels is wrong on AVX2
    // CPUs, and ResNet's projection shortcuts are such convolutions below width 8.
    throw Error(
        "--width: resnet needs at least 8 filters; below 8 the CPU convolution library "
        "(oneDNN) computes wrong gradients for its shortcuts, found " +
        std::to_string(options.width));
  }
  torch::manual_seed(config.train.seed);
  VisionNet model(options);

  VisionTrainOutput out;
  ModelFile& file = out.model;
  file = ModelFile::create(
      "vision", options.arch, options,
      {{"classes", data.classes},
       {"attributes", data.has_attributes() ? data.attribute_names : std::vector<std::string>{}},
       {"mean", std::vector<float>(mean.data_ptr<float>(), mean.data_ptr<float>() + channels)},
       {"std", std::vector<float>(std.data_ptr<float>(), std.data_ptr<float>() + channels)},
       {"augment", config.augment},
       {"label_smoothing", config.label_smoothing},
       {"valid_count", config.valid_count},
       {"seed", config.train.seed}});
  if (config.train.monitor.empty()) config.train.monitor = "accuracy";
  ClassifierTask task(model, std::move(train), std::move(valid), mean, std, config.augment,
                      config.label_smoothing);
  out.result = Trainer(config.train).fit(task, file);
  if (options.attributes > 0) {
    // Thresholds are tuned on validation images only; the test split never sets them.
    auto [probabilities, attribute_probabilities] = task.valid_predictions();
    file.meta["thresholds"] = tune_thresholds(attribute_probabilities, task.valid().attributes);
  }
  file.add_module("model/", *model);
  file.metrics = out.result.to_json();
  return out;
}

ImageClassifier::ImageClassifier(ModelFile file, bool fuse) : file_(std::move(file)) {
  file_.expect_task("vision");
  file_.checked_load([this, fuse] {
    const auto o = hparams_as<VisionOptions>(file_.hparams, "vision model");
    // Requests are resized to rows x cols: those bound the memory of every prediction.
    if (o.channels != 1 && o.channels != 3)
      throw Error("hyper-parameter 'channels': expected 1 or 3, found " +
                  std::to_string(o.channels));
    if (o.rows < 1 || o.rows > 2048 || o.cols < 1 || o.cols > 2048) {
      throw Error("hyper-parameters 'rows' and 'cols': expected 1 to 2048, found " +
                  std::to_string(o.rows) + " x " + std::to_string(o.cols));
    }
    classes_ = file_.meta.at("classes").get<std::vector<std::string>>();
    attributes_ = file_.meta.value("attributes", std::vector<std::string>{});
    thresholds_ = file_.meta.value("thresholds", std::vector<float>(attributes_.size(), 0.5f));
    if (static_cast<int64_t>(classes_.size()) != o.classes || o.classes < 1) {
      throw Error("metadata 'classes': " + std::to_string(classes_.size()) + " names for " +
                  std::to_string(o.classes) + " classes");
    }
    if (static_cast<int64_t>(attributes_.size()) != o.attributes ||
        thresholds_.size() != attributes_.size()) {
      throw Error("metadata 'attributes': " + std::to_string(attributes_.size()) + " names and " +
                  std::to_string(thresholds_.size()) + " thresholds for " +
                  std::to_string(o.attributes) + " attributes");
    }
    const auto mean = file_.meta.at("mean").get<std::vector<float>>();
    const auto std = file_.meta.at("std").get<std::vector<float>>();
    if (static_cast<int64_t>(mean.size()) != o.channels || std.size() != mean.size()) {
      throw Error("metadata 'mean' and 'std': expected " + std::to_string(o.channels) +
                  " values each, found " + std::to_string(mean.size()) + " and " +
                  std::to_string(std.size()));
    }
    model_ = VisionNet(o);
    file_.load_module("model/", *model_);
    model_->eval();
    if (fuse) model_->fuse_batchnorm();
    const int64_t c = static_cast<int64_t>(mean.size());
    model_->to(context_device());
    mean_ = on_device(torch::tensor(mean).reshape({1, c, 1, 1}));
    std_ = on_device(torch::tensor(std).reshape({1, c, 1, 1}));
  });
}

ImageClassifier ImageClassifier::load(const std::string& path) {
  return ImageClassifier(model_file_read(path, "vision"));
}

void ImageClassifier::check_shape(const at::Tensor& images) const {
  const auto& o = model_->options();
  if (images.dim() != 4 || images.size(1) != o.channels || images.size(2) != o.rows ||
      images.size(3) != o.cols) {
    std::ostringstream got;
    got << images.sizes();
    throw Error("images: expected (B, " + std::to_string(o.channels) + ", " +
                std::to_string(o.rows) + ", " + std::to_string(o.cols) + "), found " + got.str());
  }
}

Prediction ImageClassifier::predict(const at::Tensor& images, int64_t batch) {
  check_shape(images);
  c10::InferenceMode guard;
  std::vector<at::Tensor> probs, attrs;
  for (int64_t b = 0; b < images.size(0); b += batch) {
    VisionOutput out =
        model_->forward(normalise(on_device(images.slice(0, b, b + batch)), mean_, std_));
    probs.push_back(on_cpu(torch::softmax(out.logits.to(torch::kFloat), 1)));
    if (out.attribute_logits.defined())
      attrs.push_back(on_cpu(torch::sigmoid(out.attribute_logits.to(torch::kFloat))));
  }
  return {torch::cat(probs), attrs.empty() ? at::Tensor() : torch::cat(attrs)};
}

at::Tensor ImageClassifier::embeddings(const at::Tensor& images, int64_t batch) {
  check_shape(images);
  c10::InferenceMode guard;
  std::vector<at::Tensor> parts;
  for (int64_t b = 0; b < images.size(0); b += batch) {
    at::Tensor e = model_->embed(normalise(on_device(images.slice(0, b, b + batch)), mean_, std_));
    parts.push_back(on_cpu(torch::nn::functional::normalize(
        e.to(torch::kFloat), torch::nn::functional::NormalizeFuncOptions().dim(1))));
  }
  return torch::cat(parts);
}

at::Tensor ImageClassifier::grad_cam(const at::Tensor& image, int64_t class_index) {
  check_shape(image);
  if (class_index < 0 || class_index >= static_cast<int64_t>(classes_.size())) {
    throw Error("grad-cam: class index " + std::to_string(class_index) + " out of range");
  }
  at::Tensor map = model_->feature_map(normalise(on_device(image.slice(0, 0, 1)), mean_, std_))
                       .detach()
                       .requires_grad_(true);
  at::Tensor score = model_->heads(map).logits[0][class_index];
  at::Tensor grad = torch::autograd::grad({score}, {map})[0];                  // (1, F, h, w)
  at::Tensor cam = torch::relu((grad.mean({2, 3}, true) * map).sum(1, true));  // (1, 1, h, w)
  cam = torch::nn::functional::interpolate(
      cam.detach(), torch::nn::functional::InterpolateFuncOptions()
                        .size(std::vector<int64_t>{image.size(2), image.size(3)})
                        .mode(torch::kBilinear)
                        .align_corners(false));
  cam = on_cpu(cam[0][0]);
  const float top = cam.max().item<float>();
  return top > 0 ? cam / top : cam;
}

nlohmann::json ImageClassifier::sheet(const Prediction& p, int64_t row, int64_t top) const {
  at::Tensor probs = p.probabilities[row];
  auto [values, indices] = probs.topk(std::min<int64_t>(top, probs.size(0)));
  nlohmann::json ranked = nlohmann::json::array();
  for (int64_t i = 0; i < values.size(0); ++i) {
    ranked.push_back({{"category", classes_[indices[i].item<int64_t>()]},
                      {"probability", values[i].item<float>()}});
  }
  nlohmann::json attributes = nlohmann::json::array();
  if (p.attribute_probabilities.defined()) {
    at::Tensor a = p.attribute_probabilities[row];
    std::vector<int64_t> order(attributes_.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(),
              [&](int64_t x, int64_t y) { return a[x].item<float>() > a[y].item<float>(); });
    for (int64_t j : order) {
      const float confidence = a[j].item<float>();
      attributes.push_back({{"attribute", attributes_[j]},
                            {"confidence", confidence},
                            {"present", confidence >= thresholds_[j]},
                            {"threshold", thresholds_[j]}});
    }
  }
  return {{"category", ranked[0]["category"]},
          {"confidence", ranked[0]["probability"]},
          {"top", ranked},
          {"attributes", attributes}};
}

VisionReport vision_evaluate(ImageClassifier& model, const ImageSet& test_in) {
  ImageSet test = test_in;
  align_to(test, model.classes(),
           test.has_attributes() ? model.attributes() : test.attribute_names);
  const int64_t classes = static_cast<int64_t>(model.classes().size());
  const auto t0 = std::chrono::steady_clock::now();
  Prediction prediction = model.predict(test.images);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto [confidence, predicted] = prediction.probabilities.max(1);
  VisionReport r;
  r.confusion.assign(classes, std::vector<int64_t>(classes, 0));
  auto p = predicted.accessor<int64_t, 1>();
  auto y = test.labels.accessor<int64_t, 1>();
  auto conf = confidence.accessor<float, 1>();
  const int64_t n = test.size();
  // Expected calibration error over 15 equal-width confidence bins.
  constexpr int kBins = 15;
  std::vector<double> bin_conf(kBins, 0), bin_acc(kBins, 0);
  for (int64_t i = 0; i < n; ++i) {
    ++r.confusion[y[i]][p[i]];
    const bool hit = p[i] == y[i];
    const int bin = std::min(kBins - 1, static_cast<int>(conf[i] * kBins));
    bin_conf[bin] += conf[i];
    bin_acc[bin] += hit;
  }
  for (int b = 0; b < kBins; ++b) r.ece += std::abs(bin_acc[b] - bin_conf[b]) / n;
  r.images_per_second = seconds > 0 ? n / seconds : 0.0;
  ClassMetrics m = class_metrics(r.confusion);
  r.accuracy = m.accuracy;
  r.macro_f1 = m.macro_f1;
  r.precision = std::move(m.precision);
  r.recall = std::move(m.recall);
  r.f1 = std::move(m.f1);

  if (prediction.attribute_probabilities.defined() && test.has_attributes()) {
    r.has_attributes = true;
    const at::Tensor& probs = prediction.attribute_probabilities;
    r.attribute_map = mean_average_precision(probs, test.attributes, &r.attribute_ap);
    double tp_all = 0, fp_all = 0, fn_all = 0;
    for (int64_t j = 0; j < probs.size(1); ++j) {
      at::Tensor predicted_j = probs.select(1, j) >= model.thresholds()[j];
      at::Tensor actual_j = test.attributes.select(1, j) > 0.5;
      const double tp = (predicted_j & actual_j).sum().item<double>();
      const double fp = (predicted_j & ~actual_j).sum().item<double>();
      const double fn = (~predicted_j & actual_j).sum().item<double>();
      r.attribute_f1.push_back(f1_from_counts(tp, fp, fn));
      tp_all += tp;
      fp_all += fp;
      fn_all += fn;
    }
    r.attribute_micro_f1 = f1_from_counts(tp_all, fp_all, fn_all);
    r.attribute_macro_f1 = std::accumulate(r.attribute_f1.begin(), r.attribute_f1.end(), 0.0) /
                           static_cast<double>(r.attribute_f1.size());
  }
  return r;
}

nlohmann::json VisionReport::to_json(const std::vector<std::string>& classes,
                                     const std::vector<std::string>& attributes) const {
  nlohmann::json per_class = nlohmann::json::array();
  for (size_t c = 0; c < classes.size(); ++c) {
    per_class.push_back(
        {{"class", classes[c]}, {"precision", precision[c]}, {"recall", recall[c]}, {"f1", f1[c]}});
  }
  nlohmann::json out = {{"accuracy", accuracy},
                        {"macro_f1", macro_f1},
                        {"ece", ece},
                        {"images_per_second", images_per_second},
                        {"per_class", per_class},
                        {"confusion", confusion}};
  if (has_attributes) {
    nlohmann::json per_attribute = nlohmann::json::array();
    for (size_t j = 0; j < attributes.size(); ++j) {
      per_attribute.push_back(
          {{"attribute", attributes[j]}, {"ap", attribute_ap[j]}, {"f1", attribute_f1[j]}});
    }
    out["attributes"] = {{"map", attribute_map},
                         {"micro_f1", attribute_micro_f1},
                         {"macro_f1", attribute_macro_f1},
                         {"per_attribute", per_attribute}};
  }
  return out;
}

std::string VisionReport::describe(const std::vector<std::string>& classes,
                                   const std::vector<std::string>& attributes,
                                   const std::vector<float>& thresholds) const {
  TextOut out;
  out.add("accuracy %.4f  macro-F1 %.4f  ECE %.4f  (%.0f images/s)\n", accuracy, macro_f1, ece,
          images_per_second);
  out.add("  %-20s %9s %9s %9s\n", "category", "precision", "recall", "F1");
  for (size_t c = 0; c < classes.size(); ++c)
    out.add("  %-20s %9.4f %9.4f %9.4f\n", classes[c].c_str(), precision[c], recall[c], f1[c]);
  if (!has_attributes) return out.s;
  out.add("attributes: mAP %.4f  micro-F1 %.4f  macro-F1 %.4f (thresholds tuned on validation)\n",
          attribute_map, attribute_micro_f1, attribute_macro_f1);
  for (size_t j = 0; j < attributes.size(); ++j) {
    out.add("  %-20s AP %.4f  F1 %.4f  threshold %.2f\n", attributes[j].c_str(), attribute_ap[j],
            attribute_f1[j], thresholds[j]);
  }
  return out.s;
}

at::Tensor ImageClassifier::read_images(const std::vector<std::string>& refs) const {
  const VisionOptions& o = options();
  std::vector<at::Tensor> batch;
  for (const auto& ref : refs) batch.push_back(read_query_image(ref, o.channels, o.rows, o.cols));
  return torch::cat(batch);
}

std::string describe_sheet(const std::string& name, const nlohmann::json& sheet) {
  TextOut out;
  out.add("%s\n  category    %s (%.1f%%)\n  top         ", name.c_str(),
          sheet["category"].get<std::string>().c_str(), 100 * sheet["confidence"].get<double>());
  for (size_t i = 0; i < sheet["top"].size(); ++i) {
    out.add("%s%s %.1f%%", i ? ", " : "", sheet["top"][i]["category"].get<std::string>().c_str(),
            100 * sheet["top"][i]["probability"].get<double>());
  }
  out.add("\n");
  if (!sheet["attributes"].empty()) {
    out.add("  attributes  ");
    bool any = false;
    for (const auto& a : sheet["attributes"]) {
      if (!a["present"].get<bool>()) continue;
      out.add("%s%s %.1f%%", any ? ", " : "", a["attribute"].get<std::string>().c_str(),
              100 * a["confidence"].get<double>());
      any = true;
    }
    out.add("%s\n", any ? "" : "(none above its threshold)");
  }
  return out.s;
}

}  // namespace deepcart::vision
