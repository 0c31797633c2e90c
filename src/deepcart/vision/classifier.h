// Product-image recognition through the shared Trainer: augmentation, the training task
// (categories, plus attributes when the source has them), the trained classifier loaded from
// its ModelFile (product sheets, embeddings, Grad-CAM), and its evaluation.
#pragma once

#include <map>
#include <random>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include "deepcart/core/model_file.h"
#include "deepcart/core/trainer.h"
#include "deepcart/vision/image_set.h"
#include "deepcart/vision/net.h"
#include "deepcart/vision/spec.h"

namespace deepcart::vision {

// images (B, C, H, W) float in [0, 1] -> augmented copy, same shape; seeded by `rng`.
at::Tensor augment_batch(const at::Tensor& images, const Augment& augment, std::mt19937_64& rng);

struct VisionTrainOutput {
  ModelFile model;
  TrainResult result;
};

// Trains on `train`, holding out config.valid_count of it for validation (config.data says where
// the images came from; it is not used here).
VisionTrainOutput vision_train(const ImageSet& train, TrainSpec config);

// Per attribute, the probability threshold with the best F1 on (probabilities, truth), both
// (N, A); ties go to the threshold nearest 0.5.
std::vector<float> tune_thresholds(const at::Tensor& probabilities, const at::Tensor& truth);

struct Prediction {
  at::Tensor probabilities;            // (B, classes)
  at::Tensor attribute_probabilities;  // (B, attributes); undefined without attributes
};

class ImageClassifier {
 public:
  // `fuse` folds BatchNorm into the convolutions for faster inference.
  explicit ImageClassifier(ModelFile file, bool fuse = true);
  static ImageClassifier load(const std::string& path);
  // images (B, C, H, W) uint8, batched internally
  Prediction predict(const at::Tensor& images, int64_t batch = 512);
  at::Tensor probabilities(const at::Tensor& images) { return predict(images).probabilities; }
  // L2-normalised penultimate-layer embeddings (B, D), for look-alike search.
  at::Tensor embeddings(const at::Tensor& images, int64_t batch = 512);
  // Grad-CAM (Selvaraju et al. 2017) for one image (1, C, H, W) uint8 and a class: the last
  // feature map weighted by the spatially averaged gradient of the class logit, ReLU, upsampled
  // to (H, W) and scaled to [0, 1].
  at::Tensor grad_cam(const at::Tensor& image, int64_t class_index);
  // The product sheet of row `row`: category, confidence, top-3, attributes with confidence.
  nlohmann::json sheet(const Prediction& prediction, int64_t row, int64_t top = 3) const;
  // The query images named on a command line (read_query_image), as this model reads them.
  at::Tensor read_images(const std::vector<std::string>& refs) const;

  const std::vector<std::string>& classes() const { return classes_; }
  const std::vector<std::string>& attributes() const { return attributes_; }
  const std::vector<float>& thresholds() const { return thresholds_; }
  const VisionOptions& options() const { return model_->options(); }
  const ModelFile& file() const { return file_; }

 private:
  void check_shape(const at::Tensor& images) const;
  ModelFile file_;
  VisionNet model_{nullptr};
  std::vector<std::string> classes_, attributes_;
  std::vector<float> thresholds_;
  at::Tensor mean_, std_;  // (1, C, 1, 1)
};

// A product sheet (ImageClassifier::sheet) as the lines `vision predict` prints under `name`.
std::string describe_sheet(const std::string& name, const nlohmann::json& sheet);

struct VisionReport {
  double accuracy = 0, macro_f1 = 0, ece = 0;
  double images_per_second = 0;                 // inference throughput of the evaluation pass
  std::vector<double> precision, recall, f1;    // per class
  std::vector<std::vector<int64_t>> confusion;  // [true][predicted]
  // Attributes (when the model has them): mean average precision, and F1 at the tuned thresholds.
  bool has_attributes = false;
  double attribute_map = 0, attribute_micro_f1 = 0, attribute_macro_f1 = 0;
  std::vector<double> attribute_ap, attribute_f1;
  nlohmann::json to_json(const std::vector<std::string>& classes,
                         const std::vector<std::string>& attributes) const;
  // The summary line, a line per class, and the attributes with their thresholds.
  std::string describe(const std::vector<std::string>& classes,
                       const std::vector<std::string>& attributes,
                       const std::vector<float>& thresholds) const;
};

VisionReport vision_evaluate(ImageClassifier& model, const ImageSet& test);

// Normalises uint8 images with the stored per-channel mean and std: (B, C, H, W) float.
at::Tensor normalise(const at::Tensor& images, const at::Tensor& mean, const at::Tensor& std);

}  // namespace deepcart::vision
