// Loads interaction files into per-user, time-ordered sequences and splits them. Every format
// feeds one collector, so the filters (positive event, rating, dedupe, k-core) and their counts
// behave the same whichever file the interactions came from.
#include "deepcart/rec/dataset.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "deepcart/core/error.h"
#include "deepcart/data/csv_reader.h"
#include "deepcart/data/table.h"

namespace deepcart::rec {

// behaviour_log.cpp
RecDataset read_behaviour_log(const std::string& path, const RecLoadOptions& options);
RecSplit split_behaviour_leave_one_out(const RecDataset& data);

namespace {

constexpr size_t kMaxReasons = 5;
constexpr int kMovieLensFields = 4;  // user, item, rating, timestamp

std::string show_value(std::string_view value) { return data::show_value(std::string(value)); }

bool parse_int(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

bool parse_double(std::string_view s, double* out) {
  if (s.empty()) return false;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size() && std::isfinite(*out);
}

// Shortest readable form: 0.25 -> "0.25", 25.0 -> "25", 10.000000000000002 -> "10".
std::string format_number(double x) {
  std::ostringstream out;
  out << x;
  return out.str();
}

std::string percent(double ratio) { return format_number(ratio * 100) + "%"; }

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::vector<std::string_view> split_whitespace(std::string_view line) {
  std::vector<std::string_view> tokens;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    const size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) tokens.push_back(line.substr(start, i - start));
  }
  return tokens;
}

// Line reader for the formats that are not CSV: strips CR and a leading UTF-8 BOM, counts lines
// for messages.
class LineReader {
 public:
  explicit LineReader(const std::string& path) : path_(path), in_(path, std::ios::binary) {
    if (!in_) throw Error(path + ": cannot open: " + std::strerror(errno));
  }

  bool next(std::string& line) {
    if (!std::getline(in_, line)) {
      if (in_.bad()) throw Error(path_ + ": cannot read: " + std::strerror(errno));
      return false;
    }
    ++line_;
    if (line_ == 1 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return true;
  }

  // "PATH:LINE", the prefix of every message about the current line.
  std::string where() const { return path_ + ":" + std::to_string(line_); }
  int64_t line() const { return line_; }

 private:
  std::string path_;
  std::ifstream in_;
  int64_t line_ = 0;
};

// The first non-blank line, or "" when there is none.
std::string first_line(const std::string& path) {
  LineReader reader(path);
  std::string line;
  while (reader.next(line)) {
    if (!split_whitespace(line).empty()) return line;
  }
  return "";
}

RecFormat detect_format(const std::string& path) {
  const std::filesystem::path p(path);
  const std::string name = lower(p.filename().string());
  const std::string ext = lower(p.extension().string());
  if (name == "ratings.dat" || ext == ".data") return RecFormat::kMovieLens;
  if (ext == ".txt") {
    const std::vector<std::string_view> tokens = split_whitespace(first_line(path));
    int64_t id;
    const bool all_ints = !tokens.empty() && std::all_of(tokens.begin(), tokens.end(),
                                                         [&](auto t) { return parse_int(t, &id); });
    if (all_ints) return RecFormat::kSeq;
  }
  return RecFormat::kCsv;
}

// Rows that passed the per-row filters, with the file's ids interned to temporary indices so
// that dedupe and k-core count with plain vectors. Final ids are given only to the survivors.
class Collector {
 public:
  explicit Collector(const RecLoadOptions& options) : options_(options) {}

  void count_read(int64_t rows) { data_.rows_read += rows; }

  void skip(const std::string& reason, int64_t rows) {
    data_.rows_skipped += rows;
    if (data_.skip_reasons.size() < kMaxReasons) data_.skip_reasons.push_back(reason);
  }

  void skip_all(int64_t rows, const std::vector<std::string>& reasons) {
    data_.rows_skipped += rows;
    for (const std::string& reason : reasons) {
      if (data_.skip_reasons.size() < kMaxReasons) data_.skip_reasons.push_back(reason);
    }
  }

  // Applies positive_event, then min_rating; a missing rating is never below the threshold
  // (callers reject min_rating for files without ratings).
  void add(const std::string& user, const std::string& item, double time_key, int64_t time,
           bool positive, std::optional<double> rating) {
    if (!positive) {
      ++data_.rows_not_positive;
      return;
    }
    if (options_.min_rating && rating && *rating < *options_.min_rating) {
      ++data_.rows_below_rating;
      return;
    }
    user_.push_back(raw_users_.add(user));
    item_.push_back(raw_items_.add(item));
    key_.push_back(time_key);
    time_.push_back(time);
  }

  RecDataset finish() {
    std::vector<char> alive(user_.size(), 1);
    if (options_.dedupe) dedupe(alive);
    if (options_.min_user_interactions > 0 || options_.min_item_interactions > 0) kcore(alive);
    build(alive);
    return std::move(data_);
  }

 private:
  // "First" means earliest in time, ties going to file order, so a re-purchase never moves an
  // item later in the sequence.
  void dedupe(std::vector<char>& alive) {
    const uint64_t num_items = static_cast<uint64_t>(raw_items_.size());
    std::unordered_map<uint64_t, size_t> first;
    first.reserve(user_.size());
    for (size_t i = 0; i < user_.size(); ++i) {
      const uint64_t pair = static_cast<uint64_t>(user_[i]) * num_items + item_[i];
      auto [it, inserted] = first.emplace(pair, i);
      if (inserted) continue;
      ++data_.rows_duplicate;
      if (key_[i] < key_[it->second]) {
        alive[it->second] = 0;
        it->second = i;
      } else {
        alive[i] = 0;
      }
    }
  }

  // Dropping a user lowers its items' counts and the other way round, so one pass is not
  // enough: repeat until a pass removes nothing.
  void kcore(std::vector<char>& alive) {
    const int64_t min_user = options_.min_user_interactions;
    const int64_t min_item = options_.min_item_interactions;
    for (;;) {
      std::vector<int64_t> per_user(raw_users_.size(), 0), per_item(raw_items_.size(), 0);
      for (size_t i = 0; i < user_.size(); ++i) {
        if (!alive[i]) continue;
        ++per_user[user_[i]];
        ++per_item[item_[i]];
      }
      int64_t removed = 0;
      for (size_t i = 0; i < user_.size(); ++i) {
        if (alive[i] && (per_user[user_[i]] < min_user || per_item[item_[i]] < min_item)) {
          alive[i] = 0;
          ++removed;
        }
      }
      if (removed == 0) break;
      data_.rows_filtered_kcore += removed;
    }
  }

  void build(const std::vector<char>& alive) {
    struct Event {
      double key;
      int64_t time, item;
    };
    std::vector<std::vector<Event>> events;
    for (size_t i = 0; i < user_.size(); ++i) {
      if (!alive[i]) continue;
      const int64_t u = data_.users.add(raw_users_.name(user_[i]));
      const int64_t item = data_.items.add(raw_items_.name(item_[i]));
      if (u == static_cast<int64_t>(events.size())) events.emplace_back();
      events[u].push_back({key_[i], time_[i], item});
    }
    data_.sequences.resize(events.size());
    data_.times.resize(events.size());
    for (size_t u = 0; u < events.size(); ++u) {
      std::stable_sort(events[u].begin(), events[u].end(),
                       [](const Event& a, const Event& b) { return a.key < b.key; });
      for (const Event& e : events[u]) {
        data_.sequences[u].push_back(e.item);
        data_.times[u].push_back(e.time);
      }
    }
  }

  const RecLoadOptions& options_;
  RecDataset data_;
  data::IdMap raw_users_, raw_items_;
  std::vector<int64_t> user_, item_, time_;
  std::vector<double> key_;  // sort key: the time as read, fractions included
};

// Throws in kError mode; otherwise counts the rows as skipped.
void bad_rows(const RecLoadOptions& options, Collector& out, const std::string& message,
              int64_t rows) {
  if (options.on_bad_row == data::OnBadRow::kError) throw data::RecordError(message);
  out.skip(message, rows);
}

void read_csv(const std::string& path, const RecLoadOptions& options, Collector& out) {
  using data::ColumnType;
  data::TableOptions table_options;
  const double inf = std::numeric_limits<double>::infinity();
  table_options.columns = {
      {options.user_col, ColumnType::kString, true, -inf, inf, true},
      {options.item_col, ColumnType::kString, true, -inf, inf, true},
      {options.rating_col, ColumnType::kFloat, false},
      {options.time_col, ColumnType::kFloat, false, -data::kInt64Safe, data::kInt64Safe},
      {options.event_col, ColumnType::kString, false, -inf, inf, true}};
  table_options.on_bad_row = options.on_bad_row;
  table_options.max_reasons = kMaxReasons;
  const data::Table table = data::read_table(path, table_options);
  if (options.min_rating && !table.has_column(options.rating_col)) {
    throw Error(path + ": a minimum rating was given: expected a rating column '" +
                options.rating_col + "', found none");
  }
  out.count_read(table.report.rows_read);
  out.skip_all(table.report.rows_skipped, table.report.skip_reasons);

  const auto& users = table.column(options.user_col).strings;
  const auto& items = table.column(options.item_col).strings;
  const data::Column* rating = nullptr;
  const data::Column* time = nullptr;
  const data::Column* event = nullptr;
  if (table.has_column(options.rating_col)) rating = &table.column(options.rating_col);
  if (table.has_column(options.time_col)) time = &table.column(options.time_col);
  if (table.has_column(options.event_col)) event = &table.column(options.event_col);
  const bool filter_events = event != nullptr && !options.positive_event.empty();

  // read_table keeps no line numbers, so a problem found here names the data row among those
  // it kept, and says so when that count leaves out skipped rows.
  const int64_t table_skipped = table.report.rows_skipped;
  const std::string not_counting =
      table_skipped == 0 ? ""
                         : " (not counting " + std::to_string(table_skipped) + " skipped rows)";
  auto row = [&](size_t r) { return path + ": data row " + std::to_string(r + 1) + not_counting; };
  for (size_t r = 0; r < users.size(); ++r) {
    if (users[r].empty() || items[r].empty()) {
      const std::string& col = users[r].empty() ? options.user_col : options.item_col;
      bad_rows(options, out,
               row(r) + ": expected an id in column '" + col + "', found an empty field", 1);
      continue;
    }
    double key = static_cast<double>(r);
    int64_t t = static_cast<int64_t>(r);
    if (time != nullptr) {
      key = time->floats[r];  // within +-kInt64Safe: read_table checked each cell's range
      t = static_cast<int64_t>(std::floor(key));
    }
    const bool positive = !filter_events || event->strings[r] == options.positive_event;
    std::optional<double> value;
    if (rating != nullptr) value = rating->floats[r];
    out.add(users[r], items[r], key, t, positive, value);
  }
}

// Checks and adds one MovieLens row found at path:line.
void add_movielens_row(const std::vector<std::string>& fields, const std::string& path,
                       int64_t line, const RecLoadOptions& options, Collector& out) {
  auto where = [&]() { return path + ":" + std::to_string(line); };
  if (fields[0].empty() || fields[1].empty()) {
    const char* what = fields[0].empty() ? "a user id" : "an item id";
    bad_rows(options, out, where() + ": expected " + std::string(what) + ", found an empty field",
             1);
    return;
  }
  for (int f = 0; f < 2; ++f) {
    if (data::find_control(fields[f]) != std::string::npos) {
      bad_rows(options, out,
               where() + ": expected " + (f == 0 ? "a user id" : "an item id") +
                   " without control characters, found " + show_value(fields[f]),
               1);
      return;
    }
  }
  double rating;
  if (!parse_double(fields[2], &rating)) {
    bad_rows(options, out, where() + ": expected a numeric rating, found " + show_value(fields[2]),
             1);
    return;
  }
  int64_t time;
  if (!parse_int(fields[3], &time)) {
    bad_rows(options, out,
             where() + ": expected an integer timestamp, found " + show_value(fields[3]), 1);
    return;
  }
  out.add(fields[0], fields[1], static_cast<double>(time), time, true, rating);
}

// ratings.dat of MovieLens 1M/10M: "user::item::rating::timestamp".
void read_movielens_dat(const std::string& path, const RecLoadOptions& options, Collector& out) {
  LineReader reader(path);
  std::string line;
  std::vector<std::string> fields;
  while (reader.next(line)) {
    if (line.empty()) continue;
    out.count_read(1);
    fields.clear();
    size_t start = 0;
    for (;;) {
      const size_t sep = line.find("::", start);
      fields.push_back(line.substr(start, sep == std::string::npos ? sep : sep - start));
      if (sep == std::string::npos) break;
      start = sep + 2;
    }
    if (fields.size() != kMovieLensFields) {
      bad_rows(options, out,
               reader.where() + ": expected 4 fields separated by '::', found " +
                   std::to_string(fields.size()),
               1);
      continue;
    }
    add_movielens_row(fields, path, reader.line(), options, out);
  }
}

// u.data of MovieLens 100K: "user \t item \t rating \t timestamp", no header.
void read_movielens_tsv(const std::string& path, const RecLoadOptions& options, Collector& out) {
  data::CsvOptions csv;
  csv.delimiter = '\t';
  csv.has_header = false;
  data::CsvReader reader(path, csv);
  // The reader fixes the field count from the first record and rejects every record that
  // differs, so a bad first line would silently turn a whole file into skipped rows.
  auto check_first = [&]() {
    if (reader.records_read() == 1 && reader.num_columns() != kMovieLensFields) {
      throw Error(path + ":" + std::to_string(reader.record_line()) +
                  ": expected 4 tab-separated fields (user, item, rating, timestamp), found " +
                  std::to_string(reader.num_columns()));
    }
  };
  std::vector<std::string> fields;
  for (;;) {
    try {
      if (!reader.next(fields)) break;
    } catch (const data::RecordError& e) {
      check_first();
      bad_rows(options, out, e.what(), 1);
      continue;
    }
    check_first();
    add_movielens_row(fields, path, reader.record_line(), options, out);
  }
  out.count_read(reader.records_read());
}

void read_movielens(const std::string& path, const RecLoadOptions& options, Collector& out) {
  if (first_line(path).find("::") != std::string::npos) {
    read_movielens_dat(path, options, out);
  } else {
    read_movielens_tsv(path, options, out);
  }
}

// "user item item ...": each item token is one row, its time the user's running position.
void read_seq(const std::string& path, const RecLoadOptions& options, Collector& out) {
  if (options.min_rating) {
    throw Error(path + ": a minimum rating was given: expected ratings, found the seq format " +
                "(\"user item item ...\"), which has none");
  }
  LineReader reader(path);
  std::unordered_map<std::string, int64_t> next_position;
  std::string line, user, item;
  while (reader.next(line)) {
    const std::vector<std::string_view> tokens = split_whitespace(line);
    if (tokens.empty()) continue;
    const int64_t num_items = static_cast<int64_t>(tokens.size()) - 1;
    int64_t id;
    if (!parse_int(tokens[0], &id)) {
      // A line with a bad user and no items still counts as one (bad) row.
      const int64_t rows = std::max<int64_t>(num_items, 1);
      out.count_read(rows);
      bad_rows(options, out,
               reader.where() + ": expected an integer user id, found " + show_value(tokens[0]),
               rows);
      continue;
    }
    out.count_read(num_items);
    user.assign(tokens[0]);
    int64_t& position = next_position[user];
    for (size_t k = 1; k < tokens.size(); ++k) {
      if (!parse_int(tokens[k], &id)) {
        bad_rows(options, out,
                 reader.where() + ": expected an integer item id, found " + show_value(tokens[k]),
                 1);
        continue;
      }
      item.assign(tokens[k]);
      out.add(user, item, static_cast<double>(position), position, true, std::nullopt);
      ++position;
    }
  }
}

void check_ratio(double ratio, bool zero_ok, const std::string& what) {
  const bool ok = std::isfinite(ratio) && ratio < 1 && (zero_ok ? ratio >= 0 : ratio > 0);
  if (!ok) {
    throw Error(what + ": expected a ratio " + (zero_ok ? "in [0, 1)" : "between 0 and 1") +
                ", found " + format_number(ratio));
  }
}

// Held-out count when a user must keep at least one training item: round(ratio * n), capped
// at n - 1, and at least 1 when n >= 2 if `at_least_one`.
int64_t held_out(double ratio, int64_t n, bool at_least_one) {
  if (n < 2) return 0;
  int64_t k = std::llround(ratio * static_cast<double>(n));
  if (at_least_one) k = std::max<int64_t>(k, 1);
  return std::min<int64_t>(k, n - 1);
}

// Uniform in [0, bound) from raw 64-bit draws. std::uniform_int_distribution and std::shuffle
// differ between standard libraries; this keeps a seeded split identical everywhere.
uint64_t uniform_below(std::mt19937_64& rng, uint64_t bound) {
  const uint64_t threshold = (0 - bound) % bound;  // 2^64 mod bound
  uint64_t r;
  do {
    r = rng();
  } while (r < threshold);
  return r % bound;
}

RecSplit empty_split(size_t users) {
  RecSplit split;
  split.train.resize(users);
  split.valid.resize(users);
  split.test.resize(users);
  return split;
}

// Puts the last n_valid items of `items` into `valid` and the rest into `train`.
void carve_last(const std::vector<int64_t>& items, int64_t n_valid, std::vector<int64_t>* train,
                std::vector<int64_t>* valid) {
  const auto cut = items.end() - n_valid;
  train->assign(items.begin(), cut);
  valid->assign(cut, items.end());
}

}  // namespace

RecFormat rec_format_from_name(const std::string& name) {
  if (name == "auto") return RecFormat::kAuto;
  if (name == "csv") return RecFormat::kCsv;
  if (name == "movielens") return RecFormat::kMovieLens;
  if (name == "seq") return RecFormat::kSeq;
  throw Error("--format: expected auto, csv, movielens or seq, found '" + name + "'");
}

int64_t RecDataset::num_interactions() const {
  int64_t n = 0;
  for (const auto& s : sequences) n += static_cast<int64_t>(s.size());
  return n;
}

RecDataset rec_dataset_read(const std::string& path, const RecLoadOptions& options) {
  if (options.min_user_interactions < 0 || options.min_item_interactions < 0) {
    throw Error("k-core: expected minimum interaction counts >= 0, found user " +
                std::to_string(options.min_user_interactions) + ", item " +
                std::to_string(options.min_item_interactions));
  }
  const RecFormat format =
      options.format == RecFormat::kAuto ? detect_format(path) : options.format;
  if (options.keep_events) {
    if (format != RecFormat::kCsv) {
      throw Error(path +
                  ": behaviour-mlp reads a CSV behaviour log (user, item, event, time and "
                  "numeric columns), not a " +
                  (format == RecFormat::kSeq ? std::string("seq") : "MovieLens") + " file");
    }
    return read_behaviour_log(path, options);
  }
  Collector out(options);
  switch (format) {
    case RecFormat::kCsv:
      read_csv(path, options, out);
      break;
    case RecFormat::kMovieLens:
      read_movielens(path, options, out);
      break;
    case RecFormat::kSeq:
      read_seq(path, options, out);
      break;
    case RecFormat::kAuto:
      throw Error(path + ": could not detect the file format");  // detect_format always answers
  }
  return out.finish();
}

RecDataset rec_dataset_remap(const RecDataset& data, const data::IdMap& users,
                             const data::IdMap& items, int64_t* dropped) {
  RecDataset out = data;
  out.users = users;
  out.items = items;
  out.sequences.assign(users.size(), {});
  out.times.assign(users.size(), {});
  auto user_of = [&](int64_t u) { return users.find(data.users.name(u)); };
  auto item_of = [&](int64_t i) { return items.find(data.items.name(i)); };
  int64_t lost = 0;
  for (size_t u = 0; u < data.sequences.size(); ++u) {
    const int64_t to = user_of(static_cast<int64_t>(u));
    for (size_t k = 0; k < data.sequences[u].size(); ++k) {
      const int64_t item = to < 0 ? -1 : item_of(data.sequences[u][k]);
      if (item < 0) {
        ++lost;
        continue;
      }
      out.sequences[to].push_back(item);
      out.times[to].push_back(data.times[u][k]);
    }
  }
  BehaviourLog& log = out.events;
  log = BehaviourLog{};
  log.feature_names = data.events.feature_names;
  log.features.resize(log.feature_names.size());
  for (int64_t r = 0; r < data.events.rows(); ++r) {
    const int64_t u = user_of(data.events.user[r]), i = item_of(data.events.item[r]);
    if (u < 0 || i < 0) {
      lost += data.events.positive[r] ? 0 : 1;  // positive rows were counted with the sequences
      continue;
    }
    log.user.push_back(u);
    log.item.push_back(i);
    log.time.push_back(data.events.time[r]);
    log.positive.push_back(data.events.positive[r]);
    for (size_t f = 0; f < log.features.size(); ++f)
      log.features[f].push_back(data.events.features[f][r]);
  }
  if (dropped != nullptr) *dropped = lost;
  return out;
}

std::string rec_dataset_summary(const RecDataset& d, const std::string& path,
                                const RecLoadOptions& options) {
  std::string out = path + ": " + std::to_string(d.num_users()) + " users, " +
                    std::to_string(d.num_items()) + " items, " +
                    std::to_string(d.num_interactions()) + " interactions";
  if (!d.events.empty()) out += " in " + std::to_string(d.events.rows()) + " events";
  out += " (" + std::to_string(d.rows_read) + " rows read";
  auto add = [&](int64_t count, const std::string& what) {
    if (count) out += ", " + std::to_string(count) + " " + what;
  };
  add(d.rows_below_rating, "below --min-rating");
  add(d.rows_not_positive, "not '" + options.positive_event + "'");
  add(d.rows_duplicate, "duplicates");
  add(d.rows_filtered_kcore, "by k-core");
  add(d.rows_skipped, "bad rows skipped");
  add(d.cells_filled, "empty cells filled");
  out += ")";
  for (const auto& r : d.skip_reasons) out += "\n  skipped: " + r;
  return out;
}

RecSplit split_leave_one_out(const RecDataset& data) {
  if (!data.events.empty()) return split_behaviour_leave_one_out(data);
  RecSplit split = empty_split(data.sequences.size());
  for (size_t u = 0; u < data.sequences.size(); ++u) {
    const std::vector<int64_t>& s = data.sequences[u];
    if (s.size() < 3) {
      split.train[u] = s;
      continue;
    }
    split.train[u].assign(s.begin(), s.end() - 2);
    split.valid[u] = {s[s.size() - 2]};
    split.test[u] = {s.back()};
  }
  split.protocol = "leave-one-out by time: last item test, second-to-last validation";
  return split;
}

RecSplit split_random(const RecDataset& data, double test_ratio, double valid_ratio,
                      uint64_t seed) {
  check_ratio(test_ratio, false, "random split: test ratio");
  check_ratio(valid_ratio, true, "random split: validation ratio");
  RecSplit split = empty_split(data.sequences.size());
  std::vector<int64_t> order;
  std::vector<char> role;  // 0 train, 1 valid, 2 test
  for (size_t u = 0; u < data.sequences.size(); ++u) {
    const std::vector<int64_t>& s = data.sequences[u];
    const int64_t n = static_cast<int64_t>(s.size());
    const int64_t n_test = held_out(test_ratio, n, true);
    const int64_t n_valid = held_out(valid_ratio, n - n_test, false);
    // One generator per user, so a user's split never depends on anyone else's data.
    const uint64_t user = u;
    std::seed_seq seeds{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32),
                        static_cast<uint32_t>(user), static_cast<uint32_t>(user >> 32)};
    std::mt19937_64 rng(seeds);
    order.resize(n);
    for (int64_t i = 0; i < n; ++i) order[i] = i;
    role.assign(n, 0);
    // Partial Fisher-Yates: the first n_test picks are test, the next n_valid validation.
    for (int64_t k = 0; k < n_test + n_valid; ++k) {
      const int64_t j = k + static_cast<int64_t>(uniform_below(rng, n - k));
      std::swap(order[k], order[j]);
      role[order[k]] = k < n_test ? 2 : 1;
    }
    for (int64_t i = 0; i < n; ++i) {
      std::vector<int64_t>* to = role[i] == 0   ? &split.train[u]
                                 : role[i] == 1 ? &split.valid[u]
                                                : &split.test[u];
      to->push_back(s[i]);
    }
  }
  split.protocol = "per-user random holdout: " + percent(test_ratio) + " test, " +
                   (valid_ratio > 0 ? percent(valid_ratio) + " of the rest validation"
                                    : std::string("no validation")) +
                   ", seed " + std::to_string(seed);
  return split;
}

RecSplit split_time(const RecDataset& data, double train_ratio, double valid_ratio) {
  check_ratio(train_ratio, false, "time split: train ratio");
  check_ratio(valid_ratio, true, "time split: validation ratio");
  RecSplit split = empty_split(data.sequences.size());
  for (size_t u = 0; u < data.sequences.size(); ++u) {
    const std::vector<int64_t>& s = data.sequences[u];
    const int64_t n = static_cast<int64_t>(s.size());
    // Same rounding as the random split, so both evaluate the same users.
    const int64_t n_test = held_out(1 - train_ratio, n, true);
    const int64_t n_valid = held_out(valid_ratio, n - n_test, false);
    split.test[u].assign(s.end() - n_test, s.end());
    carve_last(std::vector<int64_t>(s.begin(), s.end() - n_test), n_valid, &split.train[u],
               &split.valid[u]);
  }
  split.protocol = "per-user split by time: last " + percent(1 - train_ratio) +
                   " of each user's items test, " +
                   (valid_ratio > 0 ? "last " + percent(valid_ratio) + " of the rest validation"
                                    : std::string("no validation"));
  return split;
}

RecSplit split_explicit(const RecDataset& train, const RecDataset& test, double valid_ratio,
                        int64_t* dropped) {
  check_ratio(valid_ratio, true, "explicit split: validation ratio");
  RecSplit split = empty_split(train.sequences.size());
  for (size_t u = 0; u < train.sequences.size(); ++u) {
    const std::vector<int64_t>& s = train.sequences[u];
    const int64_t n_valid = held_out(valid_ratio, static_cast<int64_t>(s.size()), false);
    carve_last(s, n_valid, &split.train[u], &split.valid[u]);
  }
  int64_t lost = 0, kept = 0;
  for (size_t v = 0; v < test.sequences.size(); ++v) {
    const int64_t u = train.users.find(test.users.name(static_cast<int64_t>(v)));
    for (const int64_t item : test.sequences[v]) {
      const int64_t i = u < 0 ? -1 : train.items.find(test.items.name(item));
      if (i < 0) {
        ++lost;
        continue;
      }
      split.test[u].push_back(i);
      ++kept;
    }
  }
  if (dropped != nullptr) *dropped = lost;
  split.protocol = "explicit test file: " + std::to_string(kept) + " test interactions (" +
                   std::to_string(lost) + " dropped: unknown user or item), " +
                   (valid_ratio > 0 ? "last " + percent(valid_ratio) +
                                          " of each user's training items validation"
                                    : std::string("no validation"));
  return split;
}

RecSplit split_by_name(const RecDataset& data, const std::string& spec, double valid_ratio,
                       uint64_t seed) {
  if (spec == "loo") return split_leave_one_out(data);
  const size_t colon = spec.find(':');
  double ratio;
  if (colon != std::string::npos &&
      parse_double(std::string_view(spec).substr(colon + 1), &ratio)) {
    const std::string kind = spec.substr(0, colon);
    if (kind == "random") return split_random(data, ratio, valid_ratio, seed);
    if (kind == "time") return split_time(data, ratio, valid_ratio);
  }
  throw Error("--split: expected loo, random:RATIO or time:RATIO, found '" + spec + "'");
}

}  // namespace deepcart::rec
