// The random keep-or-drop decision of dropout, shared by the interpreter and generated code so that both
// draw the same mask: a counter-based hash (SplitMix64's finalizer) of the step's seed, the dropout
// node's salt and the element's index. Nothing is stored between the forward and backward pass: the
// backward pass recomputes the same mask.
#pragma once

#include <cstdint>

namespace sinter::ir {

inline constexpr std::uint64_t kDropoutSeedMul = 0x9E3779B97F4A7C15ull;
inline constexpr std::uint64_t kDropoutSaltMul = 0xC2B2AE3D27D4EB4Full;
inline constexpr std::uint64_t kMix1 = 0xBF58476D1CE4E5B9ull;
inline constexpr std::uint64_t kMix2 = 0x94D049BB133111EBull;

// A uniform draw of 24 bits: an integer in [0, 2^24).
inline std::uint64_t dropoutDraw(std::uint64_t seed, std::int64_t salt, std::int64_t index) {
  std::uint64_t h = (seed * kDropoutSeedMul) ^ (static_cast<std::uint64_t>(salt) * kDropoutSaltMul) ^
                    static_cast<std::uint64_t>(index);
  h ^= h >> 30;
  h *= kMix1;
  h ^= h >> 27;
  h *= kMix2;
  h ^= h >> 31;
  return h >> 40;
}

// An element is kept when its draw is at least this: the probability of dropping is p to 2^-24. An
// integer comparison, so that f32 code and the f64 interpreter decide alike.
inline std::uint64_t dropoutThreshold(double p) {
  const double t = p * 16777216.0;
  const auto floor = static_cast<std::uint64_t>(t);
  return static_cast<double>(floor) == t ? floor : floor + 1;
}

// The factor an element is multiplied by: 0 when dropped, 1 / (1 - p) when kept.
inline double dropoutScale(std::uint64_t seed, std::int64_t salt, std::int64_t index, double p) {
  return dropoutDraw(seed, salt, index) >= dropoutThreshold(p) ? 1.0 / (1.0 - p) : 0.0;
}

}  // namespace sinter::ir
