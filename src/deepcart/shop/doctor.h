// `deepcart doctor`: what this machine gives deepcart. The engine and its CUDA, the BLAS and
// OpenMP in force, threads, the data sets found and the data-parallel setting.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace deepcart::shop {

// The facts, as JSON (`doctor --json`). Call after context_init, so threads are as they run.
nlohmann::json doctor_report(const std::string& version, const std::string& shared_data);
// The same, one line per fact, with the fix for a slow BLAS.
std::string doctor_text(const nlohmann::json& report);

}  // namespace deepcart::shop
