// SIMD128 kernels. Each reproduces scalar.cpp bit for bit; the forms are
// chosen for V8's lowering (see docs/design.md, "What makes the kernels fast").
#include <wasm_simd128.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "kernels/element.h"
#include "wasmquant/kernels.h"

namespace wasmquant {
namespace {

// Adding 1.5 * 2^23 to a float of magnitude below 2^22 leaves its integer
// part, rounded to nearest even, in the low mantissa bits; above that range
// the bit pattern still grows with the value, so integer max/min and the
// saturating narrows clamp correctly, as in XNNPACK's "magic bias" kernels.
constexpr float kMagic = 12582912.0f;
constexpr int32_t kMagicBits = 0x4B400000;
// 2^23 as float bits: OR-ing a code below 2^23 into it gives 2^23 + code.
constexpr int32_t kTwoPow23Bits = 0x4B000000;

// Calls step(i) for every multiple i of kBlock with i + kBlock <= n, and
// returns where the remaining tail starts. Most of the range is walked as
// four quarters side by side: four independent streams keep more cache misses
// in flight than one, which roughly doubles the speed on data from L3 or DRAM.
template <size_t kBlock, typename Step>
size_t ForEachBlock(size_t n, Step&& step) {
  const size_t quarter = n / 4 / kBlock * kBlock;
  for (size_t i = 0; i < quarter; i += kBlock) {
    step(i);
    step(quarter + i);
    step(2 * quarter + i);
    step(3 * quarter + i);
  }
  size_t i = 4 * quarter;
  for (; i + kBlock <= n; i += kBlock) step(i);
  return i;
}

float HorizontalMin(v128_t v) {
  float out = std::numeric_limits<float>::infinity();
  for (int lane = 0; lane < 4; ++lane) {
    float f;
    std::memcpy(&f, reinterpret_cast<const char*>(&v) + 4 * lane, 4);
    if (f < out) out = f;
  }
  return out;
}

float HorizontalMax(v128_t v) {
  float out = -std::numeric_limits<float>::infinity();
  for (int lane = 0; lane < 4; ++lane) {
    float f;
    std::memcpy(&f, reinterpret_cast<const char*>(&v) + 4 * lane, 4);
    if (f > out) out = f;
  }
  return out;
}

MinMaxResult MinMax(const float* x, size_t n) {
  const float inf = std::numeric_limits<float>::infinity();
  v128_t lo[4], hi[4], sum[4];
  for (int k = 0; k < 4; ++k) {
    lo[k] = wasm_f32x4_splat(inf);
    hi[k] = wasm_f32x4_splat(-inf);
    sum[k] = wasm_f32x4_splat(0);
  }
  // pmin/pmax skip NaN (they keep the accumulator when a comparison is
  // false). A running sum catches NaN in one instruction: in one lane it
  // becomes NaN only through a NaN or an infinity in the data, and an
  // infinity also shows in lo/hi.
  const size_t tail = ForEachBlock<16>(n, [&](size_t i) {
    for (int k = 0; k < 4; ++k) {
      const v128_t v = wasm_v128_load(x + i + 4 * k);
      lo[k] = wasm_f32x4_pmin(lo[k], v);
      hi[k] = wasm_f32x4_pmax(hi[k], v);
      sum[k] = wasm_f32x4_add(sum[k], v);
    }
  });
  float lo_s = HorizontalMin(wasm_f32x4_pmin(wasm_f32x4_pmin(lo[0], lo[1]),
                                             wasm_f32x4_pmin(lo[2], lo[3])));
  float hi_s = HorizontalMax(wasm_f32x4_pmax(wasm_f32x4_pmax(hi[0], hi[1]),
                                             wasm_f32x4_pmax(hi[2], hi[3])));
  v128_t nan = wasm_i32x4_splat(0);
  for (int k = 0; k < 4; ++k)
    nan = wasm_v128_or(nan, wasm_f32x4_ne(sum[k], sum[k]));
  bool has_nan = wasm_v128_any_true(nan);
  for (size_t i = tail; i < n; ++i) {
    const float v = x[i];
    if (v < lo_s) lo_s = v;
    if (v > hi_s) hi_s = v;
    has_nan |= v != v;
  }
  const bool all_finite = !has_nan && lo_s > -inf && hi_s < inf;
  return {element::CanonicalZero(lo_s), element::CanonicalZero(hi_s),
          all_finite || n == 0};
}

// Four elements of x to clamped int32 codes plus code_offset. The rounding
// mode is a template parameter so that each loop holds only its own rounding
// instruction.
template <Rounding kRounding>
struct CodeMaker {
  explicit CodeMaker(const KernelParams& p)
      : inv(wasm_f32x4_splat(p.inv_scale)),
        bias(wasm_f32x4_splat(p.bias)),
        scale(wasm_f32x4_splat(p.scale)),
        magic(wasm_f32x4_splat(kMagic)),
        low(wasm_i32x4_splat(kMagicBits + p.qmin - p.post_shift)),
        unbias(wasm_i32x4_splat(kMagicBits - p.post_shift - p.code_offset)) {}

  // s = magic + R(x / scale) exactly (|R| < 2^22; beyond, the bits still
  // grow with the value and the clamps below saturate). The zero point
  // (post_shift) is added after rounding, as an integer, in unbias.
  v128_t Make(v128_t x) const {
    v128_t s;
    if (kRounding == Rounding::kHalfUp) {
      s = wasm_f32x4_add(
          wasm_f32x4_floor(wasm_f32x4_add(wasm_f32x4_mul(x, inv), bias)),
          magic);
    } else {
      // Adding the magic number rounds fl(x / scale) to nearest even.
      s = wasm_f32x4_add(wasm_f32x4_div(x, scale), magic);
    }
    return wasm_i32x4_sub(wasm_i32x4_max(s, low), unbias);
  }

  v128_t inv, bias, scale, magic, low, unbias;
};

// Narrowing int32 codes into each code type. The saturating narrows clamp
// to the type's range; min (and max for signed types, whose low end the
// magic-number max does not reach after code_offset) clamp to the codes'.
template <typename Code>
struct Narrower;

template <>
struct Narrower<uint8_t> {
  static constexpr size_t kBlock = 16;
  explicit Narrower(const KernelParams& p)
      : hi(wasm_u8x16_splat(static_cast<uint8_t>(p.qmax + p.code_offset))) {}
  v128_t Narrow(const v128_t* c) const {
    return wasm_u8x16_min(
        wasm_u8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(c[0], c[1]),
                                wasm_i16x8_narrow_i32x4(c[2], c[3])),
        hi);
  }
  v128_t hi;
};

template <>
struct Narrower<int8_t> {
  static constexpr size_t kBlock = 16;
  explicit Narrower(const KernelParams& p)
      : lo(wasm_i8x16_splat(static_cast<int8_t>(p.qmin + p.code_offset))),
        hi(wasm_i8x16_splat(static_cast<int8_t>(p.qmax + p.code_offset))) {}
  v128_t Narrow(const v128_t* c) const {
    const v128_t v =
        wasm_i8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(c[0], c[1]),
                                wasm_i16x8_narrow_i32x4(c[2], c[3]));
    return wasm_i8x16_min(wasm_i8x16_max(v, lo), hi);
  }
  v128_t lo, hi;
};

template <>
struct Narrower<uint16_t> {
  static constexpr size_t kBlock = 8;
  explicit Narrower(const KernelParams& p)
      : hi(wasm_u16x8_splat(static_cast<uint16_t>(p.qmax + p.code_offset))) {}
  v128_t Narrow(const v128_t* c) const {
    return wasm_u16x8_min(wasm_u16x8_narrow_i32x4(c[0], c[1]), hi);
  }
  v128_t hi;
};

template <>
struct Narrower<int16_t> {
  static constexpr size_t kBlock = 8;
  explicit Narrower(const KernelParams& p)
      : lo(wasm_i16x8_splat(static_cast<int16_t>(p.qmin + p.code_offset))),
        hi(wasm_i16x8_splat(static_cast<int16_t>(p.qmax + p.code_offset))) {}
  v128_t Narrow(const v128_t* c) const {
    const v128_t v = wasm_i16x8_narrow_i32x4(c[0], c[1]);
    return wasm_i16x8_min(wasm_i16x8_max(v, lo), hi);
  }
  v128_t lo, hi;
};

// Instantiates Kernel<kHalfUp> or Kernel<kHalfEven> per the parameters.
template <template <Rounding> class Kernel, typename... Args>
auto WithRounding(const KernelParams& p, Args... args) {
  if (p.rounding == Rounding::kHalfUp) {
    return Kernel<Rounding::kHalfUp>::Run(args..., p);
  }
  return Kernel<Rounding::kHalfEven>::Run(args..., p);
}

template <typename Code>
struct QuantizeAs {
  template <Rounding kRounding>
  struct Loop {
    static void Run(const float* x, size_t n, Code* codes,
                    const KernelParams& p) {
      const CodeMaker<kRounding> maker(p);
      const Narrower<Code> narrower(p);
      constexpr size_t kBlock = Narrower<Code>::kBlock;
      const size_t tail = ForEachBlock<kBlock>(n, [&](size_t i) {
        v128_t c[kBlock / 4];
        for (size_t k = 0; k < kBlock / 4; ++k) {
          c[k] = maker.Make(wasm_v128_load(x + i + 4 * k));
        }
        wasm_v128_store(codes + i, narrower.Narrow(c));
      });
      for (size_t i = tail; i < n; ++i) {
        codes[i] = static_cast<Code>(element::OutputCode(x[i], p));
      }
    }
  };
};

template <typename Code>
void Quantize(const float* x, size_t n, const KernelParams& p, Code* codes) {
  WithRounding<QuantizeAs<Code>::template Loop>(p, x, n, codes);
}

// Four int32 codes to floats, as (code - k) * scale with k the code of 0.0.
// Unsigned codes (below 2^23) OR-ed into the bits of 2^23 give 2^23 + code
// exactly, which avoids the slow unsigned conversion; signed codes convert
// directly. Either way the float is exactly code - k, as scalar computes it.
struct Dequantizer {
  explicit Dequantizer(const KernelParams& p)
      : exponent(wasm_i32x4_splat(kTwoPow23Bits)),
        shift(wasm_f32x4_splat(8388608.0f +
                               static_cast<float>(element::ZeroCode(p)))),
        zero(wasm_i32x4_splat(element::ZeroCode(p))),
        scale(wasm_f32x4_splat(p.scale)) {}

  v128_t FromUnsigned(v128_t codes_u32) const {
    const v128_t f = wasm_v128_or(codes_u32, exponent);
    return wasm_f32x4_mul(wasm_f32x4_sub(f, shift), scale);
  }
  v128_t FromSigned(v128_t codes_i32) const {
    return wasm_f32x4_mul(
        wasm_f32x4_convert_i32x4(wasm_i32x4_sub(codes_i32, zero)), scale);
  }

  v128_t exponent, shift, zero, scale;
};

// Loading one block of codes as int32 vectors, per code type.
template <typename Code>
struct Widener;

template <>
struct Widener<uint8_t> {
  static constexpr size_t kBlock = 16;
  static constexpr bool kSigned = false;
  static void Load(const uint8_t* codes, v128_t* w) {
    const v128_t c = wasm_v128_load(codes);
    const v128_t lo = wasm_u16x8_extend_low_u8x16(c);
    const v128_t hi = wasm_u16x8_extend_high_u8x16(c);
    w[0] = wasm_u32x4_extend_low_u16x8(lo);
    w[1] = wasm_u32x4_extend_high_u16x8(lo);
    w[2] = wasm_u32x4_extend_low_u16x8(hi);
    w[3] = wasm_u32x4_extend_high_u16x8(hi);
  }
};

template <>
struct Widener<int8_t> {
  static constexpr size_t kBlock = 16;
  static constexpr bool kSigned = true;
  static void Load(const int8_t* codes, v128_t* w) {
    const v128_t c = wasm_v128_load(codes);
    const v128_t lo = wasm_i16x8_extend_low_i8x16(c);
    const v128_t hi = wasm_i16x8_extend_high_i8x16(c);
    w[0] = wasm_i32x4_extend_low_i16x8(lo);
    w[1] = wasm_i32x4_extend_high_i16x8(lo);
    w[2] = wasm_i32x4_extend_low_i16x8(hi);
    w[3] = wasm_i32x4_extend_high_i16x8(hi);
  }
};

template <>
struct Widener<uint16_t> {
  static constexpr size_t kBlock = 8;
  static constexpr bool kSigned = false;
  static void Load(const uint16_t* codes, v128_t* w) {
    const v128_t c = wasm_v128_load(codes);
    w[0] = wasm_u32x4_extend_low_u16x8(c);
    w[1] = wasm_u32x4_extend_high_u16x8(c);
  }
};

template <>
struct Widener<int16_t> {
  static constexpr size_t kBlock = 8;
  static constexpr bool kSigned = true;
  static void Load(const int16_t* codes, v128_t* w) {
    const v128_t c = wasm_v128_load(codes);
    w[0] = wasm_i32x4_extend_low_i16x8(c);
    w[1] = wasm_i32x4_extend_high_i16x8(c);
  }
};

template <typename Code>
void Dequantize(const Code* codes, size_t n, const KernelParams& p, float* x) {
  using W = Widener<Code>;
  const Dequantizer d(p);
  const size_t tail = ForEachBlock<W::kBlock>(n, [&](size_t i) {
    v128_t w[W::kBlock / 4];
    W::Load(codes + i, w);
    for (size_t k = 0; k < W::kBlock / 4; ++k) {
      wasm_v128_store(x + i + 4 * k,
                      W::kSigned ? d.FromSigned(w[k]) : d.FromUnsigned(w[k]));
    }
  });
  for (size_t i = tail; i < n; ++i) x[i] = element::Dequantize(codes[i], p);
}

// The float32 block sums (element::BlockSums) of eight consecutive elements,
// lanes 0-3 and 4-7, in registers.
struct BlockPart {
  v128_t sq[2], abs[2], sig[2];

  BlockPart() {
    for (int h = 0; h < 2; ++h) {
      sq[h] = abs[h] = sig[h] = wasm_f32x4_splat(0);
    }
  }
  void Add(int h, v128_t abs_err, v128_t x) {
    sq[h] = wasm_f32x4_add(sq[h], wasm_f32x4_mul(abs_err, abs_err));
    abs[h] = wasm_f32x4_add(abs[h], abs_err);
    sig[h] = wasm_f32x4_add(sig[h], wasm_f32x4_mul(x, x));
  }
  void Store(element::BlockSums* sums) const {
    for (int h = 0; h < 2; ++h) {
      wasm_v128_store(sums->sq_error + 4 * h, sq[h]);
      wasm_v128_store(sums->abs_error + 4 * h, abs[h]);
      wasm_v128_store(sums->sq_signal + 4 * h, sig[h]);
    }
  }
};

// The elements of x[0, n) outside [clip_low, clip_high], four lanes at a
// time; the int32 lane counters are folded before they could overflow.
uint64_t CountClipped(const float* x, size_t n, const KernelParams& p) {
  const v128_t lo = wasm_f32x4_splat(p.clip_low);
  const v128_t hi = wasm_f32x4_splat(p.clip_high);
  constexpr size_t kFold = size_t{1} << 30;
  uint64_t total = 0;
  size_t i = 0;
  while (i + 4 <= n) {
    const size_t end = i + std::min(n - i, kFold) / 4 * 4;
    v128_t count = wasm_i32x4_splat(0);
    for (; i < end; i += 4) {
      const v128_t v = wasm_v128_load(x + i);
      const v128_t out =
          wasm_v128_or(wasm_f32x4_lt(v, lo), wasm_f32x4_gt(v, hi));
      count = wasm_i32x4_sub(count, out);
    }
    for (int lane = 0; lane < 4; ++lane) {
      int32_t c;
      std::memcpy(&c, reinterpret_cast<const char*>(&count) + 4 * lane, 4);
      total += static_cast<uint32_t>(c);
    }
  }
  for (; i < n; ++i) total += element::IsClipped(x[i], p);
  return total;
}

template <Rounding kRounding>
struct ErrorMaker {
  // element::AbsError: R(x / scale) clamped to [qmin, qmax] - z is code - z
  // exactly (small integers), which times scale is x̂.
  explicit ErrorMaker(const KernelParams& p)
      : inv(wasm_f32x4_splat(p.inv_scale)),
        bias(wasm_f32x4_splat(p.bias)),
        qmin(wasm_f32x4_splat(static_cast<float>(p.qmin - p.post_shift))),
        qmax(wasm_f32x4_splat(static_cast<float>(p.qmax - p.post_shift))),
        scale(wasm_f32x4_splat(p.scale)) {}

  // |x̂ - x| for four elements.
  v128_t AbsError(v128_t x) const {
    const v128_t r =
        kRounding == Rounding::kHalfUp
            ? wasm_f32x4_floor(wasm_f32x4_add(wasm_f32x4_mul(x, inv), bias))
            : wasm_f32x4_nearest(wasm_f32x4_div(x, scale));
    const v128_t c = wasm_f32x4_pmin(wasm_f32x4_pmax(r, qmin), qmax);
    const v128_t xhat = wasm_f32x4_mul(c, scale);
    return wasm_f32x4_abs(wasm_f32x4_sub(xhat, x));
  }

  v128_t inv, bias, qmin, qmax, scale;
};

template <Rounding kRounding>
struct AccumulateErrorLoop {
  static size_t Run(const float* x, size_t n, ErrorLanes* lanes,
                    const KernelParams& p) {
    static_assert(kErrorLanes == 8, "the loop below fills 8 lanes");
    const ErrorMaker<kRounding> maker(p);
    // Clipping is rare, so the loop only tracks the range of x; a second
    // look counts the clipped elements when that range says there are any.
    float lo = std::numeric_limits<float>::infinity();
    float hi = -lo;
    const size_t whole = n / kErrorLanes * kErrorLanes;
    size_t b = 0;
    for (; b < whole; b += kErrorBlock) {
      const size_t end = b + std::min(whole - b, kErrorBlock);
      BlockPart part;
      v128_t max_err = wasm_f32x4_splat(0);
      v128_t x_lo = wasm_f32x4_splat(std::numeric_limits<float>::infinity());
      v128_t x_hi = wasm_f32x4_splat(-std::numeric_limits<float>::infinity());
      for (size_t i = b; i < end; i += 8) {
        const v128_t x0 = wasm_v128_load(x + i);
        const v128_t x1 = wasm_v128_load(x + i + 4);
        x_lo = wasm_f32x4_pmin(x_lo, wasm_f32x4_pmin(x0, x1));
        x_hi = wasm_f32x4_pmax(x_hi, wasm_f32x4_pmax(x0, x1));
        const v128_t e0 = maker.AbsError(x0);
        const v128_t e1 = maker.AbsError(x1);
        max_err = wasm_f32x4_pmax(max_err, wasm_f32x4_pmax(e0, e1));
        part.Add(0, e0, x0);
        part.Add(1, e1, x1);
      }
      element::BlockSums sums;
      part.Store(&sums);
      if (element::BlockHasNonFinite(sums, x + b, end - b)) break;
      const float block_lo = HorizontalMin(x_lo);
      const float block_hi = HorizontalMax(x_hi);
      const float block_max_err = HorizontalMax(max_err);
      lanes->max_abs_error = std::max(lanes->max_abs_error, block_max_err);
      if (element::FloatBlockSafe(std::max(-block_lo, block_hi),
                                  block_max_err)) {
        sums.AddTo(lanes);
      } else {
        element::AddBlockInDouble(x + b, end - b, p, lanes);
      }
      lo = std::min(lo, block_lo);
      hi = std::max(hi, block_hi);
    }
    const size_t added = std::min(b, whole);
    if (lo < p.clip_low || hi > p.clip_high) {
      lanes->clipped += CountClipped(x, added, p);
    }
    return added < whole ? added
                         : element::AccumulateTail(x, whole, n, p, lanes);
  }
};

size_t AccumulateError(const float* x, size_t n, const KernelParams& p,
                       ErrorLanes* lanes) {
  return WithRounding<AccumulateErrorLoop>(p, x, n, lanes);
}

// Channels-innermost kernels. The params of consecutive positions are
// consecutive, so each vector of elements meets a vector of params, loaded
// from ChannelParams' arrays; the tails of each row segment use element.h
// with that position's KernelParams, as the scalar kernels do.
// element::Code's clamp of r + post_shift to [qmin, qmax] done as one of r
// to [qmin, qmax] - post_shift (code_low, code_high), exactly: all small
// integers, and an r too large for exact addition is clamped either way.
// R(x / scale) as element::Rounded computes it (half-up from x * inv_scale
// + bias, half-even from x / scale).
template <Rounding kRounding>
v128_t ClampedCodes(v128_t x, v128_t inv_scale, v128_t bias, v128_t scale,
                    v128_t code_low, v128_t code_high) {
  const v128_t r =
      kRounding == Rounding::kHalfUp
          ? wasm_f32x4_floor(wasm_f32x4_add(wasm_f32x4_mul(x, inv_scale), bias))
          : wasm_f32x4_nearest(wasm_f32x4_div(x, scale));
  return wasm_f32x4_pmin(wasm_f32x4_pmax(r, code_low), code_high);
}

// element::AbsError from the clamped R(x / scale), which is code - z.
inline v128_t AbsErrorOf(v128_t x, v128_t clamped, v128_t scale) {
  const v128_t xhat = wasm_f32x4_mul(clamped, scale);
  return wasm_f32x4_abs(wasm_f32x4_sub(xhat, x));
}

struct RowParams {
  explicit RowParams(const ChannelParams& p)
      : inv_scale(p.inv_scale.data()),
        bias(p.bias.data()),
        scale(p.scale.data()),
        clip_low(p.clip_low.data()),
        clip_high(p.clip_high.data()),
        code_low(p.code_low.data()),
        code_high(p.code_high.data()),
        out_shift(p.out_shift.data()),
        zero_code(p.zero_code.data()) {}

  // The rounded codes, clamped, of four elements at positions q..q+3, before
  // post_shift (see ClampedCodes).
  template <Rounding kRounding>
  v128_t Clamped(v128_t x, size_t q) const {
    return ClampedCodes<kRounding>(
        x, wasm_v128_load(inv_scale + q), wasm_v128_load(bias + q),
        wasm_v128_load(scale + q), wasm_v128_load(code_low + q),
        wasm_v128_load(code_high + q));
  }

  // element::OutputCode of four elements, as int32.
  template <Rounding kRounding>
  v128_t Codes(v128_t x, size_t q) const {
    return wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(Clamped<kRounding>(x, q)),
                          wasm_v128_load(out_shift + q));
  }

  // element::AbsError of four elements.
  template <Rounding kRounding>
  v128_t AbsError(v128_t x, size_t q) const {
    return AbsErrorOf(x, Clamped<kRounding>(x, q), wasm_v128_load(scale + q));
  }

  const float* inv_scale;
  const float* bias;
  const float* scale;
  const float* clip_low;
  const float* clip_high;
  const float* code_low;
  const float* code_high;
  const int32_t* out_shift;
  const int32_t* zero_code;
};

// int32 codes already in the code type's range to the code type: the
// saturating narrows only pack.
template <typename Code>
struct RowNarrower;

template <>
struct RowNarrower<uint8_t> {
  static constexpr size_t kBlock = 16;
  static v128_t Narrow(const v128_t* c) {
    return wasm_u8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(c[0], c[1]),
                                   wasm_i16x8_narrow_i32x4(c[2], c[3]));
  }
};

template <>
struct RowNarrower<int8_t> {
  static constexpr size_t kBlock = 16;
  static v128_t Narrow(const v128_t* c) {
    return wasm_i8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(c[0], c[1]),
                                   wasm_i16x8_narrow_i32x4(c[2], c[3]));
  }
};

template <>
struct RowNarrower<uint16_t> {
  static constexpr size_t kBlock = 8;
  static v128_t Narrow(const v128_t* c) {
    return wasm_u16x8_narrow_i32x4(c[0], c[1]);
  }
};

template <>
struct RowNarrower<int16_t> {
  static constexpr size_t kBlock = 8;
  static v128_t Narrow(const v128_t* c) {
    return wasm_i16x8_narrow_i32x4(c[0], c[1]);
  }
};

template <typename Code, Rounding kRounding>
void QuantizeRowsWith(const float* x, size_t n, const ChannelParams& p,
                      size_t k, Code* codes) {
  const RowParams r(p);
  const size_t period = p.period;
  constexpr size_t kBlock = RowNarrower<Code>::kBlock;
  const auto block = [&](size_t at, size_t q) {
    v128_t c[kBlock / 4];
    for (size_t m = 0; m < kBlock / 4; ++m) {
      c[m] = r.Codes<kRounding>(wasm_v128_load(x + at + 4 * m), q + 4 * m);
    }
    wasm_v128_store(codes + at, RowNarrower<Code>::Narrow(c));
  };
  const auto segment = [&](size_t j, size_t q, size_t length) {
    size_t t = 0;
    for (; t + kBlock <= length; t += kBlock) block(j + t, q + t);
    for (; t < length; ++t) {
      codes[j + t] =
          static_cast<Code>(element::OutputCode(x[j + t], p.params[q + t]));
    }
  };
  ForEachRowSegment(n, period, k, segment);
}

template <typename Code>
void QuantizeRows(const float* x, size_t n, const ChannelParams& p, size_t k,
                  Code* codes) {
  if (p.rounding == Rounding::kHalfUp) {
    QuantizeRowsWith<Code, Rounding::kHalfUp>(x, n, p, k, codes);
  } else {
    QuantizeRowsWith<Code, Rounding::kHalfEven>(x, n, p, k, codes);
  }
}

// (code - zero_code) * scale; the widened codes are below 2^16 in
// magnitude, so the signed conversion is exact for unsigned codes too.
template <typename Code>
void DequantizeRows(const Code* codes, size_t n, const ChannelParams& p,
                    size_t k, float* x) {
  using W = Widener<Code>;
  constexpr size_t kVectors = W::kBlock / 4;
  const RowParams r(p);
  const size_t period = p.period;
  const auto block = [&](const Code* c, const v128_t* zero, const v128_t* scale,
                         float* out) {
    v128_t w[kVectors];
    W::Load(c, w);
    for (size_t m = 0; m < kVectors; ++m) {
      wasm_v128_store(out + 4 * m,
                      wasm_f32x4_mul(wasm_f32x4_convert_i32x4(
                                         wasm_i32x4_sub(w[m], zero[m])),
                                     scale[m]));
    }
  };
  const auto load = [&](size_t q, v128_t* zero, v128_t* scale) {
    for (size_t m = 0; m < kVectors; ++m) {
      zero[m] = wasm_v128_load(r.zero_code + q + 4 * m);
      scale[m] = wasm_v128_load(r.scale + q + 4 * m);
    }
  };
  const auto segment = [&](size_t j, size_t q, size_t length) {
    size_t t = 0;
    for (; t + W::kBlock <= length; t += W::kBlock) {
      v128_t zero[kVectors], scale[kVectors];
      load(q + t, zero, scale);
      block(codes + j + t, zero, scale, x + j + t);
    }
    for (; t < length; ++t) {
      x[j + t] = element::Dequantize(codes[j + t], p.params[q + t]);
    }
  };
  ForEachRowSegment(n, period, k, segment);
}

// pmin(lo, v) is v < lo ? v : lo, the scalar kernel's update (also for
// -0.0 against +0.0); pmax likewise.
void MinMaxRows(const float* x, size_t n, size_t period, size_t k, float* lo,
                float* hi) {
  const auto scalar = [&](float v, size_t q) {
    if (v < lo[q]) lo[q] = v;
    if (v > hi[q]) hi[q] = v;
  };
  const auto segment = [&](size_t j, size_t q, size_t length) {
    size_t t = 0;
    for (; t + 4 <= length; t += 4) {
      const v128_t v = wasm_v128_load(x + j + t);
      wasm_v128_store(lo + q + t,
                      wasm_f32x4_pmin(wasm_v128_load(lo + q + t), v));
      wasm_v128_store(hi + q + t,
                      wasm_f32x4_pmax(wasm_v128_load(hi + q + t), v));
    }
    for (; t < length; ++t) scalar(x[j + t], q + t);
  };
  ForEachRowSegment(n, period, k, segment);
}

// Four channels' error sums, in registers.
struct ErrorColumn {
  v128_t sq_lo, sq_hi, abs_lo, abs_hi, sig_lo, sig_hi, max;

  void Load(const ChannelErrors& sums, size_t c) {
    sq_lo = wasm_v128_load(sums.sq_error + c);
    sq_hi = wasm_v128_load(sums.sq_error + c + 2);
    abs_lo = wasm_v128_load(sums.abs_error + c);
    abs_hi = wasm_v128_load(sums.abs_error + c + 2);
    sig_lo = wasm_v128_load(sums.sq_signal + c);
    sig_hi = wasm_v128_load(sums.sq_signal + c + 2);
    max = wasm_v128_load(sums.max_abs_error + c);
  }
  void Store(const ChannelErrors& sums, size_t c) const {
    wasm_v128_store(sums.sq_error + c, sq_lo);
    wasm_v128_store(sums.sq_error + c + 2, sq_hi);
    wasm_v128_store(sums.abs_error + c, abs_lo);
    wasm_v128_store(sums.abs_error + c + 2, abs_hi);
    wasm_v128_store(sums.sq_signal + c, sig_lo);
    wasm_v128_store(sums.sq_signal + c + 2, sig_hi);
    wasm_v128_store(sums.max_abs_error + c, max);
  }
  // As element::AccumulateChannelError, without the clip count.
  void Add(v128_t e, v128_t x) {
    const v128_t e_lo = wasm_f64x2_promote_low_f32x4(e);
    const v128_t e_hi =
        wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(e, e, 2, 3, 2, 3));
    const v128_t x_lo = wasm_f64x2_promote_low_f32x4(x);
    const v128_t x_hi =
        wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(x, x, 2, 3, 2, 3));
    sq_lo = wasm_f64x2_add(sq_lo, wasm_f64x2_mul(e_lo, e_lo));
    sq_hi = wasm_f64x2_add(sq_hi, wasm_f64x2_mul(e_hi, e_hi));
    abs_lo = wasm_f64x2_add(abs_lo, e_lo);
    abs_hi = wasm_f64x2_add(abs_hi, e_hi);
    sig_lo = wasm_f64x2_add(sig_lo, wasm_f64x2_mul(x_lo, x_lo));
    sig_hi = wasm_f64x2_add(sig_hi, wasm_f64x2_mul(x_hi, x_hi));
    // pmax(max, e) is max < e ? e : max, the scalar update.
    max = wasm_f32x4_pmax(max, e);
  }
};

// Each channel's sums stay sequential in element order: a vector holds four
// channels of one row, and rows are added in order, so nothing is
// reassociated and SIMD and scalar agree bit for bit.
template <Rounding kRounding>
void AccumulateErrorRowsWith(const float* x, size_t n, const ChannelParams& p,
                             size_t k, const ChannelErrors& sums) {
  const RowParams r(p);
  const size_t period = p.period;
  // Clipping is rare: counted element by element when a lane has it.
  const auto count_clipped = [&](const float* v4, v128_t v, size_t c) {
    const v128_t out =
        wasm_v128_or(wasm_f32x4_lt(v, wasm_v128_load(r.clip_low + c)),
                     wasm_f32x4_gt(v, wasm_v128_load(r.clip_high + c)));
    if (wasm_v128_any_true(out)) {
      for (size_t l = 0; l < 4; ++l) {
        sums.clipped[c + l] += element::IsClipped(v4[l], p.params[c + l]);
      }
    }
  };
  const auto segment = [&](size_t j, size_t q, size_t length) {
    size_t t = 0;
    for (; t + 4 <= length; t += 4) {
      const size_t c = q + t;
      const v128_t v = wasm_v128_load(x + j + t);
      ErrorColumn column;
      column.Load(sums, c);
      column.Add(r.AbsError<kRounding>(v, c), v);
      column.Store(sums, c);
      count_clipped(x + j + t, v, c);
    }
    for (; t < length; ++t) {
      element::AccumulateChannelError(x[j + t], p.params[q + t], q + t, sums);
    }
  };
  ForEachRowSegment(n, period, k, segment);
}

void AccumulateErrorRows(const float* x, size_t n, const ChannelParams& p,
                         size_t k, const ChannelErrors& sums) {
  if (p.rounding == Rounding::kHalfUp) {
    AccumulateErrorRowsWith<Rounding::kHalfUp>(x, n, p, k, sums);
  } else {
    AccumulateErrorRowsWith<Rounding::kHalfEven>(x, n, p, k, sums);
  }
}

// The first digit of every finite key, for one rank (pass 0): keys and
// digits four at a time, then counted lane by lane; blocks with a non-finite
// element element by element.
void CountFirstDigits(const float* x, size_t n, const KeyDigits& d,
                      uint64_t* counts) {
  const v128_t sign = wasm_i32x4_splat(INT32_MIN);
  const v128_t below = wasm_i32x4_splat(0x007FFFFF);  // the key of -Inf
  const v128_t above = wasm_i32x4_splat(static_cast<int32_t>(0xFF800000u));
  const v128_t digit_mask =
      wasm_i32x4_splat(static_cast<int32_t>(d.digit_mask));
  const auto count_lanes = [&](v128_t digits) {
    ++counts[static_cast<uint32_t>(wasm_i32x4_extract_lane(digits, 0))];
    ++counts[static_cast<uint32_t>(wasm_i32x4_extract_lane(digits, 1))];
    ++counts[static_cast<uint32_t>(wasm_i32x4_extract_lane(digits, 2))];
    ++counts[static_cast<uint32_t>(wasm_i32x4_extract_lane(digits, 3))];
  };
  const size_t tail = ForEachBlock<16>(n, [&](size_t i) {
    v128_t keys[4];
    v128_t finite = wasm_i32x4_splat(-1);
    for (int k = 0; k < 4; ++k) {
      const v128_t b = wasm_v128_load(x + i + 4 * k);
      keys[k] = wasm_v128_xor(b, wasm_v128_or(wasm_i32x4_shr(b, 31), sign));
      finite =
          wasm_v128_and(finite, wasm_v128_and(wasm_u32x4_gt(keys[k], below),
                                              wasm_u32x4_lt(keys[k], above)));
    }
    if (!wasm_i32x4_all_true(finite)) {
      for (size_t t = i; t < i + 16; ++t) {
        element::CountKeyDigit(x[t], d, counts);
      }
      return;
    }
    for (int k = 0; k < 4; ++k) {
      count_lanes(wasm_v128_and(wasm_u32x4_shr(keys[k], d.shift), digit_mask));
    }
  });
  for (size_t i = tail; i < n; ++i) element::CountKeyDigit(x[i], d, counts);
}

// After the first digit, few keys still match a rank's prefix: blocks where
// none does are skipped on a test of the raw bits, and the others counted
// element by element, as scalar does.
void CountKeyDigits(const float* x, size_t n, const KeyDigits& d,
                    uint64_t* counts) {
  const auto count = [&](size_t i, size_t end) {
    for (; i < end; ++i) element::CountKeyDigit(x[i], d, counts);
  };
  if (d.prefix_mask == 0 && d.ranks == 1) {
    return CountFirstDigits(x, n, d, counts);
  }
  const v128_t mask = wasm_i32x4_splat(static_cast<int32_t>(d.prefix_mask));
  const v128_t low = wasm_i32x4_splat(
      static_cast<int32_t>(element::RawKeyPattern(d.prefix[0], d.prefix_mask)));
  const v128_t high = wasm_i32x4_splat(static_cast<int32_t>(
      element::RawKeyPattern(d.prefix[d.ranks - 1], d.prefix_mask)));
  const size_t tail = ForEachBlock<16>(n, [&](size_t i) {
    v128_t hit = wasm_i32x4_splat(0);
    for (int k = 0; k < 4; ++k) {
      const v128_t b = wasm_v128_and(wasm_v128_load(x + i + 4 * k), mask);
      hit = wasm_v128_or(
          hit, wasm_v128_or(wasm_i32x4_eq(b, low), wasm_i32x4_eq(b, high)));
    }
    if (wasm_v128_any_true(hit)) count(i, i + 16);
  });
  count(tail, n);
}

// As CountKeyDigits, each position against its channel's prefixes (loaded
// as vectors of raw patterns); pass 0 (no prefix) element by element.
void CountKeyDigitsRows(const float* x, size_t n, const KeyDigitRows& rows,
                        size_t k, const KeyDigits* digits, uint64_t* counts) {
  const auto count = [&](size_t j, size_t q, size_t length) {
    for (size_t t = 0; t < length; ++t) {
      element::CountRowKeyDigit(x[j + t], rows, q + t, digits, counts);
    }
  };
  if (rows.prefix_mask == 0) {
    ForEachRowSegment(n, rows.period, k, count);
    return;
  }
  const v128_t mask = wasm_i32x4_splat(static_cast<int32_t>(rows.prefix_mask));
  ForEachRowSegment(n, rows.period, k, [&](size_t j, size_t q, size_t length) {
    size_t t = 0;
    for (; t + 16 <= length; t += 16) {
      v128_t hit = wasm_i32x4_splat(0);
      for (size_t m = 0; m < 16; m += 4) {
        const v128_t b = wasm_v128_and(wasm_v128_load(x + j + t + m), mask);
        const v128_t low = wasm_v128_load(rows.raw_low.data() + q + t + m);
        const v128_t high = wasm_v128_load(rows.raw_high.data() + q + t + m);
        hit = wasm_v128_or(
            hit, wasm_v128_or(wasm_i32x4_eq(b, low), wasm_i32x4_eq(b, high)));
      }
      if (wasm_v128_any_true(hit)) count(j + t, q + t, 16);
    }
    count(j + t, q + t, length - t);
  });
}

}  // namespace

const KernelTable& Simd128Kernels() {
  static const KernelTable table = {
      "simd128",
      MinMax,
      Quantize<uint8_t>,
      Quantize<uint16_t>,
      Quantize<int8_t>,
      Quantize<int16_t>,
      Dequantize<uint8_t>,
      Dequantize<uint16_t>,
      Dequantize<int8_t>,
      Dequantize<int16_t>,
      AccumulateError,
      QuantizeRows<uint8_t>,
      QuantizeRows<uint16_t>,
      QuantizeRows<int8_t>,
      QuantizeRows<int16_t>,
      DequantizeRows<uint8_t>,
      DequantizeRows<uint16_t>,
      DequantizeRows<int8_t>,
      DequantizeRows<int16_t>,
      MinMaxRows,
      AccumulateErrorRows,
      CountKeyDigits,
      CountKeyDigitsRows,
  };
  return table;
}

}  // namespace wasmquant
