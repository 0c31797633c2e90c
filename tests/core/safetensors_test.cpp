// The safetensors reader: files written byte by byte here (not by the reader's own code), read
// back with every supported dtype, and each kind of damage named in the error.
#include "deepcart/core/safetensors.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <vector>

#include "error_of.h"
#include "temp_dir.h"

namespace deepcart {
namespace {

struct Entry {
  std::string name, dtype;
  nlohmann::json shape;
  std::string bytes;
};

template <typename T>
std::string bytes_of(const std::vector<T>& values) {
  std::string out(values.size() * sizeof(T), '\0');
  std::memcpy(out.data(), values.data(), out.size());  // this machine is little-endian
  return out;
}

std::string u64_le(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}

// The header length, the header text, the data.
std::string file_of(const std::string& header, const std::string& data) {
  return u64_le(header.size()) + header + data;
}

// A well-formed file: the entries' data one after another, offsets to match.
std::string file_of(const std::vector<Entry>& entries) {
  nlohmann::json header = {{"__metadata__", {{"format", "pt"}}}};
  std::string data;
  for (const Entry& e : entries) {
    header[e.name] = {{"dtype", e.dtype},
                      {"shape", e.shape},
                      {"data_offsets", {data.size(), data.size() + e.bytes.size()}}};
    data += e.bytes;
  }
  return file_of(header.dump(), data);
}

class SafetensorsTest : public test_data::TempDirTest {
 protected:
  // The reader's error for a file with these bytes.
  std::string error_for(const std::string& bytes) {
    const std::string path = write("bad.safetensors", bytes);
    return test::error_of([&] { safetensors_read(path); });
  }
  std::string path() const { return dir_ + "/bad.safetensors"; }
};

TEST_F(SafetensorsTest, ReadsEveryDtypeWithItsShapeAndValues) {
  const std::vector<Entry> entries = {
      {"f32", "F32", {2, 3}, bytes_of<float>({1.5f, -2.f, 0.f, 3.25f, 1e-3f, -7.f})},
      {"f64", "F64", {2}, bytes_of<double>({0.1, -1e300})},
      // 1, -2, 0.5 in IEEE half precision and in bfloat16, bit by bit.
      {"f16", "F16", {3}, bytes_of<uint16_t>({0x3C00, 0xC000, 0x3800})},
      {"bf16", "BF16", {3}, bytes_of<uint16_t>({0x3F80, 0xC000, 0x3F00})},
      {"i64", "I64", {1, 2}, bytes_of<int64_t>({-5, int64_t{1} << 40})},
      {"i32", "I32", {2}, bytes_of<int32_t>({7, -8})},
      {"i16", "I16", {1}, bytes_of<int16_t>({-300})},
      {"i8", "I8", {2}, bytes_of<int8_t>({-1, 2})},
      {"u8", "U8", {2}, bytes_of<uint8_t>({200, 3})},
      {"flags", "BOOL", {2}, bytes_of<uint8_t>({1, 0})},
      {"scalar", "I64", nlohmann::json::array(), bytes_of<int64_t>({42})},
      {"empty", "F32", {4, 0}, ""},
  };
  auto t = safetensors_read(write("all.safetensors", file_of(entries)));
  ASSERT_EQ(t.size(), entries.size()) << "__metadata__ is not a tensor";
  EXPECT_TRUE(torch::equal(t.at("f32"), torch::tensor({{1.5f, -2.f, 0.f}, {3.25f, 1e-3f, -7.f}})));
  EXPECT_TRUE(torch::equal(t.at("f64"), torch::tensor({0.1, -1e300}, torch::kDouble)));
  const at::Tensor halves = torch::tensor({1.f, -2.f, 0.5f});
  EXPECT_EQ(t.at("f16").scalar_type(), at::kHalf);
  EXPECT_TRUE(torch::equal(t.at("f16").to(at::kFloat), halves));
  EXPECT_EQ(t.at("bf16").scalar_type(), at::kBFloat16);
  EXPECT_TRUE(torch::equal(t.at("bf16").to(at::kFloat), halves));
  EXPECT_TRUE(torch::equal(t.at("i64"), torch::tensor({{int64_t{-5}, int64_t{1} << 40}})));
  EXPECT_TRUE(torch::equal(t.at("i32"), torch::tensor({7, -8}, torch::kInt)));
  EXPECT_TRUE(torch::equal(t.at("i16"), torch::tensor({-300}, torch::kShort)));
  EXPECT_TRUE(torch::equal(t.at("i8"), torch::tensor({-1, 2}, torch::kChar)));
  EXPECT_TRUE(torch::equal(t.at("u8"), torch::tensor({200, 3}, torch::kByte)));
  EXPECT_TRUE(torch::equal(t.at("flags"), torch::tensor({true, false})));
  EXPECT_EQ(t.at("scalar").dim(), 0);
  EXPECT_EQ(t.at("scalar").item<int64_t>(), 42);
  EXPECT_EQ(t.at("empty").sizes(), (std::vector<int64_t>{4, 0}));
}

TEST_F(SafetensorsTest, MissingAndTruncatedFiles) {
  const std::string missing = dir_ + "/none.safetensors";
  EXPECT_EQ(test::error_of([&] { safetensors_read(missing); }),
            missing + ": cannot open: No such file or directory");
  EXPECT_EQ(error_for(std::string("\x10\0\0", 3)),
            path() + ": truncated: expected at least 8 bytes (the header length), found 3");
  EXPECT_EQ(error_for(u64_le(100) + "{\"a\":"),
            path() + ": truncated: expected a header of 100 bytes, found 5");
  EXPECT_EQ(error_for(u64_le(uint64_t{1} << 40) + "{}"),
            path() + ": header length 1099511627776 exceeds the limit of 100000000 bytes");
  // The header promises 8 bytes of data that the file does not have.
  EXPECT_EQ(error_for(file_of(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", "abcd")),
            path() + ": tensor 'w': data_offsets [0, 8] lie outside the data (4 bytes)");
}

TEST_F(SafetensorsTest, BadHeaders) {
  EXPECT_EQ(error_for(file_of("{\"w\": [1, 2", "")),
            path() +
                ": bad JSON header: [json.exception.parse_error.101] parse error at line 1, column "
                "12: syntax error while parsing array - unexpected end of input; expected ']'");
  EXPECT_EQ(error_for(file_of("[1, 2]", "")),
            path() + ": expected a JSON object as the header, found array");
  EXPECT_EQ(error_for(file_of(R"({"w": 3})", "")),
            path() + ": tensor 'w': expected an object, found number");
  EXPECT_EQ(error_for(file_of(R"({"w":{"shape":[1],"data_offsets":[0,4]}})", "abcd")),
            path() + ": tensor 'w': 'dtype' is missing");
  EXPECT_EQ(error_for(file_of(R"({"w":{"dtype":"Q4","shape":[1],"data_offsets":[0,4]}})", "abcd")),
            path() +
                ": tensor 'w': unknown dtype \"Q4\" (expected one of F64, F32, F16, BF16, I64, "
                "I32, I16, I8, U8, BOOL)");
  EXPECT_EQ(
      error_for(file_of(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", "abcd")),
      path() + ": tensor 'w': 'shape': expected non-negative sizes, found [-1]");
  EXPECT_EQ(error_for(file_of(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[4]}})", "abcd")),
            path() + ": tensor 'w': 'data_offsets': expected [begin, end], found [4]");
}

TEST_F(SafetensorsTest, OffsetsAndSizesMustAgree) {
  const std::string data(16, 'x');
  EXPECT_EQ(error_for(file_of(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", data)),
            path() + ": tensor 'w': data_offsets [8, 4] lie outside the data (16 bytes)");
  EXPECT_EQ(error_for(file_of(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[16,20]}})", data)),
            path() + ": tensor 'w': data_offsets [16, 20] lie outside the data (16 bytes)");
  EXPECT_EQ(error_for(file_of(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", data)),
            path() + ": tensor 'w': shape [3] of F32 does not fill its data_offsets' 8 bytes");
  EXPECT_EQ(
      error_for(file_of(
          R"({"w":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", data)),
      path() + ": tensor 'w': shape [4294967296,4294967296] has more elements than can exist");
  // 2^62 elements exist, but not their 2^65 bytes.
  EXPECT_EQ(
      error_for(file_of(
          R"({"w":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,8]}})", data)),
      path() +
          ": tensor 'w': shape [4611686018427387904] of F64 does not fill its data_offsets' "
          "8 bytes");
}

}  // namespace
}  // namespace deepcart
