// Classification metrics shared by every capability (tests compare them with hand-computed
// values). Ranking metrics live in rec/ranking.h.
#pragma once

#include <vector>

namespace deepcart {

// Area under the ROC curve; ties count one half. Throws when a class is absent.
double auc(const std::vector<float>& scores, const std::vector<float>& labels);
// Mean binary cross-entropy of probabilities, clamped away from 0 and 1.
double log_loss(const std::vector<float>& probabilities, const std::vector<float>& labels);

}  // namespace deepcart
