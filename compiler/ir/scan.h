// What the scan op's attributes say about its operands and results (compiler/ir/ops/loops.cpp defines the
// op): the type rule, the reference kernel, its gradient rule and code generation read them here.
#pragma once

#include <cstddef>
#include <cstdint>

#include "compiler/ir/graph.h"

namespace sinter::ir {

// Operands: `carries` carried values, then `seqs` sequences sliced along `axis`, then the closures (values
// every step reads whole). Body results: the carries' next values, then the per-step values.
struct ScanShape {
  std::int64_t axis = 0, carries = 0, seqs = 0, result = 0;
  bool reverse = false;

  static ScanShape of(const Node& n) {
    return {n.attrs.getInt("axis"), n.attrs.getInt("carries"), n.attrs.getInt("seqs"), n.attrs.getInt("result"),
            n.attrs.getInt("reverse") != 0};
  }
  bool isCarry(std::size_t i) const { return static_cast<std::int64_t>(i) < carries; }
  bool isSeq(std::size_t i) const { return !isCarry(i) && static_cast<std::int64_t>(i) < carries + seqs; }
  bool isClosure(std::size_t i) const { return static_cast<std::int64_t>(i) >= carries + seqs; }
  // The attributes of the node that is result `r` of the same loop.
  Attrs attrsFor(std::int64_t r) const {
    return Attrs::of(
        {{"axis", axis}, {"carries", carries}, {"seqs", seqs}, {"result", r}, {"reverse", std::int64_t{reverse}}});
  }
};

// Whether body `big` computes what `small` does, with the same results first: a saving loop's body is its
// forward loop's with the saved values appended as results (docs/autodiff.md), so one loop runs both.
bool extendsBody(const Graph& big, const Graph& small);

// Whether two region nodes may be results of one loop: the same op, attributes (but the result) and operands.
bool sameSteps(const Node& a, const Node& b);

// One step of a sequence: its type without `axis`.
inline TensorType stepType(TensorType seq, std::size_t axis) {
  seq.shape.erase(seq.shape.begin() + static_cast<std::ptrdiff_t>(axis));
  return seq;
}

}  // namespace sinter::ir
