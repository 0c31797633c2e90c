// What the Trainer needs from a data-parallel run: its rank, and collectives over the workers.
// `dist/` implements it over c10d's ProcessGroupGloo; the Trainer calls it when
// TrainOptions::parallel is set, and no model knows it is distributed.
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

namespace deepcart {

class DataParallel {
 public:
  virtual ~DataParallel() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  // Every rank ends with rank 0's values in `tensors` (in place).
  virtual void broadcast(const std::vector<at::Tensor>& tensors) = 0;
  // Replaces the gradient of every parameter with its mean over the ranks (a missing gradient
  // counts as zeros), and each of `scalars` with its sum over the ranks, in one round.
  virtual void average_gradients(const std::vector<at::Tensor>& parameters,
                                 std::vector<double>& scalars) = 0;
  // Sums over the ranks, in place.
  virtual void sum(std::vector<double>& values) = 0;
  // Seconds spent waiting for collectives, and bytes all-reduced, since the group was made.
  virtual double communication_seconds() const = 0;
  virtual int64_t bytes_reduced() const = 0;
};

}  // namespace deepcart
