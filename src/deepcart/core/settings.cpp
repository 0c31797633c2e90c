#include "deepcart/core/settings.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "deepcart/core/error.h"

namespace deepcart {
namespace {

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, ',');) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

[[noreturn]] void bad(const Setting& s, const std::string& expected, const std::string& text) {
  throw Error("--" + s.name + ": expected " + expected + ", found '" + text + "'");
}

int64_t to_int(const Setting& s, const std::string& text) {
  char* end = nullptr;
  errno = 0;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE) bad(s, "an integer", text);
  return value;
}

double to_number(const Setting& s, const std::string& text) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !std::isfinite(value)) bad(s, "a number", text);
  return value;
}

bool to_bool(const Setting& s, const std::string& text) {
  if (text == "true" || text == "1" || text == "yes" || text == "on") return true;
  if (text == "false" || text == "0" || text == "no" || text == "off") return false;
  bad(s, "true or false", text);
}

}  // namespace

std::vector<Setting> train_settings(const std::string& p) {
  using K = SettingKind;
  return {
      {"epochs", p + "/epochs", K::kInt, "training epochs"},
      {"batch-size", p + "/batch_size", K::kInt, "examples per step"},
      {"lr", p + "/lr", K::kNumber, "peak learning rate"},
      {"weight-decay", p + "/weight_decay", K::kNumber, "L2 / decoupled weight decay"},
      {"optimizer", p + "/optimizer", K::kText, "adam | adamw | sgd", {"adam", "adamw", "sgd"}},
      {"momentum", p + "/momentum", K::kNumber, "sgd: momentum"},
      {"lr-schedule",
       p + "/schedule",
       K::kText,
       "constant | step | cosine | onecycle",
       {"constant", "step", "cosine", "onecycle"}},
      {"warmup-steps", p + "/warmup_steps", K::kInt, "linear warm-up steps"},
      {"step-epochs", p + "/step_epochs", K::kInt, "step schedule: epochs between decays"},
      {"gamma", p + "/gamma", K::kNumber, "step schedule: decay factor"},
      {"clip", p + "/clip_norm", K::kNumber, "clip the gradient norm to this (0 = off)"},
      {"patience", p + "/patience", K::kInt,
       "stop after this many epochs without validation improvement (0 = never)"},
      {"monitor", p + "/monitor", K::kText,
       "validation metric for early stopping and the best weights"},
      {"metrics-log", p + "/metrics_log", K::kText, "JSONL file, one line per epoch"},
      {"checkpoint", p + "/checkpoint_path", K::kText,
       "checkpoint file, written every --checkpoint-every minutes, at the end and on "
       "SIGINT/SIGTERM (default: OUT.ckpt)"},
      {"checkpoint-every", p + "/checkpoint_minutes", K::kNumber, "minutes between checkpoints"},
      {"resume", p + "/resume", K::kText, "continue training from this checkpoint"},
  };
}

nlohmann::json setting_value(const Setting& s, const std::vector<std::string>& texts) {
  if (s.kind == SettingKind::kRepeated) return texts;
  if (texts.size() != 1) throw Error("--" + s.name + ": given more than once");
  const std::string& text = texts[0];
  nlohmann::json list = nlohmann::json::array();
  switch (s.kind) {
    case SettingKind::kInt:
      return to_int(s, text);
    case SettingKind::kNumber:
      return to_number(s, text);
    case SettingKind::kBool:
      return to_bool(s, text);
    case SettingKind::kSwitch:
      return true;
    case SettingKind::kText:
      if (!s.choices.empty() &&
          std::find(s.choices.begin(), s.choices.end(), text) == s.choices.end()) {
        std::string all;
        for (const auto& c : s.choices) all += (all.empty() ? "" : ", ") + c;
        bad(s, "one of " + all, text);
      }
      return text;
    case SettingKind::kInts:
    case SettingKind::kNumbers:
    case SettingKind::kNames:
      for (const auto& part : split_commas(text)) {
        if (s.kind == SettingKind::kInts) list.push_back(to_int(s, part));
        if (s.kind == SettingKind::kNumbers) list.push_back(to_number(s, part));
        if (s.kind == SettingKind::kNames) list.push_back(part);
      }
      if (list.empty() && s.kind != SettingKind::kNames) bad(s, "a comma-separated list", text);
      return list;
    case SettingKind::kRepeated:
      break;
  }
  return texts;
}

void apply_settings(nlohmann::json& spec, const std::vector<Setting>& settings,
                    const GivenSettings& given) {
  for (const auto& [name, texts] : given) {
    auto it = std::find_if(settings.begin(), settings.end(),
                           [&](const Setting& s) { return s.name == name; });
    if (it == settings.end()) throw Error("--" + name + ": not a setting here");
    spec[nlohmann::json::json_pointer(it->path)] = setting_value(*it, texts);
  }
}

std::string setting_text(const nlohmann::json& spec, const Setting& s) {
  const nlohmann::json::json_pointer at(s.path);
  if (!spec.contains(at) || spec.at(at).is_null()) return "";
  const nlohmann::json& v = spec.at(at);
  if (v.is_string()) return v.get<std::string>();
  if (!v.is_array()) return v.dump();
  std::string out;
  for (const auto& e : v)
    out += (out.empty() ? "" : ",") + (e.is_string() ? e.get<std::string>() : e.dump());
  return out;
}

}  // namespace deepcart
