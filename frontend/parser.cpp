#include "frontend/parser.h"

#include <fmt/format.h>

#include "frontend/parser_impl.h"
#include "frontend/suggest.h"

namespace sinter::frontend {

// ---------------------------------------------------------------------------------------------------
// Tokens

std::size_t Parser::skipNested(std::size_t i) const {
  if (nest_ > 0)
    while (toks_[i].is(Tok::Newline)) ++i;
  return i;
}

const Token& Parser::peek(int ahead) const {
  std::size_t i = skipNested(i_);
  for (int k = 0; k < ahead && !toks_[i].is(Tok::Eof); ++k) i = skipNested(i + 1);
  return toks_[i];
}

Token Parser::take() {
  i_ = skipNested(i_);
  const Token t = toks_[i_];
  if (!t.is(Tok::Eof)) ++i_;
  prevEnd_ = t.end();
  return t;
}

bool Parser::accept(Tok k) {
  if (!at(k)) return false;
  take();
  return true;
}

void Parser::skipNewlines() {
  while (toks_[i_].is(Tok::Newline)) ++i_;
}

void Parser::fail(Range at, std::string message) {
  if (!cur().is(Tok::Error)) r_.error(at, std::move(message));
  throw Abort{};
}

void Parser::failExpected(std::string message, const Token* opener) {
  const Token& t = cur();
  if (t.is(Tok::Error)) throw Abort{};
  const bool atLineEnd = t.is(Tok::Newline) || t.is(Tok::Eof) || t.pos.line != prevEnd_.line;
  if (atLineEnd && prevEnd_.line > 0) {
    r_.error(afterPrevious(), std::move(message));
  } else {
    // The statement goes on past the culprit: resume skipping from the culprit, not from a line before.
    i_ = skipNested(i_);
    r_.error(t.range(), std::move(message));
  }
  if (opener) r_.note(opener->range(), fmt::format("to match this {}", tokName(opener->kind)));
  throw Abort{};
}

void Parser::sync(bool skipBlock) {
  nest_ = 0;
  depth_ = 0;
  // A broken line that opens a block ("for t in 0..x {") takes the block with it: its body alone would
  // be misread, and its '}' would close the enclosing block.
  int braces = 0;
  while (!toks_[i_].is(Tok::Eof)) {
    const Tok k = toks_[i_].kind;
    if (k == Tok::Newline && braces <= 0) break;
    if (skipBlock && k == Tok::LBrace) ++braces;
    if (skipBlock && k == Tok::RBrace && braces > 0) --braces;
    ++i_;
  }
}

void Parser::endOfStatement(std::string_view what) {
  const Token& t = toks_[i_];
  if (t.is(Tok::Newline) || t.is(Tok::Eof) || t.is(Tok::RBrace)) return;
  if (!t.is(Tok::Error)) r_.error(t.range(), fmt::format("expected end of line after {}, found {}", what, describe(t)));
  sync();
}

Token Parser::expectName(std::string message) {
  if (!at(Tok::Ident)) failExpected(std::move(message));
  return take();
}

// ---------------------------------------------------------------------------------------------------
// Files and blocks

// file = { NEWLINE } { ( import | layer | def | model | train ) { NEWLINE } } EOF
ast::File Parser::file() {
  ast::File f;
  while (true) {
    skipNewlines();
    if (at(Tok::Eof) || r_.stopped()) break;
    if (at(Tok::KwModel)) {
      f.models.push_back(model());
    } else if (at(Tok::KwTrain)) {
      f.trains.push_back(train());
    } else if (at(Tok::KwImport) || at(Tok::KwLayer) || at(Tok::KwDef)) {
      try {
        if (at(Tok::KwImport)) {
          f.imports.push_back(import());
          endOfStatement("the import");
        } else if (at(Tok::KwLayer)) {
          f.layers.push_back(layer());
        } else {
          f.functions.push_back(function());
        }
      } catch (const Abort&) {
        sync(true);
      }
    } else {
      if (!at(Tok::Error))
        r_.error(cur().range(),
                 fmt::format("expected 'import', 'layer', 'def', 'model' or 'train', found {}", describe(cur())));
      // Skip to the next block so that one stray line costs one error.
      while (!at(Tok::Eof) && !at(Tok::KwModel) && !at(Tok::KwTrain) && !at(Tok::KwLayer) && !at(Tok::KwDef) &&
             !at(Tok::KwImport))
        ++i_;
    }
  }
  return f;
}

// Ends a { ... } block: true when '}' was found. A block cut short by the end of the file or by the next
// top-level keyword reports the missing '}' and lets the caller go on.
bool Parser::closeBlock(const Token& open, std::string_view what) {
  if (accept(Tok::RBrace)) return true;
  const Token& t = cur();
  if (!t.is(Tok::Eof) && !t.is(Tok::KwModel) && !t.is(Tok::KwTrain) && !t.is(Tok::KwLayer) && !t.is(Tok::KwImport))
    return false;
  const bool atLineEnd = t.is(Tok::Eof) || t.pos.line != prevEnd_.line;
  // Without an opening '{' (already reported) a missing '}' is no news.
  if (open.is(Tok::LBrace)) {
    r_.error(atLineEnd ? afterPrevious() : t.range(), fmt::format("expected '}}' at the end of {}", what));
    r_.note(open.range(), "to match this '{'");
  }
  return true;
}

// block = "{" { statement NEWLINE } "}"     (`member` parses what only this block allows, e.g. 'def')
void Parser::block(std::vector<ast::Decl>& out, std::string_view what, bool (*member)(Parser&, void*), void* ctx) {
  skipNewlines();
  const Token open = cur();
  if (!accept(Tok::LBrace)) {
    // Without its '{' the block is taken as empty: what follows belongs to the enclosing block.
    if (!at(Tok::Error)) r_.error(afterPrevious(), fmt::format("expected '{{' to start {}", what));
    if (cur().pos.line == prevEnd_.line) sync();
    return;
  }
  if (++blocks_ > kMaxBlocks) {
    --blocks_;
    fail(open.range(), fmt::format("blocks nest too deeply (more than {} levels)", kMaxBlocks));
  }
  while (true) {
    skipNewlines();
    if (closeBlock(open, what) || r_.stopped()) break;
    if (member && member(*this, ctx)) continue;
    statement(out);
  }
  --blocks_;
}

// model = "model" NAME block
ast::Model Parser::model() {
  ast::Model m;
  m.keywordRange = take().range();
  if (at(Tok::Ident)) {
    const Token name = take();
    m.name = name.text;
    m.nameRange = name.range();
  } else {
    if (!at(Tok::Error))
      r_.error(at(Tok::LBrace) || at(Tok::Newline) ? afterPrevious() : cur().range(),
               "expected a model name after 'model'");
    if (!at(Tok::LBrace)) sync();  // one error for a broken header
  }
  skipNewlines();
  const Token open = cur();
  if (!accept(Tok::LBrace)) {
    // Parse the body anyway: its statements are still worth checking.
    if (!at(Tok::Error) && !m.name.empty()) r_.error(afterPrevious(), "expected '{' after the model name");
    if (cur().pos.line == prevEnd_.line) sync();
  }
  const std::string what = m.name.empty() ? "the model" : "model " + quoted(m.name);
  while (true) {
    skipNewlines();
    if (closeBlock(open, what) || r_.stopped()) break;
    statement(m.decls);
  }
  return m;
}

// import = "import" STRING [ "as" NAME ]      (`as` names the layer an ONNX model becomes)
ast::Import Parser::import() {
  ast::Import im;
  im.keywordRange = take().range();
  if (!at(Tok::String)) failExpected("expected a file name in double quotes after 'import', as in import \"nn.sn\"");
  const Token t = take();
  im.path = std::string(t.text.substr(1, t.text.size() - 2));
  im.pathRange = t.range();
  if (im.path.empty()) fail(t.range(), "the file name after 'import' is empty");
  if (at(Tok::Ident) && cur().text == "as") {
    take();
    const Token name = expectName("expected the name of the layer after 'as', as in import \"backbone.onnx\" as Backbone");
    im.alias = std::string(name.text);
    im.aliasRange = name.range();
  }
  return im;
}

// params = "(" [ param { "," param } [ "," ] ] ")"      param = NAME [ "=" expr ]
std::vector<ast::ParamDecl> Parser::paramList(std::string_view what) {
  if (!at(Tok::LParen)) failExpected(fmt::format("expected '(' and the parameters of {}", what));
  const Token open = take();
  std::vector<ast::ParamDecl> out;
  Nest nest(*this);
  while (!at(Tok::RParen)) {
    const Token name = expectName(fmt::format("expected a parameter name in the parameters of {}", what));
    ast::ParamDecl p;
    p.name = name.text;
    p.range = name.range();
    if (accept(Tok::Equal)) p.fallback = expr();
    out.push_back(std::move(p));
    if (!accept(Tok::Comma)) break;
  }
  if (!at(Tok::RParen)) failExpected("expected ')' after the parameters", &open);
  take();
  return out;
}

// layer = "layer" NAME params "{" { ( statement | def ) NEWLINE } "}"
ast::Layer Parser::layer() {
  ast::Layer l;
  l.keywordRange = take().range();
  const Token name = expectName("expected a layer name after 'layer'");
  l.name = name.text;
  l.nameRange = name.range();
  l.params = paramList("layer " + quoted(l.name));
  auto member = [](Parser& p, void* ctx) {
    if (!p.at(Tok::KwDef)) return false;
    auto& layer = *static_cast<ast::Layer*>(ctx);
    try {
      layer.methods.push_back(p.function());
    } catch (const Abort&) {
      p.sync(true);
    }
    return true;
  };
  block(l.body, "layer " + quoted(l.name), member, &l);
  return l;
}

// def = "def" NAME params block
ast::Function Parser::function() {
  ast::Function f;
  f.keywordRange = take().range();
  const Token name = expectName("expected a function name after 'def'");
  f.name = name.text;
  f.nameRange = name.range();
  f.params = paramList(quoted(f.name));
  block(f.body, quoted(f.name));
  return f;
}

// ---------------------------------------------------------------------------------------------------
// Statements

// statement = input_decl | param_decl | output_decl | assignment | for_loop | scan_loop | stack | return
void Parser::statement(std::vector<ast::Decl>& out) {
  ast::Decl d;
  try {
    declaration(d);
  } catch (const Abort&) {
    if (!d.name.empty() && d.kind != ast::Decl::For && d.kind != ast::Decl::If && d.kind != ast::Decl::Scan) {
      d.broken = true;
      d.value.reset();
      out.push_back(std::move(d));
    }
    sync(true);
    return;
  }
  const std::string_view what = d.kind == ast::Decl::Input    ? "the input declaration"
                                : d.kind == ast::Decl::Param  ? "the parameter declaration"
                                : d.kind == ast::Decl::State  ? "the state declaration"
                                : d.kind == ast::Decl::For    ? "the loop"
                                : d.kind == ast::Decl::Scan   ? "the loop"
                                : d.kind == ast::Decl::If     ? "the 'if'"
                                : d.kind == ast::Decl::Update ? "the update"
                                : d.kind == ast::Decl::Stack  ? "the stacked value"
                                                              : "the expression";
  out.push_back(std::move(d));
  endOfStatement(what);
}

// input_decl  = "input" NAME ":" type
// param_decl  = "param" NAME ":" type [ "=" initializer ]
// state_decl  = "state" NAME ":" type [ "=" initializer ]
// update      = "update" NAME "=" expr
// stack       = "stack" NAME "=" expr
// output_decl = "output" NAME "=" expr
// assignment  = NAME { "," NAME } "=" expr
// return      = "return" expr { "," expr }
void Parser::declaration(ast::Decl& d) {
  const Token first = cur();
  if (first.is(Tok::KwFor)) return forLoop(d);
  if (first.is(Tok::KwIf)) return ifStatement(d);
  if (first.is(Tok::KwElse)) fail(first.range(), "'else' must follow the '}' of an 'if' on the same line");
  if (first.is(Tok::KwReturn)) return returnStatement(d);
  if (first.is(Tok::KwInput)) {
    d.kind = ast::Decl::Input;
  } else if (first.is(Tok::KwParam)) {
    d.kind = ast::Decl::Param;
  } else if (first.is(Tok::KwOutput)) {
    d.kind = ast::Decl::Output;
  } else if (first.is(Tok::Ident) && peek(1).is(Tok::Ident) &&
             (first.text == "state" || first.text == "update" || first.text == "stack")) {
    // Keywords only here, before a name: `state` stays a good name for a recurrent net's hidden state, and
    // `stack(xs)` a call.
    d.kind = first.text == "state" ? ast::Decl::State : first.text == "update" ? ast::Decl::Update : ast::Decl::Stack;
  } else if (first.is(Tok::Ident)) {
    if (!assignmentHead(d, first)) return;
  } else if (first.is(Tok::KwDef)) {
    fail(first.range(), "'def' is allowed at the top of a file or directly in a layer, not here");
  } else {
    fail(first.range(), fmt::format("expected a statement (input, param, output, for, if, return or NAME = "
                                    "expression), found {}",
                                    describe(first)));
  }
  if (d.kind != ast::Decl::Let) take();
  const Token name = expectName(fmt::format("expected a name after {}", tokName(first.kind)));
  d.keywordRange = first.range();
  d.name = name.text;
  d.nameRange = name.range();
  if (d.kind == ast::Decl::Let || d.kind == ast::Decl::Output || d.kind == ast::Decl::Update ||
      d.kind == ast::Decl::Stack) {
    if (!accept(Tok::Equal)) failExpected(fmt::format("expected '=' after {}", quoted(d.name)));
    d.value = expr();
    return;
  }
  if (!accept(Tok::Colon)) failExpected(fmt::format("expected ':' and a type after {}", quoted(d.name)));
  d.type = type();
  if ((d.kind == ast::Decl::Param || d.kind == ast::Decl::State) && accept(Tok::Equal))
    d.init = call("expected an initializer such as zeros or glorot_uniform after '='");
}

// return = "return" expr { "," expr }
void Parser::returnStatement(ast::Decl& d) {
  d.kind = ast::Decl::Return;
  d.keywordRange = take().range();
  ast::ExprPtr e = expr();
  if (at(Tok::Comma)) {
    auto tuple = std::make_unique<ast::Expr>();
    tuple->kind = ast::Expr::Tuple;
    tuple->opRange = d.keywordRange;
    tuple->args.push_back({{}, {}, std::move(e)});
    while (accept(Tok::Comma)) tuple->args.push_back({{}, {}, expr()});
    tuple->range = join(tuple->args.front().value->range, tuple->args.back().value->range);
    for (const ast::Arg& a : tuple->args) tuple->height = std::max(tuple->height, a.value->height + 1);
    e = std::move(tuple);
  }
  d.value = std::move(e);
}

// A statement that starts with a name: `NAME = expr` (true: declaration() reads the rest) or
// `NAME, NAME, ... = expr` (false: read whole here); anything else is reported, with a guess at what was meant.
bool Parser::assignmentHead(ast::Decl& d, const Token& first) {
  const Token& next = peek(1);
  if (next.is(Tok::Equal)) {
    d.kind = ast::Decl::Let;
    return true;
  }
  if (next.is(Tok::Comma)) {  // h, c = ...
    d.kind = ast::Decl::Let;
    d.keywordRange = d.nameRange = first.range();
    d.name = first.text;
    while (true) {
      const Token name = expectName("expected a name in the list of names before '='");
      d.targets.push_back({std::string(name.text), name.range()});
      if (!accept(Tok::Comma)) break;
    }
    if (!accept(Tok::Equal)) failExpected("expected '=' after the names");
    d.value = expr();
    return false;
  }
  // From here on the statement is broken, but it most likely defines a name: record it, so that
  // its uses do not report "undefined" as well.
  auto recordName = [&](const Token& name) {
    d.name = name.text;
    d.nameRange = d.keywordRange = name.range();
  };
  if (next.is(Tok::Ident)) {
    if (auto s = closestName(first.text, {"input", "param", "output", "return"})) {
      recordName(next);
      fail(first.range(), fmt::format("unknown statement {}; did you mean '{}'?", quoted(first.text), *s));
    }
  }
  recordName(first);
  take();
  if (next.is(Tok::Colon))
    failExpected(fmt::format("expected '=' after {}; declarations start with 'input' or 'param'", quoted(first.text)));
  failExpected(fmt::format("expected '=' after {}", quoted(first.text)));
}

// if = "if" expr block [ "else" ( if | block ) ]      (the condition is a number known at compile time)
void Parser::ifStatement(ast::Decl& d) {
  d.kind = ast::Decl::If;
  d.keywordRange = take().range();
  d.value = expr();
  block(d.body, "the 'if'");
  if (!accept(Tok::KwElse)) return;
  if (at(Tok::KwIf)) {
    // An `else if` is an if nested in the else: it counts as a block, so that a long chain cannot
    // exhaust the stack of the parser and the elaborator, which both recurse along it.
    if (++blocks_ > kMaxBlocks) {
      --blocks_;
      fail(cur().range(), fmt::format("blocks nest too deeply (more than {} levels)", kMaxBlocks));
    }
    d.otherwise.emplace_back();
    ifStatement(d.otherwise.back());
    --blocks_;
    return;
  }
  block(d.otherwise, "the 'else'");
}

// for_loop  = "for" NAME "in" expr ".." expr block
// scan_loop = "for" NAME { "," NAME } "in" expr { "," expr } [ "along" expr ] [ "reverse" ] block
// A range unrolls; sequences (tensors) make a loop that stays a loop.
void Parser::forLoop(ast::Decl& d) {
  d.kind = ast::Decl::For;
  d.keywordRange = take().range();
  const Token name = expectName("expected a loop variable after 'for'");
  d.name = name.text;
  d.nameRange = name.range();
  d.targets.push_back({std::string(name.text), name.range()});
  while (accept(Tok::Comma)) {
    const Token next = expectName("expected a step name after ','");
    d.targets.push_back({std::string(next.text), next.range()});
  }
  if (!(at(Tok::Ident) && cur().text == "in")) failExpected(fmt::format("expected 'in' after 'for {}'", name.text));
  take();
  ast::ExprPtr first = expr();
  if (at(Tok::DotDot) && d.targets.size() == 1) {
    d.targets.clear();
    take();
    d.value = std::move(first);
    d.end = expr();
    block(d.body, "the loop");
    return;
  }
  if (at(Tok::DotDot))
    fail(join(d.targets[1].range, d.targets.back().range),
         "a loop over a range has one variable; several names are for a loop over as many sequences");
  d.kind = ast::Decl::Scan;
  d.seqs.push_back(std::move(first));
  while (accept(Tok::Comma)) d.seqs.push_back(expr());
  if (d.seqs.size() != d.targets.size())
    fail(join(d.seqs.front()->range, d.seqs.back()->range),
         fmt::format("a loop over sequences takes one step name per sequence, but it has {} names and {} sequences",
                     d.targets.size(), d.seqs.size()));
  if (at(Tok::Ident) && cur().text == "along") {
    take();
    d.axis = expr();
  }
  if (at(Tok::Ident) && cur().text == "reverse") {
    take();
    d.reverse = true;
  }
  if (!at(Tok::LBrace) && d.targets.size() == 1 && d.seqs.size() == 1 && !d.axis && !d.reverse)
    failExpected(
        "expected '..' in the loop's range, as in 'for t in 0..28', or '{' after the sequence of a loop "
        "over sequences, as in 'for x_t in x along 1 {'");
  block(d.body, "the loop");
}

// type = DTYPE "[" [ dim { "," dim } [ "," ] ] "]"
ast::TypeExpr Parser::type() {
  ast::TypeExpr t;
  const Token dtype = expectName("expected a type such as f32[batch, 784]");
  t.dtype = dtype.text;
  t.dtypeRange = dtype.range();
  if (!at(Tok::LBracket)) {
    if (ir::parseDType(dtype.text))
      failExpected(fmt::format("expected '[' after '{}' (write {}[] for a scalar)", dtype.text, dtype.text));
    failExpected(fmt::format("expected '[' and dimensions after the dtype {}", quoted(dtype.text)));
  }
  const Token open = take();
  {
    Nest nest(*this);
    while (!at(Tok::RBracket)) {
      t.dims.push_back(dim());
      if (!accept(Tok::Comma)) break;
    }
    if (!at(Tok::RBracket)) failExpected("expected ']' after dimensions", &open);
    take();
  }
  t.range = {dtype.pos, prevEnd_};
  return t;
}

// dim = NAME | [ "-" ] INTEGER     (sema checks that integers are positive and fit)
ast::DimExpr Parser::dim() {
  ast::DimExpr d;
  if (at(Tok::Ident)) {
    const Token t = take();
    d.symbolic = true;
    d.text = t.text;
    d.range = t.range();
    return d;
  }
  const bool negative = at(Tok::Minus) && peek(1).is(Tok::Number);
  if (!negative && !at(Tok::Number)) failExpected("expected a dimension (a number or a name)");
  const Pos begin = cur().pos;
  if (negative) take();
  const Token t = take();
  d.text = (negative ? "-" : "") + std::string(t.text);
  d.range = {begin, t.end()};
  return d;
}

ast::File parse(const std::vector<Token>& tokens, Reporter& r) { return Parser(tokens, r).file(); }

}  // namespace sinter::frontend
