// deepcart vision train | eval
#include <torch/torch.h>

#include <cstdio>
#include <fstream>

#include "cli_common.h"
#include "deepcart/core/error.h"
#include "deepcart/vision/classifier.h"

namespace deepcart::cli {

void register_vision(CLI::App& app) {
  CLI::App* vision = app.add_subcommand("vision", "product images: train, eval");
  vision->require_subcommand(1);

  {
    auto* cmd = vision->add_subcommand("train", "train an image classifier");
    auto common = std::make_shared<Common>();
    auto cfg = std::make_shared<vision::VisionTrainConfig>();
    auto data = std::make_shared<std::string>("fashion-mnist");
    auto out = std::make_shared<std::string>();
    auto width = std::make_shared<int64_t>(32);
    auto dropout = std::make_shared<double>(0.25);
    cfg->train.epochs = 15;
    cfg->train.batch_size = 128;
    cfg->train.lr = 0.002;
    cfg->train.optimizer = "adamw";
    cfg->train.weight_decay = 0.01;
    cfg->train.schedule = "cosine";
    cfg->train.patience = 5;
    add_common(cmd, *common);
    cmd->add_option("--model", cfg->arch, "architecture")->check(CLI::IsMember({"cnn"}))->capture_default_str();
    cmd->add_option("--data", *data, "image source: fashion-mnist (Debian's dataset-fashion-mnist)")
        ->capture_default_str();
    cmd->add_option("--out", *out, "ModelFile to write (.dcm)")->required();
    cmd->add_option("--width", *width, "cnn: filters of the first block")->capture_default_str();
    cmd->add_option("--dropout", *dropout, "dropout before the dense layers")->capture_default_str();
    cmd->add_option("--label-smoothing", cfg->label_smoothing, "cross-entropy label smoothing")
        ->capture_default_str();
    cmd->add_option("--pad-crop", cfg->augment.pad_crop, "augment: random crop after padding by N pixels")
        ->capture_default_str();
    cmd->add_option("--flip", cfg->augment.flip, "augment: random horizontal flip")->capture_default_str();
    cmd->add_option("--erase", cfg->augment.erase, "augment: random-erasing probability")->capture_default_str();
    cmd->add_option("--valid", cfg->valid_count, "training images held out for validation")
        ->capture_default_str();
    add_train_flags(cmd, cfg->train);
    cmd->callback([=] {
      init_context(*common);
      cfg->train.seed = common->seed;
      cfg->train.quiet = common->quiet;
      cfg->hparams = {{"width", *width}, {"dropout", *dropout}};
      if (cfg->train.checkpoint_path.empty()) cfg->train.checkpoint_path = *out + ".ckpt";
      vision::ImageSet train = vision::image_set_named(*data, "train");
      vision::ImageSet test = vision::image_set_named(*data, "test");
      vision::VisionTrainOutput trained = vision::vision_train(train, *cfg);
      vision::ImageClassifier model(trained.model);
      vision::VisionReport report = vision::vision_evaluate(model, test);
      trained.model.metrics["test"] = {{"accuracy", report.accuracy}, {"macro_f1", report.macro_f1},
                                       {"ece", report.ece}};
      model_file_write(trained.model, *out);
      if (common->json) return print_json({{"model", *out}, {"metrics", trained.model.metrics}});
      const auto& r = trained.result;
      std::printf("trained %s in %.1f s: %d epochs (best %d), %.0f training images/s\n", out->c_str(),
                  r.seconds, r.epochs_run, r.best_epoch, r.train_examples_per_second);
      std::printf("validation accuracy %.4f; test accuracy %.4f, macro-F1 %.4f, ECE %.4f\n",
                  r.best_metrics.at("accuracy"), report.accuracy, report.macro_f1, report.ece);
    });
  }

  {
    auto* cmd = vision->add_subcommand("eval", "accuracy, per-class precision/recall/F1, confusion matrix, ECE");
    auto common = std::make_shared<Common>();
    auto model_path = std::make_shared<std::string>();
    auto data = std::make_shared<std::string>("fashion-mnist");
    auto confusion = std::make_shared<std::string>();
    add_common(cmd, *common);
    cmd->add_option("--model", *model_path, "trained ModelFile (.dcm)")->required();
    cmd->add_option("--data", *data, "image source (test split)")->capture_default_str();
    cmd->add_option("--confusion", *confusion, "write the confusion matrix to this CSV");
    cmd->callback([=] {
      init_context(*common);
      vision::ImageClassifier model = vision::ImageClassifier::load(*model_path);
      vision::ImageSet test = vision::image_set_named(*data, "test");
      vision::VisionReport report = vision::vision_evaluate(model, test);
      const auto& classes = model.classes();
      if (!confusion->empty()) {
        std::ofstream csv(*confusion);
        if (!csv) throw Error(*confusion + ": cannot open for writing");
        csv << "true\\predicted";
        for (const auto& c : classes) csv << ",\"" << c << "\"";
        csv << "\n";
        for (size_t t = 0; t < classes.size(); ++t) {
          csv << "\"" << classes[t] << "\"";
          for (int64_t v : report.confusion[t]) csv << "," << v;
          csv << "\n";
        }
      }
      if (common->json) return print_json(report.to_json(classes));
      std::printf("%s on %s test: accuracy %.4f  macro-F1 %.4f  ECE %.4f  (%.0f images/s)\n",
                  model_path->c_str(), data->c_str(), report.accuracy, report.macro_f1, report.ece,
                  report.images_per_second);
      std::printf("  %-14s %9s %9s %9s\n", "class", "precision", "recall", "F1");
      for (size_t c = 0; c < classes.size(); ++c) {
        std::printf("  %-14s %9.4f %9.4f %9.4f\n", classes[c].c_str(), report.precision[c],
                    report.recall[c], report.f1[c]);
      }
    });
  }
}

}  // namespace deepcart::cli
