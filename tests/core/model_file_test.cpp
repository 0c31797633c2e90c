#include "deepcart/core/model_file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <torch/torch.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "deepcart/core/error.h"
#include "error_of.h"

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
    dir_ = fs::path(::testing::TempDir()) /
           ("dcm_" + std::to_string(::getpid()) + "_" +
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
  EXPECT_EQ(read_error(), path_ + ": truncated: expected " + std::to_string(full) +
                              " bytes, found " + std::to_string(full - 100));
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

namespace deepcart {
namespace {

// A model file with the given header and data region and a correct checksum: what an attacker
// who knows the format can write.
std::string crafted(const nlohmann::json& header, const std::string& data) {
  const std::string text = header.dump();
  std::string out(kModelFileMagic, sizeof(kModelFileMagic));
  const uint32_t version = kModelFileVersion;
  const uint64_t payload = 8 + text.size() + data.size(), header_size = text.size();
  out.append(reinterpret_cast<const char*>(&version), 4);
  out.append(reinterpret_cast<const char*>(&payload), 8);
  out.append(reinterpret_cast<const char*>(&header_size), 8);
  out += text + data;
  unsigned char digest[kModelFileDigest];
  sha256(out.data(), out.size(), digest);
  return out.append(reinterpret_cast<const char*>(digest), kModelFileDigest);
}

nlohmann::json header_with(nlohmann::json tensors, nlohmann::json blobs = nlohmann::json::array()) {
  return {{"task", "rec"},
          {"arch", "tiny"},
          {"checkpoint", false},
          {"hparams", nlohmann::json::object()},
          {"meta", nlohmann::json::object()},
          {"metrics", nlohmann::json::object()},
          {"state", nlohmann::json::object()},
          {"tensors", tensors},
          {"blobs", blobs}};
}

nlohmann::json tensor_entry(const std::string& name, nlohmann::json shape, uint64_t offset,
                            uint64_t bytes, const std::string& dtype = "float32") {
  return {{"name", name}, {"dtype", dtype}, {"shape", shape}, {"offset", offset}, {"bytes", bytes}};
}

class CraftedModelFile : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = ::testing::TempDir() + "/crafted_" + std::to_string(::getpid()) + ".dcm";
  }
  void TearDown() override { fs::remove(path_); }
  std::string error_of(const std::string& bytes) {
    std::ofstream(path_, std::ios::binary | std::ios::trunc) << bytes;
    return test::error_of([&] { model_file_read(path_); });
  }
  std::string path_;
};

TEST_F(CraftedModelFile, OffsetsNearTwoToTheSixtyFourAreRefusedNotWrapped) {
  const std::string data(24, '\1');
  // offset + bytes wraps to 16 in 64 bits: the old check `start + offset + bytes > size` passed.
  EXPECT_EQ(error_of(crafted(header_with({tensor_entry("w", {2, 3}, UINT64_MAX - 7, 24)}), data)),
            path_ +
                ": tensor 'w': bytes 18446744073709551608 + 24 lie past the end of the data region "
                "(24 bytes)");
  EXPECT_EQ(
      error_of(crafted(header_with(nlohmann::json::array(),
                                   {{{"name", "b"}, {"offset", 0}, {"bytes", uint64_t{1} << 62}}}),
                       data)),
      path_ +
          ": blob 'b': bytes 0 + 4611686018427387904 lie past the end of the data region (24 "
          "bytes)");
}

TEST_F(CraftedModelFile, ShapesMustFillTheirBytesWithoutOverflow) {
  const std::string data(24, '\1');
  EXPECT_EQ(
      error_of(crafted(
          header_with({tensor_entry("w", {uint64_t{1} << 40, uint64_t{1} << 40}, 0, 0)}), data)),
      path_ + ": tensor 'w': shape [1099511627776,1099511627776] has more elements than can exist");
  EXPECT_EQ(error_of(crafted(header_with({tensor_entry("w", {2, 2}, 0, 24)}), data)),
            path_ + ": tensor 'w': shape [2,2] of float32 does not fill its 24 bytes");
  EXPECT_EQ(error_of(crafted(header_with({tensor_entry("w", {-1, 3}, 0, 24)}), data)),
            path_ + ": header field 'tensors[0].shape': expected non-negative sizes, found [-1,3]");
  EXPECT_EQ(error_of(crafted(header_with({tensor_entry("w", {2, 3}, 0, 24, "complex64")}), data)),
            path_ + ": tensor 'w': unsupported tensor type 'complex64'");
  EXPECT_EQ(error_of(crafted(
                header_with({tensor_entry("w", {1}, 0, 4), tensor_entry("w", {1}, 4, 4)}), data)),
            path_ + ": tensor 'w' is stored twice");
  EXPECT_EQ(
      error_of(crafted(header_with({{{"name", "w"},
                                     {"dtype", "float32"},
                                     {"shape", {6}},
                                     {"offset", -1},
                                     {"bytes", 24}}}),
                       data)),
      path_ + ": header field 'tensors[0].offset': expected a non-negative integer, found -1");
}

TEST_F(CraftedModelFile, HeaderFieldsAreCheckedByName) {
  nlohmann::json h = header_with(nlohmann::json::array());
  h["task"] = 7;
  EXPECT_EQ(error_of(crafted(h, "")),
            path_ + ": header field 'task': expected a string, found number");
  h = header_with(nlohmann::json::array());
  h.erase("hparams");
  EXPECT_EQ(error_of(crafted(h, "")), path_ + ": malformed header: field 'hparams' is missing");
  nlohmann::json deep = nlohmann::json::array();
  for (int i = 0; i < 100; ++i) deep = nlohmann::json::array({deep});
  EXPECT_EQ(error_of(crafted(deep, "")),
            path_ + ": malformed header: nested deeper than 64 levels");
}

TEST_F(CraftedModelFile, SizesAreCheckedBeforeTheRestIsRead) {
  const std::string good =
      crafted(header_with({tensor_entry("w", {6}, 0, 24)}), std::string(24, '\2'));
  EXPECT_EQ(error_of(good + "x"), path_ +
                                      ": 1 byte of trailing data after the checksum (expected " +
                                      std::to_string(good.size()) + " bytes, found " +
                                      std::to_string(good.size() + 1) + ")");
  std::string huge = good;
  const uint64_t payload = uint64_t{1} << 62;
  std::memcpy(&huge[12], &payload, 8);
  EXPECT_EQ(error_of(huge), path_ + ": truncated: expected 4611686018427387956 bytes, found " +
                                std::to_string(good.size()));
  // A header-size field past the payload.
  std::string past = good;
  const uint64_t header_size = uint64_t{1} << 63;
  std::memcpy(&past[20], &header_size, 8);
  unsigned char digest[kModelFileDigest];
  sha256(past.data(), past.size() - kModelFileDigest, digest);
  std::memcpy(&past[past.size() - kModelFileDigest], digest, kModelFileDigest);
  EXPECT_NE(error_of(past).find(
                ": header field 'header size': 9223372036854775808 bytes, but the payload has"),
            std::string::npos)
      << error_of(past);
}

TEST_F(CraftedModelFile, StreamsAreReadOnlyUpToTheDeclaredSize) {
  // /dev/zero never ends: it is refused at the magic, after 20 bytes.
  try {
    model_file_read("/dev/zero");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "/dev/zero: not a deepcart model file (expected magic 'DEEPCART')");
  }
  // A pipe that carries a valid file and then keeps going.
  const std::string good =
      crafted(header_with({tensor_entry("w", {6}, 0, 24)}), std::string(24, '\2'));
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  auto old_handler = std::signal(SIGPIPE, SIG_IGN);  // the writer outlives the reader
  std::thread writer([&] {
    const std::string bytes = good + std::string(100000, 'z');
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = write(fds[1], bytes.data() + done, bytes.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    close(fds[1]);
  });
  const std::string path = "/proc/self/fd/" + std::to_string(fds[0]);
  try {
    model_file_read(path);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), path + ": trailing data after the checksum (expected " +
                                         std::to_string(good.size()) + " bytes, found more)");
  }
  close(fds[0]);
  writer.join();
  std::signal(SIGPIPE, old_handler);
}

TEST(ModelFileWrite, StaleTemporaryFilesOfDeadWritersAreRemovedAtTheNextWrite) {
  const fs::path dir = fs::path(::testing::TempDir()) / ("stale_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path stale = dir / ".model.dcm.tmp.AbC123", live = dir / ".model.dcm.tmp.LiVe99",
                 other = dir / ".other.dcm.tmp.XyZ789";
  for (const auto& p : {stale, live, other}) std::ofstream(p) << "half a model";
  // A writer that is still alive holds a lock on its temporary file.
  const int held = ::open(live.c_str(), O_RDONLY);
  ASSERT_EQ(::flock(held, LOCK_EX), 0);
  ModelFile f;
  f.task = "rec";
  f.arch = "tiny";
  f.tensors.emplace_back("w", torch::ones({2}));
  model_file_write(f, (dir / "model.dcm").string());
  EXPECT_FALSE(fs::exists(stale)) << "left by a writer killed with -9";
  EXPECT_TRUE(fs::exists(live)) << "still being written";
  EXPECT_TRUE(fs::exists(other)) << "another model's";
  ::close(held);
  fs::remove_all(dir);
}

TEST(ModelFileLoad, NetworksBiggerThanTheFileAreRefusedBeforeTheyAllocate) {
  ModelFile f;
  f.source = "m.dcm";
  f.tensors.emplace_back("w", torch::ones({4, 4}));
  try {
    f.checked_load([] { torch::nn::Embedding big(1000000, 1000); });  // 4 GB
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "m.dcm: the network that the hyper-parameters describe: it asks for more than 64 MB, "
              "more than the "
              "file's own tensors can fill");
  }
  EXPECT_NO_THROW(f.checked_load([] { torch::nn::Embedding small(1000, 16); }));
  // LibTorch's own errors come out as Errors naming the file, without a stack trace.
  try {
    f.checked_load([] { torch::ones({2, 3}).view({4}); });
    FAIL();
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("m.dcm: invalid model: shape '[4]' is invalid for input of size 6", 0), 0u)
        << what;
    EXPECT_EQ(what.find("frame #"), std::string::npos) << what;
  }
}

TEST(ModelFileLoad, HyperParametersAreCheckedAgainstTheDefaults) {
  const nlohmann::json defaults = {
      {"dim", 64}, {"dropout", 0.2}, {"arch", "bow"}, {"layers", {64, 32}}};
  auto error = [&](const nlohmann::json& stored) {
    try {
      check_hparams(stored, defaults, "m.dcm");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error({{"dim", 128}, {"dropout", 0}, {"layers", {8}}}), "no error");
  EXPECT_EQ(error({{"dim", 1e300}}),
            "m.dcm: hyper-parameter 'dim': expected an integer, found 1e+300");
  EXPECT_EQ(error({{"dim", int64_t{1} << 40}}),
            "m.dcm: hyper-parameter 'dim': 1099511627776 is out of range (at most 2^31)");
  EXPECT_EQ(error({{"arch", 3}}), "m.dcm: hyper-parameter 'arch': expected a string, found 3");
  EXPECT_EQ(error({{"layers", {"a"}}}),
            "m.dcm: hyper-parameter 'layers': expected an integer, found \"a\"");
  EXPECT_EQ(error({{"blocks", 2}}), "m.dcm: unknown hyper-parameter 'blocks'");
}

struct SmallOptions {
  int64_t dim = 8;
  std::string arch = "bow";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(SmallOptions, dim, arch)

TEST(ModelFileLoad, HparamsAsChecksThenConverts) {
  const SmallOptions o = hparams_as<SmallOptions>({{"dim", 32}}, "m.dcm");
  EXPECT_EQ(o.dim, 32);
  EXPECT_EQ(o.arch, "bow");  // absent: the default
  try {
    hparams_as<SmallOptions>({{"dim", "big"}}, "m.dcm");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "m.dcm: hyper-parameter 'dim': expected an integer, found \"big\"");
  }
}

TEST(ModelFileCreate, HeaderFieldsAndTaskCheck) {
  ModelFile f = ModelFile::create("text", "gru", {{"dim", 4}}, {{"labels", {"a", "b"}}});
  EXPECT_EQ(f.task, "text");
  EXPECT_EQ(f.arch, "gru");
  EXPECT_EQ(f.hparams, nlohmann::json({{"dim", 4}}));
  EXPECT_EQ(f.meta.at("labels").size(), 2u);
  EXPECT_FALSE(f.checkpoint);
  EXPECT_TRUE(f.tensors.empty());
  f.source = "m.dcm";
  f.expect_task("text");  // the right task: nothing happens
  try {
    f.expect_task("vision");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "m.dcm: is a 'text' model (gru): expected a 'vision' model");
  }
}

}  // namespace
}  // namespace deepcart
