#include "deepcart/rec/interactions.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <random>

#include "deepcart/core/error.h"

namespace deepcart::rec {

Interactions interactions_read(const std::string& path, const LogColumns& c,
                               data::TableOptions table) {
  using data::ColumnSpec;
  using data::ColumnType;
  const double inf = std::numeric_limits<double>::infinity();
  table.columns = {ColumnSpec{c.user, ColumnType::kString, true, -inf, inf, true},
                   ColumnSpec{c.item, ColumnType::kString, true, -inf, inf, true},
                   ColumnSpec{c.event, ColumnType::kString, false, -inf, inf, true},
                   // Times become int64: a value outside its range is an error naming the cell.
                   ColumnSpec{c.time, ColumnType::kFloat, false, -data::kInt64Safe, data::kInt64Safe}};
  for (const auto& f : c.features) table.columns.push_back(ColumnSpec{f, ColumnType::kFloat, true});
  data::Table t = data::read_table(path, table);
  if (t.num_rows() == 0) throw Error(path + ": no data rows: expected at least one interaction");

  Interactions log;
  log.report = t.report;
  const auto& users = t.column(c.user).strings;
  const auto& items = t.column(c.item).strings;
  const int64_t n = t.num_rows();
  log.user.resize(n);
  log.item.resize(n);
  log.time.resize(n);
  log.positive.assign(n, 1);
  for (int64_t r = 0; r < n; ++r) {
    log.user[r] = log.users.add(users[r]);
    log.item[r] = log.items.add(items[r]);
  }
  if (t.has_column(c.time)) {
    const auto& times = t.column(c.time).floats;
    for (int64_t r = 0; r < n; ++r) log.time[r] = static_cast<int64_t>(times[r]);
  } else {
    std::iota(log.time.begin(), log.time.end(), 0);
  }
  log.has_events = t.has_column(c.event);
  if (log.has_events) {
    const auto& events = t.column(c.event).strings;
    int64_t positives = 0;
    for (int64_t r = 0; r < n; ++r) positives += log.positive[r] = events[r] == c.positive_event;
    if (positives == 0) {
      throw Error(path + ": column '" + c.event + "' has no '" + c.positive_event +
                  "' rows: expected some positive events (set --positive-event)");
    }
  }
  for (const auto& f : c.features) {
    log.feature_names.push_back(f);
    const auto& values = t.column(f).floats;
    log.features.emplace_back(values.begin(), values.end());
  }
  return log;
}

LooSplit split_leave_one_out(const Interactions& log) {
  const int64_t n_users = log.users.size();
  std::vector<std::vector<int64_t>> purchases(n_users);  // row ids
  for (int64_t r = 0; r < log.rows(); ++r) {
    if (log.positive[r]) purchases[log.user[r]].push_back(r);
  }
  LooSplit split;
  split.val_item.assign(n_users, -1);
  split.test_item.assign(n_users, -1);
  for (int64_t u = 0; u < n_users; ++u) {
    auto& rows = purchases[u];
    std::stable_sort(rows.begin(), rows.end(),
                     [&](int64_t a, int64_t b) { return log.time[a] < log.time[b]; });
    // Distinct items in order of their last purchase.
    std::vector<int64_t> order;
    for (auto it = rows.rbegin(); it != rows.rend(); ++it) {
      if (std::find(order.begin(), order.end(), log.item[*it]) == order.end()) {
        order.push_back(log.item[*it]);
      }
    }
    if (order.size() >= 3) {
      split.test_item[u] = order[0];
      split.val_item[u] = order[1];
    }
  }
  for (int64_t r = 0; r < log.rows(); ++r) {
    const int64_t u = log.user[r], i = log.item[r];
    if (i != split.test_item[u] && i != split.val_item[u]) split.train_rows.push_back(r);
  }
  return split;
}

std::vector<std::vector<int64_t>> items_by_user(const Interactions& log,
                                                const std::vector<int64_t>& rows,
                                                bool positives_only) {
  std::vector<std::vector<int64_t>> out(log.users.size());
  auto take = [&](int64_t r) {
    if (!positives_only || log.positive[r]) out[log.user[r]].push_back(log.item[r]);
  };
  if (rows.empty()) {
    for (int64_t r = 0; r < log.rows(); ++r) take(r);
  } else {
    for (int64_t r : rows) take(r);
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
