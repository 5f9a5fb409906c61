// The schemes of docs/spec.md §3 through the C++ API: symmetric (§3.1),
// per-channel (§3.2), tf_enhanced (§3.3) and percentile (§3.4), held against
// the independent double-precision models of scheme_reference.h, and the
// chunked Calibrator against the one-shot functions. Compiled natively
// (scalar kernels) and to wasm (SIMD128 kernels).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "api_helpers.h"
#include "gtest/gtest.h"
#include "reference.h"
#include "scheme_reference.h"
#include "wasmquant/calibrator.h"
#include "wasmquant/encoding.h"
#include "wasmquant/kernels.h"
#include "wasmquant/oneshot.h"
#include "wasmquant/quantizer.h"
#include "wasmquant/report.h"
#include "wasmquant/status.h"

namespace wasmquant {
namespace {

namespace sr = scheme_reference;
using reference::DoubleBits;
using reference::RelNear;
using test_util::ContainsIgnoringCase;

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

const KernelTable& Kernels() { return DefaultKernels(); }

// ---------------------------------------------------------------------------
// Helpers over the public API, for every code type.

std::vector<int64_t> ReadCodes(const std::vector<uint8_t>& buffer,
                               CodeType type, size_t n) {
  std::vector<int64_t> codes(n);
  for (size_t i = 0; i < n; ++i) {
    switch (type) {
      case CodeType::kU8:
        codes[i] = buffer[i];
        break;
      case CodeType::kI8:
        codes[i] = static_cast<int8_t>(buffer[i]);
        break;
      case CodeType::kU16: {
        uint16_t v;
        std::memcpy(&v, buffer.data() + 2 * i, 2);
        codes[i] = v;
        break;
      }
      case CodeType::kI16: {
        int16_t v;
        std::memcpy(&v, buffer.data() + 2 * i, 2);
        codes[i] = v;
        break;
      }
    }
  }
  return codes;
}

std::vector<uint8_t> WriteCodes(const std::vector<int64_t>& codes,
                                CodeType type) {
  std::vector<uint8_t> buffer(codes.size() * CodeBytes(type));
  for (size_t i = 0; i < codes.size(); ++i) {
    if (CodeBytes(type) == 1) {
      buffer[i] = static_cast<uint8_t>(codes[i]);
    } else {
      const uint16_t v = static_cast<uint16_t>(codes[i]);
      std::memcpy(buffer.data() + 2 * i, &v, 2);
    }
  }
  return buffer;
}

struct Quantized {
  Status status;
  Encoding encoding;
  CodeType type = CodeType::kU8;
  std::vector<int64_t> codes;
};

// wasmquant::Quantize (calibrate + quantize), codes widened to int64.
Quantized QuantizeAny(const std::vector<float>& x,
                      const QuantizeOptions& options) {
  Quantized r;
  std::vector<uint8_t> buffer(2 * x.size() + 2, 0xA5);
  r.status = Quantize(Kernels(), x.data(), x.size(), options, &r.encoding,
                      buffer.data());
  if (!r.status.ok()) return r;
  r.type = CodeTypeOf(r.encoding);
  r.codes = ReadCodes(buffer, r.type, x.size());
  return r;
}

// QuantizeChunk with a given encoding.
std::vector<int64_t> QuantizeWith(const std::vector<float>& x,
                                  const Encoding& e, Rounding rounding,
                                  NonFinite non_finite = NonFinite::kError) {
  std::vector<uint8_t> buffer(2 * x.size() + 2, 0xA5);
  const Status status = QuantizeChunk(
      Kernels(), x.data(), x.size(), MakeKernelParams(e, rounding),
      CodeTypeOf(e), non_finite, 0, buffer.data());
  EXPECT_TRUE(status.ok()) << status.message();
  return ReadCodes(buffer, CodeTypeOf(e), x.size());
}

std::vector<float> DequantizeWith(const std::vector<int64_t>& codes,
                                  const Encoding& e, Status* status) {
  const std::vector<uint8_t> buffer = WriteCodes(codes, CodeTypeOf(e));
  std::vector<float> x(codes.size(), -12345.5f);
  *status = DequantizeChunk(Kernels(), buffer.data(), codes.size(),
                            MakeKernelParams(e, Rounding::kHalfUp),
                            CodeTypeOf(e), 0, x.data());
  return x;
}

// The Calibrator fed in chunks of the given sizes (cycled, and rotated by
// one more place on every pass, so the passes are chunked differently).
Status RunCalibrator(const std::vector<float>& x,
                     const CalibrationOptions& options,
                     const std::vector<size_t>& chunk_sizes,
                     std::vector<Encoding>* encodings) {
  Calibrator calibrator(Kernels(), options);
  for (int pass = 0; pass < calibrator.passes(); ++pass) {
    size_t pos = 0;
    for (size_t k = pass; pos < x.size(); ++k) {
      const size_t len =
          std::min(chunk_sizes[k % chunk_sizes.size()], x.size() - pos);
      Status status = calibrator.Add(x.data() + pos, len, pos);
      if (!status.ok()) return status;
      pos += len;
    }
    Status status = calibrator.EndPass();
    if (!status.ok()) return status;
  }
  return calibrator.Finish(encodings);
}

const std::vector<size_t>& UnevenChunks() {
  static const auto* sizes =
      new std::vector<size_t>{1, 7, 3, 64, 17, 1000, 5, 2, 333, 65536, 15};
  return *sizes;
}

void ExpectSameEncoding(const Encoding& got, const Encoding& want,
                        const std::string& what) {
  EXPECT_EQ(got.bitwidth, want.bitwidth) << what;
  EXPECT_EQ(got.offset, want.offset) << what;
  EXPECT_EQ(got.is_symmetric, want.is_symmetric) << what;
  EXPECT_EQ(DoubleBits(got.scale), DoubleBits(want.scale))
      << what << ": scale " << got.scale << " vs " << want.scale;
  EXPECT_EQ(DoubleBits(got.min), DoubleBits(want.min))
      << what << ": min " << got.min << " vs " << want.min;
  EXPECT_EQ(DoubleBits(got.max), DoubleBits(want.max))
      << what << ": max " << got.max << " vs " << want.max;
}

// got against an independent reference: the offset exactly, the floats to a
// few ulps (the formulas may be evaluated in a different order).
void ExpectMatchesReference(const Encoding& got, const sr::SchemeEncoding& want,
                            const std::string& what, double rel = 1e-14) {
  EXPECT_EQ(got.bitwidth, want.bitwidth) << what;
  EXPECT_EQ(got.offset, want.offset) << what;
  EXPECT_EQ(got.is_symmetric, want.symmetric) << what;
  EXPECT_TRUE(RelNear(got.scale, want.scale, rel))
      << what << ": scale " << got.scale << " vs " << want.scale;
  EXPECT_TRUE(RelNear(got.min, want.min, rel))
      << what << ": min " << got.min << " vs " << want.min;
  EXPECT_TRUE(RelNear(got.max, want.max, rel))
      << what << ": max " << got.max << " vs " << want.max;
}

// The reference view of an encoding the library computed.
sr::SchemeEncoding View(const Encoding& e) {
  sr::SchemeEncoding v;
  v.bitwidth = e.bitwidth;
  v.scale = e.scale;
  v.offset = e.offset;
  v.min = e.min;
  v.max = e.max;
  v.symmetric = e.is_symmetric;
  v.top = reference::RefSteps(e.bitwidth);
  if (e.is_symmetric && e.offset == -(sr::Half(e.bitwidth) - 1)) --v.top;
  return v;
}

// The output code range of an encoding: [0, steps] or, signed, [offset,
// half - 1].
void CodeRange(const Encoding& e, int64_t* lo, int64_t* hi) {
  const sr::SchemeEncoding v = View(e);
  *lo = v.symmetric ? v.offset : 0;
  *hi = v.symmetric ? v.top + v.offset : v.top;
}

// SQNR of x against dequantize(codes) computed here in double.
double SqnrOf(const std::vector<float>& x, const Quantized& q) {
  std::vector<double> xhat(x.size());
  const sr::SchemeEncoding v = View(q.encoding);
  for (size_t i = 0; i < x.size(); ++i) xhat[i] = sr::Dequantize(q.codes[i], v);
  return sr::SqnrDb(x, xhat);
}

QuantizeOptions Options(Scheme scheme, int bitwidth, bool symmetric = false,
                        bool strict = false) {
  QuantizeOptions o;
  o.scheme = scheme;
  o.bitwidth = bitwidth;
  o.symmetric = symmetric;
  o.strict = strict;
  return o;
}

// ===========================================================================
// §3.1 symmetric

TEST(SchemeSymmetricTest, EncodingFormulasForSeveralBitwidths) {
  const std::vector<std::pair<double, double>> ranges = {
      {-3, 5},     {-7.5, 2},  {0, 0},     {-0.001, 0.002},
      {2, 9},      {-9, -2},   {-1, 1},    {-1e-30, 1e-30},
      {-1e6, 123}, {-0.25, 0}, {0, 0.125}, {-3e4, 3e4}};
  for (int bitwidth : {2, 4, 8, 16}) {
    for (bool strict : {false, true}) {
      for (const auto& [lo, hi] : ranges) {
        const std::string what =
            std::to_string(bitwidth) + " bits, [" + std::to_string(lo) + ", " +
            std::to_string(hi) + "]" + (strict ? " strict" : "");
        // Straight from the SPEC text.
        const double half = std::ldexp(1.0, bitwidth - 1);
        const double absmax =
            std::max(std::max(std::fabs(lo), std::fabs(hi)), 0.01 / 2);
        const double scale = absmax / (half - 1);
        const double offset = strict ? -(half - 1) : -half;

        EncodingOptions options;
        options.bitwidth = bitwidth;
        options.symmetric = true;
        options.strict = strict;
        Encoding e;
        const Status status = ComputeSymmetricEncoding(lo, hi, options, &e);
        ASSERT_TRUE(status.ok()) << what << ": " << status.message();
        EXPECT_TRUE(e.is_symmetric) << what;
        EXPECT_EQ(e.bitwidth, bitwidth) << what;
        EXPECT_EQ(e.offset, static_cast<int32_t>(offset)) << what;
        EXPECT_TRUE(RelNear(e.scale, scale, 1e-15)) << what << " " << e.scale;
        EXPECT_TRUE(RelNear(e.min, offset * scale, 1e-15)) << what;
        EXPECT_TRUE(RelNear(e.max, (half - 1) * scale, 1e-14)) << what;
        EXPECT_EQ(CodeTypeOf(e), bitwidth <= 8 ? CodeType::kI8 : CodeType::kI16)
            << what;

        // The same through ComputeEncoding (options.symmetric) and through a
        // calibration of data spanning [lo, hi], with 0 in it.
        Encoding via;
        ASSERT_TRUE(ComputeEncoding(lo, hi, options, &via).ok());
        ExpectSameEncoding(via, e, what + " ComputeEncoding");
        const std::vector<float> data = {static_cast<float>(lo), 0.0f,
                                         static_cast<float>(hi)};
        if (static_cast<float>(lo) == lo && static_cast<float>(hi) == hi) {
          Encoding calibrated;
          ASSERT_TRUE(Calibrate(Kernels(), data.data(), data.size(),
                                Options(Scheme::kTf, bitwidth, true, strict),
                                &calibrated)
                          .ok());
          ExpectSameEncoding(calibrated, e, what + " Calibrate");
        }
      }
    }
  }
}

TEST(SchemeSymmetricTest, HandComputedEncodingsAndCodes) {
  // 4 bits, data [-7, 3]: absmax 7, scale 7/7 = 1, offset -8, codes span
  // [-8, 7]; every integer is its own code.
  {
    const std::vector<float> x = {-7, 3, 0, -2, 1, 2.4f, -2.6f};
    const Quantized q = QuantizeAny(x, Options(Scheme::kTf, 4, true));
    ASSERT_TRUE(q.status.ok()) << q.status.message();
    EXPECT_EQ(q.type, CodeType::kI8);
    EXPECT_EQ(q.encoding.scale, 1.0);
    EXPECT_EQ(q.encoding.offset, -8);
    EXPECT_EQ(q.encoding.min, -8.0);
    EXPECT_EQ(q.encoding.max, 7.0);
    EXPECT_EQ(q.codes, (std::vector<int64_t>{-7, 3, 0, -2, 1, 2, -3}));
  }
  // 8 bits, [-1.27, 0.5]: scale 1.27/127 = 0.01, offset -128, the codes
  // cover [-1.28, 1.27]. float32(-1.27) is within 1e-7 of -1.27.
  {
    const std::vector<float> x = {-1.27f, 0.5f, 0.0f, 0.01f, -0.6f};
    const Quantized q = QuantizeAny(x, Options(Scheme::kTf, 8, true));
    ASSERT_TRUE(q.status.ok()) << q.status.message();
    EXPECT_EQ(q.type, CodeType::kI8);
    EXPECT_TRUE(RelNear(q.encoding.scale, 0.01, 1e-6)) << q.encoding.scale;
    EXPECT_EQ(q.encoding.offset, -128);
    EXPECT_TRUE(RelNear(q.encoding.min, -1.28, 1e-6)) << q.encoding.min;
    EXPECT_TRUE(RelNear(q.encoding.max, 1.27, 1e-6)) << q.encoding.max;
    EXPECT_EQ(q.codes, (std::vector<int64_t>{-127, 50, 0, 1, -60}));
    // strict: offset -127, min -1.27, the same codes here.
    const Quantized s = QuantizeAny(x, Options(Scheme::kTf, 8, true, true));
    ASSERT_TRUE(s.status.ok()) << s.status.message();
    EXPECT_EQ(s.encoding.offset, -127);
    EXPECT_TRUE(RelNear(s.encoding.min, -1.27, 1e-6)) << s.encoding.min;
    EXPECT_TRUE(RelNear(s.encoding.max, 1.27, 1e-6)) << s.encoding.max;
    EXPECT_EQ(s.codes, q.codes);
  }
  // 16 bits, [-32767, 1]: scale 1, offset -32768.
  {
    const std::vector<float> x = {-32767, 1, 0, 12345, -5};
    const Quantized q = QuantizeAny(x, Options(Scheme::kTf, 16, true));
    ASSERT_TRUE(q.status.ok()) << q.status.message();
    EXPECT_EQ(q.type, CodeType::kI16);
    EXPECT_EQ(q.encoding.scale, 1.0);
    EXPECT_EQ(q.encoding.offset, -32768);
    EXPECT_EQ(q.encoding.max, 32767.0);
    EXPECT_EQ(q.codes, (std::vector<int64_t>{-32767, 1, 0, 12345, -5}));
  }
  // 2 bits, [-1, 0.5]: scale 1/1, offset -2, codes in [-2, 1].
  {
    const std::vector<float> x = {-1, 0.5f, 0, 0.4f, -0.6f};
    const Quantized q = QuantizeAny(x, Options(Scheme::kTf, 2, true));
    ASSERT_TRUE(q.status.ok()) << q.status.message();
    EXPECT_EQ(q.encoding.scale, 1.0);
    EXPECT_EQ(q.encoding.offset, -2);
    // 0.5 is a tie: half-up gives 1.
    EXPECT_EQ(q.codes, (std::vector<int64_t>{-1, 1, 0, 0, -1}));
  }
}

TEST(SchemeSymmetricTest, ClampAndTiesWithAGivenEncoding) {
  // 4 bits, scale 1, offset -8: s = clamp(R(x), -8, 7).
  Encoding e;
  e.bitwidth = 4;
  e.scale = 1;
  e.offset = -8;
  e.min = -8;
  e.max = 7;
  e.is_symmetric = true;
  const std::vector<float> x = {-100, -8.4f, -2.5f, -1.5f, -0.5f,
                                0.5f, 1.5f,  2.5f,  6.6f,  100};
  EXPECT_EQ(QuantizeWith(x, e, Rounding::kHalfUp),
            (std::vector<int64_t>{-8, -8, -2, -1, 0, 1, 2, 3, 7, 7}));
  EXPECT_EQ(QuantizeWith(x, e, Rounding::kHalfEven),
            (std::vector<int64_t>{-8, -8, -2, -2, 0, 0, 2, 2, 7, 7}));
  // strict: offset -7, codes in [-7, 7]. SPEC §3.1 rounds x / scale itself,
  // so half-even ties go to the even signed code here too, although the
  // unsigned code s + 7 then is odd.
  Encoding s = e;
  s.offset = -7;
  s.min = -7;
  EXPECT_EQ(QuantizeWith(x, s, Rounding::kHalfUp),
            (std::vector<int64_t>{-7, -7, -2, -1, 0, 1, 2, 3, 7, 7}));
  EXPECT_EQ(QuantizeWith(x, s, Rounding::kHalfEven),
            (std::vector<int64_t>{-7, -7, -2, -2, 0, 0, 2, 2, 7, 7}));

  // The same through calibration: 8 bits, absmax 127, so scale 1.
  const std::vector<float> y = {-127, 127, 2.5f, -1.5f, 0.5f, -0.5f, 3.5f};
  for (bool strict : {false, true}) {
    QuantizeOptions o = Options(Scheme::kTf, 8, true, strict);
    o.rounding = Rounding::kHalfEven;
    const Quantized q = QuantizeAny(y, o);
    ASSERT_TRUE(q.status.ok()) << q.status.message();
    EXPECT_EQ(q.encoding.scale, 1.0);
    EXPECT_EQ(q.codes, (std::vector<int64_t>{-127, 127, 2, -2, 0, 0, 4}))
        << (strict ? "strict" : "not strict");
    o.rounding = Rounding::kHalfUp;
    EXPECT_EQ(QuantizeAny(y, o).codes,
              (std::vector<int64_t>{-127, 127, 3, -1, 1, 0, 4}))
        << (strict ? "strict" : "not strict");
  }
}

TEST(SchemeSymmetricTest, CodesMatchTheReference) {
  const std::vector<float> base = sr::Normal(50000, 0.4, 2.0, 11);
  for (int bitwidth : {2, 4, 8, 12, 16}) {
    for (bool strict : {false, true}) {
      for (Rounding rounding : {Rounding::kHalfUp, Rounding::kHalfEven}) {
        const std::string what =
            std::to_string(bitwidth) + " bits" + (strict ? " strict" : "") +
            (rounding == Rounding::kHalfUp ? " half-up" : " half-even");
        QuantizeOptions o = Options(Scheme::kTf, bitwidth, true, strict);
        o.rounding = rounding;
        const Quantized q = QuantizeAny(base, o);
        ASSERT_TRUE(q.status.ok()) << what << ": " << q.status.message();
        double lo, hi;
        sr::FiniteRange(base, &lo, &hi);
        const sr::SchemeEncoding ref =
            sr::Symmetric(lo, hi, bitwidth, 0.01, strict);
        ExpectMatchesReference(q.encoding, ref, what);
        const int64_t half = sr::Half(bitwidth);
        const int64_t low = strict ? -(half - 1) : -half;
        size_t ambiguous = 0;
        size_t failures = 0;
        for (size_t i = 0; i < base.size() && failures < 5; ++i) {
          const int64_t s = q.codes[i];
          if (s < low || s > half - 1) {
            ADD_FAILURE() << what << ": code " << s << " out of range at " << i;
            ++failures;
          }
          const sr::AllowedCodes allowed = sr::Allowed(base[i], ref, rounding);
          ambiguous += allowed.a != allowed.b;
          if (!allowed.Contains(s)) {
            ADD_FAILURE() << what << ": x[" << i << "] = " << base[i] << " got "
                          << s << ", want " << allowed.a << " or " << allowed.b;
            ++failures;
          }
        }
        // Near ties are rare (about 2^(b-21) of the values).
        EXPECT_LE(ambiguous, base.size() * std::ldexp(1.0, bitwidth - 19) + 8)
            << what;
        // The extremes of the data take the extreme codes.
        const size_t at_max =
            std::max_element(base.begin(), base.end()) - base.begin();
        const size_t at_min =
            std::min_element(base.begin(), base.end()) - base.begin();
        if (std::fabs(hi) >= std::fabs(lo)) {
          EXPECT_EQ(q.codes[at_max], half - 1) << what;
        } else {
          EXPECT_EQ(q.codes[at_min], -(half - 1)) << what;
        }
      }
    }
  }
}

TEST(SchemeSymmetricTest, DequantizeIsCodeTimesScale) {
  for (int bitwidth : {2, 4, 8, 9, 16}) {
    for (bool strict : {false, true}) {
      EncodingOptions options;
      options.bitwidth = bitwidth;
      options.symmetric = true;
      options.strict = strict;
      Encoding e;
      ASSERT_TRUE(ComputeSymmetricEncoding(-0.7, 1.3, options, &e).ok());
      const int64_t half = sr::Half(bitwidth);
      const int64_t low = strict ? -(half - 1) : -half;
      std::vector<int64_t> codes;
      for (int64_t s = low; s <= half - 1; ++s) codes.push_back(s);
      Status status;
      const std::vector<float> x = DequantizeWith(codes, e, &status);
      ASSERT_TRUE(status.ok()) << status.message();
      const float scale = static_cast<float>(e.scale);
      for (size_t i = 0; i < codes.size(); ++i) {
        // s * scale with a float32 scale: the exact product rounded once.
        const float want = static_cast<float>(static_cast<double>(codes[i]) *
                                              static_cast<double>(scale));
        ASSERT_EQ(x[i], want) << "code " << codes[i] << ", " << bitwidth
                              << " bits" << (strict ? " strict" : "");
        ASSERT_TRUE(RelNear(x[i], codes[i] * e.scale, 1e-6) || codes[i] == 0);
      }
      // A code below the encoding's range is rejected (strict: -half).
      if (strict) {
        DequantizeWith({0, -half}, e, &status);
        EXPECT_FALSE(status.ok()) << bitwidth << " bits strict";
        EXPECT_EQ(status.kind(), ErrorKind::kRange);
      }
    }
  }
}

TEST(SchemeSymmetricTest, UnsignedSymmetricFallsBackOnNonNegativeData) {
  for (int bitwidth : {4, 8, 16}) {
    for (Scheme scheme : {Scheme::kTf, Scheme::kTfEnhanced}) {
      const std::string what = std::to_string(bitwidth) + " bits, scheme " +
                               std::to_string(static_cast<int>(scheme));
      // All data >= 0 (-0.0 included): asymmetric, min 0, offset 0,
      // unsigned codes.
      std::vector<float> x = sr::Uniform(3000, 0.0, 6.0, 3);
      x[10] = 0.0f;
      x[11] = -0.0f;
      x[12] = 6.5f;
      QuantizeOptions o = Options(scheme, bitwidth, true);
      o.unsigned_symmetric = true;
      const Quantized q = QuantizeAny(x, o);
      ASSERT_TRUE(q.status.ok()) << what << ": " << q.status.message();
      EXPECT_FALSE(q.encoding.is_symmetric) << what;
      EXPECT_EQ(q.encoding.offset, 0) << what;
      EXPECT_EQ(q.encoding.min, 0.0) << what;
      EXPECT_EQ(q.type, UnsignedCodeType(bitwidth)) << what;
      EXPECT_EQ(q.codes[10], 0) << what;
      EXPECT_EQ(q.codes[11], 0) << what;
      if (scheme == Scheme::kTf) {
        ExpectMatchesReference(q.encoding, sr::Tf(0, 6.5, bitwidth, 0.01),
                               what);
        EXPECT_EQ(q.codes[12], reference::RefSteps(bitwidth)) << what;
        for (size_t i = 0; i < x.size(); ++i) {
          ASSERT_TRUE(sr::Allowed(x[i], View(q.encoding), Rounding::kHalfUp)
                          .Contains(q.codes[i]))
              << what << " at " << i;
        }
      }
      // Any negative value: symmetric as usual.
      x[13] = -0.001f;
      const Quantized s = QuantizeAny(x, o);
      ASSERT_TRUE(s.status.ok()) << what << ": " << s.status.message();
      EXPECT_TRUE(s.encoding.is_symmetric) << what;
      EXPECT_EQ(s.encoding.offset, -sr::Half(bitwidth)) << what;
      EXPECT_EQ(s.type, bitwidth <= 8 ? CodeType::kI8 : CodeType::kI16);
      if (scheme == Scheme::kTf) {
        ExpectMatchesReference(
            s.encoding, sr::Symmetric(-0.001f, 6.5, bitwidth, 0.01), what);
      }
    }
  }
  // ComputeSymmetricEncoding on a range [0, hi] gives §2 with lo = 0.
  EncodingOptions options;
  options.symmetric = true;
  options.unsigned_symmetric = true;
  Encoding e;
  ASSERT_TRUE(ComputeSymmetricEncoding(0, 2.55, options, &e).ok());
  EXPECT_FALSE(e.is_symmetric);
  EXPECT_EQ(e.offset, 0);
  EXPECT_TRUE(RelNear(e.scale, 0.01, 1e-15));
  ASSERT_TRUE(ComputeSymmetricEncoding(-1e-9, 2.55, options, &e).ok());
  EXPECT_TRUE(e.is_symmetric);
}

TEST(SchemeSymmetricTest, ExactZeroAndZeroData) {
  for (int bitwidth : {2, 8, 16}) {
    // All zeros: absmax = minRange / 2.
    const std::vector<float> zeros(100, 0.0f);
    const Quantized q =
        QuantizeAny(zeros, Options(Scheme::kTf, bitwidth, true));
    ASSERT_TRUE(q.status.ok()) << q.status.message();
    EXPECT_TRUE(
        RelNear(q.encoding.scale, 0.005 / (sr::Half(bitwidth) - 1), 1e-15));
    for (int64_t c : q.codes) ASSERT_EQ(c, 0);
    Status status;
    const std::vector<float> back = DequantizeWith({0}, q.encoding, &status);
    ASSERT_TRUE(status.ok());
    EXPECT_EQ(reference::FloatBits(back[0]), 0u) << "+0.0 exactly";
  }
}

// ===========================================================================
// §3.2 per-channel

struct LayoutCase {
  const char* name;
  std::vector<size_t> shape;
  int axis;
};

struct SchemeCase {
  const char* name;
  Scheme scheme;
  bool symmetric;
  bool strict;
  double percentile;
};

const std::vector<LayoutCase>& LayoutCases() {
  static const auto* cases =
      new std::vector<LayoutCase>{{"OIHW_axis0", {4, 3, 3, 3}, 0},
                                  {"OIHW_axis1", {4, 3, 3, 3}, 1},
                                  {"HWIO_axisMinus1", {3, 3, 2, 5}, -1},
                                  {"HWIO_axis3", {3, 3, 2, 5}, 3},
                                  {"Vector_axis0", {7}, 0},
                                  {"UnitChannel", {2, 1, 3}, 1},
                                  {"Wide_axis1", {3, 40, 24}, 1},
                                  {"Long_axisMinus2", {6, 50, 2}, -2},
                                  {"Big_axis0", {16, 8, 3, 3}, 0}};
  return *cases;
}

const std::vector<SchemeCase>& SchemeCases() {
  static const auto* cases = new std::vector<SchemeCase>{
      {"tf", Scheme::kTf, false, false, 99.99},
      {"symmetric", Scheme::kTf, true, false, 99.99},
      {"symmetric_strict", Scheme::kTf, true, true, 99.99},
      {"tf_enhanced", Scheme::kTfEnhanced, false, false, 99.99},
      {"tf_enhanced_symmetric", Scheme::kTfEnhanced, true, false, 99.99},
      {"percentile90", Scheme::kPercentile, false, false, 90},
      {"percentile99_symmetric", Scheme::kPercentile, true, false, 99}};
  return *cases;
}

// Channel c of the tensor has its own spread and centre, one channel is all
// positive and one all negative, and the first element is 0.0.
std::vector<float> PerChannelData(const sr::Layout& l, uint32_t seed) {
  const size_t n = l.outer * l.channels * l.inner;
  std::vector<float> noise = sr::Normal(n, 0, 1, seed);
  std::vector<float> x(n);
  for (size_t i = 0; i < n; ++i) {
    const size_t c = (i / l.inner) % l.channels;
    double v = noise[i] * (0.25 + 0.5 * static_cast<double>(c)) +
               0.3 * static_cast<double>(c % 3);
    if (c == 1 % l.channels && l.channels > 2) v = std::fabs(v) + 0.1;
    if (c == 2 % l.channels && l.channels > 2) v = -std::fabs(v) - 0.2;
    x[i] = static_cast<float>(v);
  }
  if (n > 0) x[0] = 0.0f;
  return x;
}

using PerChannelParam = std::tuple<LayoutCase, SchemeCase, int>;

class SchemePerChannelTest : public ::testing::TestWithParam<PerChannelParam> {
};

TEST_P(SchemePerChannelTest, EqualsEachSliceQuantizedAlone) {
  const auto& [layout_case, scheme_case, bitwidth] = GetParam();
  const sr::Layout l = sr::LayoutOf(layout_case.shape, layout_case.axis);
  const std::vector<float> x = PerChannelData(l, 1234 + bitwidth);
  const size_t n = x.size();

  QuantizeOptions options = Options(scheme_case.scheme, bitwidth,
                                    scheme_case.symmetric, scheme_case.strict);
  options.percentile = scheme_case.percentile;
  CalibrationOptions calibration = options.Calibration();
  calibration.layout.channels = l.channels;
  calibration.layout.inner = l.inner;

  // Per channel, in one chunk and in uneven chunks.
  std::vector<Encoding> encodings;
  Status status = RunCalibrator(x, calibration, {n}, &encodings);
  ASSERT_TRUE(status.ok()) << status.message();
  ASSERT_EQ(encodings.size(), l.channels);
  std::vector<Encoding> chunked;
  status = RunCalibrator(x, calibration, UnevenChunks(), &chunked);
  ASSERT_TRUE(status.ok()) << status.message();
  ASSERT_EQ(chunked.size(), l.channels);

  ChannelLayout layout = calibration.layout;
  ChannelQuantizer quantizer(Kernels(), layout, encodings, options.rounding);
  ASSERT_TRUE(quantizer.Check().ok()) << quantizer.Check().message();
  std::vector<uint8_t> buffer(2 * n + 2, 0xA5);
  // Quantize in two uneven pieces, the second starting mid-channel.
  const size_t split = n / 3 + 1;
  ASSERT_TRUE(
      quantizer
          .Quantize(x.data(), split, NonFinite::kError, 0, buffer.data(), false)
          .ok());
  ASSERT_TRUE(
      quantizer
          .Quantize(x.data() + split, n - split, NonFinite::kError, split,
                    buffer.data() + split * CodeBytes(quantizer.code_type()),
                    false)
          .ok());
  const std::vector<int64_t> codes =
      ReadCodes(buffer, quantizer.code_type(), n);
  std::vector<float> xhat(n, -12345.5f);
  ASSERT_TRUE(quantizer.Dequantize(buffer.data(), n, 0, xhat.data()).ok());

  ChannelErrorAccumulator accumulator(Kernels(), layout, encodings,
                                      options.rounding, NonFinite::kError);
  ASSERT_TRUE(accumulator.Add(x.data(), split, 0).ok());
  ASSERT_TRUE(accumulator.Add(x.data() + split, n - split, split).ok());

  uint64_t total_count = 0;
  double total_sq = 0;
  double total_max = 0;
  uint64_t total_clipped = 0;
  for (size_t c = 0; c < l.channels; ++c) {
    const std::string what = "channel " + std::to_string(c);
    const std::vector<size_t> indices = sr::ChannelIndices(l, c);
    const std::vector<float> slice = sr::Gather(x, indices);

    // The slice alone, per tensor.
    const Quantized alone = QuantizeAny(slice, options);
    ASSERT_TRUE(alone.status.ok()) << what << ": " << alone.status.message();
    ExpectSameEncoding(encodings[c], alone.encoding, what);
    ExpectSameEncoding(chunked[c], alone.encoding, what + " (chunked)");
    EXPECT_EQ(sr::Gather(codes, indices), alone.codes) << what;

    // ... whose encoding also matches the independent models.
    double lo, hi;
    sr::FiniteRange(slice, &lo, &hi);
    if (scheme_case.scheme == Scheme::kPercentile) {
      sr::PercentileRange(slice, std::llround(scheme_case.percentile * 10000),
                          &lo, &hi);
    }
    if (scheme_case.scheme != Scheme::kTfEnhanced) {
      ExpectMatchesReference(
          encodings[c],
          scheme_case.symmetric
              ? sr::Symmetric(lo, hi, bitwidth, 0.01, scheme_case.strict)
              : sr::Tf(lo, hi, bitwidth, 0.01),
          what + " vs reference");
    }

    // Dequantized, the slice alone.
    Status dq;
    const std::vector<float> back =
        DequantizeWith(alone.codes, alone.encoding, &dq);
    ASSERT_TRUE(dq.ok()) << dq.message();
    const std::vector<float> got = sr::Gather(xhat, indices);
    for (size_t i = 0; i < slice.size(); ++i) {
      ASSERT_EQ(reference::FloatBits(got[i]), reference::FloatBits(back[i]))
          << what << " element " << i;
    }

    // The channel's report equals the report of the slice alone, up to
    // SPEC §4's float32 block sums (channels innermost sum in double).
    Report want;
    ASSERT_TRUE(Analyze(Kernels(), slice.data(), slice.size(), alone.encoding,
                        options, &want)
                    .ok());
    const Report r = accumulator.Channel(c);
    EXPECT_EQ(r.count, want.count) << what;
    EXPECT_EQ(r.count, slice.size()) << what;
    EXPECT_EQ(r.clipped, want.clipped) << what;
    EXPECT_EQ(r.max_abs_error, want.max_abs_error) << what;
    EXPECT_TRUE(RelNear(r.mse, want.mse, 1e-5)) << what;
    EXPECT_TRUE(RelNear(r.mean_abs_error, want.mean_abs_error, 1e-5)) << what;
    if (std::isfinite(want.sqnr_db)) {
      EXPECT_NEAR(r.sqnr_db, want.sqnr_db, 1e-4) << what;
    } else {
      EXPECT_EQ(r.sqnr_db, want.sqnr_db) << what;
    }
    total_count += want.count;
    total_sq += want.mse * static_cast<double>(want.count);
    total_max = std::max(total_max, want.max_abs_error);
    total_clipped += want.clipped;
  }
  // Totals: counts add up, mse is the count-weighted mean.
  const Report total = accumulator.Total();
  EXPECT_EQ(total.count, n);
  EXPECT_EQ(total.count, total_count);
  EXPECT_EQ(total.clipped, total_clipped);
  EXPECT_EQ(total.max_abs_error, total_max);
  EXPECT_TRUE(
      RelNear(total.mse, total_sq / static_cast<double>(total_count), 1e-5))
      << total.mse << " vs " << total_sq / total_count;
  EXPECT_TRUE(RelNear(total.rmse, std::sqrt(total.mse), 1e-15));
}

INSTANTIATE_TEST_SUITE_P(
    Layouts, SchemePerChannelTest,
    ::testing::Combine(::testing::ValuesIn(LayoutCases()),
                       ::testing::ValuesIn(SchemeCases()),
                       ::testing::Values(4, 8, 16)),
    [](const ::testing::TestParamInfo<PerChannelParam>& info) {
      return std::string(std::get<0>(info.param).name) + "_" +
             std::get<1>(info.param).name + "_" +
             std::to_string(std::get<2>(info.param)) + "bit";
    });

TEST(SchemePerChannelErrorsTest, ChannelQuantizerChecksItsEncodings) {
  ChannelLayout layout;
  layout.channels = 3;
  layout.inner = 4;
  Encoding a;
  ASSERT_TRUE(ComputeTfEncoding(-1, 1, EncodingOptions(), &a).ok());
  // Wrong number of encodings.
  ChannelQuantizer two(Kernels(), layout, {a, a}, Rounding::kHalfUp);
  const Status s = two.Check();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.kind(), ErrorKind::kRange);
  EXPECT_TRUE(ContainsIgnoringCase(s.message(), "encodings")) << s.message();
  EXPECT_NE(s.message().find('3'), std::string::npos) << s.message();
  // Encodings whose codes have different types.
  EncodingOptions sym;
  sym.symmetric = true;
  Encoding b;
  ASSERT_TRUE(ComputeSymmetricEncoding(-1, 1, sym, &b).ok());
  ChannelQuantizer mixed(Kernels(), layout, {a, b, a}, Rounding::kHalfUp);
  EXPECT_FALSE(mixed.Check().ok());
  EncodingOptions wide;
  wide.bitwidth = 16;
  Encoding c;
  ASSERT_TRUE(ComputeTfEncoding(-1, 1, wide, &c).ok());
  ChannelQuantizer widths(Kernels(), layout, {a, a, c}, Rounding::kHalfUp);
  EXPECT_FALSE(widths.Check().ok());
}

TEST(SchemePerChannelErrorsTest, ChannelWithoutFiniteDataIsNamed) {
  // [2, 3, 2] on axis 1: channel 1 holds only NaN/Inf.
  std::vector<float> x = {1, 2, kNaN, kInf, 3, 4, 5, 6, -kInf, kNaN, 7, 8};
  for (Scheme scheme :
       {Scheme::kTf, Scheme::kTfEnhanced, Scheme::kPercentile}) {
    CalibrationOptions o;
    o.scheme = scheme;
    o.non_finite = NonFinite::kSaturate;
    o.layout.channels = 3;
    o.layout.inner = 2;
    std::vector<Encoding> encodings;
    const Status s = RunCalibrator(x, o, {5}, &encodings);
    ASSERT_FALSE(s.ok());
    EXPECT_TRUE(ContainsIgnoringCase(s.message(), "channel 1")) << s.message();
  }
}

// ===========================================================================
// §3.3 tf_enhanced

// Checks got against the SPEC's search done here: got is no costlier than the
// reference's best, and equals it when no other candidate comes close.
void ExpectReferenceSearch(const std::vector<float>& x, const Encoding& got,
                           int bitwidth, bool symmetric, double min_range,
                           const std::string& what) {
  const sr::EnhancedResult ref =
      sr::Enhanced(x, bitwidth, symmetric, false, min_range);
  const double got_cost = sr::Cost(ref.histogram, View(got));
  EXPECT_LE(got_cost, ref.best_cost * (1 + 1e-9) + 1e-300)
      << what << ": the library's choice (scale " << got.scale << ", offset "
      << got.offset << ") costs " << got_cost << ", the best candidate (scale "
      << ref.best.scale << ", offset " << ref.best.offset << ") "
      << ref.best_cost;
  if (ref.runner_up_cost > ref.best_cost * (1 + 1e-6)) {
    ExpectMatchesReference(got, ref.best, what + " (clear winner)", 1e-12);
  }
}

TEST(SchemeEnhancedTest, HandCheckedClippingCandidate) {
  // 2 bits (steps 3). 10000 each of 0, 1 and 2, and one outlier 48.
  // lo = 0, hi = 48, maxStep = 16: the step sizes are k = 1..17 and, lo being
  // 0, every candidate clamps to [0, M] with M in {k, 2k, 3k} (offsets
  // -2, -1, 0 with k; -3 gives M = 0). Over the bucket centres (width 48/512:
  // 0.047, 0.984, 2.016, 47.95):
  //   tf, M = 48 (grid 0, 16, 32, 48): 1 and 2 both round to 0,
  //     10000 * (0.969 + 4.06) ~ 50000;
  //   M = 3 (grid 0, 1, 2, 3): 10000 * (0.0022 + 0.0002 + 0.0002) ~ 27 plus
  //     the clipped outlier 3 * (47.95 - 3)^2 ~ 6062: ~ 6089;
  //   M = 2 (grid 0, 0.67, 1.33, 2): ~ 1000 + 3 * 45.95^2 ~ 7300;
  //   M = 4 (grid 0, 1.33, 2.67, 4): ~ 5460 + 3 * 43.95^2 ~ 11250;
  //   and every larger M costs more still.
  // So the result is [0, 3]: scale 1, offset 0.
  std::vector<float> x;
  for (int k = 0; k < 10000; ++k) {
    x.push_back(0);
    x.push_back(1);
    x.push_back(2);
  }
  x.push_back(48);
  const Quantized q = QuantizeAny(x, Options(Scheme::kTfEnhanced, 2));
  ASSERT_TRUE(q.status.ok()) << q.status.message();
  EXPECT_FALSE(q.encoding.is_symmetric);
  EXPECT_EQ(q.encoding.offset, 0);
  EXPECT_DOUBLE_EQ(q.encoding.scale, 1.0);
  EXPECT_DOUBLE_EQ(q.encoding.min, 0.0);
  EXPECT_DOUBLE_EQ(q.encoding.max, 3.0);
  EXPECT_EQ(q.codes[0], 0);
  EXPECT_EQ(q.codes[1], 1);
  EXPECT_EQ(q.codes[2], 2);
  EXPECT_EQ(q.codes.back(), 3);  // the outlier saturates
  ExpectReferenceSearch(x, q.encoding, 2, false, 0.01, "hand-checked");
  const Quantized tf = QuantizeAny(x, Options(Scheme::kTf, 2));
  ASSERT_TRUE(tf.status.ok());
  EXPECT_GT(SqnrOf(x, q), SqnrOf(x, tf));
}

TEST(SchemeEnhancedTest, HandCheckedSymmetricCandidate) {
  // 2 bits symmetric: scale f * absmax / 1, offset -2, grid
  // {-2s, -s, 0, s}. 10000 each of -1, 0, 1 and one outlier 50: absmax 50,
  // f = 0.02 gives s = 1, the grid {-2, -1, 0, 1}, which holds the data
  // exactly (bucket centres within 0.05 of it: ~64) and clips the outlier at
  // 1: 3 * 48.95^2 ~ 7190. f = 0.03 (s = 1.5) already costs ~5100 inside the
  // range plus ~7040 for the outlier; f = 0.01 (s = 0.5) clips the ones:
  // 10000 * 3 * 0.54^2 ~ 8800; larger f cost more. So s = 1, offset -2.
  std::vector<float> x;
  for (int k = 0; k < 10000; ++k) {
    x.push_back(-1);
    x.push_back(0);
    x.push_back(1);
  }
  x.push_back(50);
  const Quantized q = QuantizeAny(x, Options(Scheme::kTfEnhanced, 2, true));
  ASSERT_TRUE(q.status.ok()) << q.status.message();
  EXPECT_TRUE(q.encoding.is_symmetric);
  EXPECT_EQ(q.encoding.offset, -2);
  EXPECT_NEAR(q.encoding.scale, 1.0, 1e-12);
  EXPECT_NEAR(q.encoding.min, -2.0, 1e-12);
  EXPECT_NEAR(q.encoding.max, 1.0, 1e-12);
  EXPECT_EQ(q.type, CodeType::kI8);
  EXPECT_EQ(q.codes[0], -1);
  EXPECT_EQ(q.codes[1], 0);
  EXPECT_EQ(q.codes[2], 1);
  EXPECT_EQ(q.codes.back(), 1);
  ExpectReferenceSearch(x, q.encoding, 2, true, 0.01, "hand-checked sym");
}

struct EnhancedData {
  const char* name;
  std::vector<float> (*make)();
};

std::vector<float> LaplaceData() {
  return sr::LaplaceWithOutliers(100000, 1.0, 6, 21);
}
std::vector<float> NormalData() { return sr::Normal(100000, 0.5, 1.5, 22); }
std::vector<float> UniformData() { return sr::Uniform(100000, -3, 7, 23); }
std::vector<float> PositiveData() {
  std::vector<float> x = sr::LaplaceWithOutliers(50000, 0.5, 3, 24);
  for (float& v : x) v = std::fabs(v) + 0.25f;
  return x;
}
std::vector<float> NegativeData() {
  std::vector<float> x = sr::Normal(50000, -4, 1, 25);
  for (float& v : x) v = -std::fabs(v);
  return x;
}
std::vector<float> BimodalData() {
  std::vector<float> x = sr::Normal(60000, 0, 0.2, 26);
  for (size_t i = 0; i < x.size(); i += 3) x[i] += 5;
  return x;
}
std::vector<float> TinyData() { return sr::Uniform(2000, -0.002, 0.003, 27); }

using EnhancedParam = std::tuple<EnhancedData, int, bool>;

class SchemeEnhancedSearchTest
    : public ::testing::TestWithParam<EnhancedParam> {};

TEST_P(SchemeEnhancedSearchTest, PicksTheCheapestCandidate) {
  const auto& [data, bitwidth, symmetric] = GetParam();
  const std::vector<float> x = data.make();
  const Quantized q =
      QuantizeAny(x, Options(Scheme::kTfEnhanced, bitwidth, symmetric));
  ASSERT_TRUE(q.status.ok()) << q.status.message();
  ExpectReferenceSearch(x, q.encoding, bitwidth, symmetric, 0.01, data.name);

  // Exact zero, integer offset in range, the minimum range, code range.
  const sr::SchemeEncoding v = View(q.encoding);
  EXPECT_EQ(q.encoding.is_symmetric, symmetric);
  if (symmetric) {
    EXPECT_EQ(q.encoding.offset, -sr::Half(bitwidth));
  } else {
    EXPECT_LE(q.encoding.offset, 0);
    EXPECT_GE(q.encoding.offset, -reference::RefSteps(bitwidth));
  }
  EXPECT_GE(q.encoding.max - q.encoding.min, 0.01 * (1 - 1e-12));
  int64_t lo_code, hi_code;
  CodeRange(q.encoding, &lo_code, &hi_code);
  const int64_t zero_code = symmetric ? 0 : -q.encoding.offset;
  for (size_t i = 0; i < x.size(); ++i) {
    ASSERT_GE(q.codes[i], lo_code);
    ASSERT_LE(q.codes[i], hi_code);
    ASSERT_TRUE(sr::Allowed(x[i], v, Rounding::kHalfUp).Contains(q.codes[i]))
        << "x[" << i << "] = " << x[i] << " code " << q.codes[i];
  }
  const std::vector<int64_t> zero =
      QuantizeWith({0.0f, -0.0f}, q.encoding, Rounding::kHalfUp);
  EXPECT_EQ(zero, (std::vector<int64_t>{zero_code, zero_code}));
  Status status;
  EXPECT_EQ(DequantizeWith({zero_code}, q.encoding, &status)[0], 0.0f);

  // Deterministic, and the same in uneven chunks.
  const Quantized again =
      QuantizeAny(x, Options(Scheme::kTfEnhanced, bitwidth, symmetric));
  ExpectSameEncoding(again.encoding, q.encoding, "again");
  std::vector<Encoding> chunked;
  ASSERT_TRUE(
      RunCalibrator(
          x, Options(Scheme::kTfEnhanced, bitwidth, symmetric).Calibration(),
          UnevenChunks(), &chunked)
          .ok());
  ExpectSameEncoding(chunked[0], q.encoding, "chunked");
}

INSTANTIATE_TEST_SUITE_P(
    DataSets, SchemeEnhancedSearchTest,
    ::testing::Combine(::testing::Values(EnhancedData{"Laplace", LaplaceData},
                                         EnhancedData{"Normal", NormalData},
                                         EnhancedData{"Uniform", UniformData},
                                         EnhancedData{"Positive", PositiveData},
                                         EnhancedData{"Negative", NegativeData},
                                         EnhancedData{"Bimodal", BimodalData},
                                         EnhancedData{"Tiny", TinyData}),
                       ::testing::Values(2, 4, 8, 16), ::testing::Bool()),
    [](const ::testing::TestParamInfo<EnhancedParam>& info) {
      return std::string(std::get<0>(info.param).name) + "_" +
             std::to_string(std::get<1>(info.param)) + "bit" +
             (std::get<2>(info.param) ? "_symmetric" : "");
    });

TEST(SchemeEnhancedTest, HeavyTailsGiveStrictlyHigherSqnrThanTf) {
  // Laplace(0, 1), 1M values, plus 8 outliers at 40..60.
  const std::vector<float> x = sr::LaplaceWithOutliers(1000000, 1.0, 8, 31);
  for (int bitwidth : {8, 4}) {
    const Quantized tf = QuantizeAny(x, Options(Scheme::kTf, bitwidth));
    const Quantized en = QuantizeAny(x, Options(Scheme::kTfEnhanced, bitwidth));
    ASSERT_TRUE(tf.status.ok() && en.status.ok());
    const double sqnr_tf = SqnrOf(x, tf);
    const double sqnr_en = SqnrOf(x, en);
    EXPECT_GT(sqnr_en, sqnr_tf) << bitwidth << " bits";
    // Not by a hair: clipping 8 outliers of 1M buys several dB.
    EXPECT_GT(sqnr_en, sqnr_tf + 1.0) << bitwidth << " bits";
    RecordProperty("sqnr_gain_db_" + std::to_string(bitwidth),
                   std::to_string(sqnr_en - sqnr_tf));
    // The outliers are clipped: the range is narrower than the data's.
    EXPECT_LT(en.encoding.max - en.encoding.min,
              tf.encoding.max - tf.encoding.min);
  }
}

TEST(SchemeEnhancedTest, UniformDataIsNotWorseThanTf) {
  const std::vector<float> x = sr::Uniform(1000000, -3, 7, 32);
  const std::vector<float> s = sr::Uniform(1000000, -5, 5, 33);
  for (int bitwidth : {4, 8, 16}) {
    const Quantized tf = QuantizeAny(x, Options(Scheme::kTf, bitwidth));
    const Quantized en = QuantizeAny(x, Options(Scheme::kTfEnhanced, bitwidth));
    ASSERT_TRUE(tf.status.ok() && en.status.ok());
    EXPECT_GE(SqnrOf(x, en), SqnrOf(x, tf) - 0.1) << bitwidth << " bits";

    const Quantized sym = QuantizeAny(s, Options(Scheme::kTf, bitwidth, true));
    const Quantized sen =
        QuantizeAny(s, Options(Scheme::kTfEnhanced, bitwidth, true));
    ASSERT_TRUE(sym.status.ok() && sen.status.ok());
    EXPECT_TRUE(sen.encoding.is_symmetric);
    EXPECT_EQ(sen.encoding.offset, -sr::Half(bitwidth));
    EXPECT_GE(SqnrOf(s, sen), SqnrOf(s, sym) - 0.1) << bitwidth << " bits";
  }
}

TEST(SchemeEnhancedTest, KeepsZeroAndMinRange) {
  struct Case {
    std::vector<float> x;
    double min_range;
  };
  const std::vector<Case> cases = {{std::vector<float>(100, 2.75f), 0.01},
                                   {std::vector<float>(100, 0.0f), 0.01},
                                   {std::vector<float>(100, -3.0f), 0.5},
                                   {sr::Uniform(1000, -0.002, 0.003, 41), 0.01},
                                   {sr::Uniform(1000, -0.002, 0.003, 42), 0.25},
                                   {sr::Uniform(1000, 10, 10.001, 43), 0.01},
                                   {{0.0f, 1e-6f}, 1e-3}};
  for (int bitwidth : {2, 8, 16}) {
    for (bool symmetric : {false, true}) {
      for (size_t k = 0; k < cases.size(); ++k) {
        const std::string what = "case " + std::to_string(k) + ", " +
                                 std::to_string(bitwidth) + " bits" +
                                 (symmetric ? " symmetric" : "");
        QuantizeOptions o = Options(Scheme::kTfEnhanced, bitwidth, symmetric);
        o.min_range = cases[k].min_range;
        const Quantized q = QuantizeAny(cases[k].x, o);
        ASSERT_TRUE(q.status.ok()) << what << ": " << q.status.message();
        EXPECT_GE(q.encoding.max - q.encoding.min,
                  cases[k].min_range * (1 - 1e-12))
            << what;
        const int64_t zero_code = symmetric ? 0 : -q.encoding.offset;
        EXPECT_EQ(QuantizeWith({0.0f}, q.encoding, Rounding::kHalfUp)[0],
                  zero_code)
            << what;
        Status status;
        EXPECT_EQ(DequantizeWith({zero_code}, q.encoding, &status)[0], 0.0f)
            << what;
        // min is an integer multiple of scale (the offset).
        EXPECT_TRUE(RelNear(q.encoding.min,
                            q.encoding.offset * q.encoding.scale, 1e-15))
            << what;
      }
    }
  }
}

// ===========================================================================
// §3.4 percentile

struct PercentileValue {
  double p;
  int64_t p_e4;  // p in ten-thousandths, for exact ranks
};

const PercentileValue kPercentiles[] = {
    {99.99, 999900}, {99, 990000}, {90, 900000}, {100, 1000000}, {50, 500000}};

enum class PercentileData { kDuplicates, kPositive, kNegative, kZerosAndNaN };

std::vector<float> MakePercentileData(PercentileData kind, size_t n,
                                      uint32_t seed) {
  std::vector<float> x = sr::Normal(n, 0.2, 3, seed);
  switch (kind) {
    case PercentileData::kDuplicates:
      // Quarter steps: many equal values.
      for (float& v : x) v = std::round(v * 4) / 4;
      break;
    case PercentileData::kPositive:
      for (float& v : x) v = std::fabs(v) + 0.5f;
      break;
    case PercentileData::kNegative:
      for (float& v : x) v = -std::fabs(v) - 1.5f;
      break;
    case PercentileData::kZerosAndNaN:
      for (size_t i = 0; i < n; ++i) {
        if (i % 5 == 1) x[i] = 0.0f;
        if (i % 5 == 2) x[i] = -0.0f;
        if (i % 11 == 3) x[i] = kNaN;
        if (i % 13 == 4) x[i] = i % 2 ? kInf : -kInf;
      }
      if (n >= 2) x[0] = kNaN;  // keep one finite element at least
      break;
  }
  return x;
}

TEST(SchemePercentileTest, NearestRankOnTheSortedFiniteData) {
  const size_t sizes[] = {1, 2, 10, 1000, 10007, 1000000};
  for (size_t n : sizes) {
    for (PercentileData kind :
         {PercentileData::kDuplicates, PercentileData::kPositive,
          PercentileData::kNegative, PercentileData::kZerosAndNaN}) {
      if (n == 1000000 && kind != PercentileData::kDuplicates &&
          kind != PercentileData::kZerosAndNaN) {
        continue;  // keep the runtime down
      }
      std::vector<float> x =
          MakePercentileData(kind, n, 100 + static_cast<uint32_t>(n));
      if (kind == PercentileData::kZerosAndNaN && n == 1) x[0] = -0.0f;
      bool has_finite = false;
      for (float v : x) has_finite |= std::isfinite(v);
      ASSERT_TRUE(has_finite);
      for (const PercentileValue& p : kPercentiles) {
        double lo, hi;
        sr::PercentileRange(x, p.p_e4, &lo, &hi);
        for (bool symmetric : {false, true}) {
          for (int bitwidth : {8, 4}) {
            if (bitwidth == 4 && n == 1000000) continue;
            const std::string what = "n " + std::to_string(n) + ", data " +
                                     std::to_string(static_cast<int>(kind)) +
                                     ", p " + std::to_string(p.p) + ", " +
                                     std::to_string(bitwidth) + " bits" +
                                     (symmetric ? " symmetric" : "");
            QuantizeOptions o =
                Options(Scheme::kPercentile, bitwidth, symmetric);
            o.percentile = p.p;
            o.non_finite = NonFinite::kSaturate;
            Encoding e;
            const Status status =
                Calibrate(Kernels(), x.data(), x.size(), o, &e);
            ASSERT_TRUE(status.ok()) << what << ": " << status.message();
            const sr::SchemeEncoding want =
                symmetric ? sr::Symmetric(lo, hi, bitwidth, 0.01)
                          : sr::Tf(lo, hi, bitwidth, 0.01);
            ExpectMatchesReference(e, want, what);
            if (!symmetric) {
              // The same operations in the same order: bit for bit.
              EXPECT_EQ(DoubleBits(e.scale), DoubleBits(want.scale)) << what;
              EXPECT_EQ(DoubleBits(e.min), DoubleBits(want.min)) << what;
              EXPECT_EQ(DoubleBits(e.max), DoubleBits(want.max)) << what;
            }
          }
        }
      }
    }
  }
}

TEST(SchemePercentileTest, HandComputedRanks) {
  // 1..10 shuffled, p = 90: hi at rank ceil(9) = 9 -> 9, lo at rank
  // ceil(1) = 1 -> 1, so [0, 9] after zero is pulled in.
  std::vector<float> x = {7, 3, 10, 1, 9, 2, 8, 6, 4, 5};
  QuantizeOptions o = Options(Scheme::kPercentile, 8);
  o.percentile = 90;
  Encoding e;
  ASSERT_TRUE(Calibrate(Kernels(), x.data(), x.size(), o, &e).ok());
  EXPECT_EQ(e.offset, 0);
  EXPECT_DOUBLE_EQ(e.scale, 9.0 / 255);
  // p = 85: ranks ceil(1.5) = 2 -> 2 and ceil(8.5) = 9 -> 9.
  x = {-7, -3, -10, -1, -9, -2, -8, -6, -4, -5};
  o.percentile = 85;
  ASSERT_TRUE(Calibrate(Kernels(), x.data(), x.size(), o, &e).ok());
  // sorted -10..-1: rank 2 = -9, rank 9 = -2; hi < 0 -> hi = 0.
  EXPECT_EQ(e.offset, -255);
  EXPECT_DOUBLE_EQ(e.scale, 9.0 / 255);
  // p = 50, two values: both ranks are 1, the smaller value.
  x = {4, -2};
  o.percentile = 50;
  ASSERT_TRUE(Calibrate(Kernels(), x.data(), x.size(), o, &e).ok());
  // lo = hi = -2: hi = -2 + 0.01, then hi < 0 -> 0: [-2, 0].
  EXPECT_EQ(e.offset, -255);
  EXPECT_DOUBLE_EQ(e.scale, 2.0 / 255);
  // p = 100 is the plain min/max.
  x = sr::Normal(5000, 1, 2, 5);
  o.percentile = 100;
  ASSERT_TRUE(Calibrate(Kernels(), x.data(), x.size(), o, &e).ok());
  Encoding tf;
  ASSERT_TRUE(
      Calibrate(Kernels(), x.data(), x.size(), Options(Scheme::kTf, 8), &tf)
          .ok());
  ExpectSameEncoding(e, tf, "p = 100");
}

TEST(SchemePercentileTest, NonFiniteSaturateIsExcludedAndCoded) {
  // Finite data -4..5 (10 values) and NaN/±Inf around them.
  std::vector<float> x = {kNaN,  -4, -3, kInf, -2,   -1, 0,
                          -kInf, 1,  2,  3,    kNaN, 4,  5};
  QuantizeOptions o = Options(Scheme::kPercentile, 8);
  o.percentile = 90;  // ranks 1 and 9 of 10: -4 and 4
  o.non_finite = NonFinite::kSaturate;
  const Quantized q = QuantizeAny(x, o);
  ASSERT_TRUE(q.status.ok()) << q.status.message();
  ExpectMatchesReference(q.encoding, sr::Tf(-4, 4, 8, 0.01), "percentile");
  const int64_t z = -q.encoding.offset;
  EXPECT_EQ(q.codes[0], z);
  EXPECT_EQ(q.codes[11], z);
  EXPECT_EQ(q.codes[3], 255);
  EXPECT_EQ(q.codes[7], 0);
  EXPECT_EQ(q.codes[13], 255);  // 5 > hi saturates
  // Symmetric: NaN is code 0, +Inf half - 1, -Inf -half.
  o.symmetric = true;
  const Quantized s = QuantizeAny(x, o);
  ASSERT_TRUE(s.status.ok()) << s.status.message();
  EXPECT_EQ(s.codes[0], 0);
  EXPECT_EQ(s.codes[3], 127);
  EXPECT_EQ(s.codes[7], -128);
  // With the default nonFinite 'error' the first one is named.
  o.non_finite = NonFinite::kError;
  const Quantized err = QuantizeAny(x, o);
  ASSERT_FALSE(err.status.ok());
  EXPECT_TRUE(test_util::NamesIndex(err.status.message(), 0))
      << err.status.message();
}

TEST(SchemePercentileTest, ChunkedEqualsOneShot) {
  std::vector<float> x =
      MakePercentileData(PercentileData::kZerosAndNaN, 200003, 77);
  for (const PercentileValue& p : kPercentiles) {
    for (bool symmetric : {false, true}) {
      QuantizeOptions o = Options(Scheme::kPercentile, 8, symmetric);
      o.percentile = p.p;
      o.non_finite = NonFinite::kSaturate;
      Encoding one_shot;
      ASSERT_TRUE(Calibrate(Kernels(), x.data(), x.size(), o, &one_shot).ok());
      std::vector<Encoding> chunked;
      ASSERT_TRUE(
          RunCalibrator(x, o.Calibration(), UnevenChunks(), &chunked).ok());
      ExpectSameEncoding(
          chunked[0], one_shot,
          "p " + std::to_string(p.p) + (symmetric ? " symmetric" : ""));
    }
  }
}

// The ranks are exact whatever the tensor size and p: rank =
// ceil(p / 100 * N) in exact arithmetic (here in integers, p in
// ten-thousandths). The cases are where a tolerance on the double p * N / 100
// is easily wrong: N = 2e7 with p = 99.99 (low rank exactly 2000, computed
// from 100 - 99.99 = 0.010000000000005116), and N = 109999 with p = 99.99
// (high rank ceil(109988.0001) = 109989: a fraction of only 1e-4 above an
// integer). The data is sorted, so element i has rank i + 1, and every rank
// next to the two wanted ones holds a different value: an off-by-one in
// either direction changes the encoding. Fed to the Calibrator in chunks,
// so the test needs no large tensor in memory.
float RankMarker(uint64_t i, uint64_t low_rank, uint64_t high_rank) {
  const uint64_t r = i + 1;
  if (r < low_rank) return -3;
  if (r == low_rank) return -2;
  if (r == low_rank + 1) return -1;
  if (r + 1 == high_rank) return 1;
  if (r == high_rank) return 2;
  if (r > high_rank) return 3;
  return 0;
}

TEST(SchemePercentileTest, RanksAreExactForLargeTensors) {
  struct Case {
    uint64_t n;
    double p;
    int64_t p_e4;
  };
  for (const Case& c :
       {Case{20000000, 99.99, 999900}, Case{30000000, 99.999, 999990},
        Case{109999, 99.99, 999900}, Case{1009999, 99.99, 999900},
        Case{99991, 99.999, 999990}, Case{1001999, 99.9, 999000},
        Case{501999, 99.95, 999500}, Case{10007, 99.99, 999900}}) {
    const uint64_t low_rank = sr::NearestRank(1000000 - c.p_e4, c.n);
    const uint64_t high_rank = sr::NearestRank(c.p_e4, c.n);
    const std::string what =
        "N " + std::to_string(c.n) + ", p " + std::to_string(c.p) + ": ranks " +
        std::to_string(low_rank) + " and " + std::to_string(high_rank);
    ASSERT_LT(low_rank + 2, high_rank) << what;
    CalibrationOptions o;
    o.scheme = Scheme::kPercentile;
    o.percentile = c.p;
    Calibrator calibrator(Kernels(), o);
    std::vector<float> chunk(1 << 16);
    for (int pass = 0; pass < calibrator.passes(); ++pass) {
      for (uint64_t base = 0; base < c.n; base += chunk.size()) {
        const size_t len =
            static_cast<size_t>(std::min<uint64_t>(chunk.size(), c.n - base));
        for (size_t j = 0; j < len; ++j) {
          chunk[j] = RankMarker(base + j, low_rank, high_rank);
        }
        ASSERT_TRUE(calibrator.Add(chunk.data(), len, base).ok());
      }
      ASSERT_TRUE(calibrator.EndPass().ok());
    }
    std::vector<Encoding> encodings;
    ASSERT_TRUE(calibrator.Finish(&encodings).ok());
    // lo = -2 and hi = 2; a rank one off gives -3 or -1, 1 or 3.
    ExpectMatchesReference(encodings[0], sr::Tf(-2, 2, 8, 0.01), what, 1e-15);
  }
}

// ===========================================================================
// Every scheme at every bitwidth.

struct AnyScheme {
  const char* name;
  Scheme scheme;
  bool symmetric;
  bool strict;
  bool unsigned_symmetric;
};

class SchemeAllBitwidthsTest : public ::testing::TestWithParam<AnyScheme> {};

TEST_P(SchemeAllBitwidthsTest, CodesInRangeExactZeroAndCodeType) {
  const AnyScheme& s = GetParam();
  std::vector<float> x = sr::LaplaceWithOutliers(20000, 0.7, 4, 91);
  x[5] = 0.0f;
  x[6] = -0.0f;
  if (s.unsigned_symmetric) {
    for (float& v : x) v = std::fabs(v);
  }
  for (int bitwidth = 2; bitwidth <= 16; ++bitwidth) {
    const std::string what =
        std::string(s.name) + ", " + std::to_string(bitwidth) + " bits";
    QuantizeOptions o = Options(s.scheme, bitwidth, s.symmetric, s.strict);
    o.unsigned_symmetric = s.unsigned_symmetric;
    const Quantized q = QuantizeAny(x, o);
    ASSERT_TRUE(q.status.ok()) << what << ": " << q.status.message();
    const bool is_symmetric = s.symmetric && !s.unsigned_symmetric;
    EXPECT_EQ(q.encoding.is_symmetric, is_symmetric) << what;
    EXPECT_EQ(q.encoding.bitwidth, bitwidth) << what;
    const CodeType want_type =
        is_symmetric ? (bitwidth <= 8 ? CodeType::kI8 : CodeType::kI16)
                     : (bitwidth <= 8 ? CodeType::kU8 : CodeType::kU16);
    EXPECT_EQ(q.type, want_type) << what;
    const int64_t half = sr::Half(bitwidth);
    const int64_t steps = reference::RefSteps(bitwidth);
    int64_t lo_code = 0, hi_code = steps, zero_code = -q.encoding.offset;
    if (is_symmetric) {
      EXPECT_EQ(q.encoding.offset, s.strict ? -(half - 1) : -half) << what;
      lo_code = s.strict ? -(half - 1) : -half;
      hi_code = half - 1;
      zero_code = 0;
    } else {
      EXPECT_LE(q.encoding.offset, 0) << what;
      EXPECT_GE(q.encoding.offset, -steps) << what;
      if (s.unsigned_symmetric) {
        EXPECT_EQ(q.encoding.offset, 0) << what;
      }
    }
    EXPECT_TRUE(
        RelNear(q.encoding.min, q.encoding.offset * q.encoding.scale, 1e-15))
        << what;
    for (size_t i = 0; i < x.size(); ++i) {
      ASSERT_GE(q.codes[i], lo_code) << what << " at " << i;
      ASSERT_LE(q.codes[i], hi_code) << what << " at " << i;
    }
    EXPECT_EQ(q.codes[5], zero_code) << what;
    EXPECT_EQ(q.codes[6], zero_code) << what;
    Status status;
    const std::vector<float> back =
        DequantizeWith({zero_code, lo_code, hi_code}, q.encoding, &status);
    ASSERT_TRUE(status.ok()) << what << ": " << status.message();
    EXPECT_EQ(reference::FloatBits(back[0]), 0u) << what;
    EXPECT_TRUE(RelNear(back[1], q.encoding.min, 1e-6)) << what;
    EXPECT_TRUE(RelNear(back[2], q.encoding.max, 1e-6)) << what;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Schemes, SchemeAllBitwidthsTest,
    ::testing::Values(
        AnyScheme{"tf", Scheme::kTf, false, false, false},
        AnyScheme{"symmetric", Scheme::kTf, true, false, false},
        AnyScheme{"symmetric_strict", Scheme::kTf, true, true, false},
        AnyScheme{"unsigned_symmetric", Scheme::kTf, true, false, true},
        AnyScheme{"tf_enhanced", Scheme::kTfEnhanced, false, false, false},
        AnyScheme{"tf_enhanced_symmetric", Scheme::kTfEnhanced, true, false,
                  false},
        AnyScheme{"tf_enhanced_strict", Scheme::kTfEnhanced, true, true, false},
        AnyScheme{"percentile", Scheme::kPercentile, false, false, false},
        AnyScheme{"percentile_symmetric", Scheme::kPercentile, true, false,
                  false}),
    [](const ::testing::TestParamInfo<AnyScheme>& info) {
      return std::string(info.param.name);
    });

}  // namespace
}  // namespace wasmquant
