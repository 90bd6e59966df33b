#include "runtime/init.h"

#include "runtime/philox.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <numbers>
#include <stdexcept>
#include <string>

namespace sinter::rt {
namespace {

std::string tensorName(const sinter_tensor_desc& t) { return t.name ? t.name : "<unnamed>"; }

// Element k of a param draws from block k of the param's own stream: no element depends on another.
PhiloxBlock block(uint64_t seed, uint32_t stream, int64_t k) {
  return draw(seed, RandomPurpose::Init, stream, static_cast<uint64_t>(k));
}

// Values in [lo, hi): rounding to T could land on hi itself, which the kind excludes.
template <class T>
void fillUniform(uint64_t seed, uint32_t stream, T* data, int64_t n, double lo, double hi) {
  const T top = static_cast<T>(hi);
  const T below = std::nextafter(top, -std::numeric_limits<T>::infinity());
  for (int64_t i = 0; i < n; ++i) {
    const double u = static_cast<double>(block(seed, stream, i)[0] >> 8) * 0x1p-24;
    T x = static_cast<T>(lo + (hi - lo) * u);
    if (x >= top && hi > lo) x = below;
    data[i] = x;
  }
}

// Elements 2j and 2j+1 are the Box-Muller pair of block j.
template <class T>
void fillNormal(uint64_t seed, uint32_t stream, T* data, int64_t n, double mean, double std) {
  for (int64_t i = 0; i < n; i += 2) {
    const PhiloxBlock b = block(seed, stream, i / 2);
    const double u1 = 1.0 - static_cast<double>(join(b[0], b[1]) >> 11) * 0x1p-53;  // (0, 1]: log(u1) is finite
    const double u2 = static_cast<double>(join(b[2], b[3]) >> 11) * 0x1p-53;
    const double r = std::sqrt(-2.0 * std::log(u1));
    const double theta = 2.0 * std::numbers::pi * u2;
    data[i] = static_cast<T>(mean + std * r * std::cos(theta));
    if (i + 1 < n) data[i + 1] = static_cast<T>(mean + std * r * std::sin(theta));
  }
}

}  // namespace

int64_t fixedElementCount(const sinter_tensor_desc& t) {
  if (t.rank < 0) throw std::invalid_argument("tensor '" + tensorName(t) + "' has a negative rank");
  int64_t n = 1;
  for (int32_t i = 0; i < t.rank; ++i) {
    const int64_t d = t.dims[i];
    if (d < 0) throw std::invalid_argument("tensor '" + tensorName(t) + "' has a symbolic dimension");
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d)
      throw std::invalid_argument("tensor '" + tensorName(t) + "' has too many elements");
    n *= d;
  }
  return n;
}

void computeFans(const sinter_tensor_desc& t, int64_t& fanIn, int64_t& fanOut) {
  if (t.rank <= 0) {
    fanIn = fanOut = 1;
  } else if (t.rank == 1) {
    fanIn = fanOut = t.dims[0];
  } else if (t.rank == 4) {
    // conv2d filters [out, in, kh, kw] (NCHW, as torch.nn.Conv2d): the receptive field multiplies both.
    const int64_t receptive = t.dims[2] * t.dims[3];
    fanIn = receptive * t.dims[1];
    fanOut = receptive * t.dims[0];
  } else {
    int64_t receptive = 1;
    for (int32_t i = 0; i + 2 < t.rank; ++i) receptive *= t.dims[i];
    fanIn = receptive * t.dims[t.rank - 2];
    fanOut = receptive * t.dims[t.rank - 1];
  }
}

namespace {

template <class T>
void initTyped(const sinter_tensor_desc& t, uint64_t seed, uint32_t stream, T* data, const void* given) {
  const int64_t n = fixedElementCount(t);
  int64_t fanIn = 0, fanOut = 0;
  computeFans(t, fanIn, fanOut);
  const double a = t.init_a, b = t.init_b;
  auto bad = [&](const std::string& why) { return std::invalid_argument("parameter '" + tensorName(t) + "': " + why); };
  switch (t.init) {
    case SINTER_INIT_ZEROS:
      for (int64_t i = 0; i < n; ++i) data[i] = T(0);
      return;
    case SINTER_INIT_ONES:
      for (int64_t i = 0; i < n; ++i) data[i] = T(1);
      return;
    case SINTER_INIT_CONSTANT:
      for (int64_t i = 0; i < n; ++i) data[i] = t.init_a;
      return;
    case SINTER_INIT_UNIFORM:
      if (!(a <= b)) throw bad("uniform init needs a <= b");
      fillUniform(seed, stream, data, n, a, b);
      return;
    case SINTER_INIT_NORMAL:
      if (!(b >= 0)) throw bad("normal init needs std >= 0");
      fillNormal(seed, stream, data, n, a, b);
      return;
    case SINTER_INIT_GLOROT_UNIFORM: {
      if (n == 0) return;
      const double l = std::sqrt(6.0 / static_cast<double>(fanIn + fanOut));
      fillUniform(seed, stream, data, n, -l, l);
      return;
    }
    case SINTER_INIT_HE_NORMAL:
      if (n == 0) return;
      fillNormal(seed, stream, data, n, 0.0, std::sqrt(2.0 / static_cast<double>(fanIn)));
      return;
    case SINTER_INIT_GLOROT_NORMAL:
      if (n == 0) return;
      fillNormal(seed, stream, data, n, 0.0, std::sqrt(2.0 / static_cast<double>(fanIn + fanOut)));
      return;
    case SINTER_INIT_HE_UNIFORM: {
      if (n == 0) return;
      const double l = std::sqrt(6.0 / static_cast<double>(fanIn));
      fillUniform(seed, stream, data, n, -l, l);
      return;
    }
    case SINTER_INIT_LECUN_UNIFORM: {
      if (n == 0) return;
      const double l = 1.0 / std::sqrt(static_cast<double>(fanIn));
      fillUniform(seed, stream, data, n, -l, l);
      return;
    }
    case SINTER_INIT_DATA:
      if (!given) throw bad("its init kind gives values, but the model holds none for it");
      std::memcpy(data, given, static_cast<size_t>(n) * sizeof(T));
      return;
    default: throw bad("unknown init kind " + std::to_string(t.init));
  }
}

}  // namespace

void initTensor(const sinter_tensor_desc& t, uint64_t seed, uint32_t stream, void* data, const void* given) {
  if (t.dtype == SINTER_F32) return initTyped(t, seed, stream, static_cast<float*>(data), given);
  if (t.dtype == SINTER_F64) return initTyped(t, seed, stream, static_cast<double*>(data), given);
  throw std::invalid_argument("parameter '" + tensorName(t) + "' must be f32 or f64 to be initialized");
}

void initParams(const sinter_model_desc& model, uint64_t seed, void* const* params) {
  for (int32_t i = 0; i < model.num_params; ++i)
    initTensor(model.params[i], seed, static_cast<uint32_t>(i), params[i],
               model.param_init_data ? model.param_init_data[i] : nullptr);
}

}  // namespace sinter::rt
