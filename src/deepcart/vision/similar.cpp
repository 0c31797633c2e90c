#include "deepcart/vision/similar.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>

#include "deepcart/core/error.h"

namespace deepcart::vision {
std::string model_fingerprint(const ModelFile& file) {
  const at::Tensor& w = file.tensor("model/classifier.weight").contiguous();
  return sha256_hex(
      std::string(static_cast<const char*>(w.data_ptr()), w.numel() * w.element_size()));
}

LookAlikeIndex LookAlikeIndex::build(ImageClassifier& model, const ImageSet& catalogue) {
  if (catalogue.size() == 0) throw Error("look-alike index: the catalogue has no images");
  ImageSet aligned = catalogue;
  align_to(aligned, model.classes(), {});
  LookAlikeIndex index;
  index.vectors_ = VectorIndex(model.embeddings(aligned.images));
  index.labels_ = aligned.labels;
  index.classes_ = model.classes();
  index.ids_ = aligned.ids;
  if (index.ids_.empty()) {
    for (int64_t i = 0; i < aligned.size(); ++i) index.ids_.push_back(std::to_string(i));
  }
  index.model_checksum_ = model_fingerprint(model.file());
  return index;
}

void LookAlikeIndex::save(const std::string& path) const {
  ModelFile f =
      ModelFile::create("vision-index", "embeddings", nlohmann::json::object(),
                        {{"ids", ids_}, {"classes", classes_}, {"model", model_checksum_}});
  f.tensors = {{"embeddings", embeddings()}, {"labels", labels_}};
  model_file_write(f, path);
}

LookAlikeIndex LookAlikeIndex::load(const std::string& path) {
  ModelFile f = model_file_read(path, "vision-index");
  LookAlikeIndex index;
  f.checked_load([&] {
    index.ids_ = f.meta.at("ids").get<std::vector<std::string>>();
    index.classes_ = f.meta.at("classes").get<std::vector<std::string>>();
    index.model_checksum_ = f.meta.at("model").get<std::string>();
    const auto n = static_cast<int64_t>(index.ids_.size());
    const at::Tensor& embeddings = f.tensor("embeddings", at::kFloat, {n, -1});
    if (n == 0 || embeddings.size(1) == 0)
      throw Error("tensor 'embeddings': the catalogue is empty");
    index.labels_ = f.tensor("labels", at::kLong, {n});
    const int64_t* label = index.labels_.data_ptr<int64_t>();
    const auto classes = static_cast<int64_t>(index.classes_.size());
    for (int64_t i = 0; i < n; ++i) {
      if (label[i] < 0 || label[i] >= classes) {
        throw Error("tensor 'labels': entry " + std::to_string(i) + " is class " +
                    std::to_string(label[i]) + ", expected 0 to " + std::to_string(classes - 1));
      }
    }
    index.vectors_ = VectorIndex(embeddings);
  });
  return index;
}

std::vector<std::vector<Neighbour>> LookAlikeIndex::search(
    const at::Tensor& queries, int64_t k, const std::vector<int64_t>& exclude) const {
  if (queries.dim() != 2 || queries.size(1) != vectors_.dim()) {
    throw Error("look-alike search: query embeddings of size " + std::to_string(queries.size(-1)) +
                " against an index of size " + std::to_string(vectors_.dim()) +
                " (built with another model?)");
  }
  return vectors_.search(queries, k, exclude);
}

double LookAlikeIndex::precision_at(int64_t k) const {
  double sum = 0;
  auto labels = labels_.accessor<int64_t, 1>();
  for (int64_t b = 0; b < size(); b += 1024) {
    const int64_t e = std::min(size(), b + 1024);
    std::vector<int64_t> self;
    for (int64_t i = b; i < e; ++i) self.push_back(i);
    auto found = search(embeddings().slice(0, b, e), k, self);
    for (int64_t i = b; i < e; ++i) {
      int64_t hits = 0;
      for (const auto& n : found[i - b]) hits += labels[n.item] == labels[i];
      sum += static_cast<double>(hits) / static_cast<double>(k);
    }
  }
  return sum / static_cast<double>(size());
}

nlohmann::json LookAlikeIndex::to_json(const std::vector<Neighbour>& found) const {
  nlohmann::json out = nlohmann::json::array();
  auto labels = labels_.accessor<int64_t, 1>();
  for (const auto& n : found) {
    out.push_back({{"id", ids_[n.item]},
                   {"category", classes_[labels[n.item]]},
                   {"similarity", n.similarity}});
  }
  return out;
}

nlohmann::json index_catalogue(ImageClassifier& model, const std::string& data,
                               const std::string& split, const std::string& out, int64_t k) {
  ImageSourceOptions o;
  o.channels = model.options().channels;
  o.size = model.options().rows;
  const auto t0 = std::chrono::steady_clock::now();
  LookAlikeIndex index = LookAlikeIndex::build(model, load_image_set(data, split, o));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  index.save(out);
  return {{"index", out},
          {"items", index.size()},
          {"seconds", seconds},
          {"faiss", index.uses_faiss()},
          {"k", k},
          {"precision_at_k", k > 0 ? index.precision_at(k) : 0.0}};
}

}  // namespace deepcart::vision
