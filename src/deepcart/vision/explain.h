// Drawing what the classifier looked at: a Grad-CAM map as a colour overlay on the photo,
// enlarged so that 28x28 products are visible.
#pragma once

#include <string>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include "deepcart/data/image.h"
#include "deepcart/vision/classifier.h"

namespace deepcart::vision {

// image (C, H, W) uint8 and cam (H, W) in [0, 1] -> an RGB picture of the photo and, beside
// it, the photo with the heat map blended in (blue = cold, red = hot), each side scaled so
// the longer one is at least `min_side` pixels.
data::Image render_heatmap(const at::Tensor& image, const at::Tensor& cam, int min_side = 224);

// `vision explain`: the Grad-CAM of `category` (empty = the predicted one) for the query image
// `ref` (read_query_image), drawn by render_heatmap into the PNG `out`. Returns {"image",
// "category", "probability", "out"}; an unknown category is an Error naming it.
nlohmann::json explain_image(ImageClassifier& model, const std::string& ref,
                             const std::string& category, const std::string& out);

}  // namespace deepcart::vision
