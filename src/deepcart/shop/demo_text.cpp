#include <algorithm>
#include <vector>

#include "deepcart/core/text_out.h"
#include "deepcart/shop/demo.h"

namespace deepcart::shop {
namespace {

void add_text_demo(TextOut& out, const nlohmann::json& t) {
  out.add(
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
  out.add("  by class   (the five largest of %zu; all in %s)\n", groups.size(),
          t["report_files"][1].get<std::string>().c_str());
  for (size_t i = 0; i < std::min<size_t>(5, groups.size()); ++i) {
    const auto& g = groups[i];
    auto words = [](const nlohmann::json& list) {
      std::string s;
      for (const auto& w : list) s += (s.empty() ? "" : ", ") + w["text"].get<std::string>();
      return s.empty() ? std::string("-") : s;
    };
    out.add("    %-10s %5lld reviews, %3.0f%% recommend, %.1f stars; praised: %s; criticised: %s\n",
            g["group"].get<std::string>().c_str(), (long long)g["reviews"].get<int64_t>(),
            100 * g["sentiment"].value(positive, 0.0), g.value("mean_stars", 0.0),
            words(g["positive_drivers"]).c_str(), words(g["negative_drivers"]).c_str());
  }
  out.add("  questions  intent test accuracy %.4f\n",
          t["questions-intent"]["test_accuracy"].get<double>());
  for (const auto& q : t["questions"]) {
    out.add("    \"%s\"\n      ", q["question"].get<std::string>().c_str());
    if (q["sure"].get<bool>()) {
      out.add("%s (%.0f%%): %s\n", q["intent"].get<std::string>().c_str(),
              100 * q["confidence"].get<double>(), q["answer"].get<std::string>().c_str());
    } else {
      out.add("not sure (%.0f%%); closest: %s, %s\n", 100 * q["confidence"].get<double>(),
              q["closest"][0]["intent"].get<std::string>().c_str(),
              q["closest"][1]["intent"].get<std::string>().c_str());
    }
  }
}

void add_catalogue(TextOut& out, const nlohmann::json& c) {
  out.add("  catalogue  CNN test accuracy %.4f after %.0f s; look-alike precision@8 %.4f\n",
          c["test_accuracy"].get<double>(), c["train_seconds"].get<double>(),
          c["precision_at_8"].get<double>());
  for (const auto& p : c["products"]) {
    const auto& sheet = p["sheet"];
    out.add("  %s (really %s): %s %.1f%%", p["id"].get<std::string>().c_str(),
            p["true_category"].get<std::string>().c_str(),
            sheet["category"].get<std::string>().c_str(), 100 * sheet["confidence"].get<double>());
    for (size_t i = 1; i < sheet["top"].size(); ++i) {
      out.add(", %s %.1f%%", sheet["top"][i]["category"].get<std::string>().c_str(),
              100 * sheet["top"][i]["probability"].get<double>());
    }
    out.add("\n    looks like:");
    for (const auto& a : p["look_alikes"]) {
      out.add(" %s (%s, %.3f)", a["id"].get<std::string>().c_str(),
              a["category"].get<std::string>().c_str(), a["similarity"].get<double>());
    }
    out.add("\n");
  }
  out.add("  Grad-CAM   %s\n", c["gradcam"].get<std::string>().c_str());
}

}  // namespace

std::string demo_text(const nlohmann::json& summary, const std::string& out_dir) {
  TextOut out;
  const nlohmann::json& data = summary.at("data");
  const nlohmann::json& train = summary.at("train");
  const nlohmann::json& t = summary.at("test");
  const nlohmann::json& sasrec = summary.at("sasrec");
  auto num = [](const nlohmann::json& j, const char* key) { return j.at(key).get<double>(); };
  out.add("\ndeepcart demo: the behaviour-log MLP recommender on the synthetic demo shop\n");
  out.add("  data       %lld events, %lld purchases, %lld empty cells filled with 0\n",
          data.at("events").get<long long>(), data.at("purchases").get<long long>(),
          data.at("cells_filled").get<long long>());
  out.add("  training   %d epochs (best %d), %.1f s, %.0f examples/s on %d threads\n",
          train.at("epochs_run").get<int>(), train.at("best_epoch").get<int>(),
          num(train, "seconds"), num(train, "examples_per_second"),
          summary.at("threads").get<int>());
  out.add("  test       AUC %.4f  log-loss %.4f  HR@10 %.4f  NDCG@10 %.4f  (%d users)\n",
          num(t, "auc"), num(t, "logloss"), num(t, "hr@10"), num(t, "ndcg@10"),
          static_cast<int>(num(t, "users")));
  out.add("  baseline   popularity HR@10 %.4f  NDCG@10 %.4f\n", num(t, "pop_hr@10"),
          num(t, "pop_ndcg@10"));
  out.add("  sasrec     HR@10 %.4f  NDCG@10 %.4f on the purchase sequences (%s)\n",
          num(sasrec.at("test"), "hr@10"), num(sasrec.at("test"), "ndcg@10"),
          sasrec.at("protocol").get<std::string>().c_str());
  for (const auto& [user, items] : summary.at("recommendations").items()) {
    out.add("  %s:\n", user.c_str());
    for (const auto& i : items) {
      out.add("    %s (%.2f)", i["item"].get<std::string>().c_str(), i["score"].get<double>());
      const auto& why = i["because"];
      for (size_t b = 0; b < why.size(); ++b) {
        out.add("%s %s", b ? " and" : "  because you bought", why[b].get<std::string>().c_str());
      }
      out.add("\n");
    }
  }
  if (!summary.at("catalogue").empty()) add_catalogue(out, summary.at("catalogue"));
  if (!summary.at("text").empty()) add_text_demo(out, summary.at("text"));
  out.add("  wrote      %s, %s/models/rec-sasrec.dcm, %s/report.json, %s/logs/  (%.1f s in all)\n",
          summary.at("model").get<std::string>().c_str(), out_dir.c_str(), out_dir.c_str(),
          out_dir.c_str(), num(summary, "seconds"));
  return out.s;
}

}  // namespace deepcart::shop
