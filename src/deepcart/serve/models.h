// The models a server holds, by name. Each is loaded through its capability's public predictor
// (Recommender, ImageClassifier, LookAlikeIndex, TextClassifier) from a ModelFile. A reload
// builds the new model completely before swapping it in under a lock; requests in flight keep
// the old one alive (shared_ptr) until they finish. A failed load leaves the old model serving.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include "deepcart/serve/batcher.h"
#include "deepcart/serve/metrics.h"

namespace deepcart::rec {
class Recommender;
}
namespace deepcart::vision {
class ImageClassifier;
class LookAlikeIndex;
}  // namespace deepcart::vision
namespace deepcart::text {
class TextClassifier;
}

namespace deepcart::serve {

// What a model answers: the routes pick models by kind.
enum class ModelKind { kRecommender, kImages, kImageIndex, kReviews, kStars, kQuestions };
std::string kind_name(ModelKind kind);

struct BatchOptions {
  int64_t max_items = 64;                  // texts or images per model call
  std::chrono::microseconds max_delay{0};  // longest wait for more requests; 0 = take what queued
  int workers = 0;  // model calls running at once, per model; 0 = one per core
};

struct LoadedModel {
  std::string name, path, task, arch;
  ModelKind kind = ModelKind::kRecommender;
  int64_t version = 0;    // 1 at the first load, +1 per successful reload
  std::string loaded_at;  // UTC, ISO 8601
  double load_seconds = 0;
  nlohmann::json metrics;  // from training
  std::shared_ptr<rec::Recommender> recommender;
  std::shared_ptr<vision::ImageClassifier> images;
  std::shared_ptr<vision::LookAlikeIndex> index;
  std::string index_model;  // kImageIndex: the fingerprint of the model that built it
  std::string fingerprint;  // kImages: this model's fingerprint
  std::shared_ptr<text::TextClassifier> text;
  // Micro-batched inference: texts -> probabilities (N, labels); images (N, C, H, W) uint8 ->
  // probabilities (N, classes) and attribute probabilities (N, A) when the model has attributes.
  std::shared_ptr<MicroBatcher<std::vector<std::string>, at::Tensor>> text_batcher;
  std::shared_ptr<MicroBatcher<at::Tensor, std::pair<at::Tensor, at::Tensor>>> image_batcher;

  nlohmann::json describe() const;  // for GET /v1/models
};

class ModelRegistry {
 public:
  ModelRegistry(BatchOptions batch, Metrics& metrics) : batch_(batch), metrics_(metrics) {}

  // Loads (or reloads) `name` from `path`. On any failure the old model stays, the failure is
  // counted, and the Error is rethrown with the model's name in front.
  std::shared_ptr<const LoadedModel> load(const std::string& name, const std::string& path);
  // `name`, or when empty the first model of `kind` (by name). Errors: unknown name (with the
  // list of loaded ones), a model of another kind, or no model of that kind at all.
  std::shared_ptr<const LoadedModel> get(const std::string& name, ModelKind kind) const;
  std::shared_ptr<const LoadedModel> find(const std::string& name) const;  // null when unknown
  std::vector<std::shared_ptr<const LoadedModel>> all() const;
  // The image model whose fingerprint an index records, or null.
  std::shared_ptr<const LoadedModel> images_for_index(const LoadedModel& index) const;

 private:
  std::shared_ptr<LoadedModel> build(const std::string& name, const std::string& path) const;

  BatchOptions batch_;
  Metrics& metrics_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const LoadedModel>> models_;
};

}  // namespace deepcart::serve
