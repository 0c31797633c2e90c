// The vision workflows behind `deepcart vision train` and `vision eval`, for any caller: load
// the training and test images as a TrainSpec says, train, test once, and keep the spec in the
// ModelFile so that the same test images can be found again.
#pragma once

#include <string>

#include "deepcart/core/model_file.h"
#include "deepcart/core/trainer.h"
#include "deepcart/vision/classifier.h"
#include "deepcart/vision/image_set.h"
#include "deepcart/vision/spec.h"

namespace deepcart::vision {

struct ImageParts {
  ImageSet train;  // validation is carved from it during training
  ImageSet test;
};

// spec.data's images: the test images are data.test_path, Fashion-MNIST's test split, or a
// seeded test_fraction held out of data.path (seed spec.train.seed + 1).
ImageParts load_images(const TrainSpec& spec);

struct TrainReport {
  ModelFile model;  // with meta "spec" and metrics "test"
  TrainResult result;
  VisionReport test;  // empty on data-parallel ranks other than 0
  int64_t test_images = 0;
};

// Trains and tests. In a data-parallel run only rank 0 tests.
TrainReport train(TrainSpec spec);

struct EvalSet {
  std::string source;  // what the images are, for messages
  ImageSet images;
};

// The images to test `model` on: `data`'s test split at the model's size and channels when
// given, else the model's own test images as its spec says.
EvalSet evaluation_set(const ImageClassifier& model, const std::string& data);

}  // namespace deepcart::vision
