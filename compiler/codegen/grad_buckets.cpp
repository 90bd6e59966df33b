#include "compiler/codegen/grad_buckets.h"

#include <fmt/format.h>
#include <algorithm>
#include <numeric>
#include <stdexcept>

namespace sinter::codegen {

namespace {

// Per result of g: the kernel after which its buffer holds its value and the step no longer reads it (the
// runtime sums a bucket in place, in flight during the rest of the step). A result computes straight into its
// buffer in the kernel of its node, unless the buffer is filled by the copies at the end of the entry point
// (lower::planBuffers: an argument's value, or a node that an earlier result already names); a later kernel
// that reads the node holds it back until then.
std::vector<std::size_t> readyAfter(const ir::Graph& g, const KernelProgram& p) {
  std::vector<std::size_t> kernelOf(g.nodes.size(), p.kernels.size());
  for (std::size_t k = 0; k < p.kernels.size(); ++k)
    for (ir::NodeId id : p.kernels[k].nodes) kernelOf[static_cast<std::size_t>(id)] = k;
  std::vector<std::size_t> lastUse = kernelOf;
  for (std::size_t k = 0; k < p.kernels.size(); ++k)
    for (ir::NodeId id : p.kernels[k].nodes)
      for (ir::NodeId operand : g.node(id).operands)
        lastUse[static_cast<std::size_t>(operand)] = std::max(lastUse[static_cast<std::size_t>(operand)], k);
  std::vector<std::size_t> out;
  std::vector<bool> named(g.nodes.size(), false);
  for (const ir::Result& r : g.results) {
    const ir::Node& n = g.node(r.node);
    const bool copied = named[static_cast<std::size_t>(r.node)] || n.op == ir::Op::Input || n.op == ir::Op::Param;
    named[static_cast<std::size_t>(r.node)] = true;
    out.push_back(copied ? p.kernels.size() : lastUse[static_cast<std::size_t>(r.node)]);
  }
  return out;
}

}  // namespace

GradBuckets planGradBuckets(const ir::Graph& g, const KernelProgram& p, std::int64_t targetBytes) {
  if (targetBytes <= 0) throw std::invalid_argument(fmt::format("gradient bucket size {} must be > 0", targetBytes));
  const std::vector<std::size_t> ready = readyAfter(g, p);
  struct Grad {
    int index;  // among the gradients: the trained param's index
    std::size_t ready;
    std::int64_t bytes;
  };
  std::vector<Grad> grads;
  for (std::size_t i = 0; i < g.results.size(); ++i) {
    const ir::Result& r = g.results[i];
    if (r.kind != ir::Result::Grad) continue;
    const ir::TensorType& t = g.node(r.node).type;
    const std::optional<std::int64_t> n = ir::staticNumElements(t.shape);
    if (!n) throw std::logic_error(fmt::format("gradient {} has a symbolic shape {}", r.name, t.str()));
    grads.push_back({static_cast<int>(grads.size()), ready[i], *n * static_cast<std::int64_t>(ir::dtypeSize(t.dtype))});
  }
  GradBuckets out;
  out.targetBytes = targetBytes;
  out.bucketOf.assign(grads.size(), -1);
  std::stable_sort(grads.begin(), grads.end(), [](const Grad& a, const Grad& b) {
    return a.ready != b.ready ? a.ready < b.ready : a.index > b.index;
  });
  // The gradients one kernel finishes (a weight's and its bias's) are ready at the same moment: they go in
  // the same bucket, which the first of them would otherwise hold back until the kernel of the next one.
  for (std::size_t first = 0; first < grads.size();) {
    std::size_t end = first;
    std::int64_t bytes = 0;
    for (; end < grads.size() && grads[end].ready == grads[first].ready; ++end) bytes += grads[end].bytes;
    if (out.buckets.empty() || out.buckets.back().bytes + bytes > targetBytes) out.buckets.emplace_back();
    GradBucket& b = out.buckets.back();
    for (std::size_t i = first; i < end; ++i) {
      b.grads.push_back(grads[i].index);
      out.bucketOf[static_cast<std::size_t>(grads[i].index)] = static_cast<int>(out.buckets.size() - 1);
    }
    b.bytes += bytes;
    b.readyAfter = grads[first].ready;  // sorted: the last kernel of the bucket's gradients
    first = end;
  }
  return out;
}

std::string describeBucket(const ir::Graph& g, const GradBuckets& b, std::size_t index) {
  const std::vector<ir::NodeId> trained = g.trainedParams();
  const GradBucket& bucket = b.buckets[index];
  std::string names;
  for (int i : bucket.grads)
    names += fmt::format("{}{}", names.empty() ? "" : ", ", g.node(trained[static_cast<std::size_t>(i)]).name);
  const std::string size = bucket.bytes >= 10 * 1024 ? fmt::format("{} KB", (bucket.bytes + 512) / 1024)
                                                     : fmt::format("{} bytes", bucket.bytes);
  return fmt::format("bucket {} ready: {} ({}) -> all-reduce starts", index, names, size);
}

}  // namespace sinter::codegen
