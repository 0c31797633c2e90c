// Implicit-feedback interactions for every recommender: loaded from CSV with named columns,
// MovieLens files (u.data tab-separated, ratings.dat "::") or one-sequence-per-line files
// ("user item item ...", the Amazon/SASRec format), turned implicit, k-core filtered, mapped
// to dense ids and ordered by time per user; then split for training and evaluation. A
// behaviour log (views, carts and purchases, with numeric columns) can also keep every row, for
// the behaviour-mlp recommender.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "deepcart/data/id_map.h"
#include "deepcart/data/table.h"

namespace deepcart::rec {

enum class RecFormat { kAuto, kCsv, kMovieLens, kSeq };

// "csv" | "movielens" | "seq" | "auto"; throws Error for anything else.
RecFormat rec_format_from_name(const std::string& name);

struct RecLoadOptions {
  RecFormat format = RecFormat::kAuto;  // auto: "u.data"/"*.data" or "ratings.dat" -> movielens,
                                        // ".txt" whose first line is all integers -> seq, else csv
  // CSV column names (the rating, time and event columns are optional in the file).
  std::string user_col = "user_id", item_col = "item_id", rating_col = "rating",
              time_col = "timestamp", event_col = "event";
  std::string positive_event;        // when set and the event column exists, only these rows count
  std::optional<double> min_rating;  // implicit conversion: keep ratings >= this; unset = keep all
  int min_user_interactions = 0;     // k-core: repeat dropping users and items below these counts
  int min_item_interactions = 0;     //   until both hold (0 = no filtering)
  bool dedupe = false;               // keep only the first interaction of each (user, item) pair
  data::OnBadRow on_bad_row = data::OnBadRow::kError;
  // Behaviour logs (CSV only): keep every row, positive or not, in RecDataset::events, with these
  // numeric columns; empty cells of them take fill_missing (unset = an empty cell is an error).
  // Rating and k-core filters and dedupe do not apply.
  bool keep_events = false;
  std::vector<std::string> features;
  std::optional<double> fill_missing;
};

// Every row of a behaviour log, in file order, with the dataset's dense ids.
struct BehaviourLog {
  std::vector<int64_t> user, item, time;
  std::vector<uint8_t> positive;  // the row is a positive event (a purchase)
  std::vector<std::string> feature_names;
  std::vector<std::vector<float>> features;  // [feature][row]

  int64_t rows() const { return static_cast<int64_t>(user.size()); }
  bool empty() const { return user.empty(); }
};

struct RecDataset {
  data::IdMap users, items;
  // Per user, item ids in time order (ties keep file order). Users and items removed by
  // k-core filtering are not in the maps.
  std::vector<std::vector<int64_t>> sequences;
  std::vector<std::vector<int64_t>> times;  // same shape; positions when the file has no time
  int64_t rows_read = 0;                    // data rows in the file
  int64_t rows_below_rating = 0, rows_not_positive = 0, rows_filtered_kcore = 0, rows_duplicate = 0;
  int64_t rows_skipped = 0;  // malformed rows skipped under OnBadRow::kSkip
  int64_t cells_filled = 0;  // empty feature cells given fill_missing
  std::vector<std::string> skip_reasons;
  // With keep_events: every row. The maps then hold every user and item of the log, and
  // `sequences` the positive rows only.
  BehaviourLog events;

  int64_t num_users() const { return users.size(); }
  int64_t num_items() const { return items.size(); }
  int64_t num_interactions() const;
};

RecDataset rec_dataset_read(const std::string& path, const RecLoadOptions& options);

// `data` with the ids of `users` and `items` (a trained model's): interactions of users or items
// they do not know are dropped and counted in *dropped.
RecDataset rec_dataset_remap(const RecDataset& data, const data::IdMap& users,
                             const data::IdMap& items, int64_t* dropped);

// One line on what was read and dropped: "PATH: U users, I items, N interactions (...)".
std::string rec_dataset_summary(const RecDataset& data, const std::string& path,
                                const RecLoadOptions& options);

// Per user: training sequence (time order) and held-out items. A user with nothing held out
// has empty valid/test lists and is not evaluated.
struct RecSplit {
  std::vector<std::vector<int64_t>> train;  // per user, time order
  std::vector<std::vector<int64_t>> valid;  // per user
  std::vector<std::vector<int64_t>> test;   // per user
  std::string protocol;                     // human-readable, printed with every metric
  // Behaviour logs: the rows of `events` that training may see (every row of a held-out
  // (user, item) pair leaves, views and carts included).
  std::vector<int64_t> train_rows;
};

// Leave-one-out by time: last item -> test, second-to-last -> valid, the rest -> train. Users
// with fewer than 3 interactions keep everything in train. On a dataset with events, the held
// out items are the last two distinct purchases, users need 3 distinct purchases, and every row
// of a held-out (user, item) pair leaves the training rows, so the model never sees the answer
// through a view or a cart of the same item.
RecSplit split_leave_one_out(const RecDataset& data);

// Per-user random holdout: round(test_ratio * n) of each user's items -> test (at least 1 when
// n >= 2), then round(valid_ratio * rest) of the remainder -> valid; seeded, reproducible.
RecSplit split_random(const RecDataset& data, double test_ratio, double valid_ratio, uint64_t seed);

// Per-user split by time: the last (1 - train_ratio) share of each user's items -> test, and
// the last valid_ratio share of the remainder -> valid.
RecSplit split_time(const RecDataset& data, double train_ratio, double valid_ratio);

// Explicit files: `test` is read separately and mapped onto `train`'s ids (rows with unknown
// users or items are dropped and counted in *dropped); valid is carved from train by time
// (valid_ratio share of each user's last items).
RecSplit split_explicit(const RecDataset& train, const RecDataset& test, double valid_ratio,
                        int64_t* dropped);

// "loo" | "random:0.25" | "time:0.8" -> the split; "explicit" is handled by the caller.
RecSplit split_by_name(const RecDataset& data, const std::string& spec, double valid_ratio,
                       uint64_t seed);

// Per user, the sorted distinct items of `rows` of the events (all rows when `rows` is empty).
std::vector<std::vector<int64_t>> items_by_user(const RecDataset& data,
                                                const std::vector<int64_t>& rows);

// Draws an item uniformly among those not in `seen` (sorted); after 20 rejections it keeps the
// last draw, so users who have seen nearly everything cannot stall training.
int64_t sample_unseen(const std::vector<int64_t>& seen, int64_t num_items, std::mt19937_64& rng);

}  // namespace deepcart::rec
