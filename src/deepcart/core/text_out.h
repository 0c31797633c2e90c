// printf into a growing string: the human-readable reports of the libraries (describe()).
#pragma once

#include <cstdarg>
#include <cstdio>
#include <string>

namespace deepcart {

struct TextOut {
  std::string s;
  void add(const char* format, ...) __attribute__((format(printf, 2, 3))) {
    va_list args, again;
    va_start(args, format);
    va_copy(again, args);
    const int n = std::vsnprintf(nullptr, 0, format, args);
    va_end(args);
    if (n > 0) {
      const size_t at = s.size();
      s.resize(at + n + 1);
      std::vsnprintf(&s[at], n + 1, format, again);
      s.resize(at + n);
    }
    va_end(again);
  }
};

}  // namespace deepcart
