// libFuzzer target: the server's request-body parser. Any input must either parse into a JSON
// object within the depth limit or throw HttpError 400; nothing else (no crash, no other
// exception, no sanitizer report).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "deepcart/serve/request_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  try {
    nlohmann::json j = deepcart::serve::parse_request_json(body, 16);
    if (!j.is_object()) std::abort();
  } catch (const deepcart::serve::HttpError& e) {
    if (e.status() != 400) std::abort();
  }
  return 0;
}
