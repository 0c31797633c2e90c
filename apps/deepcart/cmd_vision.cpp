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

constexpr const char* kSourceHelp =
    "fashion-mnist (Debian's dataset-fashion-mnist), a folder with one sub-folder of PNG/JPEG "
    "images per category, or a CSV manifest path,category[,attributes] (attributes |-separated)";

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

void print_sheet(const std::string& name, const nlohmann::json& sheet) {
  std::printf("%s\n  category    %s (%.1f%%)\n  top         ", name.c_str(),
              sheet["category"].get<std::string>().c_str(),
              100 * sheet["confidence"].get<double>());
  for (size_t i = 0; i < sheet["top"].size(); ++i) {
    std::printf("%s%s %.1f%%", i ? ", " : "",
                sheet["top"][i]["category"].get<std::string>().c_str(),
                100 * sheet["top"][i]["probability"].get<double>());
  }
  std::printf("\n");
  if (!sheet["attributes"].empty()) {
    std::printf("  attributes  ");
    bool any = false;
    for (const auto& a : sheet["attributes"]) {
      if (!a["present"].get<bool>()) continue;
      std::printf("%s%s %.1f%%", any ? ", " : "", a["attribute"].get<std::string>().c_str(),
                  100 * a["confidence"].get<double>());
      any = true;
    }
    std::printf("%s\n", any ? "" : "(none above its threshold)");
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
  cmd->add_option("--data", d.path, std::string("training images: ") + kSourceHelp)
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
                  std::string("test images: ") + kSourceHelp +
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
  CLI::App* vision =
      app.add_subcommand("vision", "product images: train, eval, predict, index, similar, explain");
  vision->require_subcommand(1);
  add_train_command(vision);
  add_eval_command(vision);

  {
    auto* cmd = vision->add_subcommand(
        "predict", "the product sheet of each image: category, top-3, attributes");
    auto common = std::make_shared<Common>();
    auto model_path = std::make_shared<std::string>();
    auto images = std::make_shared<std::vector<std::string>>();
    auto top = std::make_shared<int64_t>(3);
    add_common(cmd, *common);
    add_device(cmd, *common);
    cmd->add_option("images", *images, "PNG/JPEG files, or fashion-mnist:test:N")->required();
    cmd->add_option("--model", *model_path, "trained ModelFile (.dcm)")->required();
    cmd->add_option("--top", *top, "categories to list")
        ->check(CLI::Range(1, 100))
        ->capture_default_str();
    cmd->callback([=] {
      init_context(*common);
      vision::ImageClassifier model = vision::ImageClassifier::load(*model_path);
      const auto& o = model.options();
      std::vector<at::Tensor> batch;
      for (const auto& ref : *images)
        batch.push_back(vision::read_query_image(ref, o.channels, o.rows, o.cols));
      vision::Prediction p = model.predict(torch::cat(batch));
      nlohmann::json sheets = nlohmann::json::array();
      for (size_t i = 0; i < images->size(); ++i) {
        nlohmann::json sheet = model.sheet(p, static_cast<int64_t>(i), *top);
        sheet["image"] = (*images)[i];
        sheets.push_back(sheet);
      }
      if (common->json) return print_json(sheets);
      for (const auto& sheet : sheets) print_sheet(sheet["image"], sheet);
    });
  }

  {
    auto* cmd =
        vision->add_subcommand("index", "embed a catalogue of images for look-alike search");
    auto common = std::make_shared<Common>();
    auto model_path = std::make_shared<std::string>();
    auto data = std::make_shared<std::string>("fashion-mnist");
    auto split = std::make_shared<std::string>("test");
    auto out = std::make_shared<std::string>();
    auto k = std::make_shared<int64_t>(8);
    add_common(cmd, *common);
    add_device(cmd, *common);
    cmd->add_option("--model", *model_path, "trained ModelFile (.dcm)")->required();
    cmd->add_option("--data", *data, std::string("catalogue images: ") + kSourceHelp)
        ->capture_default_str();
    cmd->add_option("--split", *split, "fashion-mnist: train or test")
        ->check(CLI::IsMember({"train", "test"}))
        ->capture_default_str();
    cmd->add_option("--out", *out, "index file to write (.dci)")->required();
    cmd->add_option("--k", *k, "report precision@k (same category = relevant), 0 = skip")
        ->capture_default_str();
    cmd->callback([=] {
      init_context(*common);
      vision::ImageClassifier model = vision::ImageClassifier::load(*model_path);
      vision::ImageSourceOptions o;
      o.channels = model.options().channels;
      o.size = model.options().rows;
      const auto t0 = std::chrono::steady_clock::now();
      vision::LookAlikeIndex index =
          vision::LookAlikeIndex::build(model, vision::load_image_set(*data, *split, o));
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      index.save(*out);
      const double precision = *k > 0 ? index.precision_at(*k) : 0.0;
      if (common->json) {
        return print_json({{"index", *out},
                           {"items", index.size()},
                           {"seconds", seconds},
                           {"precision_at_k", precision},
                           {"k", *k},
                           {"faiss", index.uses_faiss()}});
      }
      std::printf("indexed %lld images in %.1f s -> %s (%s search)\n",
                  static_cast<long long>(index.size()), seconds, out->c_str(),
                  index.uses_faiss() ? "FAISS HNSW" : "exact");
      if (*k > 0)
        std::printf("precision@%lld (same category, each item against the rest): %.4f\n",
                    static_cast<long long>(*k), precision);
    });
  }

  {
    auto* cmd =
        vision->add_subcommand("similar", "look-alike products of an image from a catalogue index");
    auto common = std::make_shared<Common>();
    auto model_path = std::make_shared<std::string>();
    auto index_path = std::make_shared<std::string>();
    auto images = std::make_shared<std::vector<std::string>>();
    auto k = std::make_shared<int64_t>(8);
    add_common(cmd, *common);
    add_device(cmd, *common);
    cmd->add_option("images", *images, "PNG/JPEG files, or fashion-mnist:test:N")->required();
    cmd->add_option("--model", *model_path, "the ModelFile the index was built with")->required();
    cmd->add_option("--index", *index_path, "catalogue index from `deepcart vision index`")
        ->required();
    cmd->add_option("--k", *k, "look-alikes per image")
        ->check(CLI::Range(1, 1000))
        ->capture_default_str();
    cmd->callback([=] {
      init_context(*common);
      vision::ImageClassifier model = vision::ImageClassifier::load(*model_path);
      vision::LookAlikeIndex index = vision::LookAlikeIndex::load(*index_path);
      if (index.model_checksum() != vision::model_fingerprint(model.file())) {
        throw Error(*index_path + ": this index was built with another model than " + *model_path +
                    "; rebuild it with `deepcart vision index`");
      }
      const auto& o = model.options();
      std::vector<at::Tensor> batch;
      for (const auto& ref : *images)
        batch.push_back(vision::read_query_image(ref, o.channels, o.rows, o.cols));
      auto found = index.search(model.embeddings(torch::cat(batch)), *k);
      auto labels = index.labels().accessor<int64_t, 1>();
      nlohmann::json out = nlohmann::json::array();
      for (size_t i = 0; i < images->size(); ++i) {
        nlohmann::json items = nlohmann::json::array();
        for (const auto& n : found[i]) {
          items.push_back({{"id", index.ids()[n.item]},
                           {"category", index.classes()[labels[n.item]]},
                           {"similarity", n.similarity}});
        }
        out.push_back({{"image", (*images)[i]}, {"similar", items}});
      }
      if (common->json) return print_json(out);
      for (const auto& q : out) {
        std::printf("%s\n", q["image"].get<std::string>().c_str());
        for (const auto& item : q["similar"]) {
          std::printf("  %.4f  %-28s %s\n", item["similarity"].get<double>(),
                      item["id"].get<std::string>().c_str(),
                      item["category"].get<std::string>().c_str());
        }
      }
    });
  }

  {
    auto* cmd = vision->add_subcommand("explain",
                                       "Grad-CAM: a PNG of what in the image drove the category");
    auto common = std::make_shared<Common>();
    auto model_path = std::make_shared<std::string>();
    auto image = std::make_shared<std::string>();
    auto out = std::make_shared<std::string>();
    auto category = std::make_shared<std::string>();
    add_common(cmd, *common);
    add_device(cmd, *common);
    cmd->add_option("image", *image, "a PNG/JPEG file, or fashion-mnist:test:N")->required();
    cmd->add_option("--model", *model_path, "trained ModelFile (.dcm)")->required();
    cmd->add_option("--out", *out, "PNG to write: the image and its heat map side by side")
        ->required();
    cmd->add_option("--category", *category, "explain this category instead of the predicted one");
    cmd->callback([=] {
      init_context(*common);
      vision::ImageClassifier model = vision::ImageClassifier::load(*model_path);
      const auto& o = model.options();
      at::Tensor x = vision::read_query_image(*image, o.channels, o.rows, o.cols);
      vision::Prediction p = model.predict(x);
      int64_t c = p.probabilities[0].argmax().item<int64_t>();
      if (!category->empty()) {
        auto it = std::find(model.classes().begin(), model.classes().end(), *category);
        if (it == model.classes().end())
          throw Error("--category: '" + *category + "' is not a category of this model");
        c = it - model.classes().begin();
      }
      at::Tensor cam = model.grad_cam(x, c);
      data::write_png(*out, vision::render_heatmap(x[0], cam));
      const double probability = p.probabilities[0][c].item<double>();
      if (common->json)
        return print_json({{"image", *image},
                           {"category", model.classes()[c]},
                           {"probability", probability},
                           {"out", *out}});
      std::printf("%s: %s (%.1f%%); Grad-CAM heat map written to %s\n", image->c_str(),
                  model.classes()[c].c_str(), 100 * probability, out->c_str());
    });
  }
}

}  // namespace deepcart::cli
