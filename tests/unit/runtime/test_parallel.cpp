// The runtime's parallel loop: chunks cover the range exactly once, run on several threads with the
// caller's floating-point control state, and small or concurrent loops stay on their calling thread.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "runtime/parallel.h"

using namespace sinter;

namespace {

constexpr std::int64_t kBigWork = std::int64_t{1} << 30;

// What the chunks of one loop did: how often each index ran, on which threads, under which MXCSR.
struct Record {
  std::vector<std::atomic<int>> visits;
  std::mutex m;
  std::set<std::thread::id> threads;
  std::set<unsigned> csr;
  explicit Record(std::int64_t n) : visits(static_cast<std::size_t>(n)) {}
};

void recordChunk(void* env, std::int64_t begin, std::int64_t end) {
  auto* r = static_cast<Record*>(env);
  for (std::int64_t i = begin; i < end; ++i) r->visits[static_cast<std::size_t>(i)]++;
  // Long enough that the workers are awake before the caller finishes its own chunk.
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  std::lock_guard<std::mutex> lock(r->m);
  r->threads.insert(std::this_thread::get_id());
#if defined(__x86_64__)
  r->csr.insert(_mm_getcsr());
#endif
}

void requireEachOnce(const Record& r) {
  for (std::size_t i = 0; i < r.visits.size(); ++i) {
    INFO("index " << i);
    REQUIRE(r.visits[i].load() == 1);
  }
}

}  // namespace

TEST_CASE("parallelFor covers the range once") {
  rt::setThreads(3);
  REQUIRE(rt::threads() == 3);
  for (std::int64_t count : {1, 2, 3, 10, 1001}) {
    INFO("count " << count);
    Record r(count);
    rt::parallelFor(recordChunk, &r, count, kBigWork);
    requireEachOnce(r);
    CHECK(r.threads.size() <= static_cast<std::size_t>(std::min<std::int64_t>(count, 3)));
  }
  rt::setThreads(1);
  Record one(50);
  rt::parallelFor(recordChunk, &one, 50, kBigWork);
  requireEachOnce(one);
  CHECK(one.threads == std::set<std::thread::id>{std::this_thread::get_id()});
}

namespace {
// Every chunk waits (up to 10 s) until all `parties` have started: they can only finish quickly if that
// many threads run them at once.
struct Rendezvous {
  explicit Rendezvous(int n) : parties(n) {}
  int parties;
  std::atomic<int> started{0};
  std::mutex m;
  std::set<std::thread::id> threads;
  std::set<unsigned> csr;
};
void meet(void* env, std::int64_t, std::int64_t) {
  auto* r = static_cast<Rendezvous*>(env);
  r->started++;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (r->started.load() < r->parties && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  std::lock_guard<std::mutex> lock(r->m);
  r->threads.insert(std::this_thread::get_id());
#if defined(__x86_64__)
  r->csr.insert(_mm_getcsr());
#endif
}
}  // namespace

TEST_CASE("the pool's threads run chunks at the same time") {
  rt::setThreads(3);
  Rendezvous r{3};
  const auto t0 = std::chrono::steady_clock::now();
  rt::parallelFor(meet, &r, 3, kBigWork);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
  CHECK(r.threads.size() == 3);
  rt::setThreads(1);
}

TEST_CASE("small loops run on the calling thread") {
  rt::setThreads(2);
  Record r(40);
  rt::parallelFor(recordChunk, &r, 40, 1000);
  requireEachOnce(r);
  CHECK(r.threads == std::set<std::thread::id>{std::this_thread::get_id()});
}

#if defined(__x86_64__)
TEST_CASE("workers run with the caller's flush-to-zero state") {
  rt::setThreads(2);
  const unsigned saved = _mm_getcsr();
  for (unsigned csr : {saved | 0x8040u, saved & ~0x8040u}) {
    _mm_setcsr(csr);
    Rendezvous r{2};
    rt::parallelFor(meet, &r, 2, kBigWork);
    _mm_setcsr(saved);
    CHECK(r.threads.size() == 2);
    CHECK(r.csr == std::set<unsigned>{csr});
  }
}
#endif

TEST_CASE("loops from several threads at once all complete") {
  rt::setThreads(2);
  std::vector<std::unique_ptr<Record>> records;
  for (int i = 0; i < 4; ++i) records.push_back(std::make_unique<Record>(64));
  std::vector<std::thread> callers;
  for (auto& r : records)
    callers.emplace_back([&r] {
      for (int k = 0; k < 5; ++k) {
        for (auto& v : r->visits) v = 0;
        rt::parallelFor(recordChunk, r.get(), 64, kBigWork);
        for (auto& v : r->visits) CHECK(v.load() == 1);
      }
    });
  for (std::thread& t : callers) t.join();
}

TEST_CASE("the thread count defaults to SINTER_NUM_THREADS") {
  ::setenv("SINTER_NUM_THREADS", "5", 1);
  rt::setThreads(0);
  CHECK(rt::threads() == 5);
  ::unsetenv("SINTER_NUM_THREADS");
  rt::setThreads(0);
  CHECK(rt::threads() == static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  rt::setThreads(1);
}
