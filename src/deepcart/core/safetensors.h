// Reads safetensors files (Hugging Face's format for weights: an 8-byte little-endian header
// length, a JSON header {name: {dtype, shape, data_offsets}}, then the raw little-endian data).
// Used for the reference tensors of the tests and for pretrained weights.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <map>
#include <string>

namespace deepcart {

// Every tensor of the file by name, on the CPU, in its stored type: F64, F32, F16, BF16, I64,
// I32, I16, I8, U8 and BOOL. "__metadata__" is skipped. Throws Error naming the file (and the
// tensor) for a missing or truncated file, a bad JSON header, an unknown dtype, a shape that
// does not fill its bytes, or offsets outside the data.
std::map<std::string, at::Tensor> safetensors_read(const std::filesystem::path& path);

}  // namespace deepcart
