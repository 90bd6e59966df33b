// Initial values of a model's parameters, from the init kind of each sinter_tensor_desc.
//
// Determinism: for a given seed the values are the same on every platform and every run. One
// std::mt19937_64 (whose output sequence the C++ standard fixes) seeded with `seed` fills the params in
// ABI order, element by element; zeros/ones/constant consume no draws. The std:: distributions are
// implementation-defined, so they are not used:
//   uniform u in [0,1): the top 24 bits of one 64-bit draw, u = (x >> 40) * 2^-24
//   normal: Box-Muller in double from two draws u1 in (0,1], u2 in [0,1) (53 bits each); a pair of
//           draws gives two consecutive values r*cos(2*pi*u2), r*sin(2*pi*u2), r = sqrt(-2 ln u1)
// Values are computed in double and rounded to float once (bit-identical wherever libm's log, sin and
// cos round the same, e.g. any glibc).
#pragma once

#include <sinter/model_abi.h>

#include <cstdint>
#include <random>

namespace sinter::rt {

// Number of elements of a tensor whose dims are all fixed. Throws std::invalid_argument for a symbolic
// dimension or an overflowing product.
int64_t fixedElementCount(const sinter_tensor_desc& t);

// fan_in and fan_out as the glorot/he/lecun kinds use them. Weights are laid out [in, out] (rank 2:
// fan_in = dims[0], fan_out = dims[1]); for rank > 2 the leading dims are a receptive field multiplying
// both ([kh, kw, in, out]: fan_in = kh*kw*in); rank 1: fan_in = fan_out = dims[0]; rank 0: 1.
void computeFans(const sinter_tensor_desc& t, int64_t& fanIn, int64_t& fanOut);

// Fills data (fixedElementCount(t) floats) per t.init, drawing from rng. Throws std::invalid_argument
// for an unknown init kind or invalid parameters (uniform with b < a, normal with std < 0).
void initTensor(const sinter_tensor_desc& t, std::mt19937_64& rng, float* data);

// Initializes every param of the model (params[i] holds param i's elements) from one engine seeded
// with `seed`, in ABI order.
void initParams(const sinter_model_desc& model, uint64_t seed, float* const* params);

}  // namespace sinter::rt
