// Reading a request: its body as JSON, with the limits the server promises (a JSON object, nested
// at most max_depth levels, checked while parsing so a deep body is refused early, valid UTF-8),
// its typed fields, and base64 pictures. Every failure is an HttpError 400 that says what is
// wrong and where. No LibTorch here, so the fuzzer builds it alone (tests/fuzz).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "deepcart/serve/http_error.h"

namespace deepcart::serve {

nlohmann::json parse_request_json(const std::string& body, int max_depth);

// Typed fields of a request object, with messages that name the field. An absent or null field
// gives the fallback (or, for a required list, an error).
std::string string_field(const nlohmann::json& j, const char* name,
                         const std::string& fallback = "");
bool bool_field(const nlohmann::json& j, const char* name, bool fallback);
// The field "k", from 1 to max_k.
int64_t k_field(const nlohmann::json& j, int64_t fallback, int64_t max_k);
// An array of at most max_length strings; a required one must hold at least one.
std::vector<std::string> strings_field(const nlohmann::json& j, const char* name,
                                       int64_t max_length, bool required);

// Strict base64 (RFC 4648, padding optional, whitespace skipped); `what` names the data in
// messages.
std::string base64_decode(const std::string& in, const std::string& what);

}  // namespace deepcart::serve
