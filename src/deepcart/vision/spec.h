// Everything one image-classifier run needs, as data: the training and test images, the network,
// augmentation and the training loop, with the tuned defaults. `deepcart vision train` turns its
// flags into a TrainSpec; the library trains from it (workflow.h) and keeps it in the ModelFile,
// so `vision eval` can find the same test images again.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "deepcart/core/settings.h"
#include "deepcart/core/trainer.h"
#include "deepcart/vision/image_set.h"

namespace deepcart::vision {

// What the vision commands accept as a source of images.
inline constexpr const char* kImageSourceHelp =
    "fashion-mnist (Debian's dataset-fashion-mnist), a folder with one sub-folder of PNG/JPEG "
    "images per category, or a CSV manifest path,category[,attributes] (attributes |-separated)";

struct Augment {
  int64_t pad_crop = 2;  // random crop after zero padding by this many pixels (0 = off)
  bool flip = true;      // random horizontal flip
  double erase = 0.0;    // probability of erasing one random rectangle
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Augment, pad_crop, flip, erase)

struct DataSpec {
  std::string path = "fashion-mnist";  // fashion-mnist, a folder of category folders, a manifest
  // Test images; empty = Fashion-MNIST's test split, or a seeded test_fraction of `path`.
  std::string test_path;
  double test_fraction = 0.1;
  ImageSourceOptions source;  // image files: size and channels
};

struct TrainSpec {
  DataSpec data;
  nlohmann::json hparams = {{"arch", "cnn"}};  // VisionOptions; the data fills in the shapes
  Augment augment;
  double label_smoothing = 0.1;
  int64_t valid_count = 5000;  // held out of the training set for early stopping and thresholds
  TrainOptions train;
};

// The defaults of `vision train`, chosen on validation (bench/RESULTS.md): AdamW with weight
// decay 0.01, lr 0.002 on a cosine schedule, batches of 128, 15 epochs, patience 5.
TrainSpec default_spec(const std::string& arch = "cnn");

// What a user may set in a TrainSpec, with the flag names and help of `vision train`: the data,
// the architecture and its sizes, and the Trainer's settings (core/settings.h).
std::vector<Setting> spec_settings();

void to_json(nlohmann::json& j, const DataSpec& spec);
void from_json(const nlohmann::json& j, DataSpec& spec);
void to_json(nlohmann::json& j, const TrainSpec& spec);
void from_json(const nlohmann::json& j, TrainSpec& spec);

}  // namespace deepcart::vision
