// Convolution and pooling over images in NCHW layout, with the gradients the backward pass uses.
#include <fmt/format.h>

#include <cmath>

#include "compiler/ir/ops/common.h"

namespace sinter::ir::ops {
namespace {

// ---- type rules ------------------------------------------------------------------------------------------------

std::string pair(const Node& n, const char* name, std::int64_t min, std::int64_t v[2]) {
  const auto& p = n.attrs.getInts(name);
  if (p.size() != 2 || p[0] < min || p[1] < min) return fmt::format("{} must be two integers >= {}", name, min);
  v[0] = p[0];
  v[1] = p[1];
  return {};
}

// Output extent of a window op: floor((in + 2 pad - dilation (k - 1) - 1) / stride) + 1.
std::int64_t windowOut(std::int64_t in, std::int64_t k, std::int64_t s, std::int64_t p, std::int64_t d) {
  return (in + 2 * p - d * (k - 1) - 1) / s + 1;
}

// conv2d{stride, padding, dilation}(x[N,C,H,W], w[O,C,KH,KW]) -> [N,O,OH,OW]
std::string convShape(const Node& n, const TensorType& x, const TensorType& w, TensorType& out) {
  if (x.shape.size() != 4 || w.shape.size() != 4) return "conv2d takes x[N,C,H,W] and w[O,C,KH,KW]";
  if (x.dtype != w.dtype || !isFloat(x.dtype)) return "operands must have the same floating dtype";
  for (std::size_t i = 1; i < 4; ++i)
    if (x.shape[i].isSymbolic() || w.shape[i].isSymbolic()) return "channels, height and width must have fixed sizes";
  if (!(x.shape[1] == w.shape[1]))
    return fmt::format("x has {} channels, w expects {}", x.shape[1].str(), w.shape[1].str());
  std::int64_t s[2], p[2], d[2];
  for (auto e : {pair(n, "stride", 1, s), pair(n, "padding", 0, p), pair(n, "dilation", 1, d)})
    if (!e.empty()) return e;
  const std::int64_t oh = windowOut(x.shape[2].size, w.shape[2].size, s[0], p[0], d[0]);
  const std::int64_t ow = windowOut(x.shape[3].size, w.shape[3].size, s[1], p[1], d[1]);
  if (oh < 1 || ow < 1) return "the kernel is larger than the padded input";
  if (w.shape[0].isSymbolic()) return "the number of filters must be fixed";
  out = {x.dtype, {x.shape[0], w.shape[0], Dim::fixed(oh), Dim::fixed(ow)}};
  return {};
}

std::string conv2d(const Node& n, const Types& in, TensorType& out) { return convShape(n, in[0], in[1], out); }

// conv2d_grad_input(dy, w) : type of x;  conv2d_grad_weight(x, dy) : type of w
std::string conv2dGradInput(const Node& n, const Types& in, TensorType& out) {
  TensorType y;
  if (auto e = convShape(n, n.type, in[1], y); !e.empty()) return e;
  if (!(y == in[0])) return fmt::format("dy is {}, the convolution gives {}", in[0].str(), y.str());
  out = n.type;
  return {};
}

std::string conv2dGradWeight(const Node& n, const Types& in, TensorType& out) {
  TensorType y;
  if (auto e = convShape(n, in[0], n.type, y); !e.empty()) return e;
  if (!(y == in[1])) return fmt::format("dy is {}, the convolution gives {}", in[1].str(), y.str());
  out = n.type;
  return {};
}

// *_pool2d{kernel, stride, padding}(x[N,C,H,W]) -> [N,C,OH,OW]
std::string poolShape(const Node& n, const TensorType& x, TensorType& out) {
  if (x.shape.size() != 4 || !isFloat(x.dtype)) return "pooling takes a floating x[N,C,H,W]";
  if (x.shape[2].isSymbolic() || x.shape[3].isSymbolic()) return "height and width must have fixed sizes";
  std::int64_t k[2], s[2], p[2];
  for (auto e : {pair(n, "kernel", 1, k), pair(n, "stride", 1, s), pair(n, "padding", 0, p)})
    if (!e.empty()) return e;
  if (p[0] * 2 > k[0] || p[1] * 2 > k[1]) return "padding must be at most half the kernel";
  const std::int64_t oh = windowOut(x.shape[2].size, k[0], s[0], p[0], 1);
  const std::int64_t ow = windowOut(x.shape[3].size, k[1], s[1], p[1], 1);
  if (oh < 1 || ow < 1) return "the window is larger than the padded input";
  out = {x.dtype, {x.shape[0], x.shape[1], Dim::fixed(oh), Dim::fixed(ow)}};
  return {};
}

std::string pool(const Node& n, const Types& in, TensorType& out) { return poolShape(n, in[0], out); }

std::string maxPoolGrad(const Node& n, const Types& in, TensorType& out) {
  TensorType y;
  if (auto e = poolShape(n, in[1], y); !e.empty()) return e;
  if (!(y == in[0])) return fmt::format("dy is {}, pooling gives {}", in[0].str(), y.str());
  out = in[1];
  return {};
}

std::string avgPoolGrad(const Node& n, const Types& in, TensorType& out) {
  TensorType y;
  if (auto e = poolShape(n, n.type, y); !e.empty()) return e;
  if (!(y == in[0])) return fmt::format("dy is {}, pooling gives {}", in[0].str(), y.str());
  out = n.type;
  return {};
}

// ---- reference kernels -------------------------------------------------------------------------------------

struct Window {
  std::int64_t k[2] = {1, 1}, s[2] = {1, 1}, p[2] = {0, 0}, d[2] = {1, 1};
  explicit Window(const Node& n) {
    auto get = [&](const char* name, std::int64_t* v) {
      if (!n.attrs.has(name)) return;
      const auto& x = n.attrs.getInts(name);
      v[0] = x[0];
      v[1] = x[1];
    };
    get("kernel", k);
    get("stride", s);
    get("padding", p);
    get("dilation", d);
  }
};

// conv2d(x, w) -> y; conv2d_grad_input(dy, w) -> dx; conv2d_grad_weight(x, dy) -> dw. One loop nest visits
// every (output element, kernel tap) pair: y[n,o,i,j] += x[n,c,i s - p + kh d, j s - p + kw d] w[o,c,kh,kw].
Tensor refConvolution(const RefCall& call) {
  const Node& n = call.node;
  const Tensor& a = *call.in[0];
  const Tensor& b = *call.in[1];
  const Window win(n);
  const Extents& xs = n.op == Op::Conv2DGradInput ? call.shape : a.shape;
  const Extents& ws = n.op == Op::Conv2DGradWeight ? call.shape : b.shape;
  const std::int64_t N = xs[0], C = xs[1], H = xs[2], W = xs[3], O = ws[0], KH = ws[2], KW = ws[3];
  const std::int64_t OH = windowOut(H, KH, win.s[0], win.p[0], win.d[0]);
  const std::int64_t OW = windowOut(W, KW, win.s[1], win.p[1], win.d[1]);
  Tensor r = Tensor::zeros(call.shape);
  for (std::int64_t nn = 0; nn < N; ++nn)
    for (std::int64_t o = 0; o < O; ++o)
      for (std::int64_t i = 0; i < OH; ++i)
        for (std::int64_t j = 0; j < OW; ++j) {
          const std::int64_t yi = ((nn * O + o) * OH + i) * OW + j;
          for (std::int64_t c = 0; c < C; ++c)
            for (std::int64_t kh = 0; kh < KH; ++kh)
              for (std::int64_t kw = 0; kw < KW; ++kw) {
                const std::int64_t h = i * win.s[0] - win.p[0] + kh * win.d[0];
                const std::int64_t w = j * win.s[1] - win.p[1] + kw * win.d[1];
                if (h < 0 || h >= H || w < 0 || w >= W) continue;
                const std::int64_t xi = ((nn * C + c) * H + h) * W + w, wi = ((o * C + c) * KH + kh) * KW + kw;
                if (n.op == Op::Conv2D) r.data[yi] += a.data[xi] * b.data[wi];
                else if (n.op == Op::Conv2DGradInput) r.data[xi] += a.data[yi] * b.data[wi];
                else r.data[wi] += a.data[xi] * b.data[yi];
              }
        }
  return r;
}

// max_pool2d(x), max_pool2d_grad(dy, x) (dy goes to the first maximum of each window; a window of -inf has
// none and drops its dy; a NaN is the maximum, as in PyTorch), avg_pool2d(x) (padding counts in the average, as
// in PyTorch's default), avg_pool2d_grad(dy).
Tensor refPooling(const RefCall& call) {
  const Node& n = call.node;
  const auto& in = call.in;
  const Window win(n);
  const bool grad = n.op == Op::MaxPool2DGrad || n.op == Op::AvgPool2DGrad;
  const Extents& xs = grad ? call.shape : in[0]->shape;
  const Extents& ys = grad ? in[0]->shape : call.shape;
  const std::int64_t H = xs[2], W = xs[3], OH = ys[2], OW = ys[3], planes = xs[0] * xs[1];
  const double area = static_cast<double>(win.k[0] * win.k[1]);
  Tensor r = Tensor::zeros(call.shape);
  for (std::int64_t pl = 0; pl < planes; ++pl)
    for (std::int64_t i = 0; i < OH; ++i)
      for (std::int64_t j = 0; j < OW; ++j) {
        const std::int64_t yi = (pl * OH + i) * OW + j;
        double best = -INFINITY, sum = 0;
        std::int64_t arg = -1;
        for (std::int64_t kh = 0; kh < win.k[0]; ++kh)
          for (std::int64_t kw = 0; kw < win.k[1]; ++kw) {
            const std::int64_t h = i * win.s[0] - win.p[0] + kh, w = j * win.s[1] - win.p[1] + kw;
            if (h < 0 || h >= H || w < 0 || w >= W) continue;
            const std::int64_t xi = (pl * H + h) * W + w;
            if (n.op == Op::AvgPool2DGrad) {
              r.data[xi] += in[0]->data[yi] / area;
              continue;
            }
            const double v = n.op == Op::MaxPool2DGrad ? in[1]->data[xi] : in[0]->data[xi];
            sum += v;
            if (v > best || std::isnan(v)) best = v, arg = xi;  // a NaN wins, as in PyTorch
          }
        if (n.op == Op::MaxPool2D) r.data[yi] = best;
        else if (n.op == Op::AvgPool2D) r.data[yi] = sum / area;
        else if (n.op == Op::MaxPool2DGrad && arg >= 0) r.data[arg] += in[0]->data[yi];
      }
  return r;
}

// ---- entries -------------------------------------------------------------------------------------------------

const std::vector<AttrSpec> kConvAttrs = {
    {"stride", AttrKind::Ints}, {"padding", AttrKind::Ints}, {"dilation", AttrKind::Ints}};
const std::vector<AttrSpec> kPoolAttrs = {
    {"kernel", AttrKind::Ints}, {"stride", AttrKind::Ints}, {"padding", AttrKind::Ints}};

OpDef convolution(Op op, std::string_view name, bool carriesType, TypeRule rule, std::string_view doc, Gradient g) {
  return {.op = op, .name = name, .arity = 2, .attrs = kConvAttrs, .carriesType = carriesType, .typeRule = rule,
          .doc = doc, .grad = g, .reference = refConvolution, .kernel = KernelKind::Convolution};
}

OpDef pooling(Op op, std::string_view name, int arity, bool carriesType, TypeRule rule, std::string_view doc,
              Gradient g) {
  return {.op = op, .name = name, .arity = arity, .attrs = kPoolAttrs, .carriesType = carriesType, .typeRule = rule,
          .doc = doc, .grad = g, .reference = refPooling, .kernel = KernelKind::Pooling};
}

std::vector<OpDef> entries() {
  return {
      // y = x ⋆ w: dx = conv2d_grad_input(dy, w), dw = conv2d_grad_weight(x, dy)
      convolution(Op::Conv2D, "conv2d", false, conv2d, "x[N,C,H,W] ⋆ w[O,C,KH,KW] → [N,O,OH,OW] (cross-correlation)",
                  {[](GradBuilder& d) {
                     d.to(0, [&] { return d.emit(Op::Conv2DGradInput, {d.dy(), d.x(1)}, d.attrs(), d.type(d.x(0))); });
                     d.to(1, [&] { return d.emit(Op::Conv2DGradWeight, {d.x(0), d.dy()}, d.attrs(), d.type(d.x(1))); });
                   },
                   "dx = `conv2d_grad_input(dy, w)`, dw = `conv2d_grad_weight(x, dy)`"}),
      // dx = convᵀ(g, w): bilinear in (g, w)
      convolution(Op::Conv2DGradInput, "conv2d_grad_input", true, conv2dGradInput,
                  "conv2d's input gradient (dy, w), of the carried type of x",
                  {[](GradBuilder& d) {
                     d.to(0, [&] { return d.emit(Op::Conv2D, {d.dy(), d.x(1)}, d.attrs()); });
                     d.to(1, [&] { return d.emit(Op::Conv2DGradWeight, {d.dy(), d.x(0)}, d.attrs(), d.type(d.x(1))); });
                   },
                   "(second order, bilinear) conv2d(g, w) to dy; conv2d_grad_weight(g, dy) to w"}),
      // dw = corr(x, g): bilinear in (x, g)
      convolution(Op::Conv2DGradWeight, "conv2d_grad_weight", true, conv2dGradWeight,
                  "conv2d's weight gradient (x, dy), of the carried type of w",
                  {[](GradBuilder& d) {
                     d.to(0, [&] { return d.emit(Op::Conv2DGradInput, {d.x(1), d.dy()}, d.attrs(), d.type(d.x(0))); });
                     d.to(1, [&] { return d.emit(Op::Conv2D, {d.x(0), d.dy()}, d.attrs()); });
                   },
                   "(second order, bilinear) conv2d_grad_input(dy, g) to x; conv2d(x, g) to dy"}),
      pooling(Op::MaxPool2D, "max_pool2d", 1, false, pool, "the maximum of each window (a NaN counts as the maximum)",
              {[](GradBuilder& d) { d.to(0, [&] { return d.emit(Op::MaxPool2DGrad, {d.dy(), d.x(0)}, d.attrs()); }); },
               "`max_pool2d_grad(dy, x)`: dy to the first maximum of each window"}),
      pooling(Op::MaxPool2DGrad, "max_pool2d_grad", 2, false, maxPoolGrad,
              "max_pool2d's adjoint (dy, x): dy added at the first maximum of each window (none in a window of -inf)", {nullptr, "none"}),
      pooling(Op::AvgPool2D, "avg_pool2d", 1, false, pool,
              "the mean of each window (padding counts, as PyTorch's default)",
              {[](GradBuilder& d) {
                 d.to(0, [&] { return d.emit(Op::AvgPool2DGrad, {d.dy()}, d.attrs(), d.type(d.x(0))); });
               },
               "`avg_pool2d_grad(dy)`: dy spread evenly over each window"}),
      pooling(Op::AvgPool2DGrad, "avg_pool2d_grad", 1, true, avgPoolGrad,
              "avg_pool2d's adjoint: dy spread evenly over each window, of the carried type of x",
              {[](GradBuilder& d) { d.to(0, [&] { return d.emit(Op::AvgPool2D, {d.dy()}, d.attrs()); }); },
               "(second order) avg_pool2d(g)"}),
  };
}

}  // namespace

OpFamily convOps() { return {"Convolution and pooling, NCHW", "conv.cpp", entries()}; }

}  // namespace sinter::ir::ops
