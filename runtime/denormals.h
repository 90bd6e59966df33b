// The floating-point mode the drivers and the C API run models in (training, `sinter run` and an embedding
// program alike, so that all compute a test set's metrics to the same bits).
#pragma once

#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

namespace sinter::rt {

// Flush-to-zero and denormals-are-zero while a driver or a C API call runs the model: denormal arithmetic is up to
// 100x slower on x86 and never matters for training. The previous MXCSR comes back on every exit path,
// which matters when the JIT runs the driver inside a host process.
class DenormalGuard {
 public:
  explicit DenormalGuard(bool enable) {
#if defined(__x86_64__)
    saved_ = _mm_getcsr();
    if (enable) _mm_setcsr(saved_ | 0x8040u);  // FTZ (bit 15) | DAZ (bit 6)
#endif
  }
  ~DenormalGuard() {
#if defined(__x86_64__)
    _mm_setcsr(saved_);
#endif
  }
  DenormalGuard(const DenormalGuard&) = delete;
  DenormalGuard& operator=(const DenormalGuard&) = delete;

 private:
  unsigned saved_ = 0;
};

}  // namespace sinter::rt
