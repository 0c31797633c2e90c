// The inside of Server, private to src/deepcart/serve: the Impl struct every route file adds to,
// its route table, and the small response helpers the routes share. server.cpp holds the life
// cycle, admission and route matching; routes_{admin,rec,images,text}.cpp hold the routes.
#pragma once

#include <cctype>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "deepcart/serve/http.h"
#include "deepcart/serve/http_error.h"
#include "deepcart/serve/request_json.h"
#include "deepcart/serve/server.h"

namespace deepcart::serve {

using json = nlohmann::json;

// Messages can quote the client's bytes, which may not be UTF-8: those are replaced, not thrown.
inline std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

inline void send_error(HttpResponse& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(dump(json{{"error", message}}), "application/json");
}

inline std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A route: its method and path pattern ("{id}" matches one path segment), and what it does.
struct Route {
  std::string method;
  std::string pattern;
  std::function<json(const HttpRequest&, HttpResponse&)> body;  // its JSON is the response
  bool at_once = false;  // cheap: answered on the I/O thread as soon as the head is in
  bool open = false;     // no token needed (health, the page)
};

struct Server::Impl {
  ServeOptions o;
  ModelRegistry& models;
  Metrics& metrics;
  std::vector<Route> routes;
  std::unique_ptr<HttpServer> http;

  std::map<std::string, std::string> item_images;  // item id -> picture reference

  Impl(ServeOptions options, ModelRegistry& m, Metrics& mt);

  // Life cycle, admission and matching (server.cpp).
  void install();
  void add(std::string method, std::string pattern,
           std::function<json(const HttpRequest&, HttpResponse&)> body, bool at_once = false,
           bool open = false);
  const Route* find_route(const HttpRequest& req, std::string& allowed) const;
  void run(const Route& route, const HttpRequest& req, HttpResponse& res);
  Admission admit(HttpRequest& req, HttpResponse& res);
  void handle(HttpRequest& req, HttpResponse& res);
  void done(const HttpRequest& req, const HttpResponse& res, double seconds);
  json parse_body(const HttpRequest& req) const {
    return parse_request_json(req.body, o.max_json_depth);
  }

  // Admin: the page, health, metrics, the model list, reload (routes_admin.cpp).
  void install_admin_routes();
  json reload(const HttpRequest& req);

  // Recommendations (routes_rec.cpp).
  void install_rec_routes();
  json recommend(const HttpRequest& req);
  json item_similar(const HttpRequest& req);

  // Images: classification, look-alikes, the catalogue and product pictures (routes_images.cpp).
  void install_image_routes();
  json classify(const HttpRequest& req);
  json images_similar(const HttpRequest& req);
  json catalogue_list(const HttpRequest& req);
  void catalogue_image(const HttpRequest& req, HttpResponse& res);
  void item_image(const HttpRequest& req, HttpResponse& res);

  // Texts: reviews and questions (routes_text.cpp).
  void install_text_routes();
  json analyze(const HttpRequest& req);
  json answer(const HttpRequest& req);
};

}  // namespace deepcart::serve
