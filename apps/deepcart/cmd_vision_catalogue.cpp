// deepcart vision predict | index | similar | explain: a trained image model on products
#include <torch/torch.h>

#include <cstdio>
#include <fstream>

#include "cli_common.h"
#include "deepcart/core/error.h"
#include "deepcart/data/image.h"
#include "deepcart/vision/classifier.h"
#include "deepcart/vision/explain.h"
#include "deepcart/vision/similar.h"

namespace deepcart::cli {
namespace {

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

void add_predict_command(CLI::App* group) {
  auto* cmd = group->add_subcommand("predict",
                                    "the product sheet of each image: category, top-3, attributes");
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

void add_index_command(CLI::App* group) {
  auto* cmd = group->add_subcommand("index", "embed a catalogue of images for look-alike search");
  auto common = std::make_shared<Common>();
  auto model_path = std::make_shared<std::string>();
  auto data = std::make_shared<std::string>("fashion-mnist");
  auto split = std::make_shared<std::string>("test");
  auto out = std::make_shared<std::string>();
  auto k = std::make_shared<int64_t>(8);
  add_common(cmd, *common);
  add_device(cmd, *common);
  cmd->add_option("--model", *model_path, "trained ModelFile (.dcm)")->required();
  cmd->add_option("--data", *data, std::string("catalogue images: ") + kImageSourceHelp)
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

void add_similar_command(CLI::App* group) {
  auto* cmd =
      group->add_subcommand("similar", "look-alike products of an image from a catalogue index");
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

void add_explain_command(CLI::App* group) {
  auto* cmd =
      group->add_subcommand("explain", "Grad-CAM: a PNG of what in the image drove the category");
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

}  // namespace

void add_vision_catalogue_commands(CLI::App* group) {
  add_predict_command(group);
  add_index_command(group);
  add_similar_command(group);
  add_explain_command(group);
}

}  // namespace deepcart::cli
