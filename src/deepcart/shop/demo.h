// The demo shop end to end, as `deepcart demo` runs it.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace deepcart::shop {

struct DemoOptions {
  std::string out = "demo-out";  // models/, logs/, shop/, report.json, the review report
  int epochs = 15;               // recommender epochs (early stopping on validation)
  int vision_epochs = 1;         // the product-photo CNN on Fashion-MNIST (0 = skip)
  bool text = true;              // the review and question models on the shipped data
  std::string share;             // the project's share/ folder (the shipped data sets)
  uint64_t seed = 42;
  bool quiet = false;
};

// Runs the demo and returns its summary, also written to OUT/report.json: the data, the
// behaviour-log MLP's training and test metrics with the popularity baseline, SASRec's, three
// customers' recommendations, and the catalogue and text parts when they ran.
nlohmann::json run_demo(const DemoOptions& options);
// What `deepcart demo` prints at the end: the summary run_demo returned, for a person.
std::string demo_text(const nlohmann::json& summary, const std::string& out_dir);

}  // namespace deepcart::shop
