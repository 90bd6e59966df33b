// One panel of `sinter plot`, drawn as SVG by hand (no plotting library).
#include "tools/sinter/plot_panel.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace sinter::tool {
namespace {

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

// Ticks of a log axis over [lo, hi] in decades: whole powers of ten over a wide range, else the values 1, 2 and
// 5 (and then every digit) times a power of ten, so that labels stay round.
std::vector<double> logTicks(double lo, double hi) {
  if (hi - lo >= 2) {
    std::vector<double> out;
    for (double t : ticks(lo, hi, 5))
      if (t == std::floor(t)) out.push_back(t);
    return out;
  }
  for (const std::vector<double>& mantissas : {std::vector<double>{1, 2, 5}, {1, 2, 3, 4, 5, 6, 7, 8, 9}}) {
    std::vector<double> out;
    for (double k = std::floor(lo); k <= std::ceil(hi); ++k)
      for (double m : mantissas)
        if (double t = k + std::log10(m); t >= lo && t <= hi) out.push_back(t);
    if (out.size() >= 3) return out;
  }
  return ticks(lo, hi, 4);
}

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '&' ? "&amp;" : std::string(1, c);
  return out;
}

// A value in the scale's units; nothing for a value a log axis cannot show.
std::optional<double> toAxis(double v, Scale scale) {
  if (scale != Scale::Log) return v;
  if (!(v > 0)) return std::nullopt;
  return std::log10(v);
}

std::string tickLabel(double t, Scale scale) {
  switch (scale) {
    case Scale::Percent: return fmt::format("{:g}%", std::round(t * 1000) / 10);
    case Scale::Log: return fmt::format("{:.3g}", std::pow(10.0, t));
    case Scale::Linear: break;
  }
  return fmt::format("{:g}", t);
}

// The legend goes where the curves usually are not: at the bottom for accuracy (it rises), at the top
// otherwise; on a white box as wide as its longest label (about 7 px a character).
std::string legend(const PanelFrame& f, const std::vector<Series>& series) {
  std::size_t longest = 0;
  for (const Series& s : series) longest = std::max(longest, s.label.size());
  const double lw = 40 + 7.0 * static_cast<double>(longest);
  double ly = f.scale == Scale::Percent ? f.y0 + f.h - 16.0 * static_cast<double>(series.size()) - 4 : f.y0 + 16;
  std::string svg =
      fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"white\" fill-opacity=\"0.85\"/>\n",
                  f.x0 + f.w - lw - 2, ly - 11, lw, 16 * series.size() + 4);
  for (const Series& s : series) {
    const std::string dash = s.dash.empty() ? "" : fmt::format(" stroke-dasharray=\"{}\"", s.dash);
    svg += fmt::format(
        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"2\"{}/>"
        "<text x=\"{}\" y=\"{}\">{}</text>\n",
        f.x0 + f.w - lw + 4, ly, f.x0 + f.w - lw + 24, ly, s.color, dash, f.x0 + f.w - lw + 30, ly + 4,
        escape(s.label));
    ly += 16;
  }
  return svg;
}

}  // namespace

std::optional<std::pair<double, double>> valueRange(const std::vector<Series>& series, Scale scale) {
  double lo = 1e300, hi = -1e300;
  for (const Series& s : series)
    for (auto [x, y] : s.points)
      if (auto v = toAxis(y, scale)) lo = std::min(lo, *v), hi = std::max(hi, *v);
  if (lo > hi) return std::nullopt;
  return std::pair{lo, hi};
}

std::string drawPanel(const PanelFrame& f, std::vector<Series> series) {
  for (Series& s : series)
    std::erase_if(s.points, [&](const std::pair<double, double>& p) { return !toAxis(p.second, f.scale); });
  std::erase_if(series, [](const Series& s) { return s.points.empty(); });
  std::string svg = fmt::format(
      "<g font-family=\"sans-serif\" font-size=\"12\">\n<text x=\"{}\" y=\"{}\" font-size=\"14\" "
      "font-weight=\"bold\" text-anchor=\"middle\">{}</text>\n",
      f.x0 + f.w / 2, f.y0 - 10, escape(f.title));
  const auto fitted = valueRange(series, f.scale);
  if (series.empty() || !fitted)
    return svg + fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">no data</text>\n</g>\n", f.x0 + f.w / 2,
                             f.y0 + f.h / 2);
  const std::pair<double, double> range = f.range.value_or(*fitted);
  double ymin = range.first, ymax = range.second;
  double xmin = 1e300, xmax = -1e300;
  for (const Series& s : series)
    for (auto [x, y] : s.points) xmin = std::min(xmin, x), xmax = std::max(xmax, x);
  if (xmax == xmin) xmin -= 1, xmax += 1;
  if (ymax == ymin) ymin -= 0.5 * std::max(std::abs(ymin), 1e-3), ymax += 0.5 * std::max(std::abs(ymax), 1e-3);
  const double pad = (ymax - ymin) * 0.05;
  ymin -= pad, ymax += pad;
  if (f.scale == Scale::Percent) ymin = std::max(ymin, 0.0), ymax = std::min(ymax, 1.0);
  auto px = [&](double x) { return f.x0 + (x - xmin) / (xmax - xmin) * f.w; };
  auto py = [&](double y) { return f.y0 + f.h - (*toAxis(y, f.scale) - ymin) / (ymax - ymin) * f.h; };
  auto pyAxis = [&](double t) { return f.y0 + f.h - (t - ymin) / (ymax - ymin) * f.h; };

  svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#444\"/>\n", f.x0, f.y0,
                     f.w, f.h);
  for (double t : f.scale == Scale::Log ? logTicks(ymin, ymax) : ticks(ymin, ymax, 5)) {
    svg += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>\n", f.x0,
                       pyAxis(t), f.x0 + f.w, pyAxis(t));
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n", f.x0 - 6, pyAxis(t) + 4,
                       tickLabel(t, f.scale));
  }
  for (double t : ticks(xmin, xmax, std::min(10, static_cast<int>(xmax - xmin) + 1))) {
    if (t != std::floor(t)) continue;  // epochs are integers
    svg += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#444\"/>\n", px(t),
                       f.y0 + f.h, px(t), f.y0 + f.h + 4);
    svg +=
        fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{:g}</text>\n", px(t), f.y0 + f.h + 18, t);
  }
  svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">epoch</text>\n", f.x0 + f.w / 2, f.y0 + f.h + 36);
  for (const Series& s : series) {
    std::string pts;
    for (auto [x, y] : s.points) pts += fmt::format("{:.1f},{:.1f} ", px(x), py(y));
    pts.pop_back();
    const std::string dash = s.dash.empty() ? "" : fmt::format(" stroke-dasharray=\"{}\"", s.dash);
    svg += fmt::format("<polyline class=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{} points=\"{}\"/>\n",
                       s.key, s.color, dash, pts);
    for (auto [x, y] : s.points)
      svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"{}\"/>\n", px(x), py(y), s.color);
  }
  return svg + legend(f, f.legend.empty() ? series : f.legend) + "</g>\n";
}

}  // namespace sinter::tool
