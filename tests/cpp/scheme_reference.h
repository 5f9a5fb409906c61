// Independent double-precision models of the schemes of docs/spec.md §3
// (symmetric, per-channel slices, tf_enhanced, percentile), written from the
// specification and not from src/.
//
// Header-only on purpose: CMake builds only tests/cpp/*_test.cpp.
#ifndef WASMQUANT_TESTS_CPP_SCHEME_REFERENCE_H_
#define WASMQUANT_TESTS_CPP_SCHEME_REFERENCE_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "reference.h"
#include "wasmquant/encoding.h"

namespace wasmquant {
namespace scheme_reference {

// An encoding in the unsigned domain (x̂ = (q + offset) * scale, q in
// [0, top]) plus whether its codes are written signed (s = q + offset).
struct SchemeEncoding {
  int bitwidth = 8;
  double scale = 0;
  int64_t offset = 0;
  double min = 0;
  double max = 0;
  int64_t top = 255;  // the largest unsigned code
  bool symmetric = false;
};

inline int64_t Half(int bitwidth) { return int64_t{1} << (bitwidth - 1); }

// SPEC §2 steps 2-6 on the range [lo, hi].
inline SchemeEncoding Tf(double lo, double hi, int bitwidth, double min_range) {
  const reference::RefEncoding r =
      reference::TfEncoding(lo, hi, bitwidth, min_range);
  SchemeEncoding e;
  e.bitwidth = bitwidth;
  e.scale = r.scale;
  e.offset = r.offset;
  e.min = r.min;
  e.max = r.max;
  e.top = r.steps;
  return e;
}

// SPEC §2 steps 4-6 only, on a range [lo, hi] that contains 0.
inline SchemeEncoding Nudge(double lo, double hi, int bitwidth) {
  SchemeEncoding e;
  e.bitwidth = bitwidth;
  e.top = reference::RefSteps(bitwidth);
  const double steps = static_cast<double>(e.top);
  e.scale = (hi - lo) / steps;
  const double z = std::clamp(std::round(-lo / e.scale), 0.0, steps);
  e.offset = -static_cast<int64_t>(z);
  e.min = static_cast<double>(e.offset) * e.scale;
  e.max = e.min + steps * e.scale;
  return e;
}

// SPEC §3.1 for a given absmax.
inline SchemeEncoding SymmetricFromAbsmax(double absmax, int bitwidth,
                                          bool strict) {
  const int64_t half = Half(bitwidth);
  SchemeEncoding e;
  e.bitwidth = bitwidth;
  e.symmetric = true;
  e.scale = absmax / static_cast<double>(half - 1);
  e.offset = strict ? -(half - 1) : -half;
  e.min = static_cast<double>(e.offset) * e.scale;
  e.max = static_cast<double>(half - 1) * e.scale;
  e.top = reference::RefSteps(bitwidth) - (strict ? 1 : 0);
  return e;
}

// SPEC §3.1 on the finite data range [lo, hi].
inline SchemeEncoding Symmetric(double lo, double hi, int bitwidth,
                                double min_range, bool strict = false,
                                bool unsigned_symmetric = false) {
  if (unsigned_symmetric && lo >= 0) return Tf(0, hi, bitwidth, min_range);
  const double absmax = std::max({std::fabs(lo), std::fabs(hi), min_range / 2});
  return SymmetricFromAbsmax(absmax, bitwidth, strict);
}

// The smallest and largest finite element (SPEC §2 step 1).
inline void FiniteRange(const std::vector<float>& x, double* lo, double* hi) {
  *lo = std::numeric_limits<double>::infinity();
  *hi = -*lo;
  for (float v : x) {
    if (!std::isfinite(v)) continue;
    *lo = std::min(*lo, static_cast<double>(v));
    *hi = std::max(*hi, static_cast<double>(v));
  }
}

// Rounds t exactly: half-up is floor(t + 0.5), half-even ties to even.
inline double Round(double t, Rounding rounding) {
  return reference::RoundT(t, rounding);
}

// The output codes (signed for symmetric encodings) allowed for a finite x.
// SPEC §2: q = clamp(R(x / scale) + z, 0, top), the zero point added after
// rounding; symmetric (SPEC §3.1): s = clamp(R(x / scale), offset, top +
// offset), the same with the signed domain's zero point 0. The kernels
// evaluate in float32, so within SPEC §2's tolerance of a half step either
// neighbour is accepted.
struct AllowedCodes {
  int64_t a;
  int64_t b;
  bool Contains(int64_t code) const { return code == a || code == b; }
};

inline AllowedCodes Allowed(double x, const SchemeEncoding& e,
                            Rounding rounding) {
  const double z = e.symmetric ? 0 : static_cast<double>(-e.offset);
  const double t = x / e.scale;
  const double slack = reference::SpecTieTolerance(t);
  double low = 0;
  double high = static_cast<double>(e.top);
  if (e.symmetric) {
    low = static_cast<double>(e.offset);
    high += low;
  }
  const double a = std::clamp(Round(t - slack, rounding) + z, low, high);
  const double b = std::clamp(Round(t + slack, rounding) + z, low, high);
  return {static_cast<int64_t>(a), static_cast<int64_t>(b)};
}

// x̂ of an output code, in double.
inline double Dequantize(int64_t code, const SchemeEncoding& e) {
  const int64_t q = e.symmetric ? code - e.offset : code;
  return static_cast<double>(q + e.offset) * e.scale;
}

// sqnr in dB of x against x̂ (double), SPEC §4.
inline double SqnrDb(const std::vector<float>& x,
                     const std::vector<double>& xhat) {
  double signal = 0;
  double noise = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double d = xhat[i] - x[i];
    signal += static_cast<double>(x[i]) * x[i];
    noise += d * d;
  }
  return noise == 0 ? std::numeric_limits<double>::infinity()
                    : 10 * std::log10(signal / noise);
}

// ---------------------------------------------------------------------------
// SPEC §3.2: the tensor seen as [outer, channels, inner].

struct Layout {
  size_t outer = 1;
  size_t channels = 1;
  size_t inner = 1;
};

inline Layout LayoutOf(const std::vector<size_t>& shape, int axis) {
  const int rank = static_cast<int>(shape.size());
  if (axis < 0) axis += rank;
  Layout l;
  for (int d = 0; d < rank; ++d) {
    if (d < axis) l.outer *= shape[d];
    if (d == axis) l.channels = shape[d];
    if (d > axis) l.inner *= shape[d];
  }
  return l;
}

// The indices of channel c's elements, in the order of the tensor.
inline std::vector<size_t> ChannelIndices(const Layout& l, size_t c) {
  std::vector<size_t> indices;
  for (size_t o = 0; o < l.outer; ++o) {
    for (size_t i = 0; i < l.inner; ++i) {
      indices.push_back((o * l.channels + c) * l.inner + i);
    }
  }
  return indices;
}

template <typename T>
std::vector<T> Gather(const std::vector<T>& x,
                      const std::vector<size_t>& indices) {
  std::vector<T> out;
  out.reserve(indices.size());
  for (size_t i : indices) out.push_back(x[i]);
  return out;
}

// ---------------------------------------------------------------------------
// SPEC §3.4: nearest-rank percentiles. p is given in ten-thousandths
// (99.99 -> 999900) so that the ranks are computed in exact integer
// arithmetic: rank = ceil(p / 100 * N).

inline uint64_t NearestRank(int64_t p_e4, uint64_t n) {
  const uint64_t num = static_cast<uint64_t>(p_e4) * n;
  const uint64_t rank = (num + 999999) / 1000000;
  return std::clamp<uint64_t>(rank, 1, n);
}

// lo at rank ceil((100 - p)/100 N), hi at rank ceil(p/100 N) of the sorted
// finite values.
inline void PercentileRange(const std::vector<float>& x, int64_t p_e4,
                            double* lo, double* hi) {
  std::vector<float> sorted;
  for (float v : x) {
    if (std::isfinite(v)) sorted.push_back(v);
  }
  std::sort(sorted.begin(), sorted.end());
  const uint64_t n = sorted.size();
  *lo = sorted[NearestRank(1000000 - p_e4, n) - 1];
  *hi = sorted[NearestRank(p_e4, n) - 1];
}

// ---------------------------------------------------------------------------
// SPEC §3.3: tf_enhanced, literally.

constexpr int kBuckets = 512;

struct Histogram {
  double lo = 0;
  double hi = 0;
  std::vector<double> counts;

  double Center(int j) const { return lo + (j + 0.5) * (hi - lo) / kBuckets; }
};

// lo, hi from SPEC §2 steps 1-3; 512 equal buckets over [lo, hi].
inline Histogram MakeHistogram(const std::vector<float>& x, double min_range) {
  Histogram h;
  FiniteRange(x, &h.lo, &h.hi);
  h.hi = std::max(h.hi, h.lo + min_range);
  if (h.lo > 0) h.lo = 0;
  if (h.hi < 0) h.hi = 0;
  h.counts.assign(kBuckets, 0);
  const double width = (h.hi - h.lo) / kBuckets;
  for (float v : x) {
    if (!std::isfinite(v)) continue;
    const double j = std::floor((v - h.lo) / width);
    h.counts[static_cast<size_t>(std::clamp(j, 0.0, kBuckets - 1.0))] += 1;
  }
  return h;
}

// 3 * clipping noise outside the range, rounding noise inside it.
inline double Cost(const Histogram& h, const SchemeEncoding& e) {
  double cost = 0;
  for (int j = 0; j < kBuckets; ++j) {
    const double p = h.counts[j];
    if (p == 0) continue;
    const double c = h.Center(j);
    if (c < e.min || c > e.max) {
      const double d = c - std::clamp(c, e.min, e.max);
      cost += 3 * p * d * d;
    } else {
      const double q =
          std::clamp(Round((c - e.min) / e.scale, Rounding::kHalfUp), 0.0,
                     static_cast<double>(e.top));
      const double d = c - (q + static_cast<double>(e.offset)) * e.scale;
      cost += p * d * d;
    }
  }
  return cost;
}

inline std::vector<SchemeEncoding> EnhancedCandidates(const Histogram& h,
                                                      int bitwidth,
                                                      bool symmetric,
                                                      bool strict,
                                                      double min_range) {
  std::vector<SchemeEncoding> all;
  if (symmetric) {
    const double absmax =
        std::max({std::fabs(h.lo), std::fabs(h.hi), min_range / 2});
    for (int i = 1; i <= 101; ++i) {
      all.push_back(SymmetricFromAbsmax(i / 100.0 * absmax, bitwidth, strict));
    }
  } else {
    const int64_t steps = reference::RefSteps(bitwidth);
    const double max_step = (h.hi - h.lo) / static_cast<double>(steps);
    for (int k = 1; k <= 17; ++k) {
      const double scale = max_step * k / 16;
      for (int i = 0; i <= 20; ++i) {
        const double offset = std::trunc(-static_cast<double>(steps) +
                                         static_cast<double>(steps) * i / 20);
        const double cmin = offset * scale;
        const double cmax = (offset + static_cast<double>(steps)) * scale;
        if (cmin >= h.lo && cmax <= h.hi) {
          SchemeEncoding e;
          e.bitwidth = bitwidth;
          e.scale = scale;
          e.offset = static_cast<int64_t>(offset);
          e.min = cmin;
          e.max = cmax;
          e.top = steps;
          all.push_back(e);
        } else {
          const double lo = std::max(cmin, h.lo);
          const double hi = std::min(cmax, h.hi);
          if (hi > lo) all.push_back(Nudge(lo, hi, bitwidth));
        }
      }
    }
    all.push_back(Nudge(h.lo, h.hi, bitwidth));  // the plain tf candidate
  }
  // The minimum range is kept: narrower candidates do not compete.
  std::vector<SchemeEncoding> kept;
  for (const SchemeEncoding& e : all) {
    if (e.max - e.min >= min_range * (1 - 1e-12)) kept.push_back(e);
  }
  return kept;
}

struct EnhancedResult {
  SchemeEncoding best;
  double best_cost = std::numeric_limits<double>::infinity();
  // The cheapest candidate that is a different encoding from best.
  double runner_up_cost = std::numeric_limits<double>::infinity();
  Histogram histogram;
};

inline bool SameEncoding(const SchemeEncoding& a, const SchemeEncoding& b) {
  return a.offset == b.offset &&
         std::fabs(a.scale - b.scale) <= 1e-12 * std::max(a.scale, b.scale);
}

inline EnhancedResult Enhanced(const std::vector<float>& x, int bitwidth,
                               bool symmetric, bool strict = false,
                               double min_range = 0.01) {
  EnhancedResult r;
  r.histogram = MakeHistogram(x, min_range);
  const std::vector<SchemeEncoding> candidates =
      EnhancedCandidates(r.histogram, bitwidth, symmetric, strict, min_range);
  std::vector<double> costs;
  for (const SchemeEncoding& e : candidates) {
    costs.push_back(Cost(r.histogram, e));
    if (costs.back() < r.best_cost) {
      r.best_cost = costs.back();
      r.best = e;
    }
  }
  for (size_t k = 0; k < candidates.size(); ++k) {
    if (!SameEncoding(candidates[k], r.best)) {
      r.runner_up_cost = std::min(r.runner_up_cost, costs[k]);
    }
  }
  return r;
}

// ---------------------------------------------------------------------------
// Data.

// Laplace(0, b) by inverse transform, plus `outliers` values of magnitude
// 40 b .. 60 b with alternating signs.
inline std::vector<float> LaplaceWithOutliers(size_t n, double b,
                                              size_t outliers, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> u(-0.5, 0.5);
  std::vector<float> x(n);
  for (float& v : x) {
    const double s = u(gen);
    const double mag = -b * std::log(1 - 2 * std::fabs(s));
    v = static_cast<float>(s < 0 ? -mag : mag);
  }
  for (size_t k = 0; k < outliers && k < n; ++k) {
    const double mag = b * (40 + 20.0 * k / std::max<size_t>(outliers, 1));
    x[(k * 7919 + 13) % n] = static_cast<float>(k % 2 ? -mag : mag);
  }
  return x;
}

inline std::vector<float> Uniform(size_t n, double a, double b, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> u(a, b);
  std::vector<float> x(n);
  for (float& v : x) v = static_cast<float>(u(gen));
  return x;
}

inline std::vector<float> Normal(size_t n, double mean, double sd,
                                 uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> d(mean, sd);
  std::vector<float> x(n);
  for (float& v : x) v = static_cast<float>(d(gen));
  return x;
}

}  // namespace scheme_reference
}  // namespace wasmquant

#endif  // WASMQUANT_TESTS_CPP_SCHEME_REFERENCE_H_
