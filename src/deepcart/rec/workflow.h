// The recommender workflows behind `deepcart rec train` and `rec eval`, for any caller: read and
// split the data as a TrainSpec says, train, evaluate on the held-out test items, and keep the
// spec in the ModelFile so that evaluation can be repeated on the same or newer data.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "deepcart/core/model_file.h"
#include "deepcart/core/trainer.h"
#include "deepcart/rec/dataset.h"
#include "deepcart/rec/recommender.h"
#include "deepcart/rec/spec.h"

namespace deepcart::rec {

// Reads spec.data and splits it (seeded by spec.train.seed); says what it read on stderr unless
// spec.train.quiet.
std::pair<RecDataset, RecSplit> load_and_split(const TrainSpec& spec);

struct TrainReport {
  ModelFile model;  // with meta "spec", metrics "test" and "protocol"
  TrainResult result;
  std::map<std::string, double> test;  // empty on data-parallel ranks other than 0
  std::string split;                   // how the data was split
  std::string protocol;                // the split and the ranking, printed with the metrics
  int64_t rows_read = 0, rows_skipped = 0, cells_filled = 0;  // what reading the data did
  // "trained OUT (ARCH) in ...", the best validation metrics, and the test metrics.
  std::string describe(const std::string& out, const std::string& arch) const;
};

// Trains spec.arch and evaluates it on the test items. In a data-parallel run only rank 0
// evaluates.
TrainReport train(TrainSpec spec);

struct EvalOptions {
  std::string data;                   // interactions to evaluate on; empty = the training file
  std::vector<int> ks = {5, 10, 20};  // cut-offs
  int64_t sampled = 0;                // rank against this many sampled negatives (0 = all items)
  int negatives = 0;  // behaviour-mlp: negatives per test purchase for AUC (0 = as in training)
  uint64_t seed = 42;
};

struct EvalReport {
  std::string source, protocol;
  std::map<std::string, double> metrics;
};

// Reads and splits the data as the model's training did and reports its test metrics.
EvalReport evaluate(Recommender& model, const EvalOptions& options);

}  // namespace deepcart::rec
