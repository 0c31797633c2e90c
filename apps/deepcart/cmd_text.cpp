// deepcart text train | eval | report (the workflows: text/workflow.h, text/report.h)
#include <cstdio>

#include "cli_common.h"
#include "deepcart/dist/launch.h"
#include "deepcart/text/classifier.h"
#include "deepcart/text/report.h"
#include "deepcart/text/workflow.h"

namespace deepcart::cli {
namespace {

void add_columns_flags(CLI::App* cmd, text::TextColumns& c, bool label_required) {
  cmd->add_option("--text-col", c.text, "text column(s), joined in order (repeat the flag)");
  auto* label = cmd->add_option("--label-col", c.label, "label column");
  if (label_required) label->required();
}

void add_train(CLI::App* group) {
  struct Flags : TrainFlags {
    std::string answers, plot;
  };
  auto f = std::make_shared<Flags>();
  nlohmann::json defaults = text::default_spec();
  defaults["hparams"] = text::TextOptions{};
  defaults["label_names"] = "";  // none: shown as an empty default
  auto* cmd = add_train_command(group, "train a text classifier (sentiment, stars or intents)", *f,
                                text::spec_settings(), defaults, {"data", "label-col"});
  cmd->add_option("--answers", f->answers,
                  "intent: an intent,answer CSV stored in the model for `text answer`");
  cmd->add_option("--plot", f->plot, "draw the test confusion matrix as a PNG heat map (gnuplot)");
  cmd->callback([=] {
    init_context(*f);
    // Full fine-tuning, setfit and few shots have defaults of their own.
    const GivenSettings given = f->settings.given();
    const std::string finetune = given.count("finetune") ? given.at("finetune")[0]
                                 : given.count("shots")  ? "shots"
                                                         : "";
    text::TrainSpec spec = spec_from_flags<text::TrainSpec>(
        *f, [&](const std::string& arch) { return text::default_spec(arch, finetune); },
        text::spec_settings(), "bow");
    if (!f->answers.empty()) spec.answers = text::read_answers(f->answers);
    if (spec.train.checkpoint_path.empty()) spec.train.checkpoint_path = f->out + ".ckpt";
    const bool writes = dist::join_if_launched(spec.train);
    const text::TrainReport trained = text::train(spec);
    if (!writes) return;  // rank 0 evaluates and writes
    model_file_write(trained.model, f->out);
    const text::TextClassifier model(trained.model);
    const text::TextReport& report = trained.test;
    ConfusionOut{"", f->plot}.write(
        report.confusion, model.labels(),
        f->out + ": test accuracy " + std::to_string(report.accuracy).substr(0, 6));
    if (f->json) {
      return print_json(
          {{"model", f->out}, {"data", trained.read}, {"metrics", trained.model.metrics}});
    }
    const auto& r = trained.result;
    std::printf("trained %s (%s, %s) in %.1f s: %d epochs (best %d), %.0f training texts/s\n",
                f->out.c_str(), model.file().arch.c_str(), text::text_task_name(spec.task).c_str(),
                r.seconds, r.epochs_run, r.best_epoch, r.train_examples_per_second);
    std::printf("validation accuracy %.4f; test: %s", r.best_metrics.at("accuracy"),
                report.describe(model.labels()).c_str());
    if (model.task() == text::TextTask::kIntent)
      std::printf("out-of-scope threshold %.2f (tuned on validation)\n", model.threshold());
  });
}

void add_eval_command(CLI::App* group) {
  struct Flags : Common {
    std::string model, data;
    text::TextColumns columns;
    ConfusionOut confusion;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = add_command(
      group, "eval", "accuracy, macro-F1, per-label report, confusion matrix (MAE for stars)", *f);
  model_opt(cmd, f->model);
  cmd->add_option("--data", f->data,
                  "labelled texts; default: the model's own held-out test part (or its --test "
                  "file)");
  add_columns_flags(cmd, f->columns, false);
  f->confusion.add_flags(cmd);
  cmd->callback([=] {
    init_context(*f);
    text::TextClassifier model = text::TextClassifier::load(f->model);
    const text::EvalSet test = text::evaluation_set(model, f->data, f->columns);
    text::TextReport report = text::text_evaluate(model, test.texts);
    f->confusion.write(report.confusion, model.labels(), f->model + " on " + test.source);
    if (f->json) return print_json(report.to_json(model.labels()));
    std::printf("%s on %s: %s", f->model.c_str(), test.source.c_str(),
                report.describe(model.labels()).c_str());
  });
}

void add_report_command(CLI::App* group) {
  struct Flags : Common {
    text::ReportOptions report;
    text::TextColumns columns;
  };
  auto f = std::make_shared<Flags>();
  text::ReportOptions& o = f->report;
  auto* cmd = add_command(
      group, "report",
      "per group: sentiment, mean stars, the words that drive them, examples (JSON + HTML)", *f);
  model_opt(cmd, o.sentiment_model, "sentiment ModelFile");
  cmd->add_option("--stars-model", o.stars_model,
                  "optional stars ModelFile (mean predicted stars)");
  cmd->add_option("--data", o.data, "reviews (CSV, TSV or JSONL)")->required();
  add_columns_flags(cmd, f->columns, false);
  cmd->add_option("--group-by", o.group_col, "column to group by, e.g. \"Class Name\"")->required();
  cmd->add_option("--out", o.out, "output prefix: OUT.json and OUT.html")->required();
  opt(cmd, "--top", o.top_words, "words and phrases listed per side");
  opt(cmd, "--examples", o.examples, "example reviews per group and side");
  opt(cmd, "--min-reviews", o.min_count,
      "list a word only if it drives at least this many explained reviews");
  opt(cmd, "--explain-limit", o.explain_limit,
      "reviews explained per group (attributions cost one backward pass each)");
  cmd->callback([=] {
    init_context(*f);
    text::ReportOptions options = f->report;
    options.text_cols = f->columns.text;
    options.quiet = f->quiet;
    nlohmann::json report = text::review_report(options);
    if (f->json) return print_json(report);
    std::printf("wrote %s.json and %s.html: %zu groups, %lld reviews\n", options.out.c_str(),
                options.out.c_str(), report["groups"].size(), report["reviews"].get<long long>());
  });
}

}  // namespace

void register_text(CLI::App& app) {
  CLI::App* group = app.add_subcommand(
      "text",
      "reviews and customer questions: train, eval, predict, answer, explain, report; "
      "embed, index, search (semantic search)");
  group->require_subcommand(1);
  add_train(group);
  add_eval_command(group);
  add_report_command(group);
  add_text_predict_commands(group);
  add_text_search_commands(group);
}

}  // namespace deepcart::cli
