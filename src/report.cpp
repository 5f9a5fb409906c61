#include "wasmquant/report.h"

#include <cmath>
#include <limits>
#include <vector>

#include "nonfinite.h"

namespace wasmquant {

ErrorAccumulator::ErrorAccumulator(const KernelTable& kernels,
                                   const KernelParams& params,
                                   NonFinite non_finite)
    : kernels_(kernels), params_(params), non_finite_(non_finite), lanes_() {}

Status ErrorAccumulator::Add(const float* x, size_t n) {
  if (kernels_.min_max(x, n).all_finite) {
    kernels_.accumulate_error(x, n, params_, &lanes_);
    count_ += n;
    return Status::Ok();
  }
  std::vector<float> finite;
  finite.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (std::isfinite(x[i])) {
      finite.push_back(x[i]);
    } else if (non_finite_ == NonFinite::kError) {
      return NonFiniteError(count_ + nonfinite_ + i, x[i]);
    }
  }
  kernels_.accumulate_error(finite.data(), finite.size(), params_, &lanes_);
  nonfinite_ += n - finite.size();
  count_ += finite.size();
  return Status::Ok();
}

namespace {

// A fixed pairwise order, so every backend folds its lanes identically.
double Fold(const double (&lanes)[kErrorLanes]) {
  static_assert(kErrorLanes == 8, "Fold pairs 8 lanes");
  return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) +
         ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
}

}  // namespace

Report ErrorAccumulator::Finish() const {
  Report r;
  r.count = count_;
  r.nonfinite = nonfinite_;
  r.clipped = lanes_.clipped;
  r.max_abs_error = lanes_.max_abs_error;
  if (count_ == 0) return r;
  const double sq_error = Fold(lanes_.sq_error);
  const double sq_signal = Fold(lanes_.sq_signal);
  r.mse = sq_error / static_cast<double>(count_);
  r.rmse = std::sqrt(r.mse);
  r.mean_abs_error = Fold(lanes_.abs_error) / static_cast<double>(count_);
  r.sqnr_db = sq_error == 0 ? std::numeric_limits<double>::infinity()
                            : 10 * std::log10(sq_signal / sq_error);
  return r;
}

Status Analyze(const KernelTable& kernels, const float* x, size_t n,
               const Encoding& encoding, const QuantizeOptions& options,
               Report* report) {
  if (n == 0) {
    return Status::RangeError(
        "the tensor is empty: there is nothing to analyze");
  }
  ErrorAccumulator accumulator(kernels,
                               MakeKernelParams(encoding, options.rounding),
                               options.non_finite);
  Status status = accumulator.Add(x, n);
  if (!status.ok()) return status;
  *report = accumulator.Finish();
  return Status::Ok();
}

}  // namespace wasmquant
