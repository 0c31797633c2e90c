// Behaviour logs for behaviour-mlp: every row (views, carts, purchases) with its numeric
// columns, read through the shared table reader, and the leave-one-out split on purchases.
#include <algorithm>
#include <limits>
#include <numeric>
#include <random>

#include "deepcart/core/error.h"
#include "deepcart/rec/dataset.h"

namespace deepcart::rec {
namespace {

data::Table read_log_table(const std::string& path, const RecLoadOptions& o) {
  using data::ColumnSpec;
  using data::ColumnType;
  const double inf = std::numeric_limits<double>::infinity();
  data::TableOptions table;
  table.fill_missing = o.fill_missing;
  table.on_bad_row = o.on_bad_row;
  table.columns = {
      ColumnSpec{o.user_col, ColumnType::kString, true, -inf, inf, true},
      ColumnSpec{o.item_col, ColumnType::kString, true, -inf, inf, true},
      ColumnSpec{o.event_col, ColumnType::kString, false, -inf, inf, true},
      // Times become int64: a value outside its range is an error naming the cell.
      ColumnSpec{o.time_col, ColumnType::kFloat, false, -data::kInt64Safe, data::kInt64Safe}};
  for (const auto& f : o.features) table.columns.push_back(ColumnSpec{f, ColumnType::kFloat, true});
  data::Table t = data::read_table(path, table);
  if (t.num_rows() == 0) throw Error(path + ": no data rows: expected at least one interaction");
  return t;
}

void check_behaviour_options(const std::string& path, const RecLoadOptions& o) {
  std::string refused;
  if (o.min_rating) refused = "--min-rating";
  if (o.min_user_interactions > 0) refused = "--min-user";
  if (o.min_item_interactions > 0) refused = "--min-item";
  if (o.dedupe) refused = "--dedupe";
  if (!refused.empty()) {
    throw Error(refused + ": behaviour-mlp keeps every row of the behaviour log " + path +
                "; rating and k-core filters and dedupe apply to the other architectures");
  }
}

}  // namespace

// Called by rec_dataset_read for options.keep_events.
RecDataset read_behaviour_log(const std::string& path, const RecLoadOptions& o) {
  check_behaviour_options(path, o);
  const data::Table t = read_log_table(path, o);
  RecDataset data;
  data.rows_read = t.report.rows_read;
  data.rows_skipped = t.report.rows_skipped;
  data.cells_filled = t.report.cells_filled;
  data.skip_reasons = t.report.skip_reasons;
  BehaviourLog& log = data.events;
  const auto& users = t.column(o.user_col).strings;
  const auto& items = t.column(o.item_col).strings;
  const int64_t n = t.num_rows();
  log.user.resize(n);
  log.item.resize(n);
  log.time.resize(n);
  log.positive.assign(n, 1);
  for (int64_t r = 0; r < n; ++r) {
    log.user[r] = data.users.add(users[r]);
    log.item[r] = data.items.add(items[r]);
  }
  if (t.has_column(o.time_col)) {
    const auto& times = t.column(o.time_col).floats;
    for (int64_t r = 0; r < n; ++r) log.time[r] = static_cast<int64_t>(times[r]);
  } else {
    std::iota(log.time.begin(), log.time.end(), 0);
  }
  if (t.has_column(o.event_col)) {
    const auto& events = t.column(o.event_col).strings;
    int64_t positives = 0;
    for (int64_t r = 0; r < n; ++r) positives += log.positive[r] = events[r] == o.positive_event;
    if (positives == 0) {
      throw Error(path + ": column '" + o.event_col + "' has no '" + o.positive_event +
                  "' rows: expected some positive events (set --positive-event)");
    }
    data.rows_not_positive = n - positives;
  }
  for (const auto& f : o.features) {
    log.feature_names.push_back(f);
    const auto& values = t.column(f).floats;
    log.features.emplace_back(values.begin(), values.end());
  }
  // Each user's positive rows in time order (ties keep file order) are the sequences.
  std::vector<std::vector<int64_t>> rows(data.users.size());
  for (int64_t r = 0; r < n; ++r) {
    if (log.positive[r]) rows[log.user[r]].push_back(r);
  }
  data.sequences.resize(rows.size());
  data.times.resize(rows.size());
  for (size_t u = 0; u < rows.size(); ++u) {
    std::stable_sort(rows[u].begin(), rows[u].end(),
                     [&](int64_t a, int64_t b) { return log.time[a] < log.time[b]; });
    for (int64_t r : rows[u]) {
      data.sequences[u].push_back(log.item[r]);
      data.times[u].push_back(log.time[r]);
    }
  }
  return data;
}

// Called by split_leave_one_out for datasets with events.
RecSplit split_behaviour_leave_one_out(const RecDataset& data) {
  const BehaviourLog& log = data.events;
  const size_t n_users = data.sequences.size();
  RecSplit split;
  split.train.resize(n_users);
  split.valid.resize(n_users);
  split.test.resize(n_users);
  std::vector<int64_t> test_item(n_users, -1), val_item(n_users, -1);
  for (size_t u = 0; u < n_users; ++u) {
    // Distinct items in order of their last purchase.
    const auto& s = data.sequences[u];
    std::vector<int64_t> order;
    for (auto it = s.rbegin(); it != s.rend() && order.size() < 2; ++it) {
      if (std::find(order.begin(), order.end(), *it) == order.end()) order.push_back(*it);
    }
    size_t distinct = order.size();
    if (distinct == 2) {  // a third distinct item before those two?
      for (int64_t item : s) distinct += item != order[0] && item != order[1] ? 1 : 0;
    }
    if (distinct < 3) {
      split.train[u] = s;
      continue;
    }
    test_item[u] = order[0];
    val_item[u] = order[1];
    split.test[u] = {order[0]};
    split.valid[u] = {order[1]};
    for (int64_t item : s) {
      if (item != order[0] && item != order[1]) split.train[u].push_back(item);
    }
  }
  for (int64_t r = 0; r < log.rows(); ++r) {
    const int64_t u = log.user[r], i = log.item[r];
    if (i != test_item[u] && i != val_item[u]) split.train_rows.push_back(r);
  }
  split.protocol =
      "leave-one-out on purchases: last distinct purchase test, the one before validation, every "
      "row of a held-out item out of training";
  return split;
}

std::vector<std::vector<int64_t>> items_by_user(const RecDataset& data,
                                                const std::vector<int64_t>& rows) {
  const BehaviourLog& log = data.events;
  std::vector<std::vector<int64_t>> out(data.users.size());
  if (rows.empty()) {
    for (int64_t r = 0; r < log.rows(); ++r) out[log.user[r]].push_back(log.item[r]);
  } else {
    for (int64_t r : rows) out[log.user[r]].push_back(log.item[r]);
  }
  for (auto& items : out) {
    std::sort(items.begin(), items.end());
    items.erase(std::unique(items.begin(), items.end()), items.end());
  }
  return out;
}

int64_t sample_unseen(const std::vector<int64_t>& seen, int64_t num_items, std::mt19937_64& rng) {
  std::uniform_int_distribution<int64_t> pick(0, num_items - 1);
  int64_t item = pick(rng);
  for (int tries = 0; tries < 20 && std::binary_search(seen.begin(), seen.end(), item); ++tries) {
    item = pick(rng);
  }
  return item;
}

}  // namespace deepcart::rec
