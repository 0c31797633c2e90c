// Charts for reports, drawn by gnuplot (Debian's gnuplot-nox) so that deepcart carries no
// plotting code of its own.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace deepcart {

// A confusion-matrix heat map as PNG: rows are true labels, columns predicted ones; each cell
// shows its count, coloured by its share of the row (the recall of the diagonal). Throws Error
// naming the path when gnuplot is missing or fails.
void plot_confusion(const std::vector<std::vector<int64_t>>& confusion,
                    const std::vector<std::string>& labels, const std::string& title,
                    const std::string& png_path);
// The same matrix as CSV, label names quoted: a "true\predicted" corner, a row per true label.
void write_confusion_csv(const std::vector<std::vector<int64_t>>& confusion,
                         const std::vector<std::string>& labels, const std::string& csv_path);

}  // namespace deepcart
