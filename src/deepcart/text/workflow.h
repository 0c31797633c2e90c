// The text workflows behind `deepcart text train` and `text eval`, for any caller: read the
// labelled texts and split them as a TrainSpec says, train, test once on the held-out part, and
// keep the spec in the ModelFile so that the same held-out texts can be found again.
#pragma once

#include <string>
#include <vector>

#include "deepcart/core/model_file.h"
#include "deepcart/core/trainer.h"
#include "deepcart/text/classifier.h"
#include "deepcart/text/spec.h"
#include "deepcart/text/text_data.h"

namespace deepcart::text {

struct TextParts {
  TextSet all;       // spec.data.path: train and validation rows (and test rows without test_path)
  TextSplit split;   // rows of `all`
  TextSet test;      // the test texts: test_path, or the test rows of `all`
  std::string read;  // what reading spec.data.path said: "N rows, M kept, ..."
};

// Reads spec.data and splits it (stratified, seeded by spec.train.seed).
TextParts load_and_split(const TrainSpec& spec);

struct TrainReport {
  ModelFile model;  // with meta "spec" and metrics "test"
  TrainResult result;
  TextReport test;   // empty on data-parallel ranks other than 0
  std::string read;  // what reading the training file said
};

// Trains, tests on the held-out texts and, with spec.export_split, writes the parts as fastText
// files. Says what it read on stderr unless spec.train.quiet. In a data-parallel run only rank 0
// tests and exports.
TrainReport train(TrainSpec spec);

// The text and label columns a model was trained on (empty when it does not record them).
TextColumns trained_columns(const ModelFile& file);

struct EvalSet {
  std::string source;  // what the texts are, for messages
  TextSet texts;
};

// The texts to test `model` on: `data` when given, read with `columns` (each part defaulting to
// the trained columns); else the model's own test texts, its test file or the exact held-out
// part of its training data.
EvalSet evaluation_set(const TextClassifier& model, const std::string& data, TextColumns columns);

}  // namespace deepcart::text
