#include "compiler/ir/interpreter.h"

#include <fmt/format.h>
#include <stdexcept>

#include "compiler/ir/dropout_mask.h"
#include "compiler/ir/interpreter_kernels.h"

namespace sinter::ir {

Tensor Tensor::zeros(std::vector<std::int64_t> s) {
  Tensor t;
  t.shape = std::move(s);
  t.data.assign(static_cast<std::size_t>(t.numel()), 0.0);
  return t;
}

std::int64_t Tensor::numel() const {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

namespace {

std::vector<std::int64_t> concrete(const Shape& s, const std::map<std::string, std::int64_t>& syms) {
  std::vector<std::int64_t> out;
  for (const Dim& d : s) {
    if (!d.isSymbolic()) {
      out.push_back(d.size);
      continue;
    }
    auto it = syms.find(d.symbol);
    if (it == syms.end()) throw std::runtime_error("unbound symbolic dimension '" + d.symbol + "'");
    out.push_back(it->second);
  }
  return out;
}

}  // namespace

std::vector<Tensor> interpretAll(const Graph& g, const std::map<std::string, Tensor>& args, RunMode mode) {
  // Bind symbolic dimensions from the arguments.
  std::map<std::string, std::int64_t> syms;
  for (const auto* list : {&g.inputs, &g.params})
    for (NodeId id : *list) {
      const Node& n = g.node(id);
      auto it = args.find(n.name);
      if (it == args.end()) throw std::runtime_error("missing argument '" + n.name + "'");
      if (it->second.shape.size() != n.type.shape.size())
        throw std::runtime_error(fmt::format("argument '{}' has rank {}, expected {}", n.name, it->second.shape.size(),
                                             n.type.shape.size()));
      for (std::size_t d = 0; d < n.type.shape.size(); ++d)
        if (n.type.shape[d].isSymbolic()) syms.emplace(n.type.shape[d].symbol, it->second.shape[d]);
    }

  std::vector<Tensor> v(g.nodes.size());
  for (const Node& n : g.nodes) {
    const std::vector<std::int64_t> shape = concrete(n.type.shape, syms);
    std::vector<const Tensor*> in;
    for (NodeId o : n.operands) in.push_back(&v[static_cast<std::size_t>(o)]);
    Tensor r;
    switch (n.op) {
      case Op::Input:
      case Op::Param:
        r = args.at(n.name);
        if (r.shape != shape || static_cast<std::int64_t>(r.data.size()) != r.numel())
          throw std::runtime_error(fmt::format("argument '{}' does not have type {}", n.name, n.type.str()));
        break;
      case Op::Constant:
        r = Tensor::zeros(shape);
        std::fill(r.data.begin(), r.data.end(), n.scalar);
        break;
      case Op::Neg:
      case Op::Exp:
      case Op::Log:
      case Op::Sqrt:
      case Op::Abs:
      case Op::Sign:
      case Op::Sigmoid:
      case Op::Tanh:
      case Op::Relu:
      case Op::LeakyRelu:
      case Op::Gelu:
      case Op::Softplus:
      case Op::StopGradient: r = ref::unary(n.op, n.attrs, *in[0]); break;
      case Op::Dropout:
      case Op::DropoutGrad:  // dropout(x) and its adjoint dropout_grad(dy) multiply by the same mask
        r = *in[0];
        if (mode.training)
          for (std::int64_t i = 0; i < r.numel(); ++i)
            r.data[i] *= dropoutScale(mode.seed, n.attrs.getInt("salt"), i, n.attrs.getFloat("p"));
        break;
      case Op::Add:
      case Op::Sub:
      case Op::Mul:
      case Op::Div:
      case Op::Pow:
      case Op::Maximum:
      case Op::Minimum:
      case Op::GreaterEqual:
      case Op::ReluGrad:
      case Op::LeakyReluGrad:
      case Op::GeluGrad: r = ref::binary(n.op, n.attrs, *in[0], *in[1], shape); break;
      case Op::ReduceSum:
      case Op::ReduceMean:
      case Op::ReduceMax:
      case Op::Count:
      case Op::SumTo:
      case Op::Broadcast: r = ref::reduce(n.op, n.attrs, *in[0], shape); break;
      case Op::Softmax:
      case Op::LogSoftmax: r = ref::softmaxFamily(n.op, n.attrs.getInt("axis"), *in[0], nullptr); break;
      case Op::SoftmaxGrad:
      case Op::LogSoftmaxGrad: r = ref::softmaxFamily(n.op, n.attrs.getInt("axis"), *in[0], in[1]); break;
      case Op::Reshape:
      case Op::Transpose:
      case Op::Concat:
      case Op::Slice:
      case Op::SliceGrad:
      case Op::Gather:
      case Op::GatherGrad: r = ref::layout(n, in, shape); break;
      case Op::MatMul: r = ref::matmul(*in[0], *in[1], false, false, shape); break;
      case Op::MatMulTN: r = ref::matmul(*in[0], *in[1], true, false, shape); break;
      case Op::MatMulNT: r = ref::matmul(*in[0], *in[1], false, true, shape); break;
      case Op::Conv2D:
      case Op::Conv2DGradInput:
      case Op::Conv2DGradWeight: r = ref::convolution(n, *in[0], *in[1], shape); break;
      case Op::MaxPool2D:
      case Op::MaxPool2DGrad:
      case Op::AvgPool2D:
      case Op::AvgPool2DGrad: r = ref::pooling(n, in, shape); break;
      case Op::CrossEntropy: r = ref::crossEntropy(*in[0], *in[1]); break;
      case Op::CrossEntropyGrad: r = ref::crossEntropyGrad(in[0]->data[0], *in[1], *in[2]); break;
      case Op::SoftCrossEntropy:
      case Op::Mse:
      case Op::BceWithLogits: r = ref::loss(n.op, *in[0], *in[1]); break;
    }
    r.shape = shape;
    v[static_cast<std::size_t>(n.id)] = std::move(r);
  }
  return v;
}

std::vector<Tensor> interpret(const Graph& g, const std::map<std::string, Tensor>& args, RunMode mode) {
  std::vector<Tensor> all = interpretAll(g, args, mode);
  std::vector<Tensor> out;
  for (const Result& r : g.results) out.push_back(all.at(static_cast<std::size_t>(r.node)));
  return out;
}

}  // namespace sinter::ir
