// deepcart text predict | answer | explain: a trained text model on new texts
#include <torch/torch.h>

#include <cstdio>

#include "cli_common.h"
#include "deepcart/core/error.h"
#include "deepcart/text/classifier.h"

namespace deepcart::cli {
namespace {

void add_predict_command(CLI::App* group) {
  struct Flags : Common {
    std::string model, file;
    std::vector<std::string> texts;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = add_command(group, "predict", "the label of each text with its probability", *f);
  cmd->add_option("texts", f->texts, "texts to classify");
  cmd->add_option("--file", f->file, "a file with one text per line");
  model_opt(cmd, f->model);
  cmd->callback([=] {
    init_context(*f);
    text::TextClassifier model = text::TextClassifier::load(f->model);
    std::vector<std::string> all = text::texts_from(f->texts, f->file);
    const nlohmann::json out = model.predict_json(all);
    if (f->json) return print_json(out);
    for (const auto& item : out) {
      std::printf("%-12s %5.1f%%  %s\n", item["label_name"].get<std::string>().c_str(),
                  100 * item["probability"].get<double>(), item["text"].get<std::string>().c_str());
    }
  });
}

void add_answer_command(CLI::App* group) {
  struct Flags : Common {
    std::string model, file, answers;
    std::vector<std::string> questions;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd =
      add_command(group, "answer",
                  "customer questions: each one's intent, confidence and answer (or not sure)", *f);
  cmd->add_option("questions", f->questions, "the questions");
  cmd->add_option("--file", f->file, "a file with one question per line");
  model_opt(cmd, f->model, "an intent ModelFile (text train --task intent)");
  cmd->add_option("--answers", f->answers,
                  "intent,answer CSV (default: the answers stored in the model)");
  cmd->callback([=] {
    init_context(*f);
    text::TextClassifier model = text::TextClassifier::load(f->model);
    if (model.task() != text::TextTask::kIntent)
      throw Error(f->model + ": not an intent model (train it with --task intent)");
    const std::vector<std::string> questions = text::texts_from(f->questions, f->file);
    const auto answers = f->answers.empty() ? model.answers() : text::read_answers(f->answers);
    const at::Tensor probs = model.probabilities(questions);
    // One question on the command line: one object; several, or a file: a list.
    const bool one = questions.size() == 1 && f->file.empty();
    nlohmann::json out = nlohmann::json::array();
    for (size_t i = 0; i < questions.size(); ++i) {
      const text::Answer a = model.answer_of(probs[static_cast<int64_t>(i)], answers);
      if (f->json) {
        out.push_back(a.to_json(questions[i], model.threshold()));
      } else {
        if (!one) std::printf("%s%s\n", i ? "\n" : "", questions[i].c_str());
        std::printf("%s", a.describe(model.threshold()).c_str());
      }
    }
    if (f->json) print_json(one ? out[0] : out);
  });
}

void add_explain_command(CLI::App* group) {
  struct Flags : Common {
    std::string model, text, label;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = add_command(group, "explain",
                          "a score per token (gradient x input): what drove the label", *f);
  cmd->add_option("text", f->text, "the text")->required();
  model_opt(cmd, f->model);
  cmd->add_option("--label", f->label, "explain this label instead of the predicted one");
  cmd->callback([=] {
    init_context(*f);
    text::TextClassifier model = text::TextClassifier::load(f->model);
    const auto& labels = model.labels();
    const text::Attribution a = model.explain(f->text, f->label);
    if (f->json) {
      return print_json({{"text", f->text},
                         {"label", labels[a.label]},
                         {"probability", a.probability},
                         {"tokens", a.tokens_json()}});
    }
    std::printf("%s", a.describe(model.label_names()[a.label]).c_str());
  });
}

}  // namespace

void add_text_predict_commands(CLI::App* group) {
  add_predict_command(group);
  add_answer_command(group);
  add_explain_command(group);
}

}  // namespace deepcart::cli
