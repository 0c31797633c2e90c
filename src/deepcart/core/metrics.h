// Classification metrics shared by every capability (tests compare them with hand-computed
// values). Ranking metrics live in rec/ranking.h.
#pragma once

#include <cstdint>
#include <vector>

namespace deepcart {

// Area under the ROC curve; ties count one half. Throws when a class is absent.
double auc(const std::vector<float>& scores, const std::vector<float>& labels);
// Mean binary cross-entropy of probabilities, clamped away from 0 and 1.
double log_loss(const std::vector<float>& probabilities, const std::vector<float>& labels);
// Average precision (area under the precision-recall curve, as the mean precision at each
// positive in descending score order; tied scores are ranked pessimistically). 0 without positives.
double average_precision(const std::vector<float>& scores, const std::vector<float>& labels);
// F1 of thresholded scores (score >= threshold is positive), from its counts.
double f1_from_counts(double true_positives, double false_positives, double false_negatives);

// Accuracy and per-class precision, recall and F1 from a confusion matrix [true][predicted];
// macro-F1 is their mean over classes. A class never predicted has precision 0.
struct ClassMetrics {
  double accuracy = 0, macro_f1 = 0;
  std::vector<double> precision, recall, f1;
};
ClassMetrics class_metrics(const std::vector<std::vector<int64_t>>& confusion);

}  // namespace deepcart
