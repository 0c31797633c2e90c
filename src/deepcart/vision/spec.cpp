#include "deepcart/vision/spec.h"

namespace deepcart::vision {

TrainSpec default_spec(const std::string& arch) {
  TrainSpec s;
  s.hparams["arch"] = arch;
  s.train.epochs = 15;
  s.train.batch_size = 128;
  s.train.lr = 0.002;
  s.train.optimizer = "adamw";
  s.train.weight_decay = 0.01;
  s.train.schedule = "cosine";
  s.train.patience = 5;
  return s;
}

std::vector<Setting> spec_settings() {
  using K = SettingKind;
  std::vector<Setting> s = {
      {"model", "/hparams/arch", K::kText, "architecture: cnn | resnet", {"cnn", "resnet"}},
      {"data", "/data/path", K::kText, std::string("training images: ") + kImageSourceHelp},
      {"test", "/data/test_path", K::kText,
       "test images (same kinds of source); default: Fashion-MNIST's test split, or a seeded "
       "--test-fraction of --data"},
      {"test-fraction", "/data/test_fraction", K::kNumber,
       "share of --data held out for testing when --test is not given"},
      {"size", "/data/size", K::kInt, "image files: resize to SIZE x SIZE"},
      {"channels", "/data/channels", K::kInt, "image files: 1 grey or 3 RGB"},
      {"width", "/hparams/width", K::kInt,
       "cnn: filters of the first block; resnet: of the first stage"},
      {"depth", "/hparams/depth", K::kInt, "resnet: residual blocks per stage"},
      {"hidden", "/hparams/hidden", K::kInt, "cnn: embedding size"},
      {"dropout", "/hparams/dropout", K::kNumber, "dropout before the dense layers"},
      {"label-smoothing", "/label_smoothing", K::kNumber, "cross-entropy label smoothing"},
      {"pad-crop", "/augment/pad_crop", K::kInt,
       "augment: random crop after padding by N pixels (0 = off)"},
      {"flip", "/augment/flip", K::kBool, "augment: random horizontal flip"},
      {"erase", "/augment/erase", K::kNumber, "augment: random-erasing probability"},
      {"valid", "/valid_count", K::kInt,
       "training images held out for validation (early stopping, thresholds)"},
  };
  for (auto& t : train_settings("/train")) s.push_back(t);
  return s;
}

void to_json(nlohmann::json& j, const DataSpec& d) {
  j = {{"path", d.path},
       {"test_path", d.test_path},
       {"test_fraction", d.test_fraction},
       {"channels", d.source.channels},
       {"size", d.source.size}};
}

void from_json(const nlohmann::json& j, DataSpec& d) {
  const DataSpec def;
  d.path = j.value("path", def.path);
  d.test_path = j.value("test_path", def.test_path);
  d.test_fraction = j.value("test_fraction", def.test_fraction);
  d.source.channels = j.value("channels", def.source.channels);
  d.source.size = j.value("size", def.source.size);
}

void to_json(nlohmann::json& j, const TrainSpec& s) {
  j = {{"data", s.data},
       {"hparams", s.hparams},
       {"augment", s.augment},
       {"label_smoothing", s.label_smoothing},
       {"valid_count", s.valid_count},
       {"train", s.train}};
}

void from_json(const nlohmann::json& j, TrainSpec& s) {
  const TrainSpec def;
  s.data = j.value("data", def.data);
  s.hparams = j.value("hparams", def.hparams);
  s.augment = j.value("augment", def.augment);
  s.label_smoothing = j.value("label_smoothing", def.label_smoothing);
  s.valid_count = j.value("valid_count", def.valid_count);
  s.train = j.value("train", def.train);
}

}  // namespace deepcart::vision
