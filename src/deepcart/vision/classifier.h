// Product-image classification through the shared Trainer: an image set, augmentation, the
// training task, the trained classifier loaded from its ModelFile, and its evaluation
// (accuracy, per-class precision/recall/F1, confusion matrix, calibration).
#pragma once

#include <map>
#include <random>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include "deepcart/core/model_file.h"
#include "deepcart/core/trainer.h"
#include "deepcart/vision/cnn.h"

namespace deepcart::vision {

struct ImageSet {
  at::Tensor images;  // (N, C, H, W) uint8
  at::Tensor labels;  // (N) int64
  std::vector<std::string> classes;
  int64_t size() const { return images.size(0); }
};

// "fashion-mnist" (Debian's dataset-fashion-mnist), split "train" or "test".
ImageSet image_set_named(const std::string& name, const std::string& split);

struct Augment {
  int64_t pad_crop = 2;  // random crop after zero padding by this many pixels (0 = off)
  bool flip = true;      // random horizontal flip
  double erase = 0.0;    // probability of erasing one random rectangle
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Augment, pad_crop, flip, erase)

// images (B, C, H, W) float in [0, 1] -> augmented copy, same shape; seeded by `rng`.
at::Tensor augment_batch(const at::Tensor& images, const Augment& augment, std::mt19937_64& rng);

struct VisionTrainConfig {
  std::string arch = "cnn";
  nlohmann::json hparams = nlohmann::json::object();
  Augment augment;
  double label_smoothing = 0.1;
  int64_t valid_count = 5000;  // held out of the training set for early stopping
  TrainOptions train;
};

struct VisionTrainOutput {
  ModelFile model;
  TrainResult result;
};

VisionTrainOutput vision_train(const ImageSet& train, VisionTrainConfig config);

class ImageClassifier {
 public:
  explicit ImageClassifier(ModelFile file);
  static ImageClassifier load(const std::string& path);
  // images (B, C, H, W) uint8 -> class probabilities (B, classes), batched internally
  at::Tensor probabilities(const at::Tensor& images, int64_t batch = 512);
  const std::vector<std::string>& classes() const { return classes_; }
  const ModelFile& file() const { return file_; }

 private:
  ModelFile file_;
  Cnn model_{nullptr};
  std::vector<std::string> classes_;
  at::Tensor mean_, std_;  // (1, C, 1, 1)
};

struct VisionReport {
  double accuracy = 0, macro_f1 = 0, ece = 0;
  double images_per_second = 0;  // inference throughput of the evaluation pass
  std::vector<double> precision, recall, f1;  // per class
  std::vector<std::vector<int64_t>> confusion;  // [true][predicted]
  nlohmann::json to_json(const std::vector<std::string>& classes) const;
};

VisionReport vision_evaluate(ImageClassifier& model, const ImageSet& test);

// Normalises uint8 images with the stored per-channel mean and std: (B, C, H, W) float.
at::Tensor normalise(const at::Tensor& images, const at::Tensor& mean, const at::Tensor& std);

}  // namespace deepcart::vision
