// The round-trip error report of SPEC.md §4, computed without keeping x̂.
#ifndef WASMQUANT_REPORT_H_
#define WASMQUANT_REPORT_H_

#include <cstddef>
#include <cstdint>

#include "wasmquant/kernels.h"
#include "wasmquant/quantizer.h"
#include "wasmquant/status.h"

namespace wasmquant {

struct Report {
  double mse = 0;
  double rmse = 0;
  double max_abs_error = 0;
  double mean_abs_error = 0;
  double sqnr_db = 0;  // +Inf when the error is zero
  uint64_t clipped = 0;
  uint64_t count = 0;      // finite elements measured
  uint64_t nonfinite = 0;  // NaN/Inf elements (only with NonFinite::kSaturate)
};

class ErrorAccumulator {
 public:
  ErrorAccumulator(const KernelTable& kernels, const KernelParams& params,
                   NonFinite non_finite);

  Status Add(const float* x, size_t n);
  Report Finish() const;

 private:
  const KernelTable& kernels_;
  KernelParams params_;
  NonFinite non_finite_;
  ErrorLanes lanes_;
  uint64_t count_ = 0;
  uint64_t nonfinite_ = 0;
};

Status Analyze(const KernelTable& kernels, const float* x, size_t n,
               const Encoding& encoding, const QuantizeOptions& options,
               Report* report);

}  // namespace wasmquant

#endif  // WASMQUANT_REPORT_H_
