#include "wasmquant/calibrator.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>
#include <string>

#include "enhanced.h"
#include "kernels/element.h"
#include "nonfinite.h"

namespace wasmquant {
namespace {

// The inverse of element::OrderedKey.
float FromOrderedKey(uint32_t key) {
  const uint32_t bits = key & 0x80000000u ? key & 0x7FFFFFFFu : ~key;
  float v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

// Percentiles in millionths of a percent: 99.99 is exactly 99990000, which
// its double is not, and ranks then come from integer arithmetic.
constexpr uint64_t kPercentUnits = 100000000;
uint64_t PercentUnits(double p) {
  return static_cast<uint64_t>(std::llround(p * 1e6));
}

// Nearest rank (1-based) of the percentile given in PercentUnits among n.
uint64_t NearestRank(uint64_t units, uint64_t n) {
  const unsigned __int128 product = static_cast<unsigned __int128>(units) * n;
  const uint64_t rank =
      static_cast<uint64_t>((product + kPercentUnits - 1) / kPercentUnits);
  return std::clamp<uint64_t>(rank, 1, n);
}

// The width of the rank keys' radix digits: the widest for which the count
// tables of all channels (two of 2^bits per channel) stay within 4 MiB, down
// to 8 bits, so that fewer channels need fewer passes; 8 bits for tensors
// known to be small, whose passes cost less than wide tables.
int DigitBits(uint64_t channels, uint64_t size_hint) {
  constexpr uint64_t kSmallTensor = uint64_t{1} << 16;
  if (size_hint > 0 && size_hint < kSmallTensor) return 8;
  if (channels <= 4) return 16;
  if (channels <= 128) return 11;
  return 8;
}

std::string ChannelName(const ChannelLayout& layout, size_t c) {
  return layout.channels == 1 ? "the tensor" : "channel " + std::to_string(c);
}

}  // namespace

Status ValidatePercentile(double percentile) {
  if (!(percentile >= 50 && percentile <= 100)) {
    std::ostringstream got;
    got << percentile;
    return Status::RangeError(
        "percentile must be a number from 50 to 100 (the upper percentile; "
        "the lower one is 100 - percentile), got " +
        got.str());
  }
  return Status::Ok();
}

Status ValidateCalibration(const CalibrationOptions& options) {
  Status status = ValidateEncodingOptions(options.encoding);
  if (!status.ok()) return status;
  const bool searched = options.scheme != Scheme::kTf;
  const uint64_t limit = searched ? kMaxSearchedChannels : kMaxChannels;
  if (options.layout.channels > limit) {
    return Status::RangeError(
        "per-channel quantization takes at most " + std::to_string(limit) +
        " channels with " +
        (searched ? "tf_enhanced and percentile" : "this scheme") + ", got " +
        std::to_string(options.layout.channels));
  }
  if (options.scheme == Scheme::kPercentile) {
    return ValidatePercentile(options.percentile);
  }
  return Status::Ok();
}

Calibrator::Calibrator(const KernelTable& kernels,
                       const CalibrationOptions& options)
    : kernels_(kernels), options_(options), channels_(options.layout.channels) {
  for (Channel& c : channels_) {
    c.lo = std::numeric_limits<float>::infinity();
    c.hi = -c.lo;
  }
  // Rows of at least 256 elements amortise the per-row work for a few
  // channels.
  constexpr size_t kMinRowPeriod = 256;
  const uint64_t positions = options_.layout.RowPositions();
  if (positions > 0) {
    rows_.period = RowPeriod(static_cast<size_t>(positions), kMinRowPeriod);
    rows_.lo.assign(rows_.period, std::numeric_limits<float>::infinity());
    rows_.hi.assign(rows_.period, -std::numeric_limits<float>::infinity());
    rows_.count.partial.assign(rows_.period, 0);
  }
  if (options_.scheme == Scheme::kPercentile) {
    digit_bits_ = DigitBits(options_.layout.channels, options_.size_hint);
    for (const Channel& c : channels_) digits_.push_back(DigitsOfPass(0, c));
    counts_.assign((2 * channels_.size()) << digit_bits_, 0);
    if (rows_.period > 0) {
      key_rows_.period = rows_.period;
      for (size_t q = 0; q < rows_.period; ++q) {
        key_rows_.channel.push_back(ChannelOfPosition(q));
      }
      key_rows_.raw_low.assign(rows_.period, 0);
      key_rows_.raw_high.assign(rows_.period, 0);
    }
  }
}

int Calibrator::passes() const {
  switch (options_.scheme) {
    case Scheme::kTf:
      return 1;
    case Scheme::kTfEnhanced:
      return 2;
    case Scheme::kPercentile:
      // Pass 0 counts the first digit along with the range.
      return (32 + digit_bits_ - 1) / digit_bits_;
  }
  return 1;
}

uint64_t Calibrator::nonfinite() const {
  uint64_t total = 0;
  for (const Channel& c : channels_) total += c.nonfinite;
  return total;
}

Status Calibrator::Add(const float* x, size_t n, uint64_t index_base) {
  if (pass_ >= passes()) {
    return Status::Error("calibration data added after the last of " +
                         std::to_string(passes()) + " passes");
  }
  const bool percentile = options_.scheme == Scheme::kPercentile;
  if (pass_ == 0 && rows_.period > 0) {
    Status status = AddRows(x, n, index_base);
    if (status.ok() && percentile) CountDigits(x, n, index_base);
    return status;
  }
  if (pass_ > 0 && percentile) {
    CountDigits(x, n, index_base);
    return Status::Ok();
  }
  return options_.layout.ForEachRun(
      index_base, n, [&](size_t channel, size_t j, size_t length) {
        Channel* c = &channels_[channel];
        if (pass_ > 0) {
          AddHistogram(x + j, length, c);
          return Status::Ok();
        }
        Status status = AddRange(x + j, length, index_base + j, c);
        if (status.ok() && percentile) CountRun(x + j, length, channel);
        return status;
      });
}

Status Calibrator::AddRange(const float* x, size_t n, uint64_t index_base,
                            Channel* c) {
  MinMaxResult r;
  if (n >= kShortRun) {
    r = kernels_.min_max(x, n);
  } else {
    r = {std::numeric_limits<float>::infinity(),
         -std::numeric_limits<float>::infinity(), true};
    for (size_t i = 0; i < n; ++i) {
      r.all_finite &= std::isfinite(x[i]);
      r.lo = std::min(r.lo, x[i]);
      r.hi = std::max(r.hi, x[i]);
    }
  }
  if (!r.all_finite) {
    if (options_.non_finite == NonFinite::kError) {
      const size_t i = FirstNonFinite(x, n);
      return NonFiniteError(index_base + i, x[i]);
    }
    r.lo = std::numeric_limits<float>::infinity();
    r.hi = -r.lo;
    for (size_t i = 0; i < n; ++i) {
      if (!std::isfinite(x[i])) {
        ++c->nonfinite;
        continue;
      }
      r.lo = std::min(r.lo, x[i]);
      r.hi = std::max(r.hi, x[i]);
    }
  }
  c->lo = std::min(c->lo, r.lo + 0.0f);
  c->hi = std::max(c->hi, r.hi + 0.0f);
  c->count += n;
  return Status::Ok();
}

size_t Calibrator::ChannelOfPosition(size_t q) const {
  return static_cast<size_t>((q / options_.layout.inner) %
                             options_.layout.channels);
}

// What AddRange does run by run, for all of x at once: the same ranges,
// counts and non-finite counts, and on an error the same index and message.
// The elements before the error are added; with inner > 1 AddRange leaves
// out those of the failing run, but a failed calibration is not read.
Status Calibrator::AddRows(const float* x, size_t n, uint64_t index_base) {
  const size_t period = rows_.period;
  const size_t k = static_cast<size_t>(index_base % period);
  if (kernels_.min_max(x, n).all_finite) {
    kernels_.min_max_rows(x, n, period, k, rows_.lo.data(), rows_.hi.data());
    rows_.count.Add(n, period, k);
    return Status::Ok();
  }
  // Between the non-finite elements, finite stretches go row by row.
  size_t start = 0;
  for (size_t i = 0; i < n; ++i) {
    if (std::isfinite(x[i])) continue;
    const size_t q = (k + i) % period;
    kernels_.min_max_rows(x + start, i - start, period, (k + start) % period,
                          rows_.lo.data(), rows_.hi.data());
    if (options_.non_finite == NonFinite::kError) {
      rows_.count.Add(i, period, k);
      return NonFiniteError(index_base + i, x[i]);
    }
    ++channels_[ChannelOfPosition(q)].nonfinite;
    start = i + 1;
  }
  kernels_.min_max_rows(x + start, n - start, period, (k + start) % period,
                        rows_.lo.data(), rows_.hi.data());
  rows_.count.Add(n, period, k);
  return Status::Ok();
}

// min is exact whatever the grouping; + 0.0f makes -0.0 +0.0 as AddRange
// does, whichever zero a position kept.
void Calibrator::FoldRows() {
  for (size_t q = 0; q < rows_.period; ++q) {
    Channel* c = &channels_[ChannelOfPosition(q)];
    c->lo = std::min(c->lo, rows_.lo[q] + 0.0f);
    c->hi = std::max(c->hi, rows_.hi[q] + 0.0f);
    c->count += rows_.count[q];
  }
  rows_ = Rows();
}

void Calibrator::StartRange(const Channel& c, double* lo, double* hi) const {
  *lo = c.lo;
  *hi = std::max<double>(c.hi, *lo + options_.encoding.min_range);
  if (*lo > 0) *lo = 0;
  if (*hi < 0) *hi = 0;
}

void Calibrator::AddHistogram(const float* x, size_t n, Channel* c) const {
  double lo, hi;
  StartRange(*c, &lo, &hi);
  const double per_unit = kHistogramBins / (hi - lo);
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) continue;
    const double bin = std::floor((x[i] - lo) * per_unit);
    ++c->histogram[static_cast<size_t>(
        std::clamp(bin, 0.0, static_cast<double>(kHistogramBins - 1)))];
  }
}

void Calibrator::CountDigits(const float* x, size_t n, uint64_t index_base) {
  if (key_rows_.period > 0) {
    kernels_.count_key_digits_rows(
        x, n, key_rows_, static_cast<size_t>(index_base % key_rows_.period),
        digits_.data(), counts_.data());
    return;
  }
  options_.layout.ForEachRun(index_base, n,
                             [&](size_t channel, size_t j, size_t length) {
                               CountRun(x + j, length, channel);
                               return Status::Ok();
                             });
}

// One channel's run; short ones element by element, as the kernels' tails
// do.
void Calibrator::CountRun(const float* x, size_t n, size_t channel) {
  const KeyDigits& d = digits_[channel];
  uint64_t* counts = counts_.data() + 2 * channel * d.stride;
  if (n >= kShortRun) {
    kernels_.count_key_digits(x, n, d, counts);
    return;
  }
  for (size_t i = 0; i < n; ++i) element::CountKeyDigit(x[i], d, counts);
}

// Digit `pass` of the keys: the next digit_bits_ bits below those already
// picked (or what is left of the 32).
KeyDigits Calibrator::DigitsOfPass(int pass, const Channel& c) const {
  KeyDigits d;
  const int top = 32 - digit_bits_ * pass;
  d.shift = std::max(top - digit_bits_, 0);
  d.digit_mask = (1u << (top - d.shift)) - 1;
  d.prefix_mask = top == 32 ? 0 : ~0u << top;
  d.prefix[0] = c.ranks[0].key;
  d.prefix[1] = c.ranks[1].key;
  d.ranks = pass == 0 ? 1 : 2;
  d.stride = size_t{1} << digit_bits_;
  return d;
}

// For each rank, the digit whose cumulative count reaches the rank, and the
// rank left among the keys that share it.
void Calibrator::SelectDigits() {
  for (size_t k = 0; k < channels_.size(); ++k) {
    const KeyDigits& d = digits_[k];
    for (int r = 0; r < 2; ++r) {
      RankSearch& s = channels_[k].ranks[r];
      const uint64_t* counts =
          counts_.data() +
          (2 * k + static_cast<size_t>(std::min(r, d.ranks - 1))) * d.stride;
      uint32_t digit = 0;
      while (digit < d.digit_mask && counts[digit] < s.rank) {
        s.rank -= counts[digit++];
      }
      s.key |= digit << d.shift;
    }
  }
  if (pass_ + 1 == passes()) {
    // Freed now: the Calibrator may wait for Finish with its counts unused.
    counts_ = std::vector<uint64_t>();
    return;
  }
  std::fill(counts_.begin(), counts_.end(), 0);
  for (size_t k = 0; k < channels_.size(); ++k) {
    digits_[k] = DigitsOfPass(pass_ + 1, channels_[k]);
  }
  if (key_rows_.period == 0) return;
  key_rows_.prefix_mask = digits_[0].prefix_mask;
  for (size_t q = 0; q < key_rows_.period; ++q) {
    const KeyDigits& d = digits_[key_rows_.channel[q]];
    key_rows_.raw_low[q] = element::RawKeyPattern(d.prefix[0], d.prefix_mask);
    key_rows_.raw_high[q] = element::RawKeyPattern(d.prefix[1], d.prefix_mask);
  }
}

Status Calibrator::StartSecondPass() {
  for (size_t k = 0; k < channels_.size(); ++k) {
    Channel& c = channels_[k];
    const uint64_t finite = c.count - c.nonfinite;
    if (finite == 0) {
      return Status::RangeError(
          c.count == 0 ? "the tensor is empty: there is nothing to calibrate"
                       : ChannelName(options_.layout, k) +
                             " has no finite element to calibrate on");
    }
    tensor_lo_ = std::min<double>(tensor_lo_, c.lo);
    if (options_.scheme == Scheme::kTfEnhanced) {
      c.histogram.assign(kHistogramBins, 0);
    } else if (options_.scheme == Scheme::kPercentile) {
      const uint64_t units = PercentUnits(options_.percentile);
      c.ranks[0].rank = NearestRank(kPercentUnits - units, finite);
      c.ranks[1].rank = NearestRank(units, finite);
    }
  }
  return Status::Ok();
}

Status Calibrator::EndPass() {
  if (pass_ >= passes()) {
    return Status::Error("calibration pass ended after the last of " +
                         std::to_string(passes()) + " passes");
  }
  if (pass_ == 0) {
    if (rows_.period > 0) FoldRows();
    tensor_lo_ = std::numeric_limits<double>::infinity();
    Status status = StartSecondPass();
    if (!status.ok()) return status;
  }
  if (options_.scheme == Scheme::kPercentile) SelectDigits();
  ++pass_;
  return Status::Ok();
}

EncodingOptions Calibrator::EncodingOptionsFor(EncodingOptions o) const {
  // Unsigned symmetric is decided for the whole tensor, so that every
  // channel has codes of the same type.
  if (o.symmetric && o.unsigned_symmetric && tensor_lo_ >= 0) {
    o.symmetric = false;
  }
  o.unsigned_symmetric = false;
  return o;
}

bool Calibrator::SharePasses(const CalibrationOptions& a,
                             const CalibrationOptions& b) {
  if (a.scheme != b.scheme || a.non_finite != b.non_finite ||
      a.layout.channels != b.layout.channels ||
      a.layout.inner != b.layout.inner) {
    return false;
  }
  switch (a.scheme) {
    case Scheme::kTf:
      return true;
    case Scheme::kTfEnhanced:
      return a.encoding.min_range == b.encoding.min_range;
    case Scheme::kPercentile:
      return a.percentile == b.percentile;
  }
  return false;
}

Status Calibrator::Finish(std::vector<Encoding>* encodings) const {
  return Finish(options_.encoding, encodings);
}

Status Calibrator::Finish(const EncodingOptions& encoding,
                          std::vector<Encoding>* encodings) const {
  if (pass_ < passes()) {
    return Status::Error("calibration finished after " + std::to_string(pass_) +
                         " of " + std::to_string(passes()) + " passes");
  }
  const EncodingOptions options = EncodingOptionsFor(encoding);
  encodings->resize(channels_.size());
  for (size_t k = 0; k < channels_.size(); ++k) {
    const Channel& c = channels_[k];
    Status status;
    Encoding& e = (*encodings)[k];
    if (options_.scheme == Scheme::kTfEnhanced) {
      double lo, hi;
      StartRange(c, &lo, &hi);
      status = SearchEnhancedEncoding(c.histogram, lo, hi, options, &e);
    } else if (options_.scheme == Scheme::kPercentile) {
      double lo, hi;
      status = PercentileRange(k, &lo, &hi);
      if (status.ok()) status = ComputeEncoding(lo, hi, options, &e);
    } else {
      status = ComputeEncoding(c.lo, c.hi, options, &e);
    }
    if (!status.ok()) {
      return channels_.size() == 1
                 ? status
                 : Status::RangeError(ChannelName(options_.layout, k) + ": " +
                                      status.message());
    }
  }
  return Status::Ok();
}

Status Calibrator::PercentileRange(size_t channel, double* lo,
                                   double* hi) const {
  if (options_.scheme != Scheme::kPercentile || pass_ < passes()) {
    return Status::Error(
        "percentile ranges are known after the last pass of a percentile "
        "calibration");
  }
  if (channel >= channels_.size()) {
    return Status::RangeError("channel " + std::to_string(channel) +
                              " out of range: there are " +
                              std::to_string(channels_.size()));
  }
  *lo = FromOrderedKey(channels_[channel].ranks[0].key);
  *hi = FromOrderedKey(channels_[channel].ranks[1].key);
  return Status::Ok();
}

}  // namespace wasmquant
