// The demo shop's behaviour log, generated (documented as synthetic): customers with latent
// tastes over Fashion-MNIST's ten product categories and styles, items with a popularity skew,
// and view/cart/purchase events with timestamps, numeric columns and some missing values.
#pragma once

#include <cstdint>
#include <string>

namespace deepcart::data {

struct ShopOptions {
  int users = 2000;
  int items = 1000;
  int styles = 8;              // latent style dimensions
  double sessions_mean = 8.0;  // sessions per user (log-normal around this)
  double missing_rate = 0.03;  // share of price/dwell cells left empty
  uint64_t seed = 42;
};

struct ShopSummary {
  int64_t events = 0, views = 0, carts = 0, purchases = 0, missing_cells = 0;
};

// Writes DIR/events.csv, DIR/items.csv and DIR/README.txt; returns what was written.
ShopSummary shop_generate(const std::string& dir, const ShopOptions& options);

// The ten Fashion-MNIST class names, the demo shop's categories.
const char* shop_category_name(int category);

}  // namespace deepcart::data
