// Training any recommender on a RecDataset split through the shared Trainer. Pair models learn
// from (user, item) pairs with sampled unseen negatives (BCE, BPR or sampled softmax); sequence
// models learn to predict every next item of the training sequence (full softmax, or BCE/BPR
// with one sampled negative per position). behaviour-mlp learns from every (user, item) pair of a
// behaviour log's training rows, labelled purchased or not, with per-item numeric features.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "deepcart/core/model_file.h"
#include "deepcart/core/trainer.h"
#include "deepcart/rec/dataset.h"
#include "deepcart/rec/spec.h"

namespace deepcart::rec {

struct RecTrainOutput {
  ModelFile model;
  TrainResult result;
};

// The default loss of an architecture: bpr for bpr-mf, softmax for sequence models, else bce.
std::string rec_default_loss(const std::string& arch);

// Trains spec.arch on `split` of `data` (spec.data says how they were read; it is not used here).
RecTrainOutput rec_train(const RecDataset& data, const RecSplit& split, TrainSpec spec);

// Left-padded (B, L) int64 of item id + 1 from the last `len` items of each history.
at::Tensor rec_pad_histories(const std::vector<const std::vector<int64_t>*>& histories,
                             int64_t len);

}  // namespace deepcart::rec
