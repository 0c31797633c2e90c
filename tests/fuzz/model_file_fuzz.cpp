// libFuzzer target: the ModelFile reader (magic, version, sizes, checksum, header JSON, every
// tensor and blob entry). Any input must either give a layout whose every entry lies inside the
// file and agrees with its shape, or throw deepcart::Error; nothing else.
//
// The input is a model file without its checksum: the target appends the right SHA-256, so the
// fuzzer explores the header rather than failing at the checksum. Each input is also tried
// with its declared payload size set to the true one, for the same reason.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "deepcart/core/error.h"
#include "deepcart/core/model_file_format.h"

namespace {

void check(std::string file) {
  unsigned char digest[deepcart::kModelFileDigest];
  deepcart::sha256(file.data(), file.size(), digest);
  file.append(reinterpret_cast<const char*>(digest), sizeof digest);
  try {
    const deepcart::ModelFileLayout layout = deepcart::model_file_parse(file, "fuzz.dcm");
    const uint64_t data_end = file.size() - deepcart::kModelFileDigest;
    if (layout.data_start > data_end) std::abort();
    for (const auto* list : {&layout.tensors, &layout.blobs}) {
      for (const auto& e : *list) {
        if (e.offset > data_end - layout.data_start ||
            e.bytes > data_end - layout.data_start - e.offset)
          std::abort();
      }
    }
    for (const auto& t : layout.tensors) {
      unsigned __int128 numel = 1;
      for (int64_t d : t.shape) {
        if (d < 0) std::abort();
        numel *= static_cast<uint64_t>(d);
      }
      if (numel * deepcart::model_file_dtype_size(t.dtype) != t.bytes) std::abort();
    }
  } catch (const deepcart::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string file(reinterpret_cast<const char*>(data), size);
  check(file);
  if (file.size() >= deepcart::kModelFilePrefix) {
    const uint64_t payload = file.size() - deepcart::kModelFilePrefix;
    std::memcpy(&file[12], &payload, sizeof payload);
    check(file);
  }
  return 0;
}
