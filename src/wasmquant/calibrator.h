// Calibration: the encodings of a tensor, per tensor or per channel, by any
// scheme (SPEC §2, §3.2-§3.4). Data arrives in chunks, in order, over one or
// more passes, so memory stays bounded whatever the tensor size.
#ifndef WASMQUANT_CALIBRATOR_H_
#define WASMQUANT_CALIBRATOR_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "wasmquant/encoding.h"
#include "wasmquant/kernels.h"
#include "wasmquant/quantizer.h"
#include "wasmquant/status.h"

namespace wasmquant {

enum class Scheme {
  kTf = 0,          // min/max (SPEC §2, §3.1 with symmetric)
  kTfEnhanced = 1,  // SQNR search over a histogram (SPEC §3.3)
  kPercentile = 2,  // nearest-rank percentiles (SPEC §3.4)
};

struct CalibrationOptions {
  Scheme scheme = Scheme::kTf;
  EncodingOptions encoding;
  NonFinite non_finite = NonFinite::kError;
  double percentile = 99.99;
  ChannelLayout layout;
  // How many elements will come, if known (0: not). Small tensors take the
  // percentile search's narrow digits: wide ones cost more to clear and scan
  // than the passes they save.
  uint64_t size_hint = 0;
};

Status ValidatePercentile(double percentile);

// Per-channel state is kilobytes per channel for the histogram and rank
// searches, bytes for min/max: calibrations take at most this many channels.
constexpr uint64_t kMaxChannels = uint64_t{1} << 20;
constexpr uint64_t kMaxSearchedChannels = uint64_t{1} << 16;
// Checks what a Calibrator cannot (its constructor allocates per channel):
// call before constructing one from options a caller gave.
Status ValidateCalibration(const CalibrationOptions& options);

class Calibrator {
 public:
  static constexpr int kHistogramBins = 512;

  Calibrator(const KernelTable& kernels, const CalibrationOptions& options);

  // Passes over the whole tensor this scheme needs: 1 for tf, 2 for
  // tf_enhanced, 2 to 4 for percentile (fewer for fewer channels).
  int passes() const;
  // Feeds x[0, n), the elements from index_base on, to the current pass.
  Status Add(const float* x, size_t n, uint64_t index_base);
  // Ends the current pass; the next Add calls belong to the next one.
  Status EndPass();
  // After the last pass: one encoding per channel.
  Status Finish(std::vector<Encoding>* encodings) const;
  // The same for other encoding options: one calibration serves every
  // encoding whose options SharePasses with its own.
  Status Finish(const EncodingOptions& encoding,
                std::vector<Encoding>* encodings) const;
  // Whether the passes of a and b gather the same data, so that one
  // Calibrator can Finish both: the encoding options (bitwidth, symmetry,
  // min range) only enter at Finish, except tf_enhanced's min range, which
  // places the histogram.
  static bool SharePasses(const CalibrationOptions& a,
                          const CalibrationOptions& b);

  uint64_t nonfinite() const;
  // After the last pass of a percentile calibration: the channel's lower
  // and upper percentiles (SPEC §3.4), before SPEC §2's steps 2-6.
  Status PercentileRange(size_t channel, double* lo, double* hi) const;

 private:
  // The radix selection of one nearest-rank value: pass p picks digit p of
  // its ordered key (element::OrderedKey), most significant first.
  struct RankSearch {
    uint64_t rank = 1;  // 1-based, among the keys matching key's digits
    uint32_t key = 0;   // the digits picked so far, in place
  };
  struct Channel {
    float lo = 0;
    float hi = 0;
    uint64_t count = 0;  // finite elements
    uint64_t nonfinite = 0;
    std::vector<uint64_t> histogram;  // tf_enhanced
    std::array<RankSearch, 2> ranks;  // percentile: low and high
  };

  // Pass 0 of a ChannelLayout::RowPositions() layout, row by row: the
  // range and element count of each position of rows of `period` elements
  // (RowPeriod), folded into channels_ when the pass ends.
  struct Rows {
    size_t period = 0;  // 0: not used
    std::vector<float> lo;
    std::vector<float> hi;
    RowCounts count;
  };

  Status AddRange(const float* x, size_t n, uint64_t index_base, Channel* c);
  Status AddRows(const float* x, size_t n, uint64_t index_base);
  void FoldRows();
  size_t ChannelOfPosition(size_t q) const;
  void AddHistogram(const float* x, size_t n, Channel* c) const;
  void CountDigits(const float* x, size_t n, uint64_t index_base);
  void CountRun(const float* x, size_t n, size_t channel);
  KeyDigits DigitsOfPass(int pass, const Channel& c) const;
  void SelectDigits();
  Status StartSecondPass();
  // SPEC §2 steps 1-3: the range every scheme starts from.
  void StartRange(const Channel& c, double* lo, double* hi) const;
  EncodingOptions EncodingOptionsFor(EncodingOptions o) const;

  const KernelTable& kernels_;
  CalibrationOptions options_;
  std::vector<Channel> channels_;
  Rows rows_;
  // Percentile: each channel's digits of the current pass, and their counts
  // (KeyDigits), channel c's two tables at 2 * c * stride; pass 0 counts
  // every finite key once, in the first table, before the ranks are known.
  // Channels-innermost layouts count row by row (KeyDigitRows).
  std::vector<KeyDigits> digits_;
  std::vector<uint64_t> counts_;
  KeyDigitRows key_rows_;
  int pass_ = 0;
  int digit_bits_ = 0;    // percentile: the width of a key digit
  double tensor_lo_ = 0;  // smallest finite value of the whole tensor
};

}  // namespace wasmquant

#endif  // WASMQUANT_CALIBRATOR_H_
