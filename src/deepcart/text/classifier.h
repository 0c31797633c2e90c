// Text classification through the shared Trainer: reviews (sentiment, stars) and customer
// questions (intents, with an out-of-scope threshold). Training tokenises once, batches are
// padded to their longest text; the tokenizer, labels and threshold live in the ModelFile.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include "deepcart/core/model_file.h"
#include "deepcart/core/trainer.h"
#include "deepcart/text/net.h"
#include "deepcart/text/spec.h"
#include "deepcart/text/text_data.h"
#include "deepcart/text/tokenizer.h"

namespace deepcart::text {

struct TextTrainOutput {
  ModelFile model;
  TrainResult result;
};

// Trains on data rows split.train, validates (early stopping, threshold) on split.valid
// (config.data says how they were read; it is not used here).
TextTrainOutput text_train(const TextSet& data, const TextSplit& split, TrainSpec config);

// Pads id lists into (B, L) int64 with 0, L = the longest (at least 1).
at::Tensor pad_batch(const std::vector<std::vector<int64_t>>& ids);

struct Attribution {
  std::vector<std::string> pieces;
  std::vector<float> scores;  // gradient x input summed over the embedding: + supports the label
  int64_t label = 0;
  float probability = 0;
  nlohmann::json tokens_json() const;  // [{"token", "score"}, ...]
  // The label line and the text with each token coloured by its score (ANSI: green for the
  // label, red against it).
  std::string describe(const std::string& label_name) const;
};

// An intent model's reply to a customer question.
struct Answer {
  std::string intent;
  float confidence = 0;
  bool sure = false;   // confidence >= the model's out-of-scope threshold
  std::string answer;  // when sure: the answer on file for the intent ("" if none)
  std::vector<std::pair<std::string, float>> closest;  // when not sure: the two closest intents
  nlohmann::json to_json(const std::string& question, float threshold) const;
  std::string describe(float threshold) const;  // the lines `text answer` prints
};

class TextClassifier {
 public:
  explicit TextClassifier(ModelFile file);
  static TextClassifier load(const std::string& path);
  at::Tensor probabilities(const std::vector<std::string>& texts,
                           int64_t batch = 256);  // (N, labels)
  // The expected number of stars of each row of `probabilities` (N, labels): the labels read as
  // numbers, weighted by their probabilities -> (N) double. Throws Error when a label is not a
  // number.
  at::Tensor expected_stars(const at::Tensor& probabilities) const;
  // [{"text", "label", "label_name", "probability"}] per text, with "expected_stars" for a
  // stars model.
  nlohmann::json predict_json(const std::vector<std::string>& texts);
  // intent models: the intent of `question` and its answer from `answers`, or "not sure".
  Answer answer(const std::string& question, const std::map<std::string, std::string>& answers);
  // The same from this model's probabilities (labels) for one question, e.g. from a batch.
  Answer answer_of(const at::Tensor& probabilities,
                   const std::map<std::string, std::string>& answers) const;
  // Token scores for `label` (-1 = the predicted one).
  Attribution explain(const std::string& text, int64_t label = -1);
  // The same for the label named `label` (empty = the predicted one); an unknown name is an
  // Error.
  Attribution explain(const std::string& text, const std::string& label);

  const std::vector<std::string>& labels() const { return labels_; }
  // The names people read (--label-names), in the order of labels(); a label not named is
  // itself.
  const std::vector<std::string>& label_names() const { return display_labels_; }
  TextTask task() const { return task_; }
  float threshold() const { return threshold_; }  // intent: below it, "not sure"; else 0
  const std::map<std::string, std::string>& answers() const { return answers_; }
  const Tokenizer& tokenizer() const { return tokenizer_; }
  const ModelFile& file() const { return file_; }

 private:
  ModelFile file_;
  TextNet model_{nullptr};
  Tokenizer tokenizer_;
  std::vector<std::string> labels_, display_labels_;
  TextTask task_;
  float threshold_ = 0;
  std::map<std::string, std::string> answers_;
};

struct TextReport {
  int64_t texts = 0;
  double accuracy = 0, macro_f1 = 0;
  double mae = -1;  // stars only
  double texts_per_second = 0;
  std::vector<double> precision, recall, f1;
  std::vector<std::vector<int64_t>> confusion;  // [true][predicted]
  double not_sure_rate = -1;  // intent only: share of test texts under the threshold
  double accuracy_when_sure = -1;
  nlohmann::json to_json(const std::vector<std::string>& labels) const;
  // The summary line and a precision/recall/F1 line per label (`text train`, `text eval`).
  std::string describe(const std::vector<std::string>& labels) const;
};

TextReport text_evaluate(TextClassifier& model, const TextSet& test);

// Out-of-scope threshold: the top-probability cut that best separates in-scope validation texts
// (kept above it) from nonsense (random vocabulary pieces and random letters, pushed under it),
// weighting both sides equally.
float tune_out_of_scope(const at::Tensor& in_scope_top, const at::Tensor& nonsense_top);

}  // namespace deepcart::text
