// IDX reader contract: small hand-made files (gzip and plain) for the round trip and each exact
// error message, then the real Fashion-MNIST from Debian's package checked against its known
// class balance and pixel statistics.
#include "deepcart/data/idx.h"

#include <gtest/gtest.h>

#include <stdlib.h>
#include <zlib.h>
#include "temp_dir.h"

#include <array>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>
#include "error_of.h"

namespace deepcart::data {
namespace {

// The header and data of an IDX file as raw bytes: big-endian magic, then each dimension.
std::string idx_bytes(uint32_t magic, const std::vector<uint32_t>& dims, const std::string& data) {
  std::string out;
  auto put_u32 = [&out](uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
  };
  put_u32(magic);
  for (uint32_t d : dims) put_u32(d);
  return out + data;
}

using test::error_of;

bool in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

class IdxTest : public ::deepcart::test_data::TempDirTest {
 protected:
  std::string write_plain(const std::string& name, const std::string& bytes) {
    return write(name, bytes);
  }

  std::string write_gz(const std::string& name, const std::string& bytes) {
    const std::string path = dir_ + "/" + name;
    gzFile f = gzopen(path.c_str(), "wb");
    EXPECT_NE(f, nullptr) << path;
    if (f == nullptr) return path;
    if (!bytes.empty()) {
      EXPECT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())),
                static_cast<int>(bytes.size()));
    }
    EXPECT_EQ(gzclose(f), Z_OK);
    return path;
  }

  static std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
};

// Three 2x2 images with distinct pixels (0 and 255 included) and labels 9, 0, 4.
const std::string kPixels("\x00\x01\x02\x03\x10\x20\x30\x40\xfd\xfe\xff\x80", 12);
const std::string kLabels("\x09\x00\x04", 3);

TEST_F(IdxTest, RoundTripGzip) {
  const std::string images = write_gz("img.gz", idx_bytes(0x803, {3, 2, 2}, kPixels));
  const std::string labels = write_gz("lbl.gz", idx_bytes(0x801, {3}, kLabels));

  const IdxImages set = idx_read_images(images, labels);
  EXPECT_EQ(set.count, 3);
  EXPECT_EQ(set.rows, 2);
  EXPECT_EQ(set.cols, 2);
  EXPECT_EQ(set.pixels, std::vector<uint8_t>(kPixels.begin(), kPixels.end()));
  EXPECT_EQ(set.labels, (std::vector<uint8_t>{9, 0, 4}));

  const IdxArray raw = idx_read(images);
  EXPECT_EQ(raw.dims, (std::vector<int64_t>{3, 2, 2}));
  EXPECT_EQ(raw.data.size(), 12u);
}

TEST_F(IdxTest, RoundTripPlain) {
  const std::string images = write_plain("img", idx_bytes(0x803, {3, 2, 2}, kPixels));
  const std::string labels = write_plain("lbl", idx_bytes(0x801, {3}, kLabels));

  const IdxImages set = idx_read_images(images, labels);
  EXPECT_EQ(set.count, 3);
  EXPECT_EQ(set.rows, 2);
  EXPECT_EQ(set.cols, 2);
  EXPECT_EQ(set.pixels, std::vector<uint8_t>(kPixels.begin(), kPixels.end()));
  EXPECT_EQ(set.labels, (std::vector<uint8_t>{9, 0, 4}));
}

TEST_F(IdxTest, ZeroMagicAcceptsImagesAndLabels) {
  const IdxArray labels = idx_read(write_plain("lbl", idx_bytes(0x801, {3}, kLabels)));
  EXPECT_EQ(labels.dims, (std::vector<int64_t>{3}));
  EXPECT_EQ(labels.data, (std::vector<uint8_t>{9, 0, 4}));
  const IdxArray images = idx_read(write_plain("img", idx_bytes(0x803, {3, 2, 2}, kPixels)));
  EXPECT_EQ(images.dims, (std::vector<int64_t>{3, 2, 2}));
}

TEST_F(IdxTest, EmptyArrayIsValid) {
  const IdxArray empty = idx_read(write_gz("e.gz", idx_bytes(0x803, {0, 28, 28}, "")), 0x803);
  EXPECT_EQ(empty.dims, (std::vector<int64_t>{0, 28, 28}));
  EXPECT_TRUE(empty.data.empty());
}

TEST_F(IdxTest, WrongMagic) {
  const std::string labels = write_gz("lbl.gz", idx_bytes(0x801, {3}, kLabels));
  EXPECT_EQ(error_of([&] { idx_read(labels, 0x803); }),
            labels +
                ": not an IDX file of the expected kind: expected magic 0x00000803, found "
                "0x00000801");
  const std::string images = write_plain("img", idx_bytes(0x803, {3, 2, 2}, kPixels));
  EXPECT_EQ(error_of([&] { idx_read_images(images, images); }),
            images +
                ": not an IDX file of the expected kind: expected magic 0x00000801, found "
                "0x00000803");
}

TEST_F(IdxTest, NotAnIdxFile) {
  const std::string png = write_plain("a.png", std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(error_of([&] { idx_read(png); }),
            png + ": not an IDX file: expected magic 0x000008NN, found 0x89504e47");
  // Right layout, but 32-bit integers (type 0x0c) rather than unsigned bytes.
  const std::string ints = write_plain("ints", idx_bytes(0x0c01, {1}, std::string(4, '\0')));
  EXPECT_EQ(error_of([&] { idx_read(ints); }),
            ints + ": not an IDX file: expected magic 0x000008NN, found 0x00000c01");
  const std::string matrix = write_plain("m", idx_bytes(0x802, {2, 2}, "abcd"));
  EXPECT_EQ(error_of([&] { idx_read(matrix); }),
            matrix +
                ": not an IDX file of the expected kind: expected magic 0x00000801 or "
                "0x00000803, found 0x00000802");
}

TEST_F(IdxTest, TruncatedData) {
  const std::string plain = write_plain("img", idx_bytes(0x803, {3, 2, 2}, kPixels.substr(0, 10)));
  EXPECT_EQ(error_of([&] { idx_read(plain, 0x803); }),
            plain + ": truncated: expected 12 data bytes, found 10");
  const std::string gz = write_gz("lbl.gz", idx_bytes(0x801, {5}, kLabels));
  EXPECT_EQ(error_of([&] { idx_read(gz, 0x801); }),
            gz + ": truncated: expected 5 data bytes, found 3");
}

TEST_F(IdxTest, CutOffGzipStreamCountsTheBytesItHolds) {
  // 4 MB of incompressible bytes, so the cut (an interrupted download) falls inside the data and
  // inside one of the 1 MB read pieces; the message must count the bytes that did come out.
  std::string data(4 << 20, '\0');
  uint32_t state = 12345;
  for (char& c : data) {
    state = state * 1664525u + 1013904223u;
    c = static_cast<char>(state >> 24);
  }
  const std::string whole = read_file(write_gz("big.gz", idx_bytes(0x801, {4u << 20}, data)));
  const std::string cut = write_plain("cut.gz", whole.substr(0, whole.size() / 2));
  const std::string message = error_of([&] { idx_read(cut); });
  const std::string expected_start = cut + ": truncated: expected 4194304 data bytes, found ";
  ASSERT_EQ(message.substr(0, expected_start.size()), expected_start) << message;
  const long found = std::stol(message.substr(expected_start.size()));
  // Incompressible data is stored almost 1:1, so half the file holds about half the data.
  EXPECT_GT(found, 2000000);
  EXPECT_LT(found, 2100000);
}

TEST_F(IdxTest, TruncatedHeader) {
  const std::string two_dims = write_gz("img.gz", idx_bytes(0x803, {3, 2}, ""));
  EXPECT_EQ(error_of([&] { idx_read(two_dims); }),
            two_dims + ": truncated header: expected 3 dimension sizes");
  const std::string short_magic = write_plain("s", std::string("\x00\x00", 2));
  EXPECT_EQ(error_of([&] { idx_read(short_magic); }),
            short_magic + ": truncated header: expected a 4-byte magic number, found 2 bytes");
  const std::string empty = write_plain("empty", "");
  EXPECT_EQ(error_of([&] { idx_read(empty); }),
            empty + ": truncated header: expected a 4-byte magic number, found 0 bytes");
}

TEST_F(IdxTest, TrailingData) {
  const std::string path = write_gz("lbl.gz", idx_bytes(0x801, {2}, kLabels));
  EXPECT_EQ(error_of([&] { idx_read(path); }),
            path + ": trailing data: expected 2 data bytes, found more");
}

TEST_F(IdxTest, ImplausibleSize) {
  const std::string path = write_plain("huge", idx_bytes(0x803, {4000000000u, 28, 28}, ""));
  EXPECT_EQ(error_of([&] { idx_read(path); }),
            path + ": implausible size: dimensions 4000000000 x 28 x 28 exceed 2147483648 bytes");
  // 2^22 x 2^21 x 2^21 = 2^64 would wrap to 0 bytes in 64-bit arithmetic and pass as empty.
  const std::string wraps =
      write_plain("wraps", idx_bytes(0x803, {1u << 22, 1u << 21, 1u << 21}, ""));
  EXPECT_EQ(
      error_of([&] { idx_read(wraps); }),
      wraps + ": implausible size: dimensions 4194304 x 2097152 x 2097152 exceed 2147483648 bytes");
  // Exactly 2^31 + 1 bytes is refused too, so the limit is where the message says.
  const std::string over = write_plain("over", idx_bytes(0x801, {2147483649u}, ""));
  EXPECT_EQ(error_of([&] { idx_read(over); }),
            over + ": implausible size: dimensions 2147483649 exceed 2147483648 bytes");
}

TEST_F(IdxTest, CountMismatch) {
  const std::string images = write_gz("img.gz", idx_bytes(0x803, {3, 2, 2}, kPixels));
  const std::string labels = write_gz("lbl.gz", idx_bytes(0x801, {2}, kLabels.substr(0, 2)));
  EXPECT_EQ(error_of([&] { idx_read_images(images, labels); }),
            images + " and " + labels + ": 3 images but 2 labels");
}

TEST_F(IdxTest, LabelOutOfRange) {
  const std::string images = write_gz("img.gz", idx_bytes(0x803, {3, 2, 2}, kPixels));
  const std::string labels = write_gz("lbl.gz", idx_bytes(0x801, {3}, std::string("\x01\x0c\x0d")));
  EXPECT_EQ(error_of([&] { idx_read_images(images, labels); }),
            labels + ": label 12 at index 1 is out of range: expected 0..9");
  // The boundary: 10 is the first label out of range for 10 classes.
  const std::string ten = write_gz("ten.gz", idx_bytes(0x801, {3}, std::string("\x09\x00\x0a", 3)));
  EXPECT_EQ(error_of([&] { idx_read_images(images, ten); }),
            ten + ": label 10 at index 2 is out of range: expected 0..9");
  // Label 9 is fine with 10 classes but not with 5.
  const std::string ok = write_gz("ok.gz", idx_bytes(0x801, {3}, kLabels));
  EXPECT_EQ(error_of([&] { idx_read_images(images, ok, 5); }),
            ok + ": label 9 at index 0 is out of range: expected 0..4");
  EXPECT_EQ(error_of([&] { idx_read_images(images, ok, 0); }),
            "idx_read_images: num_classes must be 1..256, found 0");
}

TEST_F(IdxTest, MissingFile) {
  const std::string path = dir_ + "/nope.gz";
  EXPECT_EQ(error_of([&] { idx_read(path); }), path + ": cannot open: No such file or directory");
}

TEST_F(IdxTest, DirectoryIsNotReadable) {
  EXPECT_EQ(error_of([&] { idx_read(dir_); }), dir_ + ": cannot read: Is a directory");
}

TEST_F(IdxTest, CorruptGzipInTheMiddle) {
  // Structured but not trivially compressible pixels, so the deflate stream has real Huffman
  // blocks for the flipped bytes to land in.
  std::string pixels(50 * 28 * 28, '\0');
  for (size_t i = 0; i < pixels.size(); ++i) {
    pixels[i] = static_cast<char>((i * 7 + (i / 28) * 13 + (i * i) % 11) % 256);
  }
  const std::string path = write_gz("img.gz", idx_bytes(0x803, {50, 28, 28}, pixels));
  ASSERT_NO_THROW(idx_read(path, 0x803));

  std::string bytes = read_file(path);
  ASSERT_GT(bytes.size(), 200u);
  for (size_t i = bytes.size() / 2; i < bytes.size() / 2 + 4; ++i) bytes[i] ^= 0x5a;
  write_plain("img.gz", bytes);

  const std::string message = error_of([&] { idx_read(path, 0x803); });
  const std::string expected_start = path + ": corrupt gzip data: ";
  ASSERT_EQ(message.substr(0, expected_start.size()), expected_start) << message;
  // zlib's own words follow (which ones depends on where the flip lands and the zlib build),
  // without zlib's copy of the path.
  const std::string zlib_words = message.substr(expected_start.size());
  EXPECT_FALSE(zlib_words.empty());
  EXPECT_EQ(zlib_words.find(path), std::string::npos) << message;
}

TEST_F(IdxTest, CorruptGzipChecksum) {
  // Data that inflates to the right size but fails the CRC is still refused.
  const std::string path = write_gz("lbl.gz", idx_bytes(0x801, {3}, kLabels));
  std::string bytes = read_file(path);
  bytes[bytes.size() - 8] ^= 0x01;  // first byte of the CRC-32 in the gzip trailer
  write_plain("lbl.gz", bytes);
  EXPECT_EQ(error_of([&] { idx_read(path); }), path + ": corrupt gzip data: incorrect data check");
}

TEST_F(IdxTest, BadExpectedMagic) {
  EXPECT_EQ(error_of([&] { idx_read(dir_ + "/x", 0x802); }),
            "idx_read: expected_magic must be 0, 0x00000801 or 0x00000803, found 0x00000802");
}

TEST_F(IdxTest, FashionMnistArgumentsAndFolder) {
  EXPECT_EQ(error_of([&] { fashion_mnist("x"); }),
            "fashion-mnist: expected split 'train' or 'test', found 'x'");
  const std::string missing = dir_ + "/no-such-folder";
  EXPECT_EQ(error_of([&] { fashion_mnist("train", missing); }),
            "fashion-mnist: " + missing +
                " not found: install Debian's dataset-fashion-mnist (apt-get install "
                "dataset-fashion-mnist)");
  // A folder holding the test split only, one file gunzipped: the test split reads, the train
  // split names the missing .gz file.
  write_gz("t10k-images-idx3-ubyte.gz",
           idx_bytes(0x803, {2, 28, 28}, std::string(2 * 28 * 28, '\x07')));
  write_plain("t10k-labels-idx1-ubyte", idx_bytes(0x801, {2}, std::string("\x03\x08")));
  const IdxImages test = fashion_mnist("test", dir_);
  EXPECT_EQ(test.count, 2);
  EXPECT_EQ(test.labels, (std::vector<uint8_t>{3, 8}));
  EXPECT_EQ(error_of([&] { fashion_mnist("train", dir_); }),
            dir_ + "/train-images-idx3-ubyte.gz: cannot open: No such file or directory");
  write_gz("train-images-idx3-ubyte.gz", idx_bytes(0x803, {1, 32, 32}, std::string(1024, '\0')));
  write_gz("train-labels-idx1-ubyte.gz", idx_bytes(0x801, {1}, std::string(1, '\0')));
  EXPECT_EQ(
      error_of([&] { fashion_mnist("train", dir_); }),
      dir_ + "/train-images-idx3-ubyte.gz: expected 28x28 images for fashion-mnist, found 32x32");
}

TEST(FashionMnistTest, ClassNames) {
  EXPECT_EQ(fashion_mnist_classes(),
            (std::vector<std::string>{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                      "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}));
}

// The real data from Debian's dataset-fashion-mnist: skipped where it is not installed, except
// in CI, where a missing package is a broken build image.
TEST(FashionMnistTest, RealTrainAndTestSplits) {
  if (!std::filesystem::is_directory(kFashionMnistDir)) {
    if (in_ci()) FAIL() << kFashionMnistDir << " not found (CI): install dataset-fashion-mnist";
    GTEST_SKIP() << kFashionMnistDir << " not found: apt-get install dataset-fashion-mnist";
  }
  const auto start = std::chrono::steady_clock::now();
  const IdxImages train = fashion_mnist("train");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "fashion_mnist(\"train\") read in " << seconds << " s\n";
  RecordProperty("train_read_seconds", std::to_string(seconds));

  ASSERT_EQ(train.count, 60000);
  EXPECT_EQ(train.rows, 28);
  EXPECT_EQ(train.cols, 28);
  ASSERT_EQ(train.pixels.size(), 60000u * 28 * 28);
  ASSERT_EQ(train.labels.size(), 60000u);
  std::array<int, 10> train_per_class{};
  for (uint8_t label : train.labels) ++train_per_class[label];
  for (int c = 0; c < 10; ++c) EXPECT_EQ(train_per_class[c], 6000) << "class " << c;
  // The first training image is an ankle boot in every copy of the data set.
  EXPECT_EQ(train.labels[0], 9);

  // Reference: the normalisation constants used for Fashion-MNIST, mean 0.2860 and std 0.3530
  // of pixel / 255 over the training set.
  double sum = 0, sum_sq = 0;
  for (uint8_t p : train.pixels) {
    const double x = p / 255.0;
    sum += x;
    sum_sq += x * x;
  }
  const double n = static_cast<double>(train.pixels.size());
  const double mean = sum / n;
  const double std_dev = std::sqrt(sum_sq / n - mean * mean);
  EXPECT_NEAR(mean, 0.2860, 1e-3);
  EXPECT_NEAR(std_dev, 0.3530, 1e-3);

  const IdxImages test = fashion_mnist("test");
  ASSERT_EQ(test.count, 10000);
  EXPECT_EQ(test.rows, 28);
  EXPECT_EQ(test.cols, 28);
  ASSERT_EQ(test.labels.size(), 10000u);
  std::array<int, 10> test_per_class{};
  for (uint8_t label : test.labels) ++test_per_class[label];
  for (int c = 0; c < 10; ++c) EXPECT_EQ(test_per_class[c], 1000) << "class " << c;
}

}  // namespace
}  // namespace deepcart::data
