#include "runtime/distributed_step.h"

#include "runtime/metrics.h"
#include "runtime/rank_share.h"
#include "runtime/splits.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>

namespace sinter::rt {
namespace {

// The seed of the random ops (dropout) of the piece of a batch that starts at sample `offset`: the step's
// own for the first piece, so that one process draws what it always drew, and a different one for each
// other piece, which would otherwise repeat the first piece's masks.
double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

int64_t pieceSeed(uint64_t stepSeed, int64_t offset) {
  return static_cast<int64_t>(stepSeed + static_cast<uint64_t>(offset) * 0xD1B54A32D192ED03ull);
}

// out = slot 0 + slot 1 + ... + slot k-1, left to right: the fixed order of --deterministic-reduce.
template <class T>
void sumInOrder(const std::byte* slots, int64_t k, int64_t n, std::byte* out) {
  const auto* s = reinterpret_cast<const T*>(slots);
  auto* o = reinterpret_cast<T*>(out);
  std::copy_n(s, n, o);
  for (int64_t j = 1; j < k; ++j)
    for (int64_t i = 0; i < n; ++i) o[i] += s[j * n + i];
}

}  // namespace

DistributedStep::DistributedStep(const sinter_model_desc& m, const Layout& l, Buffers& b, Communicator& comm,
                                 int64_t reduceChunk)
    : m_(m), l_(l), b_(b), comm_(comm), chunk_(reduceChunk) {
  for (int64_t n : l.trainedSizes) elements_ += n;
  elementBytes_ = l.dtype == SINTER_F64 ? sizeof(double) : sizeof(float);
  if (!comm.single() && chunk_ == 0 && GradBuckets::available(m)) buckets_ = std::make_unique<GradBuckets>(m, l, b, comm);
}

int64_t DistributedStep::localBatch(int64_t globalBatch, int ranks, int64_t reduceChunk) {
  if (reduceChunk > 0) return std::min(globalBatch, reduceChunk);
  return (globalBatch + ranks - 1) / ranks;
}

StepFigures DistributedStep::run(const GlobalBatch& g, bool countCorrect) {
  return chunk_ > 0 ? chunked(g, countCorrect) : allReduce(g, countCorrect);
}

double DistributedStep::compute(const GlobalBatch& g, int64_t first, int64_t count, bool countCorrect,
                                int64_t& correct) {
  feedBatch(*g.set, *g.norm, g.order, g.first + first, count, l_, b_);
  const std::array<int64_t, 2> syms = {count, pieceSeed(g.seed, first)};
  m_.train_step(b_.trainArgs.data(), syms.data());
  if (countCorrect) {
    const std::array<int64_t, 2> evalSyms = {count, 0};
    m_.forward(b_.forwardArgs.data(), evalSyms.data());  // the params are those the loss was computed with
    correct += correctPredictions(m_, l_.accuracy(), b_.forwardArgs.data(), count);
  }
  return b_.lossValue();
}

// Each process runs its share at once; the all-reduce sums the shares' gradients, each weighted by its part
// of the batch (the loss is a mean over the samples: the batch's mean gradient is the weighted sum).
StepFigures DistributedStep::allReduce(const GlobalBatch& g, bool countCorrect) {
  const Share share = rankShare(g.count, comm_.rank(), comm_.size());
  StepFigures f;
  f.localBatch = share.count;
  if (comm_.single()) {
    f.loss = compute(g, share.offset, share.count, countCorrect, f.correct);
    return f;
  }
  const double loss = buckets_ ? bucketedShare(g, share, countCorrect, f.correct)
                               : blockingShare(g, share, countCorrect, f.correct);
  std::array<double, 2> sums = {loss * static_cast<double>(share.count), static_cast<double>(f.correct)};
  const double start = now();
  comm_.allreduceSum(sums.data(), 2);
  commSeconds_ += now() - start;
  f.loss = sums[0] / static_cast<double>(g.count);
  f.correct = static_cast<int64_t>(sums[1]);
  return f;
}

// The share's train_step starts each bucket's sum as soon as it has produced the bucket (the hook calls
// GradBuckets::start); the forward pass that counts correct predictions runs while the sums travel too.
double DistributedStep::bucketedShare(const GlobalBatch& g, const Share& share, bool countCorrect, int64_t& correct) {
  double loss = 0;
  buckets_->begin(static_cast<double>(share.count) / static_cast<double>(g.count));
  try {
    if (share.count > 0) loss = compute(g, share.offset, share.count, countCorrect, correct);
    else zeroGradients();
  } catch (...) {
    buckets_->abandon();
    throw;
  }
  const double blocked = buckets_->blockedSeconds();
  buckets_->finish();
  commSeconds_ += buckets_->blockedSeconds() - blocked;
  return loss;
}

// All gradients in one flat buffer, summed with one blocking all-reduce after the step: for a model without
// buckets.
double DistributedStep::blockingShare(const GlobalBatch& g, const Share& share, bool countCorrect, int64_t& correct) {
  double loss = 0;
  if (share.count > 0) loss = compute(g, share.offset, share.count, countCorrect, correct);
  else zeroGradients();
  flat_.resize(static_cast<size_t>(elements_) * elementBytes_);
  pack(static_cast<double>(share.count) / static_cast<double>(g.count), flat_.data());
  const double start = now();
  if (l_.dtype == SINTER_F64) comm_.allreduceSum(reinterpret_cast<double*>(flat_.data()), elements_);
  else comm_.allreduceSum(reinterpret_cast<float*>(flat_.data()), elements_);
  commSeconds_ += now() - start;
  unpack(flat_.data());
  return loss;
}

// A process without samples in this (last, partial) batch contributes zeros.
void DistributedStep::zeroGradients() {
  for (size_t i = 0; i < b_.gradPtrs.size(); ++i)
    std::memset(b_.gradPtrs[i], 0, static_cast<size_t>(l_.trainedSizes[i]) * elementBytes_);
}

// The global batch in chunks of chunk_ samples, whatever the number of processes: each process computes the
// gradients of its chunks, every process gathers all of them and sums them in chunk order.
StepFigures DistributedStep::chunked(const GlobalBatch& g, bool countCorrect) {
  const int64_t chunks = (g.count + chunk_ - 1) / chunk_;
  const Share mine = rankShare(chunks, comm_.rank(), comm_.size());
  const size_t slot = static_cast<size_t>(elements_) * elementBytes_;
  flat_.resize(slot * static_cast<size_t>(std::max<int64_t>(mine.count, 1)));
  std::vector<double> scalars(static_cast<size_t>(2 * chunks), 0.0);
  StepFigures f;
  for (int64_t j = 0; j < mine.count; ++j) {
    const int64_t k = mine.offset + j, first = k * chunk_, count = std::min(chunk_, g.count - first);
    int64_t correct = 0;
    const double loss = compute(g, first, count, countCorrect, correct);
    pack(static_cast<double>(count) / static_cast<double>(g.count), flat_.data() + static_cast<size_t>(j) * slot);
    scalars[static_cast<size_t>(2 * j)] = loss * static_cast<double>(count);
    scalars[static_cast<size_t>(2 * j + 1)] = static_cast<double>(correct);
    f.localBatch = count;
  }
  gathered_.resize(slot * static_cast<size_t>(chunks));
  std::vector<double> allScalars(scalars.size());
  std::vector<int64_t> bytes(static_cast<size_t>(comm_.size())), scalarBytes(bytes.size());
  for (int r = 0; r < comm_.size(); ++r) {
    const int64_t n = rankShare(chunks, r, comm_.size()).count;
    bytes[static_cast<size_t>(r)] = n * static_cast<int64_t>(slot);
    scalarBytes[static_cast<size_t>(r)] = n * 2 * static_cast<int64_t>(sizeof(double));
  }
  const double start = now();
  comm_.allgather(flat_.data(), bytes.data(), gathered_.data());
  comm_.allgather(scalars.data(), scalarBytes.data(), allScalars.data());
  commSeconds_ += now() - start;
  std::vector<std::byte> sum(slot);
  if (l_.dtype == SINTER_F64) sumInOrder<double>(gathered_.data(), chunks, elements_, sum.data());
  else sumInOrder<float>(gathered_.data(), chunks, elements_, sum.data());
  unpack(sum.data());
  double lossSum = 0, correct = 0;
  for (int64_t k = 0; k < chunks; ++k) {
    lossSum += allScalars[static_cast<size_t>(2 * k)];
    correct += allScalars[static_cast<size_t>(2 * k + 1)];
  }
  f.loss = lossSum / static_cast<double>(g.count);
  f.correct = static_cast<int64_t>(correct);
  return f;
}

void DistributedStep::pack(double scale, void* flat) const {
  auto* out = static_cast<std::byte*>(flat);
  for (size_t i = 0; i < b_.gradPtrs.size(); ++i) {
    scaledCopy(b_.gradPtrs[i], l_.trainedSizes[i], l_.dtype, scale, out);
    out += static_cast<size_t>(l_.trainedSizes[i]) * elementBytes_;
  }
}

void DistributedStep::unpack(const void* flat) const {
  const auto* in = static_cast<const std::byte*>(flat);
  for (size_t i = 0; i < b_.gradPtrs.size(); ++i) {
    const size_t bytes = static_cast<size_t>(l_.trainedSizes[i]) * elementBytes_;
    std::memcpy(b_.gradPtrs[i], in, bytes);
    in += bytes;
  }
}

}  // namespace sinter::rt
