// `sinter plot metrics.jsonl -o curves.svg`: the loss and accuracy curves of a training run, drawn as a
// self-contained SVG by hand (no plotting library), for a user who would rather look than read. Several files
// overlay their runs on shared axes (`sinter plot sgd.jsonl adam.jsonl --labels sgd,adam`): a colour per run,
// a dash pattern per split.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "tools/sinter/commands.h"

namespace sinter::tool {
namespace {

struct Series {
  std::string key, label, color;
  std::string dash;                               // SVG stroke-dasharray; empty: solid
  std::vector<std::pair<double, double>> points;  // (epoch, value)
};

// Tick values at 1, 2 or 5 times a power of ten, about `want` of them across [lo, hi].
std::vector<double> ticks(double lo, double hi, int want) {
  const double raw = (hi - lo) / want;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  std::vector<double> out;
  for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9; t += step)
    out.push_back(std::abs(t) < step * 1e-9 ? 0 : t);
  return out;
}

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '&' ? "&amp;" : std::string(1, c);
  return out;
}

// One panel at (x0, y0) of size w x h: axes, ticks, grid, the curves and their legend.
std::string panel(const std::string& title, std::vector<Series> series, double x0, double y0, double w, double h,
                  bool percent) {
  series.erase(std::remove_if(series.begin(), series.end(), [](const Series& s) { return s.points.empty(); }),
               series.end());
  std::string svg = fmt::format(
      "<g font-family=\"sans-serif\" font-size=\"12\">\n<text x=\"{}\" y=\"{}\" font-size=\"14\" "
      "font-weight=\"bold\" text-anchor=\"middle\">{}</text>\n",
      x0 + w / 2, y0 - 10, escape(title));
  if (series.empty())
    return svg +
           fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">no data</text>\n</g>\n", x0 + w / 2, y0 + h / 2);
  double xmin = 1e300, xmax = -1e300, ymin = 1e300, ymax = -1e300;
  for (const Series& s : series)
    for (auto [x, y] : s.points)
      xmin = std::min(xmin, x), xmax = std::max(xmax, x), ymin = std::min(ymin, y), ymax = std::max(ymax, y);
  if (xmax == xmin) xmin -= 1, xmax += 1;
  if (ymax == ymin) ymin -= 0.5 * std::max(std::abs(ymin), 1e-3), ymax += 0.5 * std::max(std::abs(ymax), 1e-3);
  const double pad = (ymax - ymin) * 0.05;
  ymin -= pad, ymax += pad;
  if (percent) ymin = std::max(ymin, 0.0), ymax = std::min(ymax, 1.0);
  auto px = [&](double x) { return x0 + (x - xmin) / (xmax - xmin) * w; };
  auto py = [&](double y) { return y0 + h - (y - ymin) / (ymax - ymin) * h; };

  svg +=
      fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#444\"/>\n", x0, y0, w, h);
  for (double t : ticks(ymin, ymax, 5)) {
    svg += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>\n", x0, py(t),
                       x0 + w, py(t));
    const std::string label = percent ? fmt::format("{:g}%", std::round(t * 1000) / 10) : fmt::format("{:g}", t);
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n", x0 - 6, py(t) + 4, label);
  }
  std::vector<double> xt = ticks(xmin, xmax, std::min(10, static_cast<int>(xmax - xmin) + 1));
  for (double t : xt) {
    if (t != std::floor(t)) continue;  // epochs are integers
    svg += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#444\"/>\n", px(t),
                       y0 + h, px(t), y0 + h + 4);
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{:g}</text>\n", px(t), y0 + h + 18, t);
  }
  svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">epoch</text>\n", x0 + w / 2, y0 + h + 36);
  // Loss falls and accuracy rises: the legend goes where the curves usually are not, on a white box as wide
  // as its longest label (about 7 px a character).
  std::size_t longest = 0;
  for (const Series& s : series) longest = std::max(longest, s.label.size());
  const double lw = 40 + 7.0 * static_cast<double>(longest);
  double ly = percent ? y0 + h - 16.0 * static_cast<double>(series.size()) - 4 : y0 + 16;
  svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"white\" fill-opacity=\"0.85\"/>\n",
                     x0 + w - lw - 2, ly - 11, lw, 16 * series.size() + 4);
  for (const Series& s : series) {
    std::string pts;
    for (auto [x, y] : s.points) pts += fmt::format("{:.1f},{:.1f} ", px(x), py(y));
    pts.pop_back();
    const std::string dash = s.dash.empty() ? "" : fmt::format(" stroke-dasharray=\"{}\"", s.dash);
    svg += fmt::format("<polyline class=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{} points=\"{}\"/>\n",
                       s.key, s.color, dash, pts);
    for (auto [x, y] : s.points)
      svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"{}\"/>\n", px(x), py(y), s.color);
    svg += fmt::format(
        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"2\"{}/>"
        "<text x=\"{}\" y=\"{}\">{}</text>\n",
        x0 + w - lw + 4, ly, x0 + w - lw + 24, ly, s.color, dash, x0 + w - lw + 30, ly + 4, escape(s.label));
    ly += 16;
  }
  return svg + "</g>\n";
}

// The loss and accuracy series of one metrics file, appended to `loss` and `acc`. One run: a colour per split.
// Several: a colour per run (`run` from 0, named `label`), a dash pattern per split.
void readRun(const std::string& path, const std::string& label, int run, bool overlay, std::vector<Series>& loss,
             std::vector<Series>& acc) {
  static const char* const kColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                        "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  static const char* const kDashes[] = {"", "6,3", "2,3"};
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open");
  const std::size_t first = loss.size();
  int split = 0;
  for (const char* name : {"train", "val", "test"}) {
    const std::string prefix = overlay ? label + " " + name : name;
    const std::string color = kColors[(overlay ? run : split) % 10];
    const std::string dash = overlay ? kDashes[split] : "";
    loss.push_back({std::string(name) + "_loss", prefix + " loss", color, dash, {}});
    acc.push_back({std::string(name) + "_accuracy", prefix + " accuracy", color, dash, {}});
    ++split;
  }
  int lineNo = 0;
  for (std::string line; std::getline(in, line);) {
    ++lineNo;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("epoch") || !j["epoch"].is_number())
      throw std::runtime_error(fmt::format("{}:{}: not a metrics record (a JSON object with \"epoch\")", path, lineNo));
    const double epoch = j["epoch"].get<double>();
    for (auto* group : {&loss, &acc})
      for (std::size_t k = first; k < group->size(); ++k) {
        Series& s = (*group)[k];
        if (j.contains(s.key) && j[s.key].is_number() && std::isfinite(j[s.key].get<double>()))
          s.points.emplace_back(epoch, j[s.key].get<double>());
      }
  }
  if (lineNo == 0) throw std::runtime_error(path + ": no records");
}

}  // namespace

int runPlot(const std::vector<std::string>& paths, const std::vector<std::string>& labels, const std::string& output) {
  if (output.size() >= 4 && output.compare(output.size() - 4, 4, ".png") == 0)
    throw std::runtime_error("PNG output is not supported (it would need an image library); write an .svg file");
  if (!labels.empty() && labels.size() != paths.size())
    throw std::runtime_error(
        fmt::format("--labels names {} runs but {} metrics files are given", labels.size(), paths.size()));
  std::vector<Series> loss, acc;
  for (std::size_t r = 0; r < paths.size(); ++r) {
    // A run is named by its label, else by its file's name without the directory and the extension.
    std::string label = labels.empty() ? paths[r] : labels[r];
    if (labels.empty()) {
      label = label.substr(label.find_last_of('/') + 1);
      label = label.substr(0, label.find('.'));
    }
    readRun(paths[r], label, static_cast<int>(r), paths.size() > 1, loss, acc);
  }
  std::string svg =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"960\" height=\"400\" viewBox=\"0 0 960 400\">\n"
      "<rect width=\"960\" height=\"400\" fill=\"white\"/>\n";
  svg += panel("loss", loss, 70, 40, 380, 300, false);
  svg += panel("accuracy", acc, 560, 40, 380, 300, true);
  svg += "</svg>\n";
  std::ofstream out(output);
  if (!(out << svg)) throw std::runtime_error(output + ": cannot write");
  fmt::print("wrote {}\n", output);
  return 0;
}

}  // namespace sinter::tool
