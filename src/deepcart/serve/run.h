// Running a server as a program does: the models to load, the token from the environment, and
// a clean stop on SIGTERM or SIGINT once the requests in flight are done. `deepcart serve` and
// `deepcart demo --serve` both run it.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "deepcart/serve/models.h"
#include "deepcart/serve/server.h"

namespace deepcart::serve {

// The models of a server as (name, path): every *.dcm (not *.ckpt) and *.dci in `dir`, named
// after the file (reviews-sentiment.dcm -> reviews-sentiment), sorted, then the NAME=PATH
// `pairs`. Throws Error when the folder is missing, a pair is malformed, or there is no model.
std::vector<std::pair<std::string, std::string>> models_to_serve(
    const std::vector<std::string>& pairs, const std::string& dir);

struct RunOptions {
  ServeOptions server;
  BatchOptions batch;
  std::vector<std::pair<std::string, std::string>> models;  // from models_to_serve
  bool quiet = false;                                       // no load or stop messages
};

// Loads the models, prints the address on stdout, and serves until SIGTERM or SIGINT; returns
// once the requests in flight are done. An empty token is taken from $DEEPCART_TOKEN.
void run_until_stopped(RunOptions options);

}  // namespace deepcart::serve
