// Settings: the named, documented values of a spec that a user may give. Each capability
// declares its list once, next to its spec: the flag name, where the value goes in the spec's
// JSON, its kind and its help. The CLI turns the list into flags (the way argument parsers are
// generated from annotated config classes), and a search such as `rec tune` can set the same
// names. A setting is written into the spec's JSON, and the spec is read back with from_json.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace deepcart {

enum class SettingKind {
  kInt,       // a 64-bit integer
  kNumber,    // a finite number
  kText,      // a string (choices, when given, list the allowed ones)
  kBool,      // true or false, given as a value: --flip false
  kSwitch,    // true when the flag is given, with no value: --dedupe
  kInts,      // comma-separated integers: 64,32,16
  kNumbers,   // comma-separated numbers
  kNames,     // comma-separated names: price,dwell
  kRepeated,  // one string per use of the flag: --text-col Title --text-col "Review Text"
};

struct Setting {
  std::string name;  // the flag without "--": "batch-size"
  std::string path;  // JSON pointer into the spec's JSON: "/train/batch_size"
  SettingKind kind = SettingKind::kText;
  std::string help;
  std::vector<std::string> choices = {};  // kText: the allowed values; empty = any
};

// The settings of TrainOptions (the Trainer's), under `prefix`: "/train" in every spec.
std::vector<Setting> train_settings(const std::string& prefix = "/train");

// What a user gave: setting name -> the texts given (one, except for kRepeated).
using GivenSettings = std::map<std::string, std::vector<std::string>>;

// The setting's JSON value from what was given. Throws Error "--NAME: expected ..., found '...'".
nlohmann::json setting_value(const Setting& setting, const std::vector<std::string>& texts);
// One value parsed as the setting `name` of `kind` would be: parse_setting<std::vector<int>>(
// "k", SettingKind::kInts, "5,10").
template <class T>
T parse_setting(const std::string& name, SettingKind kind, const std::string& text) {
  return setting_value(Setting{name, "", kind, ""}, {text}).get<T>();
}
// Writes every given setting into `spec` (a spec's JSON) at its path. A name that is not in
// `settings` is an Error.
void apply_settings(nlohmann::json& spec, const std::vector<Setting>& settings,
                    const GivenSettings& given);
// The value at the setting's path as a user would type it; "" when absent or null.
std::string setting_text(const nlohmann::json& spec, const Setting& setting);

}  // namespace deepcart
