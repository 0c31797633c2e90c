// Where product images come from: Debian's Fashion-MNIST, a folder with one sub-folder per
// category, or a CSV manifest `path,category,attributes` (attributes `|`-separated). Every
// source becomes one ImageSet of equal-sized uint8 images.
#pragma once

#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "deepcart/data/image.h"

namespace deepcart::vision {

struct ImageSet {
  at::Tensor images;  // (N, C, H, W) uint8
  at::Tensor labels;  // (N) int64 index into classes
  std::vector<std::string> classes;
  at::Tensor attributes;  // (N, A) float 0/1; undefined when the source has none
  std::vector<std::string> attribute_names;
  std::vector<std::string> ids;  // per image: its path, or "fashion-mnist:test:123"
  int64_t size() const { return images.defined() ? images.size(0) : 0; }
  bool has_attributes() const { return attributes.defined() && !attribute_names.empty(); }
};

struct ImageSourceOptions {
  int64_t channels = 3;  // files only: 1 grey or 3 RGB
  int64_t size = 64;     // files only: every image is resized to size x size
  data::ImageLimits limits;
};

// `source` is "fashion-mnist" (split "train" or "test"), a folder, or a .csv/.tsv manifest
// (split ignored: the whole source). Paths in a manifest are relative to its folder.
ImageSet load_image_set(const std::string& source, const std::string& split,
                        const ImageSourceOptions& options = {});

// The images at `indices` (int64), with their labels, attributes and ids.
ImageSet subset(const ImageSet& set, const at::Tensor& indices);
// A seeded random split: {the rest, `count` held-out images}.
std::pair<ImageSet, ImageSet> hold_out(const ImageSet& set, int64_t count, uint64_t seed);
// Renumbers labels and attribute columns to a model's names, so a test set read from another
// folder lines up with the training one. Unknown category names are an error.
void align_to(ImageSet& set, const std::vector<std::string>& classes,
              const std::vector<std::string>& attribute_names);

// One decoded photo as the model sees it: channels converted, resized: (1, C, rows, cols) uint8.
at::Tensor image_tensor(const data::Image& image, int64_t channels, int64_t rows, int64_t cols);
// A query image named on the command line: a PNG/JPEG path, or "fashion-mnist:SPLIT:N" for
// the N-th image of a Fashion-MNIST split. -> (1, channels, rows, cols) uint8.
at::Tensor read_query_image(const std::string& ref, int64_t channels, int64_t rows, int64_t cols,
                            const data::ImageLimits& limits = {});
// The reverse, for drawing: (C, H, W) uint8 -> an Image.
data::Image tensor_image(const at::Tensor& chw);

}  // namespace deepcart::vision
