// IDX reading through GzReader, so one code path serves .gz and uncompressed files. Data goes
// straight into the output vector in 1 MB pieces: the 47 MB of Fashion-MNIST training images
// cost one inflate pass and no per-byte work.
#include "deepcart/data/idx.h"

#include <cstdlib>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "deepcart/data/gz_reader.h"

namespace deepcart::data {
namespace {

constexpr size_t kChunkBytes = size_t{1} << 20;
constexpr uint64_t kMaxDataBytes = uint64_t{1} << 31;

std::string hex32(uint32_t value) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", static_cast<unsigned>(value));
  return buf;
}

uint32_t big_endian_u32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// Prefers the .gz name the Debian package uses; a file someone has gunzipped works as well.
std::string pick_file(const std::string& dir, const std::string& name) {
  const std::string gz = (std::filesystem::path(dir) / (name + ".gz")).string();
  const std::string plain = (std::filesystem::path(dir) / name).string();
  std::error_code ec;
  if (!std::filesystem::exists(gz, ec) && std::filesystem::exists(plain, ec)) return plain;
  return gz;
}

}  // namespace

IdxArray idx_read(const std::string& path, uint32_t expected_magic) {
  if (expected_magic != 0 && expected_magic != kIdxImagesMagic &&
      expected_magic != kIdxLabelsMagic) {
    throw Error("idx_read: expected_magic must be 0, 0x00000801 or 0x00000803, found " +
                hex32(expected_magic));
  }
  GzReader in(path);

  uint8_t head[4];
  const size_t head_bytes = in.read(head, sizeof head);
  if (head_bytes < sizeof head) {
    throw Error(path + ": truncated header: expected a 4-byte magic number, found " +
                std::to_string(head_bytes) + " bytes");
  }
  const uint32_t magic = big_endian_u32(head);
  if (expected_magic != 0) {
    if (magic != expected_magic) {
      throw Error(path + ": not an IDX file of the expected kind: expected magic " +
                  hex32(expected_magic) + ", found " + hex32(magic));
    }
  } else if (head[0] != 0 || head[1] != 0 || head[2] != 0x08) {
    throw Error(path + ": not an IDX file: expected magic 0x000008NN, found " + hex32(magic));
  } else if (magic != kIdxImagesMagic && magic != kIdxLabelsMagic) {
    throw Error(path +
                ": not an IDX file of the expected kind: expected magic 0x00000801 or "
                "0x00000803, found " +
                hex32(magic));
  }

  const int num_dims = head[3];
  std::vector<uint8_t> raw_dims(4 * static_cast<size_t>(num_dims));
  if (in.read(raw_dims.data(), raw_dims.size()) < raw_dims.size()) {
    throw Error(path + ": truncated header: expected " + std::to_string(num_dims) +
                " dimension sizes");
  }
  IdxArray out;
  // The product saturates just above the limit, so even 3 dims near 2^32 cannot overflow, and a
  // zero dimension still gives 0.
  uint64_t bytes = 1;
  std::string shape;
  for (int d = 0; d < num_dims; ++d) {
    const uint32_t dim = big_endian_u32(&raw_dims[4 * static_cast<size_t>(d)]);
    out.dims.push_back(dim);
    bytes = std::min(bytes * dim, kMaxDataBytes + 1);
    shape += (d == 0 ? "" : " x ") + std::to_string(dim);
  }
  if (bytes > kMaxDataBytes) {
    throw Error(path + ": implausible size: dimensions " + shape + " exceed " +
                std::to_string(kMaxDataBytes) + " bytes");
  }

  out.data.resize(bytes);
  const size_t found = in.read(out.data.data(), bytes);
  if (found < bytes) {
    throw Error(path + ": truncated: expected " + std::to_string(bytes) + " data bytes, found " +
                std::to_string(found));
  }
  // Reading past the data also makes zlib check the gzip trailer (CRC and length), which is what
  // catches corruption that still inflates to the right number of bytes.
  uint8_t extra = 0;
  if (in.read(&extra, 1) != 0) {
    throw Error(path + ": trailing data: expected " + std::to_string(bytes) +
                " data bytes, found more");
  }
  return out;
}

IdxImages idx_read_images(const std::string& images_path, const std::string& labels_path,
                          int num_classes) {
  if (num_classes < 1 || num_classes > 256) {
    throw Error("idx_read_images: num_classes must be 1..256, found " +
                std::to_string(num_classes));
  }
  IdxArray images = idx_read(images_path, kIdxImagesMagic);
  IdxArray labels = idx_read(labels_path, kIdxLabelsMagic);
  if (images.dims[0] != labels.dims[0]) {
    throw Error(images_path + " and " + labels_path + ": " + std::to_string(images.dims[0]) +
                " images but " + std::to_string(labels.dims[0]) + " labels");
  }
  for (size_t i = 0; i < labels.data.size(); ++i) {
    if (labels.data[i] >= num_classes) {
      throw Error(labels_path + ": label " + std::to_string(labels.data[i]) + " at index " +
                  std::to_string(i) + " is out of range: expected 0.." +
                  std::to_string(num_classes - 1));
    }
  }
  IdxImages out;
  out.count = images.dims[0];
  out.rows = images.dims[1];
  out.cols = images.dims[2];
  out.pixels = std::move(images.data);
  out.labels = std::move(labels.data);
  return out;
}

IdxImages fashion_mnist(const std::string& split, const std::string& dir) {
  std::string prefix;
  if (split == "train") {
    prefix = "train";
  } else if (split == "test") {
    prefix = "t10k";
  } else {
    throw Error("fashion-mnist: expected split 'train' or 'test', found '" + split + "'");
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    throw Error("fashion-mnist: " + dir +
                " not found: install Debian's dataset-fashion-mnist (apt-get install "
                "dataset-fashion-mnist)");
  }
  const std::string images_path = pick_file(dir, prefix + "-images-idx3-ubyte");
  const std::string labels_path = pick_file(dir, prefix + "-labels-idx1-ubyte");
  IdxImages out = idx_read_images(images_path, labels_path, 10);
  // The vision models are built for 28x28 inputs; a different MNIST-like set dropped into the
  // folder should fail here rather than as a shape error deep inside a model.
  if (out.rows != 28 || out.cols != 28) {
    throw Error(images_path + ": expected 28x28 images for fashion-mnist, found " +
                std::to_string(out.rows) + "x" + std::to_string(out.cols));
  }
  return out;
}

const std::vector<std::string>& fashion_mnist_classes() {
  static const std::vector<std::string> kClasses = {
      "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
      "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return kClasses;
}

std::string fashion_mnist_dir() {
  const char* env = std::getenv("DEEPCART_FASHION_MNIST");
  return env != nullptr && *env != '\0' ? env : kFashionMnistDir;
}

}  // namespace deepcart::data
