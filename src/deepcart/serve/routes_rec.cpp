// The recommendation routes: /v1/recommend and /v1/items/{id}/similar.
#include "deepcart/serve/server_impl.h"

#include <torch/torch.h>

#include <algorithm>

#include "deepcart/rec/recommender.h"

namespace deepcart::serve {

void Server::Impl::install_rec_routes() {
  add("POST", "/v1/recommend",
      [this](const HttpRequest& req, HttpResponse&) { return recommend(req); });
  add("POST", "/v1/items/{id}/similar",
      [this](const HttpRequest& req, HttpResponse&) { return item_similar(req); });
}

json Server::Impl::recommend(const HttpRequest& req) {
  json j = parse_body(req);
  auto m = models.get(string_field(j, "model"), ModelKind::kRecommender);
  rec::Recommender& r = *m->recommender;
  const int64_t k = k_field(j, 10, o.max_k);
  const std::string user = string_field(j, "user");
  const bool exclude_seen = bool_field(j, "exclude_seen", true);
  const std::vector<std::string> history = strings_field(j, "history", o.max_batch_length, false);
  c10::InferenceMode guard;
  json out = {{"model", m->name}, {"version", m->version}, {"user", user}};
  std::vector<rec::ScoredItem> items;
  if (!user.empty() && history.empty() && r.users().find(user) >= 0) {
    items = r.recommend(user, static_cast<int>(k), exclude_seen);
    out["source"] = "user";
  } else {
    std::vector<std::string> known, ignored;
    for (const auto& item : history) (r.items().find(item) >= 0 ? known : ignored).push_back(item);
    if (!known.empty()) {
      items = r.recommend_history(known, static_cast<int>(k));
      out["source"] = "history";
    } else {
      // Cold start: nothing known about this visitor, so the shop's best sellers, flagged.
      at::Tensor popularity = r.popularity();
      auto top = std::get<1>(popularity.topk(std::min<int64_t>(k, popularity.size(0))));
      for (int64_t i = 0; i < top.size(0); ++i) {
        const int64_t item = top[i].item<int64_t>();
        items.push_back({r.items().name(item), popularity[item].item<double>(), {}});
      }
      out["source"] = "popular";
    }
    if (!ignored.empty()) out["ignored_history"] = ignored;
  }
  out["popular"] = out["source"] == "popular";
  json list = json::array();
  for (const auto& s : items) {
    json entry = s;
    if (item_images.count(s.item)) entry["image"] = "/v1/items/" + s.item + "/image";
    list.push_back(entry);
  }
  out["items"] = list;
  return out;
}

json Server::Impl::item_similar(const HttpRequest& req) {
  json j = req.body.empty() ? json::object() : parse_body(req);
  auto m = models.get(string_field(j, "model"), ModelKind::kRecommender);
  const std::string item = req.matches.at(0);
  if (m->recommender->items().find(item) < 0) throw HttpError(404, "unknown item '" + item + "'");
  const int64_t k = k_field(j, 10, o.max_k);
  c10::InferenceMode guard;
  json list = json::array();
  for (const auto& s : m->recommender->similar(item, static_cast<int>(k)))
    list.push_back({{"item", s.item}, {"score", s.score}});
  return {{"model", m->name}, {"item", item}, {"items", list}};
}

}  // namespace deepcart::serve
