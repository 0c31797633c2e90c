// The image routes: classification, look-alikes, the catalogue behind the look-alike index and
// product pictures, with the reading of images from a request.
#include "deepcart/serve/server_impl.h"

#include <torch/torch.h>

#include <algorithm>
#include <cstdlib>

#include "deepcart/vision/classifier.h"
#include "deepcart/vision/image_set.h"
#include "deepcart/vision/similar.h"

namespace deepcart::serve {
namespace {

// A product picture as PNG: Fashion-MNIST references are drawn from the data set, files are
// decoded (within the image limits) and re-encoded, so only pictures come out.
std::string picture_png(const std::string& ref, const data::ImageLimits& limits) {
  if (ref.rfind("fashion-mnist:", 0) == 0) {
    return data::encode_png(
        vision::tensor_image(vision::read_query_image(ref, 1, 28, 28, limits)[0]));
  }
  return data::encode_png(data::read_image(ref, limits));
}

// The images of a classify/similar request: a raw PNG/JPEG body (options in the query string,
// e.g. ?k=5), or JSON {"image": base64} or {"images": [base64, ...]} with the options beside.
struct ImageRequest {
  json fields;
  std::vector<std::pair<std::string, std::string>> encoded;  // name for messages, bytes
};

ImageRequest read_images(const HttpRequest& req, const ServeOptions& o) {
  const std::string type = lower(req.header("Content-Type"));
  ImageRequest r;
  if (type.rfind("application/json", 0) == 0) {
    r.fields = parse_request_json(req.body, o.max_json_depth);
    if (r.fields.contains("image")) {
      r.encoded.emplace_back("image",
                             base64_decode(string_field(r.fields, "image"), "field 'image'"));
    } else {
      auto list = strings_field(r.fields, "images", o.max_batch_length, true);
      for (size_t i = 0; i < list.size(); ++i) {
        const std::string name = "images[" + std::to_string(i) + "]";
        r.encoded.emplace_back(name, base64_decode(list[i], "field '" + name + "'"));
      }
    }
  } else if (type.rfind("image/", 0) == 0 || type.rfind("application/octet-stream", 0) == 0 ||
             type.empty()) {
    r.encoded.emplace_back("body", req.body);
    r.fields = json::object();
    for (const auto& [key, value] : req.params) {
      if (key == "k") {
        char* end = nullptr;
        const long long k = std::strtoll(value.c_str(), &end, 10);
        if (end == value.c_str() || *end != '\0')
          throw HttpError(400, "query 'k': expected an integer, found '" + value + "'");
        r.fields["k"] = k;
      } else {
        r.fields[key] = value;
      }
    }
  } else {
    throw HttpError(
        415, "Content-Type '" + req.header("Content-Type") +
                 "': expected image/png, image/jpeg, application/octet-stream or application/json");
  }
  return r;
}

// Decoded and resized to the model's input: (N, C, H, W) uint8.
at::Tensor image_batch(const ImageRequest& r, const vision::ImageClassifier& model,
                       const data::ImageLimits& limits) {
  const auto& opt = model.options();
  std::vector<at::Tensor> tensors;
  for (const auto& [name, bytes] : r.encoded) {
    tensors.push_back(vision::image_tensor(data::decode_image(bytes, name, limits), opt.channels,
                                           opt.rows, opt.cols));
  }
  return torch::cat(tensors, 0);
}

}  // namespace

void Server::Impl::install_image_routes() {
  add("POST", "/v1/images/classify",
      [this](const HttpRequest& req, HttpResponse&) { return classify(req); });
  add("POST", "/v1/images/similar",
      [this](const HttpRequest& req, HttpResponse&) { return images_similar(req); });
  add("GET", "/v1/images/catalogue/list",
      [this](const HttpRequest& req, HttpResponse&) { return catalogue_list(req); });
  add("GET", "/v1/images/catalogue", [this](const HttpRequest& req, HttpResponse& res) {
    catalogue_image(req, res);
    return json();
  });
  add("GET", "/v1/items/{id}/image", [this](const HttpRequest& req, HttpResponse& res) {
    item_image(req, res);
    return json();
  });
}

json Server::Impl::classify(const HttpRequest& req) {
  ImageRequest r = read_images(req, o);
  auto m = models.get(string_field(r.fields, "model"), ModelKind::kImages);
  auto [probs, attributes] = m->image_batcher->submit(image_batch(r, *m->images, o.image_limits));
  vision::Prediction prediction{probs, attributes};
  json results = json::array();
  for (int64_t i = 0; i < probs.size(0); ++i) results.push_back(m->images->sheet(prediction, i));
  return {{"model", m->name}, {"version", m->version}, {"results", results}};
}

json Server::Impl::images_similar(const HttpRequest& req) {
  ImageRequest r = read_images(req, o);
  auto index = models.get(string_field(r.fields, "index"), ModelKind::kImageIndex);
  auto m = models.images_for_index(*index);
  if (!m)
    throw HttpError(503,
                    "index '" + index->name + "' was built with an image model that is not loaded");
  const int64_t k = k_field(r.fields, 8, o.max_k);
  at::Tensor images = image_batch(r, *m->images, o.image_limits);
  c10::InferenceMode guard;
  auto found = index->index->search(m->images->embeddings(images), k);
  json results = json::array();
  for (const auto& row : found) results.push_back(index->index->to_json(row));
  return {{"model", m->name}, {"index", index->name}, {"results", results}};
}

// The catalogue behind the look-alike index, for the shop page: a spread of its items, and
// any item's picture as PNG. Only ids in the index are served (never arbitrary paths).
json Server::Impl::catalogue_list(const HttpRequest& req) {
  auto index = models.get(req.param("index"), ModelKind::kImageIndex);
  const auto& ids = index->index->ids();
  const std::string n_text = req.has_param("n") ? req.param("n") : "12";
  const int64_t n = std::clamp<int64_t>(std::atoll(n_text.c_str()), 1, 100);
  json items = json::array();
  const int64_t size = static_cast<int64_t>(ids.size());
  for (int64_t i = 0; i < std::min(n, size); ++i) {
    const int64_t row = i * size / std::min(n, size);
    items.push_back(
        {{"id", ids[row]},
         {"category", index->index->classes()[index->index->labels()[row].item<int64_t>()]}});
  }
  return {{"index", index->name}, {"size", size}, {"items", items}};
}

void Server::Impl::catalogue_image(const HttpRequest& req, HttpResponse& res) {
  auto index = models.get(req.param("index"), ModelKind::kImageIndex);
  auto m = models.images_for_index(*index);
  if (!m)
    throw HttpError(503,
                    "index '" + index->name + "' was built with an image model that is not loaded");
  const std::string id = req.param("id");
  const auto& ids = index->index->ids();
  if (std::find(ids.begin(), ids.end(), id) == ids.end())
    throw HttpError(404, "no catalogue item '" + id + "'");
  const auto& opt = m->images->options();
  at::Tensor image = vision::read_query_image(id, opt.channels, opt.rows, opt.cols, o.image_limits);
  res.set_content(data::encode_png(vision::tensor_image(image[0])), "image/png");
  res.set_header("Cache-Control", "max-age=3600");
}

void Server::Impl::item_image(const HttpRequest& req, HttpResponse& res) {
  const std::string item = req.matches.at(0);
  auto it = item_images.find(item);
  if (it == item_images.end()) throw HttpError(404, "no picture for item '" + item + "'");
  res.set_content(picture_png(it->second, o.image_limits), "image/png");
  res.set_header("Cache-Control", "max-age=3600");
}

}  // namespace deepcart::serve
