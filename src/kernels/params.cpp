#include <algorithm>
#include <cmath>
#include <limits>

#include "wasmquant/kernels.h"

namespace wasmquant {

namespace {

constexpr double kFloatMax = std::numeric_limits<float>::max();

// The smallest float >= v, and the largest float <= v (v within +-FLT_MAX).
float FloatAtLeast(double v) {
  const float f = static_cast<float>(std::max(v, -kFloatMax));
  return f >= v ? f : std::nextafter(f, std::numeric_limits<float>::infinity());
}
float FloatAtMost(double v) {
  const float f = static_cast<float>(std::min(v, kFloatMax));
  return f <= v ? f
                : std::nextafter(f, -std::numeric_limits<float>::infinity());
}

}  // namespace

KernelParams MakeKernelParams(const Encoding& encoding, Rounding rounding) {
  KernelParams p;
  p.clip_low = FloatAtLeast(encoding.min - encoding.scale / 2);
  p.clip_high = FloatAtMost(encoding.max + encoding.scale / 2);
  p.scale = static_cast<float>(encoding.scale);
  p.inv_scale = static_cast<float>(1.0 / encoding.scale);
  p.zero_point = -encoding.offset;
  p.qmin = 0;
  p.qmax = MaxUnsignedCode(encoding);
  p.code_offset = encoding.is_symmetric ? encoding.offset : 0;
  p.rounding = rounding;
  const bool half_up = rounding == Rounding::kHalfUp;
  // Ties to even apply to the signed code s = x / scale of a symmetric
  // encoding (SPEC §3.1), to t = x / scale + z otherwise (SPEC §2); the two
  // differ when z is odd (strict symmetric).
  p.post_shift = !half_up && encoding.is_symmetric ? p.zero_point : 0;
  p.bias =
      static_cast<float>(p.zero_point - p.post_shift) + (half_up ? 0.5f : 0.0f);
  return p;
}

const KernelTable& DefaultKernels() {
#if defined(__wasm_simd128__)
  return Simd128Kernels();
#else
  return ScalarKernels();
#endif
}

}  // namespace wasmquant
