// read_table contract: column choice, typing and integer casting, filling, type inference and the
// skip-mode report, with the exact messages a user sees.
#include "deepcart/data/table.h"

#include <gtest/gtest.h>

#include <stdlib.h>
#include "temp_dir.h"

#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>
#include "error_of.h"

namespace deepcart::data {
namespace {

using Strings = std::vector<std::string>;

class TableTest : public ::deepcart::test_data::TempDirTest {
 protected:
  static std::string error_of(const std::string& path, const TableOptions& options) {
    return test::error_of([&] { read_table(path, options); });
  }
};

TEST_F(TableTest, KeepsAllColumnsWithInferredTypes) {
  const std::string path =
      write("a.csv", "user_id,price,title,mixed\n1,9.5,shoe,1\n-2,3,\"hat, red\",x\n+3,1e2,,2\n");
  const Table table = read_table(path, {});
  ASSERT_EQ(table.columns.size(), 4u);
  EXPECT_EQ(table.num_rows(), 3);
  const Column& user = table.column("user_id");
  EXPECT_EQ(user.type, ColumnType::kInt);
  EXPECT_EQ(user.ints, (std::vector<int64_t>{1, -2, 3}));
  EXPECT_TRUE(user.strings.empty());
  const Column& price = table.column("price");
  EXPECT_EQ(price.type, ColumnType::kFloat);
  EXPECT_EQ(price.floats, (std::vector<double>{9.5, 3.0, 100.0}));
  const Column& title = table.column("title");
  EXPECT_EQ(title.type, ColumnType::kString);
  EXPECT_EQ(title.strings, (Strings{"shoe", "hat, red", ""}));
  EXPECT_EQ(title.missing, 0);
  EXPECT_EQ(table.column("mixed").type, ColumnType::kString);
  EXPECT_EQ(table.report.rows_read, 3);
  EXPECT_EQ(table.report.rows_kept, 3);
  EXPECT_EQ(table.report.rows_skipped, 0);
}

TEST_F(TableTest, InferenceTreatsIntegralFloatsAsFloatAndEmptyColumnAsString) {
  const std::string path = write("a.csv", "a,b\n3.0,\n4,\n");
  const Table table = read_table(path, {});
  EXPECT_EQ(table.column("a").type, ColumnType::kFloat);
  EXPECT_EQ(table.column("a").floats, (std::vector<double>{3.0, 4.0}));
  EXPECT_EQ(table.column("b").type, ColumnType::kString);
  EXPECT_EQ(table.column("b").strings, (Strings{"", ""}));
}

TEST_F(TableTest, KeepsChosenColumnsInSpecOrder) {
  const std::string path = write("a.csv", "a,b,c\n1,x,2.5\n2,y,3\n");
  TableOptions options;
  options.columns = {{"c", ColumnType::kFloat}, {"a", ColumnType::kString}};
  const Table table = read_table(path, options);
  ASSERT_EQ(table.columns.size(), 2u);
  EXPECT_EQ(table.columns[0].name, "c");
  EXPECT_EQ(table.columns[0].floats, (std::vector<double>{2.5, 3.0}));
  EXPECT_EQ(table.columns[1].name, "a");
  EXPECT_EQ(table.columns[1].type, ColumnType::kString);
  EXPECT_EQ(table.columns[1].strings, (Strings{"1", "2"}));
  EXPECT_FALSE(table.has_column("b"));
  EXPECT_TRUE(table.has_column("a"));
}

TEST_F(TableTest, CastsIntegralFloatsInIntColumn) {
  const std::string path = write("a.csv", "rating\n3.0\n-2.00\n1e3\n7\n");
  TableOptions options;
  options.columns = {{"rating", ColumnType::kInt}};
  const Table table = read_table(path, options);
  EXPECT_EQ(table.column("rating").type, ColumnType::kInt);
  EXPECT_EQ(table.column("rating").ints, (std::vector<int64_t>{3, -2, 1000, 7}));
}

TEST_F(TableTest, ErrorFractionInIntColumn) {
  const std::string path = write("a.csv", "id,rating\n1,4\n2,3.5\n");
  TableOptions options;
  options.columns = {{"rating", ColumnType::kInt}};
  EXPECT_EQ(error_of(path, options),
            path + ":3:2 (column 'rating'): expected an integer, found '3.5'");
}

TEST_F(TableTest, ErrorIntegerOutOfRange) {
  const std::string path = write("a.csv", "n\n9223372036854775807\n9223372036854775808\n");
  TableOptions options;
  options.columns = {{"n", ColumnType::kInt}};
  EXPECT_EQ(error_of(path, options),
            path + ":3:1 (column 'n'): expected an integer, found '9223372036854775808'");
}

TEST_F(TableTest, ErrorNonNumberInFloatColumn) {
  const std::string path = write("a.csv", "name,price\nshoe,9.5\nhat,abc\n");
  TableOptions options;
  options.columns = {{"price", ColumnType::kFloat}};
  EXPECT_EQ(error_of(path, options),
            path + ":3:2 (column 'price'): expected a number, found 'abc'");
}

TEST_F(TableTest, ErrorNanInfAndTrailingJunkInFloatColumn) {
  TableOptions options;
  options.columns = {{"x", ColumnType::kFloat}};
  for (const std::string value : {"nan", "inf", "-Infinity", "1.5x", " 2", "1e999"}) {
    const std::string path = write("a.csv", "x\n" + value + "\n");
    EXPECT_EQ(error_of(path, options),
              path + ":2:1 (column 'x'): expected a number, found '" + value + "'");
  }
}

TEST_F(TableTest, ErrorMessageCutsLongValues) {
  const std::string path = write("a.csv", "x\n" + std::string(50, 'z') + "\n");
  TableOptions options;
  options.columns = {{"x", ColumnType::kFloat}};
  EXPECT_EQ(error_of(path, options),
            path + ":2:1 (column 'x'): expected a number, found '" + std::string(40, 'z') + "...'");
}

TEST_F(TableTest, ErrorEmptyNumericCellWithoutFill) {
  const std::string path = write("a.csv", "name,price\nshoe,9.5\nhat,\n");
  TableOptions options;
  options.columns = {{"price", ColumnType::kFloat}};
  EXPECT_EQ(error_of(path, options),
            path +
                ":3:2 (column 'price'): expected a number, found an empty field (use "
                "--fill-missing to fill it)");
}

TEST_F(TableTest, ErrorEmptyAutoNumericCellNamesFirstEmptyLine) {
  const std::string path = write("a.csv", "a,price\nx,1\ny,\nz,2\nw,\n");
  EXPECT_EQ(error_of(path, {}),
            path +
                ":3:2 (column 'price'): expected a number, found an empty field (use "
                "--fill-missing to fill it)");
}

TEST_F(TableTest, FillMissingCountsFilledCells) {
  const std::string path = write("a.csv", "id,price,qty,auto_int,name\n1,,2,,a\n,2.5,,7,\n");
  TableOptions options;
  options.columns = {{"id", ColumnType::kInt},
                     {"price", ColumnType::kFloat},
                     {"qty", ColumnType::kInt},
                     {"auto_int"},
                     {"name", ColumnType::kString}};
  options.fill_missing = 0;
  const Table table = read_table(path, options);
  EXPECT_EQ(table.column("id").ints, (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(table.column("id").missing, 1);
  EXPECT_EQ(table.column("price").floats, (std::vector<double>{0.0, 2.5}));
  EXPECT_EQ(table.column("price").missing, 1);
  EXPECT_EQ(table.column("qty").missing, 1);
  EXPECT_EQ(table.column("auto_int").type, ColumnType::kInt);
  EXPECT_EQ(table.column("auto_int").ints, (std::vector<int64_t>{0, 7}));
  EXPECT_EQ(table.column("auto_int").missing, 1);
  EXPECT_EQ(table.column("name").strings, (Strings{"a", ""}));  // strings are never filled
  EXPECT_EQ(table.column("name").missing, 0);
  EXPECT_EQ(table.report.cells_filled, 4);
}

TEST_F(TableTest, FractionalFillTurnsAutoIntColumnIntoFloat) {
  const std::string path = write("a.csv", "n\n1\n\n2\n\"\"\n");
  TableOptions options;
  options.fill_missing = 0.5;
  const Table table = read_table(path, options);
  EXPECT_EQ(table.column("n").type, ColumnType::kFloat);
  EXPECT_EQ(table.column("n").floats, (std::vector<double>{1.0, 2.0, 0.5}));
  EXPECT_EQ(table.report.cells_filled, 1);
}

TEST_F(TableTest, ErrorFractionalFillForIntColumn) {
  const std::string path = write("a.csv", "n\n1\n");
  TableOptions options;
  options.columns = {{"n", ColumnType::kInt}};
  options.fill_missing = 0.5;
  EXPECT_EQ(error_of(path, options),
            path + ": cannot fill integer column 'n': expected a whole fill value, found 0.500000");
}

TEST_F(TableTest, ErrorMissingRequiredColumn) {
  const std::string path = write("a.csv", "a,b,c\n1,2,3\n");
  TableOptions options;
  options.columns = {{"a"}, {"user_id", ColumnType::kInt}};
  EXPECT_EQ(
      error_of(path, options),
      path + ": missing required column 'user_id': expected it in the header, found: a, b, c");
}

TEST_F(TableTest, OptionalMissingColumnIsAbsent) {
  const std::string path = write("a.csv", "a,b\n1,2\n");
  TableOptions options;
  options.columns = {{"b"}, {"user_id", ColumnType::kInt, false}};
  const Table table = read_table(path, options);
  ASSERT_EQ(table.columns.size(), 1u);
  EXPECT_FALSE(table.has_column("user_id"));
  EXPECT_EQ(table.column("b").ints, (std::vector<int64_t>{2}));
}

TEST_F(TableTest, ErrorColumnAskedTwice) {
  const std::string path = write("a.csv", "a,b\n1,2\n");
  TableOptions options;
  options.columns = {{"a"}, {"a", ColumnType::kInt}};
  EXPECT_EQ(error_of(path, options),
            path + ": column 'a' is asked for twice: expected each column once");
}

TEST_F(TableTest, ErrorUnknownColumnLookup) {
  const Table table = read_table(write("a.csv", "a,b,c\n1,2,3\n"), {});
  try {
    table.column("x");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "no column 'x'; columns are: a, b, c");
  }
}

TEST_F(TableTest, ErrorInvalidUtf8StopsReadByDefault) {
  const std::string path = write("a.csv", "a,b\n1,ok\n2,\xff\n");
  EXPECT_EQ(error_of(path, {}),
            path +
                ":3:2 (column 'b'): invalid UTF-8: expected a valid byte sequence, found byte "
                "0xff");
}

TEST_F(TableTest, SkipModeReportsEveryBadRow) {
  const std::string path = write("a.csv",
                                 "id,price,name\n"
                                 "1,9.5,shoe\n"
                                 "2,abc,hat\n"     // not a number
                                 "3,1.5\n"         // field count
                                 "4,2.5,\xff\n"    // UTF-8
                                 "5,,sock\n"       // empty without fill
                                 "\"6\"x,1,bad\n"  // character after quote
                                 "7.0,3,belt\n"    // cast to 7
                                 "8,4,\"scarf\"\n");
  TableOptions options;
  options.columns = {{"id", ColumnType::kInt}, {"price", ColumnType::kFloat}, {"name"}};
  options.on_bad_row = OnBadRow::kSkip;
  options.max_reasons = 3;
  const Table table = read_table(path, options);
  EXPECT_EQ(table.report.rows_read, 8);
  EXPECT_EQ(table.report.rows_kept, 3);
  EXPECT_EQ(table.report.rows_skipped, 5);
  EXPECT_EQ(table.report.cells_filled, 0);
  EXPECT_EQ(table.report.skip_reasons,
            (Strings{path + ":3:2 (column 'price'): expected a number, found 'abc'",
                     path + ":4: expected 3 fields (as in the header), found 2",
                     path + ":5:3 (column 'name'): invalid UTF-8: expected a valid byte sequence, "
                            "found byte 0xff"}));
  EXPECT_EQ(table.num_rows(), 3);
  EXPECT_EQ(table.column("id").ints, (std::vector<int64_t>{1, 7, 8}));
  EXPECT_EQ(table.column("price").floats, (std::vector<double>{9.5, 3.0, 4.0}));
  EXPECT_EQ(table.column("name").strings, (Strings{"shoe", "belt", "scarf"}));
}

TEST_F(TableTest, SkipModeDropsRowsWithEmptyAutoNumbers) {
  const std::string path = write("a.csv", "a,b,c\n1,x,\n,y,2\n3,z,4\n5,w,\n");
  TableOptions options;
  options.on_bad_row = OnBadRow::kSkip;
  const Table table = read_table(path, options);
  EXPECT_EQ(table.report.rows_read, 4);
  EXPECT_EQ(table.report.rows_kept, 1);
  EXPECT_EQ(table.report.rows_skipped, 3);
  const std::string tail =
      ": expected a number, found an empty field (use --fill-missing to fill it)";
  EXPECT_EQ(table.report.skip_reasons,
            (Strings{path + ":2:3 (column 'c')" + tail, path + ":3:1 (column 'a')" + tail,
                     path + ":5:3 (column 'c')" + tail}));
  EXPECT_EQ(table.column("a").ints, (std::vector<int64_t>{3}));
  EXPECT_EQ(table.column("b").strings, (Strings{"z"}));
  EXPECT_EQ(table.column("c").ints, (std::vector<int64_t>{4}));
}

TEST_F(TableTest, SkipModeStillStopsAtUnterminatedQuote) {
  const std::string path = write("a.csv", "a,b\n1,2\n3,\"open\n4,5\n");
  TableOptions options;
  options.on_bad_row = OnBadRow::kSkip;
  EXPECT_EQ(error_of(path, options), path +
                                         ":3:2 (column 'b'): unterminated quoted field: expected "
                                         "a closing '\"' before end of file");
}

TEST_F(TableTest, HeaderlessColumnsAreNamedByPosition) {
  const std::string path = write("a.tsv", "7\tx\n8\ty\n");
  TableOptions options;
  options.csv.has_header = false;
  const Table table = read_table(path, options);
  ASSERT_EQ(table.columns.size(), 2u);
  EXPECT_EQ(table.column("1").ints, (std::vector<int64_t>{7, 8}));
  EXPECT_EQ(table.column("2").strings, (Strings{"x", "y"}));
}

}  // namespace
}  // namespace deepcart::data

namespace deepcart::data {
namespace {

class TableHostileInput : public TableTest {};

TEST_F(TableHostileInput, ANumberOutOfItsRangeNamesLineAndColumn) {
  // 1e26 used to be cast to int64 (undefined behaviour) and sorted first.
  const std::string path = write("t.csv", "user_id,item_id,timestamp\nu1,i1,5\nu1,i2,1e26\n");
  TableOptions options;
  options.columns = {{"timestamp", ColumnType::kFloat, true, -kInt64Safe, kInt64Safe}};
  EXPECT_EQ(
      error_of(path, options),
      path + ":3:3 (column 'timestamp'): expected a number from -9.2e+18 to 9.2e+18, found '1e26'");
  options.on_bad_row = OnBadRow::kSkip;
  const Table table = read_table(path, options);
  EXPECT_EQ(table.num_rows(), 1);
  EXPECT_EQ(table.report.rows_skipped, 1);
}

TEST_F(TableHostileInput, ControlCharactersInIdsAreErrorsNotParts) {
  const std::string path =
      write("ids.csv", std::string("user_id,event\nu1\r,view\nu2,purchase\0\n", 36));
  TableOptions options;
  const double inf = std::numeric_limits<double>::infinity();
  options.columns = {{"user_id", ColumnType::kString, true, -inf, inf, true},
                     {"event", ColumnType::kString, true, -inf, inf, true}};
  options.on_bad_row = OnBadRow::kSkip;
  const Table table = read_table(path, options);
  EXPECT_EQ(table.num_rows(), 0);
  ASSERT_EQ(table.report.skip_reasons.size(), 2u);
  EXPECT_EQ(
      table.report.skip_reasons[0],
      path + ":2:1 (column 'user_id'): expected an id without control characters, found 'u1\\r'");
  EXPECT_EQ(table.report.skip_reasons[1],
            path + ":3:2 (column 'event'): expected text, found a NUL byte (0x00)");
}

TEST_F(TableHostileInput, MessagesShowControlCharactersEscaped) {
  EXPECT_EQ(show_value(std::string("a\0b\r\n\t\x7f", 7)), "'a\\x00b\\r\\n\\t\\x7f'");
  EXPECT_EQ(show_value(std::string(50, 'z')), "'" + std::string(40, 'z') + "...'");
}

TEST_F(TableHostileInput, AnEmptyColumnNameIsRefused) {
  const std::string path = write("e.csv", ",text\n0,hi\n");
  TableOptions options;
  options.columns = {{"", ColumnType::kString, true}};
  EXPECT_EQ(error_of(path, options), path +
                                         ": expected a column name, found an empty one (an unnamed "
                                         "column in the header cannot be chosen)");
}

TEST_F(TableHostileInput, InspectionCountsEmptyNumbersInsteadOfStopping) {
  const std::string path = write("i.csv", "id,price\n1,9.5\n2,\n3,4\n");
  TableOptions options;
  options.tolerate_empty = true;
  const Table table = read_table(path, options);
  EXPECT_EQ(table.num_rows(), 3);
  EXPECT_EQ(table.column("price").type, ColumnType::kFloat);
  EXPECT_EQ(table.column("price").missing, 1);
  EXPECT_EQ(table.column("price").floats, (std::vector<double>{9.5, 0, 4}));
}

}  // namespace
}  // namespace deepcart::data
