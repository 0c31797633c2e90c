#include "deepcart/text/workflow.h"

#include <cstdio>
#include <filesystem>
#include <numeric>

#include "deepcart/core/error.h"

namespace deepcart::text {
namespace {

// The parts as fastText files (pre-tokenised by the model's tokenizer) in `folder`: train.txt,
// valid.txt, train_valid.txt and test.txt, so fastText can be compared on identical splits.
void export_parts(const TextClassifier& model, const TextParts& parts, const std::string& folder) {
  std::filesystem::create_directories(folder);
  auto write_part = [&](const std::string& name, const TextSet& set,
                        const std::vector<int64_t>& rows) {
    std::vector<std::vector<std::string>> tokens;
    std::vector<int64_t> labels;
    for (int64_t r : rows) {
      tokens.push_back(model.tokenizer().encode(set.texts[r]).pieces);
      labels.push_back(set.labels[r]);
    }
    write_fasttext(folder + "/" + name, tokens, labels, set.label_names);
  };
  const TextSplit& split = parts.split;
  std::vector<int64_t> fit = split.train;
  fit.insert(fit.end(), split.valid.begin(), split.valid.end());
  write_part("train.txt", parts.all, split.train);
  write_part("valid.txt", parts.all, split.valid);
  write_part("train_valid.txt", parts.all, fit);
  std::vector<int64_t> every(parts.test.texts.size());
  std::iota(every.begin(), every.end(), 0);
  write_part("test.txt", parts.test, every);
}

}  // namespace

TextParts load_and_split(const TrainSpec& spec) {
  const DataSpec& d = spec.data;
  if (d.path.empty()) throw Error("--data: the labelled texts are required");
  if (d.columns.text.empty()) throw Error("--text-col: at least one text column is required");
  TextParts parts;
  parts.all = read_text_set(d.path, d.columns);
  parts.read = parts.all.report.summary();
  const uint64_t seed = spec.train.seed;
  if (!d.test_path.empty()) {
    parts.split = stratified_split(parts.all.labels, d.valid_fraction, 0.0, seed);
    parts.test = read_text_set(d.test_path, d.columns, parts.all.label_names);
  } else {
    parts.split = stratified_split(parts.all.labels, d.valid_fraction, d.test_fraction, seed);
    parts.test = rows_of(parts.all, parts.split.test);
  }
  return parts;
}

TrainReport train(TrainSpec spec) {
  const TextParts parts = load_and_split(spec);
  if (!spec.train.quiet) {
    std::fprintf(stderr, "%s: %s\n", spec.data.path.c_str(), parts.read.c_str());
    if (!spec.data.test_path.empty()) {
      std::fprintf(stderr, "%s: %s\n", spec.data.test_path.c_str(),
                   parts.test.report.summary().c_str());
    }
  }
  TextTrainOutput trained = text_train(parts.all, parts.split, spec);
  TrainReport report;
  report.model = std::move(trained.model);
  report.result = trained.result;
  report.read = parts.read;
  report.model.meta["spec"] = spec;
  if (spec.train.parallel && spec.train.parallel->rank() != 0) return report;
  TextClassifier model(report.model);
  report.test = text_evaluate(model, parts.test);
  report.model.metrics["test"] = report.test.to_json(model.labels());
  report.model.metrics["test"].erase("confusion");
  if (!spec.export_split.empty()) export_parts(model, parts, spec.export_split);
  return report;
}

TextColumns trained_columns(const ModelFile& file) {
  if (!file.meta.contains("spec")) return {};
  return file.meta.at("spec").at("data").get<DataSpec>().columns;
}

EvalSet evaluation_set(const TextClassifier& model, const std::string& data, TextColumns columns) {
  const nlohmann::json& meta = model.file().meta;
  const TextColumns trained = trained_columns(model.file());
  if (columns.text.empty()) columns.text = trained.text;
  if (columns.label.empty()) columns.label = trained.label;
  EvalSet out;
  if (!data.empty()) {
    out.source = data;
    out.texts = read_text_set(data, columns, model.labels());
    return out;
  }
  if (!meta.contains("spec")) throw Error("--data: required (the model does not record its data)");
  const TrainSpec spec = meta.at("spec").get<TrainSpec>();
  if (!spec.data.test_path.empty()) {
    out.source = spec.data.test_path;
    out.texts = read_text_set(out.source, columns, model.labels());
    return out;
  }
  // The exact held-out part the model was tested on at training time.
  out.source = spec.data.path + " (held-out test part)";
  const TextSet all = read_text_set(spec.data.path, columns, model.labels());
  const TextSplit split = stratified_split(all.labels, spec.data.valid_fraction,
                                           spec.data.test_fraction, spec.train.seed);
  out.texts = rows_of(all, split.test);
  return out;
}

}  // namespace deepcart::text
