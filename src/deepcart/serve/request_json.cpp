#include "deepcart/serve/request_json.h"

namespace deepcart::serve {
namespace {

// nlohmann's messages start with "[json.exception.parse_error.101] "; the rest says what and where.
std::string strip_json_prefix(std::string what) {
  const size_t end = what.find("] ");
  if (what.rfind("[json.exception", 0) == 0 && end != std::string::npos) what.erase(0, end + 2);
  return what;
}

}  // namespace

nlohmann::json parse_request_json(const std::string& body, int max_depth) {
  using json = nlohmann::json;
  if (body.empty()) throw HttpError(400, "empty body: expected a JSON object");
  json::parser_callback_t limit = [max_depth](int depth, json::parse_event_t, json&) {
    if (depth > max_depth) throw HttpError(400, "JSON nested deeper than " + std::to_string(max_depth) + " levels");
    return true;
  };
  json j;
  try {
    j = json::parse(body, limit);
  } catch (const json::exception& e) {
    // parse_error, and also out_of_range for a number too large for a double ("1e999"): found
    // by the fuzzer, it used to escape as a 500.
    const std::string what = strip_json_prefix(e.what());
    if (what.find("UTF-8") != std::string::npos) throw HttpError(400, "invalid UTF-8 in the JSON body: " + what);
    throw HttpError(400, "invalid JSON: " + what);
  }
  if (!j.is_object()) throw HttpError(400, std::string("expected a JSON object, found ") + j.type_name());
  return j;
}

}  // namespace deepcart::serve
