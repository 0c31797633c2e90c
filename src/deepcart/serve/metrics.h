// Prometheus metrics of the server, in the text exposition format: request counts and latency
// histograms per route and status, batch sizes per model, models loaded, load failures. Base
// units (seconds), `_total` on counters, and route patterns (never user or item ids) as labels.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "deepcart/serve/http.h"

namespace deepcart::serve {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds = {});
  void observe(double value);
  // Lines "NAME_bucket{LABELS,le="..."} N", "NAME_sum{LABELS} S", "NAME_count{LABELS} C".
  void render(std::string& out, const std::string& name, const std::string& labels) const;
  uint64_t count() const { return count_; }

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> buckets_;  // cumulative at render time; per-bucket here
  double sum_ = 0;
  uint64_t count_ = 0;
};

class Metrics {
 public:
  void request(const std::string& route, int status, double seconds);
  void batch(const std::string& model, int64_t items);
  void load_failure(const std::string& model);
  void set_models_loaded(int64_t count);
  void set_http(const HttpStats& stats);  // the transport's counters, rendered with the rest
  std::string render() const;

  // For tests: how many batches of more than one request a model has run.
  uint64_t batches(const std::string& model) const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  std::map<std::pair<std::string, int>, Histogram> latency_;
  std::map<std::string, Histogram> batch_items_;
  std::map<std::string, uint64_t> load_failures_;
  int64_t models_loaded_ = 0;
  HttpStats http_;
};

}  // namespace deepcart::serve
