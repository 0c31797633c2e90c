// deepcart datagen and deepcart demo: the demo shop, end to end.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "cli_common.h"
#include "deepcart/core/error.h"
#include "deepcart/data/csv_reader.h"
#include "deepcart/data/image.h"
#include "deepcart/data/shop_gen.h"
#include "deepcart/rec/dataset.h"
#include "deepcart/rec/recommender.h"
#include "deepcart/rec/workflow.h"
#include "deepcart/text/classifier.h"
#include "deepcart/text/report.h"
#include "deepcart/text/workflow.h"
#include "deepcart/vision/classifier.h"
#include "deepcart/vision/explain.h"
#include "deepcart/vision/similar.h"
#include "deepcart/vision/workflow.h"

namespace deepcart::cli {

void register_datagen(CLI::App& app) {
  auto* cmd = app.add_subcommand("datagen", "write the demo shop's SYNTHETIC behaviour log (CSV)");
  auto common = std::make_shared<Common>();
  auto out = std::make_shared<std::string>();
  auto options = std::make_shared<data::ShopOptions>();
  add_common(cmd, *common);
  cmd->add_option("--out", *out, "output folder (events.csv, items.csv, README.txt)")->required();
  cmd->add_option("--users", options->users, "customers")->capture_default_str();
  cmd->add_option("--items", options->items, "products")->capture_default_str();
  cmd->add_option("--sessions", options->sessions_mean, "mean sessions per customer")
      ->capture_default_str();
  cmd->add_option("--missing-rate", options->missing_rate, "share of empty price/dwell cells")
      ->capture_default_str();
  cmd->callback([=] {
    options->seed = common->seed;
    auto s = data::shop_generate(*out, *options);
    nlohmann::json j = {
        {"out", *out},      {"events", s.events},       {"views", s.views},
        {"carts", s.carts}, {"purchases", s.purchases}, {"missing_cells", s.missing_cells}};
    if (common->json) return print_json(j);
    std::printf(
        "wrote %s/events.csv: %lld events (%lld views, %lld carts, %lld purchases), "
        "%lld empty cells; SYNTHETIC data (see README.txt)\n",
        out->c_str(), (long long)s.events, (long long)s.views, (long long)s.carts,
        (long long)s.purchases, (long long)s.missing_cells);
  });
}

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
nlohmann::json vision_demo(const std::string& out, int epochs, const Common& common) {
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
    nlohmann::json alike = nlohmann::json::array();
    for (const auto& n : found[i]) {
      alike.push_back({{"id", index.ids()[n.item]},
                       {"category", index.classes()[index.labels()[n.item].item<int64_t>()]},
                       {"similarity", n.similarity}});
    }
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
                                     const std::string& out, const Common& common,
                                     nlohmann::json& summary) {
  text::TrainSpec spec = text::default_spec("bow");
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
nlohmann::json text_demo(const std::string& out, const Common& common) {
  const std::string share = share_dir();
  const std::string reviews_path =
      share + "/data/womens-clothing-reviews/womens-clothing-reviews.csv.gz";
  const std::string questions_path =
      share + "/data/bitext-customer-service/bitext_customer_service_8k.csv.gz";
  nlohmann::json summary = nlohmann::json::object();
  const std::vector<std::string> review_cols = {"Title", "Review Text"};
  demo_text_model(reviews_path, {review_cols, "Recommended IND"}, text::TextTask::kSentiment,
                  "reviews-sentiment", {}, 3, out, common, summary);
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

void print_text_demo(const nlohmann::json& t) {
  std::printf(
      "  reviews    sentiment (recommended or not) test accuracy %.4f; stars accuracy %.4f, MAE "
      "%.2f\n",
      t["reviews-sentiment"]["test_accuracy"].get<double>(),
      t["reviews-stars"]["test_accuracy"].get<double>(),
      t["reviews-stars"]["test_mae"].get<double>());
  const auto& report = t["report"];
  const std::string positive = report["positive_label"].get<std::string>();
  std::vector<nlohmann::json> groups(report["groups"].begin(), report["groups"].end());
  std::sort(groups.begin(), groups.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
    return a["reviews"].get<int64_t>() > b["reviews"].get<int64_t>();
  });
  std::printf("  by class   (the five largest of %zu; all in %s)\n", groups.size(),
              t["report_files"][1].get<std::string>().c_str());
  for (size_t i = 0; i < std::min<size_t>(5, groups.size()); ++i) {
    const auto& g = groups[i];
    auto words = [](const nlohmann::json& list) {
      std::string s;
      for (const auto& w : list) s += (s.empty() ? "" : ", ") + w["text"].get<std::string>();
      return s.empty() ? std::string("-") : s;
    };
    std::printf(
        "    %-10s %5lld reviews, %3.0f%% recommend, %.1f stars; praised: %s; criticised: %s\n",
        g["group"].get<std::string>().c_str(), (long long)g["reviews"].get<int64_t>(),
        100 * g["sentiment"].value(positive, 0.0), g.value("mean_stars", 0.0),
        words(g["positive_drivers"]).c_str(), words(g["negative_drivers"]).c_str());
  }
  std::printf("  questions  intent test accuracy %.4f\n",
              t["questions-intent"]["test_accuracy"].get<double>());
  for (const auto& q : t["questions"]) {
    std::printf("    \"%s\"\n      ", q["question"].get<std::string>().c_str());
    if (q["sure"].get<bool>()) {
      std::printf("%s (%.0f%%): %s\n", q["intent"].get<std::string>().c_str(),
                  100 * q["confidence"].get<double>(), q["answer"].get<std::string>().c_str());
    } else {
      std::printf("not sure (%.0f%%); closest: %s, %s\n", 100 * q["confidence"].get<double>(),
                  q["closest"][0]["intent"].get<std::string>().c_str(),
                  q["closest"][1]["intent"].get<std::string>().c_str());
    }
  }
}

void print_catalogue(const nlohmann::json& c) {
  std::printf("  catalogue  CNN test accuracy %.4f after %.0f s; look-alike precision@8 %.4f\n",
              c["test_accuracy"].get<double>(), c["train_seconds"].get<double>(),
              c["precision_at_8"].get<double>());
  for (const auto& p : c["products"]) {
    const auto& sheet = p["sheet"];
    std::printf("  %s (really %s): %s %.1f%%", p["id"].get<std::string>().c_str(),
                p["true_category"].get<std::string>().c_str(),
                sheet["category"].get<std::string>().c_str(),
                100 * sheet["confidence"].get<double>());
    for (size_t i = 1; i < sheet["top"].size(); ++i) {
      std::printf(", %s %.1f%%", sheet["top"][i]["category"].get<std::string>().c_str(),
                  100 * sheet["top"][i]["probability"].get<double>());
    }
    std::printf("\n    looks like:");
    for (const auto& a : p["look_alikes"]) {
      std::printf(" %s (%s, %.3f)", a["id"].get<std::string>().c_str(),
                  a["category"].get<std::string>().c_str(), a["similarity"].get<double>());
    }
    std::printf("\n");
  }
  std::printf("  Grad-CAM   %s\n", c["gradcam"].get<std::string>().c_str());
}

}  // namespace

void register_demo(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "demo", "the main job: generate the demo shop, clean, train, evaluate, recommend, report");
  auto common = std::make_shared<Common>();
  auto out = std::make_shared<std::string>("demo-out");
  auto epochs = std::make_shared<int>(15);
  auto vision_epochs = std::make_shared<int>(1);
  auto text = std::make_shared<bool>(true);
  auto serve = std::make_shared<bool>(false);
  auto port = std::make_shared<int>(8080);
  add_common(cmd, *common);
  add_device(cmd, *common, true);
  cmd->add_option("--out", *out, "output folder")->capture_default_str();
  cmd->add_option("--epochs", *epochs, "recommender epochs (early stopping on validation)")
      ->capture_default_str();
  cmd->add_option("--vision-epochs", *vision_epochs,
                  "product-photo CNN epochs on Fashion-MNIST (0 = skip)")
      ->capture_default_str();
  cmd->add_flag("--text,!--no-text", *text,
                "train the review and question models on the shipped data")
      ->capture_default_str();
  cmd->add_flag("--serve", *serve,
                "end by serving the demo's models and the shop page (until Ctrl-C)");
  cmd->add_option("--port", *port, "--serve: the port")->capture_default_str();
  cmd->callback([=] {
    namespace fs = std::filesystem;
    init_context(*common);
    const auto t0 = std::chrono::steady_clock::now();
    auto say = [&](const char* fmt, auto... args) {
      if (common->quiet) return;
      std::fprintf(stderr, fmt, args...);
    };
    fs::create_directories(*out + "/models");
    fs::create_directories(*out + "/logs");

    say("[1/7] generating the demo shop (synthetic behaviour log)\n");
    data::ShopOptions shop;
    shop.seed = common->seed;
    auto generated = data::shop_generate(*out + "/shop", shop);
    say("      %lld events, %lld purchases, %lld empty cells\n", (long long)generated.events,
        (long long)generated.purchases, (long long)generated.missing_cells);

    say("[2/7] cleaning and [3/7] training the MLP recommender (64-32-1, BCE, Adam)\n");
    const std::string events = *out + "/shop/events.csv";
    rec::TrainSpec behaviour = rec::default_spec("behaviour-mlp");
    behaviour.data.path = events;
    behaviour.data.load.features = {"price", "dwell_seconds", "quantity"};
    behaviour.data.load.fill_missing = 0.0;
    behaviour.train.epochs = *epochs;
    behaviour.train.seed = common->seed;
    behaviour.train.quiet = common->quiet;
    behaviour.train.metrics_log = *out + "/logs/rec-mlp.jsonl";
    behaviour.train.checkpoint_path = *out + "/models/rec-mlp.ckpt";
    behaviour.test_ks = {10};
    const std::string model_path = *out + "/models/rec-mlp.dcm";
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
    seq.train.epochs = *epochs;
    seq.train.lr = 0.002;
    seq.train.patience = 3;
    seq.train.seed = common->seed;
    seq.train.quiet = common->quiet;
    seq.train.metrics_log = *out + "/logs/rec-sasrec.jsonl";
    seq.train.checkpoint_path = *out + "/models/rec-sasrec.ckpt";
    seq.test_ks = {10};
    rec::TrainReport sasrec_trained = rec::train(seq);
    rec::Recommender sasrec(sasrec_trained.model);
    const auto& sasrec_test = sasrec_trained.test;
    model_file_write(sasrec_trained.model, *out + "/models/rec-sasrec.dcm");

    say("[4/7] evaluating on held-out purchases (leave-one-out, full ranking)\n");
    say("[5/7] recommending for three customers, with reasons\n");
    nlohmann::json recs = nlohmann::json::object();
    for (int64_t u = 0; u < std::min<int64_t>(3, sasrec.users().size()); ++u) {
      const std::string user = sasrec.users().name(u);
      nlohmann::json items = nlohmann::json::array();
      for (const auto& s : sasrec.recommend(user, 5)) {
        items.push_back({{"item", s.item}, {"score", s.score}, {"because", s.because}});
      }
      recs[user] = items;
    }
    nlohmann::json catalogue = nlohmann::json::object();
    if (*vision_epochs > 0) {
      say("[6/7] product photos: a CNN on Fashion-MNIST, its test images as the shop's "
          "catalogue\n");
      catalogue = vision_demo(*out, *vision_epochs, *common);
    }
    nlohmann::json text_part = nlohmann::json::object();
    if (*text) {
      say("[7/7] reviews and questions: sentiment, stars and a report by class on the clothing "
          "reviews; "
          "intents and answers on the Bitext questions\n");
      text_part = text_demo(*out, *common);
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    nlohmann::json summary = {
        {"data",
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
    std::ofstream(*out + "/report.json") << summary.dump(2) << "\n";
    auto serve_models = [&] {
      if (!*serve) return;
      serve::ServeOptions options;
      options.port = *port;
      run_server(options, serve::BatchOptions{}, models_to_serve({}, *out + "/models"),
                 common->quiet, true, 0.0, options.image_limits.max_pixels);
    };
    if (common->json) {
      print_json(summary);
      return serve_models();
    }

    const auto& t = trained.test;
    std::printf("\ndeepcart demo: the behaviour-log MLP recommender on the synthetic demo shop\n");
    std::printf("  data       %lld events, %lld purchases, %lld empty cells filled with 0\n",
                (long long)generated.events, (long long)generated.purchases,
                (long long)trained.cells_filled);
    std::printf("  training   %d epochs (best %d), %.1f s, %.0f examples/s on %d threads\n",
                trained.result.epochs_run, trained.result.best_epoch, trained.result.seconds,
                trained.result.examples_per_second, at::get_num_threads());
    std::printf("  test       AUC %.4f  log-loss %.4f  HR@10 %.4f  NDCG@10 %.4f  (%d users)\n",
                t.at("auc"), t.at("logloss"), t.at("hr@10"), t.at("ndcg@10"), (int)t.at("users"));
    std::printf("  baseline   popularity HR@10 %.4f  NDCG@10 %.4f\n", t.at("pop_hr@10"),
                t.at("pop_ndcg@10"));
    std::printf("  sasrec     HR@10 %.4f  NDCG@10 %.4f on the purchase sequences (%s)\n",
                sasrec_test.at("hr@10"), sasrec_test.at("ndcg@10"), sasrec_trained.split.c_str());
    for (const auto& [user, items] : recs.items()) {
      std::printf("  %s:\n", user.c_str());
      for (const auto& i : items) {
        std::printf("    %s (%.2f)", i["item"].get<std::string>().c_str(),
                    i["score"].get<double>());
        const auto& why = i["because"];
        for (size_t b = 0; b < why.size(); ++b) {
          std::printf("%s %s", b ? " and" : "  because you bought",
                      why[b].get<std::string>().c_str());
        }
        std::printf("\n");
      }
    }
    if (!catalogue.empty()) print_catalogue(catalogue);
    if (!text_part.empty()) print_text_demo(text_part);
    std::printf(
        "  wrote      %s, %s/models/rec-sasrec.dcm, %s/report.json, %s/logs/  (%.1f s in all)\n",
        model_path.c_str(), out->c_str(), out->c_str(), out->c_str(), seconds);
    std::fflush(stdout);
    serve_models();
  });
}

}  // namespace deepcart::cli
