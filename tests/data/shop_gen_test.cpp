#include "deepcart/data/shop_gen.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "deepcart/data/table.h"

namespace deepcart::data {
namespace {

namespace fs = std::filesystem;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(ShopGen, WritesAConsistentSyntheticLogWithMissingValues) {
  const std::string dir = ::testing::TempDir() + "/shop_" + std::to_string(::getpid());
  ShopOptions o;
  o.users = 60;
  o.items = 50;
  o.seed = 3;
  ShopSummary s = shop_generate(dir, o);
  EXPECT_EQ(s.events, s.views + s.carts + s.purchases);
  EXPECT_GT(s.purchases, 0);
  EXPECT_LE(s.purchases, s.carts);

  TableOptions t;
  t.columns = {{"user_id", ColumnType::kString}, {"item_id", ColumnType::kString},
               {"event", ColumnType::kString},   {"timestamp", ColumnType::kInt},
               {"price", ColumnType::kFloat},    {"dwell_seconds", ColumnType::kFloat},
               {"quantity", ColumnType::kInt}};
  t.fill_missing = 0.0;
  Table table = read_table(dir + "/events.csv", t);
  EXPECT_EQ(table.num_rows(), s.events);
  EXPECT_EQ(table.report.cells_filled, s.missing_cells);
  EXPECT_GT(table.column("price").missing, 0) << "cleaning must have something to do";
  int64_t purchases = 0;
  for (const auto& e : table.column("event").strings) purchases += e == "purchase";
  EXPECT_EQ(purchases, s.purchases);
  EXPECT_NE(slurp(dir + "/README.txt").find("SYNTHETIC"), std::string::npos);

  // The same seed gives the same file; another seed another.
  const std::string first = slurp(dir + "/events.csv");
  shop_generate(dir, o);
  EXPECT_EQ(slurp(dir + "/events.csv"), first);
  o.seed = 4;
  shop_generate(dir, o);
  EXPECT_NE(slurp(dir + "/events.csv"), first);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace deepcart::data
