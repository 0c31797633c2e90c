#include "deepcart/vision/image_set.h"

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "deepcart/core/error.h"
#include "deepcart/data/csv_reader.h"
#include "deepcart/data/idx.h"

namespace deepcart::vision {
namespace {

namespace fs = std::filesystem;

bool is_image_name(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

std::vector<std::string> split_attributes(const std::string& field) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= field.size()) {
    size_t end = field.find('|', start);
    if (end == std::string::npos) end = field.size();
    std::string a = field.substr(start, end - start);
    a.erase(0, a.find_first_not_of(" \t"));
    a.erase(a.find_last_not_of(" \t") + 1);
    if (!a.empty()) out.push_back(a);
    start = end + 1;
  }
  return out;
}

struct Entry {
  std::string path, category;
  std::vector<std::string> attributes;
};

ImageSet decode_entries(const std::vector<Entry>& entries, bool with_attributes,
                        const ImageSourceOptions& o, const std::string& source) {
  if (entries.empty()) throw Error(source + ": no PNG or JPEG images found");
  if (o.channels != 1 && o.channels != 3) {
    throw Error("--channels: expected 1 or 3, found " + std::to_string(o.channels));
  }
  if (o.size < 8 || o.size > 1024)
    throw Error("--size: expected 8 to 1024, found " + std::to_string(o.size));
  ImageSet set;
  std::set<std::string> classes, attributes;
  for (const auto& e : entries) {
    classes.insert(e.category);
    attributes.insert(e.attributes.begin(), e.attributes.end());
  }
  set.classes.assign(classes.begin(), classes.end());
  if (with_attributes) set.attribute_names.assign(attributes.begin(), attributes.end());
  std::map<std::string, int64_t> class_index, attribute_index;
  for (size_t i = 0; i < set.classes.size(); ++i)
    class_index[set.classes[i]] = static_cast<int64_t>(i);
  for (size_t i = 0; i < set.attribute_names.size(); ++i)
    attribute_index[set.attribute_names[i]] = static_cast<int64_t>(i);

  const int64_t n = static_cast<int64_t>(entries.size());
  set.images = torch::empty({n, o.channels, o.size, o.size}, torch::kUInt8);
  set.labels = torch::empty({n}, torch::kLong);
  if (with_attributes)
    set.attributes = torch::zeros({n, static_cast<int64_t>(set.attribute_names.size())});
  // Decoding dominates; images are independent, so decode them on every core.
  std::vector<std::string> errors(entries.size());
  at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      try {
        data::Image image = data::read_image(entries[i].path, o.limits);
        set.images[i].copy_(image_tensor(image, o.channels, o.size, o.size)[0]);
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    }
  });
  for (const auto& e : errors) {
    if (!e.empty()) throw Error(e);
  }
  auto labels = set.labels.accessor<int64_t, 1>();
  for (int64_t i = 0; i < n; ++i) {
    labels[i] = class_index.at(entries[i].category);
    set.ids.push_back(entries[i].path);
    if (with_attributes) {
      for (const auto& a : entries[i].attributes) set.attributes[i][attribute_index.at(a)] = 1.0f;
    }
  }
  return set;
}

ImageSet from_folder(const std::string& root, const ImageSourceOptions& o) {
  std::vector<Entry> entries;
  std::vector<fs::path> folders;
  for (const auto& d : fs::directory_iterator(root)) {
    if (d.is_directory()) folders.push_back(d.path());
  }
  std::sort(folders.begin(), folders.end());
  for (const auto& folder : folders) {
    std::vector<fs::path> files;
    for (const auto& f : fs::directory_iterator(folder)) {
      if (f.is_regular_file() && is_image_name(f.path())) files.push_back(f.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) entries.push_back({f.string(), folder.filename().string(), {}});
  }
  if (folders.empty())
    throw Error(root + ": expected one sub-folder of images per category, found none");
  return decode_entries(entries, false, o, root);
}

ImageSet from_manifest(const std::string& path, const ImageSourceOptions& o) {
  data::CsvReader csv(path);
  const int path_col = csv.column_index("path"), category_col = csv.column_index("category");
  const int attributes_col = csv.column_index("attributes");
  if (path_col < 0 || category_col < 0) {
    throw Error(path + ": expected columns path,category[,attributes], found " +
                nlohmann::json(csv.header()).dump());
  }
  const fs::path base = fs::path(path).parent_path();
  std::vector<Entry> entries;
  std::vector<std::string> fields;
  while (csv.next(fields)) {
    Entry e;
    e.path = fields[path_col];
    if (e.path.empty()) throw Error(csv.location(csv.record_line(), path_col + 1) + ": empty path");
    if (fs::path(e.path).is_relative()) e.path = (base / e.path).string();
    e.category = fields[category_col];
    if (e.category.empty())
      throw Error(csv.location(csv.record_line(), category_col + 1) + ": empty category");
    if (attributes_col >= 0) e.attributes = split_attributes(fields[attributes_col]);
    entries.push_back(std::move(e));
  }
  return decode_entries(entries, attributes_col >= 0, o, path);
}

}  // namespace

ImageSet load_image_set(const std::string& source, const std::string& split,
                        const ImageSourceOptions& o) {
  if (source == "fashion-mnist") {
    data::IdxImages idx = data::fashion_mnist(split);
    ImageSet set;
    set.images =
        torch::from_blob(idx.pixels.data(), {idx.count, 1, idx.rows, idx.cols}, torch::kUInt8)
            .clone();
    set.labels = torch::from_blob(idx.labels.data(), {idx.count}, torch::kUInt8).to(torch::kLong);
    set.classes = data::fashion_mnist_classes();
    set.ids.reserve(idx.count);
    for (int64_t i = 0; i < idx.count; ++i)
      set.ids.push_back("fashion-mnist:" + split + ":" + std::to_string(i));
    return set;
  }
  std::error_code ec;
  if (fs::is_directory(source, ec)) return from_folder(source, o);
  if (fs::is_regular_file(source, ec)) return from_manifest(source, o);
  throw Error(
      "--data: expected fashion-mnist, a folder of category sub-folders or a CSV manifest, found "
      "'" +
      source + "' (no such file or folder)");
}

ImageSet subset(const ImageSet& set, const at::Tensor& indices) {
  ImageSet out;
  out.images = set.images.index_select(0, indices);
  out.labels = set.labels.index_select(0, indices);
  out.classes = set.classes;
  out.attribute_names = set.attribute_names;
  if (set.attributes.defined()) out.attributes = set.attributes.index_select(0, indices);
  auto idx = indices.accessor<int64_t, 1>();
  if (!set.ids.empty()) {
    for (int64_t i = 0; i < indices.size(0); ++i) out.ids.push_back(set.ids[idx[i]]);
  }
  return out;
}

std::pair<ImageSet, ImageSet> hold_out(const ImageSet& set, int64_t count, uint64_t seed) {
  const int64_t n = set.size();
  if (count < 1 || count >= n) {
    throw Error("hold-out: expected between 1 and " + std::to_string(n - 1) + " images, found " +
                std::to_string(count));
  }
  at::Generator gen = at::detail::createCPUGenerator(seed);
  at::Tensor order = torch::randperm(n, gen, torch::kLong);
  return {subset(set, order.slice(0, 0, n - count)), subset(set, order.slice(0, n - count))};
}

void align_to(ImageSet& set, const std::vector<std::string>& classes,
              const std::vector<std::string>& attribute_names) {
  if (set.classes != classes) {
    std::map<std::string, int64_t> index;
    for (size_t i = 0; i < classes.size(); ++i) index[classes[i]] = static_cast<int64_t>(i);
    std::vector<int64_t> remap;
    for (const auto& c : set.classes) {
      auto it = index.find(c);
      if (it == index.end()) throw Error("category '" + c + "' is not one the model knows");
      remap.push_back(it->second);
    }
    set.labels = torch::tensor(remap, torch::kLong).index_select(0, set.labels);
    set.classes = classes;
  }
  if (set.attribute_names != attribute_names) {
    at::Tensor aligned = torch::zeros({set.size(), static_cast<int64_t>(attribute_names.size())});
    for (size_t j = 0; j < attribute_names.size(); ++j) {
      auto it =
          std::find(set.attribute_names.begin(), set.attribute_names.end(), attribute_names[j]);
      if (it != set.attribute_names.end() && set.attributes.defined()) {
        aligned.select(1, static_cast<int64_t>(j))
            .copy_(set.attributes.select(1, it - set.attribute_names.begin()));
      }
    }
    set.attributes = attribute_names.empty() ? at::Tensor() : aligned;
    set.attribute_names = attribute_names;
  }
}

at::Tensor image_tensor(const data::Image& image, int64_t channels, int64_t rows, int64_t cols) {
  data::Image converted = data::convert_channels(image, static_cast<int>(channels));
  if (converted.width != cols || converted.height != rows) {
    converted = data::resize_image(converted, static_cast<int>(cols), static_cast<int>(rows));
  }
  // HWC -> CHW
  return torch::from_blob(converted.pixels.data(), {rows, cols, channels}, torch::kUInt8)
      .permute({2, 0, 1})
      .unsqueeze(0)
      .clone(at::MemoryFormat::Contiguous);  // a copy: for one channel the permute is already
                                             // contiguous
}

at::Tensor read_query_image(const std::string& ref, int64_t channels, int64_t rows, int64_t cols,
                            const data::ImageLimits& limits) {
  const std::string prefix = "fashion-mnist:";
  if (ref.rfind(prefix, 0) == 0) {
    const size_t colon = ref.find(':', prefix.size());
    const std::string split =
        ref.substr(prefix.size(), colon == std::string::npos ? 0 : colon - prefix.size());
    int64_t row = -1;
    try {
      if (colon != std::string::npos) row = std::stoll(ref.substr(colon + 1));
    } catch (const std::exception&) {
    }
    if ((split != "train" && split != "test") || row < 0) {
      throw Error(ref + ": expected fashion-mnist:train:N or fashion-mnist:test:N");
    }
    data::IdxImages idx = data::fashion_mnist(split);
    if (row >= idx.count) {
      throw Error(ref + ": the " + split + " split has " + std::to_string(idx.count) + " images");
    }
    data::Image image;
    image.width = static_cast<int>(idx.cols);
    image.height = static_cast<int>(idx.rows);
    image.channels = 1;
    const auto* first = idx.pixels.data() + row * idx.rows * idx.cols;
    image.pixels.assign(first, first + idx.rows * idx.cols);
    return image_tensor(image, channels, rows, cols);
  }
  return image_tensor(data::read_image(ref, limits), channels, rows, cols);
}

data::Image tensor_image(const at::Tensor& chw) {
  data::Image image;
  image.channels = static_cast<int>(chw.size(0));
  image.height = static_cast<int>(chw.size(1));
  image.width = static_cast<int>(chw.size(2));
  at::Tensor hwc = chw.to(torch::kUInt8).permute({1, 2, 0}).contiguous();
  image.pixels.assign(hwc.data_ptr<uint8_t>(), hwc.data_ptr<uint8_t>() + hwc.numel());
  return image;
}

}  // namespace deepcart::vision
