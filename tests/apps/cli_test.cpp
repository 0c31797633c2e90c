// End-to-end checks of the deepcart program: exit codes, one-line errors, JSON output and the
// SIGTERM path through a real process.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "deepcart/core/model_file_format.h"
#include "run_cli.h"

namespace {

namespace fs = std::filesystem;

using deepcart::test_cli::Result;
using deepcart::test_cli::run;

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/cli_" + std::to_string(::getpid()) + "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

TEST_F(CliTest, DoctorReportsThreadsAndBlas) {
  Result r = run("doctor --json");
  ASSERT_EQ(r.code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("threads"), j.at("cores"));
  // libblas.so.3 (OpenBLAS) is FAISS's; LibTorch's own matrix products are MKL's (the wheel).
  EXPECT_EQ(j.at("blas").at("openblas"), true);
  EXPECT_EQ(j.at("blas").at("reference"), false);
  EXPECT_EQ(j.at("blas").at("threads"),
            j.at("cores").get<int>() > 1 ? 1 : j.at("cores").get<int>());
  EXPECT_EQ(j.at("libtorch"), "2.11.0");
  EXPECT_EQ(j.at("torch_blas"), "MKL");
  // OpenBLAS (FAISS's libblas.so.3) is loaded too, but MKL inside libtorch_cpu answers sgemm_.
  EXPECT_NE(j.at("sgemm").get<std::string>().find("libtorch_cpu.so"), std::string::npos) << r.out;
  EXPECT_EQ(j.at("cuda").at("built"), true);
  EXPECT_EQ(j.at("cuda").at("version").get<std::string>().substr(0, 3), "13.");
  EXPECT_NE(j.at("openmp").at("runtime").get<std::string>().find("libgomp"), std::string::npos)
      << r.out;
  if (j.at("cuda").at("gpus").empty()) {
    EXPECT_NE(j.at("cuda").at("why_none").get<std::string>().find("no CUDA GPU is visible"),
              std::string::npos)
        << r.out;
  }
  // This machine's build finds nccl.h in the wheel's nvidia-nccl package.
  EXPECT_EQ(j.at("distributed").at("backend"),
            "c10d ProcessGroupGloo over TCP (CPU workers), ProcessGroupNCCL (GPU workers)");
  EXPECT_EQ(j.at("distributed").at("nccl"), true);
  EXPECT_TRUE(j.at("distributed").at("environment").empty());
  // Started without an OpenMP wait setting, the program restarts itself with a short spin;
  // one given in the environment is kept.
  auto fresh =
      nlohmann::json::parse(run("doctor --json", "-u GOMP_SPINCOUNT -u OMP_WAIT_POLICY").out);
  EXPECT_EQ(fresh.at("openmp").at("GOMP_SPINCOUNT"), "1000");
  auto passive =
      nlohmann::json::parse(run("doctor --json", "-u GOMP_SPINCOUNT OMP_WAIT_POLICY=passive").out);
  EXPECT_EQ(passive.at("openmp").at("GOMP_SPINCOUNT"), "");
  EXPECT_EQ(passive.at("openmp").at("OMP_WAIT_POLICY"), "passive");
  Result text = run("doctor --threads 1");
  EXPECT_NE(text.out.find("threads       1 LibTorch intra-op"), std::string::npos) << text.out;
  EXPECT_NE(
      text.out.find("; one process (`deepcart launch` sets DEEPCART_WORLD_SIZE and the rest)"),
      std::string::npos)
      << text.out;
  Result in_run = run("doctor --threads 1", "DEEPCART_WORLD_SIZE=2 DEEPCART_MASTER=10.0.0.1:29500");
  EXPECT_NE(in_run.out.find("; in force: DEEPCART_MASTER=10.0.0.1:29500 DEEPCART_WORLD_SIZE=2\n"),
            std::string::npos)
      << in_run.out;
}

TEST_F(CliTest, DeviceFlagIsCheckedBeforeAnyWork) {
  Result bad = run("rec train --data " + dir_ + "/none.csv --out " + dir_ + "/m.dcm --device gpu");
  EXPECT_EQ(bad.code, 2);
  EXPECT_EQ(bad.out,
            "deepcart: error: --device: expected auto, cpu, cuda or cuda:N (N a GPU number), found "
            "'gpu'\n");
  Result precision =
      run("rec train --data " + dir_ + "/none.csv --out " + dir_ + "/m.dcm --precision fp16");
  EXPECT_EQ(precision.code, 2);
  EXPECT_EQ(precision.out, "deepcart: error: --precision: expected fp32 or bf16, found 'fp16'\n");
  auto doctor = nlohmann::json::parse(run("doctor --json").out);
  if (!doctor.at("cuda").at("gpus").empty())
    GTEST_SKIP() << "this machine has a GPU: the no-GPU errors cannot show";
  // A GPU asked for on a machine without one: one line, exit 2, before the data is read.
  Result cuda =
      run("rec train --data " + dir_ + "/none.csv --out " + dir_ + "/m.dcm --device cuda");
  EXPECT_EQ(cuda.code, 2);
  EXPECT_EQ(cuda.out,
            "deepcart: error: --device cuda: no CUDA GPU is visible (no NVIDIA driver, or "
            "CUDA_VISIBLE_DEVICES hides them all); use --device cpu, or auto to take a GPU only "
            "when there is one\n");
  Result serve = run("serve --device cuda:1 --port 0");
  EXPECT_EQ(serve.code, 2);
  EXPECT_NE(serve.out.find("deepcart: error: --device cuda:1: no CUDA GPU is visible"),
            std::string::npos)
      << serve.out;
  // auto falls back to the CPU: the usual error about the missing data, not about the device.
  Result automatic =
      run("rec train --data " + dir_ + "/none.csv --out " + dir_ + "/m.dcm --device auto");
  EXPECT_EQ(automatic.code, 2);
  EXPECT_NE(automatic.out.find("none.csv"), std::string::npos) << automatic.out;
}

TEST_F(CliTest, BadCsvGivesOneLineErrorWithLocation) {
  std::ofstream(dir_ + "/bad.csv")
      << "user_id,item_id,event,timestamp\nu1,i1,purchase,5\nu2,i2,purchase\n";
  Result r = run("rec train --data " + dir_ + "/bad.csv --out " + dir_ + "/m.dcm --quiet");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.out, "deepcart: error: " + dir_ +
                       "/bad.csv:3: expected 4 fields (as in the header), found 3\n");
}

TEST_F(CliTest, MissingModelFileIsOneLineError) {
  Result r = run("rec recommend --model " + dir_ + "/none.dcm --user u1");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.out, "deepcart: error: " + dir_ +
                       "/none.dcm: cannot open model file: No such file or directory\n");
}

TEST_F(CliTest, HelpTellsDefaults) {
  Result r = run("rec train --help");
  EXPECT_EQ(r.code, 0);
  for (const char* flag : {"--epochs", "--batch-size", "--lr", "--layers", "--fill-missing",
                           "--on-bad-row", "--resume", "--checkpoint", "--threads", "--seed"}) {
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
  }
  EXPECT_NE(r.out.find("64,32"), std::string::npos);
}

TEST_F(CliTest, TrainEvalRecommendAndSigterm) {
  ASSERT_EQ(run("datagen --out " + dir_ + "/shop --users 300 --items 120 --quiet").code, 0);
  const std::string data = dir_ + "/shop/events.csv", model = dir_ + "/m.dcm";
  const std::string flags = " --features price,dwell_seconds --fill-missing 0 --quiet";
  Result train = run("rec train --data " + data + " --out " + model + " --epochs 2 --json" + flags);
  ASSERT_EQ(train.code, 0) << train.out;
  auto t = nlohmann::json::parse(train.out);
  EXPECT_GT(t.at("metrics").at("test").at("auc").get<double>(), 0.5);

  Result eval = run("rec eval --model " + model + " --json --k 5,10");
  ASSERT_EQ(eval.code, 0) << eval.out;
  auto e = nlohmann::json::parse(eval.out);
  EXPECT_EQ(e.at("metrics").at("hr@10"), t.at("metrics").at("test").at("hr@10"));
  EXPECT_TRUE(e.at("metrics").contains("ndcg@5"));

  Result rec = run("rec recommend --model " + model + " --user u00001 --k 3 --json");
  ASSERT_EQ(rec.code, 0) << rec.out;
  EXPECT_EQ(nlohmann::json::parse(rec.out).at("items").size(), 3u);

  // SIGTERM mid-training: checkpoint written, message printed, non-zero exit.
  const std::string log = dir_ + "/train.log", ck = dir_ + "/long.ckpt";
  pid_t pid = fork();
  if (pid == 0) {
    freopen(log.c_str(), "w", stderr);
    execl(DEEPCART_BINARY, DEEPCART_BINARY, "rec", "train", "--data", data.c_str(), "--out",
          (dir_ + "/long.dcm").c_str(), "--epochs", "100000", "--patience", "0", "--checkpoint",
          ck.c_str(), "--batch-size", "16", "--features", "price,dwell_seconds", "--fill-missing",
          "0", (char*)nullptr);
    _exit(127);
  }
  // Wait until training has started (first epoch line or progress), then stop it.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGTERM);
  std::ifstream in(log);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("checkpoint written to " + ck), std::string::npos) << text;
  EXPECT_TRUE(fs::exists(ck));
  Result resumed = run("rec train --data " + data + " --out " + dir_ +
                       "/long.dcm --epochs 1 --resume " + ck + flags);
  EXPECT_EQ(resumed.code, 0) << resumed.out;
  Result mismatch = run("rec train --data " + data + " --out " + dir_ +
                        "/long.dcm --epochs 1 --dim 8 --resume " + ck + flags);
  EXPECT_EQ(mismatch.code, 2);
  EXPECT_NE(mismatch.out.find("long.ckpt: checkpoint hyper-parameters differ from this run's: dim"),
            std::string::npos)
      << mismatch.out;
}

TEST_F(CliTest, RecArchitecturesEvalHistoryAllAndSimilar) {
  ASSERT_EQ(run("datagen --out " + dir_ + "/shop --users 200 --items 80 --quiet").code, 0);
  const std::string data = dir_ + "/shop/events.csv", model = dir_ + "/bpr.dcm";
  Result train = run("rec train --model bpr-mf --data " + data + " --out " + model +
                     " --epochs 3 --split random:0.2 --quiet --json");
  ASSERT_EQ(train.code, 0) << train.out;
  auto t = nlohmann::json::parse(train.out);
  EXPECT_TRUE(t.at("metrics").at("test").contains("map@20"));
  EXPECT_NE(
      t.at("metrics").at("protocol").get<std::string>().find("per-user random holdout: 20% test"),
      std::string::npos);

  // eval repeats the stored split: the same numbers as at the end of training.
  Result eval = run("rec eval --model " + model + " --json");
  ASSERT_EQ(eval.code, 0) << eval.out;
  auto e = nlohmann::json::parse(eval.out);
  EXPECT_DOUBLE_EQ(e.at("metrics").at("ndcg@10").get<double>(),
                   t.at("metrics").at("test").at("ndcg@10").get<double>());
  Result sampled = run("rec eval --model " + model + " --json --sampled 20 --k 10");
  ASSERT_EQ(sampled.code, 0) << sampled.out;
  auto sj = nlohmann::json::parse(sampled.out);
  EXPECT_NE(sj.at("protocol").get<std::string>().find("sampled ranking against 20 negatives"),
            std::string::npos);
  EXPECT_GT(sj.at("metrics").at("hr@10").get<double>(), e.at("metrics").at("hr@10").get<double>());

  Result anon = run("rec recommend --model " + model + " --history i0001,i0002 --k 4 --json");
  ASSERT_EQ(anon.code, 0) << anon.out;
  auto a = nlohmann::json::parse(anon.out);
  ASSERT_EQ(a.at("items").size(), 4u);
  EXPECT_EQ(a.at("items")[0].at("because").size(), 2u);

  Result unknown = run("rec recommend --model " + model + " --history i0001,nope");
  EXPECT_EQ(unknown.code, 2);
  EXPECT_EQ(unknown.out, "deepcart: error: --history: unknown item 'nope'\n");

  Result all = run("rec recommend --model " + model + " --all " + dir_ + "/all.csv --k 3 --quiet");
  ASSERT_EQ(all.code, 0) << all.out;
  std::ifstream csv(dir_ + "/all.csv");
  std::string line;
  int lines = 0;
  std::getline(csv, line);
  EXPECT_EQ(line, "user_id,rank,item_id,score");
  while (std::getline(csv, line)) ++lines;
  EXPECT_EQ(lines, 200 * 3);

  Result similar = run("rec similar --model " + model + " --item i0005 --k 3 --json");
  ASSERT_EQ(similar.code, 0) << similar.out;
  EXPECT_EQ(nlohmann::json::parse(similar.out).at("similar").size(), 3u);
}

}  // namespace

namespace {

// A small shop-question file: three intents with a few phrasings each, repeated.
void write_questions(const std::string& path) {
  std::ofstream out(path);
  out << "text,intent\n";
  const std::vector<std::pair<std::string, std::vector<std::string>>> intents = {
      {"track_order",
       {"where is my order", "track my parcel", "when will my package arrive",
        "order status please", "has my order shipped", "where is my parcel now"}},
      {"get_refund",
       {"i want my money back", "refund please", "how do i get a refund", "return for a refund",
        "give me a refund", "refund my payment"}},
      {"recover_password",
       {"i forgot my password", "reset my password", "cannot log in password lost",
        "password recovery", "change forgotten password", "how to reset password"}}};
  for (int repeat = 0; repeat < 8; ++repeat) {
    for (const auto& [intent, texts] : intents) {
      for (const auto& t : texts)
        out << t << (repeat % 2 ? " thanks" : "") << "," << intent << "\n";
    }
  }
}

}  // namespace

TEST_F(CliTest, TextIntentsAnswerExplainAndNotSure) {
  write_questions(dir_ + "/q.csv");
  std::ofstream(dir_ + "/answers.csv")
      << "intent,answer\ntrack_order,Open Your orders and press Track.\n";
  const std::string model = dir_ + "/intent.dcm";
  Result train =
      run("text train --data " + dir_ +
          "/q.csv --text-col text --label-col intent --task intent "
          "--model bow --buckets 1000 --epochs 30 --lr 0.05 --batch-size 16 --test-fraction 0.1 "
          "--answers " +
          dir_ + "/answers.csv --quiet --out " + model);
  ASSERT_EQ(train.code, 0) << train.out;
  EXPECT_NE(train.out.find("out-of-scope threshold"), std::string::npos) << train.out;
  Result answer = run("text answer --model " + model + " \"where is my order?\" --json");
  ASSERT_EQ(answer.code, 0) << answer.out;
  auto a = nlohmann::json::parse(answer.out);
  EXPECT_EQ(a["intent"], "track_order");
  EXPECT_EQ(a["sure"], true);
  EXPECT_EQ(a["answer"], "Open Your orders and press Track.");
  Result nonsense = run("text answer --model " + model + " \"xqzv plorkt wubbadoo\" --json");
  auto n = nlohmann::json::parse(nonsense.out);
  EXPECT_EQ(n["sure"], false) << nonsense.out;
  EXPECT_EQ(n["closest"].size(), 2u);
  Result text_answer = run("text answer --model " + model + " \"xqzv plorkt wubbadoo\"");
  EXPECT_EQ(text_answer.out.rfind("not sure (", 0), 0u) << text_answer.out;
  // Many questions at once, from a file: a list, in the file's order.
  std::ofstream(dir_ + "/ask.txt") << "where is my order?\n\nxqzv plorkt wubbadoo\n";
  Result batch = run("text answer --model " + model + " --file " + dir_ + "/ask.txt --json");
  ASSERT_EQ(batch.code, 0) << batch.out;
  auto list = nlohmann::json::parse(batch.out);
  ASSERT_EQ(list.size(), 2u) << batch.out;
  EXPECT_EQ(list[0]["question"], "where is my order?");
  EXPECT_EQ(list[0]["answer"], "Open Your orders and press Track.");
  EXPECT_EQ(list[1]["sure"], false);
  Result lines = run("text answer --model " + model + " \"where is my order?\" \"xqzv plorkt\"");
  EXPECT_EQ(lines.out.rfind("where is my order?\nintent   track_order (", 0), 0u) << lines.out;
  EXPECT_NE(lines.out.find("\n\nxqzv plorkt\nnot sure ("), std::string::npos) << lines.out;
  Result nothing = run("text answer --model " + model);
  EXPECT_EQ(nothing.code, 2) << nothing.out;
  Result explain = run("text explain --model " + model + " \"i want a refund\" --json");
  auto e = nlohmann::json::parse(explain.out);
  EXPECT_EQ(e["label"], "get_refund");
  EXPECT_EQ(e["tokens"].size(), 4u);
  Result eval = run("text eval --model " + model + " --json");  // the model's own held-out part
  ASSERT_EQ(eval.code, 0) << eval.out;
  EXPECT_EQ(nlohmann::json::parse(eval.out)["texts"], 15);
  Result bad = run("text train --data " + dir_ +
                   "/q.csv --text-col body --label-col intent --out " + dir_ + "/x.dcm");
  EXPECT_EQ(bad.code, 2);
  EXPECT_EQ(bad.out.rfind("deepcart: error: " + dir_ +
                              "/q.csv: missing column 'body' (the columns are 'text', 'intent')\n",
                          0),
            0u)
      << bad.out;
}

TEST_F(CliTest, TextReviewReportPerGroup) {
  std::ofstream out(dir_ + "/reviews.csv");
  out << "Review Text,Recommended IND,Class Name\n";
  const std::vector<std::string> good = {"love this dress", "great fit and soft",
                                         "beautiful colour love it"};
  const std::vector<std::string> bad = {"awful fabric", "terrible fit returned it",
                                        "cheap and awful"};
  for (int i = 0; i < 60; ++i) {
    out << good[i % 3] << ",1," << (i % 2 ? "Dresses" : "Knits") << "\n";
    out << bad[i % 3] << ",0," << (i % 2 ? "Dresses" : "Knits") << "\n";
  }
  out.close();
  const std::string model = dir_ + "/sentiment.dcm";
  Result train =
      run("text train --data " + dir_ +
          "/reviews.csv --text-col \"Review Text\" --label-col \"Recommended IND\" "
          "--model bow --buckets 1000 --epochs 20 --lr 0.05 --batch-size 16 --quiet --out " +
          model);
  ASSERT_EQ(train.code, 0) << train.out;
  Result report = run("text report --model " + model + " --data " + dir_ +
                      "/reviews.csv --group-by \"Class Name\" "
                      "--min-reviews 2 --quiet --out " +
                      dir_ + "/report --json");
  ASSERT_EQ(report.code, 0) << report.out;
  auto r = nlohmann::json::parse(report.out);
  ASSERT_EQ(r["groups"].size(), 2u);
  EXPECT_EQ(r["groups"][0]["group"], "Dresses");
  EXPECT_EQ(r["groups"][0]["reviews"], 60);
  EXPECT_NEAR(r["groups"][0]["sentiment"]["1"].get<double>(), 0.5, 0.05);
  std::vector<std::string> positive, negative;
  for (const auto& w : r["groups"][0]["positive_drivers"]) positive.push_back(w["text"]);
  for (const auto& w : r["groups"][0]["negative_drivers"]) negative.push_back(w["text"]);
  EXPECT_NE(std::find(positive.begin(), positive.end(), "love"), positive.end())
      << r["groups"][0].dump();
  EXPECT_NE(std::find(negative.begin(), negative.end(), "awful"), negative.end())
      << r["groups"][0].dump();
  std::ifstream html(dir_ + "/report.html");
  std::string page((std::istreambuf_iterator<char>(html)), std::istreambuf_iterator<char>());
  EXPECT_NE(page.find("<h2>Dresses"), std::string::npos);
  EXPECT_EQ(page.find("http"), std::string::npos) << "self-contained: no external links";
}

TEST_F(CliTest, DemoReviewsAndQuestionsOnTheShippedData) {
  // The text part of the demo reads only the data shipped under share/data (gzip-compressed).
  Result r = run("demo --out " + dir_ + " --epochs 2 --vision-epochs 0 --quiet");
  ASSERT_EQ(r.code, 0) << r.out;
  auto j = nlohmann::json::parse(std::ifstream(dir_ + "/report.json"));
  const auto& t = j.at("text");
  EXPECT_GT(t.at("reviews-sentiment").at("test_accuracy").get<double>(), 0.88);
  EXPECT_LT(t.at("reviews-stars").at("test_mae").get<double>(), 0.6);
  EXPECT_GT(t.at("questions-intent").at("test_accuracy").get<double>(), 0.97);
  EXPECT_EQ(t.at("report").at("groups").size(), 21u) << "clothing classes";
  EXPECT_TRUE(fs::exists(dir_ + "/reviews-report.html"));
  const auto& q = t.at("questions");
  ASSERT_EQ(q.size(), 3u);
  EXPECT_EQ(q[0].at("intent"), "track_order");
  EXPECT_TRUE(q[0].at("sure").get<bool>());
  EXPECT_NE(q[0].at("answer").get<std::string>().find("Track"), std::string::npos) << q[0];
  EXPECT_FALSE(q[2].at("sure").get<bool>()) << "nonsense gets 'not sure': " << q[2];
  EXPECT_EQ(q[2].at("closest").size(), 2u);
  EXPECT_NE(r.out.find("questions  intent test accuracy"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("not sure ("), std::string::npos) << r.out;
  // The demo's models work with the text commands.
  Result answer = run("text answer --model " + dir_ +
                      "/models/questions-intent.dcm \"cancel my order please\" --json");
  ASSERT_EQ(answer.code, 0) << answer.out;
  EXPECT_EQ(nlohmann::json::parse(answer.out).at("intent"), "cancel_order");
}

TEST_F(CliTest, VisionBadImageNamesTheFileAndPredictsFashionMnist) {
  const std::string root = dir_ + "/shop";
  fs::create_directories(root + "/caps");
  std::ofstream(root + "/caps/broken.png") << "\x89PNG\r\n\x1a\nnot really";
  Result bad = run("vision train --data " + root + " --size 16 --out " + dir_ + "/v.dcm --quiet");
  EXPECT_EQ(bad.code, 2);
  EXPECT_EQ(
      bad.out.rfind("deepcart: error: " + root + "/caps/broken.png: truncated or corrupt PNG:", 0),
      0u)
      << bad.out;
  Result missing = run("vision predict --model " + dir_ + "/none.dcm fashion-mnist:test:0");
  EXPECT_EQ(missing.code, 2);
  EXPECT_EQ(missing.out, "deepcart: error: " + dir_ +
                             "/none.dcm: cannot open model file: No such file or directory\n");
}

namespace {

TEST_F(CliTest, HostileFilesAreRefusedByNameWithStatusTwo) {
  // Never read to the end: refused at the magic.
  Result zero = run("rec recommend --model /dev/zero --user u1");
  EXPECT_EQ(zero.code, 2);
  EXPECT_EQ(zero.out,
            "deepcart: error: /dev/zero: not a deepcart model file (expected magic 'DEEPCART')\n");

  // A valid checksum around a tensor offset that wrapped the old bounds check (SIGSEGV then).
  const nlohmann::json header = {{"task", "rec"},
                                 {"arch", "sasrec"},
                                 {"checkpoint", false},
                                 {"hparams", nlohmann::json::object()},
                                 {"meta", nlohmann::json::object()},
                                 {"metrics", nlohmann::json::object()},
                                 {"state", nlohmann::json::object()},
                                 {"tensors",
                                  {{{"name", "seq/items"},
                                    {"dtype", "int64"},
                                    {"shape", {1}},
                                    {"offset", UINT64_MAX - 3},
                                    {"bytes", 8}}}},
                                 {"blobs", nlohmann::json::array()}};
  const std::string text = header.dump(), data(8, '\0');
  std::string bytes(deepcart::kModelFileMagic, 8);
  const uint32_t version = 1;
  const uint64_t payload = 8 + text.size() + data.size(), header_size = text.size();
  bytes.append(reinterpret_cast<const char*>(&version), 4);
  bytes.append(reinterpret_cast<const char*>(&payload), 8);
  bytes.append(reinterpret_cast<const char*>(&header_size), 8);
  bytes += text + data;
  unsigned char digest[32];
  deepcart::sha256(bytes.data(), bytes.size(), digest);
  bytes.append(reinterpret_cast<const char*>(digest), 32);
  std::ofstream(dir_ + "/crafted.dcm", std::ios::binary) << bytes;
  Result crafted = run("rec recommend --model " + dir_ + "/crafted.dcm --user u1");
  EXPECT_EQ(crafted.code, 2);
  EXPECT_EQ(crafted.out, "deepcart: error: " + dir_ +
                             "/crafted.dcm: tensor 'seq/items': bytes 18446744073709551612 + 8 lie "
                             "past the end of the "
                             "data region (8 bytes)\n");
}

TEST_F(CliTest, HostileDataIsRefusedByLineAndColumn) {
  std::ofstream(dir_ + "/events.csv")
      << "user_id,item_id,event,timestamp\nu1,i1,purchase,1\nu1,i2,purchase,1e26\n"
         "u1,i3,purchase,3\n";
  Result time = run("rec train --data " + dir_ + "/events.csv --out " + dir_ + "/m.dcm --quiet");
  EXPECT_EQ(time.code, 2);
  EXPECT_EQ(time.out, "deepcart: error: " + dir_ +
                          "/events.csv:3:4 (column 'timestamp'): expected a number from -9.2e+18 "
                          "to 9.2e+18, found '1e26'\n");
  std::ofstream(dir_ + "/ids.csv")
      << std::string("user_id,item_id,event,timestamp\nu1\0,i1,purchase,1\n", 50);
  Result nul = run("rec train --data " + dir_ + "/ids.csv --out " + dir_ + "/m.dcm --quiet");
  EXPECT_EQ(nul.code, 2);
  EXPECT_EQ(nul.out,
            "deepcart: error: " + dir_ +
                "/ids.csv:2:1 (column 'user_id'): expected text, found a NUL byte (0x00)\n");

  std::ofstream(dir_ + "/reviews.csv") << ",Review Text,Recommended IND\n0,lovely,1\n1,awful,0\n";
  Result unnamed = run("text train --data " + dir_ +
                       "/reviews.csv --text-col \"\" --label-col \"Recommended IND\" --out " +
                       dir_ + "/t.dcm --quiet");
  EXPECT_EQ(unnamed.code, 2);
  EXPECT_EQ(unnamed.out, "deepcart: error: " + dir_ +
                             "/reviews.csv: expected a column name, found an empty one\n");
  std::ofstream(dir_ + "/dup.csv") << "text,label,text\na,1,b\n";
  Result dup = run("text train --data " + dir_ +
                   "/dup.csv --text-col text --label-col label --out " + dir_ + "/t.dcm --quiet");
  EXPECT_EQ(dup.code, 2);
  EXPECT_EQ(dup.out, "deepcart: error: " + dir_ +
                         "/dup.csv:1: column name 'text' appears twice in the header (columns 1 "
                         "and 3): expected distinct names\n");
  std::ofstream(dir_ + "/blank.csv") << "text,label\n,1\n  ,0\n";
  Result blank =
      run("text train --data " + dir_ + "/blank.csv --text-col text --label-col label --out " +
          dir_ + "/t.dcm --quiet");
  EXPECT_EQ(blank.code, 2);
  EXPECT_EQ(blank.out, "deepcart: error: " + dir_ +
                           "/blank.csv: no usable rows: expected texts with labels, found 2 rows, "
                           "0 kept, 2 empty texts "
                           "(lines 2, 3)\n");
}

TEST_F(CliTest, InspectReadsTheDemoLogWithItsEmptyCells) {
  ASSERT_EQ(run("datagen --out " + dir_ + "/shop --users 60 --items 40 --quiet").code, 0);
  Result r = run("data inspect --data " + dir_ + "/shop/events.csv --json");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  int64_t empty = 0;
  for (const auto& c : j.at("columns")) empty += c.value("empty", 0);
  EXPECT_GT(empty, 0) << "the demo log has empty cells on purpose: " << r.out;
  EXPECT_EQ(j.at("rows_skipped"), 0);
  Result bad = run("data inspect --data " + dir_ + "/shop/events.csv --fill-missing abc");
  EXPECT_EQ(bad.code, 2);
  EXPECT_EQ(bad.out, "deepcart: error: --fill-missing: expected a number, found 'abc'\n");
}

}  // namespace

namespace {

TEST_F(CliTest, ServeRefusesImpossibleLimitsBeforeLoadingModels) {
  Result cap = run("serve --model x=" + dir_ + "/none.dcm --max-connections 0 --port 0");
  EXPECT_EQ(cap.code, 2);
  EXPECT_EQ(cap.out, "deepcart: error: serve: --max-connections: expected at least 1, found 0\n");
  Result timeout = run("serve --model x=" + dir_ + "/none.dcm --header-timeout 0 --port 0");
  EXPECT_EQ(timeout.code, 2);
  EXPECT_EQ(timeout.out,
            "deepcart: error: serve: --header-timeout and --body-timeout: expected a positive "
            "number of seconds\n");
}

}  // namespace
