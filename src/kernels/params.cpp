#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

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
  // SPEC §2: q = clamp(R(x / scale) + z, 0, steps), the zero point added
  // after rounding, exactly, for every encoding and both roundings. For
  // symmetric encodings z + code_offset is 0, so the signed code is R(x /
  // scale) itself (SPEC §3.1). bias is what half-up adds before its floor.
  p.post_shift = p.zero_point;
  p.bias = rounding == Rounding::kHalfUp ? 0.5f : 0.0f;
  return p;
}

size_t RowPeriod(size_t positions, size_t min_period) {
  // Repetitions stop at this many positions: by then rows are long enough
  // that the scalar tails cost little, and the arrays stay in L1/L2.
  constexpr size_t kMaxRepeatedPeriod = 2048;
  constexpr size_t kVector = 16;  // u8 codes per SIMD128 store
  if (min_period == 0 || positions == 0) return positions;
  const size_t whole = positions / std::gcd(positions, kVector) * kVector;
  if (whole > kMaxRepeatedPeriod) return positions;
  return std::max<size_t>(1, (min_period + whole - 1) / whole) * whole;
}

ChannelParams MakeChannelParams(const std::vector<KernelParams>& channels,
                                size_t inner, size_t min_period) {
  const size_t positions = channels.size() * inner;
  const size_t period = RowPeriod(positions, min_period);
  ChannelParams c;
  c.period = period;
  c.rounding = channels.empty() ? Rounding::kHalfUp : channels[0].rounding;
  c.params.reserve(period);
  for (size_t q = 0; q < period; ++q) {
    c.params.push_back(channels[q % positions / inner]);
  }
  for (const KernelParams& p : c.params) {
    c.inv_scale.push_back(p.inv_scale);
    c.bias.push_back(p.bias);
    c.scale.push_back(p.scale);
    c.clip_low.push_back(p.clip_low);
    c.clip_high.push_back(p.clip_high);
    c.code_low.push_back(static_cast<float>(p.qmin - p.post_shift));
    c.code_high.push_back(static_cast<float>(p.qmax - p.post_shift));
    c.out_shift.push_back(p.post_shift + p.code_offset);
    c.zero_code.push_back(p.zero_point + p.code_offset);
    c.valid_low.push_back(p.qmin + p.code_offset);
    c.valid_high.push_back(p.qmax + p.code_offset);
  }
  return c;
}

}  // namespace wasmquant
