// deepcart text train | eval | predict | answer | explain | report
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "cli_common.h"
#include "deepcart/core/error.h"
#include "deepcart/core/plot.h"
#include "deepcart/data/csv_reader.h"
#include "deepcart/text/classifier.h"
#include "deepcart/text/report.h"
#include "deepcart/text/workflow.h"

namespace deepcart::cli {
namespace {

void print_report(const text::TextReport& r, const std::vector<std::string>& labels) {
  std::printf("accuracy %.4f  macro-F1 %.4f", r.accuracy, r.macro_f1);
  if (r.mae >= 0) std::printf("  MAE %.4f stars", r.mae);
  if (r.not_sure_rate >= 0)
    std::printf("  not sure %.1f%% (accuracy when sure %.4f)", 100 * r.not_sure_rate,
                r.accuracy_when_sure);
  std::printf("  (%lld texts, %.0f texts/s)\n", static_cast<long long>(r.texts),
              r.texts_per_second);
  std::printf("  %-28s %9s %9s %9s\n", "label", "precision", "recall", "F1");
  for (size_t c = 0; c < labels.size(); ++c) {
    std::printf("  %-28s %9.4f %9.4f %9.4f\n", labels[c].c_str(), r.precision[c], r.recall[c],
                r.f1[c]);
  }
}

struct DataFlags {
  std::vector<std::string> text_cols;
  std::string label_col;
};

void add_data_flags(CLI::App* cmd, DataFlags& f, bool label_required) {
  cmd->add_option("--text-col", f.text_cols, "text column(s), joined in order (repeat the flag)");
  auto* label = cmd->add_option("--label-col", f.label_col, "label column");
  if (label_required) label->required();
}

void add_tokenizer_flags(CLI::App* cmd, text::TokenizerOptions& t) {
  cmd->add_option("--tokenizer", t.kind,
                  "words (CJK characters, Latin words) | unigram | bpe (SentencePiece)")
      ->check(CLI::IsMember({"words", "unigram", "bpe"}))
      ->capture_default_str();
  cmd->add_option("--vocab-size", t.vocab_size, "vocabulary size (at most, for words)")
      ->capture_default_str();
  cmd->add_option("--min-count", t.min_count, "words: rarer pieces are unknown")
      ->capture_default_str();
  cmd->add_option("--max-length", t.max_length, "tokens kept per text")->capture_default_str();
}

void add_network_flags(CLI::App* cmd, text::TextOptions& hp) {
  cmd->add_option("--dim", hp.dim, "token embedding size")->capture_default_str();
  cmd->add_option("--hidden", hp.hidden, "gru/lstm: hidden size per direction")
      ->capture_default_str();
  cmd->add_option("--layers", hp.layers, "gru/lstm/transformer layers")->capture_default_str();
  cmd->add_option("--heads", hp.heads, "transformer: attention heads")->capture_default_str();
  cmd->add_option("--pooling", hp.pooling, "gru/lstm/transformer: max | mean")
      ->check(CLI::IsMember({"max", "mean"}))
      ->capture_default_str();
  cmd->add_option("--buckets", hp.buckets, "bow: hashed n-gram buckets (0 = unigrams only)")
      ->capture_default_str();
  cmd->add_option("--ngrams", hp.ngrams, "bow: longest token n-gram hashed (1, 2 or 3)")
      ->check(CLI::Range(1, 3))
      ->capture_default_str();
  cmd->add_option("--dropout", hp.dropout, "gru/lstm/transformer: dropout before the head")
      ->capture_default_str();
}

void add_train_command(CLI::App* group) {
  auto* cmd =
      group->add_subcommand("train", "train a text classifier (sentiment, stars or intents)");
  auto common = std::make_shared<Common>();
  auto spec = std::make_shared<text::TrainSpec>(text::default_spec());
  auto flags = std::make_shared<DataFlags>();
  auto out = std::make_shared<std::string>();
  auto task = std::make_shared<std::string>("sentiment");
  auto arch = std::make_shared<std::string>("bow");
  auto answers = std::make_shared<std::string>();
  auto plot = std::make_shared<std::string>();
  auto hp = std::make_shared<text::TextOptions>();
  add_common(cmd, *common);
  add_device(cmd, *common, true);
  cmd->add_option("--data", spec->data.path, "CSV, TSV or JSONL file of labelled texts")
      ->required();
  cmd->add_option(
      "--test", spec->data.test_path,
      "official test file (same columns); default: a stratified --test-fraction of --data");
  add_data_flags(cmd, *flags, true);
  cmd->add_option(
         "--task", *task,
         "sentiment | stars (numeric labels, adds MAE) | intent (adds an out-of-scope threshold)")
      ->check(CLI::IsMember({"sentiment", "stars", "intent"}))
      ->capture_default_str();
  cmd->add_option("--model", *arch, "bow | gru | lstm | transformer")
      ->check(CLI::IsMember({"bow", "gru", "lstm", "transformer"}))
      ->capture_default_str();
  cmd->add_option("--out", *out, "ModelFile to write (.dcm)")->required();
  add_tokenizer_flags(cmd, spec->tokenizer);
  add_network_flags(cmd, *hp);
  cmd->add_option("--label-smoothing", spec->label_smoothing, "cross-entropy label smoothing")
      ->capture_default_str();
  cmd->add_option("--valid-fraction", spec->data.valid_fraction,
                  "share of each label held out for validation")
      ->capture_default_str();
  cmd->add_option("--test-fraction", spec->data.test_fraction,
                  "share of each label held out for testing (without --test)")
      ->capture_default_str();
  cmd->add_option("--answers", *answers,
                  "intent: an intent,answer CSV stored in the model for `text answer`");
  cmd->add_option(
      "--export-split", spec->export_split,
      "write the train/valid/test parts as fastText files (pre-tokenised) into this folder");
  cmd->add_option("--plot", *plot, "draw the test confusion matrix as a PNG heat map (gnuplot)");
  add_train_flags(cmd, spec->train);
  cmd->callback([=] {
    init_context(*common);
    spec->train.seed = common->seed;
    spec->train.quiet = common->quiet;
    spec->task = text::text_task_named(*task);
    spec->data.columns = {flags->text_cols, flags->label_col};
    if (!answers->empty()) spec->answers = text::read_answers(*answers);
    nlohmann::json h = *hp;
    h["arch"] = *arch;
    spec->hparams = h;
    if (spec->train.checkpoint_path.empty()) spec->train.checkpoint_path = *out + ".ckpt";
    const bool writes = join_data_parallel(spec->train, *common);
    const text::TrainReport trained = text::train(*spec);
    if (!writes) return;  // rank 0 evaluates and writes
    model_file_write(trained.model, *out);
    const text::TextClassifier model(trained.model);
    const text::TextReport& report = trained.test;
    if (!plot->empty())
      plot_confusion(report.confusion, model.labels(),
                     *out + ": test accuracy " + std::to_string(report.accuracy).substr(0, 6),
                     *plot);
    if (common->json)
      return print_json(
          {{"model", *out}, {"data", trained.read}, {"metrics", trained.model.metrics}});
    const auto& r = trained.result;
    std::printf("trained %s (%s, %s) in %.1f s: %d epochs (best %d), %.0f training texts/s\n",
                out->c_str(), arch->c_str(), task->c_str(), r.seconds, r.epochs_run, r.best_epoch,
                r.train_examples_per_second);
    std::printf("validation accuracy %.4f; test: ", r.best_metrics.at("accuracy"));
    print_report(report, model.labels());
    if (model.task() == text::TextTask::kIntent)
      std::printf("out-of-scope threshold %.2f (tuned on validation)\n", model.threshold());
  });
}

void add_eval_command(CLI::App* group) {
  auto* cmd = group->add_subcommand(
      "eval", "accuracy, macro-F1, per-label report, confusion matrix (MAE for stars)");
  auto common = std::make_shared<Common>();
  auto model_path = std::make_shared<std::string>();
  auto data = std::make_shared<std::string>();
  auto flags = std::make_shared<DataFlags>();
  auto confusion = std::make_shared<std::string>();
  auto plot = std::make_shared<std::string>();
  add_common(cmd, *common);
  add_device(cmd, *common);
  cmd->add_option("--model", *model_path, "trained ModelFile (.dcm)")->required();
  cmd->add_option(
      "--data", *data,
      "labelled texts; default: the model's own held-out test part (or its --test file)");
  add_data_flags(cmd, *flags, false);
  cmd->add_option("--confusion", *confusion, "write the confusion matrix to this CSV");
  cmd->add_option("--plot", *plot, "draw the confusion matrix as a PNG heat map (gnuplot)");
  cmd->callback([=] {
    init_context(*common);
    text::TextClassifier model = text::TextClassifier::load(*model_path);
    const text::EvalSet test =
        text::evaluation_set(model, *data, {flags->text_cols, flags->label_col});
    text::TextReport report = text::text_evaluate(model, test.texts);
    if (!confusion->empty()) write_confusion_csv(report.confusion, model.labels(), *confusion);
    if (!plot->empty())
      plot_confusion(report.confusion, model.labels(), *model_path + " on " + test.source, *plot);
    if (common->json) return print_json(report.to_json(model.labels()));
    std::printf("%s on %s: ", model_path->c_str(), test.source.c_str());
    print_report(report, model.labels());
  });
}

void add_report_command(CLI::App* group) {
  auto* cmd = group->add_subcommand(
      "report",
      "per group: sentiment, mean stars, the words that drive them, examples (JSON + HTML)");
  auto common = std::make_shared<Common>();
  auto options = std::make_shared<text::ReportOptions>();
  auto flags = std::make_shared<DataFlags>();
  add_common(cmd, *common);
  add_device(cmd, *common);
  cmd->add_option("--model", options->sentiment_model, "sentiment ModelFile")->required();
  cmd->add_option("--stars-model", options->stars_model,
                  "optional stars ModelFile (mean predicted stars)");
  cmd->add_option("--data", options->data, "reviews (CSV, TSV or JSONL)")->required();
  add_data_flags(cmd, *flags, false);
  cmd->add_option("--group-by", options->group_col, "column to group by, e.g. \"Class Name\"")
      ->required();
  cmd->add_option("--out", options->out, "output prefix: OUT.json and OUT.html")->required();
  cmd->add_option("--top", options->top_words, "words and phrases listed per side")
      ->capture_default_str();
  cmd->add_option("--examples", options->examples, "example reviews per group and side")
      ->capture_default_str();
  cmd->add_option("--min-reviews", options->min_count,
                  "list a word only if it drives at least this many explained reviews")
      ->capture_default_str();
  cmd->add_option("--explain-limit", options->explain_limit,
                  "reviews explained per group (attributions cost one backward pass each)")
      ->capture_default_str();
  cmd->callback([=] {
    init_context(*common);
    options->text_cols = flags->text_cols;
    options->quiet = common->quiet;
    nlohmann::json report = text::review_report(*options);
    if (common->json) return print_json(report);
    std::printf("wrote %s.json and %s.html: %zu groups, %lld reviews\n", options->out.c_str(),
                options->out.c_str(), report["groups"].size(), report["reviews"].get<long long>());
  });
}

}  // namespace

void register_text(CLI::App& app) {
  CLI::App* group = app.add_subcommand(
      "text", "reviews and customer questions: train, eval, predict, answer, explain, report");
  group->require_subcommand(1);
  add_train_command(group);
  add_eval_command(group);
  add_report_command(group);
  add_text_predict_commands(group);
}

}  // namespace deepcart::cli
