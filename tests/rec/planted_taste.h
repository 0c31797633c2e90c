// A small recommendation data set with a planted structure, shared by the rec tests and the
// GPU tests.
#pragma once

#include <algorithm>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "deepcart/rec/dataset.h"
#include "deepcart/rec/rec_task.h"

namespace deepcart::rec {

// 300 users who each like one of 10 hidden categories of 12 items (120 items). A user's items
// come from the liked category, with a popularity skew inside it; category 0 is the most
// popular overall, so popularity alone gets only its fans right.
inline RecDataset planted_taste() {
  RecDataset d;
  constexpr int kUsers = 300, kCategories = 10, kPerCategory = 12;
  for (int i = 0; i < kCategories * kPerCategory; ++i) d.items.add("i" + std::to_string(i));
  std::mt19937_64 rng(5);
  std::vector<double> category_weight;
  for (int c = 0; c < kCategories; ++c) category_weight.push_back(c == 0 ? 4.0 : 1.0);
  std::discrete_distribution<int> pick_category(category_weight.begin(), category_weight.end());
  std::vector<double> in_category;
  for (int j = 0; j < kPerCategory; ++j) in_category.push_back(1.0 / (1 + j));
  std::discrete_distribution<int> pick_item(in_category.begin(), in_category.end());
  for (int u = 0; u < kUsers; ++u) {
    d.users.add("u" + std::to_string(u));
    const int c = pick_category(rng);
    std::vector<int64_t> seq;
    while (seq.size() < 8) {
      const int64_t item = c * kPerCategory + pick_item(rng);
      if (std::find(seq.begin(), seq.end(), item) == seq.end()) seq.push_back(item);
    }
    d.sequences.push_back(seq);
    std::vector<int64_t> times(seq.size());
    std::iota(times.begin(), times.end(), 0);
    d.times.push_back(times);
  }
  return d;
}

// The training settings that learn it in a few seconds.
inline TrainSpec planted_taste_config(const std::string& arch, int epochs) {
  TrainSpec c;
  c.arch = arch;
  c.train.epochs = epochs;
  c.train.batch_size = arch == "sasrec" || arch == "gru4rec" ? 32 : 128;
  c.train.lr = arch == "bpr-mf" ? 0.01 : 0.003;
  c.train.quiet = true;
  c.train.seed = 3;
  c.train.monitor = "ndcg@10";
  if (arch == "sasrec" || arch == "gru4rec") c.hparams = {{"max_len", 10}, {"dim", 32}};
  return c;
}

}  // namespace deepcart::rec
