#include "frontend/ast.h"

namespace sinter::frontend::ast {

std::string_view spelling(BinaryOp op) {
  switch (op) {
    case BinaryOp::Add: return "+";
    case BinaryOp::Sub: return "-";
    case BinaryOp::Mul: return "*";
    case BinaryOp::Div: return "/";
    case BinaryOp::MatMul: return "@";
    case BinaryOp::Pow: return "**";
    case BinaryOp::Less: return "<";
    case BinaryOp::LessEqual: return "<=";
    case BinaryOp::Greater: return ">";
    case BinaryOp::GreaterEqual: return ">=";
    case BinaryOp::Equal: return "==";
    case BinaryOp::NotEqual: return "!=";
  }
  return "?";
}

std::string_view settingName(Setting::Kind k) {
  switch (k) {
    case Setting::Minimize: return "minimize";
    case Setting::Optimizer: return "optimizer";
    case Setting::Batch: return "batch";
    case Setting::Epochs: return "epochs";
    case Setting::Seed: return "seed";
    case Setting::Schedule: return "schedule";
    case Setting::ClipNorm: return "clip_norm";
    case Setting::Metrics: return "metrics";
    case Setting::Group: return "group";
    case Setting::Data: return "data";
  }
  return "?";
}

}  // namespace sinter::frontend::ast
