#include "deepcart/core/model_file.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <torch/torch.h>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "deepcart/core/error.h"

namespace deepcart {
namespace {

namespace fs = std::filesystem;

struct TinyNetImpl : torch::nn::Module {
  TinyNetImpl() {
    fc1 = register_module("fc1", torch::nn::Linear(4, 8));
    fc2 = register_module("fc2", torch::nn::Linear(8, 2));
  }
  torch::Tensor forward(const torch::Tensor& x) { return fc2(torch::relu(fc1(x))); }
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(TinyNet);

class ModelFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("dcm_" + std::to_string(::getpid()) + "_" +
                                             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    path_ = (dir_ / "model.dcm").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  ModelFile make(const TinyNet& net) {
    ModelFile f;
    f.task = "rec";
    f.arch = "tiny";
    f.hparams = {{"hidden", 8}};
    f.meta = {{"items", {"a", "b"}}};
    f.metrics = {{"auc", 0.75}};
    f.add_module("model/", *net);
    f.blobs["note"] = std::string("bytes\0with nul", 14);
    return f;
  }

  std::string read_bytes() {
    std::ifstream in(path_, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  void write_bytes(const std::string& bytes) {
    std::ofstream(path_, std::ios::binary | std::ios::trunc) << bytes;
  }
  std::string read_error(const std::string& task = "") {
    try {
      model_file_read(path_, task);
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  }

  fs::path dir_;
  std::string path_;
};

TEST_F(ModelFileTest, RoundTripGivesIdenticalPredictions) {
  torch::manual_seed(3);
  TinyNet net;
  model_file_write(make(net), path_);
  ModelFile loaded = model_file_read(path_, "rec");
  EXPECT_EQ(loaded.arch, "tiny");
  EXPECT_EQ(loaded.hparams.at("hidden"), 8);
  EXPECT_EQ(loaded.meta.at("items")[1], "b");
  EXPECT_DOUBLE_EQ(loaded.metrics.at("auc").get<double>(), 0.75);
  EXPECT_EQ(loaded.blobs.at("note"), std::string("bytes\0with nul", 14));
  EXPECT_FALSE(loaded.checkpoint);

  torch::manual_seed(99);
  TinyNet other;
  torch::Tensor x = torch::randn({5, 4});
  ASSERT_FALSE(torch::equal(net->forward(x), other->forward(x)));
  loaded.load_module("model/", *other);
  EXPECT_TRUE(torch::equal(net->forward(x), other->forward(x)));
}

TEST_F(ModelFileTest, FlippedByteInWeightsFailsChecksum) {
  TinyNet net;
  model_file_write(make(net), path_);
  std::string bytes = read_bytes();
  // The weights sit just before the blob and the 32-byte digest.
  bytes[bytes.size() - 32 - 14 - 7] ^= 0x01;
  write_bytes(bytes);
  EXPECT_EQ(read_error(), path_ + ": checksum mismatch: file is corrupt");
}

TEST_F(ModelFileTest, TruncatedFileFails) {
  TinyNet net;
  model_file_write(make(net), path_);
  std::string bytes = read_bytes();
  const size_t full = bytes.size();
  write_bytes(bytes.substr(0, full - 100));
  EXPECT_EQ(read_error(), path_ + ": truncated: expected " + std::to_string(full) + " bytes, found " +
                              std::to_string(full - 100));
  write_bytes("");
  EXPECT_EQ(read_error(), path_ + ": truncated: the file is empty");
}

TEST_F(ModelFileTest, MissingFileFails) {
  EXPECT_EQ(read_error(), path_ + ": cannot open model file: No such file or directory");
}

TEST_F(ModelFileTest, WrongMagicVersionAndTask) {
  TinyNet net;
  model_file_write(make(net), path_);
  std::string good = read_bytes();
  write_bytes("user_id,item_id\nu1,i1\n" + std::string(40, 'x'));
  EXPECT_EQ(read_error(), path_ + ": not a deepcart model file (expected magic 'DEEPCART')");
  std::string bad_version = good;
  bad_version[8] = 7;
  write_bytes(bad_version);
  EXPECT_EQ(read_error(), path_ + ": format version 7 is not supported: expected version 1");
  write_bytes(good);
  EXPECT_EQ(read_error("vision"), path_ + ": is a 'rec' model (tiny): expected a 'vision' model");
}

TEST_F(ModelFileTest, ShapeMismatchNamesTensorAndShapes) {
  TinyNet net;
  ModelFile f = make(net);
  model_file_write(f, path_);
  ModelFile loaded = model_file_read(path_);
  torch::nn::Linear wrong(3, 8);
  struct Holder : torch::nn::Module {
    torch::nn::Linear fc1{nullptr};
  } holder;
  holder.fc1 = holder.register_module("fc1", torch::nn::Linear(3, 8));
  try {
    loaded.load_module("model/", holder);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              path_ + ": tensor 'model/fc1.weight': expected shape [8, 3], found [8, 4]");
  }
}

TEST_F(ModelFileTest, FailedWriteLeavesPreviousFileIntact) {
  TinyNet net;
  model_file_write(make(net), path_);
  const std::string before = read_bytes();

  // A file-size limit makes write() fail with EFBIG, like a full disk would.
  ModelFile big = make(net);
  big.blobs["padding"] = std::string(1 << 20, 'p');
  struct rlimit old_limit;
  getrlimit(RLIMIT_FSIZE, &old_limit);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit limit = old_limit;
  limit.rlim_cur = 64 * 1024;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &limit), 0);
  std::string message;
  try {
    model_file_write(big, path_);
  } catch (const Error& e) {
    message = e.what();
  }
  setrlimit(RLIMIT_FSIZE, &old_limit);
  std::signal(SIGXFSZ, old_handler);

  EXPECT_EQ(message, path_ + ": cannot write: File too large");
  EXPECT_EQ(read_bytes(), before);
  EXPECT_NO_THROW(model_file_read(path_));
  int files = 0;
  for (const auto& entry : fs::directory_iterator(dir_)) files += entry.is_regular_file();
  EXPECT_EQ(files, 1) << "the temporary file must be removed";
}

TEST(Sha256, KnownVector) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace deepcart
