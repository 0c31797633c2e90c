// Test helper: the message of the deepcart::Error that f throws, or "no error".
#pragma once

#include <functional>
#include <string>

#include "deepcart/core/error.h"

namespace deepcart::test {

inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace deepcart::test
