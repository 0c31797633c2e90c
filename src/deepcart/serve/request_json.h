// Parsing a request body as JSON, with the limits the server promises: a JSON object, nested
// at most max_depth levels (checked while parsing, so a deep body is refused early), valid
// UTF-8. Every failure is an HttpError 400 that says what is wrong and where. No LibTorch here,
// so the fuzzer builds it alone (tests/fuzz).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "deepcart/serve/http_error.h"

namespace deepcart::serve {

nlohmann::json parse_request_json(const std::string& body, int max_depth);

}  // namespace deepcart::serve
