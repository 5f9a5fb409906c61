// An independent double-precision model of docs/spec.md §2, written from the
// specification and not from src/, plus deterministic test data generators.
//
// Header-only on purpose: CMake builds only tests/cpp/*_test.cpp.
#ifndef WASMQUANT_TESTS_CPP_REFERENCE_H_
#define WASMQUANT_TESTS_CPP_REFERENCE_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "wasmquant/encoding.h"

namespace wasmquant {
namespace reference {

// Unit roundoff of float32 (half an ulp of 1.0).
constexpr double kFloatUnitRoundoff = 0x1p-24;

inline int64_t RefSteps(int bitwidth) { return (int64_t{1} << bitwidth) - 1; }

// An encoding as SPEC §1 defines it, all in double precision.
struct RefEncoding {
  int bitwidth = 8;
  int64_t steps = 255;
  double min = 0;
  double max = 0;
  double scale = 0;
  int64_t offset = 0;      // <= 0
  int64_t zero_point = 0;  // z = -offset, the code of 0.0
};

// SPEC §2 steps 2-6 on the finite data range [lo, hi].
inline RefEncoding TfEncoding(double lo, double hi, int bitwidth,
                              double min_range = 0.01) {
  RefEncoding e;
  e.bitwidth = bitwidth;
  e.steps = RefSteps(bitwidth);
  const double steps = static_cast<double>(e.steps);
  hi = std::max(hi, lo + min_range);  // 2. minimum range
  if (lo > 0) lo = 0;                 // 3. zero must be representable
  if (hi < 0) hi = 0;
  e.scale = (hi - lo) / steps;  // 4.
  const double zf = -lo / e.scale;
  // 5. std::round is round-half-away-from-zero.
  const double z = std::clamp(std::round(zf), 0.0, steps);
  e.zero_point = static_cast<int64_t>(z);
  e.offset = -e.zero_point;
  e.min = static_cast<double>(e.offset) * e.scale;  // 6.
  e.max = e.min + steps * e.scale;
  return e;
}

// The reference view of an encoding computed (or given) elsewhere.
inline RefEncoding FromEncoding(const Encoding& given) {
  RefEncoding e;
  e.bitwidth = given.bitwidth;
  e.steps = RefSteps(given.bitwidth);
  e.min = given.min;
  e.max = given.max;
  e.scale = given.scale;
  e.offset = given.offset;
  e.zero_point = -static_cast<int64_t>(given.offset);
  return e;
}

// SPEC §2 step 1 and then TfEncoding: the range of the finite elements.
inline RefEncoding TfEncodingOf(const std::vector<float>& x, int bitwidth,
                                double min_range = 0.01) {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -lo;
  for (float v : x) {
    if (!std::isfinite(v)) continue;
    lo = std::min(lo, static_cast<double>(v));
    hi = std::max(hi, static_cast<double>(v));
  }
  return TfEncoding(lo, hi, bitwidth, min_range);
}

// t = (x - min) / scale = x / scale + z, the real-valued code.
inline double RefT(double x, const RefEncoding& e) {
  return x / e.scale + static_cast<double>(e.zero_point);
}

// s = x / scale, what SPEC §2 rounds before it adds the zero point.
inline double RefS(double x, const RefEncoding& e) { return x / e.scale; }

// Rounds t exactly (no double rounding in t + 0.5): t - floor(t) is exact for
// |t| < 2^52.
inline double RoundT(double t, Rounding rounding) {
  const double f = std::floor(t);
  const double frac = t - f;
  if (frac > 0.5) return f + 1;
  if (frac < 0.5) return f;
  if (rounding == Rounding::kHalfUp) return f + 1;  // floor(t + 0.5)
  return std::fmod(f, 2.0) == 0 ? f : f + 1;        // ties to even
}

// The code of one value, SPEC §2: clamp(R(x / scale) + z, 0, steps), the
// zero point added after rounding (it matters for half-even with an odd z).
// NaN/±Inf follow §6 'saturate'.
inline int64_t RefQuantize(double x, const RefEncoding& e, Rounding rounding) {
  if (std::isnan(x)) return e.zero_point;
  const double steps = static_cast<double>(e.steps);
  const double z = static_cast<double>(e.zero_point);
  const double s = RefS(x, e);  // ±Inf stays ±Inf
  if (s + z < -1) return 0;
  if (s + z > steps + 1) return e.steps;
  return static_cast<int64_t>(std::clamp(RoundT(s, rounding) + z, 0.0, steps));
}

inline double RefDequantize(int64_t code, const RefEncoding& e) {
  return static_cast<double>(code + e.offset) * e.scale;
}

// Distance from t to the nearest half-integer (0 on an exact tie).
inline double DistanceToTie(double t) {
  return std::fabs(t - std::floor(t) - 0.5);
}

// SPEC §2's accuracy rule: a code may differ from the formula's only where
// s = x / scale lies within this distance of a half step.
inline double SpecTieTolerance(double s) { return 1e-5 + 3e-7 * std::fabs(s); }

// Bound, in steps, on how far the kernels' float32 evaluation of x / scale
// may move it (SPEC §2 accuracy): the spec's tolerance. (The kernels round
// x / scale, or fl(x * inv_scale) + 0.5, and add the zero point exactly, so
// z does not enter it; their actual error is a few float32 ulps of s.)
inline double FloatEvalErrorSteps(double x, const RefEncoding& e) {
  return SpecTieTolerance(RefS(x, e));
}

inline double FloatUlp(float x) {
  const float a = std::fabs(x);
  return static_cast<double>(
             std::nextafter(a, std::numeric_limits<float>::infinity())) -
         static_cast<double>(a);
}

inline uint32_t FloatBits(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  return bits;
}

inline uint64_t DoubleBits(double x) {
  uint64_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  return bits;
}

// Relative difference, exact comparison when want is 0.
inline bool RelNear(double got, double want, double rel) {
  if (want == 0) return got == 0;
  return std::fabs(got - want) <= rel * std::fabs(want);
}

// ---------------------------------------------------------------------------
// Deterministic data (std::mt19937 with fixed seeds).

enum class Distribution {
  kNormal,        // N(0.3, 2)
  kUniform,       // U(-3, 7)
  kAllPositive,   // U(0.5, 40): lo > 0, zero is code 0
  kAllNegative,   // -U(0.25, 12): hi < 0, zero is code steps
  kConstant,      // every element 2.75
  kTinyRange,     // U(-0.002, 0.003): range < 0.01, min_range applies
  kHuge,          // N(0, 1) * 1e30
  kNearFloatMin,  // U(-3e-38, 5e-38), around FLT_MIN = 1.18e-38
  kDenormal,      // U(-1e-40, 2e-40), float32 subnormals
};

inline std::vector<Distribution> AllDistributions() {
  return {Distribution::kNormal,      Distribution::kUniform,
          Distribution::kAllPositive, Distribution::kAllNegative,
          Distribution::kConstant,    Distribution::kTinyRange,
          Distribution::kHuge,        Distribution::kNearFloatMin,
          Distribution::kDenormal};
}

inline std::string DistributionName(Distribution d) {
  switch (d) {
    case Distribution::kNormal:
      return "Normal";
    case Distribution::kUniform:
      return "Uniform";
    case Distribution::kAllPositive:
      return "AllPositive";
    case Distribution::kAllNegative:
      return "AllNegative";
    case Distribution::kConstant:
      return "Constant";
    case Distribution::kTinyRange:
      return "TinyRange";
    case Distribution::kHuge:
      return "Huge";
    case Distribution::kNearFloatMin:
      return "NearFloatMin";
    case Distribution::kDenormal:
      return "Denormal";
  }
  return "Unknown";
}

inline std::vector<float> Generate(Distribution d, size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::vector<float> x(n);
  auto fill_uniform = [&](double a, double b, double factor) {
    std::uniform_real_distribution<double> dist(a, b);
    for (float& v : x) v = static_cast<float>(dist(gen) * factor);
  };
  auto fill_normal = [&](double mean, double sd, double factor) {
    std::normal_distribution<double> dist(mean, sd);
    for (float& v : x) v = static_cast<float>(dist(gen) * factor);
  };
  switch (d) {
    case Distribution::kNormal:
      fill_normal(0.3, 2.0, 1.0);
      break;
    case Distribution::kUniform:
      fill_uniform(-3.0, 7.0, 1.0);
      break;
    case Distribution::kAllPositive:
      fill_uniform(0.5, 40.0, 1.0);
      break;
    case Distribution::kAllNegative:
      fill_uniform(0.25, 12.0, -1.0);
      break;
    case Distribution::kConstant:
      std::fill(x.begin(), x.end(), 2.75f);
      break;
    case Distribution::kTinyRange:
      fill_uniform(-0.002, 0.003, 1.0);
      break;
    case Distribution::kHuge:
      fill_normal(0.0, 1.0, 1e30);
      break;
    case Distribution::kNearFloatMin:
      fill_uniform(-3e-38, 5e-38, 1.0);
      break;
    case Distribution::kDenormal:
      fill_uniform(-1e-40, 2e-40, 1.0);
      break;
  }
  return x;
}

}  // namespace reference
}  // namespace wasmquant

#endif  // WASMQUANT_TESTS_CPP_REFERENCE_H_
