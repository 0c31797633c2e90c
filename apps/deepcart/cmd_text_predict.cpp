// deepcart text predict | answer | explain: a trained text model on new texts
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>

#include "cli_common.h"
#include "deepcart/core/error.h"
#include "deepcart/text/classifier.h"

namespace deepcart::cli {
namespace {

// The texts of the command line: the arguments, or one per line of --file.
std::vector<std::string> texts_from(const std::vector<std::string>& args, const std::string& file) {
  std::vector<std::string> texts = args;
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) throw Error(file + ": cannot open");
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!line.empty()) texts.push_back(line);
    }
  }
  if (texts.empty()) throw Error("no text given: pass it as an argument or with --file");
  return texts;
}

// ANSI colour for a token score relative to the largest magnitude: green supports the label,
// red speaks against it.
std::string highlight(const std::string& piece, float score, float scale) {
  const float s = scale > 0 ? score / scale : 0;
  if (s > 0.5f) return "\033[1;42;30m" + piece + "\033[0m";
  if (s > 0.15f) return "\033[32m" + piece + "\033[0m";
  if (s < -0.5f) return "\033[1;41;30m" + piece + "\033[0m";
  if (s < -0.15f) return "\033[31m" + piece + "\033[0m";
  return piece;
}

void add_predict_command(CLI::App* group) {
  auto* cmd = group->add_subcommand("predict", "the label of each text with its probability");
  auto common = std::make_shared<Common>();
  auto model_path = std::make_shared<std::string>();
  auto texts = std::make_shared<std::vector<std::string>>();
  auto file = std::make_shared<std::string>();
  add_common(cmd, *common);
  add_device(cmd, *common);
  cmd->add_option("texts", *texts, "texts to classify");
  cmd->add_option("--file", *file, "a file with one text per line");
  cmd->add_option("--model", *model_path, "trained ModelFile (.dcm)")->required();
  cmd->callback([=] {
    init_context(*common);
    text::TextClassifier model = text::TextClassifier::load(*model_path);
    std::vector<std::string> all = texts_from(*texts, *file);
    at::Tensor probs = model.probabilities(all);
    auto [top, label] = probs.max(1);
    const bool stars = model.task() == text::TextTask::kStars;
    const at::Tensor expected = stars ? model.expected_stars(probs) : at::Tensor();
    nlohmann::json out = nlohmann::json::array();
    for (size_t i = 0; i < all.size(); ++i) {
      nlohmann::json item = {{"text", all[i]},
                             {"label", model.labels()[label[i].item<int64_t>()]},
                             {"probability", top[i].item<float>()}};
      if (stars) item["expected_stars"] = expected[static_cast<int64_t>(i)].item<double>();
      out.push_back(item);
    }
    if (common->json) return print_json(out);
    for (const auto& item : out) {
      std::printf("%-12s %5.1f%%  %s\n", item["label"].get<std::string>().c_str(),
                  100 * item["probability"].get<double>(), item["text"].get<std::string>().c_str());
    }
  });
}

void add_answer_command(CLI::App* group) {
  auto* cmd = group->add_subcommand(
      "answer", "a customer question: its intent, confidence and the answer (or not sure)");
  auto common = std::make_shared<Common>();
  auto model_path = std::make_shared<std::string>();
  auto question = std::make_shared<std::string>();
  auto answers_path = std::make_shared<std::string>();
  add_common(cmd, *common);
  add_device(cmd, *common);
  cmd->add_option("question", *question, "the question")->required();
  cmd->add_option("--model", *model_path, "an intent ModelFile (text train --task intent)")
      ->required();
  cmd->add_option("--answers", *answers_path,
                  "intent,answer CSV (default: the answers stored in the model)");
  cmd->callback([=] {
    init_context(*common);
    text::TextClassifier model = text::TextClassifier::load(*model_path);
    std::map<std::string, std::string> answers =
        answers_path->empty() ? model.answers() : text::read_answers(*answers_path);
    const text::Answer a = model.answer(*question, answers);
    const nlohmann::json out = a.to_json(*question, model.threshold());
    if (common->json) return print_json(out);
    std::printf("%s", a.describe(model.threshold()).c_str());
  });
}

void add_explain_command(CLI::App* group) {
  auto* cmd = group->add_subcommand("explain",
                                    "a score per token (gradient x input): what drove the label");
  auto common = std::make_shared<Common>();
  auto model_path = std::make_shared<std::string>();
  auto sentence = std::make_shared<std::string>();
  auto label = std::make_shared<std::string>();
  add_common(cmd, *common);
  add_device(cmd, *common);
  cmd->add_option("text", *sentence, "the text")->required();
  cmd->add_option("--model", *model_path, "trained ModelFile (.dcm)")->required();
  cmd->add_option("--label", *label, "explain this label instead of the predicted one");
  cmd->callback([=] {
    init_context(*common);
    text::TextClassifier model = text::TextClassifier::load(*model_path);
    int64_t wanted = -1;
    if (!label->empty()) {
      auto it = std::find(model.labels().begin(), model.labels().end(), *label);
      if (it == model.labels().end())
        throw Error("--label: '" + *label + "' is not a label of this model");
      wanted = it - model.labels().begin();
    }
    text::Attribution a = model.explain(*sentence, wanted);
    nlohmann::json tokens = nlohmann::json::array();
    float scale = 0;
    for (size_t i = 0; i < a.pieces.size(); ++i) {
      tokens.push_back({{"token", a.pieces[i]}, {"score", a.scores.empty() ? 0.0f : a.scores[i]}});
      if (!a.scores.empty()) scale = std::max(scale, std::abs(a.scores[i]));
    }
    if (common->json) {
      return print_json({{"text", *sentence},
                         {"label", model.labels()[a.label]},
                         {"probability", a.probability},
                         {"tokens", tokens}});
    }
    std::printf("%s (%.1f%%): ", model.labels()[a.label].c_str(), 100 * a.probability);
    for (size_t i = 0; i < a.pieces.size(); ++i) {
      std::printf("%s ", highlight(a.pieces[i], a.scores.empty() ? 0 : a.scores[i], scale).c_str());
    }
    std::printf("\n(green: for the label, red: against it)\n");
  });
}

}  // namespace

void add_text_predict_commands(CLI::App* group) {
  add_predict_command(group);
  add_answer_command(group);
  add_explain_command(group);
}

}  // namespace deepcart::cli
