// deepcart vision train | eval | predict | index | similar | explain
#include <torch/torch.h>

#include <cstdio>

#include "cli_common.h"
#include "deepcart/core/error.h"
#include "deepcart/dist/launch.h"
#include "deepcart/vision/classifier.h"
#include "deepcart/vision/workflow.h"

namespace deepcart::cli {
namespace {

void add_train(CLI::App* group) {
  auto f = std::make_shared<TrainFlags>();
  nlohmann::json defaults = vision::default_spec();
  defaults["hparams"] = vision::VisionOptions{};
  auto* cmd = add_train_command(
      group, "train an image classifier (categories, and attributes if the data has them)", *f,
      vision::spec_settings(), defaults);
  cmd->callback([=] {
    init_context(*f);
    vision::TrainSpec spec = spec_from_flags<vision::TrainSpec>(*f, vision::default_spec,
                                                                vision::spec_settings(), "cnn");
    const bool writes = dist::join_if_launched(spec.train);
    const vision::TrainReport trained = vision::train(spec);
    if (!writes) return;  // rank 0 evaluates and writes
    model_file_write(trained.model, f->out);
    if (f->json) return print_json({{"model", f->out}, {"metrics", trained.model.metrics}});
    const vision::ImageClassifier model(trained.model);
    const auto& r = trained.result;
    std::printf("trained %s (%s) in %.1f s: %d epochs (best %d), %.0f training images/s\n",
                f->out.c_str(), model.file().arch.c_str(), r.seconds, r.epochs_run, r.best_epoch,
                r.train_examples_per_second);
    std::printf(
        "validation accuracy %.4f; test (%lld images): %s", r.best_metrics.at("accuracy"),
        static_cast<long long>(trained.test_images),
        trained.test.describe(model.classes(), model.attributes(), model.thresholds()).c_str());
  });
}

void add_eval_command(CLI::App* group) {
  struct Flags : Common {
    std::string model, data;
    ConfusionOut confusion;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = add_command(
      group, "eval",
      "accuracy, per-class precision/recall/F1, confusion matrix, ECE, attribute mAP/F1", *f);
  model_opt(cmd, f->model);
  cmd->add_option("--data", f->data,
                  std::string("test images: ") + vision::kImageSourceHelp +
                      " (its test split); default: the model's own test images");
  f->confusion.add_flags(cmd);
  cmd->callback([=] {
    init_context(*f);
    vision::ImageClassifier model = vision::ImageClassifier::load(f->model);
    const vision::EvalSet test = vision::evaluation_set(model, f->data);
    vision::VisionReport report = vision::vision_evaluate(model, test.images);
    char title[160];
    std::snprintf(title, sizeof title, "%s on %s: accuracy %.4f", f->model.c_str(),
                  test.source.c_str(), report.accuracy);
    f->confusion.write(report.confusion, model.classes(), title);
    if (f->json) return print_json(report.to_json(model.classes(), model.attributes()));
    std::printf("%s on %s: %s", f->model.c_str(), test.source.c_str(),
                report.describe(model.classes(), model.attributes(), model.thresholds()).c_str());
    if (!f->confusion.png.empty())
      std::printf("confusion heat map: %s\n", f->confusion.png.c_str());
  });
}

}  // namespace

void register_vision(CLI::App& app) {
  CLI::App* group =
      app.add_subcommand("vision", "product images: train, eval, predict, index, similar, explain");
  group->require_subcommand(1);
  add_train(group);
  add_eval_command(group);
  add_vision_catalogue_commands(group);
}

}  // namespace deepcart::cli
