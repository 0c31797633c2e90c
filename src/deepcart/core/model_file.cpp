#include "deepcart/core/model_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <torch/nn/module.h>
#include <torch/torch.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "deepcart/core/error.h"

namespace deepcart {
namespace {

constexpr char kMagic[8] = {'D', 'E', 'E', 'P', 'C', 'A', 'R', 'T'};
constexpr size_t kPrefixSize = 8 + 4 + 8;  // magic, version, payload size
constexpr size_t kDigestSize = 32;

void sha256(const char* data, size_t size, unsigned char out[kDigestSize]) {
  unsigned int len = 0;
  if (EVP_Digest(data, size, out, &len, EVP_sha256(), nullptr) != 1 || len != kDigestSize) {
    throw Error("SHA-256 failed (OpenSSL)");
  }
}

template <typename T>
void put(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof(T));
}

template <typename T>
T get(const std::string& in, size_t offset) {
  T value;
  std::memcpy(&value, in.data() + offset, sizeof(T));
  return value;
}

std::string shape_str(at::IntArrayRef sizes) {
  std::string s = "[";
  for (size_t i = 0; i < sizes.size(); ++i) s += (i ? ", " : "") + std::to_string(sizes[i]);
  return s + "]";
}

at::ScalarType dtype_from_name(const std::string& name, const std::string& where) {
  static const std::map<std::string, at::ScalarType> kTypes = {
      {"float32", at::kFloat}, {"float64", at::kDouble}, {"int64", at::kLong},
      {"int32", at::kInt},     {"uint8", at::kByte},     {"bool", at::kBool}};
  auto it = kTypes.find(name);
  if (it == kTypes.end()) throw Error(where + ": unsupported tensor type '" + name + "'");
  return it->second;
}

std::string dtype_name(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kLong: return "int64";
    case at::kInt: return "int32";
    case at::kByte: return "uint8";
    case at::kBool: return "bool";
    default: throw Error(std::string("cannot store tensors of type ") + c10::toString(type));
  }
}

// Writes all of `bytes` or throws with the OS's reason.
void write_all(int fd, const std::string& bytes, const std::string& path) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error(path + ": cannot write: " + std::strerror(errno));
    done += static_cast<size_t>(n);
  }
}

}  // namespace

std::string sha256_hex(const std::string& bytes) {
  unsigned char digest[kDigestSize];
  sha256(bytes.data(), bytes.size(), digest);
  static const char* kHex = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : digest) {
    hex += kHex[c >> 4];
    hex += kHex[c & 15];
  }
  return hex;
}

void ModelFile::add_module(const std::string& prefix, const torch::nn::Module& module) {
  for (const auto& item : module.named_parameters(true)) {
    tensors.emplace_back(prefix + item.key(), item.value().detach());
  }
  for (const auto& item : module.named_buffers(true)) {
    tensors.emplace_back(prefix + item.key(), item.value().detach());
  }
}

void ModelFile::load_module(const std::string& prefix, torch::nn::Module& module) const {
  torch::NoGradGuard no_grad;
  auto copy_into = [&](const std::string& name, at::Tensor target) {
    const std::string full = prefix + name;
    if (!has_tensor(full)) {
      throw Error(source + ": missing tensor '" + full + "' of shape " + shape_str(target.sizes()));
    }
    const at::Tensor& stored = tensor(full);
    if (stored.sizes() != target.sizes()) {
      throw Error(source + ": tensor '" + full + "': expected shape " + shape_str(target.sizes()) +
                  ", found " + shape_str(stored.sizes()));
    }
    target.copy_(stored);
  };
  for (auto& item : module.named_parameters(true)) copy_into(item.key(), item.value());
  for (auto& item : module.named_buffers(true)) copy_into(item.key(), item.value());
}

bool ModelFile::has_tensor(const std::string& name) const {
  for (const auto& t : tensors) {
    if (t.first == name) return true;
  }
  return false;
}

const at::Tensor& ModelFile::tensor(const std::string& name) const {
  for (const auto& t : tensors) {
    if (t.first == name) return t.second;
  }
  throw Error(source + ": no tensor named '" + name + "'");
}

void model_file_write(const ModelFile& file, const std::string& path) {
  // Header JSON indexes the data region that follows it.
  nlohmann::json header = {{"task", file.task},       {"arch", file.arch},
                           {"checkpoint", file.checkpoint}, {"hparams", file.hparams},
                           {"meta", file.meta},       {"metrics", file.metrics},
                           {"state", file.state}};
  std::string data;
  nlohmann::json tensor_index = nlohmann::json::array();
  for (const auto& [name, value] : file.tensors) {
    at::Tensor t = value.detach().to(at::kCPU).contiguous();
    const size_t nbytes = t.numel() * t.element_size();
    tensor_index.push_back({{"name", name},
                            {"dtype", dtype_name(t.scalar_type())},
                            {"shape", t.sizes().vec()},
                            {"offset", data.size()},
                            {"bytes", nbytes}});
    data.append(static_cast<const char*>(t.data_ptr()), nbytes);
  }
  nlohmann::json blob_index = nlohmann::json::array();
  for (const auto& [name, bytes] : file.blobs) {
    blob_index.push_back({{"name", name}, {"offset", data.size()}, {"bytes", bytes.size()}});
    data += bytes;
  }
  header["tensors"] = tensor_index;
  header["blobs"] = blob_index;
  const std::string header_text = header.dump();

  std::string out;
  out.reserve(kPrefixSize + 8 + header_text.size() + data.size() + kDigestSize);
  out.append(kMagic, sizeof(kMagic));
  put<uint32_t>(out, kModelFileVersion);
  put<uint64_t>(out, 8 + header_text.size() + data.size());
  put<uint64_t>(out, header_text.size());
  out += header_text;
  out += data;
  unsigned char digest[kDigestSize];
  sha256(out.data(), out.size(), digest);
  out.append(reinterpret_cast<const char*>(digest), kDigestSize);

  // Atomic replace: a crash at any point leaves either the old file or the new one.
  std::filesystem::path target(path);
  std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : ".";
  std::string tmp = (dir / ("." + target.filename().string() + ".tmp.XXXXXX")).string();
  int fd = mkstemp(tmp.data());
  if (fd < 0) throw Error(path + ": cannot create a temporary file in " + dir.string() + ": " +
                          std::strerror(errno));
  try {
    write_all(fd, out, path);
    if (::fsync(fd) != 0) throw Error(path + ": fsync failed: " + std::strerror(errno));
    if (::fchmod(fd, 0644) != 0) throw Error(path + ": chmod failed: " + std::strerror(errno));
    if (::close(fd) != 0) {
      fd = -1;
      throw Error(path + ": close failed: " + std::strerror(errno));
    }
    fd = -1;
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
      throw Error(path + ": cannot rename the temporary file into place: " + std::strerror(errno));
    }
  } catch (...) {
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

ModelFile model_file_read(const std::string& path, const std::string& expected_task) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open model file: " + std::strerror(errno));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < sizeof(kMagic) || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    if (bytes.empty()) throw Error(path + ": truncated: the file is empty");
    throw Error(path + ": not a deepcart model file (expected magic 'DEEPCART')");
  }
  if (bytes.size() < kPrefixSize) {
    throw Error(path + ": truncated: expected at least " + std::to_string(kPrefixSize + 8 + kDigestSize) +
                " bytes, found " + std::to_string(bytes.size()));
  }
  const auto version = get<uint32_t>(bytes, 8);
  if (version != kModelFileVersion) {
    throw Error(path + ": format version " + std::to_string(version) +
                " is not supported: expected version " + std::to_string(kModelFileVersion));
  }
  const auto payload_size = get<uint64_t>(bytes, 12);
  const uint64_t expected_size = kPrefixSize + payload_size + kDigestSize;
  if (bytes.size() != expected_size) {
    throw Error(path + ": truncated: expected " + std::to_string(expected_size) + " bytes, found " +
                std::to_string(bytes.size()));
  }
  unsigned char digest[kDigestSize];
  sha256(bytes.data(), kPrefixSize + payload_size, digest);
  if (std::memcmp(digest, bytes.data() + kPrefixSize + payload_size, kDigestSize) != 0) {
    throw Error(path + ": checksum mismatch: file is corrupt");
  }

  ModelFile file;
  file.source = path;
  const auto header_size = get<uint64_t>(bytes, kPrefixSize);
  const size_t data_start = kPrefixSize + 8 + header_size;
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.substr(kPrefixSize + 8, header_size));
    file.task = header.at("task");
    file.arch = header.at("arch");
    file.checkpoint = header.at("checkpoint");
    file.hparams = header.at("hparams");
    file.meta = header.at("meta");
    file.metrics = header.at("metrics");
    file.state = header.at("state");
    for (const auto& t : header.at("tensors")) {
      std::vector<int64_t> shape = t.at("shape");
      const size_t offset = t.at("offset"), nbytes = t.at("bytes");
      auto options = at::TensorOptions().dtype(dtype_from_name(t.at("dtype"), path));
      at::Tensor value = torch::empty(shape, options);
      if (value.numel() * value.element_size() != nbytes || data_start + offset + nbytes > expected_size) {
        throw Error(path + ": tensor '" + t.at("name").get<std::string>() + "' has inconsistent size");
      }
      std::memcpy(value.data_ptr(), bytes.data() + data_start + offset, nbytes);
      file.tensors.emplace_back(t.at("name"), value);
    }
    for (const auto& b : header.at("blobs")) {
      const size_t offset = b.at("offset"), nbytes = b.at("bytes");
      file.blobs[b.at("name")] = bytes.substr(data_start + offset, nbytes);
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": malformed header: " + e.what());
  }
  if (!expected_task.empty() && file.task != expected_task) {
    throw Error(path + ": is a '" + file.task + "' model (" + file.arch + "): expected a '" +
                expected_task + "' model");
  }
  return file;
}

}  // namespace deepcart
