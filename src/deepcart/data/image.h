// Product photos in and out without LibTorch: PNG and JPEG decoding (libpng, libjpeg-turbo) into
// 8-bit grey or RGB pixels, channel conversion, resizing and PNG encoding. Decoding is strict:
// a truncated or corrupt file is an Error naming the file, never a silently half-grey image.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "deepcart/core/error.h"

namespace deepcart::data {

// Caps that keep a hostile or broken upload from costing gigabytes.
struct ImageLimits {
  int64_t max_bytes = 32 << 20;     // encoded file size cap
  int64_t max_pixels = 40'000'000;  // width * height cap, checked from the header before decoding
};

struct Image {
  int width = 0, height = 0, channels = 0;  // channels 1 (grey) or 3 (RGB)
  std::vector<uint8_t> pixels;  // (height, width, channels): (y * width + x) * channels + c
};

// Decodes PNG (8/16-bit, grey, grey+alpha, palette, RGB, RGBA; 16-bit scaled to 8, alpha composited
// on white, grey stays 1 channel) or JPEG (grey, RGB/YCbCr; CMYK/YCCK rejected). The format comes
// from the magic bytes, not the name. `name` (usually the path) starts every message:
//   "NAME: empty file", "NAME: file is N bytes, over the M-byte limit",
//   "NAME: not a PNG or JPEG image (first bytes 47 49 46 38)",
//   "NAME: W x H = P pixels, over the M-pixel limit" (from the header, before any allocation),
//   "NAME: truncated or corrupt PNG: <libpng's message>", the same for JPEG (libjpeg's corrupt-data
//   and premature-end warnings count as errors), and
//   "NAME: unsupported JPEG colour space: expected grey or RGB/YCbCr, found CMYK".
Image decode_image(const std::string& bytes, const std::string& name,
                   const ImageLimits& limits = {});

// Reads the file, checking max_bytes against its size before reading it, then decode_image.
// Adds "PATH: cannot open: <reason>", "PATH: not a regular file" and "PATH: cannot read: <reason>".
Image read_image(const std::string& path, const ImageLimits& limits = {});

// True if the bytes start with a complete PNG or JPEG signature.
bool is_image(const std::string& bytes);

// 1 = grey (ITU-R BT.601 luma, rounded), 3 = RGB (grey replicated); the same count copies.
// Throws Error for another count or a malformed image.
Image convert_channels(const Image& image, int channels);

// Resizes to exactly width x height (each >= 1), per axis: area averaging when shrinking, bilinear
// with pixel centres at +0.5 when enlarging, a copy when equal. Keeps the channels.
Image resize_image(const Image& image, int width, int height);

// Encodes an 8-bit grey or RGB image as PNG bytes.
std::string encode_png(const Image& image);

// Writes encode_png(image) to path + ".tmp", then renames it to path, so a reader never sees half a
// file. Throws Error "PATH: cannot write: <reason>" (or "cannot rename ...") on failure.
void write_png(const std::string& path, const Image& image);

}  // namespace deepcart::data
