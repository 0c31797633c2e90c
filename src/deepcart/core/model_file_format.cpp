#include "deepcart/core/model_file_format.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <set>

#include "deepcart/core/error.h"

namespace deepcart {
namespace {

// Deeper nesting than any header deepcart writes; also keeps a crafted header off the stack.
constexpr int kMaxHeaderDepth = 64;
constexpr size_t kMaxDims = 8;

uint32_t get_u32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

uint64_t get_u64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// The prefix checks shared by the file reader and the parser. Returns the whole file's size as
// the prefix declares it.
uint64_t check_prefix(const char* prefix, size_t have, const std::string& path) {
  const size_t magic = std::min(have, sizeof(kModelFileMagic));
  if (have == 0) throw Error(path + ": truncated: the file is empty");
  if (std::memcmp(prefix, kModelFileMagic, magic) != 0) {
    throw Error(path + ": not a deepcart model file (expected magic 'DEEPCART')");
  }
  if (have < kModelFilePrefix) {
    throw Error(path + ": truncated: expected at least " +
                std::to_string(kModelFilePrefix + 8 + kModelFileDigest) + " bytes, found " +
                std::to_string(have));
  }
  const uint32_t version = get_u32(prefix + 8);
  if (version != kModelFileVersion) {
    throw Error(path + ": format version " + std::to_string(version) +
                " is not supported: expected version " + std::to_string(kModelFileVersion));
  }
  const uint64_t payload = get_u64(prefix + 12);
  if (payload < 8 ||
      payload > std::numeric_limits<uint64_t>::max() - kModelFilePrefix - kModelFileDigest) {
    throw Error(path + ": header field 'payload size': " + std::to_string(payload) +
                " is not a possible size");
  }
  return kModelFilePrefix + payload + kModelFileDigest;
}

std::string size_mismatch(const std::string& path, uint64_t expected, uint64_t found) {
  if (found < expected) {
    return path + ": truncated: expected " + std::to_string(expected) + " bytes, found " +
           std::to_string(found);
  }
  const uint64_t extra = found - expected;
  return path + ": " + std::to_string(extra) + (extra == 1 ? " byte" : " bytes") +
         " of trailing data after the checksum (expected " + std::to_string(expected) +
         " bytes, found " + std::to_string(found) + ")";
}

// Reads up to `n` bytes (fewer only at end of file).
size_t read_up_to(int fd, char* out, size_t n, const std::string& path) {
  size_t done = 0;
  while (done < n) {
    const ssize_t got = ::read(fd, out + done, n - done);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw Error(path + ": cannot read: " + std::strerror(errno));
    if (got == 0) break;
    done += static_cast<size_t>(got);
  }
  return done;
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// "tensors[3].offset" style names for messages.
std::string field(const char* list, size_t index, const char* key) {
  return std::string(list) + "[" + std::to_string(index) + "]." + key;
}

uint64_t unsigned_field(const nlohmann::json& entry, const char* list, size_t index,
                        const char* key, const std::string& path) {
  auto it = entry.find(key);
  if (it == entry.end())
    throw Error(path + ": header field '" + field(list, index, key) + "' is missing");
  if (!it->is_number_unsigned()) {
    throw Error(path + ": header field '" + field(list, index, key) +
                "': expected a non-negative integer, found " + it->dump());
  }
  return it->get<uint64_t>();
}

std::string string_field(const nlohmann::json& entry, const char* list, size_t index,
                         const char* key, const std::string& path) {
  auto it = entry.find(key);
  if (it == entry.end())
    throw Error(path + ": header field '" + field(list, index, key) + "' is missing");
  if (!it->is_string() || it->get_ref<const std::string&>().empty()) {
    throw Error(path + ": header field '" + field(list, index, key) +
                "': expected a non-empty string, found " + it->dump());
  }
  return it->get<std::string>();
}

// Reads one tensor or blob entry and checks that it lies inside the data region.
ModelFileEntry read_entry(const nlohmann::json& entry, const char* list, size_t index,
                          uint64_t data_size, bool tensor, const std::string& path) {
  if (!entry.is_object()) {
    throw Error(path + ": header field '" + std::string(list) + "[" + std::to_string(index) +
                "]': expected an object, found " + entry.type_name());
  }
  ModelFileEntry e;
  e.name = string_field(entry, list, index, "name", path);
  e.offset = unsigned_field(entry, list, index, "offset", path);
  e.bytes = unsigned_field(entry, list, index, "bytes", path);
  const std::string where = path + ": " + (tensor ? "tensor '" : "blob '") + e.name + "'";
  if (e.offset > data_size || e.bytes > data_size - e.offset) {
    throw Error(where + ": bytes " + std::to_string(e.offset) + " + " + std::to_string(e.bytes) +
                " lie past the end of the data region (" + std::to_string(data_size) + " bytes)");
  }
  if (!tensor) return e;
  e.dtype = string_field(entry, list, index, "dtype", path);
  const size_t element = model_file_dtype_size(e.dtype);
  if (element == 0) throw Error(where + ": unsupported tensor type '" + e.dtype + "'");
  auto shape = entry.find("shape");
  if (shape == entry.end() || !shape->is_array() || shape->size() > kMaxDims) {
    throw Error(path + ": header field '" + field(list, index, "shape") +
                "': expected an array of at most " + std::to_string(kMaxDims) + " sizes");
  }
  // The element count, overflow-checked: it must agree with the stored byte count.
  uint64_t numel = 1;
  for (const auto& d : *shape) {
    if (!d.is_number_unsigned() ||
        d.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      throw Error(path + ": header field '" + field(list, index, "shape") +
                  "': expected non-negative sizes, found " + shape->dump());
    }
    const uint64_t size = d.get<uint64_t>();
    e.shape.push_back(static_cast<int64_t>(size));
    if (size != 0 && numel > std::numeric_limits<uint64_t>::max() / size) {
      throw Error(where + ": shape " + shape->dump() + " has more elements than can exist");
    }
    numel *= size;
  }
  if (numel > std::numeric_limits<uint64_t>::max() / element || numel * element != e.bytes) {
    throw Error(where + ": shape " + shape->dump() + " of " + e.dtype + " does not fill its " +
                std::to_string(e.bytes) + " bytes");
  }
  return e;
}

}  // namespace

size_t model_file_dtype_size(const std::string& dtype) {
  if (dtype == "float32" || dtype == "int32") return 4;
  if (dtype == "float64" || dtype == "int64") return 8;
  if (dtype == "uint8" || dtype == "bool") return 1;
  return 0;
}

void sha256(const char* data, size_t size, unsigned char out[kModelFileDigest]) {
  unsigned int len = 0;
  if (EVP_Digest(data, size, out, &len, EVP_sha256(), nullptr) != 1 || len != kModelFileDigest) {
    throw Error("SHA-256 failed (OpenSSL)");
  }
}

std::string sha256_hex(const std::string& bytes) {
  unsigned char digest[kModelFileDigest];
  sha256(bytes.data(), bytes.size(), digest);
  static const char* kHex = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : digest) {
    hex += kHex[c >> 4];
    hex += kHex[c & 15];
  }
  return hex;
}

std::string model_file_read_bytes(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw Error(path + ": cannot open model file: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw Error(path + ": cannot read: " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw Error(path + ": is a folder, not a model file");

  std::string bytes(kModelFilePrefix, '\0');
  const size_t got = read_up_to(fd.get(), bytes.data(), kModelFilePrefix, path);
  const uint64_t expected = check_prefix(bytes.data(), got, path);
  if (S_ISREG(st.st_mode)) {
    // A regular file says its size up front: refuse a mismatch before reading the rest.
    if (static_cast<uint64_t>(st.st_size) != expected)
      throw Error(size_mismatch(path, expected, st.st_size));
    bytes.resize(expected);
    const size_t rest =
        read_up_to(fd.get(), bytes.data() + kModelFilePrefix, expected - kModelFilePrefix, path);
    if (rest != expected - kModelFilePrefix)
      throw Error(size_mismatch(path, expected, kModelFilePrefix + rest));
    return bytes;
  }
  // A stream: grow with what actually arrives, never beyond the declared size.
  constexpr size_t kChunk = 1 << 20;
  while (bytes.size() < expected) {
    const size_t at = bytes.size();
    const size_t want = static_cast<size_t>(std::min<uint64_t>(kChunk, expected - at));
    bytes.resize(at + want);
    const size_t n = read_up_to(fd.get(), bytes.data() + at, want, path);
    bytes.resize(at + n);
    if (n < want) throw Error(size_mismatch(path, expected, bytes.size()));
  }
  char extra = 0;
  if (read_up_to(fd.get(), &extra, 1, path) != 0) {
    throw Error(path + ": trailing data after the checksum (expected " + std::to_string(expected) +
                " bytes, found more)");
  }
  return bytes;
}

ModelFileLayout model_file_parse(std::string_view bytes, const std::string& path) {
  const uint64_t expected = check_prefix(bytes.data(), bytes.size(), path);
  if (bytes.size() != expected) throw Error(size_mismatch(path, expected, bytes.size()));
  const size_t payload_end = bytes.size() - kModelFileDigest;
  unsigned char digest[kModelFileDigest];
  sha256(bytes.data(), payload_end, digest);
  if (std::memcmp(digest, bytes.data() + payload_end, kModelFileDigest) != 0) {
    throw Error(path + ": checksum mismatch: file is corrupt");
  }

  const uint64_t payload = payload_end - kModelFilePrefix;
  const uint64_t header_size = get_u64(bytes.data() + kModelFilePrefix);
  if (header_size > payload - 8) {
    throw Error(path + ": header field 'header size': " + std::to_string(header_size) +
                " bytes, but the payload has " + std::to_string(payload - 8) + " after it");
  }
  ModelFileLayout layout;
  layout.data_start = kModelFilePrefix + 8 + header_size;
  const uint64_t data_size = payload_end - layout.data_start;
  const auto depth_limit = [&path](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
    if (depth > kMaxHeaderDepth)
      throw Error(path + ": malformed header: nested deeper than " +
                  std::to_string(kMaxHeaderDepth) + " levels");
    return true;
  };
  nlohmann::json& header = layout.header;
  try {
    header = nlohmann::json::parse(bytes.substr(kModelFilePrefix + 8, header_size), depth_limit);
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": malformed header: " + e.what());
  }
  if (!header.is_object())
    throw Error(path + ": malformed header: expected a JSON object, found " + header.type_name());
  const auto require = [&](const char* key, bool (nlohmann::json::*is)() const noexcept,
                           const char* what) {
    auto it = header.find(key);
    if (it == header.end())
      throw Error(path + ": malformed header: field '" + key + "' is missing");
    if (!((*it).*is)())
      throw Error(path + ": header field '" + key + "': expected " + what + ", found " +
                  it->type_name());
  };
  require("task", &nlohmann::json::is_string, "a string");
  require("arch", &nlohmann::json::is_string, "a string");
  require("checkpoint", &nlohmann::json::is_boolean, "true or false");
  for (const char* key : {"hparams", "meta", "metrics", "state"})
    require(key, &nlohmann::json::is_object, "an object");
  require("tensors", &nlohmann::json::is_array, "an array");
  require("blobs", &nlohmann::json::is_array, "an array");

  std::set<std::string> names;
  const auto& tensors = header["tensors"];
  for (size_t i = 0; i < tensors.size(); ++i) {
    layout.tensors.push_back(read_entry(tensors[i], "tensors", i, data_size, true, path));
    if (!names.insert(layout.tensors.back().name).second) {
      throw Error(path + ": tensor '" + layout.tensors.back().name + "' is stored twice");
    }
  }
  names.clear();
  const auto& blobs = header["blobs"];
  for (size_t i = 0; i < blobs.size(); ++i) {
    layout.blobs.push_back(read_entry(blobs[i], "blobs", i, data_size, false, path));
    if (!names.insert(layout.blobs.back().name).second) {
      throw Error(path + ": blob '" + layout.blobs.back().name + "' is stored twice");
    }
  }
  return layout;
}

}  // namespace deepcart
