#include "wasmquant/report.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/element.h"
#include "nonfinite.h"

namespace wasmquant {

ErrorAccumulator::ErrorAccumulator(const KernelTable& kernels,
                                   const KernelParams& params,
                                   NonFinite non_finite)
    : kernels_(kernels), params_(params), non_finite_(non_finite), lanes_() {}

Status ErrorAccumulator::Add(const float* x, size_t n, uint64_t index_base) {
  if (n < kShortRun) return AddShort(x, n, index_base);
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
      return NonFiniteError(index_base + i, x[i]);
    }
  }
  kernels_.accumulate_error(finite.data(), finite.size(), params_, &lanes_);
  nonfinite_ += n - finite.size();
  count_ += finite.size();
  return Status::Ok();
}

// Element by element, as the kernels do their tails: the finite elements go
// to lanes 0, 1, ... (mod kErrorLanes) in order, as in a kernel call.
Status ErrorAccumulator::AddShort(const float* x, size_t n,
                                  uint64_t index_base) {
  const size_t i = FirstNonFinite(x, n);
  if (i < n && non_finite_ == NonFinite::kError) {
    return NonFiniteError(index_base + i, x[i]);
  }
  size_t k = 0;
  for (size_t j = 0; j < n; ++j) {
    if (!std::isfinite(x[j])) {
      ++nonfinite_;
      continue;
    }
    element::AccumulateError(x[j], params_, static_cast<int>(k++ % kErrorLanes),
                             &lanes_);
    ++count_;
  }
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

ErrorSums ErrorAccumulator::Sums() const {
  ErrorSums s;
  s.sq_error = Fold(lanes_.sq_error);
  s.abs_error = Fold(lanes_.abs_error);
  s.sq_signal = Fold(lanes_.sq_signal);
  s.max_abs_error = lanes_.max_abs_error;
  s.clipped = lanes_.clipped;
  s.count = count_;
  s.nonfinite = nonfinite_;
  return s;
}

void ErrorSums::Add(const ErrorSums& other) {
  sq_error += other.sq_error;
  abs_error += other.abs_error;
  sq_signal += other.sq_signal;
  max_abs_error = std::max(max_abs_error, other.max_abs_error);
  clipped += other.clipped;
  count += other.count;
  nonfinite += other.nonfinite;
}

Report ErrorSums::ToReport() const {
  Report r;
  r.count = count;
  r.nonfinite = nonfinite;
  r.clipped = clipped;
  r.max_abs_error = max_abs_error;
  if (count == 0) return r;
  r.mse = sq_error / static_cast<double>(count);
  r.rmse = std::sqrt(r.mse);
  r.mean_abs_error = abs_error / static_cast<double>(count);
  r.sqnr_db = sq_error == 0 ? std::numeric_limits<double>::infinity()
                            : 10 * std::log10(sq_signal / sq_error);
  return r;
}

ChannelErrorAccumulator::ChannelErrorAccumulator(
    const KernelTable& kernels, const ChannelLayout& layout,
    const std::vector<Encoding>& encodings, Rounding rounding,
    NonFinite non_finite)
    : layout_(layout) {
  channels_.reserve(encodings.size());
  for (const Encoding& e : encodings) {
    channels_.emplace_back(kernels, MakeKernelParams(e, rounding), non_finite);
  }
}

Status ChannelErrorAccumulator::Add(const float* x, size_t n,
                                    uint64_t index_base) {
  return layout_.ForEachRun(
      index_base, n, [&](size_t channel, size_t j, size_t length) {
        return channels_[channel].Add(x + j, length, index_base + j);
      });
}

Report ChannelErrorAccumulator::Total() const {
  ErrorSums total;
  for (const ErrorAccumulator& c : channels_) total.Add(c.Sums());
  return total.ToReport();
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
  Status status = accumulator.Add(x, n, 0);
  if (!status.ok()) return status;
  *report = accumulator.Finish();
  return Status::Ok();
}

}  // namespace wasmquant
