// The round-trip error report of docs/spec.md §4, computed without keeping x̂.
#ifndef WASMQUANT_REPORT_H_
#define WASMQUANT_REPORT_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "wasmquant/calibrator.h"
#include "wasmquant/kernels.h"
#include "wasmquant/oneshot.h"
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

// The sums a report is made of, folded in a fixed order.
struct ErrorSums {
  double sq_error = 0;
  double abs_error = 0;
  double sq_signal = 0;
  double max_abs_error = 0;
  uint64_t clipped = 0;
  uint64_t count = 0;
  uint64_t nonfinite = 0;

  void Add(const ErrorSums& other);
  Report ToReport() const;
};

class ErrorAccumulator {
 public:
  ErrorAccumulator(const KernelTable& kernels, const KernelParams& params,
                   NonFinite non_finite);

  // x[0, n) are the elements from index_base on (for error messages).
  Status Add(const float* x, size_t n, uint64_t index_base);
  // No more data: sums the start of a block still pending, once, so that
  // reading the sums many times (per channel, then the total) costs nothing.
  void Close();
  ErrorSums Sums() const;
  Report Finish() const { return Sums().ToReport(); }

 private:
  size_t AddFinitePrefix(const float* x, size_t n);

  const KernelTable& kernels_;
  KernelParams params_;
  NonFinite non_finite_;
  ErrorLanes lanes_;
  std::vector<float> pending_;  // the start of a block still to come
  uint64_t count_ = 0;
  uint64_t nonfinite_ = 0;
};

// Reports per channel, and for the whole tensor.
class ChannelErrorAccumulator {
 public:
  ChannelErrorAccumulator(const KernelTable& kernels,
                          const ChannelLayout& layout,
                          const std::vector<Encoding>& encodings,
                          Rounding rounding, NonFinite non_finite);

  Status Add(const float* x, size_t n, uint64_t index_base);
  void Close();  // as ErrorAccumulator::Close, for every channel
  Report Total() const;
  Report Channel(size_t channel) const { return SumsOf(channel).ToReport(); }

 private:
  Status AddRows(const float* x, size_t n, uint64_t index_base);
  void AddFiniteRows(const float* x, size_t n, size_t k);
  ErrorSums SumsOf(size_t channel) const;

  const KernelTable& kernels_;
  ChannelLayout layout_;
  NonFinite non_finite_;
  size_t channel_count_;
  std::vector<ErrorAccumulator> channels_;  // unless rows_
  // Channels innermost (inner == 1): each channel's sums are kept in double,
  // element after element in order, a vector of channels at a time
  // (ChannelErrors). They agree with the generic path's float32 block sums
  // within SPEC §4's bound, not bit for bit.
  bool rows_ = false;
  ChannelParams row_params_;  // period = channels
  std::vector<double> sq_error_;
  std::vector<double> abs_error_;
  std::vector<double> sq_signal_;
  std::vector<float> max_abs_error_;
  std::vector<uint64_t> clipped_;
  RowCounts count_;
  std::vector<uint64_t> nonfinite_;
};

Status Analyze(const KernelTable& kernels, const float* x, size_t n,
               const Encoding& encoding, const QuantizeOptions& options,
               Report* report);

}  // namespace wasmquant

#endif  // WASMQUANT_REPORT_H_
