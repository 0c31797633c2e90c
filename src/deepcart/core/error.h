// Errors that cross a boundary (files, CLI, model files). Each message names the thing, what
// was expected and what was found, so the CLI can print it as one line.
#pragma once

#include <stdexcept>
#include <string>

namespace deepcart {

// Bad input from the user: a file, a flag, a value. The CLI prints what() and exits 2.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// Training stopped by SIGINT/SIGTERM after writing a checkpoint.
class Interrupted : public Error {
 public:
  Interrupted(const std::string& what, std::string checkpoint, int signal)
      : Error(what), checkpoint_(std::move(checkpoint)), signal_(signal) {}
  const std::string& checkpoint() const { return checkpoint_; }
  int signal() const { return signal_; }

 private:
  std::string checkpoint_;
  int signal_;
};

}  // namespace deepcart
