// Matrix products, batched over leading dimensions (which broadcast), in the three forms the backward pass
// needs: A B, Aᵀ B and A Bᵀ, so that no transpose is ever materialized.
#include <fmt/format.h>

#include "compiler/ir/ops/common.h"

namespace sinter::ir::ops {
namespace {

// matmul [..,M,K]@[..,K,N]; matmul_tn [..,K,M]ᵀ@[..,K,N]; matmul_nt [..,M,K]@[..,N,K]ᵀ. Leading dims broadcast.
template <bool TransA, bool TransB>
std::string matmulRule(const Node&, const Types& in, TensorType& out) {
  const TensorType& a = in[0];
  const TensorType& b = in[1];
  if (a.shape.size() < 2 || b.shape.size() < 2) return "operands must have rank >= 2";
  if (a.dtype != b.dtype || !isFloat(a.dtype)) return "operands must have the same floating dtype";
  const std::size_t ra = a.shape.size(), rb = b.shape.size();
  const Dim& m = TransA ? a.shape[ra - 1] : a.shape[ra - 2];
  const Dim& ka = TransA ? a.shape[ra - 2] : a.shape[ra - 1];
  const Dim& kb = TransB ? b.shape[rb - 1] : b.shape[rb - 2];
  const Dim& n = TransB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (!(ka == kb)) return fmt::format("inner dimensions differ: {} vs {}", ka.str(), kb.str());
  auto batch = broadcastShapes(Shape(a.shape.begin(), a.shape.end() - 2), Shape(b.shape.begin(), b.shape.end() - 2));
  if (!batch) return fmt::format("batch dimensions do not broadcast: {} vs {}", a.str(), b.str());
  out = {a.dtype, *batch};
  out.shape.push_back(m);
  out.shape.push_back(n);
  return {};
}

// Every form as C[b] = op(A[b]) op(B[b]) with the batch index broadcast into each operand.
template <bool TransA, bool TransB>
Tensor refMatMul(const RefCall& call) {
  const Tensor& a = *call.in[0];
  const Tensor& b = *call.in[1];
  const Extents& shape = call.shape;
  const std::size_t ra = a.shape.size(), r = shape.size();
  const std::int64_t M = shape[r - 2], N = shape[r - 1], K = TransA ? a.shape[ra - 2] : a.shape[ra - 1];
  const Extents batch(shape.begin(), shape.end() - 2), ab(a.shape.begin(), a.shape.end() - 2),
      bb(b.shape.begin(), b.shape.end() - 2);
  std::int64_t batches = 1;
  for (auto d : batch) batches *= d;
  Tensor c = Tensor::zeros(shape);
  for (std::int64_t t = 0; t < batches; ++t) {
    const double* A = &a.data[broadcastIndex(ab, batch, t) * M * K];
    const double* B = &b.data[broadcastIndex(bb, batch, t) * K * N];
    double* C = &c.data[t * M * N];
    for (std::int64_t i = 0; i < M; ++i)
      for (std::int64_t j = 0; j < N; ++j) {
        double s = 0;
        for (std::int64_t k = 0; k < K; ++k)
          s += (TransA ? A[k * M + i] : A[i * K + k]) * (TransB ? B[j * K + k] : B[k * N + j]);
        C[i * N + j] = s;
      }
  }
  return c;
}

template <bool TransA, bool TransB>
OpDef product(Op op, std::string_view name, std::string_view doc, Gradient g) {
  return {.op = op, .name = name, .arity = 2, .typeRule = matmulRule<TransA, TransB>, .doc = doc, .grad = g,
          .reference = refMatMul<TransA, TransB>, .kernel = KernelKind::Gemm};
}

std::vector<OpDef> entries() {
  return {
      // C = A B: dA = dC Bᵀ, dB = Aᵀ dC (summed over broadcast batch dims)
      product<false, false>(Op::MatMul, "matmul", "A B (the operator @)",
                            {[](GradBuilder& d) {
                               d.to(0, [&] { return d.sumTo(d.emit(Op::MatMulNT, {d.dy(), d.x(1)}), d.x(0)); });
                               d.to(1, [&] { return d.sumTo(d.emit(Op::MatMulTN, {d.x(0), d.dy()}), d.x(1)); });
                             },
                             "dA = `matmul_nt(dC, B)`, dB = `matmul_tn(A, dC)`, summed over broadcast batch dimensions"}),
      // C = Aᵀ B: dA = B dCᵀ, dB = A dC
      product<true, false>(Op::MatMulTN, "matmul_tn", "Aᵀ B",
                           {[](GradBuilder& d) {
                              d.to(0, [&] { return d.sumTo(d.emit(Op::MatMulNT, {d.x(1), d.dy()}), d.x(0)); });
                              d.to(1, [&] { return d.sumTo(d.emit(Op::MatMul, {d.x(0), d.dy()}), d.x(1)); });
                            },
                            "dA = `matmul_nt(B, dC)`, dB = `matmul(A, dC)`"}),
      // C = A Bᵀ: dA = dC B, dB = dCᵀ A
      product<false, true>(Op::MatMulNT, "matmul_nt", "A Bᵀ",
                           {[](GradBuilder& d) {
                              d.to(0, [&] { return d.sumTo(d.emit(Op::MatMul, {d.dy(), d.x(1)}), d.x(0)); });
                              d.to(1, [&] { return d.sumTo(d.emit(Op::MatMulTN, {d.dy(), d.x(0)}), d.x(1)); });
                            },
                            "dA = `matmul(dC, B)`, dB = `matmul_tn(dC, A)`"}),
  };
}

}  // namespace

OpFamily linalgOps() { return {"Matrix products", "linalg.cpp", entries()}; }

}  // namespace sinter::ir::ops
