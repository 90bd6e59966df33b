// Train blocks.
#include <fmt/format.h>

#include <algorithm>

#include "frontend/parser_impl.h"
#include "frontend/suggest.h"

namespace sinter::frontend {

// train = "train" NAME "{" { setting NEWLINE } "}"
ast::TrainBlock Parser::train() {
  ast::TrainBlock t;
  t.keywordRange = take().range();
  if (at(Tok::Ident)) {
    const Token name = take();
    t.model = name.text;
    t.modelRange = name.range();
  } else {
    t.broken = true;
    if (!at(Tok::Error))
      r_.error(at(Tok::LBrace) || at(Tok::Newline) ? afterPrevious() : cur().range(),
               "expected the name of the model to train after 'train'");
    if (!at(Tok::LBrace)) sync();  // one error for a broken header
  }
  skipNewlines();
  const Token open = cur();
  if (!accept(Tok::LBrace)) {
    t.broken = true;
    if (!at(Tok::Error) && !t.model.empty()) r_.error(afterPrevious(), "expected '{' after the model name");
    if (cur().pos.line == prevEnd_.line) sync();
  }
  while (true) {
    skipNewlines();
    if (closeBlock(open, "the train block") || r_.stopped()) break;
    setting(t);
  }
  return t;
}

// setting = "minimize" NAME
//         | ( "optimizer" | "schedule" ) NAME [ "(" [ args ] ")" ]
//         | ( "batch" | "epochs" | "seed" | "clip_norm" ) [ "-" ] NUMBER
//         | "metrics" "[" [ NAME { "," NAME } [ "," ] ] "]"
//         | "group" NAME "(" groupItem { "," groupItem } [ "," ] ")"
//         | "data" "(" dataField { "," dataField } [ "," ] ")"
void Parser::setting(ast::TrainBlock& t) {
  // In the order of ast::Setting::Kind, with an example value of each for the message about '='.
  static const std::vector<std::string_view> kKeys = {"minimize", "optimizer", "batch",   "epochs", "seed",
                                                      "schedule", "clip_norm", "metrics", "group",  "data"};
  static const std::vector<std::string_view> kExamples = {"loss",
                                                          "adam(lr = 1e-3)",
                                                          "64",
                                                          "10",
                                                          "42",
                                                          "cosine",
                                                          "1.0",
                                                          "[loss, accuracy]",
                                                          "no_decay(\"*.b\", weight_decay = 0)",
                                                          "(train_csv = \"data.csv\")"};
  ast::Setting s;
  bool haveKey = false;
  try {
    const Token key = cur();
    if (!key.is(Tok::Ident))
      fail(key.range(), fmt::format("expected a train setting ({}), found {}", listNames(kKeys), describe(key)));
    const auto found = std::find(kKeys.begin(), kKeys.end(), key.text);
    if (found == kKeys.end()) {
      std::string hint = didYouMean(key.text, kKeys);
      if (hint.empty()) hint = "; the settings are " + listNames(kKeys, "and");
      fail(key.range(), fmt::format("unknown train setting {}{}", quoted(key.text), hint));
    }
    take();
    s.kind = static_cast<ast::Setting::Kind>(found - kKeys.begin());
    s.keyRange = key.range();
    haveKey = true;
    // Keras and PyTorch users write `metrics = [...]`; say how the block spells it and read on.
    if (at(Tok::Equal)) {
      r_.error(cur().range(), fmt::format("train settings take no '=' (as in '{} {}')", key.text,
                                          kExamples[static_cast<std::size_t>(s.kind)]));
      take();
    }
    switch (s.kind) {
      case ast::Setting::Minimize: {
        const Token v = expectName("expected the name of the value to minimize after 'minimize'");
        s.value = v.text;
        s.valueRange = v.range();
        break;
      }
      case ast::Setting::Optimizer:
        s.optimizer = call("expected an optimizer (adam, adamw, sgd, rmsprop or adagrad) after 'optimizer'");
        break;
      case ast::Setting::Schedule:
        s.optimizer =
            call("expected a schedule (constant, step, exponential, cosine, linear or one_cycle) after 'schedule'");
        break;
      case ast::Setting::Group: group(s); break;
      case ast::Setting::Data: dataFields(s); break;
      case ast::Setting::Batch:
      case ast::Setting::Epochs:
      case ast::Setting::Seed:
      case ast::Setting::ClipNorm: {
        const bool negative = at(Tok::Minus) && peek(1).is(Tok::Number);
        if (!negative && !at(Tok::Number))
          failExpected(fmt::format("expected {} after '{}'",
                                   s.kind == ast::Setting::ClipNorm ? "a number" : "an integer", key.text));
        const Pos begin = cur().pos;
        if (negative) take();
        const Token v = take();
        s.value = (negative ? "-" : "") + std::string(v.text);
        s.valueRange = {begin, v.end()};
        break;
      }
      case ast::Setting::Metrics: {
        if (!at(Tok::LBracket)) failExpected("expected a list of metrics such as [loss, accuracy] after 'metrics'");
        const Token open = take();
        Nest nest(*this);
        while (!at(Tok::RBracket)) {
          const Token name = expectName("expected the name of a metric such as loss, accuracy or mae");
          s.names.push_back({std::string(name.text), name.range()});
          if (!accept(Tok::Comma)) break;
        }
        if (!at(Tok::RBracket)) failExpected("expected ',' or ']' in the list of metrics", &open);
        take();
        s.valueRange = {open.pos, prevEnd_};
        break;
      }
    }
  } catch (const Abort&) {
    if (haveKey) {
      s.broken = true;
      t.settings.push_back(std::move(s));
    }
    sync();
    return;
  }
  const std::string what = fmt::format("the '{}' setting", ast::settingName(s.kind));
  t.settings.push_back(std::move(s));
  endOfStatement(what);
}

// group     = "group" NAME "(" groupItem { "," groupItem } [ "," ] ")"
// groupItem = STRING | NAME "=" expr
// The strings are patterns of param names; the keyword arguments override the optimizer's settings.
void Parser::group(ast::Setting& s) {
  const Token name =
      expectName("expected the name of the group after 'group', as in 'group no_decay(\"*.b\", weight_decay = 0)'");
  s.value = name.text;
  s.valueRange = name.range();
  s.optimizer.name = name.text;
  s.optimizer.nameRange = name.range();
  if (!at(Tok::LParen))
    failExpected(
        "expected '(' with the group's param patterns and settings, as in 'group no_decay(\"*.b\", weight_decay = 0)'");
  const Token open = cur();
  enterNesting(open);
  take();
  {
    Nest nest(*this);
    s.optimizer.hasParens = true;
    while (!at(Tok::RParen)) {
      if (at(Tok::String)) {
        const Token p = take();
        s.names.push_back({std::string(p.text.substr(1, p.text.size() - 2)), p.range()});
      } else if (at(Tok::Ident) && peek(1).is(Tok::Equal)) {
        ast::Arg a;
        const Token k = take();
        a.keyword = k.text;
        a.keywordRange = k.range();
        take();
        a.value = expr();
        s.optimizer.args.push_back(std::move(a));
      } else {
        failExpected("expected a param pattern in quotes such as \"*.b\", or a setting such as 'weight_decay = 0'");
      }
      if (!accept(Tok::Comma)) break;
    }
    if (!at(Tok::RParen)) failExpected("expected ',' or ')' in the group", &open);
    take();
  }
  --depth_;
  s.optimizer.range = {name.pos, prevEnd_};
}

// dataField = NAME "=" ( STRING | [ "-" ] NUMBER )
// The training driver's data flags, spelled with '_' (train_csv for --train-csv); check_train knows which.
void Parser::dataFields(ast::Setting& s) {
  if (!at(Tok::LParen))
    failExpected("expected '(' with the data settings, as in 'data(train_csv = \"data.csv\", val_split = 0.1)'");
  const Token open = cur();
  enterNesting(open);
  take();
  {
    Nest nest(*this);
    while (!at(Tok::RParen)) {
      ast::Setting::Field f;
      // `input` is a keyword elsewhere; here it names the --input flag.
      const Token key =
          at(Tok::KwInput) ? take() : expectName("expected a data setting such as 'train_csv = \"data.csv\"'");
      f.key = key.text;
      f.keyRange = key.range();
      if (!accept(Tok::Equal)) failExpected(fmt::format("expected '=' and a value after '{}'", key.text));
      const bool negative = at(Tok::Minus) && peek(1).is(Tok::Number);
      if (!negative && !at(Tok::String) && !at(Tok::Number))
        failExpected(fmt::format("expected a string in quotes or a number as the value of '{}'", key.text));
      const Pos begin = cur().pos;
      if (negative) take();
      const Token v = take();
      f.value = v.is(Tok::String) ? std::string(v.text.substr(1, v.text.size() - 2))
                                  : (negative ? "-" : "") + std::string(v.text);
      f.valueRange = {begin, v.end()};
      s.fields.push_back(std::move(f));
      if (!accept(Tok::Comma)) break;
    }
    if (!at(Tok::RParen)) failExpected("expected ',' or ')' in the data settings", &open);
    take();
  }
  --depth_;
  s.valueRange = {open.pos, prevEnd_};
}

}  // namespace sinter::frontend
