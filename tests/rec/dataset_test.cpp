// Loading and splitting of recommendation data: exact counts on hand-made files in every
// format, the error messages a user sees, the split contracts, and the published sizes of the
// real MovieLens-100K and Amazon Beauty files.
#include "deepcart/rec/dataset.h"

#include <gtest/gtest.h>

#include "shared_data.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "deepcart/core/error.h"
#include "error_of.h"

namespace deepcart::rec {
namespace {

namespace fs = std::filesystem;
using Ids = std::vector<int64_t>;

// A fresh directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("deepcart_dataset_test_" + std::string(info->name()) + "_" +
                                        std::to_string(std::random_device{}()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  ~TempDir() { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) const {
    const fs::path path = dir_ / name;
    std::ofstream(path, std::ios::binary) << text;
    return path.string();
  }

 private:
  fs::path dir_;
};

using test::error_of;

void expect_counts_add_up(const RecDataset& d) {
  EXPECT_EQ(d.rows_read, d.rows_skipped + d.rows_not_positive + d.rows_below_rating +
                             d.rows_duplicate + d.rows_filtered_kcore + d.num_interactions());
}

std::vector<std::string> names(const data::IdMap& map) {
  std::vector<std::string> out;
  for (int64_t i = 0; i < map.size(); ++i) out.push_back(map.name(i));
  return out;
}

// A user's sequence spelled with the file's item ids.
std::vector<std::string> items_of(const RecDataset& d, const std::string& user) {
  std::vector<std::string> out;
  const int64_t u = d.users.find(user);
  if (u < 0) return {"<no user " + user + ">"};
  for (int64_t i : d.sequences[u]) out.push_back(d.items.name(i));
  return out;
}

using Strings = std::vector<std::string>;

// ---------------------------------------------------------------------------------------------
// Loading

TEST(RecDatasetCsv, PositiveEventThenMinRatingWithExactCounts) {
  TempDir tmp;
  const std::string path = tmp.write("log.csv",
                                     "user_id,item_id,event,rating,timestamp\n"
                                     "u1,a,purchase,5,30\n"
                                     "u1,b,view,5,10\n"      // not positive
                                     "u1,c,purchase,2,20\n"  // below rating
                                     "u2,a,purchase,4,5\n"
                                     "u2,b,view,1,1\n"  // not positive: the event filter is first
                                     "u1,d,purchase,4,10\n");
  RecLoadOptions options;
  options.positive_event = "purchase";
  options.min_rating = 4.0;
  const RecDataset d = rec_dataset_read(path, options);
  EXPECT_EQ(d.rows_read, 6);
  EXPECT_EQ(d.rows_not_positive, 2);
  EXPECT_EQ(d.rows_below_rating, 1);
  EXPECT_EQ(d.rows_duplicate, 0);
  EXPECT_EQ(d.rows_filtered_kcore, 0);
  EXPECT_EQ(d.rows_skipped, 0);
  EXPECT_EQ(d.num_interactions(), 3);
  expect_counts_add_up(d);
  // Ids in order of first appearance among kept rows; sequences in time order.
  EXPECT_EQ(names(d.users), (Strings{"u1", "u2"}));
  EXPECT_EQ(names(d.items), (Strings{"a", "d"}));
  EXPECT_EQ(d.sequences, (std::vector<Ids>{{1, 0}, {0}}));
  EXPECT_EQ(d.times, (std::vector<Ids>{{10, 30}, {5}}));
}

TEST(RecDatasetCsv, WithoutOptionalColumnsEveryRowCountsInFileOrder) {
  TempDir tmp;
  const std::string path = tmp.write("log.csv", "item_id,user_id\nx,1\ny,2\nz,1\n");
  RecLoadOptions options;
  options.positive_event = "purchase";  // ignored: the file has no event column
  const RecDataset d = rec_dataset_read(path, options);
  EXPECT_EQ(d.rows_not_positive, 0);
  EXPECT_EQ(names(d.users), (Strings{"1", "2"}));
  EXPECT_EQ(items_of(d, "1"), (Strings{"x", "z"}));
  EXPECT_EQ(d.times, (std::vector<Ids>{{0, 2}, {1}}));  // row positions
}

TEST(RecDatasetCsv, CustomColumnNamesAndTiesKeepFileOrder) {
  TempDir tmp;
  const std::string path =
      tmp.write("log.csv", "customer,sku,when\nc,p3,7\nc,p1,2.5\nc,p2,7\nc,p0,-1\n");
  RecLoadOptions options;
  options.user_col = "customer";
  options.item_col = "sku";
  options.time_col = "when";
  const RecDataset d = rec_dataset_read(path, options);
  EXPECT_EQ(items_of(d, "c"), (Strings{"p0", "p1", "p3", "p2"}));
  EXPECT_EQ(d.times, (std::vector<Ids>{{-1, 2, 7, 7}}));  // fractions floored
}

TEST(RecDatasetCsv, EqualTimesKeepFileOrderInLongSequences) {
  // Long enough that an unstable sort would reorder ties.
  TempDir tmp;
  std::string text = "user_id,item_id,timestamp\n";
  Strings expected[3];
  for (int k = 0; k < 60; ++k) {
    const int time = (k * 7) % 3;
    text += "u,i" + std::to_string(k) + "," + std::to_string(time) + "\n";
    expected[time].push_back("i" + std::to_string(k));
  }
  const RecDataset d = rec_dataset_read(tmp.write("log.csv", text), {});
  Strings all = expected[0];
  all.insert(all.end(), expected[1].begin(), expected[1].end());
  all.insert(all.end(), expected[2].begin(), expected[2].end());
  EXPECT_EQ(items_of(d, "u"), all);
}

TEST(RecDatasetCsv, DedupeKeepsTheEarliestInteraction) {
  TempDir tmp;
  const std::string path = tmp.write("log.csv",
                                     "user_id,item_id,timestamp\n"
                                     "u,a,50\n"
                                     "u,b,20\n"
                                     "u,a,10\n"
                                     "u,b,30\n"
                                     "v,a,40\n");
  RecLoadOptions options;
  options.dedupe = true;
  const RecDataset d = rec_dataset_read(path, options);
  EXPECT_EQ(d.rows_duplicate, 2);
  EXPECT_EQ(items_of(d, "u"), (Strings{"a", "b"}));
  EXPECT_EQ(d.times[d.users.find("u")], (Ids{10, 20}));
  EXPECT_EQ(items_of(d, "v"), (Strings{"a"}));
  expect_counts_add_up(d);

  options.dedupe = false;
  const RecDataset all = rec_dataset_read(path, options);
  EXPECT_EQ(all.rows_duplicate, 0);
  EXPECT_EQ(items_of(all, "u"), (Strings{"a", "b", "b", "a"}));
}

TEST(RecDatasetCsv, MissingRequiredColumnNamesIt) {
  TempDir tmp;
  const std::string path = tmp.write("log.csv", "user_id,product\n1,2\n");
  EXPECT_EQ(error_of([&] { rec_dataset_read(path, {}); }),
            path +
                ": missing required column 'item_id': expected it in the header, found: "
                "user_id, product");
}

TEST(RecDatasetCsv, MinRatingWithoutRatingColumnIsAnError) {
  TempDir tmp;
  const std::string path = tmp.write("log.csv", "user_id,item_id\n1,2\n");
  RecLoadOptions options;
  options.min_rating = 3.0;
  EXPECT_EQ(error_of([&] { rec_dataset_read(path, options); }),
            path + ": a minimum rating was given: expected a rating column 'rating', found none");
}

TEST(RecDatasetCsv, BadRowsAreSkippedAndCounted) {
  TempDir tmp;
  const std::string path = tmp.write("log.csv",
                                     "user_id,item_id,rating\n"
                                     "1,a,5\n"
                                     "2,b,five\n"
                                     "3,c\n"
                                     ",d,4\n"
                                     "4,e,3\n");
  RecLoadOptions options;
  options.on_bad_row = data::OnBadRow::kSkip;
  const RecDataset d = rec_dataset_read(path, options);
  EXPECT_EQ(d.rows_read, 5);
  EXPECT_EQ(d.rows_skipped, 3);
  EXPECT_EQ(d.num_interactions(), 2);
  ASSERT_EQ(d.skip_reasons.size(), 3u);
  EXPECT_EQ(d.skip_reasons[0], path + ":3:3 (column 'rating'): expected a number, found 'five'");
  EXPECT_EQ(d.skip_reasons[2],
            path +
                ": data row 2 (not counting 2 skipped rows): expected an id in column 'user_id', "
                "found an empty field");
  expect_counts_add_up(d);

  // Without skipped rows the data row number is exact (the header is not a data row).
  const std::string empty_item = tmp.write("items.csv", "user_id,item_id\n1,a\n2,\n");
  EXPECT_EQ(error_of([&] { rec_dataset_read(empty_item, {}); }),
            empty_item + ": data row 2: expected an id in column 'item_id', found an empty field");

  options.on_bad_row = data::OnBadRow::kError;
  EXPECT_EQ(error_of([&] { rec_dataset_read(path, options); }),
            path + ":3:3 (column 'rating'): expected a number, found 'five'");
}

TEST(RecDatasetMovieLens, UDataTabSeparatedWithRatingThreshold) {
  TempDir tmp;
  const std::string path = tmp.write("u.data",
                                     "1\t10\t5\t300\n"
                                     "2\t10\t3\t100\n"
                                     "1\t20\t4\t200\n");
  const RecDataset all = rec_dataset_read(path, {});  // auto: u.data -> movielens
  EXPECT_EQ(all.rows_read, 3);
  EXPECT_EQ(names(all.users), (Strings{"1", "2"}));
  EXPECT_EQ(names(all.items), (Strings{"10", "20"}));
  EXPECT_EQ(all.sequences, (std::vector<Ids>{{1, 0}, {0}}));
  EXPECT_EQ(all.times, (std::vector<Ids>{{200, 300}, {100}}));

  RecLoadOptions options;
  options.min_rating = 4.0;
  const RecDataset liked = rec_dataset_read(path, options);
  EXPECT_EQ(liked.rows_below_rating, 1);
  EXPECT_EQ(names(liked.users), (Strings{"1"}));
  EXPECT_EQ(liked.sequences, (std::vector<Ids>{{1, 0}}));
  expect_counts_add_up(liked);
}

TEST(RecDatasetMovieLens, UDataBadRowsNameTheLine) {
  TempDir tmp;
  const std::string path = tmp.write("u.data", "1\t10\t5\t300\n2\t10\tx\t100\n3\t4\t5\n");
  EXPECT_EQ(error_of([&] { rec_dataset_read(path, {}); }),
            path + ":2: expected a numeric rating, found 'x'");
  RecLoadOptions options;
  options.on_bad_row = data::OnBadRow::kSkip;
  const RecDataset d = rec_dataset_read(path, options);
  EXPECT_EQ(d.rows_read, 3);
  EXPECT_EQ(d.rows_skipped, 2);
  EXPECT_EQ(d.num_interactions(), 1);
  EXPECT_EQ(d.skip_reasons.size(), 2u);
  expect_counts_add_up(d);

  // The first record fixes the field count for the whole file, so it is fatal even when skipping.
  const std::string short_first = tmp.write("v.data", "1\t10\t5\n2\t10\t3\t100\n");
  EXPECT_EQ(
      error_of([&] { rec_dataset_read(short_first, options); }),
      short_first + ":1: expected 4 tab-separated fields (user, item, rating, timestamp), found 3");
}

TEST(RecDatasetMovieLens, RatingsDatDoubleColon) {
  TempDir tmp;
  const std::string path = tmp.write("ratings.dat",
                                     "1::1193::5::978300760\r\n"
                                     "1::661::3::978302109\r\n"
                                     "\r\n"
                                     "2::1193::4::978298413\r\n");
  const RecDataset d = rec_dataset_read(path, {});  // auto: ratings.dat -> movielens
  EXPECT_EQ(d.rows_read, 3);
  EXPECT_EQ(names(d.users), (Strings{"1", "2"}));
  EXPECT_EQ(names(d.items), (Strings{"1193", "661"}));
  EXPECT_EQ(d.sequences, (std::vector<Ids>{{0, 1}, {0}}));
  EXPECT_EQ(d.times, (std::vector<Ids>{{978300760, 978302109}, {978298413}}));
  expect_counts_add_up(d);
}

TEST(RecDatasetMovieLens, RatingsDatBadFieldCount) {
  TempDir tmp;
  const std::string path =
      tmp.write("ratings.dat", "1::1193::5::978300760\n1::661::3\n2::1::4::x\n3::7::4::5\n");
  EXPECT_EQ(error_of([&] { rec_dataset_read(path, {}); }),
            path + ":2: expected 4 fields separated by '::', found 3");
  RecLoadOptions options;
  options.on_bad_row = data::OnBadRow::kSkip;
  const RecDataset d = rec_dataset_read(path, options);
  EXPECT_EQ(d.rows_read, 4);
  EXPECT_EQ(d.rows_skipped, 2);
  EXPECT_EQ(d.skip_reasons, (Strings{path + ":2: expected 4 fields separated by '::', found 3",
                                     path + ":3: expected an integer timestamp, found 'x'"}));
  EXPECT_EQ(names(d.users), (Strings{"1", "3"}));
  expect_counts_add_up(d);
}

TEST(RecDatasetSeq, OneUserPerLineWithPositionsAsTimes) {
  TempDir tmp;
  const std::string path = tmp.write("beauty.txt", "1 5 6 7\n2 6 8\n\n");
  const RecDataset d = rec_dataset_read(path, {});  // auto: .txt of integers -> seq
  EXPECT_EQ(d.rows_read, 5);
  EXPECT_EQ(names(d.users), (Strings{"1", "2"}));
  EXPECT_EQ(names(d.items), (Strings{"5", "6", "7", "8"}));
  EXPECT_EQ(d.sequences, (std::vector<Ids>{{0, 1, 2}, {1, 3}}));
  EXPECT_EQ(d.times, (std::vector<Ids>{{0, 1, 2}, {0, 1}}));
  expect_counts_add_up(d);
}

TEST(RecDatasetSeq, DedupeCountsRepeatedItems) {
  TempDir tmp;
  const std::string path = tmp.write("s.txt", "1 5 6 5 7 6\n");
  RecLoadOptions options;
  options.dedupe = true;
  const RecDataset d = rec_dataset_read(path, options);
  EXPECT_EQ(d.rows_read, 5);
  EXPECT_EQ(d.rows_duplicate, 2);
  EXPECT_EQ(items_of(d, "1"), (Strings{"5", "6", "7"}));
  EXPECT_EQ(d.times, (std::vector<Ids>{{0, 1, 3}}));
  expect_counts_add_up(d);
}

TEST(RecDatasetSeq, NonIntegerItemIsAnErrorOrSkipped) {
  TempDir tmp;
  const std::string path = tmp.write("s.txt", "1 5 6\n2 5 x 7\nu 5 6\n");
  EXPECT_EQ(error_of([&] { rec_dataset_read(path, {}); }),
            path + ":2: expected an integer item id, found 'x'");
  RecLoadOptions options;
  options.on_bad_row = data::OnBadRow::kSkip;
  const RecDataset d = rec_dataset_read(path, options);
  EXPECT_EQ(d.rows_read, 7);
  EXPECT_EQ(d.rows_skipped, 3);  // the 'x' token, and both items of the line with user 'u'
  EXPECT_EQ(d.skip_reasons, (Strings{path + ":2: expected an integer item id, found 'x'",
                                     path + ":3: expected an integer user id, found 'u'"}));
  EXPECT_EQ(items_of(d, "2"), (Strings{"5", "7"}));
  EXPECT_EQ(d.times[d.users.find("2")], (Ids{0, 1}));
  expect_counts_add_up(d);
}

TEST(RecDatasetSeq, MinRatingIsRejected) {
  TempDir tmp;
  const std::string path = tmp.write("s.txt", "1 5 6\n");
  RecLoadOptions options;
  options.min_rating = 4.0;
  EXPECT_EQ(error_of([&] { rec_dataset_read(path, options); }),
            path +
                ": a minimum rating was given: expected ratings, found the seq format "
                "(\"user item item ...\"), which has none");
}

TEST(RecDatasetKCore, IteratesUntilBothThresholdsHold) {
  // Pass 1 drops item z (one interaction); that leaves user C with one interaction, which only
  // pass 2 can drop. A single pass would keep (C, y).
  TempDir tmp;
  const std::string path = tmp.write("log.csv",
                                     "user_id,item_id\n"
                                     "C,y\n"
                                     "A,x\n"
                                     "A,y\n"
                                     "B,x\n"
                                     "C,z\n"
                                     "B,y\n");
  RecLoadOptions options;
  options.min_user_interactions = 2;
  options.min_item_interactions = 2;
  const RecDataset d = rec_dataset_read(path, options);
  EXPECT_EQ(d.rows_filtered_kcore, 2);
  EXPECT_EQ(d.num_interactions(), 4);
  EXPECT_EQ(names(d.users), (Strings{"A", "B"}));
  EXPECT_EQ(names(d.items), (Strings{"x", "y"}));  // first appearance after filtering
  EXPECT_EQ(d.sequences, (std::vector<Ids>{{0, 1}, {0, 1}}));
  EXPECT_EQ(d.users.find("C"), -1);
  EXPECT_EQ(d.items.find("z"), -1);
  expect_counts_add_up(d);
}

TEST(RecDatasetKCore, RunsAfterDedupe) {
  // User 1 has item 5 twice: 2 rows, but only 1 after dedupe, so the 2-core drops it.
  TempDir tmp;
  const std::string path = tmp.write("s.txt", "1 5 5\n2 5 6\n3 5 6\n");
  RecLoadOptions options;
  options.dedupe = true;
  options.min_user_interactions = 2;
  const RecDataset d = rec_dataset_read(path, options);
  EXPECT_EQ(d.rows_duplicate, 1);
  EXPECT_EQ(d.rows_filtered_kcore, 1);
  EXPECT_EQ(names(d.users), (Strings{"2", "3"}));
  expect_counts_add_up(d);
}

TEST(RecDatasetFormat, NamesAndAutoDetection) {
  EXPECT_EQ(rec_format_from_name("auto"), RecFormat::kAuto);
  EXPECT_EQ(rec_format_from_name("csv"), RecFormat::kCsv);
  EXPECT_EQ(rec_format_from_name("movielens"), RecFormat::kMovieLens);
  EXPECT_EQ(rec_format_from_name("seq"), RecFormat::kSeq);
  EXPECT_EQ(error_of([] { rec_format_from_name("parquet"); }),
            "--format: expected auto, csv, movielens or seq, found 'parquet'");

  TempDir tmp;
  // Any *.data file is MovieLens; a .txt whose first line is not all integers is CSV.
  const RecDataset tsv = rec_dataset_read(tmp.write("ratings.data", "7\t8\t1\t5\n"), {});
  EXPECT_EQ(items_of(tsv, "7"), (Strings{"8"}));
  const RecDataset csv = rec_dataset_read(tmp.write("log.txt", "user_id,item_id\n7,8\n"), {});
  EXPECT_EQ(items_of(csv, "7"), (Strings{"8"}));
  const RecDataset seq = rec_dataset_read(tmp.write("seq.txt", "\n7 8 9\n"), {});
  EXPECT_EQ(items_of(seq, "7"), (Strings{"8", "9"}));

  const std::string missing = (fs::temp_directory_path() / "deepcart_no_such_file.txt").string();
  EXPECT_EQ(error_of([&] { rec_dataset_read(missing, {}); }),
            missing + ": cannot open: No such file or directory");

  // An explicit format wins over the name.
  RecLoadOptions options;
  options.format = RecFormat::kSeq;
  const RecDataset forced = rec_dataset_read(tmp.write("log.csv", "7 8 9\n"), options);
  EXPECT_EQ(forced.num_interactions(), 2);
}

// ---------------------------------------------------------------------------------------------
// Splits

// Users 0..3 with distinct items, in time order.
RecDataset toy_dataset() {
  RecDataset d;
  d.sequences = {{0, 1, 2, 3}, {4, 5, 6}, {7, 8}, {9}};
  for (size_t u = 0; u < d.sequences.size(); ++u) {
    d.users.add("u" + std::to_string(u));
    d.times.emplace_back();
    for (size_t k = 0; k < d.sequences[u].size(); ++k) {
      d.times[u].push_back(static_cast<int64_t>(k));
    }
  }
  for (int i = 0; i < 10; ++i) d.items.add("i" + std::to_string(i));
  return d;
}

// n users with 2..n+1 distinct items each.
RecDataset many_users(int n) {
  RecDataset d;
  int64_t next = 0;
  for (int u = 0; u < n; ++u) {
    d.users.add("u" + std::to_string(u));
    d.sequences.emplace_back();
    d.times.emplace_back();
    for (int k = 0; k < u + 2; ++k) {
      d.items.add("i" + std::to_string(next));
      d.sequences[u].push_back(next++);
      d.times[u].push_back(k);
    }
  }
  return d;
}

// No item in two parts, together exactly the user's items, train in time order.
void expect_partition(const RecDataset& d, const RecSplit& s) {
  ASSERT_EQ(s.train.size(), d.sequences.size());
  ASSERT_EQ(s.valid.size(), d.sequences.size());
  ASSERT_EQ(s.test.size(), d.sequences.size());
  for (size_t u = 0; u < d.sequences.size(); ++u) {
    Ids all = s.train[u];
    all.insert(all.end(), s.valid[u].begin(), s.valid[u].end());
    all.insert(all.end(), s.test[u].begin(), s.test[u].end());
    std::sort(all.begin(), all.end());
    Ids expected = d.sequences[u];
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(all, expected) << "user " << u;  // items are distinct: equal means no overlap
    EXPECT_TRUE(std::includes(d.sequences[u].begin(), d.sequences[u].end(), s.train[u].begin(),
                              s.train[u].end()))
        << "user " << u << ": train is not in time order";
  }
}

TEST(RecSplitLeaveOneOut, LastTestSecondToLastValid) {
  const RecDataset d = toy_dataset();
  const RecSplit s = split_leave_one_out(d);
  EXPECT_EQ(s.train, (std::vector<Ids>{{0, 1}, {4}, {7, 8}, {9}}));
  EXPECT_EQ(s.valid, (std::vector<Ids>{{2}, {5}, {}, {}}));
  EXPECT_EQ(s.test, (std::vector<Ids>{{3}, {6}, {}, {}}));
  EXPECT_EQ(s.protocol, "leave-one-out by time: last item test, second-to-last validation");
  expect_partition(d, s);
}

TEST(RecSplitRandom, PerUserCountsFollowTheRatios) {
  RecDataset d;
  d.sequences = {{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {0, 1}, {0}};
  const RecSplit s = split_random(d, 0.3, 0.25, 42);
  // 10 items: round(3.0) test, round(0.25 * 7) = 2 validation, 5 train.
  EXPECT_EQ(s.test[0].size(), 3u);
  EXPECT_EQ(s.valid[0].size(), 2u);
  EXPECT_EQ(s.train[0].size(), 5u);
  // 2 items: at least one test item; 1 item: nothing held out.
  EXPECT_EQ(s.test[1].size(), 1u);
  EXPECT_EQ(s.train[1].size(), 1u);
  EXPECT_EQ(s.valid[1].size(), 0u);
  EXPECT_EQ(s.train[2], (Ids{0}));
  EXPECT_TRUE(s.test[2].empty());
  expect_partition(d, s);
  EXPECT_EQ(s.protocol, "per-user random holdout: 30% test, 25% of the rest validation, seed 42");
  EXPECT_EQ(split_random(d, 0.25, 0, 7).protocol,
            "per-user random holdout: 25% test, no validation, seed 7");
}

TEST(RecSplitRandom, SeededAndIndependentOfOtherUsers) {
  const RecDataset d = many_users(30);
  const RecSplit a = split_random(d, 0.25, 0.1, 42);
  const RecSplit b = split_random(d, 0.25, 0.1, 42);
  const RecSplit c = split_random(d, 0.25, 0.1, 43);
  expect_partition(d, a);
  expect_partition(d, c);
  EXPECT_EQ(a.train, b.train);
  EXPECT_EQ(a.valid, b.valid);
  EXPECT_EQ(a.test, b.test);
  EXPECT_NE(a.test, c.test);
  for (size_t u = 0; u < d.sequences.size(); ++u) {
    const size_t n = d.sequences[u].size();
    EXPECT_EQ(a.test[u].size(), std::max<size_t>(1, std::lround(0.25 * n))) << "user " << u;
  }
  // Users with the same number of items draw from different streams (the user index is part of
  // the seed), so they do not all hold out the same positions.
  RecDataset same_size;
  for (int u = 0; u < 20; ++u) same_size.sequences.push_back({0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  const RecSplit same = split_random(same_size, 0.2, 0, 42);
  int differing = 0;
  for (int u = 1; u < 20; ++u) differing += same.test[u] != same.test[0];
  EXPECT_GE(differing, 15);
  // Changing one user's items leaves every other user's split as it was.
  RecDataset changed = d;
  changed.sequences[0] = {1000, 1001, 1002, 1003, 1004};
  const RecSplit e = split_random(changed, 0.25, 0.1, 42);
  for (size_t u = 1; u < d.sequences.size(); ++u) {
    EXPECT_EQ(e.test[u], a.test[u]) << "user " << u;
    EXPECT_EQ(e.valid[u], a.valid[u]) << "user " << u;
  }
}

TEST(RecSplitTime, LastShareIsTestAndLastOfTheRestValid) {
  RecDataset d;
  d.sequences = {{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {3, 4}, {5}};
  const RecSplit s = split_time(d, 0.8, 0.25);
  // 10 items: 2 test, round(0.25 * 8) = 2 validation.
  EXPECT_EQ(s.train, (std::vector<Ids>{{0, 1, 2, 3, 4, 5}, {3}, {5}}));
  EXPECT_EQ(s.valid, (std::vector<Ids>{{6, 7}, {}, {}}));
  EXPECT_EQ(s.test, (std::vector<Ids>{{8, 9}, {4}, {}}));
  EXPECT_EQ(s.protocol,
            "per-user split by time: last 20% of each user's items test, last 25% of the rest "
            "validation");
  expect_partition(d, s);
}

TEST(RecSplitExplicit, MapsTestIdsAndDropsUnknownOnes) {
  RecDataset train;
  for (const char* u : {"u1", "u2"}) train.users.add(u);
  for (const char* i : {"a", "b", "c", "d"}) train.items.add(i);
  train.sequences = {{0, 1, 2, 3}, {2}};
  RecDataset test;
  for (const char* u : {"u3", "u1"}) test.users.add(u);
  for (const char* i : {"c", "z", "b"}) test.items.add(i);
  test.sequences = {{0}, {1, 2, 0}};  // u3: c (unknown user); u1: z (unknown item), b, c
  int64_t dropped = -1;
  const RecSplit s = split_explicit(train, test, 0.25, &dropped);
  EXPECT_EQ(dropped, 2);
  EXPECT_EQ(s.test, (std::vector<Ids>{{1, 2}, {}}));
  EXPECT_EQ(s.train, (std::vector<Ids>{{0, 1, 2}, {2}}));
  EXPECT_EQ(s.valid, (std::vector<Ids>{{3}, {}}));
  EXPECT_EQ(s.protocol,
            "explicit test file: 2 test interactions (2 dropped: unknown user or item), last 25% "
            "of each user's training items validation");
}

TEST(RecSplitByName, ParsesSpecsAndRejectsOthers) {
  const RecDataset d = many_users(5);
  EXPECT_EQ(split_by_name(d, "loo", 0.05, 42).protocol,
            "leave-one-out by time: last item test, second-to-last validation");
  EXPECT_EQ(split_by_name(d, "random:0.25", 0.05, 42).protocol,
            "per-user random holdout: 25% test, 5% of the rest validation, seed 42");
  EXPECT_EQ(split_by_name(d, "random:0.25", 0.05, 42).test, split_random(d, 0.25, 0.05, 42).test);
  EXPECT_EQ(split_by_name(d, "time:0.8", 0, 42).protocol,
            "per-user split by time: last 20% of each user's items test, no validation");
  for (const std::string bad : {"kfold:5", "random", "random:", "random:x", "time:0.8x", "LOO"}) {
    EXPECT_EQ(error_of([&] { split_by_name(d, bad, 0.05, 42); }),
              "--split: expected loo, random:RATIO or time:RATIO, found '" + bad + "'");
  }
  EXPECT_EQ(error_of([&] { split_by_name(d, "random:1.5", 0.05, 42); }),
            "random split: test ratio: expected a ratio between 0 and 1, found 1.5");
  EXPECT_EQ(error_of([&] { split_by_name(d, "time:0.8", 1, 42); }),
            "time split: validation ratio: expected a ratio in [0, 1), found 1");
}

// ---------------------------------------------------------------------------------------------
// Real data (../shared/data/rec)

TEST(RecDatasetReal, MovieLens100kAutoDetected) {
  const std::string dir = ::deepcart::test_data::shared_data_dir() + "/rec";
  REQUIRE_SHARED_DATA(dir);
  const RecDataset d = rec_dataset_read(dir + "/ml-100k/u.data", {});
  EXPECT_EQ(d.num_users(), 943);
  EXPECT_EQ(d.num_items(), 1682);
  EXPECT_EQ(d.num_interactions(), 100000);
  EXPECT_EQ(d.rows_read, 100000);
  // The first line of u.data is "196 242 3 881250949".
  EXPECT_EQ(d.users.name(0), "196");
  EXPECT_EQ(d.items.name(0), "242");
}

TEST(RecDatasetReal, MovieLens100kLikedTenCore) {
  // Reference counts from an independent Python script over the same file: 55,375 ratings
  // >= 4, of which an iterated 10-core keeps 52,764 by 887 users on 822 items.
  const std::string dir = ::deepcart::test_data::shared_data_dir() + "/rec";
  REQUIRE_SHARED_DATA(dir);
  RecLoadOptions options;
  options.min_rating = 4.0;
  options.min_user_interactions = 10;
  options.min_item_interactions = 10;
  const RecDataset d = rec_dataset_read(dir + "/ml-100k/u.data", options);
  EXPECT_EQ(d.rows_below_rating, 44625);
  EXPECT_EQ(d.rows_filtered_kcore, 55375 - 52764);
  EXPECT_EQ(d.num_interactions(), 52764);
  EXPECT_EQ(d.num_users(), 887);
  EXPECT_EQ(d.num_items(), 822);
  expect_counts_add_up(d);
  for (const Ids& s : d.sequences) EXPECT_GE(s.size(), 10u);
}

TEST(RecDatasetReal, AmazonBeautySequencesAndLeaveOneOut) {
  const std::string dir = ::deepcart::test_data::shared_data_dir() + "/rec";
  REQUIRE_SHARED_DATA(dir);
  const RecDataset d = rec_dataset_read(dir + "/amazon-beauty/Beauty.txt", {});
  EXPECT_EQ(d.num_users(), 22363);
  EXPECT_EQ(d.num_items(), 12101);
  EXPECT_EQ(d.num_interactions(), 198502);
  expect_counts_add_up(d);
  // The file's first line is "1 1 2 3 4 5".
  EXPECT_EQ(items_of(d, "1"), (Strings{"1", "2", "3", "4", "5"}));

  const RecSplit s = split_leave_one_out(d);
  int64_t with_test = 0, with_valid = 0, train_items = 0;
  for (size_t u = 0; u < s.test.size(); ++u) {
    with_test += s.test[u].size() == 1;
    with_valid += s.valid[u].size() == 1;
    train_items += static_cast<int64_t>(s.train[u].size());
    ASSERT_GE(d.sequences[u].size(), 5u) << "user " << d.users.name(u) << " breaks the 5-core";
  }
  EXPECT_EQ(with_test, 22363);
  EXPECT_EQ(with_valid, 22363);
  EXPECT_EQ(train_items, 198502 - 2 * 22363);
}

}  // namespace
}  // namespace deepcart::rec
