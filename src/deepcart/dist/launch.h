// `deepcart launch`: starts this host's workers of a data-parallel run and supervises them.
// Each worker is the deepcart program itself, run with the train command it was given and
// DEEPCART_RANK / DEEPCART_WORLD_SIZE / DEEPCART_MASTER set. Ctrl-C or SIGTERM reaches every
// worker exactly once (they stop at the same step and rank 0 writes the checkpoint). A worker
// that fails stops the others: they get SIGTERM, then SIGKILL after a grace period.
#pragma once

#include <string>
#include <vector>

namespace deepcart {
struct TrainOptions;
}

namespace deepcart::dist {

struct LaunchOptions {
  int nproc = 1;                // workers on this host
  int nnodes = 1;               // hosts
  int node_rank = 0;            // this host's place, 0 .. nnodes-1; node 0 runs the master
  std::string master;           // HOST:PORT; empty = 127.0.0.1 and a free port (one host only)
  double timeout_seconds = 60;  // peers joining, and every collective
  int threads = 0;              // LibTorch threads per worker; 0 = this host's cores / nproc
  std::string program;          // the worker program; empty = this one (/proc/self/exe)
  bool quiet = false;
};

// A port on 127.0.0.1 that was free a moment ago (for one-host runs and tests).
int free_loopback_port();

// Runs `command` (a deepcart train command, with or without a leading "deepcart") in
// nproc workers and returns the exit status: 0 when all succeed, 128+signal when interrupted,
// else the first failing worker's status.
int launch(const LaunchOptions& options, std::vector<std::string> command);

// In a worker of `deepcart launch`, or of a scheduler that sets DEEPCART_WORLD_SIZE above 1:
// joins the c10d group on the context's device (GPU workers all-reduce over NCCL, CPU workers
// over Gloo) and sets options.parallel; ranks other than 0 go quiet. Returns whether this
// process writes results: rank 0, or a run that is not data-parallel.
bool join_if_launched(TrainOptions& options);

}  // namespace deepcart::dist
