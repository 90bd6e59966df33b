// SVG to PNG for `sinter plot -o curves.png`: librsvg rasterizes the SVG the plot draws, so the two outputs
// are one drawing.
#pragma once

#include <string>

namespace sinter::tool {

// Renders `svg` (width x height pixels) into the PNG file `path`; throws std::runtime_error naming the file.
void writePng(const std::string& svg, int width, int height, const std::string& path);

}  // namespace sinter::tool
