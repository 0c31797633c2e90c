#include "deepcart/core/model_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <torch/nn/module.h>
#include <torch/torch.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "deepcart/core/alloc_cap.h"
#include "deepcart/core/error.h"

namespace deepcart {
namespace {

template <typename T>
void put(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof(T));
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
    case at::kFloat:
      return "float32";
    case at::kDouble:
      return "float64";
    case at::kLong:
      return "int64";
    case at::kInt:
      return "int32";
    case at::kByte:
      return "uint8";
    case at::kBool:
      return "bool";
    default:
      throw Error(std::string("cannot store tensors of type ") + c10::toString(type));
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

// Removes the temporary files of earlier writes to the same target that died before renaming
// them (kill -9, power loss). A live writer holds a lock on its file, so only files nobody
// holds are removed.
void remove_stale_temporaries(const std::filesystem::path& dir, const std::string& prefix,
                              const std::string& own) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() != prefix.size() + 6 || name.compare(0, prefix.size(), prefix) != 0) continue;
    if (entry.path().string() == own) continue;
    const int fd = ::open(entry.path().c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) continue;
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) ::unlink(entry.path().c_str());
    ::close(fd);
  }
}

}  // namespace

void ModelFile::add_module(const std::string& prefix, const torch::nn::Module& module) {
  // A ModelFile holds CPU tensors whatever device trained it, so it loads anywhere.
  const c10::Device cpu(c10::DeviceType::CPU);
  for (const auto& item : module.named_parameters(true)) {
    tensors.emplace_back(prefix + item.key(), item.value().detach().to(cpu));
  }
  for (const auto& item : module.named_buffers(true)) {
    tensors.emplace_back(prefix + item.key(), item.value().detach().to(cpu));
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

const at::Tensor& ModelFile::tensor(const std::string& name, at::ScalarType type,
                                    std::vector<int64_t> sizes) const {
  if (!has_tensor(name)) throw Error(source + ": missing tensor '" + name + "'");
  const at::Tensor& t = tensor(name);
  bool ok = t.scalar_type() == type && t.dim() == static_cast<int64_t>(sizes.size());
  for (size_t i = 0; ok && i < sizes.size(); ++i)
    ok = sizes[i] < 0 || t.size(static_cast<int64_t>(i)) == sizes[i];
  if (!ok) {
    std::string want = "[";
    for (size_t i = 0; i < sizes.size(); ++i)
      want += (i ? ", " : "") + (sizes[i] < 0 ? std::string("*") : std::to_string(sizes[i]));
    throw Error(source + ": tensor '" + name + "': expected " + std::string(c10::toString(type)) +
                " of shape " + want + "], found " + c10::toString(t.scalar_type()) + " of shape " +
                shape_str(t.sizes()));
  }
  return t;
}

int64_t ModelFile::tensor_bytes() const {
  int64_t total = 0;
  for (const auto& t : tensors) total += t.second.numel() * t.second.element_size();
  return total;
}

void ModelFile::checked_load(const std::function<void()>& load) const {
  const auto named = [this](const std::string& message) {
    return message.rfind(source + ":", 0) == 0 ? message : source + ": " + message;
  };
  try {
    size_t stored = static_cast<size_t>(tensor_bytes());
    for (const auto& [name, bytes] : blobs) stored += bytes.size();
    AllocationCap cap(2 * stored + (64 << 20), "the network that the hyper-parameters describe");
    load();
  } catch (const Interrupted&) {
    throw;
  } catch (const Error& e) {
    throw Error(named(e.what()));
  } catch (const nlohmann::json::exception& e) {
    throw Error(named(std::string("invalid model: ") + e.what()));
  } catch (const c10::Error& e) {
    throw Error(named(std::string("invalid model: ") + e.what_without_backtrace()));
  } catch (const std::bad_alloc&) {
    throw Error(named("invalid model: out of memory while loading it"));
  } catch (const std::exception& e) {
    throw Error(named(std::string("invalid model: ") + e.what()));
  }
}

void check_hparams(const nlohmann::json& stored, const nlohmann::json& defaults,
                   const std::string& where) {
  if (!stored.is_object())
    throw Error(where + ": hyper-parameters: expected an object, found " + stored.type_name());
  constexpr int64_t kLimit = int64_t{1} << 31;
  const auto check_value = [&](const std::string& key, const nlohmann::json& value,
                               const nlohmann::json& like) {
    const std::string what = where + ": hyper-parameter '" + key + "'";
    if (like.is_number_integer()) {
      if (!value.is_number_integer())
        throw Error(what + ": expected an integer, found " + value.dump());
      const bool in_range = value.is_number_unsigned()
                                ? value.get<uint64_t>() < static_cast<uint64_t>(kLimit)
                                : value.get<int64_t>() > -kLimit && value.get<int64_t>() < kLimit;
      if (!in_range) throw Error(what + ": " + value.dump() + " is out of range (at most 2^31)");
    } else if (like.is_number()) {
      if (!value.is_number()) throw Error(what + ": expected a number, found " + value.dump());
    } else if (like.is_string() && !value.is_string()) {
      throw Error(what + ": expected a string, found " + value.dump());
    } else if (like.is_boolean() && !value.is_boolean()) {
      throw Error(what + ": expected true or false, found " + value.dump());
    }
  };
  for (const auto& [key, value] : stored.items()) {
    auto it = defaults.find(key);
    if (it == defaults.end()) throw Error(where + ": unknown hyper-parameter '" + key + "'");
    if (it->is_array()) {
      if (!value.is_array())
        throw Error(where + ": hyper-parameter '" + key + "': expected an array, found " +
                    value.dump());
      if (value.size() > 1024)
        throw Error(where + ": hyper-parameter '" + key + "': " + std::to_string(value.size()) +
                    " entries");
      if (!it->empty()) {
        for (const auto& v : value) check_value(key, v, (*it)[0]);
      }
    } else if (it->is_object()) {
      if (!value.is_object())
        throw Error(where + ": hyper-parameter '" + key + "': expected an object, found " +
                    value.dump());
    } else {
      check_value(key, value, *it);
    }
  }
}

void model_file_write(const ModelFile& file, const std::string& path) {
  // Header JSON indexes the data region that follows it.
  nlohmann::json header = {
      {"task", file.task},       {"arch", file.arch}, {"checkpoint", file.checkpoint},
      {"hparams", file.hparams}, {"meta", file.meta}, {"metrics", file.metrics},
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
  out.reserve(kModelFilePrefix + 8 + header_text.size() + data.size() + kModelFileDigest);
  out.append(kModelFileMagic, sizeof(kModelFileMagic));
  put<uint32_t>(out, kModelFileVersion);
  put<uint64_t>(out, 8 + header_text.size() + data.size());
  put<uint64_t>(out, header_text.size());
  out += header_text;
  out += data;
  unsigned char digest[kModelFileDigest];
  sha256(out.data(), out.size(), digest);
  out.append(reinterpret_cast<const char*>(digest), kModelFileDigest);

  // Atomic replace: a crash at any point leaves either the old file or the new one.
  std::filesystem::path target(path);
  std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : ".";
  const std::string tmp_prefix = "." + target.filename().string() + ".tmp.";
  std::string tmp = (dir / (tmp_prefix + "XXXXXX")).string();
  int fd = mkstemp(tmp.data());
  if (fd < 0)
    throw Error(path + ": cannot create a temporary file in " + dir.string() + ": " +
                std::strerror(errno));
  // Held until the file is renamed or the process dies: it tells later writers whether this
  // temporary file is still being written.
  ::flock(fd, LOCK_EX);
  remove_stale_temporaries(dir, tmp_prefix, tmp);
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
  const std::string bytes = model_file_read_bytes(path);
  const ModelFileLayout layout = model_file_parse(bytes, path);
  const nlohmann::json& header = layout.header;
  ModelFile file;
  file.source = path;
  file.task = header["task"];
  file.arch = header["arch"];
  file.checkpoint = header["checkpoint"];
  file.hparams = header["hparams"];
  file.meta = header["meta"];
  file.metrics = header["metrics"];
  file.state = header["state"];
  // Every entry was checked against the file's own bytes, so these allocations are bounded by
  // the file's size.
  for (const auto& t : layout.tensors) {
    at::Tensor value =
        torch::empty(t.shape, at::TensorOptions().dtype(dtype_from_name(t.dtype, path)));
    std::memcpy(value.data_ptr(), bytes.data() + layout.data_start + t.offset, t.bytes);
    file.tensors.emplace_back(t.name, value);
  }
  for (const auto& b : layout.blobs)
    file.blobs[b.name] = bytes.substr(layout.data_start + b.offset, b.bytes);
  if (!expected_task.empty()) file.expect_task(expected_task);
  return file;
}

ModelFile ModelFile::create(std::string task, std::string arch, nlohmann::json hparams,
                            nlohmann::json meta) {
  ModelFile file;
  file.task = std::move(task);
  file.arch = std::move(arch);
  file.hparams = std::move(hparams);
  file.meta = std::move(meta);
  return file;
}

void ModelFile::expect_task(const std::string& expected) const {
  if (task != expected) {
    throw Error(source + ": is a '" + task + "' model (" + arch + "): expected a '" + expected +
                "' model");
  }
}

}  // namespace deepcart
