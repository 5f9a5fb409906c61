// Several reports on one tensor at once (analyzeMany): calibrations whose
// passes gather the same data share one Calibrator, and every calibration,
// then every report, takes each chunk while it is in cache, so the data is
// read once per pass whatever the number of reports.
#ifndef WASMQUANT_ANALYSIS_H_
#define WASMQUANT_ANALYSIS_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "wasmquant/calibrator.h"
#include "wasmquant/encoding.h"
#include "wasmquant/kernels.h"
#include "wasmquant/report.h"
#include "wasmquant/status.h"

namespace wasmquant {

struct AnalysisOptions {
  CalibrationOptions calibration;  // its layout and non_finite also report
  Rounding rounding = Rounding::kHalfUp;
  // Given encodings, one per channel, already normalized: nothing to
  // calibrate. Empty: calibrated.
  std::vector<Encoding> encodings;
};

class AnalysisSet {
 public:
  AnalysisSet(const KernelTable& kernels,
              const std::vector<AnalysisOptions>& analyses);

  // The calibration passes of the longest calibration, then the report's.
  int passes() const { return calibration_passes_ + 1; }
  // Feeds x[0, n), the elements from index_base on, to the current pass.
  Status Add(const float* x, size_t n, uint64_t index_base);
  Status EndPass();

  // After the last pass, for analysis i.
  const std::vector<Encoding>& encodings(size_t i) const {
    return encodings_[i];
  }
  Report Total(size_t i) const;
  Report Channel(size_t i, size_t channel) const;

 private:
  // Analyses whose calibrations SharePasses, and the Calibrator they share.
  struct Group {
    std::unique_ptr<Calibrator> calibrator;
    std::vector<size_t> members;
  };

  size_t ActiveGroups() const;
  Status AddToGroups(const float* x, size_t n, uint64_t index_base);
  Status AddToReports(const float* x, size_t n, uint64_t index_base);
  Status FinishGroup(const Group& group);
  void StartReports();

  const KernelTable& kernels_;
  std::vector<AnalysisOptions> analyses_;
  std::vector<Group> groups_;
  std::vector<std::vector<Encoding>> encodings_;
  std::vector<ChannelErrorAccumulator> reports_;
  int calibration_passes_ = 0;
  int pass_ = 0;
};

}  // namespace wasmquant

#endif  // WASMQUANT_ANALYSIS_H_
