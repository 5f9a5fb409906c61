// One element at a time: the scalar kernels, and the SIMD kernels' tails, so
// the two agree by construction on every element they share.
#ifndef WASMQUANT_KERNELS_ELEMENT_H_
#define WASMQUANT_KERNELS_ELEMENT_H_

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "nonfinite.h"
#include "wasmquant/kernels.h"

namespace wasmquant {
namespace element {

// R(x / scale) as a float, before the zero point (SPEC §2). Half-up rounds
// fl(fl(x * inv_scale) + 0.5) down; half-even rounds fl(x / scale), the
// float32 division ONNX Runtime's QuantizeLinear does, to nearest even. No
// FMA: the separate float32 roundings are part of the definition the SIMD
// kernels match.
inline float Rounded(float x, const KernelParams& p) {
  return p.rounding == Rounding::kHalfUp ? std::floor(x * p.inv_scale + p.bias)
                                         : std::nearbyint(x / p.scale);
}

// Rounded(x) clamped to [qmin, qmax] - post_shift, the codes that post_shift
// (the zero point) then moves into range exactly. NaN lands on the low end
// here; callers that allow NaN fix those codes afterwards.
inline float ClampRounded(float r, const KernelParams& p) {
  const float low = static_cast<float>(p.qmin - p.post_shift);
  const float high = static_cast<float>(p.qmax - p.post_shift);
  if (!(r >= low)) return low;
  if (r > high) return high;
  return r;
}

// The unsigned code: R(x / scale) + z in integer arithmetic, clamped.
inline int32_t Code(float x, const KernelParams& p) {
  return static_cast<int32_t>(ClampRounded(Rounded(x, p), p)) + p.post_shift;
}

// The code as written out: signed codes are shifted by code_offset.
inline int32_t OutputCode(float x, const KernelParams& p) {
  return Code(x, p) + p.code_offset;
}

// The output code that stands for 0.0.
inline int32_t ZeroCode(const KernelParams& p) {
  return p.zero_point + p.code_offset;
}

inline float Dequantize(int32_t code, const KernelParams& p) {
  return static_cast<float>(code - ZeroCode(p)) * p.scale;
}

inline bool IsClipped(float x, const KernelParams& p) {
  return (x < p.clip_low) | (x > p.clip_high);
}

// |x̂ - x|, x̂ the dequantized code of x: (code - z) * scale, and code - z is
// the clamped R(x / scale) (post_shift is z), exactly.
inline float AbsError(float x, const KernelParams& p) {
  const float xhat = ClampRounded(Rounded(x, p), p) * p.scale;
  return std::fabs(xhat - x);
}

// The double-precision terms of an element of error e into a lane.
inline void AddDoubleTerms(float e, float x, int lane, ErrorLanes* lanes) {
  const double ed = e;
  const double xd = x;
  lanes->sq_error[lane] += ed * ed;
  lanes->abs_error[lane] += ed;
  lanes->sq_signal[lane] += xd * xd;
}

inline void AccumulateError(float x, const KernelParams& p, int lane,
                            ErrorLanes* lanes) {
  const float e = AbsError(x, p);
  AddDoubleTerms(e, x, lane, lanes);
  if (e > lanes->max_abs_error) lanes->max_abs_error = e;
  lanes->clipped += IsClipped(x, p);
}

// Whether a block whose largest |x| and error are these keeps float32 sums
// within that bound: no square may overflow, and the terms that would be
// denormal must be negligible beside the block's largest. Other blocks are
// summed in double.
inline bool FloatBlockSafe(float max_abs_x, float max_abs_error) {
  const auto safe = [](float v) {
    return v == 0 || (v >= 0x1p-50f && v <= 0x1p60f);
  };
  return safe(max_abs_x) && safe(max_abs_error);
}

// The float32 sums of one block, lane by lane.
struct BlockSums {
  float sq_error[kErrorLanes] = {};
  float abs_error[kErrorLanes] = {};
  float sq_signal[kErrorLanes] = {};

  void AddTo(ErrorLanes* lanes) const {
    for (int l = 0; l < kErrorLanes; ++l) {
      lanes->sq_error[l] += sq_error[l];
      lanes->abs_error[l] += abs_error[l];
      lanes->sq_signal[l] += sq_signal[l];
    }
  }
};

// Whether the block x[0, n) whose float32 sums are these holds a NaN/Inf:
// such an element makes its lane's sum of squares NaN or Inf, so only then
// is the block looked at again (the sum overflows for huge finite values
// too, which FloatBlockSafe then sends to double).
inline bool BlockHasNonFinite(const BlockSums& sums, const float* x, size_t n) {
  bool finite = true;
  for (float s : sums.sq_signal) finite &= std::isfinite(s);
  return !finite && FirstNonFinite(x, n) < n;
}

// The elements x[start, n) (fewer than kErrorLanes) straight into the double
// lanes, up to the first NaN/Inf; returns how far it got.
inline size_t AccumulateTail(const float* x, size_t start, size_t n,
                             const KernelParams& p, ErrorLanes* lanes) {
  for (size_t i = start; i < n; ++i) {
    if (!std::isfinite(x[i])) return i;
    AccumulateError(x[i], p, static_cast<int>(i % kErrorLanes), lanes);
  }
  return n;
}

// A block that is not FloatBlockSafe, again, in double.
inline void AddBlockInDouble(const float* x, size_t n, const KernelParams& p,
                             ErrorLanes* lanes) {
  for (size_t i = 0; i < n; ++i) {
    AddDoubleTerms(AbsError(x[i], p), x[i], static_cast<int>(i % kErrorLanes),
                   lanes);
  }
}

// Adds x's error to the sequential sums of channel c (ChannelErrors).
inline void AccumulateChannelError(float x, const KernelParams& p, size_t c,
                                   const ChannelErrors& sums) {
  const float e = AbsError(x, p);
  const double ed = e;
  const double xd = x;
  sums.sq_error[c] += ed * ed;
  sums.abs_error[c] += ed;
  sums.sq_signal[c] += xd * xd;
  if (e > sums.max_abs_error[c]) sums.max_abs_error[c] = e;
  sums.clipped[c] += IsClipped(x, p);
}

// Float bits as an unsigned key in the order of the values (-0.0 before
// +0.0, NaN outside the infinities).
inline uint32_t OrderedKey(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return bits & 0x80000000u ? ~bits : bits | 0x80000000u;
}

// The keys of finite values lie strictly between those of -Inf and +Inf.
inline bool IsFiniteKey(uint32_t key) {
  return key > 0x007FFFFFu && key < 0xFF800000u;
}

// Counts v's key digit for each rank whose prefix it matches (KeyDigits).
inline void CountKeyDigit(float v, const KeyDigits& d, uint64_t* counts) {
  const uint32_t key = OrderedKey(v);
  if (!IsFiniteKey(key)) return;
  const size_t digit = (key >> d.shift) & d.digit_mask;
  for (int r = 0; r < d.ranks; ++r) {
    if ((key & d.prefix_mask) == d.prefix[r])
      ++counts[static_cast<size_t>(r) * d.stride + digit];
  }
}

// CountKeyDigit at position q of KeyDigitRows.
inline void CountRowKeyDigit(float v, const KeyDigitRows& rows, size_t q,
                             const KeyDigits* digits, uint64_t* counts) {
  const size_t c = rows.channel[q];
  CountKeyDigit(v, digits[c], counts + 2 * c * digits[c].stride);
}

// The pattern of raw float bits b that KeyDigits' test (key & mask) ==
// prefix accepts, as (b & mask) == pattern: a negative value's key is ~b, a
// positive one's is b with the sign bit set. (The mask holds the sign bit,
// or is 0.)
inline uint32_t RawKeyPattern(uint32_t prefix, uint32_t mask) {
  return (prefix & 0x80000000u ? prefix ^ 0x80000000u : ~prefix) & mask;
}

// -0.0 and +0.0 compare equal, so which one a min/max keeps depends on the
// order of visits; adding +0.0 makes the result independent of it.
inline float CanonicalZero(float v) { return v + 0.0f; }

}  // namespace element
}  // namespace wasmquant

#endif  // WASMQUANT_KERNELS_ELEMENT_H_
