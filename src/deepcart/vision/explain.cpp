#include "deepcart/vision/explain.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "deepcart/core/error.h"

namespace deepcart::vision {
namespace {

// A blue-cyan-yellow-red ramp ("jet"-like) for t in [0, 1].
void heat_colour(float t, float rgb[3]) {
  t = std::clamp(t, 0.0f, 1.0f);
  rgb[0] = std::clamp(1.5f - std::abs(4.0f * t - 3.0f), 0.0f, 1.0f);
  rgb[1] = std::clamp(1.5f - std::abs(4.0f * t - 2.0f), 0.0f, 1.0f);
  rgb[2] = std::clamp(1.5f - std::abs(4.0f * t - 1.0f), 0.0f, 1.0f);
}

}  // namespace

data::Image render_heatmap(const at::Tensor& image, const at::Tensor& cam, int min_side) {
  const int64_t c = image.size(0), h = image.size(1), w = image.size(2);
  const int64_t scale = std::max<int64_t>(1, (min_side + std::max(h, w) - 1) / std::max(h, w));
  const int64_t sh = h * scale, sw = w * scale, gap = scale;
  // Nearest-neighbour enlargement keeps the pixels of small product images crisp.
  at::Tensor rgb =
      (c == 1 ? image.expand({3, h, w}) : image).to(torch::kFloat) / 255.0;  // (3, H, W)
  rgb = rgb.repeat_interleave(scale, 1).repeat_interleave(scale, 2);         // (3, sH, sW)
  at::Tensor heat =
      cam.to(torch::kFloat).repeat_interleave(scale, 0).repeat_interleave(scale, 1).contiguous();
  auto photo = rgb.accessor<float, 3>();
  auto hot = heat.accessor<float, 2>();
  data::Image out;
  out.width = static_cast<int>(2 * sw + gap);
  out.height = static_cast<int>(sh);
  out.channels = 3;
  out.pixels.assign(static_cast<size_t>(out.width) * out.height * 3, 255);
  for (int64_t y = 0; y < sh; ++y) {
    for (int64_t x = 0; x < sw; ++x) {
      float colour[3];
      heat_colour(hot[y][x], colour);
      for (int k = 0; k < 3; ++k) {
        const float p = photo[k][y][x];
        const float blended = 0.55f * p + 0.45f * colour[k];
        out.pixels[(y * out.width + x) * 3 + k] = static_cast<uint8_t>(std::lround(255 * p));
        out.pixels[(y * out.width + sw + gap + x) * 3 + k] =
            static_cast<uint8_t>(std::lround(255 * blended));
      }
    }
  }
  return out;
}

nlohmann::json explain_image(ImageClassifier& model, const std::string& ref,
                             const std::string& category, const std::string& out) {
  const auto& classes = model.classes();
  at::Tensor x = model.read_images({ref});
  const Prediction p = model.predict(x);
  int64_t c = p.probabilities[0].argmax().item<int64_t>();
  if (!category.empty()) {
    c = std::find(classes.begin(), classes.end(), category) - classes.begin();
    if (c == static_cast<int64_t>(classes.size()))
      throw Error("--category: '" + category + "' is not a category of this model");
  }
  data::write_png(out, render_heatmap(x[0], model.grad_cam(x, c)));
  return {{"image", ref},
          {"category", classes[c]},
          {"probability", p.probabilities[0][c].item<double>()},
          {"out", out}};
}

}  // namespace deepcart::vision
