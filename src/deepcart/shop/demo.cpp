// The demo shop end to end (`deepcart demo`): generate the synthetic behaviour log, train the
// recommenders, the product-photo model and the review and question models from their specs,
// evaluate them, and write the models, logs and OUT/report.json. It combines rec, vision and
// text, which never use each other, so it lives in a folder of its own (DESIGN.md).
#include "deepcart/shop/demo.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "deepcart/core/error.h"
#include "deepcart/data/csv_reader.h"
#include "deepcart/data/image.h"
#include "deepcart/data/shop_gen.h"
#include "deepcart/rec/recommender.h"
#include "deepcart/rec/workflow.h"
#include "deepcart/text/classifier.h"
#include "deepcart/text/report.h"
#include "deepcart/text/workflow.h"
#include "deepcart/vision/classifier.h"
#include "deepcart/vision/explain.h"
#include "deepcart/vision/similar.h"
#include "deepcart/vision/workflow.h"

namespace deepcart::shop {
namespace {

// Pictures for the demo shop's items, for the server's recommendations: the shop's categories
// are Fashion-MNIST's, so item i of category c gets the next test image of class c.
void write_item_images(const std::string& out, const vision::ImageSet& products) {
  std::vector<std::vector<int64_t>> by_class(products.classes.size());
  auto labels = products.labels.accessor<int64_t, 1>();
  for (int64_t i = 0; i < products.size(); ++i) by_class[labels[i]].push_back(i);
  std::vector<size_t> next(by_class.size(), 0);
  data::CsvReader items(out + "/shop/items.csv");
  const int item = items.column_index("item_id"), category = items.column_index("category_id");
  std::ofstream csv(out + "/models/item-images.csv");
  csv << "item_id,image\n";
  std::vector<std::string> fields;
  while (items.next(fields)) {
    const auto c = static_cast<size_t>(std::stoi(fields[category]));
    if (c >= by_class.size() || by_class[c].empty()) continue;
    csv << fields[item] << "," << products.ids[by_class[c][next[c]++ % by_class[c].size()]] << "\n";
  }
}

// The catalogue part of the demo: train the CNN, then for a few products print the predicted
// sheet and three look-alikes from the catalogue, and draw one Grad-CAM heat map.
nlohmann::json vision_demo(const std::string& out, int epochs, const DemoOptions& common) {
  vision::TrainSpec spec = vision::default_spec("cnn");
  spec.train.epochs = epochs;
  spec.train.schedule = "onecycle";
  spec.train.patience = 0;
  spec.train.seed = common.seed;
  spec.train.quiet = common.quiet;
  spec.train.metrics_log = out + "/logs/vision-cnn.jsonl";
  spec.train.checkpoint_path = out + "/models/vision-cnn.ckpt";
  vision::TrainReport trained = vision::train(spec);
  const vision::VisionReport& report = trained.test;
  trained.model.metrics["test"] = {{"accuracy", report.accuracy}, {"macro_f1", report.macro_f1}};
  model_file_write(trained.model, out + "/models/vision-cnn.dcm");
  vision::ImageClassifier model(trained.model);
  // The shop's catalogue: Fashion-MNIST's test images, which the model was tested on.
  const vision::ImageSet products = vision::load_image_set("fashion-mnist", "test");
  vision::LookAlikeIndex index = vision::LookAlikeIndex::build(model, products);
  index.save(out + "/models/catalogue.dci");
  write_item_images(out, products);

  const std::vector<int64_t> shown = {0, 1, 2};
  at::Tensor rows = torch::tensor(shown, torch::kLong);
  at::Tensor images = products.images.index_select(0, rows);
  vision::Prediction prediction = model.predict(images);
  auto found = index.search(model.embeddings(images), 3, shown);
  nlohmann::json items = nlohmann::json::array();
  for (size_t i = 0; i < shown.size(); ++i) {
    const nlohmann::json alike = index.to_json(found[i]);
    items.push_back({{"id", products.ids[shown[i]]},
                     {"true_category", products.classes[products.labels[shown[i]].item<int64_t>()]},
                     {"sheet", model.sheet(prediction, static_cast<int64_t>(i))},
                     {"look_alikes", alike}});
  }
  const std::string heat = out + "/gradcam.png";
  at::Tensor first = images.slice(0, 0, 1);
  const int64_t predicted = prediction.probabilities[0].argmax().item<int64_t>();
  data::write_png(heat, vision::render_heatmap(first[0], model.grad_cam(first, predicted)));
  return {{"model", out + "/models/vision-cnn.dcm"},
          {"index", out + "/models/catalogue.dci"},
          {"test_accuracy", report.accuracy},
          {"train_seconds", trained.result.seconds},
          {"precision_at_8", index.precision_at(8)},
          {"products", items},
          {"gradcam", heat}};
}

// One bow model on a shipped data set: trained with early stopping on validation, tested once
// on the held-out part, written to OUT/models/NAME.dcm.
text::TextClassifier demo_text_model(const std::string& path, const text::TextColumns& columns,
                                     text::TextTask task, const std::string& name,
                                     const std::map<std::string, std::string>& answers, int epochs,
                                     const std::string& out, const DemoOptions& common,
                                     nlohmann::json& summary,
                                     const std::map<std::string, std::string>& label_names = {}) {
  text::TrainSpec spec = text::default_spec("bow");
  spec.label_names = label_names;
  spec.data.path = path;
  spec.data.columns = columns;
  spec.task = task;
  spec.answers = answers;
  spec.train.epochs = epochs;
  spec.train.lr = 0.01;
  spec.train.patience = 2;
  spec.train.seed = common.seed;
  spec.train.quiet = common.quiet;
  spec.train.metrics_log = out + "/logs/" + name + ".jsonl";
  spec.train.checkpoint_path = out + "/models/" + name + ".ckpt";
  const text::TrainReport trained = text::train(spec);
  model_file_write(trained.model, out + "/models/" + name + ".dcm");
  const text::TextReport& report = trained.test;
  summary[name] = {{"model", out + "/models/" + name + ".dcm"},
                   {"test_accuracy", report.accuracy},
                   {"train_seconds", trained.result.seconds}};
  if (report.mae >= 0) summary[name]["test_mae"] = report.mae;
  return text::TextClassifier(trained.model);
}

// The reviews-and-questions part of the demo, on the two data sets shipped under share/data:
// review sentiment (recommended or not) and stars on the clothing reviews, a review report by
// clothing class, and an intent model on the Bitext questions that answers three of them.
nlohmann::json text_demo(const std::string& out, const DemoOptions& common) {
  const std::string& share = common.share;
  const std::string reviews_path =
      share + "/data/womens-clothing-reviews/womens-clothing-reviews.csv.gz";
  const std::string questions_path =
      share + "/data/bitext-customer-service/bitext_customer_service_8k.csv.gz";
  nlohmann::json summary = nlohmann::json::object();
  const std::vector<std::string> review_cols = {"Title", "Review Text"};
  demo_text_model(reviews_path, {review_cols, "Recommended IND"}, text::TextTask::kSentiment,
                  "reviews-sentiment", {}, 3, out, common, summary,
                  {{"0", "not recommended"}, {"1", "recommended"}});
  demo_text_model(reviews_path, {review_cols, "Rating"}, text::TextTask::kStars, "reviews-stars",
                  {}, 3, out, common, summary);

  text::ReportOptions report;
  report.sentiment_model = out + "/models/reviews-sentiment.dcm";
  report.stars_model = out + "/models/reviews-stars.dcm";
  report.data = reviews_path;
  report.group_col = "Class Name";
  report.out = out + "/reviews-report";
  report.top_words = 4;
  report.examples = 1;
  report.explain_limit = 100;
  report.quiet = common.quiet;
  summary["report"] = text::review_report(report);
  summary["report_files"] = {report.out + ".json", report.out + ".html"};

  text::TextClassifier intents = demo_text_model(
      questions_path, {{"utterance"}, "intent"}, text::TextTask::kIntent, "questions-intent",
      text::read_answers(share + "/answers-bitext-27.csv"), 5, out, common, summary);
  nlohmann::json answered = nlohmann::json::array();
  for (const char* q : {"where is my order?", "I was charged twice, I want my money back",
                        "purple elephants dance at midnight"}) {
    answered.push_back(intents.answer(q, intents.answers()).to_json(q, intents.threshold()));
  }
  summary["questions"] = answered;
  return summary;
}

}  // namespace

nlohmann::json run_demo(const DemoOptions& o) {
  namespace fs = std::filesystem;
  auto say = [&](const char* fmt, auto... args) {
    if (o.quiet) return;
    std::fprintf(stderr, fmt, args...);
  };
  fs::create_directories(o.out + "/models");
  fs::create_directories(o.out + "/logs");
  const auto t0 = std::chrono::steady_clock::now();

  say("[1/7] generating the demo shop (synthetic behaviour log)\n");
  data::ShopOptions shop;
  shop.seed = o.seed;
  auto generated = data::shop_generate(o.out + "/shop", shop);
  say("      %lld events, %lld purchases, %lld empty cells\n", (long long)generated.events,
      (long long)generated.purchases, (long long)generated.missing_cells);

  say("[2/7] cleaning and [3/7] training the MLP recommender (64-32-1, BCE, Adam)\n");
  const std::string events = o.out + "/shop/events.csv";
  rec::TrainSpec behaviour = rec::default_spec("behaviour-mlp");
  behaviour.data.path = events;
  behaviour.data.load.features = {"price", "dwell_seconds", "quantity"};
  behaviour.data.load.fill_missing = 0.0;
  behaviour.train.epochs = o.epochs;
  behaviour.train.seed = o.seed;
  behaviour.train.quiet = o.quiet;
  behaviour.train.metrics_log = o.out + "/logs/rec-mlp.jsonl";
  behaviour.train.checkpoint_path = o.out + "/models/rec-mlp.ckpt";
  behaviour.test_ks = {10};
  const std::string model_path = o.out + "/models/rec-mlp.dcm";
  rec::TrainReport trained = rec::train(behaviour);
  model_file_write(trained.model, model_path);
  say("      cleaned: %lld rows read, %lld kept, %lld skipped, %lld empty cells filled with 0\n",
      (long long)trained.rows_read, (long long)(trained.rows_read - trained.rows_skipped),
      (long long)trained.rows_skipped, (long long)trained.cells_filled);

  say("      and SASRec on each customer's purchase sequence\n");
  rec::TrainSpec seq = rec::default_spec("sasrec");
  seq.data.path = events;
  seq.data.load.format = rec::RecFormat::kCsv;
  seq.hparams = {{"max_len", 20}};
  seq.train.epochs = o.epochs;
  seq.train.lr = 0.002;
  seq.train.patience = 3;
  seq.train.seed = o.seed;
  seq.train.quiet = o.quiet;
  seq.train.metrics_log = o.out + "/logs/rec-sasrec.jsonl";
  seq.train.checkpoint_path = o.out + "/models/rec-sasrec.ckpt";
  seq.test_ks = {10};
  rec::TrainReport sasrec_trained = rec::train(seq);
  rec::Recommender sasrec(sasrec_trained.model);
  const auto& sasrec_test = sasrec_trained.test;
  model_file_write(sasrec_trained.model, o.out + "/models/rec-sasrec.dcm");

  say("[4/7] evaluating on held-out purchases (leave-one-out, full ranking)\n");
  say("[5/7] recommending for three customers, with reasons\n");
  nlohmann::json recs = nlohmann::json::object();
  for (int64_t u = 0; u < std::min<int64_t>(3, sasrec.users().size()); ++u) {
    const std::string user = sasrec.users().name(u);
    recs[user] = sasrec.recommend(user, 5);
  }
  nlohmann::json catalogue = nlohmann::json::object();
  if (o.vision_epochs > 0) {
    say("[6/7] product photos: a CNN on Fashion-MNIST, its test images as the shop's "
        "catalogue\n");
    catalogue = vision_demo(o.out, o.vision_epochs, o);
  }
  nlohmann::json text_part = nlohmann::json::object();
  if (o.text) {
    say("[7/7] reviews and questions: sentiment, stars and a report by class on the clothing "
        "reviews; "
        "intents and answers on the Bitext questions\n");
    text_part = text_demo(o.out, o);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  nlohmann::json summary = {{"data",
                             {{"events", generated.events},
                              {"purchases", generated.purchases},
                              {"rows_read", trained.rows_read},
                              {"cells_filled", trained.cells_filled},
                              {"synthetic", true}}},
                            {"model", model_path},
                            {"train",
                             {{"epochs_run", trained.result.epochs_run},
                              {"best_epoch", trained.result.best_epoch},
                              {"seconds", trained.result.seconds},
                              {"examples_per_second", trained.result.examples_per_second}}},
                            {"validation", trained.result.best_metrics},
                            {"test", trained.test},
                            {"sasrec", {{"test", sasrec_test}, {"protocol", sasrec_trained.split}}},
                            {"recommendations", recs},
                            {"catalogue", catalogue},
                            {"text", text_part},
                            {"threads", at::get_num_threads()},
                            {"seconds", seconds}};
  std::ofstream(o.out + "/report.json") << summary.dump(2) << "\n";
  return summary;
}

}  // namespace deepcart::shop
