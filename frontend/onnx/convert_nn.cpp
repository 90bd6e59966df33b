// ONNX's 2-D convolution and pooling (NCHW, as the IR's) and batch normalization in its inference form.
#include <fmt/format.h>

#include <cmath>

#include "frontend/onnx/importer.h"

namespace sinter::onnxio {
namespace {

using ir::Op;
using Ints = std::vector<std::int64_t>;

std::string list(const Ints& v) {
  std::string s;
  for (std::int64_t x : v) s += (s.empty() ? "" : ", ") + std::to_string(x);
  return "[" + s + "]";
}

// ONNX pads are [top, left, bottom, right]; the IR pads each side alike: [top, left].
Ints symmetricPads(const NodeAttrs& a) {
  const std::string autoPad = a.s("auto_pad", "NOTSET");
  if (autoPad != "NOTSET" && autoPad != "VALID")
    throw Unsupported(fmt::format("auto_pad {} is not supported; supported: NOTSET, VALID", autoPad));
  const Ints p = a.ints("pads", {0, 0, 0, 0});
  if (p.size() != 4) throw Unsupported(fmt::format("pads {} must have 4 values (2-D only)", list(p)));
  if (p[0] != p[2] || p[1] != p[3])
    throw Unsupported(fmt::format("pads {} differ between the two sides, which is not supported", list(p)));
  return {p[0], p[1]};
}

Ints pair(const NodeAttrs& a, std::string_view name, Ints fallback) {
  Ints v = a.ints(name, std::move(fallback));
  if (v.size() != 2) throw Unsupported(fmt::format("{} {} must have 2 values (2-D only)", name, list(v)));
  return v;
}

void requireRank4(Importer& im, ir::NodeId x) {
  if (im.type(x).shape.size() != 4)
    throw Unsupported(fmt::format("its input is {}; only 2-D images [N, C, H, W] are supported", im.type(x).str()));
}

// A per-channel vector [C] as [C, 1, 1] (or [C, 1] for rank 3), which broadcasts over NCHW.
ir::Shape channelShape(std::int64_t channels, std::size_t rank) {
  ir::Shape s{ir::Dim::fixed(channels)};
  for (std::size_t i = 2; i < rank; ++i) s.push_back(ir::Dim::fixed(1));
  return s;
}

ir::NodeId channelVector(Importer& im, const std::string& name, std::size_t rank) {
  if (const Constant* c = im.constant(name); c && c->isFloat && c->dims.size() == 1) {
    Weight w{{c->dims[0]}, {c->values.begin(), c->values.end()}};
    for (std::size_t i = 2; i < rank; ++i) w.shape.push_back(1);
    return im.param(name, std::move(w));
  }
  const ir::NodeId v = im.value(name);
  const ir::TensorType& t = im.type(v);
  if (t.shape.size() != 1 || t.shape[0].isSymbolic())
    throw Unsupported(fmt::format("its per-channel input '{}' must be a vector, not {}", name, t.str()));
  return im.typed(Op::Reshape, {v}, {t.dtype, channelShape(t.shape[0].size, rank)});
}

void conv(Importer& im, const onnx::NodeProto& n, const NodeAttrs& a) {
  const ir::NodeId x = im.value(n.input(0));
  requireRank4(im, x);
  if (a.i("group", 1) != 1)
    throw Unsupported(fmt::format("group = {} is not supported; supported: 1", a.i("group", 1)));
  const ir::NodeId w = im.value(n.input(1));
  const ir::TensorType& wt = im.type(w);
  if (wt.shape.size() != 4) throw Unsupported(fmt::format("its weight is {}, not [O, C, KH, KW]", wt.str()));
  if (a.has("kernel_shape")) {
    const Ints k = pair(a, "kernel_shape", {});
    if (!(wt.shape[2] == ir::Dim::fixed(k[0])) || !(wt.shape[3] == ir::Dim::fixed(k[1])))
      throw Unsupported(fmt::format("kernel_shape {} disagrees with the weight's {}", list(k), wt.str()));
  }
  const ir::Attrs attrs = ir::Attrs::of({{"stride", pair(a, "strides", {1, 1})},
                                         {"padding", symmetricPads(a)},
                                         {"dilation", pair(a, "dilations", {1, 1})}});
  ir::NodeId y = im.op(Op::Conv2D, {x, w}, attrs);
  if (const std::string b = input(n, 2); !b.empty()) y = im.op(Op::Add, {y, channelVector(im, b, 4)});
  im.define(n.output(0), y);
}

// ConvTranspose (the IR's conv_transpose2d, the adjoint of a convolution): x [N, C, H, W] by w [C, O, KH, KW]
// to [N, O, (H - 1) s - 2 p + d (KH - 1) + 1 + output_padding, ...].
void convTranspose(Importer& im, const onnx::NodeProto& n, const NodeAttrs& a) {
  const ir::NodeId x = im.value(n.input(0));
  requireRank4(im, x);
  if (a.i("group", 1) != 1)
    throw Unsupported(fmt::format("group = {} is not supported; supported: 1", a.i("group", 1)));
  if (a.has("output_shape")) throw Unsupported("output_shape is not supported; give pads and output_padding");
  const ir::NodeId w = im.value(n.input(1));
  const ir::TensorType& wt = im.type(w);
  const ir::Shape& xs = im.type(x).shape;
  if (wt.shape.size() != 4 || !(wt.shape[0] == xs[1]))
    throw Unsupported(fmt::format("its weight is {}, not [C, O, KH, KW] for the input {}", wt.str(), im.type(x).str()));
  const Ints stride = pair(a, "strides", {1, 1}), pads = symmetricPads(a), dilation = pair(a, "dilations", {1, 1}),
             extra = pair(a, "output_padding", {0, 0});
  ir::Shape out{xs[0], wt.shape[1]};
  for (std::size_t i = 0; i < 2; ++i) {
    if (xs[2 + i].isSymbolic() || wt.shape[2 + i].isSymbolic()) throw Unsupported("a symbolic image size is not supported");
    out.push_back(ir::Dim::fixed((xs[2 + i].size - 1) * stride[i] - 2 * pads[i] +
                                 dilation[i] * (wt.shape[2 + i].size - 1) + 1 + extra[i]));
  }
  const ir::Attrs attrs = ir::Attrs::of({{"stride", stride}, {"padding", pads}, {"dilation", dilation}});
  ir::NodeId y = im.typed(Op::Conv2DGradInput, {x, w}, {im.type(x).dtype, out}, attrs);
  if (const std::string b = input(n, 2); !b.empty()) y = im.op(Op::Add, {y, channelVector(im, b, 4)});
  im.define(n.output(0), y);
}

void pool(Importer& im, const onnx::NodeProto& n, const NodeAttrs& a, Op o) {
  const ir::NodeId x = im.value(n.input(0));
  requireRank4(im, x);
  if (n.output_size() > 1 && !n.output(1).empty()) throw Unsupported("its Indices output is not supported");
  if (a.i("ceil_mode", 0) != 0) throw Unsupported("ceil_mode = 1 is not supported; supported: 0");
  if (a.i("storage_order", 0) != 0) throw Unsupported("storage_order = 1 is not supported; supported: 0");
  if (pair(a, "dilations", {1, 1}) != Ints{1, 1}) throw Unsupported("dilations other than 1 are not supported");
  const Ints pads = symmetricPads(a);
  // The IR's average counts the padding (PyTorch's default): so must the model's, where there is any.
  if (o == Op::AvgPool2D && pads != Ints{0, 0} && a.i("count_include_pad", 0) == 0)
    throw Unsupported("AveragePool with pads and count_include_pad = 0 is not supported; supported: 1");
  const Ints kernel = pair(a, "kernel_shape", {});
  const ir::Attrs attrs =
      ir::Attrs::of({{"kernel", kernel}, {"stride", pair(a, "strides", {1, 1})}, {"padding", pads}});
  im.define(n.output(0), im.op(o, {x}, attrs));
}

void globalAveragePool(Importer& im, const onnx::NodeProto& n, const NodeAttrs&) {
  const ir::NodeId x = im.value(n.input(0));
  requireRank4(im, x);
  im.define(n.output(0), im.op(Op::ReduceMean, {x}, ir::Attrs::of({{"axes", Ints{2, 3}}, {"keepdims", 1}})));
}

// Inference form: y = (x - mean) / sqrt(var + eps) * scale + bias, folded into y = x * a + b with
// a = scale / sqrt(var + eps) and b = bias - mean * a, two params named after the node's scale.
void batchNorm(Importer& im, const onnx::NodeProto& n, const NodeAttrs& a) {
  if (a.i("training_mode", 0) != 0) throw Unsupported("training_mode = 1 is not supported: inference form only");
  for (int i = 1; i < n.output_size(); ++i)
    if (!n.output(i).empty()) throw Unsupported("its running statistics outputs (training form) are not supported");
  const ir::NodeId x = im.value(n.input(0));
  const std::size_t rank = im.type(x).shape.size();
  if (rank < 2 || rank > 4)
    throw Unsupported(fmt::format("its input is {}: rank 2 to 4 is supported", im.type(x).str()));
  const Constant& scale = im.requireConstant(input(n, 1), "scale");
  const Constant& bias = im.requireConstant(input(n, 2), "bias");
  const Constant& mean = im.requireConstant(input(n, 3), "mean");
  const Constant& var = im.requireConstant(input(n, 4), "variance");
  const std::size_t c = scale.values.size();
  for (const Constant* k : {&scale, &bias, &mean, &var})
    if (k->dims.size() != 1 || k->values.size() != c)
      throw Unsupported(fmt::format("its statistic '{}' must be a vector of {} channels", k->name, c));
  const double eps = a.f("epsilon", 1e-5);
  Weight mul{{static_cast<std::int64_t>(c)}, {}}, add = mul;
  for (std::size_t i = 2; i < rank; ++i) {
    mul.shape.push_back(1);
    add.shape.push_back(1);
  }
  for (std::size_t i = 0; i < c; ++i) {
    const double k = scale.values[i] / std::sqrt(var.values[i] + eps);
    mul.data.push_back(static_cast<float>(k));
    add.data.push_back(static_cast<float>(bias.values[i] - mean.values[i] * k));
  }
  std::string prefix = scale.name;
  if (prefix.size() > 7 && prefix.ends_with(".weight")) prefix.resize(prefix.size() - 7);
  const ir::NodeId m = im.param(prefix + ".scale", std::move(mul));
  const ir::NodeId b = im.param(prefix + ".shift", std::move(add));
  im.define(n.output(0), im.op(Op::Add, {im.op(Op::Mul, {x, m}), b}));
}

}  // namespace

void addNnConverters(std::vector<OpConverter>& t) {
  t.push_back({"Conv", {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"}, conv});
  t.push_back({"MaxPool",
               {"auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order", "strides"},
               [](Importer& im, const onnx::NodeProto& n, const NodeAttrs& a) { pool(im, n, a, Op::MaxPool2D); }});
  t.push_back({"AveragePool",
               {"auto_pad", "ceil_mode", "count_include_pad", "kernel_shape", "pads", "strides"},
               [](Importer& im, const onnx::NodeProto& n, const NodeAttrs& a) { pool(im, n, a, Op::AvgPool2D); }});
  t.push_back({"ConvTranspose",
               {"auto_pad", "dilations", "group", "kernel_shape", "output_padding", "output_shape", "pads", "strides"},
               convTranspose});
  t.push_back({"GlobalAveragePool", {}, globalAveragePool});
  t.push_back({"BatchNormalization", {"epsilon", "momentum", "training_mode"}, batchNorm});
}

}  // namespace sinter::onnxio
