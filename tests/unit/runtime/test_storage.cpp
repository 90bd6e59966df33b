// The runtime's buffers (runtime/model_layout.h, allocate): zero-filled and aligned to a cache line at every
// size, the large ones included (operator new[] put a large block 16 bytes past a line).
#include <catch2/catch.hpp>

#include "runtime/model_layout.h"

#include <algorithm>
#include <cstdint>
#include <vector>

TEST_CASE("runtime storage is zero-filled and starts on a cache line at every size") {
  using sinter::rt::allocate;
  // 0 and 1 byte, sizes that are not whole lines, and the MLP example's first weight matrix (784 x 256 f32)
  // and larger, which malloc serves from fresh mappings.
  for (std::size_t bytes : {std::size_t{0}, std::size_t{1}, std::size_t{12}, std::size_t{100}, std::size_t{4096},
                            std::size_t{784 * 256 * 4}, std::size_t{3} << 20}) {
    INFO("bytes " << bytes);
    // Several at once: a first allocation of a size may fall on a line by chance.
    std::vector<sinter::rt::Storage> blocks;
    for (int k = 0; k < 4; ++k) blocks.push_back(allocate(bytes));
    for (const auto& b : blocks) {
      REQUIRE(b != nullptr);
      CHECK(reinterpret_cast<std::uintptr_t>(b.get()) % 64 == 0);
      CHECK(std::all_of(b.get(), b.get() + bytes, [](std::byte v) { return v == std::byte{0}; }));
    }
  }
}
