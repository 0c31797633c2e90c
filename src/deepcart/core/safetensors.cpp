#include "deepcart/core/safetensors.h"

#include <torch/torch.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "deepcart/core/error.h"

namespace deepcart {
namespace {

// The data is read straight into the tensors' memory, which works as the file's bytes only on
// a little-endian machine.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors_read: little-endian only");

// The limit the reference implementation sets: a longer header is damage, not a model.
constexpr uint64_t kMaxHeader = 100'000'000;

struct Dtype {
  const char* name;
  at::ScalarType type;
  uint64_t size;
};

constexpr Dtype kDtypes[] = {{"F64", at::kDouble, 8}, {"F32", at::kFloat, 4},
                             {"F16", at::kHalf, 2},   {"BF16", at::kBFloat16, 2},
                             {"I64", at::kLong, 8},   {"I32", at::kInt, 4},
                             {"I16", at::kShort, 2},  {"I8", at::kChar, 1},
                             {"U8", at::kByte, 1},    {"BOOL", at::kBool, 1}};

const Dtype& dtype_of(const nlohmann::json& value, const std::string& where) {
  std::string known;
  for (const Dtype& d : kDtypes) {
    if (value.is_string() && value.get_ref<const std::string&>() == d.name) return d;
    known += std::string(known.empty() ? "" : ", ") + d.name;
  }
  throw Error(where + ": unknown dtype " + value.dump() + " (expected one of " + known + ")");
}

// The shape's sizes and element count, overflow-checked.
std::vector<int64_t> shape_of(const nlohmann::json& value, const std::string& where,
                              uint64_t* numel) {
  if (!value.is_array())
    throw Error(where + ": 'shape': expected an array of sizes, found " + value.dump());
  std::vector<int64_t> shape;
  *numel = 1;
  for (const auto& d : value) {
    if (!d.is_number_unsigned() ||
        d.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      throw Error(where + ": 'shape': expected non-negative sizes, found " + value.dump());
    }
    const uint64_t size = d.get<uint64_t>();
    if (size != 0 && *numel > std::numeric_limits<uint64_t>::max() / size)
      throw Error(where + ": shape " + value.dump() + " has more elements than can exist");
    *numel *= size;
    shape.push_back(static_cast<int64_t>(size));
  }
  return shape;
}

std::pair<uint64_t, uint64_t> offsets_of(const nlohmann::json& value, const std::string& where,
                                         uint64_t data_size) {
  if (!value.is_array() || value.size() != 2 || !value[0].is_number_unsigned() ||
      !value[1].is_number_unsigned()) {
    throw Error(where + ": 'data_offsets': expected [begin, end], found " + value.dump());
  }
  const uint64_t begin = value[0].get<uint64_t>(), end = value[1].get<uint64_t>();
  if (begin > end || end > data_size) {
    throw Error(where + ": data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                "] lie outside the data (" + std::to_string(data_size) + " bytes)");
  }
  return {begin, end};
}

const nlohmann::json& field(const nlohmann::json& entry, const char* key,
                            const std::string& where) {
  auto it = entry.find(key);
  if (it == entry.end()) throw Error(where + ": '" + key + "' is missing");
  return *it;
}

void read_exactly(std::ifstream& in, uint64_t offset, char* out, uint64_t n,
                  const std::string& path) {
  in.seekg(static_cast<std::streamoff>(offset));
  in.read(out, static_cast<std::streamsize>(n));
  if (static_cast<uint64_t>(in.gcount()) != n) {
    throw Error(path + ": truncated: expected " + std::to_string(n) + " bytes at offset " +
                std::to_string(offset) + ", found " + std::to_string(in.gcount()));
  }
}

}  // namespace

std::map<std::string, at::Tensor> safetensors_read(const std::filesystem::path& file) {
  const std::string path = file.string();
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(path + ": cannot open: " + std::strerror(errno));
  in.seekg(0, std::ios::end);
  const uint64_t file_size = static_cast<uint64_t>(in.tellg());
  if (file_size < 8) {
    throw Error(path + ": truncated: expected at least 8 bytes (the header length), found " +
                std::to_string(file_size));
  }
  uint64_t header_size = 0;
  read_exactly(in, 0, reinterpret_cast<char*>(&header_size), 8, path);
  if (header_size > kMaxHeader) {
    throw Error(path + ": header length " + std::to_string(header_size) + " exceeds the limit of " +
                std::to_string(kMaxHeader) + " bytes");
  }
  if (header_size > file_size - 8) {
    throw Error(path + ": truncated: expected a header of " + std::to_string(header_size) +
                " bytes, found " + std::to_string(file_size - 8));
  }
  std::string text(header_size, '\0');
  read_exactly(in, 8, text.data(), header_size, path);
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(path + ": bad JSON header: " + e.what());
  }
  if (!header.is_object())
    throw Error(path + ": expected a JSON object as the header, found " + header.type_name());

  const uint64_t data_start = 8 + header_size, data_size = file_size - data_start;
  std::map<std::string, at::Tensor> tensors;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") continue;
    const std::string where = path + ": tensor '" + name + "'";
    if (!entry.is_object())
      throw Error(where + ": expected an object, found " + std::string(entry.type_name()));
    const Dtype& dtype = dtype_of(field(entry, "dtype", where), where);
    uint64_t numel = 0;
    std::vector<int64_t> shape = shape_of(field(entry, "shape", where), where, &numel);
    auto [begin, end] = offsets_of(field(entry, "data_offsets", where), where, data_size);
    if (numel > std::numeric_limits<uint64_t>::max() / dtype.size ||
        numel * dtype.size != end - begin) {
      throw Error(where + ": shape " + field(entry, "shape", where).dump() + " of " + dtype.name +
                  " does not fill its data_offsets' " + std::to_string(end - begin) + " bytes");
    }
    at::Tensor t = torch::empty(shape, torch::dtype(dtype.type));
    if (numel > 0)
      read_exactly(in, data_start + begin, static_cast<char*>(t.data_ptr()), end - begin, path);
    tensors.emplace(name, std::move(t));
  }
  return tensors;
}

}  // namespace deepcart
