// A behaviour log (user, item, event, time, numeric columns) read through the shared CSV
// reader, mapped to dense ids, and split leave-one-out by time.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "deepcart/data/id_map.h"
#include "deepcart/data/table.h"

namespace deepcart::rec {

struct LogColumns {
  std::string user = "user_id";
  std::string item = "item_id";
  std::string event = "event";       // optional column; without it every row is a positive
  std::string time = "timestamp";    // optional column; without it, file order is time order
  std::string positive_event = "purchase";
  std::vector<std::string> features;  // numeric behaviour columns fed to the model
};

struct Interactions {
  data::IdMap users, items;
  std::vector<int64_t> user, item, time;  // one entry per event row
  std::vector<uint8_t> positive;          // 1 = the row is a purchase
  std::vector<std::string> feature_names;
  std::vector<std::vector<float>> features;  // [feature][row]
  data::ReadReport report;
  bool has_events = false;

  int64_t rows() const { return static_cast<int64_t>(user.size()); }
};

// Reads `path`; `table` supplies the cleaning options (--fill-missing, --on-bad-row).
Interactions interactions_read(const std::string& path, const LogColumns& columns,
                               data::TableOptions table);

// Each user's last purchased item is the test item and the one before it (a different item)
// the validation item; users with fewer than 3 distinct purchases keep everything in train.
// Every row of a held-out (user, item) pair leaves the training rows, so the model never sees
// the answer through a view or a cart of the same item.
struct LooSplit {
  std::vector<int64_t> train_rows;
  std::vector<int64_t> val_item, test_item;  // per user; -1 when not held out
};
LooSplit split_leave_one_out(const Interactions& log);

// Per user, the sorted distinct items in `rows` (all rows when `rows` is empty), positives
// only when `positives_only`.
std::vector<std::vector<int64_t>> items_by_user(const Interactions& log,
                                                const std::vector<int64_t>& rows,
                                                bool positives_only);

// Draws an item uniformly among those not in `seen` (sorted); after 20 rejections it keeps the
// last draw, so users who have seen nearly everything cannot stall training.
int64_t sample_unseen(const std::vector<int64_t>& seen, int64_t num_items, std::mt19937_64& rng);

}  // namespace deepcart::rec
