#include "deepcart/serve/metrics.h"

#include <cstdio>

namespace deepcart::serve {
namespace {

const std::vector<double> kLatencyBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                            0.1,    0.25,  0.5,    1,     2.5,  5,     10};
const std::vector<double> kBatchBounds = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512};

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(bounds_.size(), 0) {}

void Histogram::observe(double value) {
  for (size_t i = 0; i < bounds_.size(); ++i) {
    if (value <= bounds_[i]) {
      ++buckets_[i];
      break;
    }
  }
  sum_ += value;
  ++count_;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& labels) const {
  const std::string sep = labels.empty() ? "" : ",";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += buckets_[i];
    out += name + "_bucket{" + labels + sep + "le=\"" + number(bounds_[i]) + "\"} " +
           std::to_string(cumulative) + "\n";
  }
  out += name + "_bucket{" + labels + sep + "le=\"+Inf\"} " + std::to_string(count_) + "\n";
  out += name + "_sum{" + labels + "} " + number(sum_) + "\n";
  out += name + "_count{" + labels + "} " + std::to_string(count_) + "\n";
}

void Metrics::request(const std::string& route, int status, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto key = std::make_pair(route, status);
  ++requests_[key];
  auto it = latency_.try_emplace(key, kLatencyBounds).first;
  it->second.observe(seconds);
}

void Metrics::batch(const std::string& model, int64_t items) {
  std::lock_guard<std::mutex> lock(mu_);
  batch_items_.try_emplace(model, kBatchBounds).first->second.observe(static_cast<double>(items));
}

void Metrics::load_failure(const std::string& model) {
  std::lock_guard<std::mutex> lock(mu_);
  ++load_failures_[model];
}

void Metrics::set_models_loaded(int64_t count) {
  std::lock_guard<std::mutex> lock(mu_);
  models_loaded_ = count;
}

void Metrics::set_http(const HttpStats& stats) {
  std::lock_guard<std::mutex> lock(mu_);
  http_ = stats;
}

uint64_t Metrics::batches(const std::string& model) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = batch_items_.find(model);
  return it == batch_items_.end() ? 0 : it->second.count();
}

std::string Metrics::render() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  out += "# HELP deepcart_http_requests_total HTTP requests by route pattern and status.\n";
  out += "# TYPE deepcart_http_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    out += "deepcart_http_requests_total{route=" + quoted(key.first) + ",status=\"" +
           std::to_string(key.second) + "\"} " + std::to_string(n) + "\n";
  }
  out +=
      "# HELP deepcart_http_request_duration_seconds Time from routing to the response, by route "
      "and status.\n";
  out += "# TYPE deepcart_http_request_duration_seconds histogram\n";
  for (const auto& [key, h] : latency_) {
    h.render(out, "deepcart_http_request_duration_seconds",
             "route=" + quoted(key.first) + ",status=\"" + std::to_string(key.second) + "\"");
  }
  out += "# HELP deepcart_batch_size Items (texts, images) per model call after micro-batching.\n";
  out += "# TYPE deepcart_batch_size histogram\n";
  for (const auto& [model, h] : batch_items_)
    h.render(out, "deepcart_batch_size", "model=" + quoted(model));
  out += "# HELP deepcart_models_loaded Models currently being served.\n";
  out += "# TYPE deepcart_models_loaded gauge\n";
  out += "deepcart_models_loaded " + std::to_string(models_loaded_) + "\n";
  out +=
      "# HELP deepcart_model_load_failures_total Failed loads and reloads (the old model kept "
      "serving).\n";
  out += "# TYPE deepcart_model_load_failures_total counter\n";
  for (const auto& [model, n] : load_failures_) {
    out += "deepcart_model_load_failures_total{model=" + quoted(model) + "} " + std::to_string(n) +
           "\n";
  }
  auto gauge = [&out](const char* name, const char* type, const char* help, int64_t value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
           name + " " + std::to_string(value) + "\n";
  };
  gauge("deepcart_http_connections_open", "gauge", "Client connections open now.", http_.open);
  gauge("deepcart_http_connections_total", "counter", "Client connections accepted.",
        http_.accepted);
  gauge("deepcart_http_connections_over_limit_total", "counter",
        "Connections accepted over --max-connections (health routes only).", http_.over_limit);
  gauge("deepcart_http_connections_refused_total", "counter",
        "Connections closed at once, far over the cap.", http_.refused);
  gauge("deepcart_http_head_timeouts_total", "counter",
        "Connections closed for not sending a request head in time.", http_.head_timeouts);
  gauge("deepcart_http_body_timeouts_total", "counter",
        "Requests whose body did not arrive in time.", http_.body_timeouts);
  gauge("deepcart_http_body_bytes_held", "gauge",
        "Request body memory held now, against --max-body-total.", http_.body_bytes_held);
  return out;
}

}  // namespace deepcart::serve
