// The SIMD128 kernels against the scalar kernels: results must be
// BIT-identical (kernels.h promises it, and the JS API may pick either
// module at run time). Built only by the wasm build, where both exist.
#include "gtest/gtest.h"

#if defined(__wasm_simd128__)

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/element.h"
#include "reference.h"
#include "wasmquant/encoding.h"
#include "wasmquant/kernels.h"

namespace wasmquant {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kFloatMax = std::numeric_limits<float>::max();
constexpr size_t kMaxSweepLength = 67;  // every length 0..67
constexpr size_t kMaxOffset = 3;        // start 0..3 floats into a buffer
constexpr size_t kGuard = 8;            // trailing elements that must survive
constexpr size_t kPoolSize = 8192;
constexpr int kMaxReportedFailures = 5;

const KernelTable& Scalar() { return ScalarKernels(); }
const KernelTable& Simd() { return Simd128Kernels(); }

std::string Describe(const KernelParams& p) {
  std::ostringstream os;
  os.precision(9);
  os << "{scale " << p.scale << ", inv_scale " << p.inv_scale << ", bias "
     << p.bias << ", zero_point " << p.zero_point << ", qmin " << p.qmin
     << ", qmax " << p.qmax << ", "
     << (p.rounding == Rounding::kHalfUp ? "half-up" : "half-even") << "}";
  return os.str();
}

// Kernel params for every bitwidth 2..16, both roundings, over ranges that
// put the zero point at 0, at steps, in between, and scales from 1e-40 to
// 1e28.
std::vector<KernelParams> AllParams() {
  std::vector<std::pair<double, double>> ranges = {
      {-1.8, 0.5},   {-5.1, 5.1}, {2, 10},         {-20, -7},  {-0.002, 0.003},
      {-1e30, 2e30}, {0, 0},      {-3e-38, 5e-38}, {-1, 1e-3}, {-1e-3, 300}};
  std::mt19937 gen(4242);
  std::uniform_real_distribution<double> log_mag(-6, 6);
  for (int i = 0; i < 2; ++i) {
    ranges.emplace_back(-std::exp(log_mag(gen)), std::exp(log_mag(gen)));
  }
  std::vector<KernelParams> params;
  for (int bitwidth = kMinBitwidth; bitwidth <= kMaxBitwidth; ++bitwidth) {
    for (const auto& [lo, hi] : ranges) {
      EncodingOptions options;
      options.bitwidth = bitwidth;
      Encoding e;
      EXPECT_TRUE(ComputeTfEncoding(lo, hi, options, &e).ok());
      for (Rounding r : {Rounding::kHalfUp, Rounding::kHalfEven}) {
        params.push_back(MakeKernelParams(e, r));
      }
    }
    // Symmetric encodings (signed codes), plain and strict.
    for (bool strict : {false, true}) {
      EncodingOptions options;
      options.bitwidth = bitwidth;
      options.symmetric = true;
      options.strict = strict;
      for (double absmax : {1.0, 3e-3, 7e20}) {
        Encoding e;
        EXPECT_TRUE(
            ComputeSymmetricEncoding(-absmax, absmax / 3, options, &e).ok());
        for (Rounding r : {Rounding::kHalfUp, Rounding::kHalfEven}) {
          params.push_back(MakeKernelParams(e, r));
        }
      }
    }
  }
  return params;
}

// Codes of symmetric encodings are signed: they carry a code offset.
bool IsSigned(const KernelParams& p) { return p.code_offset != 0; }
bool IsWide(const KernelParams& p) { return p.qmax > 255; }

// A float x with fl(x * inv_scale) == m + 0.5 exactly, so the kernel's t
// lands on a half step in float32; false if no float near (m + 0.5) * scale
// has that product.
bool FindTie(const KernelParams& p, int32_t m, float* x) {
  const float target = static_cast<float>(m) + 0.5f;  // exact: |m| < 2^16
  float c = static_cast<float>((m + 0.5) / static_cast<double>(p.inv_scale));
  for (int i = 0; i < 4; ++i) c = std::nextafter(c, -kInf);
  for (int i = 0; i < 9; ++i, c = std::nextafter(c, kInf)) {
    const float product = c * p.inv_scale;
    if (product == target) {
      *x = c;
      return true;
    }
  }
  return false;
}

struct TieStats {
  size_t attempts = 0;
  size_t found = 0;
};

// Values for the quantize and error kernels: random values over and beyond
// the encoding's range, exact half-step ties, and special values. With
// finite_only, ±Inf become ±1e30 (accumulate_error requires finite x).
std::vector<float> MakeValuePool(const KernelParams& p, uint32_t seed,
                                 bool finite_only, TieStats* ties) {
  std::mt19937 gen(seed);
  const double scale = p.scale;
  const double lo = (p.qmin - p.zero_point) * scale;
  const double hi = (p.qmax - p.zero_point) * scale;
  const double span = hi - lo;
  std::uniform_real_distribution<double> uniform(lo - 0.05 * span,
                                                 hi + 0.05 * span);
  std::normal_distribution<double> normal(0, span / 4);
  std::uniform_int_distribution<int32_t> code(p.qmin, p.qmax - 1);

  std::vector<float> pool;
  pool.reserve(kPoolSize);
  const float specials[] = {
      finite_only ? 1e30f : kInf,
      finite_only ? -1e30f : -kInf,
      1e30f,
      -1e30f,
      kFloatMax,
      -kFloatMax,
      0.0f,
      -0.0f,
      1e-40f,
      -1e-40f,
      std::numeric_limits<float>::min(),
      static_cast<float>(lo),
      static_cast<float>(hi),
      static_cast<float>(lo - scale / 2),
      static_cast<float>(hi + scale / 2),
      std::nextafter(static_cast<float>(lo - scale / 2), -kInf),
      std::nextafter(static_cast<float>(hi + scale / 2), kInf),
  };
  for (int repeat = 0; repeat < 4; ++repeat) {
    for (float s : specials) pool.push_back(s);
  }
  while (pool.size() < kPoolSize) {
    const int kind = static_cast<int>(pool.size() % 10);
    if (kind < 3) {
      ++ties->attempts;
      float x;
      if (FindTie(p, code(gen) - p.zero_point, &x)) {
        ++ties->found;
        pool.push_back(x);
        continue;
      }
    }
    pool.push_back(static_cast<float>(kind < 8 ? uniform(gen) : normal(gen)));
  }
  std::shuffle(pool.begin(), pool.end(), gen);
  return pool;
}

// Position of buffer element i relative to a slice starting at offset
// (negative before it, >= n in the trailing guard).
long long Index(size_t i, size_t offset) {
  return static_cast<long long>(i) - static_cast<long long>(offset);
}

// Copies pool[pos, pos + n) (cyclically) to offset `offset` of a fresh
// buffer.
template <typename T>
std::vector<T> Slice(const std::vector<T>& pool, size_t pos, size_t n,
                     size_t offset) {
  std::vector<T> buffer(offset + n + kGuard, T{});
  for (size_t i = 0; i < n; ++i) {
    buffer[offset + i] = pool[(pos + i) % pool.size()];
  }
  return buffer;
}

template <typename Code>
struct CodeKernels;

template <>
struct CodeKernels<uint8_t> {
  static constexpr uint8_t kSentinel = 0xA5;
  static auto Quantize(const KernelTable& k) { return k.quantize_u8; }
  static auto Dequantize(const KernelTable& k) { return k.dequantize_u8; }
};

template <>
struct CodeKernels<uint16_t> {
  static constexpr uint16_t kSentinel = 0xA5A5;
  static auto Quantize(const KernelTable& k) { return k.quantize_u16; }
  static auto Dequantize(const KernelTable& k) { return k.dequantize_u16; }
};

template <>
struct CodeKernels<int8_t> {
  static constexpr int8_t kSentinel = 0x5A;
  static auto Quantize(const KernelTable& k) { return k.quantize_i8; }
  static auto Dequantize(const KernelTable& k) { return k.dequantize_i8; }
};

template <>
struct CodeKernels<int16_t> {
  static constexpr int16_t kSentinel = 0x5A5A;
  static auto Quantize(const KernelTable& k) { return k.quantize_i16; }
  static auto Dequantize(const KernelTable& k) { return k.dequantize_i16; }
};

// Runs both quantize kernels on x[offset, offset + n) and compares every
// byte of the two output buffers, guards included. Returns false on a
// difference (after recording a failure).
template <typename Code>
bool QuantizeMatches(const KernelParams& p, const std::vector<float>& x,
                     size_t offset, size_t n) {
  std::vector<Code> a(x.size(), CodeKernels<Code>::kSentinel);
  std::vector<Code> b = a;
  CodeKernels<Code>::Quantize(Scalar())(x.data() + offset, n, p,
                                        a.data() + offset);
  CodeKernels<Code>::Quantize(Simd())(x.data() + offset, n, p,
                                      b.data() + offset);
  for (size_t i = 0; i < a.size(); ++i) {
    const bool inside = i >= offset && i < offset + n;
    if (a[i] != b[i] || (!inside && b[i] != CodeKernels<Code>::kSentinel)) {
      ADD_FAILURE() << "quantize differs at element " << Index(i, offset)
                    << " of " << n << " (offset " << offset << "): x = " << x[i]
                    << " (bits 0x" << std::hex << reference::FloatBits(x[i])
                    << std::dec << "), scalar " << +a[i] << ", simd " << +b[i]
                    << ", " << Describe(p);
      return false;
    }
  }
  return true;
}

template <typename Code>
bool DequantizeMatches(const KernelParams& p, const std::vector<Code>& codes,
                       size_t offset, size_t n) {
  std::vector<float> a(codes.size(), -12345.5f);
  std::vector<float> b = a;
  CodeKernels<Code>::Dequantize(Scalar())(codes.data() + offset, n, p,
                                          a.data() + offset);
  CodeKernels<Code>::Dequantize(Simd())(codes.data() + offset, n, p,
                                        b.data() + offset);
  for (size_t i = 0; i < a.size(); ++i) {
    const bool inside = i >= offset && i < offset + n;
    if (reference::FloatBits(a[i]) != reference::FloatBits(b[i]) ||
        (!inside && b[i] != -12345.5f)) {
      ADD_FAILURE() << "dequantize differs at element " << Index(i, offset)
                    << " of " << n << " (offset " << offset << "): code "
                    << +codes[i] << ", scalar " << a[i] << ", simd " << b[i]
                    << ", " << Describe(p);
      return false;
    }
  }
  return true;
}

bool LanesEqual(const ErrorLanes& a, const ErrorLanes& b) {
  return std::memcmp(a.sq_error, b.sq_error, sizeof a.sq_error) == 0 &&
         std::memcmp(a.abs_error, b.abs_error, sizeof a.abs_error) == 0 &&
         std::memcmp(a.sq_signal, b.sq_signal, sizeof a.sq_signal) == 0 &&
         reference::FloatBits(a.max_abs_error) ==
             reference::FloatBits(b.max_abs_error) &&
         a.clipped == b.clipped;
}

std::string DescribeLanes(const ErrorLanes& l) {
  std::ostringstream os;
  os.precision(17);
  os << "sq_error [";
  for (double v : l.sq_error) os << v << " ";
  os << "] abs_error [";
  for (double v : l.abs_error) os << v << " ";
  os << "] sq_signal [";
  for (double v : l.sq_signal) os << v << " ";
  os << "] max_abs_error " << l.max_abs_error << " clipped " << l.clipped;
  return os.str();
}

// Both accumulate_error kernels from the given starting lanes; the results
// are left in *scalar and *simd.
bool AccumulateMatches(const KernelParams& p, const std::vector<float>& x,
                       size_t offset, size_t n, ErrorLanes* scalar,
                       ErrorLanes* simd) {
  const size_t scalar_added =
      Scalar().accumulate_error(x.data() + offset, n, p, scalar);
  const size_t simd_added =
      Simd().accumulate_error(x.data() + offset, n, p, simd);
  if (scalar_added == simd_added && LanesEqual(*scalar, *simd)) return true;
  ADD_FAILURE() << "accumulate_error differs over " << n << " values (offset "
                << offset << ", added " << scalar_added << " vs " << simd_added
                << "), " << Describe(p)
                << "\n  scalar: " << DescribeLanes(*scalar)
                << "\n  simd:   " << DescribeLanes(*simd);
  return false;
}

ErrorLanes ZeroLanes() {
  ErrorLanes lanes;
  std::memset(&lanes, 0, sizeof lanes);
  return lanes;
}

// ---------------------------------------------------------------------------

TEST(SimdVsScalarTest, KernelTablesAreDistinct) {
  EXPECT_NE(&Scalar(), &Simd());
  EXPECT_NE(Scalar().quantize_u8, Simd().quantize_u8);
  EXPECT_EQ(&DefaultKernels(), &Simd());
}

template <typename Code>
size_t CompareQuantizeOnPool(const KernelParams& p,
                             const std::vector<float>& pool, int* failures) {
  size_t values = 0;
  size_t pos = 0;
  for (size_t n = 0; n <= kMaxSweepLength; ++n) {
    for (size_t offset = 0; offset <= kMaxOffset; ++offset) {
      const auto x = Slice(pool, pos, n, offset);
      if (!QuantizeMatches<Code>(p, x, offset, n) &&
          ++*failures >= kMaxReportedFailures) {
        return values;
      }
      pos += n + 1;
      values += n;
    }
  }
  for (size_t offset = 0; offset <= kMaxOffset; ++offset) {
    const auto x = Slice(pool, offset * 101, pool.size(), offset);
    if (!QuantizeMatches<Code>(p, x, offset, pool.size())) ++*failures;
    values += pool.size();
  }
  return values;
}

TEST(SimdVsScalarTest, QuantizeBitIdentical) {
  size_t values = 0;
  TieStats ties;
  int failures = 0;
  uint32_t seed = 1;
  for (const KernelParams& p : AllParams()) {
    const auto pool = MakeValuePool(p, seed++, /*finite_only=*/false, &ties);
    if (IsSigned(p)) {
      values += IsWide(p) ? CompareQuantizeOnPool<int16_t>(p, pool, &failures)
                          : CompareQuantizeOnPool<int8_t>(p, pool, &failures);
    } else {
      values += IsWide(p) ? CompareQuantizeOnPool<uint16_t>(p, pool, &failures)
                          : CompareQuantizeOnPool<uint8_t>(p, pool, &failures);
    }
    if (failures >= kMaxReportedFailures) break;
  }
  EXPECT_GE(values, size_t{3000000});
  // Exact ties must really be in the data.
  EXPECT_GE(ties.found, ties.attempts / 4)
      << ties.found << " of " << ties.attempts;
}

template <typename Code>
size_t CompareDequantizeOnPool(const KernelParams& p, uint32_t seed,
                               int* failures) {
  std::mt19937 gen(seed);
  const int32_t shift = p.code_offset;
  std::uniform_int_distribution<int32_t> code(p.qmin + shift, p.qmax + shift);
  std::vector<Code> pool(kPoolSize);
  for (Code& c : pool) c = static_cast<Code>(code(gen));
  pool[0] = static_cast<Code>(p.qmin + shift);
  pool[1] = static_cast<Code>(p.qmax + shift);
  pool[2] = static_cast<Code>(p.zero_point + shift);
  size_t values = 0;
  size_t pos = 0;
  for (size_t n = 0; n <= kMaxSweepLength; ++n) {
    for (size_t offset = 0; offset <= kMaxOffset; ++offset) {
      const auto codes = Slice(pool, pos, n, offset);
      if (!DequantizeMatches<Code>(p, codes, offset, n) &&
          ++*failures >= kMaxReportedFailures) {
        return values;
      }
      pos += n + 1;
      values += n;
    }
  }
  for (size_t offset = 0; offset <= kMaxOffset; ++offset) {
    const auto codes = Slice(pool, offset * 37, pool.size(), offset);
    if (!DequantizeMatches<Code>(p, codes, offset, pool.size())) ++*failures;
    values += pool.size();
  }
  return values;
}

TEST(SimdVsScalarTest, DequantizeBitIdentical) {
  size_t values = 0;
  int failures = 0;
  uint32_t seed = 100;
  for (const KernelParams& p : AllParams()) {
    if (IsSigned(p)) {
      values += IsWide(p)
                    ? CompareDequantizeOnPool<int16_t>(p, seed++, &failures)
                    : CompareDequantizeOnPool<int8_t>(p, seed++, &failures);
    } else {
      values += IsWide(p)
                    ? CompareDequantizeOnPool<uint16_t>(p, seed++, &failures)
                    : CompareDequantizeOnPool<uint8_t>(p, seed++, &failures);
    }
    if (failures >= kMaxReportedFailures) break;
  }
  EXPECT_GE(values, size_t{3000000});
}

// Sweep: one pair of lanes is carried through every call, so each call also
// starts from non-zero lanes; then the whole pool from zeroed lanes.
size_t CompareAccumulateOnPool(const KernelParams& p,
                               const std::vector<float>& pool, int* failures) {
  size_t values = 0;
  size_t pos = 0;
  ErrorLanes scalar = ZeroLanes();
  ErrorLanes simd = ZeroLanes();
  for (size_t n = 0; n <= kMaxSweepLength; ++n) {
    for (size_t offset = 0; offset <= kMaxOffset; ++offset) {
      const auto x = Slice(pool, pos, n, offset);
      if (!AccumulateMatches(p, x, offset, n, &scalar, &simd)) {
        if (++*failures >= kMaxReportedFailures) return values;
        scalar = simd = ZeroLanes();
      }
      pos += n + 1;
      values += n;
    }
  }
  for (size_t offset = 0; offset <= kMaxOffset; ++offset) {
    const auto x = Slice(pool, offset * 53, pool.size(), offset);
    ErrorLanes a = ZeroLanes();
    ErrorLanes b = ZeroLanes();
    if (!AccumulateMatches(p, x, offset, pool.size(), &a, &b)) ++*failures;
    values += pool.size();
  }
  return values;
}

TEST(SimdVsScalarTest, AccumulateErrorBitIdentical) {
  size_t values = 0;
  TieStats ties;
  int failures = 0;
  uint32_t seed = 200;
  for (const KernelParams& p : AllParams()) {
    const auto pool = MakeValuePool(p, seed++, /*finite_only=*/true, &ties);
    values += CompareAccumulateOnPool(p, pool, &failures);
    if (failures >= kMaxReportedFailures) break;
  }
  EXPECT_GE(values, size_t{3000000});
}

// Calls check(p, x, v, at) for all params, with each planted value v at
// each position `at` of n standard normal values; stops when it says false.
template <typename Check>
void ForEachPlantedValue(const std::vector<float>& planted,
                         const std::vector<size_t>& positions, size_t n,
                         uint32_t seed, Check&& check) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal(0, 1);
  std::vector<float> base(n);
  for (float& v : base) v = normal(gen);
  for (const KernelParams& p : AllParams()) {
    for (float v : planted) {
      for (size_t at : positions) {
        std::vector<float> x = base;
        x[at] = v;
        if (!check(p, x, v, at)) return;
      }
    }
  }
}

// The kernels sum blocks of kErrorBlock in float32 unless a value of the
// block is too large or too small for that (then in double): a value on
// either side of each threshold, planted at the ends and inside blocks,
// must switch both kernels the same way.
TEST(SimdVsScalarTest, AccumulateErrorBlockFallbackBitIdentical) {
  const std::vector<float> planted = {0x1p60f,  std::nextafter(0x1p60f, kInf),
                                      0x1p-50f, std::nextafter(0x1p-50f, 0.0f),
                                      -3e-41f,  -1e35f,
                                      0.0f};
  const std::vector<size_t> positions = {0,
                                         kErrorBlock - 1,
                                         kErrorBlock,
                                         kErrorBlock + 7,
                                         3 * kErrorBlock + 300,
                                         4 * kErrorBlock + 2};
  ForEachPlantedValue(
      planted, positions, 4 * kErrorBlock + 13, 77,
      [](const KernelParams& p, const std::vector<float>& x, float, size_t) {
        ErrorLanes a = ZeroLanes();
        ErrorLanes b = ZeroLanes();
        return AccumulateMatches(p, x, 0, x.size(), &a, &b);
      });
}

// A NaN/Inf stops both kernels at the start of its block (or at itself, in
// the tail), with the blocks before it added; huge finite values whose
// squares overflow float32 do not stop them.
TEST(SimdVsScalarTest, AccumulateErrorStopsAtTheFirstNonFiniteBlock) {
  const std::vector<float> planted = {
      kInf, -kInf, std::numeric_limits<float>::quiet_NaN(), 3e38f};
  const std::vector<size_t> positions = {0,
                                         5,
                                         kErrorBlock - 1,
                                         kErrorBlock,
                                         2 * kErrorBlock + 77,
                                         3 * kErrorBlock + 3};
  ForEachPlantedValue(
      planted, positions, 3 * kErrorBlock + 5, 78,
      [](const KernelParams& p, const std::vector<float>& x, float v,
         size_t at) {
        ErrorLanes a = ZeroLanes();
        ErrorLanes b = ZeroLanes();
        if (!AccumulateMatches(p, x, 0, x.size(), &a, &b)) return false;
        const size_t whole = x.size() / kErrorLanes * kErrorLanes;
        const size_t want =
            !std::isfinite(v)
                ? (at < whole ? at / kErrorBlock * kErrorBlock : at)
                : x.size();
        const size_t added =
            Scalar().accumulate_error(x.data(), x.size(), p, &a);
        EXPECT_EQ(added, want) << "planted " << v << " at " << at;
        return added == want;
      });
}

// ---------------------------------------------------------------------------
// min_max

bool MinMaxMatches(const std::vector<float>& x, size_t offset, size_t n,
                   const char* what) {
  const MinMaxResult a = Scalar().min_max(x.data() + offset, n);
  const MinMaxResult b = Simd().min_max(x.data() + offset, n);
  if (reference::FloatBits(a.lo) == reference::FloatBits(b.lo) &&
      reference::FloatBits(a.hi) == reference::FloatBits(b.hi) &&
      a.all_finite == b.all_finite) {
    return true;
  }
  ADD_FAILURE() << what << ": min_max differs over " << n << " values (offset "
                << offset << "): scalar {" << a.lo << ", " << a.hi << ", "
                << a.all_finite << "}, simd {" << b.lo << ", " << b.hi << ", "
                << b.all_finite << "}";
  return false;
}

size_t CompareMinMaxOnPool(const std::vector<float>& pool, const char* what) {
  size_t values = 0;
  size_t pos = 0;
  int failures = 0;
  for (size_t n = 0; n <= kMaxSweepLength; ++n) {
    for (size_t offset = 0; offset <= kMaxOffset; ++offset) {
      const auto x = Slice(pool, pos, n, offset);
      if (!MinMaxMatches(x, offset, n, what) &&
          ++failures >= kMaxReportedFailures) {
        return values;
      }
      pos += n + 1;
      values += n;
    }
  }
  for (size_t offset = 0; offset <= kMaxOffset; ++offset) {
    const auto x = Slice(pool, offset * 11, pool.size(), offset);
    MinMaxMatches(x, offset, pool.size(), what);
    values += pool.size();
  }
  return values;
}

// A pool where the minimum and maximum sit at every lane position in turn:
// values in (-1, 1) with an extreme planted every `stride` elements.
std::vector<float> MinMaxPool(uint32_t seed, size_t n, float planted_lo,
                              float planted_hi, float sprinkle,
                              size_t sprinkle_every) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> pool(n);
  for (float& v : pool) v = u(gen);
  for (size_t i = 0; i < n; ++i) {
    if (i % 97 == 13) pool[i] = planted_lo * (1 - 0.001f * (i % 7));
    if (i % 89 == 5) pool[i] = planted_hi * (1 - 0.001f * (i % 5));
    if (sprinkle_every != 0 && i % sprinkle_every == sprinkle_every - 1) {
      pool[i] = sprinkle;
    }
  }
  return pool;
}

TEST(SimdVsScalarTest, MinMaxBitIdentical) {
  size_t values = 0;
  values += CompareMinMaxOnPool(MinMaxPool(1, 1 << 20, -3, 5, 0, 0), "finite");
  values += CompareMinMaxOnPool(MinMaxPool(2, 1 << 18, -1e30f, 1e30f, kNaN, 61),
                                "with NaN");
  values += CompareMinMaxOnPool(MinMaxPool(3, 1 << 18, -3, 5, kInf, 1000),
                                "with +Inf");
  values += CompareMinMaxOnPool(MinMaxPool(4, 1 << 18, -3, 5, -kInf, 1000),
                                "with -Inf");
  values += CompareMinMaxOnPool(
      MinMaxPool(5, 1 << 16, -kFloatMax, kFloatMax, 1e-40f, 3), "extremes");
  values += CompareMinMaxOnPool(std::vector<float>(4096, kNaN), "all NaN");
  values += CompareMinMaxOnPool(std::vector<float>(4096, 2.5f), "constant");
  // Only the first element NaN, and NaN in the middle of a SIMD block.
  std::vector<float> first_nan = MinMaxPool(6, 4096, -2, 2, 0, 0);
  first_nan[0] = kNaN;
  first_nan[6] = kNaN;
  values += CompareMinMaxOnPool(first_nan, "leading NaN");
  EXPECT_GE(values, size_t{1000000});
}

// -0.0 and +0.0 compare equal; the two kernels must still agree on which
// one they return.
TEST(SimdVsScalarTest, MinMaxSignedZerosBitIdentical) {
  std::mt19937 gen(7);
  std::vector<float> pool(4096);
  for (float& v : pool) v = (gen() & 1) ? 0.0f : -0.0f;
  CompareMinMaxOnPool(pool, "signed zeros");
  std::vector<float> with_values = pool;
  for (size_t i = 0; i < with_values.size(); i += 5) with_values[i] = 1.0f;
  CompareMinMaxOnPool(with_values, "signed zeros and 1.0");
}

// A counting kernel, run by count(kernels, x, n, start, counts) on pool
// elements from `start` on: the same counts of `size` entries from both
// kernel tables, for every length and alignment and the whole pool.
template <typename Count>
size_t CompareCountsOnPool(const std::vector<float>& pool, size_t size,
                           Count&& count, const std::string& what) {
  size_t values = 0;
  size_t pos = 0;
  int failures = 0;
  const auto matches = [&](size_t start, size_t n, size_t offset) {
    const std::vector<float> x = Slice(pool, start, n, offset);
    std::vector<uint64_t> a(size), b(size);
    count(Scalar(), x.data() + offset, n, start, a.data());
    count(Simd(), x.data() + offset, n, start, b.data());
    if (a == b) return true;
    ADD_FAILURE() << what << ": n " << n << " from " << start << ", offset "
                  << offset;
    return false;
  };
  for (size_t n = 0; n <= kMaxSweepLength; ++n) {
    for (size_t offset = 0; offset <= kMaxOffset; ++offset) {
      if (!matches(pos, n, offset) && ++failures >= kMaxReportedFailures) {
        return values;
      }
      pos += n + 1;
      values += n;
    }
  }
  matches(3, pool.size() - 3, 1);
  return values + pool.size();
}

// Normal values, with NaN, infinities, signed zeros, subnormals and ties.
std::vector<float> KeyPool() {
  std::mt19937 gen(11);
  std::normal_distribution<float> normal(0, 1);
  std::vector<float> pool(1 << 16);
  for (float& v : pool) {
    const uint32_t r = gen() % 200;
    v = r == 0   ? kNaN
        : r == 1 ? kInf
        : r == 2 ? -kInf
        : r == 3 ? (gen() & 1 ? 0.0f : -0.0f)
        : r == 4 ? 1e-40f * normal(gen)
        : r < 20 ? std::round(normal(gen) * 4)
                 : normal(gen);
  }
  return pool;
}

uint32_t Key(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return bits & 0x80000000u ? ~bits : bits | 0x80000000u;
}

// The digits of every pass of each width the Calibrator uses (16, 11 and 8
// bits), with prefixes of the keys of low and high.
std::vector<KeyDigits> AllKeyDigits(float low, float high) {
  std::vector<KeyDigits> all;
  for (int bits : {16, 11, 8}) {
    for (int top = 32; top > 0; top -= bits) {
      KeyDigits d;
      d.shift = std::max(top - bits, 0);
      d.digit_mask = (1u << (top - d.shift)) - 1;
      d.prefix_mask = top == 32 ? 0 : ~0u << top;
      d.ranks = top == 32 ? 1 : 2;
      d.stride = size_t{1} << bits;
      d.prefix[0] = Key(low) & d.prefix_mask;
      d.prefix[1] = Key(high) & d.prefix_mask;
      all.push_back(d);
    }
  }
  return all;
}

// Prefixes that some keys of the pool match (of negative and positive
// values, and of -Inf's or +Inf's), and one that none does.
const std::pair<float, float> kPrefixValues[] = {{-1.5f, 0.75f},
                                                 {-3.0f, -3.0f},
                                                 {2.0f, kInf},
                                                 {-kInf, 1e-40f},
                                                 {1e30f, 1e30f}};

TEST(SimdVsScalarTest, CountKeyDigitsIdentical) {
  const std::vector<float> pool = KeyPool();
  size_t values = 0;
  for (const auto& [low, high] : kPrefixValues) {
    for (const KeyDigits& d : AllKeyDigits(low, high)) {
      values += CompareCountsOnPool(
          pool, 2 * d.stride,
          [&](const KernelTable& kernels, const float* x, size_t n, size_t,
              uint64_t* counts) { kernels.count_key_digits(x, n, d, counts); },
          "shift " + std::to_string(d.shift) + ", low " + std::to_string(low));
    }
  }
  EXPECT_GE(values, size_t{1000000});
}

// Three channels of two elements per row, each with its own prefixes, in
// rows of 48 positions.
TEST(SimdVsScalarTest, CountKeyDigitsRowsIdentical) {
  const std::vector<float> pool = KeyPool();
  constexpr size_t kChannels = 3;
  KeyDigitRows rows;
  rows.period = 48;
  for (size_t q = 0; q < rows.period; ++q) {
    rows.channel.push_back(q / 2 % kChannels);
  }
  size_t values = 0;
  const size_t passes = AllKeyDigits(0, 0).size();
  for (size_t pass = 0; pass < passes; ++pass) {
    std::vector<KeyDigits> digits;
    for (size_t c = 0; c < kChannels; ++c) {
      const auto& [low, high] = kPrefixValues[(pass + c) % 5];
      digits.push_back(AllKeyDigits(low, high)[pass]);
    }
    rows.prefix_mask = digits[0].prefix_mask;
    rows.raw_low.clear();
    rows.raw_high.clear();
    for (size_t q = 0; q < rows.period; ++q) {
      const KeyDigits& d = digits[rows.channel[q]];
      rows.raw_low.push_back(
          element::RawKeyPattern(d.prefix[0], d.prefix_mask));
      rows.raw_high.push_back(
          element::RawKeyPattern(d.prefix[1], d.prefix_mask));
    }
    values += CompareCountsOnPool(
        pool, 2 * kChannels * digits[0].stride,
        [&](const KernelTable& kernels, const float* x, size_t n, size_t start,
            uint64_t* counts) {
          kernels.count_key_digits_rows(x, n, rows, start % rows.period,
                                        digits.data(), counts);
        },
        "rows, pass " + std::to_string(pass));
  }
  EXPECT_GE(values, size_t{600000});
}

}  // namespace
}  // namespace wasmquant

#endif  // defined(__wasm_simd128__)
