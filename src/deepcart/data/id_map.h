// Maps external ids (user "u17", item "sku-3") to dense indices 0..n-1 and back. Stored in
// every ModelFile that predicts by id.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

namespace deepcart::data {

class IdMap {
 public:
  int64_t add(const std::string& id);         // existing index, or a new one
  int64_t find(const std::string& id) const;  // -1 when unknown
  const std::string& name(int64_t index) const { return names_.at(index); }
  int64_t size() const { return static_cast<int64_t>(names_.size()); }

  nlohmann::json to_json() const { return names_; }
  static IdMap from_json(const nlohmann::json& names);

 private:
  std::vector<std::string> names_;
  std::unordered_map<std::string, int64_t> index_;
};

}  // namespace deepcart::data
