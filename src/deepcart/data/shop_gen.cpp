#include "deepcart/data/shop_gen.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <vector>

#include "deepcart/core/error.h"

namespace deepcart::data {
namespace {

constexpr int kCategories = 10;
constexpr const char* kCategoryNames[kCategories] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

std::string pad_id(char prefix, int index, int width) {
  std::string digits = std::to_string(index);
  return std::string(1, prefix) +
         std::string(std::max(0, width - static_cast<int>(digits.size())), '0') + digits;
}

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

}  // namespace

const char* shop_category_name(int category) { return kCategoryNames[category % kCategories]; }

ShopSummary shop_generate(const std::string& dir, const ShopOptions& o) {
  if (o.users < 1 || o.items < kCategories) {
    throw Error("datagen: expected at least 1 user and " + std::to_string(kCategories) + " items");
  }
  std::filesystem::create_directories(dir);
  std::mt19937_64 rng(o.seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);

  // Categories have a style centroid; an item is its category's centroid plus noise.
  std::vector<std::vector<double>> centroid(kCategories, std::vector<double>(o.styles));
  for (auto& c : centroid)
    for (auto& x : c) x = normal(rng);
  std::vector<int> item_category(o.items);
  std::vector<std::vector<double>> item_style(o.items, std::vector<double>(o.styles));
  std::vector<double> item_log_pop(o.items), item_price(o.items);
  for (int i = 0; i < o.items; ++i) {
    item_category[i] = i % kCategories;
    for (int d = 0; d < o.styles; ++d)
      item_style[i][d] = centroid[item_category[i]][d] + 0.8 * normal(rng);
    item_log_pop[i] = 1.2 * normal(rng);  // log-normal popularity: a long tail
    item_price[i] =
        std::round(std::exp(3.0 + 0.2 * item_category[i] / 3.0 + 0.5 * normal(rng)) * 100) / 100;
  }

  std::ofstream items(dir + "/items.csv");
  items << "item_id,category,category_id,price\n";
  for (int i = 0; i < o.items; ++i) {
    items << pad_id('i', i + 1, 4) << ",\"" << kCategoryNames[item_category[i]] << "\","
          << item_category[i] << "," << item_price[i] << "\n";
  }

  std::ofstream events(dir + "/events.csv");
  if (!events) throw Error(dir + "/events.csv: cannot open for writing");
  events << "user_id,item_id,category,event,timestamp,price,dwell_seconds,quantity\n";
  ShopSummary summary;
  const int64_t start_time = 1767225600;  // 2026-01-01
  std::vector<double> weight(o.items);
  for (int u = 0; u < o.users; ++u) {
    // A user's taste: a few favourite categories (peaked Dirichlet) and a style vector.
    std::vector<double> taste(kCategories);
    double taste_sum = 0;
    for (auto& t : taste) taste_sum += (t = std::gamma_distribution<double>(0.3, 1.0)(rng));
    std::vector<double> style(o.styles, 0.0);
    for (int c = 0; c < kCategories; ++c) {
      taste[c] /= taste_sum;
      for (int d = 0; d < o.styles; ++d) style[d] += taste[c] * centroid[c][d];
    }
    for (auto& x : style) x += 0.7 * normal(rng);
    std::vector<double> affinity(o.items);
    for (int i = 0; i < o.items; ++i) {
      double dot = 0;
      for (int d = 0; d < o.styles; ++d) dot += style[d] * item_style[i][d];
      affinity[i] = dot / std::sqrt(static_cast<double>(o.styles));
      weight[i] = std::exp(item_log_pop[i] + 1.5 * affinity[i]) * (0.05 + taste[item_category[i]]);
    }
    std::discrete_distribution<int> pick(weight.begin(), weight.end());
    const int sessions = std::max(
        2, static_cast<int>(std::round(o.sessions_mean * std::exp(0.5 * normal(rng) - 0.125))));
    int64_t t = start_time + static_cast<int64_t>(uniform(rng) * 86400 * 30);
    for (int s = 0; s < sessions; ++s) {
      t += static_cast<int64_t>(3600 + uniform(rng) * 86400 * 7);
      const int views = 1 + static_cast<int>(uniform(rng) * 6);
      for (int v = 0; v < views; ++v) {
        const int i = pick(rng);
        t += 5 + static_cast<int64_t>(uniform(rng) * 300);
        const double dwell =
            std::round(std::exp(3.0 + 0.3 * affinity[i] + 0.6 * normal(rng)) * 10) / 10;
        auto write = [&](const char* event, double quantity) {
          events << pad_id('u', u + 1, 5) << ',' << pad_id('i', i + 1, 4) << ",\""
                 << kCategoryNames[item_category[i]] << "\"," << event << ',' << t << ',';
          if (uniform(rng) < o.missing_rate)
            ++summary.missing_cells;
          else
            events << item_price[i];
          events << ',';
          if (uniform(rng) < o.missing_rate)
            ++summary.missing_cells;
          else
            events << dwell;
          events << ',';
          if (quantity > 0)
            events << quantity;
          else
            ++summary.missing_cells;
          events << '\n';
          ++summary.events;
        };
        write("view", 0);
        ++summary.views;
        if (uniform(rng) < sigmoid(1.6 * affinity[i] - 0.5)) {
          t += 10 + static_cast<int64_t>(uniform(rng) * 120);
          write("cart", 0);
          ++summary.carts;
          if (uniform(rng) < 0.6) {
            t += 10 + static_cast<int64_t>(uniform(rng) * 600);
            write("purchase", 1 + static_cast<int>(uniform(rng) * uniform(rng) * 3));
            ++summary.purchases;
          }
        }
      }
    }
  }
  if (!events.flush()) throw Error(dir + "/events.csv: write failed");

  std::ofstream readme(dir + "/README.txt");
  readme << "SYNTHETIC DATA generated by `deepcart datagen` (seed " << o.seed << ").\n"
         << "No real customer is described here. " << o.users << " customers with latent tastes "
         << "over the ten Fashion-MNIST categories and " << o.styles << " style dimensions; "
         << o.items << " items with a log-normal popularity skew.\n"
         << "events.csv: user_id,item_id,category,event(view|cart|purchase),timestamp(unix s),"
         << "price,dwell_seconds,quantity. About " << static_cast<int>(o.missing_rate * 100)
         << "% of price and dwell_seconds cells are empty on purpose, and quantity is empty on "
         << "views and carts, so that cleaning (--fill-missing) is exercised.\n"
         << "items.csv: item_id,category,category_id,price.\n";
  return summary;
}

}  // namespace deepcart::data
