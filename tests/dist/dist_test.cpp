// Data-parallel training on loopback, with real worker processes: this test program starts
// copies of itself (`--dist-child NAME RANK WORLD PORT OUT`) that join one c10d Gloo group.
// Covers the all-reduce itself, the equivalence of 2 workers x B/2 with 1 worker x B under SGD,
// a distributed resume matching an uninterrupted run, a peer that never comes, a peer that dies
// mid-run, and `deepcart launch` on the rec, vision and text trainers.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "deepcart/core/error.h"
#include "deepcart/core/trainer.h"
#include "deepcart/dist/gloo_group.h"
#include "deepcart/dist/launch.h"

extern char** environ;

namespace deepcart {
namespace {

namespace fs = std::filesystem;

int free_port() { return dist::free_loopback_port(); }

dist::DistConfig config_for(int rank, int world, int port, double timeout_seconds = 20) {
  dist::DistConfig c;
  c.rank = rank;
  c.world_size = world;
  c.master_port = port;
  c.timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_seconds * 1000));
  c.bucket_bytes = 64;  // tiny buckets, so that several are exercised
  return c;
}

// A small regression net with dropout; `fault` makes a rank raise SIGINT or die at a step.
class NetTask : public TrainTask {
 public:
  // with_table adds an embedding table big enough to travel by rows (17,000 x 64 floats).
  explicit NetTask(uint64_t init_seed, double dropout = 0.0, bool with_table = false) {
    torch::manual_seed(7);  // the data: the same on every rank
    x_ = torch::randn({64, 6});
    y_ = torch::sin(x_.matmul(torch::linspace(-1, 1, 6))).unsqueeze(1);
    torch::manual_seed(init_seed);  // the weights: different per rank unless broadcast
    net_ = torch::nn::Sequential(torch::nn::Linear(6, 8), torch::nn::Tanh(),
                                 torch::nn::Dropout(dropout), torch::nn::Linear(8, 1));
    holder_->register_module("net", net_);
    if (with_table) {
      table_ = holder_->register_module("table", torch::nn::Embedding(17000, 64));
      tokens_ = (torch::arange(64 * 3, torch::kLong) * 7919).remainder(17000).view({64, 3});
    }
  }
  at::Tensor predict(const at::Tensor& idx) {
    at::Tensor out = net_->forward(x_.index_select(0, idx));
    if (table_)
      out = out + table_->forward(tokens_.index_select(0, idx)).sum({1, 2}).unsqueeze(1) * 0.1;
    return out;
  }
  torch::nn::Module& module() override { return *holder_; }
  int64_t train_size() const override { return 64; }
  at::Tensor loss(const at::Tensor& idx, std::mt19937_64&) override {
    ++steps;
    if (steps == interrupt_at) std::raise(SIGINT);
    if (steps == die_at) _exit(9);
    return torch::mse_loss(predict(idx), y_.index_select(0, idx));
  }
  std::map<std::string, double> validate() override {
    return {{"mse", torch::mse_loss(predict(torch::arange(64, torch::kLong)), y_).item<double>()}};
  }
  at::Tensor flat() {
    std::vector<at::Tensor> parts;
    for (const auto& p : holder_->parameters()) parts.push_back(p.detach().flatten());
    return torch::cat(parts);
  }
  std::shared_ptr<torch::nn::Module> holder_ = std::make_shared<torch::nn::Module>();
  torch::nn::Sequential net_{nullptr};
  torch::nn::Embedding table_{nullptr};
  at::Tensor tokens_;
  at::Tensor x_, y_;
  int steps = 0, interrupt_at = -1, die_at = -1;
};

ModelFile base_file() {
  ModelFile f;
  f.task = "test";
  f.arch = "net";
  f.hparams = {{"hidden", 8}};
  return f;
}

void write_tensor(const std::string& path, const at::Tensor& t) {
  std::ofstream out(path);
  out.precision(10);
  for (int64_t i = 0; i < t.numel(); ++i) out << t[i].item<double>() << "\n";
}

at::Tensor read_tensor(const std::string& path) {
  std::ifstream in(path);
  std::vector<double> values;
  for (double v; in >> v;) values.push_back(v);
  return torch::tensor(values, torch::kDouble);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// --- the children -------------------------------------------------------------------------

TrainOptions sgd_options(int epochs, int64_t batch) {
  TrainOptions o;
  o.epochs = epochs;
  o.batch_size = batch;
  o.optimizer = "sgd";
  o.lr = 0.1;
  o.momentum = 0.9;
  o.quiet = true;
  o.seed = 3;
  return o;
}

int child_allreduce(int rank, int world, int port, const std::string& out) {
  auto group = dist::dist_join(config_for(rank, world, port));
  // a: every rank has a gradient (rank + 1): the mean is (world + 1) / 2.
  // b: only rank 0 has one (6): the missing ones count as zeros.
  at::Tensor a = torch::zeros({3, 5}, torch::requires_grad());
  at::Tensor b = torch::zeros({7}, torch::requires_grad());
  a.mutable_grad() = torch::full({3, 5}, static_cast<float>(rank + 1));
  if (rank == 0) b.mutable_grad() = torch::full({7}, 6.0f);
  // c: a table large enough to travel by rows; rank r touches row 10 r (with r + 1) and row 500.
  at::Tensor c = torch::zeros({1100, 1000}, torch::requires_grad());
  c.mutable_grad() = torch::zeros({1100, 1000});
  c.mutable_grad()[10 * rank].fill_(static_cast<float>(rank + 1));
  c.mutable_grad()[500].fill_(3.0f);
  std::vector<double> scalars{static_cast<double>(rank + 1), 0.5};
  group->average_gradients({a, b, c}, scalars);
  at::Tensor shared = torch::arange(4, torch::kFloat) * static_cast<float>(rank + 1);
  group->broadcast({shared});
  std::vector<double> sums{static_cast<double>(rank)};
  group->sum(sums);
  std::ofstream f(out);
  f << a.grad().mean().item<double>() << " " << a.grad().min().item<double>() << " "
    << a.grad().max().item<double>() << " " << b.grad().mean().item<double>() << " " << scalars[0]
    << " " << scalars[1] << " " << shared[3].item<double>() << " " << sums[0] << " "
    << group->bytes_reduced() << " " << c.grad()[0][0].item<double>() << " "
    << c.grad()[10][999].item<double>() << " " << c.grad()[20][5].item<double>() << " "
    << c.grad()[500][7].item<double>() << " " << c.grad().sum().item<double>() << "\n";
  return 0;
}

// K steps of SGD with batch 8 per worker, from rank-specific initial weights; the embedding
// table's gradient travels by rows.
int child_equivalence(int rank, int world, int port, const std::string& out) {
  NetTask task(100 + rank, 0.0, true);
  TrainOptions o = sgd_options(2, 16 / world);
  o.parallel = dist::dist_join(config_for(rank, world, port));
  Trainer(o).fit(task, base_file());
  if (rank == 0) write_tensor(out, task.flat());
  return 0;
}

// Adam and dropout over 3 epochs; `mode` interrupt: rank 0 gets SIGINT at step 6; resume: go on
// from the checkpoint; full: no interruption.
int child_resume(int rank, int world, int port, const std::string& out, const std::string& mode) {
  NetTask task(100 + rank, 0.2);
  TrainOptions o = sgd_options(3, 8);
  o.optimizer = "adam";
  o.lr = 0.01;
  o.checkpoint_path = out + ".ckpt";
  if (mode == "interrupt" && rank == 0) task.interrupt_at = 6;
  if (mode == "resume") o.resume = out + ".ckpt";
  o.parallel = dist::dist_join(config_for(rank, world, port));
  try {
    Trainer(o).fit(task, base_file());
  } catch (const Interrupted& e) {
    if (rank == 0) std::ofstream(out + ".interrupted") << e.what();
    return 130;
  }
  if (rank == 0) write_tensor(out, task.flat());
  return 0;
}

// Rank 1 dies at its third step; rank 0 must report it and exit.
int child_dies(int rank, int world, int port, const std::string& out) {
  NetTask task(100);
  if (rank == 1) task.die_at = 3;
  TrainOptions o = sgd_options(2, 8);
  o.parallel = dist::dist_join(config_for(rank, world, port, 5));
  try {
    Trainer(o).fit(task, base_file());
  } catch (const Error& e) {
    std::ofstream(out + ".rank" + std::to_string(rank)) << e.what();
    return 2;
  }
  return 0;
}

// --- the parent -----------------------------------------------------------------------------

std::string g_self;

// Starts `world` copies of this program running child `name`; returns their exit statuses.
std::vector<int> run_children(const std::string& name, int world, const std::string& out,
                              const std::string& extra = "") {
  const int port = free_port();
  std::vector<pid_t> pids;
  for (int r = 0; r < world; ++r) {
    std::vector<std::string> args{g_self,
                                  "--dist-child",
                                  name,
                                  std::to_string(r),
                                  std::to_string(world),
                                  std::to_string(port),
                                  out,
                                  extra};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    EXPECT_EQ(posix_spawn(&pid, g_self.c_str(), nullptr, nullptr, argv.data(), environ), 0);
    pids.push_back(pid);
  }
  std::vector<int> codes;
  for (pid_t pid : pids) {
    int status = 0;
    waitpid(pid, &status, 0);
    codes.push_back(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  }
  return codes;
}

class DistTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("dist_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(DistTest, AllReduceAveragesGradientsAndSumsScalarsOverThreeProcesses) {
  const std::string out = dir_ / "r";
  EXPECT_EQ(run_children("allreduce", 3, out), (std::vector<int>{0, 0, 0}));
  std::istringstream line(slurp(out));  // rank 0's view
  double a_mean, a_min, a_max, b_mean, s0, s1, shared3, sum;
  int64_t bytes;
  double c0, c10, c20, c500, c_total;
  line >> a_mean >> a_min >> a_max >> b_mean >> s0 >> s1 >> shared3 >> sum >> bytes >> c0 >> c10 >>
      c20 >> c500 >> c_total;
  EXPECT_DOUBLE_EQ(a_mean, 2.0);  // (1 + 2 + 3) / 3
  EXPECT_DOUBLE_EQ(a_min, 2.0);
  EXPECT_DOUBLE_EQ(a_max, 2.0);
  EXPECT_DOUBLE_EQ(b_mean, 2.0);  // (6 + 0 + 0) / 3
  EXPECT_DOUBLE_EQ(s0, 6.0);
  EXPECT_DOUBLE_EQ(s1, 1.5);
  EXPECT_DOUBLE_EQ(shared3, 3.0);  // rank 0's arange(4) * 1
  EXPECT_DOUBLE_EQ(sum, 3.0);      // 0 + 1 + 2
  EXPECT_NEAR(c0, 1.0 / 3, 1e-6);  // the table's rows: each rank's own, averaged
  EXPECT_NEAR(c10, 2.0 / 3, 1e-6);
  EXPECT_NEAR(c20, 1.0, 1e-6);
  EXPECT_NEAR(c500, 3.0, 1e-6);
  EXPECT_NEAR(c_total, 1000.0 * (1.0 / 3 + 2.0 / 3 + 1.0 + 3.0), 1e-2);  // and nothing else
  // Two float buckets and the scalars; then the table: 3 counts, and from each of 3 ranks 2 row
  // ids and 2 rows of 1,000 floats (not the 1.1 M floats of the whole table).
  EXPECT_EQ(bytes, (15 + 7) * 4 + 2 * 8 + 3 * 8 + 3 * (2 * 8 + 2 * 1000 * 4));
}

TEST_F(DistTest, TwoWorkersWithHalfBatchesMatchOneWorkerWithTheWholeBatch) {
  const std::string out = dir_ / "w";
  ASSERT_EQ(run_children("equivalence", 2, out), (std::vector<int>{0, 0}));
  at::Tensor two = read_tensor(out);
  NetTask single(100, 0.0,
                 true);  // rank 0's initial weights, which the broadcast gave both workers
  const at::Tensor start = single.flat().to(torch::kDouble);
  Trainer(sgd_options(2, 16)).fit(single, base_file());  // 2 epochs of 64 / 16 = 8 steps
  const at::Tensor one = single.flat().to(torch::kDouble);
  ASSERT_EQ(two.numel(), one.numel());
  EXPECT_GT((one - start).abs().max().item<double>(), 1e-2) << "training moved the weights";
  EXPECT_LT((two - one).abs().max().item<double>(), 1e-5);
}

TEST_F(DistTest, ResumedDistributedRunEndsWhereAnUninterruptedOneDoes) {
  const std::string full = dir_ / "full", cut = dir_ / "cut";
  ASSERT_EQ(run_children("resume", 2, full, "full"), (std::vector<int>{0, 0}));
  EXPECT_EQ(run_children("resume", 2, cut, "interrupt"), (std::vector<int>{130, 130}));
  const std::string message = slurp(cut + ".interrupted");
  EXPECT_NE(message.find("interrupted by Interrupt at epoch 2 step 2; checkpoint written to " +
                         cut + ".ckpt"),
            std::string::npos)
      << message;
  ASSERT_TRUE(fs::exists(cut + ".ckpt"));
  ASSERT_EQ(run_children("resume", 2, cut, "resume"), (std::vector<int>{0, 0}));
  const at::Tensor a = read_tensor(full), b = read_tensor(cut);
  ASSERT_EQ(a.numel(), b.numel());
  EXPECT_LT((a - b).abs().max().item<double>(), 1e-7);
}

TEST_F(DistTest, MissingPeerIsAClearErrorWithinTheTimeout) {
  const int port = free_port();
  const auto t0 = std::chrono::steady_clock::now();
  try {
    dist::dist_join(config_for(0, 3, port, 2));
    FAIL() << "joined without peers";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "rank 0 of 3: timed out after 2 s waiting for the other workers: ranks 1, 2 never "
              "joined (1 of 3 "
              "arrived at 127.0.0.1:" +
                  std::to_string(port) + ")");
  }
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GE(waited, 2.0);
  EXPECT_LT(waited, 6.0);
  // A worker whose master never comes.
  try {
    dist::dist_join(config_for(1, 2, free_port(), 1.5));
    FAIL() << "joined without a master";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("rank 1 of 2: cannot reach the master 127.0.0.1:", 0), 0u)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("within 1.5 s"), std::string::npos) << e.what();
  }
}

TEST_F(DistTest, PeerDyingMidRunIsAClearErrorNotAHang) {
  const std::string out = dir_ / "d";
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(run_children("dies", 2, out), (std::vector<int>{2, 9}));
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 20.0);
  const std::string message = slurp(out + ".rank0");
  EXPECT_EQ(message.rfind("rank 0 of 2: all-reduce of the gradients failed: ", 0), 0u) << message;
  EXPECT_NE(message.find("A worker died, or stalled for longer than the timeout (5 s)"),
            std::string::npos)
      << message;
}

}  // namespace
}  // namespace deepcart

int main(int argc, char** argv) {
  deepcart::g_self = std::filesystem::canonical("/proc/self/exe").string();
  if (argc >= 7 && std::string(argv[1]) == "--dist-child") {
    const std::string name = argv[2];
    const int rank = std::atoi(argv[3]), world = std::atoi(argv[4]), port = std::atoi(argv[5]);
    const std::string out = argv[6], extra = argc > 7 ? argv[7] : "";
    at::set_num_threads(1);
    try {
      if (name == "allreduce") return deepcart::child_allreduce(rank, world, port, out);
      if (name == "equivalence") return deepcart::child_equivalence(rank, world, port, out);
      if (name == "resume") return deepcart::child_resume(rank, world, port, out, extra);
      if (name == "dies") return deepcart::child_dies(rank, world, port, out);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child %s rank %d: %s\n", name.c_str(), rank, e.what());
      return 3;
    }
    return 4;
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
