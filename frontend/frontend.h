// The frontend's entry points: model source text in, a checked ir::Module (forward graph and train config)
// or located diagnostics out.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/ir/module.h"
#include "frontend/diagnostics.h"

namespace sinter::frontend {

// One layer instance of a model, for `sinter check`'s Keras-like summary.
struct LayerSummary {
  std::string path;         // "encoder.fc1"
  std::string layer;        // "Dense"
  int depth = 0;            // 0: made by the model; 1: inside a layer made by the model; ...
  std::string output;       // type of its last call's result ("f32[batch,256]"), "multiple", or "" if never called
  std::int64_t params = 0;  // its own and its sub-layers'
  std::int64_t bytes = 0;
};

struct ModelSummary {
  std::string model;
  std::vector<LayerSummary> layers;  // in creation order, each followed by its sub-layers
  std::int64_t modelParams = 0;      // params declared in the model itself
  std::int64_t totalParams = 0;
  std::int64_t totalBytes = 0;
};

// The summary as a table: layer (type), output shape, params, then the totals.
std::string formatSummary(const ModelSummary& s);

// A model of another format imported as a layer (`import "backbone.onnx" as Backbone`, docs/onnx.md): its
// forward graph, whose inputs are the layer's call arguments in order, whose params (initialized with
// Init::Data, the file's values) each instance copies under its own path, and whose results it returns.
struct ForeignLayer {
  std::string path;  // the file it was read from
  ir::Graph graph;
};
// Reads a foreign model file; on failure returns nullptr with its problems in `errors`, each a message (no
// location: the import statement is where they are reported).
using ForeignLoader =
    std::function<std::shared_ptr<const ForeignLayer>(const std::string& path, std::vector<std::string>& errors)>;

struct CompileOptions {
  // Where `import "x.sn"` looks after the importing file's own directory, in order.
  std::vector<std::string> includeDirs;
  // Then the standard library's directory (stdlibDir()), unless false.
  bool useStdlib = true;
  // Whether `import` may name any file, by an absolute path or through ".." (the fuzzer turns this off).
  bool absoluteImports = true;
  ModelSummary* summary = nullptr;  // filled when given
  // Reads the `.onnx` files that `import ... as Name` names. The frontend does not link the ONNX importer:
  // the `sinter` tool installs it (onnxio::installOnnxLayers), and without one such an import is an error.
  ForeignLoader onnxLoader;
};

// The options the `sinter` tool's -I flags fill; compileFile uses them when given none.
CompileOptions& defaultOptions();
// The directory of the standard library: share/sinter/lib in the nearest directory above the running
// executable that has one (the install prefix, or the build tree); "" when there is none.
std::string stdlibDir();

// Parses, resolves and shape-checks a model file and builds its forward graph. The Module's
// trainStep graph is left empty (autodiff builds it). Returns nullopt when any error was reported.
std::optional<ir::Module> compileFile(const std::string& path, DiagnosticEngine& diags);
std::optional<ir::Module> compileFile(const std::string& path, DiagnosticEngine& diags, const CompileOptions& opts);
std::optional<ir::Module> compileSource(std::string_view text, const std::string& path, DiagnosticEngine& diags);
std::optional<ir::Module> compileSource(std::string_view text, const std::string& path, DiagnosticEngine& diags,
                                        const CompileOptions& opts);

// The syntax tree of a file, printed for `sinter dump --stage=ast`; nullopt after a syntax error.
std::optional<std::string> dumpAst(const std::string& path, DiagnosticEngine& diags);
std::optional<std::string> dumpAstSource(std::string_view text, const std::string& path, DiagnosticEngine& diags);

}  // namespace sinter::frontend
