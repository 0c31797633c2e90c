// The byte layout of a ModelFile, read and checked without LibTorch:
//   "DEEPCART" | u32 format version | u64 payload size | payload | SHA-256(all before it)
//   payload = u64 header size | header JSON | tensor and blob bytes, located by the header.
// The checksum only proves that a file is unchanged, not that it is sane, so every size,
// offset and shape in the header is checked here too, overflow-safe, before the reader
// allocates anything for it. The ModelFile fuzz target drives this code directly.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace deepcart {

inline constexpr uint32_t kModelFileVersion = 1;
inline constexpr char kModelFileMagic[8] = {'D', 'E', 'E', 'P', 'C', 'A', 'R', 'T'};
inline constexpr size_t kModelFilePrefix = 8 + 4 + 8;  // magic, version, payload size
inline constexpr size_t kModelFileDigest = 32;         // SHA-256

// One tensor or blob, located in the data region that follows the header.
struct ModelFileEntry {
  std::string name;
  std::string dtype;           // tensors: "float32", "int64", ...; blobs: empty
  std::vector<int64_t> shape;  // tensors only
  uint64_t offset = 0;         // from the start of the data region
  uint64_t bytes = 0;
};

struct ModelFileLayout {
  nlohmann::json header;  // task, arch, checkpoint, hparams, meta, metrics, state (types checked)
  std::vector<ModelFileEntry> tensors;
  std::vector<ModelFileEntry> blobs;
  size_t data_start = 0;  // where the data region starts in the file's bytes
};

// Reads a model file's bytes. The prefix comes first: a file without the magic, of another
// version, or whose size disagrees with the declared payload is refused before the rest is
// read, and a stream (a pipe, /dev/zero) is read only up to the declared size. Throws Error.
std::string model_file_read_bytes(const std::string& path);

// Checks a whole file's bytes (prefix, size, checksum, header, every entry) and returns where
// everything is. Throws Error naming `path` and the field.
ModelFileLayout model_file_parse(std::string_view bytes, const std::string& path);

// Bytes per element of a stored tensor type; 0 for a name that is not one.
size_t model_file_dtype_size(const std::string& dtype);

void sha256(const char* data, size_t size, unsigned char out[kModelFileDigest]);
// Lower-case hex SHA-256 of `bytes`.
std::string sha256_hex(const std::string& bytes);

}  // namespace deepcart
