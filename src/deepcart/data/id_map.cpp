#include "deepcart/data/id_map.h"

namespace deepcart::data {

int64_t IdMap::add(const std::string& id) {
  auto [it, inserted] = index_.emplace(id, size());
  if (inserted) names_.push_back(id);
  return it->second;
}

int64_t IdMap::find(const std::string& id) const {
  auto it = index_.find(id);
  return it == index_.end() ? -1 : it->second;
}

IdMap IdMap::from_json(const nlohmann::json& names) {
  IdMap map;
  for (const auto& name : names) map.add(name.get<std::string>());
  return map;
}

}  // namespace deepcart::data
