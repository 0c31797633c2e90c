// An error with the HTTP status the server answers it with; plain deepcart Errors (bad input
// found by the libraries) become 400.
#pragma once

#include <string>

#include "deepcart/core/error.h"

namespace deepcart::serve {

class HttpError : public Error {
 public:
  HttpError(int status, const std::string& message) : Error(message), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

}  // namespace deepcart::serve
