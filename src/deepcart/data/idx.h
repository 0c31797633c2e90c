// Reader for IDX files, the format of MNIST and Fashion-MNIST, gzip-compressed or plain. It is
// how the vision examples get their images: Debian's dataset-fashion-mnist package puts the files
// in /usr/share/datasets/fashion-mnist, and fashion_mnist() reads a split from there.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "deepcart/core/error.h"

namespace deepcart::data {

// IDX magic numbers for unsigned-byte data: 0x0000 08 NN, where NN is the number of dimensions.
inline constexpr uint32_t kIdxImagesMagic = 0x00000803;  // (count, rows, cols)
inline constexpr uint32_t kIdxLabelsMagic = 0x00000801;  // (count)

struct IdxArray {
  std::vector<int64_t> dims;  // e.g. {60000, 28, 28} or {60000}
  std::vector<uint8_t> data;  // product(dims) bytes, row-major
};

// Reads one IDX file of unsigned bytes. expected_magic is kIdxImagesMagic or kIdxLabelsMagic, or
// 0 to accept either. The file must hold exactly product(dims) data bytes after the header, and
// the product must not exceed 2^31 (a guard against a corrupt header allocating gigabytes).
// Throws Error "PATH: ..." for a missing or unreadable file, a wrong magic number, a truncated
// header or data, trailing bytes, an implausible size and corrupt gzip data.
IdxArray idx_read(const std::string& path, uint32_t expected_magic = 0);

struct IdxImages {
  int64_t count = 0, rows = 0, cols = 0;
  std::vector<uint8_t> pixels;  // (count, rows, cols), 0 = background, 255 = ink
  std::vector<uint8_t> labels;  // (count), each < num_classes
};

// Reads an images file (magic 0x803) and its labels file (magic 0x801) and checks they agree:
// "IMAGES and LABELS: 60000 images but 59999 labels", and
// "LABELS: label 12 at index 7 is out of range: expected 0..9". num_classes is 1..256.
IdxImages idx_read_images(const std::string& images_path, const std::string& labels_path,
                          int num_classes = 10);

// Where Debian's dataset-fashion-mnist package installs the four .gz files.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";
// $DEEPCART_FASHION_MNIST when set (a machine without the package, e.g. the GPU machine), else
// kFashionMnistDir.
std::string fashion_mnist_dir();

// One split of Fashion-MNIST: "train" (60000 images) or "test" (10000, the t10k files), each
// 28x28 with 10 classes. In dir, a file may also be stored uncompressed (the name without .gz).
// Throws Error "fashion-mnist: ..." for a bad split name, a missing folder (with the apt-get
// command that installs it) or images that are not 28x28.
IdxImages fashion_mnist(const std::string& split, const std::string& dir = fashion_mnist_dir());

// Class names by label: T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag,
// Ankle boot.
const std::vector<std::string>& fashion_mnist_classes();

}  // namespace deepcart::data
