#include "deepcart/serve/request_json.h"

namespace deepcart::serve {

using json = nlohmann::json;

namespace {

// nlohmann's messages start with "[json.exception.parse_error.101] "; the rest says what and where.
std::string strip_json_prefix(std::string what) {
  const size_t end = what.find("] ");
  if (what.rfind("[json.exception", 0) == 0 && end != std::string::npos) what.erase(0, end + 2);
  return what;
}

}  // namespace

json parse_request_json(const std::string& body, int max_depth) {
  if (body.empty()) throw HttpError(400, "empty body: expected a JSON object");
  json::parser_callback_t limit = [max_depth](int depth, json::parse_event_t, json&) {
    if (depth > max_depth)
      throw HttpError(400, "JSON nested deeper than " + std::to_string(max_depth) + " levels");
    return true;
  };
  json j;
  try {
    j = json::parse(body, limit);
  } catch (const json::exception& e) {
    // parse_error, and also out_of_range for a number too large for a double ("1e999"): found
    // by the fuzzer, it used to escape as a 500.
    const std::string what = strip_json_prefix(e.what());
    if (what.find("UTF-8") != std::string::npos)
      throw HttpError(400, "invalid UTF-8 in the JSON body: " + what);
    throw HttpError(400, "invalid JSON: " + what);
  }
  if (!j.is_object())
    throw HttpError(400, std::string("expected a JSON object, found ") + j.type_name());
  return j;
}

std::string string_field(const json& j, const char* name, const std::string& fallback) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_string())
    throw HttpError(
        400, std::string("field '") + name + "': expected a string, found " + it->type_name());
  return it->get<std::string>();
}

bool bool_field(const json& j, const char* name, bool fallback) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_boolean())
    throw HttpError(
        400, std::string("field '") + name + "': expected true or false, found " + it->type_name());
  return it->get<bool>();
}

int64_t k_field(const json& j, int64_t fallback, int64_t max_k) {
  auto it = j.find("k");
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_number_integer())
    throw HttpError(400, std::string("field 'k': expected an integer, found ") + it->type_name());
  const auto k = it->get<int64_t>();
  if (k < 1 || k > max_k) {
    throw HttpError(
        400, "field 'k': expected 1 to " + std::to_string(max_k) + ", found " + std::to_string(k));
  }
  return k;
}

std::vector<std::string> strings_field(const json& j, const char* name, int64_t max_length,
                                       bool required) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) {
    if (required) throw HttpError(400, std::string("field '") + name + "' is required");
    return {};
  }
  if (!it->is_array())
    throw HttpError(400, std::string("field '") + name + "': expected an array of strings, found " +
                             it->type_name());
  if (static_cast<int64_t>(it->size()) > max_length) {
    throw HttpError(400, std::string("field '") + name + "': " + std::to_string(it->size()) +
                             " entries, over the limit of " + std::to_string(max_length));
  }
  std::vector<std::string> out;
  for (size_t i = 0; i < it->size(); ++i) {
    const json& v = (*it)[i];
    if (!v.is_string()) {
      throw HttpError(400, std::string("field '") + name + "[" + std::to_string(i) +
                               "]': expected a string, found " + v.type_name());
    }
    out.push_back(v.get<std::string>());
  }
  if (required && out.empty())
    throw HttpError(400, std::string("field '") + name + "': expected at least one entry");
  return out;
}

std::string base64_decode(const std::string& in, const std::string& what) {
  static const std::string alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
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
    if (v == std::string::npos)
      throw HttpError(400, what + ": invalid base64 character at offset " + std::to_string(i));
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

}  // namespace deepcart::serve
