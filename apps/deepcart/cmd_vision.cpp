// deepcart vision train | eval | predict | index | similar | explain
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <fstream>

#include "cli_common.h"
#include "deepcart/core/error.h"
#include "deepcart/core/plot.h"
#include "deepcart/vision/classifier.h"
#include "deepcart/vision/explain.h"
#include "deepcart/vision/similar.h"
#include "deepcart/vision/workflow.h"

namespace deepcart::cli {
namespace {

void print_report(const vision::VisionReport& r, const vision::ImageClassifier& model) {
  const auto& classes = model.classes();
  std::printf("accuracy %.4f  macro-F1 %.4f  ECE %.4f  (%.0f images/s)\n", r.accuracy, r.macro_f1,
              r.ece, r.images_per_second);
  std::printf("  %-20s %9s %9s %9s\n", "category", "precision", "recall", "F1");
  for (size_t c = 0; c < classes.size(); ++c) {
    std::printf("  %-20s %9.4f %9.4f %9.4f\n", classes[c].c_str(), r.precision[c], r.recall[c],
                r.f1[c]);
  }
  if (r.has_attributes) {
    std::printf(
        "attributes: mAP %.4f  micro-F1 %.4f  macro-F1 %.4f (thresholds tuned on validation)\n",
        r.attribute_map, r.attribute_micro_f1, r.attribute_macro_f1);
    for (size_t j = 0; j < model.attributes().size(); ++j) {
      std::printf("  %-20s AP %.4f  F1 %.4f  threshold %.2f\n", model.attributes()[j].c_str(),
                  r.attribute_ap[j], r.attribute_f1[j], model.thresholds()[j]);
    }
  }
}

void add_train_command(CLI::App* group) {
  auto* cmd = group->add_subcommand(
      "train", "train an image classifier (categories, and attributes if the data has them)");
  auto common = std::make_shared<Common>();
  auto spec = std::make_shared<vision::TrainSpec>(vision::default_spec());
  auto out = std::make_shared<std::string>();
  auto arch = std::make_shared<std::string>("cnn");
  auto hp = std::make_shared<vision::VisionOptions>();
  add_common(cmd, *common);
  add_device(cmd, *common, true);
  cmd->add_option("--model", *arch, "architecture: cnn | resnet")
      ->check(CLI::IsMember({"cnn", "resnet"}))
      ->capture_default_str();
  vision::DataSpec& d = spec->data;
  cmd->add_option("--data", d.path, std::string("training images: ") + kImageSourceHelp)
      ->capture_default_str();
  cmd->add_option("--test", d.test_path,
                  "test images (same kinds of source); default: Fashion-MNIST's test split, or a "
                  "seeded --test-fraction of --data");
  cmd->add_option("--test-fraction", d.test_fraction,
                  "share of --data held out for testing when --test is not given")
      ->capture_default_str();
  cmd->add_option("--size", d.source.size, "image files: resize to SIZE x SIZE")
      ->capture_default_str();
  cmd->add_option("--channels", d.source.channels, "image files: 1 grey or 3 RGB")
      ->capture_default_str();
  cmd->add_option("--out", *out, "ModelFile to write (.dcm)")->required();
  cmd->add_option("--width", hp->width,
                  "cnn: filters of the first block; resnet: of the first stage")
      ->capture_default_str();
  cmd->add_option("--depth", hp->depth, "resnet: residual blocks per stage")->capture_default_str();
  cmd->add_option("--hidden", hp->hidden, "cnn: embedding size")->capture_default_str();
  cmd->add_option("--dropout", hp->dropout, "dropout before the dense layers")
      ->capture_default_str();
  cmd->add_option("--label-smoothing", spec->label_smoothing, "cross-entropy label smoothing")
      ->capture_default_str();
  cmd->add_option("--pad-crop", spec->augment.pad_crop,
                  "augment: random crop after padding by N pixels (0 = off)")
      ->capture_default_str();
  cmd->add_option("--flip", spec->augment.flip, "augment: random horizontal flip")
      ->capture_default_str();
  cmd->add_option("--erase", spec->augment.erase, "augment: random-erasing probability")
      ->capture_default_str();
  cmd->add_option("--valid", spec->valid_count,
                  "training images held out for validation (early stopping, thresholds)")
      ->capture_default_str();
  add_train_flags(cmd, spec->train);
  cmd->callback([=] {
    init_context(*common);
    spec->train.seed = common->seed;
    spec->train.quiet = common->quiet;
    spec->hparams = {{"arch", *arch},
                     {"width", hp->width},
                     {"depth", hp->depth},
                     {"hidden", hp->hidden},
                     {"dropout", hp->dropout}};
    if (spec->train.checkpoint_path.empty()) spec->train.checkpoint_path = *out + ".ckpt";
    const bool writes = join_data_parallel(spec->train, *common);
    const vision::TrainReport trained = vision::train(*spec);
    if (!writes) return;  // rank 0 evaluates and writes
    model_file_write(trained.model, *out);
    if (common->json) return print_json({{"model", *out}, {"metrics", trained.model.metrics}});
    const vision::ImageClassifier model(trained.model);
    const auto& r = trained.result;
    std::printf("trained %s (%s) in %.1f s: %d epochs (best %d), %.0f training images/s\n",
                out->c_str(), arch->c_str(), r.seconds, r.epochs_run, r.best_epoch,
                r.train_examples_per_second);
    std::printf("validation accuracy %.4f; test (%lld images): ", r.best_metrics.at("accuracy"),
                static_cast<long long>(trained.test_images));
    print_report(trained.test, model);
  });
}

void add_eval_command(CLI::App* group) {
  auto* cmd = group->add_subcommand(
      "eval", "accuracy, per-class precision/recall/F1, confusion matrix, ECE, attribute mAP/F1");
  auto common = std::make_shared<Common>();
  auto model_path = std::make_shared<std::string>();
  auto data = std::make_shared<std::string>();
  auto confusion = std::make_shared<std::string>();
  auto plot = std::make_shared<std::string>();
  add_common(cmd, *common);
  add_device(cmd, *common);
  cmd->add_option("--model", *model_path, "trained ModelFile (.dcm)")->required();
  cmd->add_option("--data", *data,
                  std::string("test images: ") + kImageSourceHelp +
                      " (its test split); default: the model's own test images");
  cmd->add_option("--confusion", *confusion, "write the confusion matrix to this CSV");
  cmd->add_option("--plot", *plot, "draw the confusion matrix as a PNG heat map (gnuplot)");
  cmd->callback([=] {
    init_context(*common);
    vision::ImageClassifier model = vision::ImageClassifier::load(*model_path);
    const vision::EvalSet test = vision::evaluation_set(model, *data);
    vision::VisionReport report = vision::vision_evaluate(model, test.images);
    if (!confusion->empty()) write_confusion_csv(report.confusion, model.classes(), *confusion);
    if (!plot->empty()) {
      char title[160];
      std::snprintf(title, sizeof title, "%s on %s: accuracy %.4f", model_path->c_str(),
                    test.source.c_str(), report.accuracy);
      plot_confusion(report.confusion, model.classes(), title, *plot);
    }
    if (common->json) return print_json(report.to_json(model.classes(), model.attributes()));
    std::printf("%s on %s: ", model_path->c_str(), test.source.c_str());
    print_report(report, model);
    if (!plot->empty()) std::printf("confusion heat map: %s\n", plot->c_str());
  });
}

}  // namespace

void register_vision(CLI::App& app) {
  CLI::App* group =
      app.add_subcommand("vision", "product images: train, eval, predict, index, similar, explain");
  group->require_subcommand(1);
  add_train_command(group);
  add_eval_command(group);
  add_vision_catalogue_commands(group);
}

}  // namespace deepcart::cli
