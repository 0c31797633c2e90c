// `deepcart launch`: data-parallel training in several processes, on one host or several.
#include <cstdlib>

#include "cli_common.h"
#include "deepcart/dist/launch.h"

namespace deepcart::cli {

void register_launch(CLI::App& app) {
  auto* cmd = app.add_subcommand("launch",
                                 "data-parallel training: run a train command in several workers "
                                 "(c10d: Gloo on CPUs, NCCL on GPUs), on this host or several");
  auto o = std::make_shared<dist::LaunchOptions>();
  auto command = std::make_shared<std::vector<std::string>>();
  opt(cmd, "--nproc", o->nproc, "workers on this host")->check(CLI::PositiveNumber);
  opt(cmd, "--nnodes", o->nnodes, "hosts taking part")->check(CLI::PositiveNumber);
  opt(cmd, "--node-rank", o->node_rank, "this host's number, 0 to nnodes-1 (0 runs the master)");
  cmd->add_option("--master", o->master,
                  "HOST:PORT of node 0, reachable from every host (default with one host: "
                  "127.0.0.1 and a free port)");
  opt(cmd, "--timeout", o->timeout_seconds,
      "seconds to wait for a worker that has not joined, or for any collective, before stopping "
      "with an error");
  opt(cmd, "--threads", o->threads,
      "LibTorch threads per worker (0 = this host's cores / --nproc)");
  cmd->add_flag("--quiet,-q", o->quiet, "no launcher messages");
  cmd->add_option("command", *command,
                  "the train command, after --: e.g. -- rec train --data ... --out m.dcm")
      ->required();
  cmd->footer(
      "Each worker is this program running the given train command with DEEPCART_RANK, "
      "DEEPCART_WORLD_SIZE and DEEPCART_MASTER set (a cluster scheduler may set them itself and "
      "run the train command directly). With --device cuda or auto in the train command, each "
      "worker takes its own GPU (worker i: GPU i mod the GPU count) and gradients travel over "
      "NCCL; on the CPU, over Gloo. --batch-size is per worker. Only rank 0 prints progress and "
      "writes the model, the checkpoint and the metrics log. Ctrl-C stops every worker at the "
      "same step with a checkpoint; --resume continues it.");
  cmd->callback([=] {
    const int status = dist::launch(*o, *command);
    if (status != 0) std::exit(status);  // the workers have said why
  });
}

}  // namespace deepcart::cli
