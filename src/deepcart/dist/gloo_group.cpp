#include "deepcart/dist/gloo_group.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <torch/torch.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <algorithm>
#include <cstdlib>
#include <thread>

#include "deepcart/core/error.h"
#include "deepcart/dist/nccl_backend.h"

namespace deepcart::dist {
namespace {

std::string seconds_text(std::chrono::milliseconds t) {
  const double s = static_cast<double>(t.count()) / 1000.0;
  char buf[32];
  std::snprintf(buf, sizeof buf, s == static_cast<int64_t>(s) ? "%.0f s" : "%.1f s", s);
  return buf;
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

// The local address this machine uses to reach `host` (a UDP "connect" sends nothing), so the
// Gloo device binds to the interface the peers can reach.
std::string local_address_towards(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0 ||
      found == nullptr) {
    throw Error("cannot resolve the master host '" + host + "'");
  }
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  std::string out;
  if (fd >= 0 && connect(fd, found->ai_addr, found->ai_addrlen) == 0) {
    sockaddr_in local{};
    socklen_t len = sizeof local;
    char text[INET_ADDRSTRLEN] = {};
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0 &&
        inet_ntop(AF_INET, &local.sin_addr, text, sizeof text) != nullptr) {
      out = text;
    }
  }
  if (fd >= 0) close(fd);
  freeaddrinfo(found);
  if (out.empty()) throw Error("no local address reaches the master host '" + host + "'");
  return out;
}

std::string this_host() {
  char name[256] = {};
  gethostname(name, sizeof name - 1);
  return name;
}

class GlooGroup : public DataParallel {
 public:
  explicit GlooGroup(const DistConfig& config) : config_(config) {
    const std::string who =
        "rank " + std::to_string(config.rank) + " of " + std::to_string(config.world_size);
    const std::string master = config.master_host + ":" + std::to_string(config.master_port);
    c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<uint16_t>(config.master_port);
    store_options.isServer = config.rank == 0;
    store_options.waitWorkers = false;  // joining is checked below, with a clear message
    store_options.timeout = config.timeout;
    try {
      store_ = c10::make_intrusive<c10d::TCPStore>(config.master_host, store_options);
    } catch (const std::exception& e) {
      if (config.rank == 0) {
        throw Error(who + ": cannot start the rendezvous store on " + master +
                    " (port in use? choose another "
                    "--master HOST:PORT): " +
                    first_line(e.what()));
      }
      throw Error(who + ": cannot reach the master " + master + " within " +
                  seconds_text(config.timeout) +
                  " (is rank 0 running, and the port open?): " + first_line(e.what()));
    }
    join(who, master);
    if (config.device.is_cuda()) {
      try {
        group_ = make_nccl_backend(c10::make_intrusive<c10d::PrefixStore>("nccl", store_),
                                   config.rank, config.world_size, config.timeout, config.device);
      } catch (const Error&) {
        throw;
      } catch (const std::exception& e) {
        throw Error(who + ": cannot start the NCCL group on " + config.device.str() + ": " +
                    first_line(e.what()));
      }
      return;
    }
    try {
      std::shared_ptr<gloo::transport::Device> device;
      if (!config.gloo_interface.empty()) {
        device = c10d::ProcessGroupGloo::createDeviceForInterface(config.gloo_interface);
      } else {
        std::string host = config.gloo_host;
        if (host.empty()) {
          host = is_loopback(config.master_host)
                     ? "127.0.0.1"
                     : local_address_towards(config.master_host, config.master_port);
        }
        device = c10d::ProcessGroupGloo::createDeviceForHostname(host);
      }
      auto options = c10d::ProcessGroupGloo::Options::create(config.timeout);
      options->devices.push_back(device);
      options->threads = 2;
      auto prefixed = c10::make_intrusive<c10d::PrefixStore>("gloo", store_);
      group_ = c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, config.rank, config.world_size,
                                                           options);
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Error(who + ": cannot connect the Gloo mesh within " + seconds_text(config.timeout) +
                  ": " + first_line(e.what()));
    }
  }

  int rank() const override { return config_.rank; }
  int world_size() const override { return config_.world_size; }

  void broadcast(const std::vector<at::Tensor>& tensors) override {
    torch::NoGradGuard no_grad;
    for (const auto& group : by_dtype(tensors)) {
      std::vector<at::Tensor> flat{flatten(group)};
      run("broadcast", [&] { return group_->broadcast(flat); });
      unflatten(flat[0], group);
    }
  }

  void average_gradients(const std::vector<at::Tensor>& parameters,
                         std::vector<double>& scalars) override {
    torch::NoGradGuard no_grad;
    if (planned_for_ != parameters.size()) plan(parameters);
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    for (auto& bucket : buckets_) {
      int64_t offset = 0;
      for (size_t i : bucket.members) {
        const at::Tensor& p = parameters[i];
        at::Tensor slice = bucket.flat.narrow(0, offset, p.numel());
        if (p.grad().defined()) {
          slice.copy_(p.grad().reshape(-1));
        } else {
          slice.zero_();
        }
        offset += p.numel();
      }
    }
    at::Tensor sums = torch::tensor(scalars, torch::kDouble).to(config_.device);
    const auto t0 = std::chrono::steady_clock::now();
    try {
      for (auto& bucket : buckets_) {
        std::vector<at::Tensor> one{bucket.flat};
        works.push_back(group_->allreduce(one));
      }
      std::vector<at::Tensor> one{sums};
      works.push_back(group_->allreduce(one));
      if (!sparse_.empty()) exchange_rows(parameters);  // while the buckets travel
      for (auto& w : works) w->wait();
    } catch (const std::exception& e) {
      throw collective_error("all-reduce of the gradients", e);
    }
    seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (auto& bucket : buckets_) {
      bucket.flat.div_(static_cast<double>(config_.world_size));
      bytes_ += bucket.flat.numel() * bucket.flat.element_size();
      int64_t offset = 0;
      for (size_t i : bucket.members) {
        at::Tensor p = parameters[i];
        at::Tensor slice = bucket.flat.narrow(0, offset, p.numel()).view(p.sizes());
        if (p.grad().defined()) {
          p.mutable_grad().copy_(slice);
        } else {
          p.mutable_grad() = slice.clone();
        }
        offset += p.numel();
      }
    }
    bytes_ += sums.numel() * sums.element_size();
    sums = sums.cpu();
    std::copy_n(sums.data_ptr<double>(), scalars.size(), scalars.begin());
  }

  void sum(std::vector<double>& values) override {
    std::vector<at::Tensor> one{torch::tensor(values, torch::kDouble).to(config_.device)};
    run("sum", [&] { return group_->allreduce(one); });
    at::Tensor total = one[0].cpu();
    std::copy_n(total.data_ptr<double>(), values.size(), values.begin());
  }

  double communication_seconds() const override { return seconds_; }
  int64_t bytes_reduced() const override { return bytes_; }

 private:
  struct Bucket {
    std::vector<size_t> members;  // indices into the parameter list
    at::Tensor flat;
  };

  static std::string first_line(const std::string& text) {
    const auto end = text.find('\n');
    return end == std::string::npos ? text : text.substr(0, end);
  }

  // Joining: every rank adds itself to a counter and leaves its name, then waits until all
  // have. On timeout the names that are missing say which ranks never came.
  void join(const std::string& who, const std::string& master) {
    const auto deadline = std::chrono::steady_clock::now() + config_.timeout;
    try {
      const std::string me = this_host() + " pid " + std::to_string(getpid());
      store_->set("deepcart/rank/" + std::to_string(config_.rank),
                  std::vector<uint8_t>(me.begin(), me.end()));
      int64_t joined = store_->add("deepcart/joined", 1);
      while (joined < config_.world_size) {
        if (std::chrono::steady_clock::now() > deadline) {
          std::string missing;
          int count = 0;
          for (int r = 0; r < config_.world_size; ++r) {
            if (!store_->check({"deepcart/rank/" + std::to_string(r)})) {
              missing += (missing.empty() ? "" : ", ") + std::to_string(r);
              ++count;
            }
          }
          throw Error(who + ": timed out after " + seconds_text(config_.timeout) +
                      " waiting for the other workers: rank" + (count == 1 ? " " : "s ") + missing +
                      " never joined (" + std::to_string(config_.world_size - count) + " of " +
                      std::to_string(config_.world_size) + " arrived at " + master + ")");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        joined = store_->add("deepcart/joined", 0);
      }
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Error(who + ": lost the master " + master +
                  " while waiting for the other workers: " + first_line(e.what()));
    }
  }

  // The large matrices: each rank sends the rows its gradient touched (ids and values, padded
  // to the largest count), and every rank adds up all of them. Same sums as a dense all-reduce.
  void exchange_rows(const std::vector<at::Tensor>& parameters) {
    const int world = config_.world_size;
    const auto on = torch::TensorOptions(torch::kLong).device(config_.device);
    std::vector<at::Tensor> ids(sparse_.size()), rows(sparse_.size());
    std::vector<int64_t> my_counts;
    for (size_t k = 0; k < sparse_.size(); ++k) {
      const at::Tensor& p = parameters[sparse_[k]];
      if (p.grad().defined()) {
        ids[k] = (p.grad() != 0).any(1).nonzero().squeeze(1);
      } else {
        ids[k] = torch::empty({0}, on);
      }
      my_counts.push_back(ids[k].numel());
    }
    at::Tensor counts = torch::tensor(my_counts, torch::kLong).to(config_.device);
    std::vector<std::vector<at::Tensor>> gathered(1);
    for (int r = 0; r < world; ++r) gathered[0].push_back(torch::empty_like(counts));
    std::vector<at::Tensor> input{counts};
    group_->allgather(gathered, input)->wait();
    bytes_ += counts.numel() * 8 * world;
    const at::Tensor all_counts = torch::stack(gathered[0]).cpu();  // (world, matrices)
    for (size_t k = 0; k < sparse_.size(); ++k) {
      at::Tensor p = parameters[sparse_[k]];
      const int64_t most = all_counts.select(1, static_cast<int64_t>(k)).max().item<int64_t>();
      if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
      at::Tensor total = p.grad();  // reused in place: only touched rows are written
      if (most > 0) {
        const int64_t mine = ids[k].numel();
        at::Tensor padded_ids = torch::full({most}, -1, on);
        padded_ids.narrow(0, 0, mine).copy_(ids[k]);
        at::Tensor padded_rows = torch::zeros({most, p.size(1)}, p.options());
        if (mine > 0) padded_rows.narrow(0, 0, mine).copy_(p.grad().index_select(0, ids[k]));
        std::vector<std::vector<at::Tensor>> all_ids(1), all_rows(1);
        for (int r = 0; r < world; ++r) {
          all_ids[0].push_back(torch::empty_like(padded_ids));
          all_rows[0].push_back(torch::empty_like(padded_rows));
        }
        std::vector<at::Tensor> id_input{padded_ids}, row_input{padded_rows};
        auto id_work = group_->allgather(all_ids, id_input);
        auto row_work = group_->allgather(all_rows, row_input);
        id_work->wait();
        row_work->wait();
        bytes_ +=
            world * (padded_ids.numel() * 8 + padded_rows.numel() * padded_rows.element_size());
        at::Tensor every_id = torch::cat(all_ids[0]), every_row = torch::cat(all_rows[0]);
        at::Tensor real = (every_id >= 0).nonzero().squeeze(1);
        total.index_fill_(0, ids[k],
                          0.0);  // now all zeros: this rank's rows come back in every_row
        total.index_add_(0, every_id.index_select(0, real),
                         every_row.index_select(0, real).div_(static_cast<double>(world)));
      }
    }
  }

  void plan(const std::vector<at::Tensor>& parameters) {
    buckets_.clear();
    sparse_.clear();
    Bucket current;
    int64_t bytes = 0;
    auto close = [&] {
      if (current.members.empty()) return;
      int64_t numel = 0;
      for (size_t i : current.members) numel += parameters[i].numel();
      current.flat = torch::empty({numel}, parameters[current.members[0]].options());
      buckets_.push_back(std::move(current));
      current = Bucket();
      bytes = 0;
    };
    // Backwards, as DDP does: the last layers' gradients are ready first.
    for (size_t k = parameters.size(); k-- > 0;) {
      const at::Tensor& p = parameters[k];
      if (p.dim() == 2 && p.numel() >= config_.sparse_min_elements) {
        sparse_.push_back(k);
        continue;
      }
      if (!current.members.empty() &&
          (p.scalar_type() != parameters[current.members[0]].scalar_type() ||
           bytes + static_cast<int64_t>(p.numel() * p.element_size()) >
               static_cast<int64_t>(config_.bucket_bytes))) {
        close();
      }
      current.members.push_back(k);
      bytes += p.numel() * p.element_size();
    }
    close();
    planned_for_ = parameters.size();
  }

  static std::vector<std::vector<at::Tensor>> by_dtype(const std::vector<at::Tensor>& tensors) {
    std::vector<std::vector<at::Tensor>> groups;
    for (const auto& t : tensors) {
      auto it = std::find_if(groups.begin(), groups.end(), [&](const std::vector<at::Tensor>& g) {
        return g[0].scalar_type() == t.scalar_type();
      });
      if (it == groups.end()) {
        groups.push_back({t});
      } else {
        it->push_back(t);
      }
    }
    return groups;
  }
  static at::Tensor flatten(const std::vector<at::Tensor>& group) {
    std::vector<at::Tensor> views;
    for (const auto& t : group) views.push_back(t.reshape(-1));
    return torch::cat(views);
  }
  static void unflatten(const at::Tensor& flat, const std::vector<at::Tensor>& group) {
    int64_t offset = 0;
    for (const auto& t : group) {
      at::Tensor target = t;
      target.copy_(flat.narrow(0, offset, t.numel()).view(t.sizes()));
      offset += t.numel();
    }
  }

  template <class Start>
  void run(const std::string& what, Start start) {
    const auto t0 = std::chrono::steady_clock::now();
    try {
      start()->wait();
    } catch (const std::exception& e) {
      throw collective_error(what, e);
    }
    seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  Error collective_error(const std::string& what, const std::exception& e) const {
    return Error("rank " + std::to_string(config_.rank) + " of " +
                 std::to_string(config_.world_size) + ": " + what +
                 " failed: " + first_line(e.what()) +
                 ". A worker died, or stalled for longer than the timeout (" +
                 seconds_text(config_.timeout) + ")");
  }

  DistConfig config_;
  c10::intrusive_ptr<c10d::TCPStore> store_;
  c10::intrusive_ptr<c10d::Backend> group_;  // Gloo, or NCCL for GPU workers
  std::vector<Bucket> buckets_;
  std::vector<size_t> sparse_;  // parameters exchanged by rows (see exchange_rows)
  size_t planned_for_ = 0;
  double seconds_ = 0.0;
  int64_t bytes_ = 0;
};

int env_int(const char* name, const char* value) {
  try {
    size_t used = 0;
    const int v = std::stoi(value, &used);
    if (used == std::string(value).size()) return v;
  } catch (const std::exception&) {
  }
  throw Error(std::string(name) + ": expected an integer, found '" + value + "'");
}

}  // namespace

std::string DistConfig::describe() const {
  return "rank " + std::to_string(rank) + " of " + std::to_string(world_size) + ", master " +
         master_host + ":" + std::to_string(master_port);
}

std::pair<std::string, int> parse_host_port(const std::string& text, const std::string& what) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    throw Error(what + ": expected HOST:PORT, found '" + text + "'");
  }
  int port = 0;
  try {
    size_t used = 0;
    port = std::stoi(text.substr(colon + 1), &used);
    if (used != text.size() - colon - 1) port = -1;
  } catch (const std::exception&) {
    port = -1;
  }
  if (port < 1 || port > 65535)
    throw Error(what + ": expected a port from 1 to 65535 in '" + text + "'");
  return {text.substr(0, colon), port};
}

std::unique_ptr<DistConfig> dist_config_from_env() {
  const char* world = std::getenv("DEEPCART_WORLD_SIZE");
  if (world == nullptr) return nullptr;
  auto config = std::make_unique<DistConfig>();
  config->world_size = env_int("DEEPCART_WORLD_SIZE", world);
  if (config->world_size < 1)
    throw Error("DEEPCART_WORLD_SIZE: expected at least 1, found " + std::string(world));
  const char* rank = std::getenv("DEEPCART_RANK");
  if (rank == nullptr) throw Error("DEEPCART_WORLD_SIZE is set but DEEPCART_RANK is not");
  config->rank = env_int("DEEPCART_RANK", rank);
  if (config->rank < 0 || config->rank >= config->world_size) {
    throw Error("DEEPCART_RANK: expected 0 to " + std::to_string(config->world_size - 1) +
                ", found " + rank);
  }
  if (const char* master = std::getenv("DEEPCART_MASTER")) {
    std::tie(config->master_host, config->master_port) = parse_host_port(master, "DEEPCART_MASTER");
  }
  if (const char* timeout = std::getenv("DEEPCART_DIST_TIMEOUT")) {
    char* end = nullptr;
    const double seconds = std::strtod(timeout, &end);
    if (end == timeout || *end != '\0' || !(seconds > 0)) {
      throw Error("DEEPCART_DIST_TIMEOUT: expected seconds above 0, found '" +
                  std::string(timeout) + "'");
    }
    config->timeout = std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  }
  if (const char* host = std::getenv("DEEPCART_GLOO_HOST")) config->gloo_host = host;
  if (const char* iface = std::getenv("DEEPCART_GLOO_IFACE")) config->gloo_interface = iface;
  if (const char* mb = std::getenv("DEEPCART_BUCKET_MB")) {
    config->bucket_bytes = static_cast<size_t>(std::max(1, env_int("DEEPCART_BUCKET_MB", mb)))
                           << 20;
  }
  return config;
}

std::shared_ptr<DataParallel> dist_join(const DistConfig& config) {
  return std::make_shared<GlooGroup>(config);
}

}  // namespace deepcart::dist
