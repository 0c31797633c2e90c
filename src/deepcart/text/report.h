// The review report a shop's category managers read: per group (e.g. product class), the
// predicted sentiment distribution, the mean predicted stars, the words and two-word phrases
// that most push predictions positive and negative (summed gradient x input attributions),
// and example reviews. Written as JSON and as one self-contained HTML page.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace deepcart::text {

struct ReportOptions {
  std::string sentiment_model;  // required
  std::string stars_model;      // optional
  std::string data;
  std::vector<std::string> text_cols;  // default: the sentiment model's training columns
  std::string group_col;
  std::string out;  // writes OUT.json and OUT.html
  int64_t top_words = 15;
  int64_t examples = 3;
  int64_t explain_limit = 300;  // reviews explained per group
  int64_t min_count = 3;        // a word must drive at least this many reviews to be listed
  bool quiet = false;
};

// Builds, writes and returns the report.
nlohmann::json review_report(const ReportOptions& options);

// The label index that means "positive": a label named 1, pos, positive, yes or true, else the
// last.
int64_t positive_label(const std::vector<std::string>& labels);

}  // namespace deepcart::text
