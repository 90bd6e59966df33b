#include "runtime/grad_buckets.h"

#include "runtime/error.h"

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

namespace sinter::rt {
namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// The parallel loops of the step in flight, wrapped: Open MPI moves a non-blocking sum on only inside MPI
// calls, so between buckets the kernels' parallel loops (called on the step's thread, before they split)
// give it a chance, once a bucket's sum has started. The model's hook carries no context: one step at a
// time, on one thread (the training driver's).
Communicator* gProgress = nullptr;
sinter_parallel_for_fn gInner = nullptr;
std::thread::id gStepThread;

void progressingParallelFor(sinter_parallel_body body, void* env, int64_t count, int64_t work) {
  if (gProgress && std::this_thread::get_id() == gStepThread) gProgress->progress();
  if (gInner) gInner(body, env, count, work);
  else body(env, 0, count);
}

}  // namespace

void scaledCopy(const void* grad, int64_t n, int32_t dtype, double scale, void* out) {
  const auto count = static_cast<size_t>(n);
  if (dtype == SINTER_F64) {
    const auto* g = static_cast<const double*>(grad);
    auto* o = static_cast<double*>(out);
    for (size_t j = 0; j < count; ++j) o[j] = g[j] * scale;
  } else {
    const auto* g = static_cast<const float*>(grad);
    auto* o = static_cast<float*>(out);
    const auto s = static_cast<float>(scale);
    for (size_t j = 0; j < count; ++j) o[j] = g[j] * s;
  }
}

bool GradBuckets::available(const sinter_model_desc& m) {
  return m.num_grad_buckets > 0 && m.grad_bucket && m.bucket_hook;
}

GradBuckets::GradBuckets(const sinter_model_desc& m, const Layout& l, Buffers& b, Communicator& comm)
    : m_(m),
      b_(b),
      comm_(comm),
      dtype_(l.dtype),
      elementBytes_(l.dtype == SINTER_F64 ? sizeof(double) : sizeof(float)),
      members_(static_cast<size_t>(m.num_grad_buckets)),
      trainedSizes_(l.trainedSizes) {
  for (size_t i = 0; i < l.trainedSizes.size(); ++i) {
    const int32_t k = m.grad_bucket[i];
    if (k < 0 || k >= m.num_grad_buckets)
      throw Error(std::string(m.name) + ": gradient " + std::to_string(i) + " is in bucket " + std::to_string(k) +
                  " of " + std::to_string(m.num_grad_buckets) + "; rebuild the model with this version of sinter");
    members_[static_cast<size_t>(k)].push_back(i);
  }
  // Each gradient starts on a cache line; a bucket's slice runs from its first gradient's start to its last
  // one's end, the (zero) padding between them included.
  const auto line = static_cast<int64_t>(kLine / elementBytes_);
  std::vector<int64_t> gradOffset(l.trainedSizes.size());
  int64_t at = 0;
  for (const std::vector<size_t>& bucket : members_) {
    at = (at + line - 1) / line * line;
    offsets_.push_back(at);
    for (size_t i : bucket) {
      at = (at + line - 1) / line * line;
      gradOffset[i] = at;
      at += l.trainedSizes[i];
    }
    sizes_.push_back(at - offsets_.back());
  }
  flat_.assign(static_cast<size_t>(at) * elementBytes_ + kLine, std::byte{0});
  base_ = flat_.data() + (kLine - reinterpret_cast<uintptr_t>(flat_.data()) % kLine) % kLine;
  // The train step writes its gradients straight into the flat buffer: the sums run in place, with no copy in
  // or out (for the MLP, 0.9 MB twice a step).
  for (size_t i = 0; i < l.trainedSizes.size(); ++i) {
    void* own = base_ + static_cast<size_t>(gradOffset[i]) * elementBytes_;
    original_.push_back(b_.gradPtrs[i]);
    repoint(b_.gradPtrs[i], own);
  }
  started_.assign(members_.size(), false);
}

GradBuckets::~GradBuckets() {
  for (size_t i = 0; i < original_.size(); ++i) repoint(b_.gradPtrs[i], original_[i]);
}

// The gradient buffer `from` becomes `to` for the train step's arguments and for every reader of b.gradPtrs.
void GradBuckets::repoint(void* from, void* to) {
  for (void*& arg : b_.trainArgs)
    if (arg == from) arg = to;
  for (void*& g : b_.gradPtrs)
    if (g == from) g = to;
}

void GradBuckets::onReady(void* self, int32_t bucket) { static_cast<GradBuckets*>(self)->start(bucket); }

void GradBuckets::begin(double scale) {
  scale_ = scale;
  started_.assign(members_.size(), false);
  firstStart_ = -1;
  blockedInStep_ = 0;
  *m_.bucket_hook = {&GradBuckets::onReady, this};
  if (m_.parallel_for && *m_.parallel_for != progressingParallelFor) {
    gInner = *m_.parallel_for;
    *m_.parallel_for = progressingParallelFor;
  }
  gProgress = nullptr;  // until the first bucket starts
  gStepThread = std::this_thread::get_id();
  installed_ = true;
}

void GradBuckets::uninstall() {
  *m_.bucket_hook = {nullptr, nullptr};
  if (m_.parallel_for && *m_.parallel_for == progressingParallelFor) *m_.parallel_for = gInner;
  gProgress = nullptr;
  installed_ = false;
}

// The bucket's gradients, times the share (as DistributedStep::pack), into its slice; then its sum starts,
// and the sums started before get a chance to progress (MPI moves a non-blocking collective on only inside
// MPI calls, unless it has a progress thread). The last bucket (a lone one included) is summed at once, with
// the blocking all-reduce: nothing of the step is left to overlap it, and MPI's blocking algorithms are its
// tuned ones (Open MPI's non-blocking ones, libnbc, are slower for the same bytes). Every process starts the
// buckets in the same order (the step's, or index order in finish()), so the last one is the last everywhere
// and the blocking call matches the blocking call of the others, as MPI requires.
void GradBuckets::start(int32_t bucket) {
  const auto k = static_cast<size_t>(bucket);
  if (k >= started_.size() || started_[k]) return;  // a model's step calls each bucket once; be safe
  started_[k] = true;
  for (size_t i : members_[k]) scaledCopy(b_.gradPtrs[i], trainedSizes_[i], dtype_, scale_, b_.gradPtrs[i]);
  const double t = now();
  if (firstStart_ < 0) firstStart_ = t;
  if (installed_) gProgress = &comm_;
  std::byte* slice = base_ + static_cast<size_t>(offsets_[k]) * elementBytes_;
  if (k + 1 == started_.size()) {
    if (dtype_ == SINTER_F64) comm_.allreduceSum(reinterpret_cast<double*>(slice), sizes_[k]);
    else comm_.allreduceSum(reinterpret_cast<float*>(slice), sizes_[k]);
  } else {
    if (dtype_ == SINTER_F64) comm_.startAllreduceSum(reinterpret_cast<double*>(slice), sizes_[k]);
    else comm_.startAllreduceSum(reinterpret_cast<float*>(slice), sizes_[k]);
    comm_.progress();
  }
  blockedInStep_ += now() - t;
}

void GradBuckets::finish() {
  uninstall();
  for (size_t k = 0; k < started_.size(); ++k)
    if (!started_[k]) start(static_cast<int32_t>(k));
  const double t = now();
  comm_.waitAll();
  const double end = now();
  blockedInStep_ += end - t;
  blocked_ += blockedInStep_;
  if (firstStart_ >= 0 && end - firstStart_ > blockedInStep_) overlap_ += end - firstStart_ - blockedInStep_;
}

void GradBuckets::abandon() {
  if (installed_) uninstall();
}

}  // namespace sinter::rt
