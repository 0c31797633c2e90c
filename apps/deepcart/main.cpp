// deepcart: deep learning for online shops. The CLI is a thin layer over the libraries:
// each command parses its flags, calls a library and prints the result (text, or --json).
#include <csignal>
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli_common.h"
#include "deepcart/core/error.h"

int main(int argc, char** argv) {
  CLI::App app{"deepcart " DEEPCART_VERSION
               ": deep learning for online shops (recommendation, product images, reviews)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "deepcart " DEEPCART_VERSION);
  deepcart::cli::register_demo(app);
  deepcart::cli::register_doctor(app);
  deepcart::cli::register_datagen(app);
  deepcart::cli::register_data(app);
  deepcart::cli::register_rec(app);
  deepcart::cli::register_vision(app);
  deepcart::cli::register_text(app);
  deepcart::cli::register_serve(app);
  deepcart::cli::register_launch(app);
  deepcart::cli::remember_command_line(argv);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const deepcart::Interrupted& e) {
    std::cerr << "deepcart: " << e.what() << std::endl;
    return 128 + e.signal();
  } catch (const deepcart::Error& e) {
    std::cerr << "deepcart: error: " << e.what() << std::endl;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "deepcart: internal error: " << e.what() << std::endl;
    return 3;
  }
  return 0;
}
