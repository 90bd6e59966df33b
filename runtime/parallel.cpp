#include "runtime/parallel.h"

#include <array>
#include <cstdlib>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace sinter::rt {
namespace {

// Below this many multiply-adds a loop runs on the calling thread: waking a worker costs a few
// microseconds, the time of about this much work.
constexpr int64_t kMinParallelWork = int64_t{1} << 17;
// Busy-wait rounds before sleeping on a futex: kernels of one step follow each other within
// microseconds, and a sleeping worker takes longer than that to wake.
constexpr int kSpinRounds = 4000;

void cpuRelax() {
#if defined(__x86_64__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Flush-to-zero and rounding are per-thread state; workers take the caller's so that a chunk rounds the
// same on whichever thread runs it.
unsigned fpControl() {
#if defined(__x86_64__)
  return _mm_getcsr();
#else
  return 0;
#endif
}
void setFpControl([[maybe_unused]] unsigned state) {
#if defined(__x86_64__)
  _mm_setcsr(state);
#endif
}

// Waits until `value` differs from `old`: spins a little, then sleeps.
template <class T>
T awaitChange(const std::atomic<T>& value, T old) {
  for (int spin = 0; spin < kSpinRounds; ++spin) {
    T now = value.load(std::memory_order_acquire);
    if (now != old) return now;
    cpuRelax();
  }
  for (;;) {
    value.wait(old, std::memory_order_acquire);
    T now = value.load(std::memory_order_acquire);
    if (now != old) return now;
  }
}

// A job is `parts` chunks that any thread may claim, the caller included: a worker that the OS has not
// scheduled yet holds nothing up, the caller runs its chunk instead (the bits do not change, since the
// chunks are fixed and each is computed whole by whoever claims it). Claims go through one atomic ticket,
// [generation:40][parts:12][next chunk:12], so a worker that wakes late can only claim chunks of the job
// still running, and reads the job's fields only after a successful claim, while the caller waits for it.
class Pool {
 public:
  explicit Pool(int threads) {
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { work(); });
  }
  ~Pool() {
    stop_.store(true, std::memory_order_relaxed);
    ticket_.fetch_add(kGenerationStep, std::memory_order_release);
    ticket_.notify_all();
    for (std::thread& t : workers_) t.join();
  }
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  void run(sinter_parallel_body body, void* env, int64_t count) {
    const int parts = static_cast<int>(std::min<int64_t>(size(), count));
    job_ = Job{body, env, count, parts, fpControl()};
    done_.store(0, std::memory_order_relaxed);
    const uint64_t generation = (ticket_.load(std::memory_order_relaxed) >> kGenerationShift) + 1;
    ticket_.store(generation << kGenerationShift | static_cast<uint64_t>(parts) << kPartsShift,
                  std::memory_order_release);
    ticket_.notify_all();
    claimAll(false);
    for (int d = done_.load(std::memory_order_acquire); d != parts; d = done_.load(std::memory_order_acquire))
      awaitChange(done_, d);
  }

 private:
  static constexpr int kPartsShift = 12, kGenerationShift = 24;
  static constexpr uint64_t kGenerationStep = uint64_t{1} << kGenerationShift, kField = 0xfff;

  struct Job {
    sinter_parallel_body body = nullptr;
    void* env = nullptr;
    int64_t count = 0;
    int parts = 0;
    unsigned fp = 0;
  };

  // Claims and runs chunks of the current job until none is left; returns the ticket that said so.
  // Chunk i of `parts` is [count i / parts, count (i+1) / parts), so the chunks differ by at most one.
  uint64_t claimAll(bool worker) {
    uint64_t t = ticket_.load(std::memory_order_acquire);
    for (;;) {
      const uint64_t parts = t >> kPartsShift & kField, next = t & kField;
      if (next >= parts) return t;
      if (!ticket_.compare_exchange_weak(t, t + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
      if (worker) setFpControl(job_.fp);
      const int64_t i = static_cast<int64_t>(next), n = static_cast<int64_t>(parts);
      job_.body(job_.env, job_.count * i / n, job_.count * (i + 1) / n);
      // `parts` from the ticket: once the last chunk is counted, the caller may publish the next job.
      if (done_.fetch_add(1, std::memory_order_acq_rel) + 1 == static_cast<int>(parts)) done_.notify_one();
      t = ticket_.load(std::memory_order_acquire);
    }
  }

  void work() {
    uint64_t seen = 0;
    for (;;) {
      seen = awaitChange(ticket_, seen);
      if (stop_.load(std::memory_order_relaxed)) return;
      seen = claimAll(true);
      // claimAll's last read may already be the destructor's bumped ticket (it stores stop_ first): no
      // change would follow, so waiting for one would hang the join. CI hit this once in 300 tests.
      if (stop_.load(std::memory_order_acquire)) return;
    }
  }

  std::vector<std::thread> workers_;
  Job job_;
  std::atomic<uint64_t> ticket_{0};
  std::atomic<int> done_{0};
  std::atomic<bool> stop_{false};
};

int defaultThreads() {
  if (const char* env = std::getenv("SINTER_NUM_THREADS")) {
    const int n = std::atoi(env);
    if (n >= 1) return std::min(n, 256);
  }
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

// The pool and its size; a caller that finds the mutex taken (another thread's model is using the pool)
// runs its loop alone rather than wait.
std::mutex gMutex;
int gThreads = 0;  // 0: not chosen yet
std::unique_ptr<Pool> gPool;

void resize(int n) {
  gThreads = n;
  gPool.reset();
  if (n > 1) gPool = std::make_unique<Pool>(n);
}

extern "C" void poolParallelFor(sinter_parallel_body body, void* env, int64_t count, int64_t work) {
  parallelFor(body, env, count, work);
}

}  // namespace

void setThreads(int n) {
  std::lock_guard<std::mutex> lock(gMutex);
  resize(n >= 1 ? std::min(n, 256) : defaultThreads());
}

int threads() {
  std::lock_guard<std::mutex> lock(gMutex);
  if (gThreads == 0) resize(defaultThreads());
  return gThreads;
}

void parallelFor(sinter_parallel_body body, void* env, int64_t count, int64_t work) {
  if (count <= 0) return;
  if (count > 1 && work >= kMinParallelWork) {
    std::unique_lock<std::mutex> lock(gMutex, std::try_to_lock);
    if (lock.owns_lock()) {
      if (gThreads == 0) resize(defaultThreads());
      if (gPool) {
        gPool->run(body, env, count);
        return;
      }
    }
  }
  body(env, 0, count);
}

namespace {
// Each thread's scratch buffers, grown when a kernel asks for more and freed when the thread ends.
struct FreeAligned {
  void operator()(void* p) const { std::free(p); }
};
struct ScratchSlot {
  std::unique_ptr<void, FreeAligned> memory;
  int64_t bytes = 0;
};
thread_local std::array<ScratchSlot, SINTER_SCRATCH_SLOTS> tScratch;

extern "C" void* threadScratch(int32_t slot, int64_t bytes) {
  if (slot < 0 || slot >= SINTER_SCRATCH_SLOTS || bytes < 0) return nullptr;
  ScratchSlot& s = tScratch[static_cast<std::size_t>(slot)];
  if (s.bytes < bytes) {
    const int64_t size = (bytes + 63) / 64 * 64;
    s.memory.reset(std::aligned_alloc(64, static_cast<std::size_t>(size)));
    s.bytes = s.memory ? size : 0;
  }
  return s.memory.get();  // NULL only when out of memory
}
}  // namespace

void installParallelFor(const sinter_model_desc& model) {
  // Written once and then only read: sinter_create may run in one thread while another thread's instance
  // of the same model runs its kernels, which read the hooks on every call.
  static std::mutex installMutex;
  std::lock_guard<std::mutex> lock(installMutex);
  if (model.parallel_for && *model.parallel_for != poolParallelFor) *model.parallel_for = poolParallelFor;
  if (model.scratch && *model.scratch != threadScratch) *model.scratch = threadScratch;
}

}  // namespace sinter::rt
