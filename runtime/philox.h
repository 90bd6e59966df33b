// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11): a counter-based
// generator. Each 128-bit counter and 64-bit key give four independent 32-bit words with no state, so
// any element's draw can be computed on its own: the same seed gives the same weights and the same
// shuffle on every machine, in any order and with any number of threads, and a resumed run can compute
// epoch e's shuffle without replaying epochs 0..e-1.
#pragma once

#include <array>
#include <cstdint>

namespace sinter::rt {

using PhiloxBlock = std::array<uint32_t, 4>;

// The ten-round Philox4x32 bijection of `counter` under `key` (the constants of the paper, as in
// Random123, cuRAND and JAX).
inline PhiloxBlock philox(PhiloxBlock ctr, uint64_t key) {
  uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = uint64_t{0xD2511F53} * ctr[0];
    const uint64_t p1 = uint64_t{0xCD9E8D57} * ctr[2];
    ctr = {static_cast<uint32_t>(p1 >> 32) ^ ctr[1] ^ k0, static_cast<uint32_t>(p1),
           static_cast<uint32_t>(p0 >> 32) ^ ctr[3] ^ k1, static_cast<uint32_t>(p0)};
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return ctr;
}

// What the four counter words mean for each use, so that no two uses ever share a counter:
// {index low, index high, stream, purpose}.
enum class RandomPurpose : uint32_t { Init = 0, Shuffle = 1, Split = 2 };

inline PhiloxBlock draw(uint64_t seed, RandomPurpose purpose, uint32_t stream, uint64_t index) {
  return philox(
      {static_cast<uint32_t>(index), static_cast<uint32_t>(index >> 32), stream, static_cast<uint32_t>(purpose)}, seed);
}

// 64 bits from two words.
inline uint64_t join(uint32_t hi, uint32_t lo) { return (uint64_t{hi} << 32) | lo; }

}  // namespace sinter::rt
