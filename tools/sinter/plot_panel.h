// One panel of `sinter plot`: axes, ticks, grid, curves and their legend, drawn as an SVG group by hand.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sinter::tool {

struct Series {
  std::string key, label, color;
  std::string dash;                               // SVG stroke-dasharray; empty: solid
  std::vector<std::pair<double, double>> points;  // (epoch, value)
};

// How values map to the vertical axis. `Percent` is linear, labelled in percent and clamped to [0, 1]; `Log`
// is log10, labelled with the values (gradient norms span decades, and vanishing ones are the point).
enum class Scale { Linear, Percent, Log };

struct PanelFrame {
  std::string title;
  Scale scale = Scale::Linear;
  double x0 = 0, y0 = 0, w = 0, h = 0;
  // The vertical range in the scale's own units (log10 for `Log`); empty: fitted to the series. Panels that are
  // compared with each other are given one range.
  std::optional<std::pair<double, double>> range;
  // The legend's entries (label, colour, dash); empty: one per series that has points.
  std::vector<Series> legend;
};

// The smallest and largest value of the series in the scale's units, or nothing when no point can be drawn.
std::optional<std::pair<double, double>> valueRange(const std::vector<Series>& series, Scale scale);

std::string drawPanel(const PanelFrame& frame, std::vector<Series> series);

}  // namespace sinter::tool
