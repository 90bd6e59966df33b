// Initial values of a model's parameters, from the init kind of each sinter_tensor_desc.
//
// Determinism: for a given seed the values are the same on every platform, every run and any thread
// count. Values come from the counter-based Philox4x32-10 generator (philox.h): element k of param i uses
// the block of counter {k, stream i, purpose Init} under key `seed`, so no element depends on another and
// zeros/ones/constant consume nothing. The std:: distributions are implementation-defined, so the draws are
// written out:
//   uniform u in [0,1): the top 24 bits of word 0 of the element's block, u = (w0 >> 8) * 2^-24
//   normal: elements 2j and 2j+1 come from block j by Box-Muller in double, u1 = 1 - (w0:w1 >> 11) * 2^-53
//           in (0,1], u2 = (w2:w3 >> 11) * 2^-53 in [0,1): r*cos(2*pi*u2), r*sin(2*pi*u2), r = sqrt(-2 ln u1)
// Values are computed in double and rounded to the param's dtype once (bit-identical wherever libm's log,
// sin and cos round the same, e.g. any glibc); an f64 param gets the double itself.
#pragma once

#include <sinter/model_abi.h>

#include <cstdint>

namespace sinter::rt {

// Number of elements of a tensor whose dims are all fixed. Throws std::invalid_argument for a symbolic
// dimension or an overflowing product.
int64_t fixedElementCount(const sinter_tensor_desc& t);

// fan_in and fan_out as the glorot/he/lecun kinds use them. Weights are laid out [in, out] (rank 2:
// fan_in = dims[0], fan_out = dims[1]); rank 4 is a conv2d filter [out, in, kh, kw] (fan_in = in*kh*kw,
// fan_out = out*kh*kw, as torch.nn.Conv2d); rank 3 and above 4: the leading dims are a receptive field
// multiplying both; rank 1: fan_in = fan_out = dims[0]; rank 0: 1.
void computeFans(const sinter_tensor_desc& t, int64_t& fanIn, int64_t& fanOut);

// Fills data (fixedElementCount(t) elements of t.dtype, f32 or f64) per t.init, drawing from Philox stream
// `stream` of `seed`; SINTER_INIT_DATA copies `given` (as many elements, in t's dtype). Throws
// std::invalid_argument for an unknown init kind or dtype, invalid parameters (uniform with b < a, normal with
// std < 0), or SINTER_INIT_DATA without `given`.
void initTensor(const sinter_tensor_desc& t, uint64_t seed, uint32_t stream, void* data, const void* given = nullptr);

// Initializes every param of the model (params[i] holds param i's elements); param i uses stream i, or copies
// model.param_init_data[i] (SINTER_INIT_DATA).
void initParams(const sinter_model_desc& model, uint64_t seed, void* const* params);

}  // namespace sinter::rt
