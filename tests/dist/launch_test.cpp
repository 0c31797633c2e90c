// `deepcart launch` end to end: two workers train each family's model through the real
// program, only rank 0 writes, and bad launches fail with a clear message.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <thread>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "run_cli.h"
#include "shared_data.h"

extern char** environ;

namespace deepcart {
namespace {

namespace fs = std::filesystem;

using test_cli::Result;
using test_cli::run;

// The JSON object the train command printed (the launcher's own lines come first).
nlohmann::json metrics_of(const Result& r) {
  const auto start = r.out.find("\n{");
  return nlohmann::json::parse(r.out.substr(start == std::string::npos ? 0 : start)).at("metrics");
}

class LaunchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/launch_" + std::to_string(getpid()) + "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

void expect_two_workers(const nlohmann::json& m, int64_t min_bytes) {
  EXPECT_EQ(m.at("workers").get<int>(), 2);
  EXPECT_GT(m.at("allreduce_bytes_per_step").get<int64_t>(), min_bytes);
  EXPECT_GT(m.at("allreduce_seconds").get<double>(), 0.0);
  EXPECT_EQ(m.at("threads").get<int>(), 1) << "2 cores shared by 2 workers";
}

TEST_F(LaunchTest, TwoWorkersTrainARecommender) {
  const std::string data = test_data::shared_data_dir() + "/rec/ml-100k/u.data";
  REQUIRE_SHARED_DATA(data);
  Result r = run("launch --nproc 2 -- rec train --model neumf --data " + data +
                 " --epochs 2 --out " + dir_ + "/r.dcm --json --quiet");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("launch: 2 workers on this host (ranks 0-1 of 2), master 127.0.0.1:"),
            std::string::npos)
      << r.out;
  nlohmann::json m = metrics_of(r);
  expect_two_workers(m, 500000);  // NeuMF on ML-100k: about 170,000 parameters
  EXPECT_GT(m.at("validation").at("ndcg@10").get<double>(), 0.02);
  EXPECT_TRUE(fs::exists(dir_ + "/r.dcm"));
  EXPECT_TRUE(fs::exists(dir_ + "/r.dcm.ckpt"));
}

TEST_F(LaunchTest, TwoWorkersTrainAnImageClassifier) {
  REQUIRE_SHARED_DATA("/usr/share/datasets/fashion-mnist");  // Debian's dataset-fashion-mnist
  Result r = run("launch --nproc 2 -- vision train --epochs 1 --width 8 --valid 2000 --out " +
                 dir_ + "/v.dcm --json --quiet");
  ASSERT_EQ(r.code, 0) << r.out;
  nlohmann::json m = metrics_of(r);
  expect_two_workers(m, 100000);
  EXPECT_GT(m.at("validation").at("accuracy").get<double>(), 0.75);
  EXPECT_GT(m.at("test").at("accuracy").get<double>(), 0.75);
}

TEST_F(LaunchTest, TwoWorkersTrainAnIntentModelAndStopTogether) {
  const std::string data = std::string(DEEPCART_SOURCE_DIR) +
                           "/share/data/bitext-customer-service/bitext_customer_service_8k.csv.gz";
  Result r =
      run("launch --nproc 2 -- text train --data " + data +
          " --text-col utterance --label-col intent --task intent --model bow --epochs 3 --out " +
          dir_ + "/t.dcm --metrics-log " + dir_ + "/t.jsonl --json --quiet");
  ASSERT_EQ(r.code, 0) << r.out;
  nlohmann::json m = metrics_of(r);
  expect_two_workers(m, 100000);  // the n-gram table travels by rows: about 330 KB per step
  EXPECT_GT(m.at("test").at("accuracy").get<double>(), 0.85);
  int lines = 0;
  std::ifstream log(dir_ + "/t.jsonl");
  for (std::string line; std::getline(log, line);) ++lines;
  EXPECT_EQ(lines, 3) << "one line per epoch, written by rank 0 only";
}

int count_lines(const std::string& path) {
  std::ifstream in(path);
  int lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  return lines;
}

TEST_F(LaunchTest, CtrlCStopsEveryWorkerWithACheckpointAndResumeFinishes) {
  const std::string data = test_data::shared_data_dir() + "/rec/ml-100k/u.data";
  REQUIRE_SHARED_DATA(data);
  const std::string train = "rec train --model neumf --data " + data +
                            " --epochs 20 --patience 0 --out " + dir_ + "/m.dcm --metrics-log " +
                            dir_ + "/m.jsonl --quiet";
  // The launcher in its own process, output to a file; SIGINT once epoch 1 is logged.
  std::vector<std::string> args{DEEPCART_BINARY, "launch", "--nproc", "2", "--"};
  {
    std::istringstream words(train);
    for (std::string w; words >> w;) args.push_back(w);
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  const std::string out_path = dir_ + "/out.txt";
  posix_spawn_file_actions_addopen(&files, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&files, 1, 2);
  pid_t launcher = 0;
  ASSERT_EQ(posix_spawn(&launcher, DEEPCART_BINARY, &files, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&files);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (count_lines(dir_ + "/m.jsonl") < 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_GE(count_lines(dir_ + "/m.jsonl"), 1) << "epoch 1 never finished";
  kill(launcher, SIGINT);
  int status = 0;
  waitpid(launcher, &status, 0);
  const std::string out = [&] {
    std::ifstream in(dir_ + "/out.txt");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }();
  EXPECT_EQ(WEXITSTATUS(status), 130) << out;
  EXPECT_NE(out.find("launch: Interrupt: stopping the workers at their next step"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("checkpoint written to " + dir_ + "/m.dcm.ckpt (continue with --resume"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("checkpoint written by rank 0 to " + dir_ + "/m.dcm.ckpt"), std::string::npos)
      << out;
  ASSERT_TRUE(fs::exists(dir_ + "/m.dcm.ckpt"));
  EXPECT_FALSE(fs::exists(dir_ + "/m.dcm")) << "no final model from an interrupted run";
  const int logged = count_lines(dir_ + "/m.jsonl");
  EXPECT_LT(logged, 20);
  Result resumed = run("launch --nproc 2 -- " + train + " --resume " + dir_ + "/m.dcm.ckpt --json");
  ASSERT_EQ(resumed.code, 0) << resumed.out;
  EXPECT_EQ(metrics_of(resumed).at("epochs_run").get<int>(), 20);
  EXPECT_EQ(count_lines(dir_ + "/m.jsonl"), 20) << "the resumed run appends the remaining epochs";
  EXPECT_TRUE(fs::exists(dir_ + "/m.dcm"));
}

TEST_F(LaunchTest, BadLaunchesSayWhy) {
  Result not_train = run("launch --nproc 2 -- rec recommend --model m.dcm --user 1");
  EXPECT_EQ(not_train.code, 2);
  EXPECT_NE(
      not_train.out.find("deepcart: error: launch: expected a deepcart train command after --"),
      std::string::npos)
      << not_train.out;
  Result no_master = run("launch --nproc 1 --nnodes 2 --node-rank 1 -- rec train --data x --out y");
  EXPECT_EQ(no_master.code, 2);
  EXPECT_NE(no_master.out.find("--master HOST:PORT is required with --nnodes above 1"),
            std::string::npos)
      << no_master.out;
  Result bad_master = run("launch --nproc 1 --master nowhere -- rec train --data x --out y");
  EXPECT_EQ(bad_master.code, 2);
  EXPECT_NE(bad_master.out.find("--master: expected HOST:PORT, found 'nowhere'"), std::string::npos)
      << bad_master.out;
  // A worker that fails at once (no such file) stops the launch with its status.
  Result failing = run("launch --nproc 2 --timeout 5 -- rec train --data " + dir_ +
                       "/none.csv --out " + dir_ + "/m.dcm");
  EXPECT_EQ(failing.code, 2) << failing.out;
  EXPECT_NE(failing.out.find("exited with status 2; stopping the other workers"), std::string::npos)
      << failing.out;
}

}  // namespace
}  // namespace deepcart
