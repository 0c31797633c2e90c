#include "deepcart/serve/models.h"

#include <torch/torch.h>

#include <ctime>
#include <thread>

#include "deepcart/core/model_file.h"
#include "deepcart/rec/recommender.h"
#include "deepcart/serve/http_error.h"
#include "deepcart/text/classifier.h"
#include "deepcart/vision/classifier.h"
#include "deepcart/vision/similar.h"

namespace deepcart::serve {
namespace {

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

std::string kind_name(ModelKind kind) {
  switch (kind) {
    case ModelKind::kRecommender:
      return "recommend";
    case ModelKind::kImages:
      return "images";
    case ModelKind::kImageIndex:
      return "image-index";
    case ModelKind::kReviews:
      return "reviews";
    case ModelKind::kStars:
      return "stars";
    case ModelKind::kQuestions:
      return "questions";
  }
  return "?";
}

nlohmann::json LoadedModel::describe() const {
  return {{"name", name},           {"task", kind_name(kind)},      {"model_task", task},
          {"architecture", arch},   {"version", version},           {"path", path},
          {"loaded_at", loaded_at}, {"load_seconds", load_seconds}, {"metrics", metrics}};
}

std::shared_ptr<LoadedModel> ModelRegistry::build(const std::string& name,
                                                  const std::string& path) const {
  const auto t0 = std::chrono::steady_clock::now();
  auto m = std::make_shared<LoadedModel>();
  m->name = name;
  m->path = path;
  ModelFile file = model_file_read(path);
  if (file.checkpoint) throw Error(path + ": is a training checkpoint, not a final model");
  m->task = file.task;
  m->arch = file.arch;
  m->metrics = file.metrics;
  Metrics& metrics = metrics_;
  auto count_batch = [&metrics, name](int64_t items) { metrics.batch(name, items); };
  const int batch_workers =
      batch_.workers > 0 ? batch_.workers
                         : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  if (file.task == "rec") {
    m->kind = ModelKind::kRecommender;
    m->recommender = std::make_shared<rec::Recommender>(std::move(file));
  } else if (file.task == "vision") {
    m->kind = ModelKind::kImages;
    m->fingerprint = vision::model_fingerprint(file);
    m->images = std::make_shared<vision::ImageClassifier>(std::move(file));
    auto model = m->images;
    m->image_batcher =
        std::make_shared<MicroBatcher<at::Tensor, std::pair<at::Tensor, at::Tensor>>>(
            [model](std::vector<at::Tensor>& inputs) {
              c10::InferenceMode guard;
              std::vector<int64_t> sizes;
              for (const auto& t : inputs) sizes.push_back(t.size(0));
              vision::Prediction p = model->predict(torch::cat(inputs, 0));
              std::vector<std::pair<at::Tensor, at::Tensor>> out;
              int64_t start = 0;
              for (int64_t n : sizes) {
                out.emplace_back(p.probabilities.narrow(0, start, n),
                                 p.attribute_probabilities.defined()
                                     ? p.attribute_probabilities.narrow(0, start, n)
                                     : at::Tensor());
                start += n;
              }
              return out;
            },
            [](const at::Tensor& t) { return t.size(0); }, batch_.max_items, batch_.max_delay,
            count_batch, batch_workers);
  } else if (file.task == "vision-index") {
    m->kind = ModelKind::kImageIndex;
    m->index = std::make_shared<vision::LookAlikeIndex>(vision::LookAlikeIndex::load(path));
    m->index_model = m->index->model_checksum();
  } else if (file.task == "text") {
    auto model = std::make_shared<text::TextClassifier>(std::move(file));
    m->text = model;
    switch (model->task()) {
      case text::TextTask::kSentiment:
        m->kind = ModelKind::kReviews;
        break;
      case text::TextTask::kStars:
        m->kind = ModelKind::kStars;
        break;
      case text::TextTask::kIntent:
        m->kind = ModelKind::kQuestions;
        break;
    }
    m->text_batcher = std::make_shared<MicroBatcher<std::vector<std::string>, at::Tensor>>(
        [model](std::vector<std::vector<std::string>>& inputs) {
          std::vector<std::string> all;
          for (const auto& texts : inputs) all.insert(all.end(), texts.begin(), texts.end());
          at::Tensor probs = model->probabilities(all);
          std::vector<at::Tensor> out;
          int64_t start = 0;
          for (const auto& texts : inputs) {
            const auto n = static_cast<int64_t>(texts.size());
            out.push_back(probs.narrow(0, start, n));
            start += n;
          }
          return out;
        },
        [](const std::vector<std::string>& texts) { return static_cast<int64_t>(texts.size()); },
        batch_.max_items, batch_.max_delay, count_batch, batch_workers);
  } else {
    throw Error(path + ": a '" + file.task + "' model cannot be served");
  }
  m->loaded_at = utc_now();
  m->load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return m;
}

std::shared_ptr<const LoadedModel> ModelRegistry::load(const std::string& name,
                                                       const std::string& path) {
  std::shared_ptr<LoadedModel> fresh;
  try {
    fresh = build(name, path);
  } catch (const std::exception& e) {
    metrics_.load_failure(name);
    throw HttpError(422, "model '" + name + "': " + e.what());
  }
  std::shared_ptr<const LoadedModel> old;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = models_.find(name);
    if (it != models_.end()) {
      old = it->second;
      if (old->kind != fresh->kind) {
        metrics_.load_failure(name);
        throw HttpError(422, "model '" + name + "': " + path + " is a '" + kind_name(fresh->kind) +
                                 "' model, the one serving is '" + kind_name(old->kind) + "'");
      }
      fresh->version = old->version + 1;
    } else {
      fresh->version = 1;
    }
    models_[name] = fresh;
    metrics_.set_models_loaded(static_cast<int64_t>(models_.size()));
  }
  return fresh;  // `old` is released here, or by the last request still using it
}

std::shared_ptr<const LoadedModel> ModelRegistry::find(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = models_.find(name);
  return it == models_.end() ? nullptr : it->second;
}

std::shared_ptr<const LoadedModel> ModelRegistry::get(const std::string& name,
                                                      ModelKind kind) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!name.empty()) {
    auto it = models_.find(name);
    if (it == models_.end()) {
      std::string loaded;
      for (const auto& [n, m] : models_) loaded += (loaded.empty() ? "" : ", ") + n;
      throw HttpError(
          404, "unknown model '" + name + "' (loaded: " + (loaded.empty() ? "none" : loaded) + ")");
    }
    if (it->second->kind != kind) {
      throw HttpError(400, "model '" + name + "' answers '" + kind_name(it->second->kind) +
                               "', not '" + kind_name(kind) + "'");
    }
    return it->second;
  }
  for (const auto& [n, m] : models_) {
    if (m->kind == kind) return m;
  }
  throw HttpError(404, "no '" + kind_name(kind) + "' model is loaded");
}

std::vector<std::shared_ptr<const LoadedModel>> ModelRegistry::all() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::shared_ptr<const LoadedModel>> out;
  for (const auto& [n, m] : models_) out.push_back(m);
  return out;
}

std::shared_ptr<const LoadedModel> ModelRegistry::images_for_index(const LoadedModel& index) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [n, m] : models_) {
    if (m->kind == ModelKind::kImages && m->fingerprint == index.index_model) return m;
  }
  return nullptr;
}

}  // namespace deepcart::serve
