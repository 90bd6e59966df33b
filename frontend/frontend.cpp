// The pipeline of the frontend: read, lex, parse (the model file and its imports), elaborate into the
// forward graph, check the train block.
#include "frontend/frontend.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <deque>
#include <filesystem>
#include <memory>
#include <set>
#include <stdexcept>

#include "frontend/ast_printer.h"
#include "frontend/elaborator.h"
#include "frontend/lexer.h"
#include "frontend/parser.h"
#include "frontend/reporter.h"
#include "frontend/train_checker.h"

#ifndef SINTER_STDLIB_DIR
#define SINTER_STDLIB_DIR ""
#endif

namespace sinter::frontend {
namespace {

namespace fs = std::filesystem;

constexpr int kMaxImportDepth = 32;

std::optional<std::string> readOrReport(const std::string& path, DiagnosticEngine& diags) {
  std::string why;
  auto text = readSourceFile(path, why);
  if (!text) diags.error({}, fmt::format("cannot open '{}': {}", path, why));
  return text;
}

// One source file of a compilation: its text, tokens' home and syntax tree.
struct Unit {
  std::string text;
  std::unique_ptr<SourceFile> file;
  std::unique_ptr<Reporter> reporter;
  ast::File tree;
  std::string key;  // canonical path, for cycles and repeats
};

class Compilation {
 public:
  Compilation(DiagnosticEngine& diags, const CompileOptions& opts) : diags_(diags), opts_(opts) {}

  std::optional<ir::Module> run(std::string_view text, const std::string& path) {
    const int errorsBefore = diags_.errorCount();
    const std::size_t firstDiag = diags_.all().size();
    Unit& main = add(std::string(text), path, key(path));
    std::optional<ir::Module> out = compile(main);
    diags_.sortByLocation(firstDiag);
    if (diags_.errorCount() > errorsBefore) return std::nullopt;
    return out;
  }

 private:
  static std::string key(const std::string& path) {
    std::error_code ec;
    fs::path p = fs::weakly_canonical(fs::path(path), ec);
    return ec ? path : p.string();
  }

  Unit& add(std::string text, const std::string& path, std::string k) {
    auto u = std::make_unique<Unit>();
    u->text = std::move(text);
    u->key = std::move(k);
    diags_.addSource(path, u->text);
    u->file = std::make_unique<SourceFile>(path, u->text);
    u->reporter = std::make_unique<Reporter>(diags_, *u->file);
    units_.push_back(std::move(u));
    Unit& unit = *units_.back();
    if (unit.text.size() > kMaxSourceBytes) {
      unit.reporter->fileError("file is larger than 256 MiB");
      return unit;
    }
    unit.tree = parse(lex(*unit.file, *unit.reporter), *unit.reporter);
    return unit;
  }

  std::optional<ir::Module> compile(Unit& main) {
    Reporter& r = *main.reporter;
    loading_.push_back(main.key);
    imports(main, 0);
    loading_.pop_back();
    if (main.tree.models.empty()) {
      // Sema runs after syntax errors too, but a file without a model has nothing to check.
      r.fileError("no model found; a model file needs a 'model Name { ... }' block");
      return std::nullopt;
    }
    ast::Model& model = main.tree.models.front();
    for (std::size_t i = 1; i < main.tree.models.size(); ++i) {
      r.error(main.tree.models[i].keywordRange, "only one model per file is supported for now");
      r.note(model.keywordRange, "the first model is here");
    }
    for (std::size_t i = 1; i < main.tree.trains.size(); ++i) {
      r.error(main.tree.trains[i].keywordRange, "only one train block per file is supported");
      r.note(main.tree.trains.front().keywordRange, "the first train block is here");
    }
    ir::Module mod;
    mod.name = model.name;
    Elaborator el(mod.forward, opts_.summary);
    // Imported definitions first, so that a clash names the model file's as the second one.
    for (const ForeignImport& fi : foreign_) el.defineForeign(fi.name, fi.path, fi.at, fi.layer, *fi.file, *fi.r);
    for (std::size_t i = 1; i < units_.size(); ++i) el.define(units_[i]->tree, *units_[i]->file, *units_[i]->reporter);
    el.define(main.tree, *main.file, r);
    const int errorsBefore = diags_.errorCount();
    el.model(model, *main.file, r);
    // Group patterns are matched against the params only when the model elaborated whole: a param missing
    // because of an earlier error would make a pattern match nothing. States are not trained: no group holds one.
    std::vector<std::string> params;
    for (ir::NodeId id : mod.forward.trainedParams()) params.push_back(mod.forward.node(id).name);
    const bool whole = diags_.errorCount() == errorsBefore;
    if (!main.tree.trains.empty())
      mod.train = checkTrain(main.tree.trains.front(), model, el.scope(), whole ? &params : nullptr, r);
    if (diags_.errorCount() != errorsBefore) return std::nullopt;
    el.finish(mod.train);
    if (mod.train && (el.readsTraining() || mod.forward.params.size() != mod.forward.trainedParams().size())) {
      mod.trainForward.emplace();
      if (!elaborateTrainMode(main, model, *mod.train, mod.forward, *mod.trainForward)) return std::nullopt;
    }
    return mod;
  }

  // The model again with `training` = 1 and its states updated: the graph autodiff differentiates. Its
  // errors are those of code only the train mode runs; its arguments must be inference's.
  bool elaborateTrainMode(Unit& main, const ast::Model& model, const ir::TrainConfig& train, const ir::Graph& inference,
                          ir::Graph& out) {
    Reporter& r = *main.reporter;
    const int errorsBefore = diags_.errorCount();
    Elaborator el(out, nullptr, true);
    for (const ForeignImport& fi : foreign_) el.defineForeign(fi.name, fi.path, fi.at, fi.layer, *fi.file, *fi.r);
    for (std::size_t i = 1; i < units_.size(); ++i) el.define(units_[i]->tree, *units_[i]->file, *units_[i]->reporter);
    el.define(main.tree, *main.file, r);
    el.model(model, *main.file, r);
    if (diags_.errorCount() != errorsBefore) return false;
    el.finish(train);
    auto args = [](const ir::Graph& g) {
      std::vector<std::string> list;
      for (const auto* ids : {&g.inputs, &g.params})
        for (ir::NodeId id : *ids) list.push_back(std::string(ir::argKeyword(g.node(id))) + " " + g.node(id).name);
      return list;
    };
    if (args(out) != args(inference)) {
      r.error(model.nameRange,
              "the model declares other inputs, params or states when training; declare them "
              "outside 'if training'");
      return false;
    }
    if (!out.findResult(train.loss)) {
      r.error(model.nameRange, fmt::format("the loss {} is not defined when training", frontend::quoted(train.loss)));
      return false;
    }
    return true;
  }

  // Loads a unit's imports, depth first; `loading_` holds the chain of files being loaded.
  void imports(Unit& u, int depth) {
    Reporter& r = *u.reporter;
    // Copy: loading an import appends to units_, which may move nothing but keeps this loop simple.
    const std::vector<ast::Import> list = u.tree.imports;
    for (const ast::Import& im : list) {
      if (r.stopped()) return;
      const bool onnx = fs::path(im.path).extension() == ".onnx";
      if (onnx && im.alias.empty()) {
        r.error(im.pathRange, fmt::format("an ONNX model is imported as a layer: name it, as in import \"{}\" as "
                                          "Backbone",
                                          im.path));
        continue;
      }
      if (!onnx && !im.alias.empty()) {
        r.error(im.aliasRange, fmt::format("'as' names the layer an ONNX model (a .onnx file) becomes; the layers "
                                           "and defs of \"{}\" keep their own names",
                                           im.path));
        continue;
      }
      auto found = resolve(*u.file, im.path);
      if (!found) {
        std::string where = "next to the importing file";
        for (const std::string& d : searchDirs()) where += ", in " + d;
        // A copied `sinter` has no share/sinter/lib above it: say how to point it at the standard library.
        if (opts_.useStdlib && stdlibDir().empty())
          where +=
              "; no standard library (share/sinter/lib/nn.sn) above the executable: set SINTER_PATH or -I "
              "to its directory";
        r.error(im.pathRange, fmt::format("cannot find \"{}\" (looked {})", im.path, where));
        continue;
      }
      const std::string k = key(*found);
      if (auto it = std::find(loading_.begin(), loading_.end(), k); it != loading_.end()) {
        std::string chain;
        for (auto c = it; c != loading_.end(); ++c) chain += fs::path(*c).filename().string() + " imports ";
        r.error(im.pathRange, fmt::format("import cycle: {}{}", chain, fs::path(k).filename().string()));
        continue;
      }
      if (onnx) {
        importForeign(u, im, *found);
        continue;
      }
      if (done_.count(k)) continue;  // imported before, by this file or another: once is enough
      if (depth + 1 > kMaxImportDepth) {
        r.error(im.pathRange, fmt::format("imports nest more than {} deep", kMaxImportDepth));
        continue;
      }
      std::string why;
      auto text = readSourceFile(*found, why);
      if (!text) {
        r.error(im.pathRange, fmt::format("cannot open '{}': {}", *found, why));
        continue;
      }
      done_.insert(k);
      Unit& sub = add(std::move(*text), *found, k);
      for (const ast::Model& m : sub.tree.models)
        sub.reporter->error(m.keywordRange, "an imported file may hold layers and functions, not a model");
      for (const ast::TrainBlock& t : sub.tree.trains)
        sub.reporter->error(t.keywordRange, "an imported file may hold layers and functions, not a train block");
      loading_.push_back(k);
      imports(sub, depth + 1);
      loading_.pop_back();
    }
  }

  // `import "x.onnx" as Name`: the ONNX model read by the loader the tool installed, a layer named Name. Its
  // reader's errors (a corrupt file, an unsupported op) are reported at the import statement.
  void importForeign(Unit& u, const ast::Import& im, const std::string& path) {
    Reporter& r = *u.reporter;
    if (!opts_.onnxLoader) {
      r.error(im.pathRange, "this program cannot read ONNX models (it has no ONNX importer); use the sinter tool");
      return;
    }
    std::vector<std::string> errors;
    std::shared_ptr<const ForeignLayer> layer = opts_.onnxLoader(path, errors);
    for (const std::string& e : errors) r.error(im.pathRange, fmt::format("cannot import \"{}\": {}", im.path, e));
    if (layer) foreign_.push_back({im.alias, im.path, im.aliasRange, std::move(layer), u.file.get(), &r});
  }

  std::vector<std::string> searchDirs() const {
    std::vector<std::string> dirs = opts_.includeDirs;
    if (opts_.useStdlib && !stdlibDir().empty()) dirs.push_back(stdlibDir());
    return dirs;
  }

  // The importing file's directory first, then -I directories, then the standard library.
  std::optional<std::string> resolve(const SourceFile& from, const std::string& name) const {
    std::vector<fs::path> candidates;
    if (!opts_.absoluteImports && name.find("..") != std::string::npos) return std::nullopt;
    if (fs::path(name).is_absolute()) {
      if (opts_.absoluteImports) candidates.push_back(name);
    } else {
      candidates.push_back(fs::path(from.name()).parent_path() / name);
      for (const std::string& d : searchDirs()) candidates.push_back(fs::path(d) / name);
    }
    for (const fs::path& p : candidates) {
      std::error_code ec;
      if (fs::is_regular_file(p, ec)) return p.lexically_normal().string();
    }
    return std::nullopt;
  }

  DiagnosticEngine& diags_;
  const CompileOptions& opts_;
  std::deque<std::unique_ptr<Unit>> units_;
  std::vector<std::string> loading_;
  std::set<std::string> done_;
  struct ForeignImport {
    std::string name;
    std::string path;  // as the import statement names it
    Range at;
    std::shared_ptr<const ForeignLayer> layer;
    const SourceFile* file;
    Reporter* r;
  };
  std::vector<ForeignImport> foreign_;  // in import order
};

}  // namespace

CompileOptions& defaultOptions() {
  static CompileOptions opts;
  return opts;
}

// The install tree and the build tree share a layout, share/sinter/lib beside bin/ (or above tools/, tests/),
// so the nearest such directory above the running executable is the one installed or built with it, and
// a relocated copy of either still finds its own; no path is compiled in.
std::string stdlibDir() {
  static const std::string dir = [] {
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (ec) return std::string();
    for (fs::path d = exe.parent_path(); !d.empty(); d = d.parent_path()) {
      const fs::path lib = d / "share" / "sinter" / "lib";
      if (fs::is_regular_file(lib / "nn.sn", ec)) return lib.string();
      if (d == d.root_path()) break;
    }
    return std::string();
  }();
  return dir;
}

std::optional<ir::Module> compileSource(std::string_view text, const std::string& path, DiagnosticEngine& diags,
                                        const CompileOptions& opts) {
  try {
    return Compilation(diags, opts).run(text, path);
  } catch (const std::logic_error& e) {
    // A bug of ours, but the user deserves a message, not an abort.
    diags.error({path, 0, 0}, fmt::format("internal compiler error: {}", e.what()));
    return std::nullopt;
  }
}

std::optional<ir::Module> compileSource(std::string_view text, const std::string& path, DiagnosticEngine& diags) {
  return compileSource(text, path, diags, defaultOptions());
}

std::optional<ir::Module> compileFile(const std::string& path, DiagnosticEngine& diags, const CompileOptions& opts) {
  auto text = readOrReport(path, diags);
  if (!text) return std::nullopt;
  return compileSource(*text, path, diags, opts);
}

std::optional<ir::Module> compileFile(const std::string& path, DiagnosticEngine& diags) {
  return compileFile(path, diags, defaultOptions());
}

std::optional<std::string> dumpAstSource(std::string_view text, const std::string& path, DiagnosticEngine& diags) {
  diags.addSource(path, std::string(text));
  const int errorsBefore = diags.errorCount();
  const SourceFile file(path, text);
  Reporter r(diags, file);
  const std::size_t firstDiag = diags.all().size();
  const ast::File tree = parse(lex(file, r), r);
  diags.sortByLocation(firstDiag);
  if (diags.errorCount() > errorsBefore) return std::nullopt;
  return printAst(tree, path);
}

std::optional<std::string> dumpAst(const std::string& path, DiagnosticEngine& diags) {
  auto text = readOrReport(path, diags);
  if (!text) return std::nullopt;
  return dumpAstSource(*text, path, diags);
}

std::string formatSummary(const ModelSummary& s) {
  auto grouped = [](std::int64_t n) {
    std::string digits = std::to_string(n), out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
      if (i && (digits.size() - i) % 3 == 0) out += ',';
      out += digits[i];
    }
    return out;
  };
  auto bytes = [](std::int64_t b) {
    if (b < 1024) return fmt::format("{} B", b);
    if (b < std::int64_t{1024} * 1024) return fmt::format("{:.2f} KiB", static_cast<double>(b) / 1024);
    return fmt::format("{:.2f} MiB", static_cast<double>(b) / (1024.0 * 1024));
  };
  std::vector<std::array<std::string, 3>> rows;
  rows.push_back({"Layer (type)", "Output shape", "Params"});
  for (const LayerSummary& l : s.layers)
    rows.push_back({std::string(static_cast<std::size_t>(l.depth) * 2, ' ') + fmt::format("{} ({})", l.path, l.layer),
                    l.output.empty() ? "(not called)" : l.output, grouped(l.params)});
  if (s.modelParams > 0) rows.push_back({"(params of the model)", "", grouped(s.modelParams)});
  std::size_t w0 = 0, w1 = 0, w2 = 0;
  for (const auto& r : rows) {
    w0 = std::max(w0, r[0].size());
    w1 = std::max(w1, r[1].size());
    w2 = std::max(w2, r[2].size());
  }
  std::string out = fmt::format("Model: {}\n", s.model);
  const std::string rule(w0 + w1 + w2 + 4, '-');
  for (std::size_t i = 0; i < rows.size(); ++i) {
    out += fmt::format("{:<{}}  {:<{}}  {:>{}}\n", rows[i][0], w0, rows[i][1], w1, rows[i][2], w2);
    if (i == 0) out += rule + "\n";
  }
  out += rule + "\n";
  out += fmt::format("Total params: {} ({})\n", grouped(s.totalParams), bytes(s.totalBytes));
  return out;
}

}  // namespace sinter::frontend
