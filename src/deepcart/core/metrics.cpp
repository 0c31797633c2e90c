#include "deepcart/core/metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "deepcart/core/error.h"

namespace deepcart {

double auc(const std::vector<float>& scores, const std::vector<float>& labels) {
  if (scores.size() != labels.size()) throw Error("auc: scores and labels differ in length");
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  // Mann-Whitney U with average ranks for ties.
  double positive_rank_sum = 0.0, positives = 0.0;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j < order.size() && scores[order[j]] == scores[order[i]]) ++j;
    const double mean_rank = 0.5 * static_cast<double>(i + 1 + j);  // ranks i+1 .. j
    for (size_t k = i; k < j; ++k) {
      if (labels[order[k]] > 0.5f) {
        positive_rank_sum += mean_rank;
        positives += 1.0;
      }
    }
    i = j;
  }
  const double negatives = static_cast<double>(scores.size()) - positives;
  if (positives == 0 || negatives == 0) throw Error("auc: needs both positive and negative labels");
  return (positive_rank_sum - positives * (positives + 1) / 2) / (positives * negatives);
}

double log_loss(const std::vector<float>& probabilities, const std::vector<float>& labels) {
  if (probabilities.size() != labels.size() || probabilities.empty()) {
    throw Error("log_loss: expected equal, non-empty probabilities and labels");
  }
  double sum = 0.0;
  for (size_t i = 0; i < labels.size(); ++i) {
    const double p = std::clamp(static_cast<double>(probabilities[i]), 1e-7, 1 - 1e-7);
    sum -= labels[i] > 0.5f ? std::log(p) : std::log(1 - p);
  }
  return sum / static_cast<double>(labels.size());
}

double average_precision(const std::vector<float>& scores, const std::vector<float>& labels) {
  if (scores.size() != labels.size())
    throw Error("average_precision: scores and labels differ in length");
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  // Descending score; among ties, negatives first (pessimistic).
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (scores[a] != scores[b]) return scores[a] > scores[b];
    return labels[a] < labels[b];
  });
  double hits = 0, sum = 0;
  for (size_t rank = 0; rank < order.size(); ++rank) {
    if (labels[order[rank]] > 0.5f) {
      hits += 1;
      sum += hits / static_cast<double>(rank + 1);
    }
  }
  return hits > 0 ? sum / hits : 0.0;
}

double f1_from_counts(double tp, double fp, double fn) {
  const double denominator = 2 * tp + fp + fn;
  return denominator > 0 ? 2 * tp / denominator : 0.0;
}

ClassMetrics class_metrics(const std::vector<std::vector<int64_t>>& confusion) {
  ClassMetrics m;
  const size_t n = confusion.size();
  int64_t correct = 0, total = 0;
  for (size_t c = 0; c < n; ++c) {
    int64_t predicted = 0, actual = 0;
    for (size_t k = 0; k < n; ++k) {
      predicted += confusion[k][c];
      actual += confusion[c][k];
    }
    const int64_t tp = confusion[c][c];
    correct += tp;
    total += actual;
    const double precision = predicted ? static_cast<double>(tp) / predicted : 0.0;
    const double recall = actual ? static_cast<double>(tp) / actual : 0.0;
    m.precision.push_back(precision);
    m.recall.push_back(recall);
    m.f1.push_back(precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0);
  }
  m.accuracy = total ? static_cast<double>(correct) / total : 0.0;
  m.macro_f1 = n ? std::accumulate(m.f1.begin(), m.f1.end(), 0.0) / static_cast<double>(n) : 0.0;
  return m;
}

}  // namespace deepcart
