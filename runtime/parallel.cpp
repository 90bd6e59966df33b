#include "runtime/parallel.h"

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

// Workers 1..n-1 (the caller is thread 0). A job is published by bumping `generation_`; every worker,
// with a chunk or not, acknowledges it by decrementing `pending_`, so the next job never overwrites one
// that a late worker is still reading.
class Pool {
public:
  explicit Pool(int threads) {
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { work(i); });
  }
  ~Pool() {
    stop_.store(true, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    for (std::thread& t : workers_) t.join();
  }
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  void run(sinter_parallel_body body, void* env, int64_t count) {
    job_ = Job{body, env, count, static_cast<int>(std::min<int64_t>(size(), count)), fpControl()};
    pending_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    runChunk(0);
    for (int left = pending_.load(std::memory_order_acquire); left != 0; left = pending_.load(std::memory_order_acquire))
      awaitChange(pending_, left);
  }

private:
  struct Job {
    sinter_parallel_body body = nullptr;
    void* env = nullptr;
    int64_t count = 0;
    int parts = 0;
    unsigned fp = 0;
  };

  // Chunk i of `parts`: [count i / parts, count (i+1) / parts), so the chunks differ by at most one.
  void runChunk(int i) {
    if (i >= job_.parts) return;
    const int64_t begin = job_.count * i / job_.parts, end = job_.count * (i + 1) / job_.parts;
    job_.body(job_.env, begin, end);
  }

  void work(int index) {
    uint64_t seen = 0;
    for (;;) {
      seen = awaitChange(generation_, seen);
      if (stop_.load(std::memory_order_relaxed)) return;
      setFpControl(job_.fp);
      runChunk(index);
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) pending_.notify_one();
    }
  }

  std::vector<std::thread> workers_;
  Job job_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
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

void installParallelFor(const sinter_model_desc& model) {
  if (model.parallel_for) *model.parallel_for = poolParallelFor;
}

}  // namespace sinter::rt
