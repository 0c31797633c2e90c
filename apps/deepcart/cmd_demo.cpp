// deepcart datagen and deepcart demo: the demo shop, end to end (the workflow: shop/demo.h).
#include <cstdio>

#include "cli_common.h"
#include "deepcart/data/shop_gen.h"
#include "deepcart/shop/demo.h"

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

// What `deepcart demo` prints at the end, from the summary run_demo returns.
void print_summary(const nlohmann::json& summary, const std::string& out) {
  const nlohmann::json& data = summary.at("data");
  const nlohmann::json& train = summary.at("train");
  const nlohmann::json& t = summary.at("test");
  const nlohmann::json& sasrec = summary.at("sasrec");
  auto num = [](const nlohmann::json& j, const char* key) { return j.at(key).get<double>(); };
  std::printf("\ndeepcart demo: the behaviour-log MLP recommender on the synthetic demo shop\n");
  std::printf("  data       %lld events, %lld purchases, %lld empty cells filled with 0\n",
              data.at("events").get<long long>(), data.at("purchases").get<long long>(),
              data.at("cells_filled").get<long long>());
  std::printf("  training   %d epochs (best %d), %.1f s, %.0f examples/s on %d threads\n",
              train.at("epochs_run").get<int>(), train.at("best_epoch").get<int>(),
              num(train, "seconds"), num(train, "examples_per_second"),
              summary.at("threads").get<int>());
  std::printf("  test       AUC %.4f  log-loss %.4f  HR@10 %.4f  NDCG@10 %.4f  (%d users)\n",
              num(t, "auc"), num(t, "logloss"), num(t, "hr@10"), num(t, "ndcg@10"),
              static_cast<int>(num(t, "users")));
  std::printf("  baseline   popularity HR@10 %.4f  NDCG@10 %.4f\n", num(t, "pop_hr@10"),
              num(t, "pop_ndcg@10"));
  std::printf("  sasrec     HR@10 %.4f  NDCG@10 %.4f on the purchase sequences (%s)\n",
              num(sasrec.at("test"), "hr@10"), num(sasrec.at("test"), "ndcg@10"),
              sasrec.at("protocol").get<std::string>().c_str());
  for (const auto& [user, items] : summary.at("recommendations").items()) {
    std::printf("  %s:\n", user.c_str());
    for (const auto& i : items) {
      std::printf("    %s (%.2f)", i["item"].get<std::string>().c_str(), i["score"].get<double>());
      const auto& why = i["because"];
      for (size_t b = 0; b < why.size(); ++b) {
        std::printf("%s %s", b ? " and" : "  because you bought",
                    why[b].get<std::string>().c_str());
      }
      std::printf("\n");
    }
  }
  if (!summary.at("catalogue").empty()) print_catalogue(summary.at("catalogue"));
  if (!summary.at("text").empty()) print_text_demo(summary.at("text"));
  std::printf(
      "  wrote      %s, %s/models/rec-sasrec.dcm, %s/report.json, %s/logs/  (%.1f s in all)\n",
      summary.at("model").get<std::string>().c_str(), out.c_str(), out.c_str(), out.c_str(),
      num(summary, "seconds"));
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
    init_context(*common);
    shop::DemoOptions o;
    o.out = *out;
    o.epochs = *epochs;
    o.vision_epochs = *vision_epochs;
    o.text = *text;
    o.share = share_dir();
    o.seed = common->seed;
    o.quiet = common->quiet;
    const nlohmann::json summary = shop::run_demo(o);
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

    print_summary(summary, *out);
    std::fflush(stdout);
    serve_models();
  });
}

}  // namespace deepcart::cli
