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

void add_predict_command(CLI::App* group) {
  struct Flags : Common {
    std::string model;
    std::vector<std::string> images;
    int64_t top = 3;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = add_command(group, "predict",
                          "the product sheet of each image: category, top-3, attributes", *f);
  cmd->add_option("images", f->images, "PNG/JPEG files, or fashion-mnist:test:N")->required();
  model_opt(cmd, f->model);
  opt(cmd, "--top", f->top, "categories to list")->check(CLI::Range(1, 100));
  cmd->callback([=] {
    init_context(*f);
    vision::ImageClassifier model = vision::ImageClassifier::load(f->model);
    vision::Prediction p = model.predict(model.read_images(f->images));
    nlohmann::json sheets = nlohmann::json::array();
    for (size_t i = 0; i < f->images.size(); ++i) {
      nlohmann::json sheet = model.sheet(p, static_cast<int64_t>(i), f->top);
      sheet["image"] = f->images[i];
      sheets.push_back(sheet);
    }
    if (f->json) return print_json(sheets);
    for (const auto& sheet : sheets)
      std::printf("%s", vision::describe_sheet(sheet["image"], sheet).c_str());
  });
}

void add_index_command(CLI::App* group) {
  struct Flags : Common {
    std::string model, data = "fashion-mnist", split = "test", out;
    int64_t k = 8;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = add_command(group, "index", "embed a catalogue of images for look-alike search", *f);
  model_opt(cmd, f->model);
  opt(cmd, "--data", f->data, std::string("catalogue images: ") + vision::kImageSourceHelp);
  opt(cmd, "--split", f->split, "fashion-mnist: train or test")
      ->check(CLI::IsMember({"train", "test"}));
  cmd->add_option("--out", f->out, "index file to write (.dci)")->required();
  opt(cmd, "--k", f->k, "report precision@k (same category = relevant), 0 = skip");
  cmd->callback([=] {
    init_context(*f);
    vision::ImageClassifier model = vision::ImageClassifier::load(f->model);
    const nlohmann::json r = vision::index_catalogue(model, f->data, f->split, f->out, f->k);
    if (f->json) return print_json(r);
    std::printf("indexed %lld images in %.1f s -> %s (%s search)\n", r["items"].get<long long>(),
                r["seconds"].get<double>(), f->out.c_str(),
                r["faiss"].get<bool>() ? "FAISS HNSW" : "exact");
    if (f->k > 0) {
      std::printf("precision@%lld (same category, each item against the rest): %.4f\n",
                  static_cast<long long>(f->k), r["precision_at_k"].get<double>());
    }
  });
}

void add_similar_command(CLI::App* group) {
  struct Flags : Common {
    std::string model, index;
    std::vector<std::string> images;
    int64_t k = 8;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd =
      add_command(group, "similar", "look-alike products of an image from a catalogue index", *f);
  cmd->add_option("images", f->images, "PNG/JPEG files, or fashion-mnist:test:N")->required();
  model_opt(cmd, f->model, "the ModelFile the index was built with");
  cmd->add_option("--index", f->index, "catalogue index from `deepcart vision index`")->required();
  opt(cmd, "--k", f->k, "look-alikes per image")->check(CLI::Range(1, 1000));
  cmd->callback([=] {
    init_context(*f);
    vision::ImageClassifier model = vision::ImageClassifier::load(f->model);
    vision::LookAlikeIndex index = vision::LookAlikeIndex::load(f->index);
    if (index.model_checksum() != vision::model_fingerprint(model.file())) {
      throw Error(f->index + ": this index was built with another model than " + f->model +
                  "; rebuild it with `deepcart vision index`");
    }
    auto found = index.search(model.embeddings(model.read_images(f->images)), f->k);
    nlohmann::json out = nlohmann::json::array();
    for (size_t i = 0; i < f->images.size(); ++i)
      out.push_back({{"image", f->images[i]}, {"similar", index.to_json(found[i])}});
    if (f->json) return print_json(out);
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
  struct Flags : Common {
    std::string model, image, out, category;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd =
      add_command(group, "explain", "Grad-CAM: a PNG of what in the image drove the category", *f);
  cmd->add_option("image", f->image, "a PNG/JPEG file, or fashion-mnist:test:N")->required();
  model_opt(cmd, f->model);
  cmd->add_option("--out", f->out, "PNG to write: the image and its heat map side by side")
      ->required();
  cmd->add_option("--category", f->category, "explain this category instead of the predicted one");
  cmd->callback([=] {
    init_context(*f);
    vision::ImageClassifier model = vision::ImageClassifier::load(f->model);
    const nlohmann::json r = vision::explain_image(model, f->image, f->category, f->out);
    if (f->json) return print_json(r);
    std::printf("%s: %s (%.1f%%); Grad-CAM heat map written to %s\n", f->image.c_str(),
                r["category"].get<std::string>().c_str(), 100 * r["probability"].get<double>(),
                f->out.c_str());
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
