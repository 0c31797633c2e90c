#include "deepcart/core/plot.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "deepcart/core/error.h"

namespace deepcart {
namespace {

// gnuplot single-quoted strings: a quote is doubled.
std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

}  // namespace

void plot_confusion(const std::vector<std::vector<int64_t>>& confusion,
                    const std::vector<std::string>& labels, const std::string& title,
                    const std::string& png_path) {
  const size_t n = labels.size();
  if (confusion.size() != n) throw Error("plot: confusion matrix and labels differ in size");
  namespace fs = std::filesystem;
  const std::string base =
      (fs::temp_directory_path() / ("deepcart_plot_" + std::to_string(::getpid()))).string();
  const std::string data_path = base + ".dat", script_path = base + ".gp",
                    tmp_png = png_path + ".tmp";
  {
    std::ofstream data(data_path);
    for (size_t t = 0; t < n; ++t) {
      int64_t row = 0;
      for (int64_t v : confusion[t]) row += v;
      for (size_t p = 0; p < n; ++p) {
        const double share = row > 0 ? static_cast<double>(confusion[t][p]) / row : 0.0;
        data << p << ' ' << t << ' ' << share << ' ' << confusion[t][p] << '\n';
      }
      data << '\n';
    }
  }
  const int side = static_cast<int>(std::clamp<size_t>(n * 60 + 260, 480, 2400));
  std::string xtics, ytics;
  for (size_t i = 0; i < n; ++i) {
    xtics += (i ? ", " : "") + quoted(labels[i]) + " " + std::to_string(i);
  }
  {
    std::ofstream gp(script_path);
    gp << "set terminal pngcairo size " << side << "," << side << " font 'sans,10'\n"
       << "set output " << quoted(tmp_png) << "\n"
       << "set title " << quoted(title) << "\n"
       << "set xlabel 'predicted'\nset ylabel 'true'\n"
       << "set xtics (" << xtics << ") rotate by 45 right\n"
       << "set ytics (" << xtics << ")\n"
       << "set yrange [" << n - 0.5 << ":-0.5]\nset xrange [-0.5:" << n - 0.5 << "]\n"
       << "set cbrange [0:1]\nset cblabel 'share of the true row'\n"
       << "set palette defined (0 'white', 1 '#9ecae1', 2 '#08306b')\n"
       << "unset key\nset size square\n"
       << "plot " << quoted(data_path) << " using 1:2:3 with image, " << quoted(data_path)
       << " using 1:2:(sprintf('%d', $4)):($3 > 0.5 ? 0xffffff : 0) "
       << "with labels tc rgb variable font 'sans,9'\n";
  }
  const std::string command = "gnuplot " + script_path + " 2>" + base + ".err";
  const int status = std::system(command.c_str());
  std::string err;
  {
    std::ifstream e(base + ".err");
    std::getline(e, err, '\0');
  }
  fs::remove(data_path);
  fs::remove(script_path);
  fs::remove(base + ".err");
  if (status != 0 || !fs::exists(tmp_png)) {
    fs::remove(tmp_png);
    throw Error(png_path + ": gnuplot failed (" +
                (status == 127 * 256 ? "not installed: apt install gnuplot-nox" : err) + ")");
  }
  fs::rename(tmp_png, png_path);
}

void write_confusion_csv(const std::vector<std::vector<int64_t>>& confusion,
                         const std::vector<std::string>& labels, const std::string& csv_path) {
  std::ofstream out(csv_path);
  if (!out) throw Error(csv_path + ": cannot open for writing");
  out << "true\\predicted";
  for (const auto& l : labels) out << ",\"" << l << "\"";
  out << "\n";
  for (size_t t = 0; t < labels.size(); ++t) {
    out << "\"" << labels[t] << "\"";
    for (int64_t v : confusion[t]) out << "," << v;
    out << "\n";
  }
  if (!out.flush()) throw Error(csv_path + ": write failed");
}

}  // namespace deepcart
