#include "deepcart/dist/launch.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "deepcart/core/context.h"
#include "deepcart/core/device.h"
#include "deepcart/core/error.h"
#include "deepcart/core/trainer.h"
#include "deepcart/dist/gloo_group.h"
#include "deepcart/dist/nccl_backend.h"

namespace deepcart::dist {
namespace {

volatile sig_atomic_t g_launch_signal = 0;

std::string status_text(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return "was killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
           strsignal(WTERMSIG(status)) + ")";
  return "stopped";
}

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace

int free_loopback_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) close(fd);
    throw Error("launch: cannot find a free port on 127.0.0.1");
  }
  close(fd);
  return ntohs(addr.sin_port);
}

namespace {

struct Worker {
  pid_t pid = -1;
  int rank = 0;
  bool done = false;
  int status = 0;
};

// Checks the options, and returns the train command without a leading "deepcart".
std::vector<std::string> checked_command(const LaunchOptions& o, std::vector<std::string> command) {
  if (o.nproc < 1) throw Error("--nproc: expected at least 1, found " + std::to_string(o.nproc));
  if (o.nnodes < 1) throw Error("--nnodes: expected at least 1, found " + std::to_string(o.nnodes));
  if (o.node_rank < 0 || o.node_rank >= o.nnodes) {
    throw Error("--node-rank: expected 0 to " + std::to_string(o.nnodes - 1) + ", found " +
                std::to_string(o.node_rank));
  }
  if (!(o.timeout_seconds > 0)) throw Error("--timeout: expected seconds above 0");
  if (!command.empty() &&
      (command[0] == "deepcart" ||
       (command[0].size() > 9 && command[0].compare(command[0].size() - 9, 9, "/deepcart") == 0))) {
    command.erase(command.begin());
  }
  bool trains = false;
  for (const auto& word : command) trains = trains || word == "train";
  if (command.empty() || !trains) {
    std::string given;
    for (const auto& word : command) given += (given.empty() ? "" : " ") + word;
    throw Error(
        "launch: expected a deepcart train command after --, e.g. `deepcart launch --nproc 2 -- "
        "rec train ...`; found '" +
        given + "'");
  }
  return command;
}

// Everything a worker is told through its environment.
struct WorkerEnv {
  int world = 1, threads = 1;
  std::string master, timeout, program;
};

// Forks the worker of local rank `i`; the child runs `command` and never returns.
pid_t start_worker(const LaunchOptions& o, const WorkerEnv& env, int i,
                   const std::vector<std::string>& command) {
  const pid_t pid = fork();
  if (pid < 0) throw Error("launch: fork failed: " + std::string(std::strerror(errno)));
  if (pid > 0) return pid;
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGTERM);  // a launcher killed outright still stops its workers
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  setenv("DEEPCART_RANK", std::to_string(o.node_rank * o.nproc + i).c_str(), 1);
  setenv("DEEPCART_LOCAL_RANK", std::to_string(i).c_str(), 1);
  setenv("DEEPCART_WORLD_SIZE", std::to_string(env.world).c_str(), 1);
  setenv("DEEPCART_MASTER", env.master.c_str(), 1);
  setenv("DEEPCART_DIST_TIMEOUT", env.timeout.c_str(), 1);
  setenv("DEEPCART_THREADS", std::to_string(env.threads).c_str(), 1);
  std::vector<std::string> args{"deepcart"};
  args.insert(args.end(), command.begin(), command.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  execv(env.program.c_str(), argv.data());
  std::fprintf(stderr, "launch: cannot run %s: %s\n", env.program.c_str(), std::strerror(errno));
  _exit(127);
}

std::chrono::steady_clock::time_point after(double seconds) {
  return std::chrono::steady_clock::now() +
         std::chrono::duration_cast<std::chrono::steady_clock::duration>(
             std::chrono::duration<double>(seconds));
}

// Waits for the workers. A signal to the launcher is passed on once; the first worker to fail
// stops the others; a worker that does not stop in time is killed. Returns the exit status.
int supervise(const LaunchOptions& o, std::vector<Worker>& workers) {
  int result = 0;
  bool forwarded = false, stopping = false;
  auto stop_deadline = std::chrono::steady_clock::time_point::max();
  int running = static_cast<int>(workers.size());
  while (running > 0) {
    if (g_launch_signal != 0 && !forwarded) {
      forwarded = true;
      if (!o.quiet)
        std::fprintf(stderr, "launch: %s: stopping the workers at their next step\n",
                     strsignal(g_launch_signal));
      for (const auto& w : workers) {
        if (!w.done) kill(w.pid, g_launch_signal);
      }
      result = 128 + g_launch_signal;
      // Time to finish the step and write the checkpoint.
      stop_deadline = after(o.timeout_seconds + 30);
    }
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      for (auto& w : workers) {
        if (w.pid != pid) continue;
        w.done = true;
        w.status = status;
        --running;
        const bool failed = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        if (failed && !forwarded && !stopping) {
          if (!o.quiet) {
            std::fprintf(stderr, "launch: rank %d (pid %d) %s; stopping the other workers\n",
                         w.rank, pid, status_text(status).c_str());
          }
          result = exit_code(status);
          stopping = true;
          for (const auto& other : workers) {
            if (!other.done) kill(other.pid, SIGTERM);
          }
          // A peer stuck in a collective fails by then.
          stop_deadline = after(o.timeout_seconds + 10);
        }
      }
      continue;
    }
    if (std::chrono::steady_clock::now() > stop_deadline) {
      for (auto& w : workers) {
        if (w.done) continue;
        if (!o.quiet)
          std::fprintf(stderr, "launch: rank %d (pid %d) did not stop in time; killing it\n",
                       w.rank, w.pid);
        kill(w.pid, SIGKILL);
      }
      stop_deadline = std::chrono::steady_clock::time_point::max();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return result;
}

}  // namespace

int launch(const LaunchOptions& o, std::vector<std::string> command) {
  command = checked_command(o, std::move(command));
  WorkerEnv env;
  env.master = o.master;
  if (env.master.empty()) {
    if (o.nnodes > 1)
      throw Error("--master HOST:PORT is required with --nnodes above 1 (node 0's address)");
    env.master = "127.0.0.1:" + std::to_string(free_loopback_port());
  }
  parse_host_port(env.master, "--master");
  env.world = o.nnodes * o.nproc;
  env.threads = o.threads > 0 ? o.threads : std::max(1, context_cores() / o.nproc);
  env.program = o.program.empty() ? "/proc/self/exe" : o.program;
  char timeout[32];
  std::snprintf(timeout, sizeof timeout, "%g", o.timeout_seconds);
  env.timeout = timeout;

  // Ctrl-C goes to the launcher only (the workers get their own process group), and the
  // launcher passes it on once: a second signal would make a worker stop without a checkpoint.
  struct sigaction action {};
  action.sa_handler = [](int sig) { g_launch_signal = sig; };
  sigemptyset(&action.sa_mask);
  struct sigaction old_int {
  }, old_term{};
  sigaction(SIGINT, &action, &old_int);
  sigaction(SIGTERM, &action, &old_term);

  if (!o.quiet) {
    const int first = o.node_rank * o.nproc, last = first + o.nproc - 1;
    const std::string ranks = o.nproc == 1
                                  ? "rank " + std::to_string(first)
                                  : "ranks " + std::to_string(first) + "-" + std::to_string(last);
    std::fprintf(stderr,
                 "launch: %d worker%s on this host (%s of %d), master %s, %d thread%s each\n",
                 o.nproc, o.nproc == 1 ? "" : "s", ranks.c_str(), env.world, env.master.c_str(),
                 env.threads, env.threads == 1 ? "" : "s");
  }
  std::vector<Worker> workers(o.nproc);
  for (int i = 0; i < o.nproc; ++i) {
    workers[i].rank = o.node_rank * o.nproc + i;
    workers[i].pid = start_worker(o, env, i, command);
  }
  const int result = supervise(o, workers);
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  return result;
}

bool join_if_launched(TrainOptions& options) {
  std::unique_ptr<DistConfig> config = dist_config_from_env();
  if (!config || config->world_size == 1) return true;
  config->device = context_device();
  if (config->device.is_cuda()) require_nccl();  // before joining: the others would wait for it
  if (config->rank != 0) options.quiet = true;
  if (!options.quiet)
    std::fprintf(stderr, "joining the data-parallel run (%s)\n", config->describe().c_str());
  options.parallel = dist_join(*config);
  return config->rank == 0;
}

}  // namespace deepcart::dist
