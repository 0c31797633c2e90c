#include "deepcart/vision/workflow.h"

#include <algorithm>

#include "deepcart/core/error.h"

namespace deepcart::vision {

ImageParts load_images(const TrainSpec& spec) {
  const DataSpec& d = spec.data;
  const bool fashion = d.path == "fashion-mnist";
  ImageParts parts;
  parts.train = load_image_set(d.path, "train", d.source);
  if (!d.test_path.empty()) {
    ImageSourceOptions o = d.source;
    if (fashion) o.channels = 1, o.size = 28;
    parts.test = load_image_set(d.test_path, "test", o);
  } else if (fashion) {
    parts.test = load_image_set(d.path, "test");
  } else {
    const auto count = static_cast<int64_t>(std::max(1.0, d.test_fraction * parts.train.size()));
    std::tie(parts.train, parts.test) = hold_out(parts.train, count, spec.train.seed + 1);
  }
  return parts;
}

TrainReport train(TrainSpec spec) {
  ImageParts parts = load_images(spec);
  if (spec.valid_count >= parts.train.size())
    spec.valid_count = std::max<int64_t>(1, parts.train.size() / 10);
  VisionTrainOutput trained = vision_train(parts.train, spec);
  TrainReport report;
  report.model = std::move(trained.model);
  report.result = trained.result;
  report.model.meta["spec"] = spec;
  report.test_images = parts.test.size();
  if (spec.train.parallel && spec.train.parallel->rank() != 0) return report;
  ImageClassifier model(report.model);
  report.test = vision_evaluate(model, parts.test);
  report.model.metrics["test"] = report.test.to_json(model.classes(), model.attributes());
  report.model.metrics["test"].erase("confusion");
  return report;
}

EvalSet evaluation_set(const ImageClassifier& model, const std::string& data) {
  EvalSet out;
  const nlohmann::json& meta = model.file().meta;
  if (!data.empty() || !meta.contains("spec")) {
    ImageSourceOptions o;
    o.channels = model.options().channels;
    o.size = model.options().rows;
    out.source = data.empty() ? "fashion-mnist" : data;
    out.images = load_image_set(out.source, "test", o);
    return out;
  }
  const TrainSpec spec = meta.at("spec").get<TrainSpec>();
  out.source = !spec.data.test_path.empty()        ? spec.data.test_path
               : spec.data.path == "fashion-mnist" ? std::string("fashion-mnist (test split)")
                                                   : spec.data.path + " (held-out test part)";
  out.images = load_images(spec).test;
  return out;
}

}  // namespace deepcart::vision
