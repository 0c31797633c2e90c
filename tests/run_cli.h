// Test helper: runs the deepcart program (DEEPCART_BINARY) with arguments, and optionally
// environment settings, and returns its exit status and everything it printed.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace deepcart::test_cli {

struct Result {
  int code = -1;
  std::string out;  // stdout and stderr together
};

// `env` is "NAME=VALUE ..." put before the program, as env(1) takes it.
inline Result run(const std::string& args, const std::string& env = "") {
  const std::string cmd =
      (env.empty() ? "" : "env " + env + " ") + std::string(DEEPCART_BINARY) + " " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  Result r;
  std::array<char, 4096> buf;
  while (size_t n = fread(buf.data(), 1, buf.size(), pipe)) r.out.append(buf.data(), n);
  const int status = pclose(pipe);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace deepcart::test_cli
