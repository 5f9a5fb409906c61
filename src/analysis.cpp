#include "wasmquant/analysis.h"

#include <algorithm>
#include <string>

namespace wasmquant {
namespace {

// 64 Ki elements: 256 KiB of float32, which stays in L2 while every
// consumer of the pass reads it.
constexpr size_t kCacheChunk = size_t{1} << 16;

// Calls add(x + start, length, index_base + start) chunk by chunk; stops at
// the first error.
template <typename Add>
Status ForEachCacheChunk(const float* x, size_t n, uint64_t index_base,
                         Add&& add) {
  for (size_t start = 0; start < n; start += kCacheChunk) {
    const size_t length = std::min(kCacheChunk, n - start);
    Status status = add(x + start, length, index_base + start);
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

}  // namespace

AnalysisSet::AnalysisSet(const KernelTable& kernels,
                         const std::vector<AnalysisOptions>& analyses)
    : kernels_(kernels), analyses_(analyses), encodings_(analyses.size()) {
  for (size_t i = 0; i < analyses_.size(); ++i) {
    const AnalysisOptions& a = analyses_[i];
    if (!a.encodings.empty()) {
      encodings_[i] = a.encodings;
      continue;
    }
    auto shared = std::find_if(groups_.begin(), groups_.end(), [&](auto& g) {
      return Calibrator::SharePasses(analyses_[g.members[0]].calibration,
                                     a.calibration);
    });
    if (shared == groups_.end()) {
      groups_.push_back(
          {std::make_unique<Calibrator>(kernels_, a.calibration), {}});
      shared = groups_.end() - 1;
      calibration_passes_ =
          std::max(calibration_passes_, shared->calibrator->passes());
    }
    shared->members.push_back(i);
  }
  if (calibration_passes_ == 0) StartReports();
}

Status AnalysisSet::Add(const float* x, size_t n, uint64_t index_base) {
  if (pass_ >= passes()) {
    return Status::Error("analysis: data added after the last of " +
                         std::to_string(passes()) + " passes");
  }
  if (pass_ < calibration_passes_) return AddToGroups(x, n, index_base);
  // Each report reads a chunk twice (checks it, then measures it).
  return ForEachCacheChunk(x, n, index_base,
                           [&](auto* y, size_t m, uint64_t base) {
                             return AddToReports(y, m, base);
                           });
}

Status AnalysisSet::AddToGroups(const float* x, size_t n, uint64_t index_base) {
  auto add_all = [&](const float* y, size_t m, uint64_t base) {
    for (Group& g : groups_) {
      if (pass_ >= g.calibrator->passes()) continue;
      Status status = g.calibrator->Add(y, m, base);
      if (!status.ok()) return status;
    }
    return Status::Ok();
  };
  if (groups_.size() == 1) return add_all(x, n, index_base);
  return ForEachCacheChunk(x, n, index_base, add_all);
}

Status AnalysisSet::AddToReports(const float* x, size_t n,
                                 uint64_t index_base) {
  for (ChannelErrorAccumulator& r : reports_) {
    Status status = r.Add(x, n, index_base);
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

Status AnalysisSet::EndPass() {
  if (pass_ >= passes()) {
    return Status::Error("analysis: a pass ended after the last of " +
                         std::to_string(passes()) + " passes");
  }
  if (pass_ < calibration_passes_) {
    for (const Group& g : groups_) {
      if (pass_ >= g.calibrator->passes()) continue;
      Status status = g.calibrator->EndPass();
      if (status.ok() && pass_ + 1 == g.calibrator->passes()) {
        status = FinishGroup(g);
      }
      if (!status.ok()) return status;
    }
    if (pass_ + 1 == calibration_passes_) StartReports();
  }
  ++pass_;
  return Status::Ok();
}

Status AnalysisSet::FinishGroup(const Group& group) {
  for (size_t i : group.members) {
    Status status = group.calibrator->Finish(analyses_[i].calibration.encoding,
                                             &encodings_[i]);
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

void AnalysisSet::StartReports() {
  reports_.reserve(analyses_.size());
  for (size_t i = 0; i < analyses_.size(); ++i) {
    const AnalysisOptions& a = analyses_[i];
    reports_.emplace_back(kernels_, a.calibration.layout, encodings_[i],
                          a.rounding, a.calibration.non_finite);
  }
}

Report AnalysisSet::Total(size_t i) const { return reports_[i].Total(); }

Report AnalysisSet::Channel(size_t i, size_t channel) const {
  return reports_[i].Channel(channel);
}

}  // namespace wasmquant
