// The text routes: reviews (/v1/reviews/analyze) and questions (/v1/questions/answer).
#include "deepcart/serve/server_impl.h"

#include <torch/torch.h>

#include "deepcart/text/classifier.h"

namespace deepcart::serve {
namespace {

// The field "texts": reviews, each within the byte limit.
std::vector<std::string> texts_field(const json& j, const ServeOptions& o) {
  std::vector<std::string> texts = strings_field(j, "texts", o.max_batch_length, true);
  for (size_t i = 0; i < texts.size(); ++i) {
    if (texts[i].size() > o.max_text_bytes) {
      throw HttpError(413, "texts[" + std::to_string(i) + "]: " + std::to_string(texts[i].size()) +
                               " bytes, over the " + std::to_string(o.max_text_bytes) +
                               "-byte limit");
    }
  }
  return texts;
}

}  // namespace

void Server::Impl::install_text_routes() {
  add("POST", "/v1/reviews/analyze",
      [this](const HttpRequest& req, HttpResponse&) { return analyze(req); });
  add("POST", "/v1/questions/answer",
      [this](const HttpRequest& req, HttpResponse&) { return answer(req); });
}

json Server::Impl::analyze(const HttpRequest& req) {
  json j = parse_body(req);
  auto m = models.get(string_field(j, "model"), ModelKind::kReviews);
  const std::vector<std::string> texts = texts_field(j, o);
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
    json r = {{"label", labels[best]},
              {"label_name", m->text->label_names()[best]},
              {"probability", probs[i][best].item<float>()}};
    json all = json::object();
    for (size_t c = 0; c < labels.size(); ++c) all[labels[c]] = probs[i][c].item<float>();
    r["probabilities"] = all;
    if (stars) {
      r["stars"] = std::stod(stars->text->labels()[star_probs[i].argmax().item<int64_t>()]);
      r["expected_stars"] = expected_stars[i].item<double>();
    }
    if (explain) {
      r["tokens"] = m->text->explain(texts[i], best).tokens_json();
    }
    results.push_back(r);
  }
  json out = {{"model", m->name}, {"version", m->version}, {"results", results}};
  if (stars) out["stars_model"] = stars->name;
  return out;
}

json Server::Impl::answer(const HttpRequest& req) {
  json j = parse_body(req);
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

}  // namespace deepcart::serve
