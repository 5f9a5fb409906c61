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
  const size_t added = AddFinitePrefix(x, n);
  if (added == n) return Status::Ok();
  // From the first block with a NaN/Inf on, element by element.
  std::vector<float> kept;
  kept.reserve(n - added);
  for (size_t i = added; i < n; ++i) {
    if (std::isfinite(x[i])) {
      kept.push_back(x[i]);
    } else if (non_finite_ == NonFinite::kError) {
      return NonFiniteError(index_base + i, x[i]);
    }
  }
  nonfinite_ += n - added - kept.size();
  AddFinitePrefix(kept.data(), kept.size());
  return Status::Ok();
}

// Adds x up to its first NaN/Inf, or up to the start of the block that holds
// it; returns how many elements that was. The kernel sees the finite
// elements in whole blocks, whatever the chunks they came in, so a report
// does not depend on how the data was split.
size_t ErrorAccumulator::AddFinitePrefix(const float* x, size_t n) {
  size_t done = 0;
  if (!pending_.empty()) {
    const size_t take = std::min(n, kErrorBlock - pending_.size());
    done = FirstNonFinite(x, take);
    pending_.insert(pending_.end(), x, x + done);
    count_ += done;
    if (done < take || pending_.size() < kErrorBlock) return done;
    kernels_.accumulate_error(pending_.data(), kErrorBlock, params_, &lanes_);
    pending_.clear();
  }
  const size_t whole = (n - done) / kErrorBlock * kErrorBlock;
  const size_t blocks =
      kernels_.accumulate_error(x + done, whole, params_, &lanes_);
  count_ += blocks;
  done += blocks;
  if (blocks < whole) return done;
  const size_t rest = FirstNonFinite(x + done, n - done);
  pending_.assign(x + done, x + done + rest);
  count_ += rest;
  return done + rest;
}

namespace {

// A fixed pairwise order, so every backend folds its lanes identically.
double Fold(const double (&lanes)[kErrorLanes]) {
  static_assert(kErrorLanes == 8, "Fold pairs 8 lanes");
  return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) +
         ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
}

}  // namespace

void ErrorAccumulator::Close() {
  kernels_.accumulate_error(pending_.data(), pending_.size(), params_, &lanes_);
  pending_.clear();
}

ErrorSums ErrorAccumulator::Sums() const {
  ErrorLanes lanes = lanes_;
  kernels_.accumulate_error(pending_.data(), pending_.size(), params_, &lanes);
  ErrorSums s;
  s.sq_error = Fold(lanes.sq_error);
  s.abs_error = Fold(lanes.abs_error);
  s.sq_signal = Fold(lanes.sq_signal);
  s.max_abs_error = lanes.max_abs_error;
  s.clipped = lanes.clipped;
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
    : kernels_(kernels),
      layout_(layout),
      non_finite_(non_finite),
      channel_count_(encodings.size()) {
  std::vector<KernelParams> params;
  for (const Encoding& e : encodings) {
    params.push_back(MakeKernelParams(e, rounding));
  }
  // Only inner == 1: with longer runs the generic path's lanes depend on
  // where the chunks split the runs, which rows cannot reproduce.
  rows_ = layout_.inner == 1 && layout_.RowPositions() > 0 &&
          params.size() == layout_.channels;
  if (!rows_) {
    channels_.reserve(params.size());
    for (const KernelParams& p : params) {
      channels_.emplace_back(kernels, p, non_finite);
    }
    return;
  }
  const size_t c = params.size();
  row_params_ = MakeChannelParams(params, 1, /*min_period=*/0);
  sq_error_.assign(c, 0);
  abs_error_.assign(c, 0);
  sq_signal_.assign(c, 0);
  max_abs_error_.assign(c, 0);
  clipped_.assign(c, 0);
  count_.partial.assign(c, 0);
  nonfinite_.assign(c, 0);
}

Status ChannelErrorAccumulator::Add(const float* x, size_t n,
                                    uint64_t index_base) {
  if (rows_) return AddRows(x, n, index_base);
  return layout_.ForEachRun(
      index_base, n, [&](size_t channel, size_t j, size_t length) {
        return channels_[channel].Add(x + j, length, index_base + j);
      });
}

void ChannelErrorAccumulator::Close() {
  for (ErrorAccumulator& c : channels_) c.Close();
}

void ChannelErrorAccumulator::AddFiniteRows(const float* x, size_t n,
                                            size_t k) {
  const ChannelErrors sums = {sq_error_.data(), abs_error_.data(),
                              sq_signal_.data(), max_abs_error_.data(),
                              clipped_.data()};
  kernels_.accumulate_error_rows(x, n, row_params_, k, sums);
  count_.Add(n, row_params_.period, k);
}

// As the generic path's one-element Add calls: the finite elements before
// the first non-finite one are added, then that one is the error or, with
// kSaturate, counted and skipped.
Status ChannelErrorAccumulator::AddRows(const float* x, size_t n,
                                        uint64_t index_base) {
  const size_t channels = row_params_.period;
  const size_t k = static_cast<size_t>(index_base % channels);
  if (kernels_.min_max(x, n).all_finite) {
    AddFiniteRows(x, n, k);
    return Status::Ok();
  }
  size_t start = 0;
  for (size_t i = 0; i < n; ++i) {
    if (std::isfinite(x[i])) continue;
    AddFiniteRows(x + start, i - start, (k + start) % channels);
    if (non_finite_ == NonFinite::kError) {
      return NonFiniteError(index_base + i, x[i]);
    }
    ++nonfinite_[(k + i) % channels];
    start = i + 1;
  }
  AddFiniteRows(x + start, n - start, (k + start) % channels);
  return Status::Ok();
}

ErrorSums ChannelErrorAccumulator::SumsOf(size_t channel) const {
  if (!rows_) return channels_[channel].Sums();
  ErrorSums s;
  s.sq_error = sq_error_[channel];
  s.abs_error = abs_error_[channel];
  s.sq_signal = sq_signal_[channel];
  s.max_abs_error = max_abs_error_[channel];
  s.clipped = clipped_[channel];
  s.count = count_[channel];
  s.nonfinite = nonfinite_[channel];
  return s;
}

Report ChannelErrorAccumulator::Total() const {
  ErrorSums total;
  for (size_t c = 0; c < channel_count_; ++c) total.Add(SumsOf(c));
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
