// deepcart doctor: versions, threads, the BLAS in force, and which data sets are present.
#include <cstdio>

#include "cli_common.h"
#include "deepcart/shop/doctor.h"

namespace deepcart::cli {

void register_doctor(CLI::App& app) {
  auto f = std::make_shared<Common>();
  auto* cmd = add_command(&app, "doctor", "versions, threads, BLAS in use, data sets found", *f,
                          Compute::kNone);
  cmd->callback([=] {
    init_context(*f);
    const nlohmann::json r = shop::doctor_report(DEEPCART_VERSION, shared_data_dir());
    if (f->json) return print_json(r);
    std::printf("%s", shop::doctor_text(r).c_str());
  });
}

}  // namespace deepcart::cli
