#include "deepcart/data/inspect.h"

#include <gtest/gtest.h>

#include "temp_dir.h"

namespace deepcart::data {
namespace {

class InspectTest : public test_data::TempDirTest {};

TEST_F(InspectTest, CountsRowsEmptyCellsAndSkippedRows) {
  const std::string path = write("shop.csv",
                                 "user,item,price\n"
                                 "u1,i1,9.5\n"
                                 "u2,i2,\n"
                                 "u3,i3,4,extra\n"
                                 "u4,,1\n");
  TableOptions options;
  options.on_bad_row = OnBadRow::kSkip;
  const nlohmann::json r = inspect_table(path, options);
  EXPECT_EQ(r.at("rows"), 3);
  EXPECT_EQ(r.at("rows_read"), 4);
  EXPECT_EQ(r.at("rows_skipped"), 1);
  ASSERT_EQ(r.at("skip_reasons").size(), 1u);
  const auto& columns = r.at("columns");
  ASSERT_EQ(columns.size(), 3u);
  EXPECT_EQ(columns[0].at("name"), "user");
  EXPECT_EQ(columns[0].at("type"), "string");
  EXPECT_EQ(columns[1].at("empty_strings"), 1);  // u4's item
  EXPECT_EQ(columns[2].at("type"), "float");
  EXPECT_EQ(columns[2].at("empty"), 1);  // u2's price, counted, not an error

  const std::string text = describe_inspection(r);
  EXPECT_EQ(text.rfind(path + ": 3 rows (4 read, 1 skipped), 3 columns, read in ", 0), 0u) << text;
  EXPECT_NE(text.find("  price                    float   empty 1  empty text 0\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("  skipped: "), std::string::npos) << text;
}

TEST_F(InspectTest, FilledCellsAreReportedAsFilled) {
  const std::string path = write("p.csv", "id,price\n1,1\n2,\n3,2\n");
  TableOptions options;
  options.fill_missing = 0.0;
  const nlohmann::json r = inspect_table(path, options);
  EXPECT_EQ(r.at("cells_filled"), 1);
  EXPECT_EQ(r.at("columns")[1].at("filled"), 1);
  EXPECT_FALSE(r.at("columns")[1].contains("empty"));
  EXPECT_NE(describe_inspection(r).find("filled 1"), std::string::npos);
}

}  // namespace
}  // namespace deepcart::data
