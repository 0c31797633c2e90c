#include "deepcart/text/report.h"

#include <torch/torch.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <map>

#include "deepcart/core/error.h"
#include "deepcart/core/progress.h"
#include "deepcart/text/classifier.h"
#include "deepcart/text/workflow.h"

namespace deepcart::text {
namespace {

struct Driver {
  double sum = 0;
  int64_t reviews = 0;
};

// Punctuation and symbols on their own say nothing about a product; a piece needs a letter or a
// digit (any byte >= 0x80 counts: CJK characters and accented letters).
bool has_word_character(const std::string& piece) {
  return std::any_of(piece.begin(), piece.end(), [](char c) {
    const auto b = static_cast<unsigned char>(c);
    return b >= 0x80 || std::isalnum(b);
  });
}

// Adds each word's and each adjacent pair's attribution once per review (pairs of words only,
// not "disappointed .").
void add_drivers(const Attribution& a, std::map<std::string, Driver>& drivers) {
  std::map<std::string, double> seen;
  for (size_t i = 0; i < a.pieces.size(); ++i) {
    seen[a.pieces[i]] += a.scores[i];
    if (i + 1 < a.pieces.size() && has_word_character(a.pieces[i]) &&
        has_word_character(a.pieces[i + 1])) {
      const bool cjk =
          static_cast<unsigned char>(a.pieces[i][0]) >= 0xE3;  // CJK pieces join without a space
      seen[a.pieces[i] + (cjk ? "" : " ") + a.pieces[i + 1]] += a.scores[i] + a.scores[i + 1];
    }
  }
  for (const auto& [piece, score] : seen) {
    drivers[piece].sum += score;
    drivers[piece].reviews += 1;
  }
}

nlohmann::json top_drivers(const std::map<std::string, Driver>& drivers, int64_t n,
                           int64_t min_count, bool positive) {
  std::vector<std::pair<double, std::string>> ranked;
  for (const auto& [piece, d] : drivers) {
    if (d.reviews < min_count || !has_word_character(piece)) continue;
    // Mean pull per review, weighted by the log of how many reviews have it: ranking by the total
    // would crown "the" and "." (tiny pulls in every review) over "flattering" and "returned".
    const double mean = d.sum / static_cast<double>(d.reviews);
    const double weight = std::log1p(static_cast<double>(d.reviews));
    ranked.emplace_back((positive ? mean : -mean) * weight, piece);
  }
  std::sort(ranked.rbegin(), ranked.rend());
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [score, piece] : ranked) {
    if (static_cast<int64_t>(out.size()) >= n || score <= 0) break;
    const Driver& d = drivers.at(piece);
    out.push_back({{"text", piece},
                   {"score", d.sum / static_cast<double>(d.reviews)},
                   {"reviews", d.reviews}});
  }
  return out;
}

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string html_page(const nlohmann::json& report) {
  std::string h =
      "<!doctype html><html><head><meta charset=\"utf-8\"><title>deepcart review "
      "report</title><style>"
      "body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:70em}"
      "h2{border-bottom:1px solid "
      "#ccc;padding-bottom:.2em}.bar{display:flex;height:1.2em;width:30em;border-radius:3px;"
      "overflow:hidden}"
      ".seg{color:#fff;font-size:.75em;padding-left:.3em;white-space:nowrap}.cols{display:flex;gap:"
      "3em}"
      ".pos{color:#1a7f37}.neg{color:#b42318}li{margin:.15em 0}blockquote{margin:.4em "
      "0;padding:.3em .8em;background:#f5f5f5;border-left:3px solid #999}"
      "</style></head><body><h1>Review report</h1><p>";
  h += escape(report["data"].get<std::string>()) + ": " +
       std::to_string(report["reviews"].get<int64_t>()) + " reviews, grouped by <b>" +
       escape(report["group_by"].get<std::string>()) + "</b>. Sentiment model " +
       escape(report["sentiment_model"].get<std::string>()) + ".</p>";
  const char* colours[] = {"#b42318", "#1a7f37", "#6941c6", "#b54708", "#175cd3", "#667085"};
  for (const auto& g : report["groups"]) {
    h += "<h2>" + escape(g["group"].get<std::string>()) + " <small>(" +
         std::to_string(g["reviews"].get<int64_t>()) + " reviews";
    if (g.contains("mean_stars")) {
      char stars[32];
      std::snprintf(stars, sizeof stars, ", mean %.2f stars", g["mean_stars"].get<double>());
      h += stars;
    }
    h += ")</small></h2><div class=\"bar\">";
    size_t c = 0;
    for (const auto& [label, share] : g["sentiment"].items()) {
      char seg[256];
      std::snprintf(seg, sizeof seg,
                    "<div class=\"seg\" style=\"width:%.1f%%;background:%s\">%s %.0f%%</div>",
                    100 * share.get<double>(), colours[c++ % 6], escape(label).c_str(),
                    100 * share.get<double>());
      h += seg;
    }
    h += "</div><div class=\"cols\"><div><h3 class=\"pos\">drives positive</h3><ul>";
    for (const auto& w : g["positive_drivers"])
      h += "<li>" + escape(w["text"].get<std::string>()) + " <small>(" +
           std::to_string(w["reviews"].get<int64_t>()) + ")</small></li>";
    h += "</ul></div><div><h3 class=\"neg\">drives negative</h3><ul>";
    for (const auto& w : g["negative_drivers"])
      h += "<li>" + escape(w["text"].get<std::string>()) + " <small>(" +
           std::to_string(w["reviews"].get<int64_t>()) + ")</small></li>";
    h += "</ul></div></div><h3>examples</h3>";
    for (const auto& e : g["examples"]) {
      char p[64];
      std::snprintf(p, sizeof p, "%s %.0f%%", e["label"].get<std::string>().c_str(),
                    100 * e["probability"].get<double>());
      h += "<blockquote><b>" + escape(p) + "</b> " + escape(e["text"].get<std::string>()) +
           "</blockquote>";
    }
  }
  return h + "</body></html>\n";
}

}  // namespace

int64_t positive_label(const std::vector<std::string>& labels) {
  for (size_t i = 0; i < labels.size(); ++i) {
    std::string l = labels[i];
    std::transform(l.begin(), l.end(), l.begin(), [](unsigned char c) { return std::tolower(c); });
    if (l == "1" || l == "pos" || l == "positive" || l == "yes" || l == "true")
      return static_cast<int64_t>(i);
  }
  return static_cast<int64_t>(labels.size()) - 1;
}

nlohmann::json review_report(const ReportOptions& o) {
  TextClassifier sentiment = TextClassifier::load(o.sentiment_model);
  std::vector<std::string> cols = o.text_cols;
  if (cols.empty()) cols = trained_columns(sentiment.file()).text;
  if (cols.empty())
    throw Error("--text-col: required (the model does not record its text columns)");
  TextSet reviews = read_text_set(o.data, TextColumns{cols, ""}, {}, o.group_col);
  if (reviews.size() == 0) throw Error(o.data + ": no reviews with text");
  at::Tensor probs = sentiment.probabilities(reviews.texts);
  at::Tensor stars;
  if (!o.stars_model.empty()) {
    TextClassifier stars_model = TextClassifier::load(o.stars_model);
    stars = stars_model.expected_stars(stars_model.probabilities(reviews.texts)).to(torch::kFloat);
  }
  const int64_t positive = positive_label(sentiment.labels());
  std::map<std::string, std::vector<int64_t>> groups;
  for (int64_t i = 0; i < reviews.size(); ++i) groups[reviews.group[i]].push_back(i);

  nlohmann::json out_groups = nlohmann::json::array();
  Progress progress(o.quiet);
  progress.start_epoch(1, 1, static_cast<int64_t>(groups.size()), 0);
  int64_t done = 0;
  for (const auto& [name, rows] : groups) {
    nlohmann::json g = {{"group", name}, {"reviews", static_cast<int64_t>(rows.size())}};
    std::vector<int64_t> counts(sentiment.labels().size(), 0);
    double star_sum = 0;
    for (int64_t r : rows) {
      ++counts[probs[r].argmax().item<int64_t>()];
      if (stars.defined()) star_sum += stars[r].item<double>();
    }
    nlohmann::json distribution = nlohmann::json::object();
    for (size_t c = 0; c < counts.size(); ++c)
      distribution[sentiment.labels()[c]] = static_cast<double>(counts[c]) / rows.size();
    g["sentiment"] = distribution;
    if (stars.defined()) g["mean_stars"] = star_sum / rows.size();
    // Attributions toward "positive": positive scores push up, negative ones push down.
    std::map<std::string, Driver> drivers;
    const size_t step = std::max<size_t>(
        1, rows.size() / static_cast<size_t>(std::max<int64_t>(1, o.explain_limit)));
    for (size_t i = 0; i < rows.size(); i += step) {
      Attribution a = sentiment.explain(reviews.texts[rows[i]], positive);
      if (!a.scores.empty()) add_drivers(a, drivers);
    }
    g["positive_drivers"] = top_drivers(drivers, o.top_words, o.min_count, true);
    g["negative_drivers"] = top_drivers(drivers, o.top_words, o.min_count, false);
    std::vector<int64_t> by_positive = rows;
    std::sort(by_positive.begin(), by_positive.end(), [&](int64_t a, int64_t b) {
      return probs[a][positive].item<float>() > probs[b][positive].item<float>();
    });
    nlohmann::json examples = nlohmann::json::array();
    auto add_example = [&](int64_t r) {
      const int64_t label = probs[r].argmax().item<int64_t>();
      examples.push_back({{"text", reviews.texts[r]},
                          {"label", sentiment.labels()[label]},
                          {"probability", probs[r][label].item<float>()}});
    };
    for (int64_t i = 0; i < std::min<int64_t>(o.examples, by_positive.size()); ++i)
      add_example(by_positive[i]);
    for (int64_t i = 0;
         i < std::min<int64_t>(o.examples, by_positive.size() -
                                               std::min<int64_t>(o.examples, by_positive.size()));
         ++i) {
      add_example(by_positive[by_positive.size() - 1 - i]);
    }
    g["examples"] = examples;
    out_groups.push_back(g);
    progress.step(++done, 0.0);
  }
  progress.end_epoch("report: " + std::to_string(groups.size()) + " groups");
  nlohmann::json report = {{"data", o.data},
                           {"group_by", o.group_col},
                           {"reviews", reviews.size()},
                           {"read", reviews.report.summary()},
                           {"sentiment_model", o.sentiment_model},
                           {"positive_label", sentiment.labels()[positive]},
                           {"groups", out_groups}};
  if (!o.stars_model.empty()) report["stars_model"] = o.stars_model;
  std::ofstream(o.out + ".json") << report.dump(2) << "\n";
  std::ofstream html(o.out + ".html");
  if (!html) throw Error(o.out + ".html: cannot open for writing");
  html << html_page(report);
  return report;
}

}  // namespace deepcart::text
