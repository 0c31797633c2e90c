// `deepcart launch`: data-parallel training in several processes, on one host or several.
#include <cstdlib>

#include "cli_common.h"
#include "deepcart/core/device.h"
#include "deepcart/core/error.h"
#include "deepcart/dist/gloo_group.h"
#include "deepcart/dist/launch.h"
#include "deepcart/dist/nccl_backend.h"

namespace deepcart::cli {

bool join_data_parallel(TrainOptions& options, Common& common) {
  std::unique_ptr<dist::DistConfig> config = dist::dist_config_from_env();
  if (!config || config->world_size == 1) return true;
  config->device = context_device();  // GPU workers all-reduce over NCCL, CPU workers over Gloo
  if (config->device.is_cuda())
    dist::require_nccl();  // before joining: the others would wait for it
  if (config->rank != 0) common.quiet = true;
  options.quiet = common.quiet;
  if (!common.quiet)
    std::fprintf(stderr, "joining the data-parallel run (%s)\n", config->describe().c_str());
  options.parallel = dist::dist_join(*config);
  return config->rank == 0;
}

void register_launch(CLI::App& app) {
  auto* cmd = app.add_subcommand("launch",
                                 "data-parallel training: run a train command in several workers "
                                 "(c10d: Gloo on CPUs, NCCL on GPUs), on "
                                 "this host or several");
  auto o = std::make_shared<dist::LaunchOptions>();
  auto command = std::make_shared<std::vector<std::string>>();
  cmd->add_option("--nproc", o->nproc, "workers on this host")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--nnodes", o->nnodes, "hosts taking part")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--node-rank", o->node_rank,
                  "this host's number, 0 to nnodes-1 (0 runs the master)")
      ->capture_default_str();
  cmd->add_option("--master", o->master,
                  "HOST:PORT of node 0, reachable from every host (default with one host: "
                  "127.0.0.1 and a free port)");
  cmd->add_option("--timeout", o->timeout_seconds,
                  "seconds to wait for a worker that has not joined, or for any collective, before "
                  "stopping with an error")
      ->capture_default_str();
  cmd->add_option("--threads", o->threads,
                  "LibTorch threads per worker (0 = this host's cores / --nproc)")
      ->capture_default_str();
  cmd->add_flag("--quiet,-q", o->quiet, "no launcher messages");
  cmd->add_option("command", *command,
                  "the train command, after --: e.g. -- rec train --data ... --out m.dcm")
      ->required();
  cmd->footer(
      "Each worker is this program running the given train command with DEEPCART_RANK, "
      "DEEPCART_WORLD_SIZE and "
      "DEEPCART_MASTER set (a cluster scheduler may set them itself and run the train command "
      "directly). "
      "With --device cuda or auto in the train command, each worker takes its own GPU (worker i: "
      "GPU i mod the "
      "GPU count) and gradients travel over NCCL; on the CPU, over Gloo. "
      "--batch-size is per worker. Only rank 0 prints progress and writes the model, the "
      "checkpoint and the metrics "
      "log. Ctrl-C stops every worker at the same step with a checkpoint; --resume continues it.");
  cmd->callback([=] {
    const int status = dist::launch(*o, *command);
    if (status != 0) std::exit(status);  // the workers have said why
  });
}

}  // namespace deepcart::cli
