// `sinter plot metrics.jsonl -o curves.svg`: the loss and accuracy curves of a training run, for a user who would
// rather look than read. Several files overlay their runs on shared axes (`sinter plot sgd.jsonl adam.jsonl
// --labels sgd,adam`): a colour per run, a dash pattern per split. Runs trained with the grad_norm metric add a
// panel per run of each parameter's gradient norm on a log axis shared by all of them, so that vanishing
// gradients in one run show against another. An .png output is the same drawing, rasterized.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "tools/sinter/commands.h"
#include "tools/sinter/plot_panel.h"
#include "tools/sinter/png_render.h"

namespace sinter::tool {
namespace {

constexpr const char* kColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                   "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

// What one metrics file holds: its loss and accuracy series per split, and a gradient-norm series per param.
struct Run {
  std::string label;
  std::vector<Series> loss, accuracy, gradNorms;
};

// A value of the record under `key`, when it is a finite number.
std::optional<double> number(const nlohmann::ordered_json& j, const std::string& key) {
  if (!j.contains(key) || !j[key].is_number()) return std::nullopt;
  const double v = j[key].get<double>();
  return std::isfinite(v) ? std::optional(v) : std::nullopt;
}

// The series of one metrics file. One run: a colour per split. Several (`overlay`): a colour per run (`index`
// from 0), a dash pattern per split. Gradient norms get a colour per param, in the order the file lists them.
Run readRun(const std::string& path, const std::string& label, int index, bool overlay) {
  static const char* const kDashes[] = {"", "6,3", "2,3"};
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open");
  Run run{label, {}, {}, {}};
  int split = 0;
  for (const char* name : {"train", "val", "test"}) {
    const std::string prefix = overlay ? label + " " + name : name;
    const std::string color = kColors[(overlay ? index : split) % 10];
    const std::string dash = overlay ? kDashes[split] : "";
    run.loss.push_back({std::string(name) + "_loss", prefix + " loss", color, dash, {}});
    run.accuracy.push_back({std::string(name) + "_accuracy", prefix + " accuracy", color, dash, {}});
    ++split;
  }
  int lineNo = 0;
  for (std::string line; std::getline(in, line);) {
    ++lineNo;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const auto j = nlohmann::ordered_json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !number(j, "epoch"))
      throw std::runtime_error(fmt::format("{}:{}: not a metrics record (a JSON object with \"epoch\")", path, lineNo));
    const double epoch = *number(j, "epoch");
    for (auto* group : {&run.loss, &run.accuracy})
      for (Series& s : *group)
        if (auto v = number(j, s.key)) s.points.emplace_back(epoch, *v);
    if (!j.contains("grad_norms") || !j["grad_norms"].is_object()) continue;
    for (const auto& item : j["grad_norms"].items()) {
      const std::string& param = item.key();
      const auto& value = item.value();
      auto known =
          std::find_if(run.gradNorms.begin(), run.gradNorms.end(), [&](const Series& s) { return s.label == param; });
      if (known == run.gradNorms.end()) {
        const std::string color = kColors[run.gradNorms.size() % 10];
        run.gradNorms.push_back({"grad_norm_" + param, param, color, "", {}});
        known = run.gradNorms.end() - 1;
      }
      if (value.is_number() && std::isfinite(value.get<double>()))
        known->points.emplace_back(epoch, value.get<double>());
    }
  }
  if (lineNo == 0) throw std::runtime_error(path + ": no records");
  return run;
}

// Keeps the gradient-norm series of the params `--params` names; every name must be a param of some run.
void selectParams(std::vector<Run>& runs, const std::vector<std::string>& params) {
  if (params.empty()) return;
  std::set<std::string> seen;
  for (const Run& r : runs)
    for (const Series& s : r.gradNorms) seen.insert(s.label);
  for (const std::string& p : params)
    if (!seen.contains(p)) {
      std::string known;
      for (const std::string& s : seen) known += (known.empty() ? "" : ", ") + s;
      throw std::runtime_error(
          fmt::format("--params: no gradient norms of '{}' in the metrics files ({})", p,
                      known.empty() ? "they have none: train with --metrics-list grad_norm" : "they have " + known));
    }
  const std::set<std::string> keep(params.begin(), params.end());
  for (Run& r : runs) {
    std::erase_if(r.gradNorms, [&](const Series& s) { return !keep.contains(s.label); });
    for (std::size_t k = 0; k < r.gradNorms.size(); ++k) r.gradNorms[k].color = kColors[k % 10];  // no gaps
  }
}

std::string runLabel(const std::string& path, const std::vector<std::string>& labels, std::size_t r) {
  if (!labels.empty()) return labels[r];
  // A run is named by its file's name without the directory and the extension.
  std::string label = path.substr(path.find_last_of('/') + 1);
  return label.substr(0, label.find('.'));
}

// Several runs: a legend of the runs (their colours) and then of the splits (their dash patterns), shorter than
// one entry per run and split. One run: empty, an entry per series. `metric` picks the loss or accuracy series.
std::vector<Series> overlayLegend(const std::vector<Run>& runs, std::vector<Series> Run::*metric) {
  if (runs.size() < 2) return {};
  std::vector<Series> entries, splits;
  for (const Run& r : runs)
    for (const Series& s : r.*metric) {
      if (s.points.empty()) continue;
      if (entries.empty() || entries.back().label != r.label) entries.push_back({s.key, r.label, s.color, "", {}});
      const std::string split = s.key.substr(0, s.key.find('_'));
      if (std::none_of(splits.begin(), splits.end(), [&](const Series& e) { return e.label == split; }))
        splits.push_back({s.key, split, "#444", s.dash, {}});
    }
  entries.insert(entries.end(), splits.begin(), splits.end());
  return entries;
}

}  // namespace

int runPlot(const PlotOptions& o) {
  const bool png = o.output.ends_with(".png");
  if (!png && !o.output.ends_with(".svg"))
    throw std::runtime_error(o.output + ": the output must be an .svg or a .png file");
  if (!o.labels.empty() && o.labels.size() != o.files.size())
    throw std::runtime_error(
        fmt::format("--labels names {} runs but {} metrics files are given", o.labels.size(), o.files.size()));
  std::vector<Run> runs;
  for (std::size_t r = 0; r < o.files.size(); ++r)
    runs.push_back(readRun(o.files[r], runLabel(o.files[r], o.labels, r), static_cast<int>(r), o.files.size() > 1));
  selectParams(runs, o.params);

  std::vector<Series> loss, accuracy, allNorms;
  std::vector<const Run*> withNorms;
  for (const Run& r : runs) {
    loss.insert(loss.end(), r.loss.begin(), r.loss.end());
    accuracy.insert(accuracy.end(), r.accuracy.begin(), r.accuracy.end());
    if (!valueRange(r.gradNorms, Scale::Log)) continue;
    withNorms.push_back(&r);
    allNorms.insert(allNorms.end(), r.gradNorms.begin(), r.gradNorms.end());
  }
  // Two panels a row: loss and accuracy, then the gradient norms of each run on one shared range.
  const int rows = 1 + static_cast<int>((withNorms.size() + 1) / 2);
  const int width = 960, height = 400 * rows;
  std::string svg = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\">\n"
      "<rect width=\"{0}\" height=\"{1}\" fill=\"white\"/>\n",
      width, height);
  svg += drawPanel({"loss", Scale::Linear, 70, 40, 380, 300, {}, overlayLegend(runs, &Run::loss)}, loss);
  svg += drawPanel({"accuracy", Scale::Percent, 560, 40, 380, 300, {}, overlayLegend(runs, &Run::accuracy)}, accuracy);
  const auto normRange = valueRange(allNorms, Scale::Log);
  for (std::size_t k = 0; k < withNorms.size(); ++k) {
    const std::string title = runs.size() > 1 ? "gradient norms: " + withNorms[k]->label : "gradient norm per param";
    const double x0 = k % 2 == 0 ? 70 : 560, y0 = 440 + 400.0 * std::floor(static_cast<double>(k) / 2);
    svg += drawPanel({title, Scale::Log, x0, y0, 380, 300, normRange, {}}, withNorms[k]->gradNorms);
  }
  svg += "</svg>\n";
  if (png) {
    writePng(svg, width, height, o.output);
  } else {
    std::ofstream out(o.output);
    if (!(out << svg)) throw std::runtime_error(o.output + ": cannot write");
  }
  fmt::print("wrote {}\n", o.output);
  return 0;
}

}  // namespace sinter::tool
