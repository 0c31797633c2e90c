// Test helper: where ../shared/data is, and the rule for tests that need it: skip on a
// developer machine without it, fail under CI (CI=true), where a missing data set is an error.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace deepcart::test_data {

// $DEEPCART_SHARED_DATA, else the build's DEEPCART_SHARED_DATA_DIR.
inline std::string shared_data_dir() {
  if (const char* env = std::getenv("DEEPCART_SHARED_DATA")) return env;
  return DEEPCART_SHARED_DATA_DIR;
}

inline bool in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

}  // namespace deepcart::test_data

// Use at the top of a TEST body: `REQUIRE_SHARED_DATA(path);`
#define REQUIRE_SHARED_DATA(path)                                     \
  do {                                                                \
    if (!std::filesystem::exists(path)) {                             \
      if (::deepcart::test_data::in_ci())                             \
        FAIL() << "shared data not found at '" << (path) << "' (CI)"; \
      GTEST_SKIP() << "shared data not found at '" << (path) << "'";  \
    }                                                                 \
  } while (0)
