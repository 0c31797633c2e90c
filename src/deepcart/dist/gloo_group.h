// Data-parallel training over PyTorch's own engine: c10d's ProcessGroupGloo over a TCPStore,
// with an explicit Gloo transport device, for workers on the CPU, and c10d's ProcessGroupNCCL
// over the same store for workers on GPUs (nccl_backend.h). A worker learns its place from
// DistConfig (flags of `deepcart launch`, or DEEPCART_* variables under a cluster scheduler),
// joins the group, and hands the Trainer a DataParallel. Every wait is bounded by
// DistConfig::timeout and ends in an Error that names the rank and the timeout, never in an
// abort or a hang.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <c10/core/Device.h>

#include "deepcart/core/data_parallel.h"

namespace deepcart::dist {

struct DistConfig {
  int rank = 0;
  int world_size = 1;
  std::string master_host = "127.0.0.1";  // where rank 0 runs the TCPStore
  int master_port = 29500;
  std::chrono::milliseconds timeout{60000};  // joining, and every collective
  // The address or hostname this worker's Gloo device binds to (createDeviceForHostname); empty
  // = 127.0.0.1 when the master is on loopback, else this machine's hostname. Or an interface
  // name (createDeviceForInterface).
  std::string gloo_host;
  std::string gloo_interface;
  size_t bucket_bytes = 25u << 20;  // gradients are all-reduced in buckets of about this size
  // Matrices with at least this many elements (embedding tables, hashed n-gram tables) send only
  // the rows this step touched: an all-gather of row ids and rows instead of an all-reduce of
  // the whole table. Decided by shape, so every rank takes the same path.
  int64_t sparse_min_elements = int64_t{1} << 20;
  // Where this worker's parameters live: the CPU (Gloo) or a GPU (NCCL).
  c10::Device device{c10::DeviceType::CPU};

  std::string describe() const;  // "rank 1 of 2, master 127.0.0.1:29500"
};

// From DEEPCART_RANK, DEEPCART_WORLD_SIZE, DEEPCART_MASTER (HOST:PORT), DEEPCART_DIST_TIMEOUT
// (seconds), DEEPCART_GLOO_HOST, DEEPCART_GLOO_IFACE. Null when DEEPCART_WORLD_SIZE is unset.
// Throws Error on malformed values.
std::unique_ptr<DistConfig> dist_config_from_env();

// "HOST:PORT" -> host, port; throws Error naming `what`.
std::pair<std::string, int> parse_host_port(const std::string& text, const std::string& what);

// Joins the group: waits for every rank (up to the timeout, then an Error listing the missing
// ranks), then connects the Gloo mesh, or the NCCL group when config.device is a GPU.
std::shared_ptr<DataParallel> dist_join(const DistConfig& config);

}  // namespace deepcart::dist
