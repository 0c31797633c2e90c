// libFuzzer target: the PNG/JPEG decoder behind uploads. Any input must either decode into an
// image within the caps or throw deepcart::Error; nothing else.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "deepcart/data/image.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  deepcart::data::ImageLimits limits;
  limits.max_pixels = 1 << 20;
  try {
    deepcart::data::Image image = deepcart::data::decode_image(bytes, "fuzz", limits);
    if (image.width <= 0 || image.height <= 0 ||
        int64_t{image.width} * image.height > limits.max_pixels)
      std::abort();
    if (image.pixels.size() != static_cast<size_t>(image.width) * image.height * image.channels)
      std::abort();
  } catch (const deepcart::Error&) {
  }
  return 0;
}
