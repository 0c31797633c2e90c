// `deepcart text embed | index | search` end to end through the program: the files they write,
// JSON and plain output, --help, and one-line errors with status 2.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "run_cli.h"
#include "text/pretrained_encoder.h"

namespace {

namespace fs = std::filesystem;
using deepcart::test_cli::Result;
using deepcart::test_cli::run;

class TextSearchCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/cli_search_" + std::to_string(::getpid()) + "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

TEST_F(TextSearchCli, EmbedIndexAndSearch) {
  REQUIRE_ENCODER(encoder_dir);
  std::ofstream(dir_ + "/texts.txt") << "Where is my order?\n\nI want a refund\n";
  Result npy = run("text embed --input " + dir_ + "/texts.txt --out " + dir_ + "/e.npy --quiet");
  ASSERT_EQ(npy.code, 0) << npy.out;
  EXPECT_EQ(npy.out.rfind("embedded 2 texts (384 dims) in ", 0), 0u) << npy.out;
  EXPECT_NE(npy.out.find("read: 3 rows, 2 kept, 1 empty text (line 2)"), std::string::npos)
      << npy.out;
  EXPECT_EQ(fs::file_size(dir_ + "/e.npy"), 128 + 2 * 384 * 4);

  std::ofstream(dir_ + "/answers.csv")
      << "intent,answer\n"
         "track_order,Track your parcel under Your orders.\n"
         "get_refund,Refunds reach your card within five days.\n"
         "change_password,Reset your password from the sign-in page.\n";
  Result jsonl = run("text embed --input " + dir_ + "/answers.csv --text-col answer --id-col " +
                     "intent --out " + dir_ + "/e.jsonl --json --quiet");
  ASSERT_EQ(jsonl.code, 0) << jsonl.out;
  const auto summary = nlohmann::json::parse(jsonl.out);
  EXPECT_EQ(summary["format"], "jsonl");
  EXPECT_EQ(summary["texts"], 3);
  std::ifstream lines(dir_ + "/e.jsonl");
  std::string first;
  std::getline(lines, first);
  const auto row = nlohmann::json::parse(first);
  EXPECT_EQ(row["text"], "Track your parcel under Your orders.");
  EXPECT_EQ(row["id"], "track_order");
  double norm = 0;
  for (double v : row["embedding"]) norm += v * v;
  EXPECT_EQ(row["embedding"].size(), 384u);
  EXPECT_NEAR(norm, 1.0, 1e-5);

  const std::string index = dir_ + "/answers.dti";
  Result built = run("text index --data " + dir_ + "/answers.csv --text-col answer --id-col " +
                     "intent --out " + index + " --quiet");
  ASSERT_EQ(built.code, 0) << built.out;
  EXPECT_EQ(built.out.rfind("indexed 3 texts in ", 0), 0u) << built.out;
  EXPECT_NE(built.out.find("(exact search, encoder minilm)"), std::string::npos) << built.out;

  std::ofstream(dir_ + "/questions.txt") << "I forgot my password\n";
  Result found =
      run("text search --index " + index + " --k 2 --json --quiet " +
          "\"where is my package?\" \"can I get my money back\" --file " + dir_ + "/questions.txt");
  ASSERT_EQ(found.code, 0) << found.out;
  const auto r = nlohmann::json::parse(found.out);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0]["query"], "where is my package?");
  EXPECT_EQ(r[0]["results"].size(), 2u);
  EXPECT_EQ(r[0]["results"][0]["id"], "track_order");
  EXPECT_EQ(r[1]["results"][0]["id"], "get_refund");
  EXPECT_EQ(r[2]["query"], "I forgot my password");
  EXPECT_EQ(r[2]["results"][0]["id"], "change_password");
  EXPECT_GT(r[2]["results"][0]["similarity"].get<double>(),
            r[2]["results"][1]["similarity"].get<double>());

  Result plain = run("text search --index " + index + " --k 1 \"where is my package?\" --quiet");
  ASSERT_EQ(plain.code, 0) << plain.out;
  EXPECT_EQ(plain.out.rfind("where is my package?\n  0.", 0), 0u) << plain.out;
  EXPECT_NE(plain.out.find("  track_order              Track your parcel under Your orders.\n"),
            std::string::npos)
      << plain.out;
}

TEST_F(TextSearchCli, HelpAndErrors) {
  Result help = run("text embed --help");
  ASSERT_EQ(help.code, 0) << help.out;
  EXPECT_NE(help.out.find("FILE.npy: float32 (texts, dim)"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("--encoder TEXT=minilm"), std::string::npos) << help.out;
  Result search_help = run("text search --help");
  EXPECT_NE(search_help.out.find("--k INT:INT in [1 - 1000]=5"), std::string::npos)
      << search_help.out;

  std::ofstream(dir_ + "/a.csv") << "intent,answer\nx,y\n";
  Result no_col = run("text index --data " + dir_ + "/a.csv --out " + dir_ + "/i.dti");
  EXPECT_EQ(no_col.code, 2);
  EXPECT_EQ(no_col.out, "deepcart: error: " + dir_ +
                            "/a.csv: a CSV, TSV or JSONL file needs --text-col (the column to "
                            "read)\n");
  Result missing = run("text search --index " + dir_ + "/none.dti \"hi\"");
  EXPECT_EQ(missing.code, 2);
  EXPECT_EQ(missing.out.rfind("deepcart: error: " + dir_ + "/none.dti", 0), 0u) << missing.out;
  Result no_encoder = run("text embed --encoder " + dir_ + "/none.dcm --input " + dir_ +
                          "/a.csv --text-col " + "answer --out " + dir_ + "/e.npy");
  EXPECT_EQ(no_encoder.code, 2);
  EXPECT_EQ(no_encoder.out,
            "deepcart: error: --encoder: " + dir_ +
                "/none.dcm does not exist (expected minilm, a sentence-transformers folder or a "
                "text model .dcm trained with --model minilm)\n");
}

}  // namespace
