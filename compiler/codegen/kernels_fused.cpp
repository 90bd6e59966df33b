// Fused kernels: a GEMM or a convolution with its elementwise epilogue, a weight-gradient GEMM with its bias gradient,
// cross-entropy with its gradient (and softmax) over one pass per row, and chains of elementwise ops, each
// computed as one kernel instead of one per node. The groups come from the fusion analysis
// (compiler/passes/fusion_groups.h), as ir::FusionGroup, the type they keep down to their LLVM function; the
// memory planner is told about them, so that members computed early, and operands read late, keep their
// buffers.
#include <algorithm>

#include "compiler/codegen/emit_kernels.h"
#include "compiler/codegen/kernel_emitter.h"
#include "compiler/passes/fusion_groups.h"

namespace sinter::codegen {
namespace {

bool isGemm(ir::Op op) { return op == ir::Op::MatMul || op == ir::Op::MatMulTN || op == ir::Op::MatMulNT; }


const ir::Node* memberOf(const ir::Graph& g, const ir::FusionGroup& k, ir::Op op) {
  for (ir::NodeId id : k.nodes)
    if (g.node(id).op == op) return &g.node(id);
  return nullptr;
}

// The operands of members that come from outside the kernel, each once, in first-use order.
std::vector<ir::NodeId> externals(const ir::Graph& g, const ir::FusionGroup& k) {
  std::vector<ir::NodeId> out;
  for (ir::NodeId id : k.nodes) {
    for (ir::NodeId o : g.node(id).operands)
      if (!k.contains(o) && std::find(out.begin(), out.end(), o) == out.end()) out.push_back(o);
  }
  return out;
}

// Whether the group can run as one loop nest at its first member: floating point and deterministic
// (dropout's mask is drawn per node), every elementwise member of one shape (no member broadcast inside
// the loop), and every outside operand computed before the first member (an input, a param, or an earlier
// node), since the whole group runs there.
// cross_entropy(x, labels) with cross_entropy_grad and softmax of the same logits. It runs at its last
// member (the gradient reads a constant made in between), so nothing outside may read a member earlier.
bool fusibleCrossEntropy(const ir::Graph& g, const ir::FusionGroup& k) {
  const ir::Node* ce = memberOf(g, k, ir::Op::CrossEntropy);
  if (!ce || !ir::isFloat(ce->type.dtype) || g.node(ce->operands[1]).type.dtype != ir::DType::I32) return false;
  for (const ir::Node& n : g.nodes)
    for (ir::NodeId o : n.operands)
      if (k.contains(o) && !k.contains(n.id) && n.id < k.nodes.back()) return false;
  return true;
}

bool fusible(const ir::Graph& g, const ir::FusionGroup& k) {
  const ir::Node& first = g.node(k.nodes.front());
  const ir::Node& last = g.node(k.nodes.back());
  for (ir::NodeId id : k.nodes) {
    const ir::Node& n = g.node(id);
    if (!ir::isFloat(n.type.dtype) || (opDef(n.op).flags & ir::kStochastic)) return false;
    if ((opDef(n.op).flags & ir::kElementwise) && n.type.shape != last.type.shape) return false;
  }
  // A bias gradient: sum_to(dy) of a matrix dy[B, N] down to N values, beside a 2-D matmul_tn(x, dy).
  const ir::Node* s = memberOf(g, k, ir::Op::SumTo);
  if (s && k.kind == ir::KernelKind::GemmBiasGradient) {
    const ir::Node* t = memberOf(g, k, ir::Op::MatMulTN);
    const ir::Node& dy = g.node(s->operands[0]);
    if (k.nodes.size() != 2 || !t || t->operands[1] != s->operands[0] || t->type.shape.size() != 2 ||
        dy.type.shape.size() != 2)
      return false;
    const std::size_t r = s->type.shape.size();
    if (r < 1 || !(s->type.shape[r - 1] == dy.type.shape[1])) return false;
    for (std::size_t i = 0; i + 1 < r; ++i)
      if (s->type.shape[i].isSymbolic() || s->type.shape[i].size != 1) return false;
  }
  for (ir::NodeId o : externals(g, k)) {
    const ir::Node& x = g.node(o);
    if (x.op != ir::Op::Input && x.op != ir::Op::Param && o >= first.id) return false;
  }
  return true;
}

}  // namespace

std::vector<ir::FusionGroup> fusedKernels(const ir::Graph& g) {
  std::vector<ir::FusionGroup> out;
  for (ir::FusionGroup& k : passes::findFusionGroups(g)) {
    if (k.kind == ir::KernelKind::SoftmaxCrossEntropy) {
      if (k.fused() && fusibleCrossEntropy(g, k)) out.push_back(std::move(k));
      continue;
    }
    // The GEMM writes its product to memory, where the epilogue reads it back row block by row block,
    // unless the epilogue is only an add the product is computed into (productAddedTo); a convolution
    // writes each image's output, which its epilogue reads back, unless the epilogue runs on the direct
    // convolution's register tiles (convEpilogueInRegisters).
    const bool productStored = (k.kind == ir::KernelKind::GemmEpilogue && !productAddedTo(g, k)) ||
                               (k.kind == ir::KernelKind::ConvEpilogue && !convEpilogueInRegisters(g, k));
    if (productStored && !k.stores(k.nodes.front())) k.stored.insert(k.stored.begin(), k.nodes.front());
    if (fusible(g, k)) out.push_back(std::move(k));
  }
  return out;
}

const ir::Node* productAddedTo(const ir::Graph& g, const ir::FusionGroup& k) {
  if (k.nodes.size() != 2) return nullptr;
  const ir::Node& mm = g.node(k.nodes[0]);
  const ir::Node& add = g.node(k.nodes[1]);
  if (!isGemm(mm.op) || mm.type.dtype != ir::DType::F32 || add.op != ir::Op::Add) return nullptr;
  const ir::NodeId other = add.operands[0] == mm.id ? add.operands[1] : add.operands[0];
  const ir::TensorType& acc = g.node(other).type;
  const bool row = acc.dtype == mm.type.dtype && acc.shape.size() == 1 && acc.shape[0] == mm.type.shape.back();
  if (other == mm.id || !(acc == mm.type || row)) return nullptr;
  for (const ir::Result& r : g.results)
    if (r.node == mm.id) return nullptr;
  for (const ir::Node& u : g.nodes)
    if (u.id != add.id && std::find(u.operands.begin(), u.operands.end(), mm.id) != u.operands.end()) return nullptr;
  return &add;
}

ir::NodeId fusedPosition(const ir::Graph& g, const ir::FusionGroup& k) {
  return memberOf(g, k, ir::Op::CrossEntropy) ? k.nodes.back() : k.nodes.front();
}

// Every chunk of the GEMM's row blocks also sums a share of the columns: each column, summed over the
// rows in order, by whichever thread holds it, so the bits do not depend on the thread count.
void KernelEmitter::emitColumnSums(const ir::Node& s, Value* j0, Value* j1) {
  const ir::Node& dy = operand(s, 0);
  Value* rows = extent(dy.type.shape[0]);
  Value* N = extent(dy.type.shape[1]);
  forRange(j0, j1, [&](Value* j) { store(s, j, fconst(s, 0)); });
  forLoop(rows, [&](Value* r) {
    Value* row = b_.CreateMul(r, N);
    forRange(j0, j1, [&](Value* j) { store(s, j, b_.CreateFAdd(load(s, j), load(dy, b_.CreateAdd(row, j)))); });
  });
}

}  // namespace sinter::codegen
