// The reader against the real shop data sets in ../shared/data/text: every CSV must parse, and the
// record counts and a few known quirks (BOM header, multi-line reviews, one empty review, a stray
// BOM inside a field) must come out as the data README states.
#include <gtest/gtest.h>

#include "shared_data.h"

#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "deepcart/data/csv_reader.h"
#include "deepcart/data/table.h"

namespace deepcart::data {
namespace {

namespace fs = std::filesystem;

std::string text_dir() { return ::deepcart::test_data::shared_data_dir() + "/text"; }

TEST(RealCsvTest, EveryCsvParsesWithKnownRecordCounts) {
  const std::string dir = text_dir();
  REQUIRE_SHARED_DATA(dir);
  const std::map<std::string, int64_t> expected = {
      {"womens-clothing-reviews.csv", 23486},
      {"online_shopping_10_cats.csv", 62774},
      {"banking77/train.csv", 10003},
      {"banking77/test.csv", 3080},
      {"bitext-customer-service/bitext_customer_service_8k.csv", 8175},
  };
  std::map<std::string, int64_t> counted;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".csv") continue;
    const std::string relative = fs::relative(entry.path(), dir).generic_string();
    CsvReader reader(entry.path().string());
    std::vector<std::string> fields;
    while (reader.next(fields)) {
    }
    counted[relative] = reader.records_read();
  }
  for (const auto& [name, count] : expected) {
    ASSERT_TRUE(counted.count(name)) << name << " not found under " << dir;
    EXPECT_EQ(counted[name], count) << name;
  }
}

TEST(RealCsvTest, BitextHeaderLosesItsBom) {
  const std::string dir = text_dir();
  REQUIRE_SHARED_DATA(dir);
  CsvReader reader(dir + "/bitext-customer-service/bitext_customer_service_8k.csv");
  EXPECT_EQ(reader.header(),
            (std::vector<std::string>{"flags", "utterance", "category", "intent"}));
}

TEST(RealCsvTest, WomensReviewsHaveMultiLineFields) {
  const std::string dir = text_dir();
  REQUIRE_SHARED_DATA(dir);
  CsvReader reader(dir + "/womens-clothing-reviews.csv");
  EXPECT_EQ(reader.header().front(), "");  // the unnamed pandas index column
  const int review = reader.column_index("Review Text");
  ASSERT_EQ(review, 4);
  std::vector<std::string> fields;
  int64_t multi_line = 0;
  while (reader.next(fields)) multi_line += fields[review].find('\n') != std::string::npos;
  EXPECT_GT(multi_line, 0);
}

TEST(RealCsvTest, WomensReviewsAsTable) {
  const std::string dir = text_dir();
  REQUIRE_SHARED_DATA(dir);
  const Table table = read_table(dir + "/womens-clothing-reviews.csv", {});
  EXPECT_EQ(table.num_rows(), 23486);
  EXPECT_EQ(table.report.rows_skipped, 0);
  EXPECT_EQ(table.column("Rating").type, ColumnType::kInt);
  EXPECT_EQ(table.column("Age").type, ColumnType::kInt);
  EXPECT_EQ(table.column("Review Text").type, ColumnType::kString);
  for (int64_t rating : table.column("Rating").ints) {
    ASSERT_GE(rating, 1);
    ASSERT_LE(rating, 5);
  }
}

TEST(RealCsvTest, OnlineShoppingHasOneEmptyReviewAndAStrayBom) {
  const std::string dir = text_dir();
  REQUIRE_SHARED_DATA(dir);
  TableOptions options;
  options.columns = {
      {"cat", ColumnType::kString}, {"label", ColumnType::kInt}, {"review", ColumnType::kString}};
  const Table table = read_table(dir + "/online_shopping_10_cats.csv", options);
  ASSERT_EQ(table.num_rows(), 62774);
  int64_t empty = 0;
  for (const std::string& review : table.column("review").strings) empty += review.empty();
  EXPECT_EQ(empty, 1);
  // The first review starts with a BOM: data, kept as-is.
  EXPECT_EQ(table.column("review").strings[0].rfind("\xef\xbb\xbf", 0), 0u);
  int64_t positive = 0;
  for (int64_t label : table.column("label").ints) positive += label;
  EXPECT_EQ(positive, 31728);
}

}  // namespace
}  // namespace deepcart::data
