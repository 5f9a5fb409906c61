#include "wasmquant/analysis.h"

#include <algorithm>
#include <string>

namespace wasmquant {
namespace {

// 64 Ki elements: 256 KiB of float32, which stays in L2 while every
// consumer of the pass reads it.
constexpr size_t kCacheChunk = size_t{1} << 16;

// Calls add(x + start, length, index_base + start) chunk by chunk, so that
// all the consumers that add() feeds read each chunk from cache; a single
// consumer takes x whole. Stops at the first error.
template <typename Add>
Status ShareChunks(size_t consumers, const float* x, size_t n,
                   uint64_t index_base, Add&& add) {
  if (consumers <= 1) return add(x, n, index_base);
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
  const auto add = [&](const float* y, size_t m, uint64_t base) {
    return pass_ < calibration_passes_ ? AddToGroups(y, m, base)
                                       : AddToReports(y, m, base);
  };
  return ShareChunks(
      pass_ < calibration_passes_ ? ActiveGroups() : reports_.size(), x, n,
      index_base, add);
}

size_t AnalysisSet::ActiveGroups() const {
  return static_cast<size_t>(std::count_if(
      groups_.begin(), groups_.end(),
      [&](const Group& g) { return pass_ < g.calibrator->passes(); }));
}

Status AnalysisSet::AddToGroups(const float* x, size_t n, uint64_t index_base) {
  for (Group& g : groups_) {
    if (pass_ >= g.calibrator->passes()) continue;
    Status status = g.calibrator->Add(x, n, index_base);
    if (!status.ok()) return status;
  }
  return Status::Ok();
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
  } else {
    for (ChannelErrorAccumulator& r : reports_) r.Close();
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
