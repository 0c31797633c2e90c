// Test helper: the installed MiniLM encoder's folder, with the shared data rule: skip on a
// developer machine without it, fail under CI (CI=true), where scripts/setup.sh installs it.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "deepcart/core/error.h"
#include "deepcart/text/pretrained.h"
#include "shared_data.h"

namespace deepcart::test_data {

// The folder, or empty with `why` set.
inline std::filesystem::path encoder_dir(std::string& why) {
  try {
    return text::default_encoder_dir();
  } catch (const Error& e) {
    why = e.what();
    return {};
  }
}

// The reference files written by tests/text/encoder_reference/make_reference.py.
inline std::filesystem::path encoder_reference_dir() {
  return std::filesystem::path(DEEPCART_SOURCE_DIR) / "tests" / "text" / "encoder_reference";
}

}  // namespace deepcart::test_data

// Use at the top of a TEST body: `REQUIRE_ENCODER(dir);` declares `dir`.
#define REQUIRE_ENCODER(dir)                                                       \
  std::string dir##_why;                                                           \
  const std::filesystem::path dir = ::deepcart::test_data::encoder_dir(dir##_why); \
  if (dir.empty()) {                                                               \
    if (::deepcart::test_data::in_ci()) FAIL() << dir##_why << " (CI)";            \
    GTEST_SKIP() << dir##_why;                                                     \
  }
