#include "deepcart/serve/server.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <cstdio>
#include <functional>
#include <optional>
#include <random>

#include "deepcart/data/csv_reader.h"
#include "deepcart/rec/recommender.h"
#include "deepcart/serve/http.h"
#include "deepcart/serve/http_error.h"
#include "deepcart/serve/request_json.h"
#include "deepcart/text/classifier.h"
#include "deepcart/vision/classifier.h"
#include "deepcart/vision/image_set.h"
#include "deepcart/vision/similar.h"

namespace deepcart::serve {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

bool is_health(const std::string& path) {
  return path == "/healthz" || path == "/readyz" || path == "/v2/health/live" || path == "/v2/health/ready";
}

// Messages can quote the client's bytes, which may not be UTF-8: those are replaced, not thrown.
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

void send_error(HttpResponse& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(dump(json{{"error", message}}), "application/json");
}

json parse_body(const HttpRequest& req, int max_depth) { return parse_request_json(req.body, max_depth); }

// Typed fields with messages that name the field.
std::string string_field(const json& j, const char* name, const std::string& fallback = "") {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_string()) throw HttpError(400, std::string("field '") + name + "': expected a string, found " + it->type_name());
  return it->get<std::string>();
}

bool bool_field(const json& j, const char* name, bool fallback) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) throw HttpError(400, std::string("field '") + name + "': expected true or false, found " + it->type_name());
  return it->get<bool>();
}

int64_t k_field(const json& j, int64_t fallback, int64_t max_k) {
  auto it = j.find("k");
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_number_integer()) throw HttpError(400, std::string("field 'k': expected an integer, found ") + it->type_name());
  const auto k = it->get<int64_t>();
  if (k < 1 || k > max_k) {
    throw HttpError(400, "field 'k': expected 1 to " + std::to_string(max_k) + ", found " + std::to_string(k));
  }
  return k;
}

std::vector<std::string> strings_field(const json& j, const char* name, int64_t max_length, bool required) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) {
    if (required) throw HttpError(400, std::string("field '") + name + "' is required");
    return {};
  }
  if (!it->is_array()) throw HttpError(400, std::string("field '") + name + "': expected an array of strings, found " + it->type_name());
  if (static_cast<int64_t>(it->size()) > max_length) {
    throw HttpError(400, std::string("field '") + name + "': " + std::to_string(it->size()) + " entries, over the limit of " +
                             std::to_string(max_length));
  }
  std::vector<std::string> out;
  for (size_t i = 0; i < it->size(); ++i) {
    const json& v = (*it)[i];
    if (!v.is_string()) {
      throw HttpError(400, std::string("field '") + name + "[" + std::to_string(i) + "]': expected a string, found " + v.type_name());
    }
    out.push_back(v.get<std::string>());
  }
  if (required && out.empty()) throw HttpError(400, std::string("field '") + name + "': expected at least one entry");
  return out;
}

// Strict base64 (RFC 4648, padding optional, whitespace skipped).
std::string base64_decode(const std::string& in, const std::string& what) {
  static const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve(in.size() / 4 * 3);
  uint32_t buffer = 0;
  int bits = 0;
  size_t i = 0;
  for (; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '=') break;
    if (c == '\n' || c == '\r' || c == ' ') continue;
    const size_t v = alphabet.find(c);
    if (v == std::string::npos) throw HttpError(400, what + ": invalid base64 character at offset " + std::to_string(i));
    buffer = (buffer << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  for (; i < in.size(); ++i) {
    if (in[i] != '=') throw HttpError(400, what + ": base64 data after the padding");
  }
  return out;
}

std::string lower(std::string s) {
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

// The pattern's captures when `path` matches it.
std::optional<std::vector<std::string>> match(const std::string& pattern, const std::string& path) {
  std::vector<std::string> captures;
  size_t p = 0, q = 0;
  while (p < pattern.size()) {
    if (pattern[p] == '{') {
      const size_t close = pattern.find('}', p);
      const size_t end = path.find('/', q);
      const std::string segment = path.substr(q, end == std::string::npos ? std::string::npos : end - q);
      if (segment.empty()) return std::nullopt;
      captures.push_back(segment);
      p = close + 1;
      q = end == std::string::npos ? path.size() : end;
    } else {
      if (q >= path.size() || path[q] != pattern[p]) return std::nullopt;
      ++p;
      ++q;
    }
  }
  if (q != path.size()) return std::nullopt;
  return captures;
}

// RFC 7235: the scheme name is case-insensitive; the token is compared exactly.
bool bearer_matches(const std::string& authorization, const std::string& token) {
  const size_t space = authorization.find(' ');
  if (space == std::string::npos || lower(authorization.substr(0, space)) != "bearer") return false;
  size_t start = authorization.find_first_not_of(' ', space);
  return start != std::string::npos && authorization.compare(start, std::string::npos, token) == 0;
}

// A short random id that ties a 500 answer to its log line.
std::string error_id() {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  char buf[17];
  std::snprintf(buf, sizeof buf, "%08llx", static_cast<unsigned long long>(rng() & 0xffffffffULL));
  return buf;
}

}  // namespace

std::string internal_error_body(const std::string& request, const std::exception& e) {
  const std::string id = error_id();
  std::fprintf(stderr, "serve: error %s: %s: %s\n", id.c_str(), request.c_str(), e.what());
  return dump(json{{"error", "internal error (id " + id + "; the server log has the details)"}, {"id", id}});
}

void check_serve_options(const ServeOptions& o) {
  if (o.http_threads < 1 || o.io_threads < 1) throw Error("serve: --http-threads and --io-threads: expected at least 1");
  if (o.max_connections < 1) throw Error("serve: --max-connections: expected at least 1, found " + std::to_string(o.max_connections));
  if (!(o.header_timeout_seconds > 0) || !(o.body_timeout_seconds > 0)) {
    throw Error("serve: --header-timeout and --body-timeout: expected a positive number of seconds");
  }
  if (o.max_body_bytes < 1) throw Error("serve: --max-body: expected at least 1 byte");
}

struct Server::Impl {
  ServeOptions o;
  ModelRegistry& models;
  Metrics& metrics;
  std::vector<Route> routes;
  std::unique_ptr<HttpServer> http;

  std::map<std::string, std::string> item_images;  // item id -> picture reference

  Impl(ServeOptions options, ModelRegistry& m, Metrics& mt) : o(std::move(options)), models(m), metrics(mt) {
    if (!o.item_images.empty()) {
      data::CsvReader csv(o.item_images);
      const int item = csv.column_index("item_id"), image = csv.column_index("image");
      if (item < 0 || image < 0) throw Error(o.item_images + ": expected columns item_id,image");
      std::vector<std::string> fields;
      while (csv.next(fields)) item_images[fields[item]] = fields[image];
    }
  }

  // A product picture as PNG: Fashion-MNIST references are drawn from the data set, files are
  // decoded (within the image limits) and re-encoded, so only pictures come out.
  std::string picture_png(const std::string& ref) {
    if (ref.rfind("fashion-mnist:", 0) == 0) {
      return data::encode_png(vision::tensor_image(vision::read_query_image(ref, 1, 28, 28, o.image_limits)[0]));
    }
    return data::encode_png(data::read_image(ref, o.image_limits));
  }

  // Runs a route; its JSON is the response, its exceptions become JSON errors. A 500 carries
  // only a short id: the details (which may hold library internals) go to the log under it.
  void run(const Route& route, const HttpRequest& req, HttpResponse& res) {
    try {
      json out = route.body(req, res);
      if (!out.is_null()) res.set_content(dump(out), "application/json");
    } catch (const HttpError& e) {
      send_error(res, e.status(), e.what());
    } catch (const Error& e) {
      send_error(res, 400, e.what());
    } catch (const std::exception& e) {
      res.status = 500;
      res.set_content(internal_error_body(req.method + " " + req.path, e), "application/json");
    }
  }

  // The images of a classify/similar request: a raw PNG/JPEG body (options in the query string,
  // e.g. ?k=5), or JSON {"image": base64} or {"images": [base64, ...]} with the options beside.
  struct ImageRequest {
    json fields;
    std::vector<std::pair<std::string, std::string>> encoded;  // name for messages, bytes
  };

  ImageRequest read_images(const HttpRequest& req) {
    const std::string type = lower(req.header("Content-Type"));
    ImageRequest r;
    if (type.rfind("application/json", 0) == 0) {
      r.fields = parse_body(req, o.max_json_depth);
      if (r.fields.contains("image")) {
        r.encoded.emplace_back("image", base64_decode(string_field(r.fields, "image"), "field 'image'"));
      } else {
        auto list = strings_field(r.fields, "images", o.max_batch_length, true);
        for (size_t i = 0; i < list.size(); ++i) {
          const std::string name = "images[" + std::to_string(i) + "]";
          r.encoded.emplace_back(name, base64_decode(list[i], "field '" + name + "'"));
        }
      }
    } else if (type.rfind("image/", 0) == 0 || type.rfind("application/octet-stream", 0) == 0 || type.empty()) {
      r.encoded.emplace_back("body", req.body);
      r.fields = json::object();
      for (const auto& [key, value] : req.params) {
        if (key == "k") {
          char* end = nullptr;
          const long long k = std::strtoll(value.c_str(), &end, 10);
          if (end == value.c_str() || *end != '\0') throw HttpError(400, "query 'k': expected an integer, found '" + value + "'");
          r.fields["k"] = k;
        } else {
          r.fields[key] = value;
        }
      }
    } else {
      throw HttpError(415, "Content-Type '" + req.header("Content-Type") +
                               "': expected image/png, image/jpeg, application/octet-stream or application/json");
    }
    return r;
  }

  // Decoded and resized to the model's input: (N, C, H, W) uint8.
  at::Tensor image_batch(const ImageRequest& r, const vision::ImageClassifier& model) {
    const auto& opt = model.options();
    std::vector<at::Tensor> tensors;
    for (const auto& [name, bytes] : r.encoded) {
      tensors.push_back(vision::image_tensor(data::decode_image(bytes, name, o.image_limits), opt.channels, opt.rows, opt.cols));
    }
    return torch::cat(tensors, 0);
  }

  json recommend(const HttpRequest& req) {
    json j = parse_body(req, o.max_json_depth);
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
      json entry = {{"item", s.item}, {"score", s.score}, {"because", s.because}};
      if (item_images.count(s.item)) entry["image"] = "/v1/items/" + s.item + "/image";
      list.push_back(entry);
    }
    out["items"] = list;
    return out;
  }

  json item_similar(const HttpRequest& req) {
    json j = req.body.empty() ? json::object() : parse_body(req, o.max_json_depth);
    auto m = models.get(string_field(j, "model"), ModelKind::kRecommender);
    const std::string item = req.matches.at(0);
    if (m->recommender->items().find(item) < 0) throw HttpError(404, "unknown item '" + item + "'");
    const int64_t k = k_field(j, 10, o.max_k);
    c10::InferenceMode guard;
    json list = json::array();
    for (const auto& s : m->recommender->similar(item, static_cast<int>(k))) list.push_back({{"item", s.item}, {"score", s.score}});
    return {{"model", m->name}, {"item", item}, {"items", list}};
  }

  json classify(const HttpRequest& req) {
    ImageRequest r = read_images(req);
    auto m = models.get(string_field(r.fields, "model"), ModelKind::kImages);
    auto [probs, attributes] = m->image_batcher->submit(image_batch(r, *m->images));
    vision::Prediction prediction{probs, attributes};
    json results = json::array();
    for (int64_t i = 0; i < probs.size(0); ++i) results.push_back(m->images->sheet(prediction, i));
    return {{"model", m->name}, {"version", m->version}, {"results", results}};
  }

  json images_similar(const HttpRequest& req) {
    ImageRequest r = read_images(req);
    auto index = models.get(string_field(r.fields, "index"), ModelKind::kImageIndex);
    auto m = models.images_for_index(*index);
    if (!m) throw HttpError(503, "index '" + index->name + "' was built with an image model that is not loaded");
    const int64_t k = k_field(r.fields, 8, o.max_k);
    at::Tensor images = image_batch(r, *m->images);
    c10::InferenceMode guard;
    auto found = index->index->search(m->images->embeddings(images), k);
    json results = json::array();
    for (const auto& row : found) {
      json alike = json::array();
      for (const auto& n : row) {
        alike.push_back({{"id", index->index->ids()[n.item]},
                         {"category", index->index->classes()[index->index->labels()[n.item].item<int64_t>()]},
                         {"similarity", n.similarity}});
      }
      results.push_back(alike);
    }
    return {{"model", m->name}, {"index", index->name}, {"results", results}};
  }

  std::vector<std::string> texts_field(const json& j) {
    std::vector<std::string> texts = strings_field(j, "texts", o.max_batch_length, true);
    for (size_t i = 0; i < texts.size(); ++i) {
      if (texts[i].size() > o.max_text_bytes) {
        throw HttpError(413, "texts[" + std::to_string(i) + "]: " + std::to_string(texts[i].size()) + " bytes, over the " +
                                 std::to_string(o.max_text_bytes) + "-byte limit");
      }
    }
    return texts;
  }

  json analyze(const HttpRequest& req) {
    json j = parse_body(req, o.max_json_depth);
    auto m = models.get(string_field(j, "model"), ModelKind::kReviews);
    const std::vector<std::string> texts = texts_field(j);
    const bool explain = bool_field(j, "explain", false);
    std::shared_ptr<const LoadedModel> stars;
    try {
      stars = models.get(string_field(j, "stars_model"), ModelKind::kStars);
    } catch (const HttpError&) {
      if (j.contains("stars_model")) throw;  // asked for by name: its error is the answer
    }
    at::Tensor probs = m->text_batcher->submit(texts);
    at::Tensor star_probs;
    at::Tensor expected_stars;
    if (stars) {
      star_probs = stars->text_batcher->submit(texts);
      expected_stars = stars->text->expected_stars(star_probs);
    }
    const auto& labels = m->text->labels();
    json results = json::array();
    for (int64_t i = 0; i < probs.size(0); ++i) {
      const int64_t best = probs[i].argmax().item<int64_t>();
      json r = {{"label", labels[best]}, {"probability", probs[i][best].item<float>()}};
      json all = json::object();
      for (size_t c = 0; c < labels.size(); ++c) all[labels[c]] = probs[i][c].item<float>();
      r["probabilities"] = all;
      if (stars) {
        r["stars"] = std::stod(stars->text->labels()[star_probs[i].argmax().item<int64_t>()]);
        r["expected_stars"] = expected_stars[i].item<double>();
      }
      if (explain) {
        text::Attribution a = m->text->explain(texts[i], best);
        json tokens = json::array();
        for (size_t t = 0; t < a.pieces.size(); ++t) tokens.push_back({{"token", a.pieces[t]}, {"score", a.scores[t]}});
        r["tokens"] = tokens;
      }
      results.push_back(r);
    }
    json out = {{"model", m->name}, {"version", m->version}, {"results", results}};
    if (stars) out["stars_model"] = stars->name;
    return out;
  }

  json answer(const HttpRequest& req) {
    json j = parse_body(req, o.max_json_depth);
    auto m = models.get(string_field(j, "model"), ModelKind::kQuestions);
    const std::string question = string_field(j, "text");
    if (question.empty()) throw HttpError(400, "field 'text' is required: the customer's question");
    if (question.size() > o.max_text_bytes) {
      throw HttpError(413, "field 'text': " + std::to_string(question.size()) + " bytes, over the " +
                               std::to_string(o.max_text_bytes) + "-byte limit");
    }
    at::Tensor probs = m->text_batcher->submit({question});
    text::Answer a = m->text->answer_of(probs[0], m->text->answers());
    json out = a.to_json(question, m->text->threshold());
    out["model"] = m->name;
    return out;
  }

  // The catalogue behind the look-alike index, for the shop page: a spread of its items, and
  // any item's picture as PNG. Only ids in the index are served (never arbitrary paths).
  json catalogue_list(const HttpRequest& req) {
    auto index = models.get(req.param("index"), ModelKind::kImageIndex);
    const auto& ids = index->index->ids();
    const std::string n_text = req.has_param("n") ? req.param("n") : "12";
    const int64_t n = std::clamp<int64_t>(std::atoll(n_text.c_str()), 1, 100);
    json items = json::array();
    const int64_t size = static_cast<int64_t>(ids.size());
    for (int64_t i = 0; i < std::min(n, size); ++i) {
      const int64_t row = i * size / std::min(n, size);
      items.push_back({{"id", ids[row]}, {"category", index->index->classes()[index->index->labels()[row].item<int64_t>()]}});
    }
    return {{"index", index->name}, {"size", size}, {"items", items}};
  }

  void catalogue_image(const HttpRequest& req, HttpResponse& res) {
    auto index = models.get(req.param("index"), ModelKind::kImageIndex);
    auto m = models.images_for_index(*index);
    if (!m) throw HttpError(503, "index '" + index->name + "' was built with an image model that is not loaded");
    const std::string id = req.param("id");
    const auto& ids = index->index->ids();
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) throw HttpError(404, "no catalogue item '" + id + "'");
    const auto& opt = m->images->options();
    at::Tensor image = vision::read_query_image(id, opt.channels, opt.rows, opt.cols, o.image_limits);
    res.set_content(data::encode_png(vision::tensor_image(image[0])), "image/png");
    res.set_header("Cache-Control", "max-age=3600");
  }

  void item_image(const HttpRequest& req, HttpResponse& res) {
    const std::string item = req.matches.at(0);
    auto it = item_images.find(item);
    if (it == item_images.end()) throw HttpError(404, "no picture for item '" + item + "'");
    res.set_content(picture_png(it->second), "image/png");
    res.set_header("Cache-Control", "max-age=3600");
  }

  json reload(const HttpRequest& req) {
    if (o.token.empty()) throw HttpError(403, "reload is disabled: start the server with --token to enable it");
    json j = parse_body(req, o.max_json_depth);
    const std::string name = string_field(j, "model");
    if (name.empty()) throw HttpError(400, "field 'model' is required: the name of the model to reload");
    auto current = models.find(name);
    std::string path = string_field(j, "path", current ? current->path : "");
    if (path.empty()) throw HttpError(404, "unknown model '" + name + "' and no 'path' to load it from");
    auto fresh = models.load(name, path);
    return {{"model", fresh->name}, {"version", fresh->version}, {"path", fresh->path}, {"load_seconds", fresh->load_seconds}};
  }

  const Route* find_route(const HttpRequest& req, std::string& allowed) const {
    for (const auto& r : routes) {
      if (!match(r.pattern, req.path)) continue;
      if (r.method == req.method) return &r;
      allowed += (allowed.empty() ? "" : ", ") + r.method;
    }
    return nullptr;
  }

  // On the I/O thread, with the head only: token, route, encoding; cheap routes answer here.
  Admission admit(HttpRequest& req, HttpResponse& res) {
    std::string allowed;
    const Route* route = find_route(req, allowed);
    const bool open = route != nullptr ? route->open : (is_health(req.path) || req.path == "/");
    if (!o.token.empty() && !open) {
      // <img> tags cannot send headers: pictures may carry the token in the query.
      const bool picture = route != nullptr && (route->pattern == "/v1/images/catalogue" || route->pattern == "/v1/items/{id}/image");
      const bool query_token = picture && req.param("token") == o.token;
      if (!query_token && !bearer_matches(req.header("Authorization"), o.token)) {
        res.set_header("WWW-Authenticate", "Bearer");
        send_error(res, 401, req.has_header("Authorization") ? "wrong token" : "missing token: send 'Authorization: Bearer TOKEN'");
        return Admission::kRespond;
      }
    }
    if (route == nullptr) {
      if (!allowed.empty()) {
        res.set_header("Allow", allowed);
        send_error(res, 405, "method " + req.method + " not allowed on " + req.path + " (allowed: " + allowed + ")");
      } else {
        send_error(res, 404, "no route for " + req.method + " " + req.path);
      }
      return Admission::kRespond;
    }
    req.route = route->pattern;
    const std::string encoding = lower(req.header("Content-Encoding"));
    if (!encoding.empty() && encoding != "identity") {
      // Decompression would bypass the body limit (a small gzip can expand to gigabytes).
      send_error(res, 415, "Content-Encoding '" + encoding + "' is not accepted: send the body uncompressed");
      return Admission::kRespond;
    }
    if (!route->at_once) return Admission::kReadBody;
    req.matches = *match(route->pattern, req.path);
    run(*route, req, res);
    return Admission::kRespond;
  }

  // On a request thread, with the whole request.
  void handle(HttpRequest& req, HttpResponse& res) {
    std::string allowed;
    const Route* route = find_route(req, allowed);
    req.matches = *match(route->pattern, req.path);
    run(*route, req, res);
  }

  void done(const HttpRequest& req, const HttpResponse& res, double seconds) {
    const std::string route = req.route.empty() ? "other" : req.route;
    metrics.request(route, res.status, seconds);
    if (o.log) std::fprintf(stderr, "serve: %s %s %d %.2f ms\n", req.method.c_str(), route.c_str(), res.status, 1000 * seconds);
  }

  void add(std::string method, std::string pattern, std::function<json(const HttpRequest&, HttpResponse&)> body,
           bool at_once = false, bool open = false) {
    routes.push_back({std::move(method), std::move(pattern), std::move(body), at_once, open});
  }

  void install() {
    add("GET", "/", [](const HttpRequest&, HttpResponse& res) {
      res.set_content(shop_page(), "text/html; charset=utf-8");
      return json();
    }, true, true);
    auto live = [](const HttpRequest&, HttpResponse&) { return json{{"status", "live"}}; };
    add("GET", "/healthz", live, true, true);
    add("GET", "/v2/health/live", live, true, true);
    auto ready = [this](const HttpRequest&, HttpResponse& res) {
      const auto loaded = models.all();
      if (loaded.empty()) res.status = 503;
      return json{{"status", loaded.empty() ? "not ready: no model loaded" : "ready"}, {"models", loaded.size()}};
    };
    add("GET", "/readyz", ready, true, true);
    add("GET", "/v2/health/ready", ready, true, true);
    add("GET", "/metrics", [this](const HttpRequest&, HttpResponse& res) {
      metrics.set_http(http->stats());
      res.set_content(metrics.render(), "text/plain; version=0.0.4");
      return json();
    }, true);
    add("GET", "/v1/models", [this](const HttpRequest&, HttpResponse&) {
      json list = json::array();
      for (const auto& m : models.all()) list.push_back(m->describe());
      return json{{"models", list}};
    }, true);
    add("POST", "/v1/recommend", [this](const HttpRequest& req, HttpResponse&) { return recommend(req); });
    add("POST", "/v1/items/{id}/similar", [this](const HttpRequest& req, HttpResponse&) { return item_similar(req); });
    add("POST", "/v1/images/classify", [this](const HttpRequest& req, HttpResponse&) { return classify(req); });
    add("POST", "/v1/images/similar", [this](const HttpRequest& req, HttpResponse&) { return images_similar(req); });
    add("POST", "/v1/reviews/analyze", [this](const HttpRequest& req, HttpResponse&) { return analyze(req); });
    add("POST", "/v1/questions/answer", [this](const HttpRequest& req, HttpResponse&) { return answer(req); });
    add("GET", "/v1/images/catalogue/list", [this](const HttpRequest& req, HttpResponse&) { return catalogue_list(req); });
    add("GET", "/v1/images/catalogue", [this](const HttpRequest& req, HttpResponse& res) {
      catalogue_image(req, res);
      return json();
    });
    add("GET", "/v1/items/{id}/image", [this](const HttpRequest& req, HttpResponse& res) {
      item_image(req, res);
      return json();
    });
    add("POST", "/v1/admin/reload", [this](const HttpRequest& req, HttpResponse&) { return reload(req); });

    check_serve_options(o);
    HttpOptions h;
    h.host = o.host;
    h.port = o.port;
    h.io_threads = o.io_threads;
    h.request_threads = o.http_threads;
    h.max_body_bytes = o.max_body_bytes;
    h.max_body_total = std::max(o.max_body_total, o.max_body_bytes);
    h.max_connections = o.max_connections;
    h.header_timeout = std::chrono::milliseconds(static_cast<int64_t>(o.header_timeout_seconds * 1000));
    h.body_timeout = std::chrono::milliseconds(static_cast<int64_t>(o.body_timeout_seconds * 1000));
    HttpHandlers handlers;
    handlers.admit = [this](HttpRequest& req, HttpResponse& res) { return admit(req, res); };
    handlers.handle = [this](HttpRequest& req, HttpResponse& res) { handle(req, res); };
    handlers.essential = [](const HttpRequest& req) { return is_health(req.path); };
    handlers.error = [](HttpResponse& res, int status, const std::string& message) { send_error(res, status, message); };
    handlers.done = [this](const HttpRequest& req, const HttpResponse& res, double seconds) { done(req, res, seconds); };
    http = std::make_unique<HttpServer>(h, handlers);
  }
};

Server::Server(ServeOptions options, ModelRegistry& models, Metrics& metrics)
    : impl_(std::make_unique<Impl>(std::move(options), models, metrics)) {
  impl_->install();
}

Server::~Server() = default;

int Server::bind() { return impl_->http->bind(); }

void Server::run() { impl_->http->run(); }

void Server::stop() { impl_->http->stop(); }

}  // namespace deepcart::serve
