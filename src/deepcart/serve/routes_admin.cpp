// The admin routes: the shop page at "/", health and readiness, /metrics, the model list and
// hot reload.
#include "deepcart/serve/server_impl.h"

namespace deepcart::serve {

void Server::Impl::install_admin_routes() {
  add(
      "GET", "/",
      [](const HttpRequest&, HttpResponse& res) {
        res.set_content(shop_page(), "text/html; charset=utf-8");
        return json();
      },
      true, true);
  auto live = [](const HttpRequest&, HttpResponse&) { return json{{"status", "live"}}; };
  add("GET", "/healthz", live, true, true);
  add("GET", "/v2/health/live", live, true, true);
  auto ready = [this](const HttpRequest&, HttpResponse& res) {
    const auto loaded = models.all();
    if (loaded.empty()) res.status = 503;
    return json{{"status", loaded.empty() ? "not ready: no model loaded" : "ready"},
                {"models", loaded.size()}};
  };
  add("GET", "/readyz", ready, true, true);
  add("GET", "/v2/health/ready", ready, true, true);
  add(
      "GET", "/metrics",
      [this](const HttpRequest&, HttpResponse& res) {
        metrics.set_http(http->stats());
        res.set_content(metrics.render(), "text/plain; version=0.0.4");
        return json();
      },
      true);
  add(
      "GET", "/v1/models",
      [this](const HttpRequest&, HttpResponse&) {
        json list = json::array();
        for (const auto& m : models.all()) list.push_back(m->describe());
        return json{{"models", list}};
      },
      true);
  add("POST", "/v1/admin/reload",
      [this](const HttpRequest& req, HttpResponse&) { return reload(req); });
}

json Server::Impl::reload(const HttpRequest& req) {
  if (o.token.empty())
    throw HttpError(403, "reload is disabled: start the server with --token to enable it");
  json j = parse_body(req);
  const std::string name = string_field(j, "model");
  if (name.empty())
    throw HttpError(400, "field 'model' is required: the name of the model to reload");
  auto current = models.find(name);
  std::string path = string_field(j, "path", current ? current->path : "");
  if (path.empty())
    throw HttpError(404, "unknown model '" + name + "' and no 'path' to load it from");
  auto fresh = models.load(name, path);
  return {{"model", fresh->name},
          {"version", fresh->version},
          {"path", fresh->path},
          {"load_seconds", fresh->load_seconds}};
}

}  // namespace deepcart::serve
