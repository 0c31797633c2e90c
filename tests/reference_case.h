// Test helper: one network's reference case, written by tests/reference/make_reference.py
// (PyTorch-Python's outputs and gradients for fixed weights), and the checks against it. The
// file holds the parameters and buffers under the module's own names, and input/, output/,
// probe/, grad/ and after/ tensors (see the script). A network matches when its outputs and
// every parameter's gradient of sum_k sum(output_k * probe_k) are within kReferenceTolerance.
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>
#include <string>

#include "deepcart/core/error.h"
#include "deepcart/core/safetensors.h"

namespace deepcart::test {

// Largest allowed |C++ - reference|, for outputs and gradients alike.
constexpr double kReferenceTolerance = 1e-5;

class ReferenceCase {
 public:
  // Reads DEEPCART_REFERENCE_DIR/<name>.safetensors.
  explicit ReferenceCase(const std::string& name)
      : name_(name),
        tensors_(
            safetensors_read(std::string(DEEPCART_REFERENCE_DIR) + "/" + name + ".safetensors")) {}

  // Prints the largest differences seen, so a run shows how close each network is.
  ~ReferenceCase() {
    std::printf("reference %-13s max |diff|: outputs %.2e, gradients %.2e (tolerance %.0e)\n",
                name_.c_str(), max_output_diff_, max_grad_diff_, kReferenceTolerance);
  }

  const at::Tensor& tensor(const std::string& key) const {
    auto it = tensors_.find(key);
    if (it == tensors_.end()) throw Error(name_ + ".safetensors: no tensor '" + key + "'");
    return it->second;
  }
  const at::Tensor& input(const std::string& name) const { return tensor("input/" + name); }
  const at::Tensor& output(const std::string& name) const { return tensor("output/" + name); }

  // Copies every parameter and buffer of `module` in by name. Throws, listing every problem,
  // when a name is missing on either side or a shape or type differs.
  void load_into(torch::nn::Module& module) const {
    std::map<std::string, at::Tensor> wanted;
    for (const auto& p : module.named_parameters()) wanted[p.key()] = p.value();
    for (const auto& b : module.named_buffers()) wanted[b.key()] = b.value();
    std::string problems;
    for (const auto& [key, value] : tensors_) {
      if (key.find('/') == std::string::npos && !wanted.count(key))
        problems += "\n  '" + key + "' is in the file but not in the module";
    }
    for (const auto& [key, target] : wanted) {
      auto it = tensors_.find(key);
      if (it == tensors_.end()) {
        problems += "\n  '" + key + "' is in the module but not in the file";
      } else if (it->second.sizes() != target.sizes() || it->second.dtype() != target.dtype()) {
        problems +=
            "\n  '" + key + "': expected " + describe(target) + ", got " + describe(it->second);
      }
    }
    if (!problems.empty()) throw Error(name_ + ".safetensors: does not fit the module:" + problems);
    torch::NoGradGuard no_grad;
    for (auto& [key, target] : wanted) target.copy_(tensors_.at(key));
  }

  // Checks `actual` against output/<name>.
  void expect_output(const std::string& name, const at::Tensor& actual,
                     const std::string& path = "") {
    const std::string what = "output '" + name + "'" + (path.empty() ? "" : " (" + path + ")");
    max_output_diff_ = std::max(max_output_diff_, expect_near(what, actual, output(name)));
  }

  // sum(actual * probe/<name>): the loss whose gradients grad/ holds.
  at::Tensor probe_loss(const std::string& name, const at::Tensor& actual) const {
    return (actual * tensor("probe/" + name)).sum();
  }

  // Checks every parameter's gradient against <tag>/<name>; no gradient counts as zeros.
  void expect_grads(torch::nn::Module& module, const std::string& tag = "grad") {
    for (const auto& p : module.named_parameters()) {
      const at::Tensor& expected = tensor(tag + "/" + p.key());
      at::Tensor grad = p.value().grad();
      if (!grad.defined()) grad = torch::zeros_like(p.value());
      max_grad_diff_ =
          std::max(max_grad_diff_, expect_near(tag + " of '" + p.key() + "'", grad, expected));
    }
  }

  // Checks the buffers against after/<name> (BatchNorm's statistics after a training step).
  void expect_buffers_after(torch::nn::Module& module) {
    int checked = 0;
    for (const auto& b : module.named_buffers()) {
      auto it = tensors_.find("after/" + b.key());
      if (it == tensors_.end()) continue;
      max_output_diff_ = std::max(max_output_diff_,
                                  expect_near("buffer '" + b.key() + "'", b.value(), it->second));
      ++checked;
    }
    EXPECT_GT(checked, 0) << name_ << ": no after/ tensors";
  }

  // EXPECTs max |actual - expected| <= kReferenceTolerance; returns that difference.
  double expect_near(const std::string& what, const at::Tensor& actual,
                     const at::Tensor& expected) const {
    if (actual.sizes() != expected.sizes()) {
      ADD_FAILURE() << name_ << ": " << what << ": expected shape " << expected.sizes() << ", got "
                    << actual.sizes();
      return 0.0;
    }
    if (actual.numel() == 0) return 0.0;
    const double diff = (actual.detach().to(torch::kDouble) - expected.to(torch::kDouble))
                            .abs()
                            .max()
                            .item<double>();
    EXPECT_LE(diff, kReferenceTolerance) << name_ << ": " << what << " differs from PyTorch";
    return diff;
  }

 private:
  static std::string describe(const at::Tensor& t) {
    std::ostringstream out;
    out << t.sizes() << " " << t.dtype();
    return out.str();
  }

  std::string name_;
  std::map<std::string, at::Tensor> tensors_;
  double max_output_diff_ = 0.0, max_grad_diff_ = 0.0;
};

}  // namespace deepcart::test
