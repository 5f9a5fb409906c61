// One element at a time: the scalar kernels, and the SIMD kernels' tails, so
// the two agree by construction on every element they share.
#ifndef WASMQUANT_KERNELS_ELEMENT_H_
#define WASMQUANT_KERNELS_ELEMENT_H_

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "wasmquant/kernels.h"

namespace wasmquant {
namespace element {

// The rounded code as a float, before clamping. Two separate float32
// roundings (no FMA) are part of the definition the SIMD kernels match.
inline float Rounded(float x, const KernelParams& p) {
  const float u = x * p.inv_scale + p.bias;
  return p.rounding == Rounding::kHalfUp ? std::floor(u) : std::nearbyint(u);
}

// NaN lands on qmin here; callers that allow NaN fix those codes afterwards.
inline float ClampCode(float r, const KernelParams& p) {
  if (!(r >= static_cast<float>(p.qmin))) return static_cast<float>(p.qmin);
  if (r > static_cast<float>(p.qmax)) return static_cast<float>(p.qmax);
  return r;
}

inline int32_t Code(float x, const KernelParams& p) {
  return static_cast<int32_t>(
      ClampCode(Rounded(x, p) + static_cast<float>(p.post_shift), p));
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

// |x̂ - x|, x̂ the dequantized code of x.
inline float AbsError(float x, const KernelParams& p) {
  const float u = x * p.inv_scale + p.bias;
  const float r =
      (p.rounding == Rounding::kHalfUp ? std::floor(u) : std::nearbyint(u)) +
      static_cast<float>(p.post_shift);
  const float xhat =
      (ClampCode(r, p) - static_cast<float>(p.zero_point)) * p.scale;
  return std::fabs(xhat - x);
}

inline void AccumulateError(float x, const KernelParams& p, int lane,
                            ErrorLanes* lanes) {
  const float e = AbsError(x, p);
  const double ed = e;
  const double xd = x;
  lanes->sq_error[lane] += ed * ed;
  lanes->abs_error[lane] += ed;
  lanes->sq_signal[lane] += xd * xd;
  if (e > lanes->max_abs_error) lanes->max_abs_error = e;
  lanes->clipped += IsClipped(x, p);
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

// -0.0 and +0.0 compare equal, so which one a min/max keeps depends on the
// order of visits; adding +0.0 makes the result independent of it.
inline float CanonicalZero(float v) { return v + 0.0f; }

}  // namespace element
}  // namespace wasmquant

#endif  // WASMQUANT_KERNELS_ELEMENT_H_
