// docs/spec.md §6 (bad input) through the C++ API: errors are Status values
// that name what is wrong, and a failing call writes nothing.
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "api_helpers.h"
#include "gtest/gtest.h"
#include "reference.h"
#include "wasmquant/calibrator.h"
#include "wasmquant/encoding.h"
#include "wasmquant/kernels.h"
#include "wasmquant/oneshot.h"
#include "wasmquant/quantizer.h"
#include "wasmquant/status.h"

namespace wasmquant {
namespace {

using test_util::ContainsIgnoringCase;
using test_util::DequantizeAll;
using test_util::NamesIndex;
using test_util::QuantizeAll;
using test_util::QuantizeChunkAll;
using test_util::SentinelFor;

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// The option is min_range in C++ and minRange in JS; either name will do.
bool NamesMinRange(const std::string& message) {
  return ContainsIgnoringCase(message, "min_range") ||
         ContainsIgnoringCase(message, "minrange");
}

class ErrorsTest : public ::testing::TestWithParam<const KernelTable*> {
 protected:
  const KernelTable& kernels() const { return *GetParam(); }
};

std::vector<float> Ramp(size_t n) {
  std::vector<float> x(n);
  for (size_t i = 0; i < n; ++i) x[i] = static_cast<float>(i % 97) - 40.5f;
  return x;
}

void ExpectAllSentinel(const std::vector<uint32_t>& codes, int bitwidth) {
  size_t written = 0;
  for (uint32_t c : codes) written += c != SentinelFor(bitwidth);
  EXPECT_EQ(written, 0u) << "codes written by a failing call";
}

// ---------------------------------------------------------------------------
// NaN / ±Inf with NonFinite::kError

TEST_P(ErrorsTest, QuantizeNamesFirstNonFiniteAndWritesNothing) {
  for (float bad : {kNaN, kInf, -kInf}) {
    for (int bitwidth : {8, 16}) {
      SCOPED_TRACE("bad " + std::to_string(bad) + ", bitwidth " +
                   std::to_string(bitwidth));
      std::vector<float> x = Ramp(20000);
      x[12345] = bad;
      x[15000] = kNaN;  // a later one must not be the one named
      QuantizeOptions options;
      options.bitwidth = bitwidth;
      const auto q = QuantizeAll(kernels(), x, options);
      ASSERT_FALSE(q.status.ok());
      EXPECT_EQ(q.status.kind(), ErrorKind::kRange);
      EXPECT_TRUE(NamesIndex(q.status.message(), 12345)) << q.status.message();
      EXPECT_FALSE(NamesIndex(q.status.message(), 15000)) << q.status.message();
      ExpectAllSentinel(q.codes, bitwidth);

      Encoding encoding;
      const Status calibrated =
          Calibrate(kernels(), x.data(), x.size(), options, &encoding);
      ASSERT_FALSE(calibrated.ok());
      EXPECT_EQ(calibrated.kind(), ErrorKind::kRange);
      EXPECT_TRUE(NamesIndex(calibrated.message(), 12345))
          << calibrated.message();
    }
  }
}

TEST_P(ErrorsTest, NonFiniteAtIndexZero) {
  std::vector<float> x = Ramp(100);
  x[0] = kNaN;
  const auto q = QuantizeAll(kernels(), x, QuantizeOptions());
  ASSERT_FALSE(q.status.ok());
  EXPECT_EQ(q.status.kind(), ErrorKind::kRange);
  EXPECT_TRUE(NamesIndex(q.status.message(), 0)) << q.status.message();
  ExpectAllSentinel(q.codes, 8);
}

TEST_P(ErrorsTest, QuantizeChunkAddsIndexBase) {
  for (int bitwidth : {8, 12}) {
    Encoding e;
    EncodingOptions options;
    options.bitwidth = bitwidth;
    ASSERT_TRUE(ComputeTfEncoding(-50, 60, options, &e).ok());
    const KernelParams params = MakeKernelParams(e, Rounding::kHalfUp);
    for (float bad : {kNaN, kInf, -kInf}) {
      SCOPED_TRACE("bad " + std::to_string(bad) + ", bitwidth " +
                   std::to_string(bitwidth));
      std::vector<float> x = Ramp(300);
      x[7] = bad;
      x[250] = kNaN;
      const auto q = QuantizeChunkAll(kernels(), x, params, bitwidth,
                                      NonFinite::kError, 1000000);
      ASSERT_FALSE(q.status.ok());
      EXPECT_EQ(q.status.kind(), ErrorKind::kRange);
      EXPECT_TRUE(NamesIndex(q.status.message(), 1000007))
          << q.status.message();
      ExpectAllSentinel(q.codes, bitwidth);
    }
  }
}

// The Calibrator is told where each chunk starts, so the index is global.
TEST_P(ErrorsTest, CalibratorNamesGlobalIndex) {
  Calibrator calibrator(kernels(), CalibrationOptions());
  const std::vector<float> first = Ramp(50);
  ASSERT_TRUE(calibrator.Add(first.data(), first.size(), 0).ok());
  std::vector<float> second = Ramp(30);
  second[4] = -kInf;
  const Status status = calibrator.Add(second.data(), second.size(), 50);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.kind(), ErrorKind::kRange);
  EXPECT_TRUE(NamesIndex(status.message(), 54)) << status.message();
}

// ---------------------------------------------------------------------------
// NaN / ±Inf with NonFinite::kSaturate

TEST_P(ErrorsTest, SaturateMapsNonFiniteCodes) {
  const std::vector<float> x = {1.0f, kNaN, -2.0f, kInf, -kInf, 3.0f, kNaN};
  for (int bitwidth : {2, 4, 8, 9, 16}) {
    for (Rounding rounding : {Rounding::kHalfUp, Rounding::kHalfEven}) {
      SCOPED_TRACE("bitwidth " + std::to_string(bitwidth));
      QuantizeOptions options;
      options.bitwidth = bitwidth;
      options.rounding = rounding;
      options.non_finite = NonFinite::kSaturate;
      const auto q = QuantizeAll(kernels(), x, options);
      ASSERT_TRUE(q.status.ok()) << q.status.message();

      // Calibration saw only the finite values.
      const auto ref = reference::TfEncodingOf({1.0f, -2.0f, 3.0f}, bitwidth);
      EXPECT_EQ(q.encoding.offset, ref.offset);
      EXPECT_TRUE(reference::RelNear(q.encoding.scale, ref.scale, 1e-12));

      const uint32_t z = static_cast<uint32_t>(ref.zero_point);
      const uint32_t steps = static_cast<uint32_t>(ref.steps);
      EXPECT_EQ(q.codes[1], z) << "NaN";
      EXPECT_EQ(q.codes[3], steps) << "+Inf";
      EXPECT_EQ(q.codes[4], 0u) << "-Inf";
      EXPECT_EQ(q.codes[6], z) << "NaN";
      for (size_t i : {0, 2, 5}) {
        EXPECT_EQ(q.codes[i], reference::RefQuantize(x[i], ref, rounding));
      }

      const auto chunk =
          QuantizeChunkAll(kernels(), x, MakeKernelParams(q.encoding, rounding),
                           bitwidth, NonFinite::kSaturate, 99);
      ASSERT_TRUE(chunk.status.ok()) << chunk.status.message();
      EXPECT_EQ(chunk.codes, q.codes);

      CalibrationOptions saturate;
      saturate.non_finite = NonFinite::kSaturate;
      Calibrator calibrator(kernels(), saturate);
      ASSERT_TRUE(calibrator.Add(x.data(), x.size(), 0).ok());
      EXPECT_EQ(calibrator.nonfinite(), 4u);
    }
  }
}

// ---------------------------------------------------------------------------
// Empty tensor

TEST_P(ErrorsTest, EmptyTensorIsAnError) {
  const float x[1] = {1.0f};
  uint8_t codes[1] = {test_util::kSentinelU8};
  Encoding encoding;
  const Status q =
      Quantize(kernels(), x, 0, QuantizeOptions(), &encoding, codes);
  ASSERT_FALSE(q.ok());
  EXPECT_TRUE(ContainsIgnoringCase(q.message(), "empty")) << q.message();
  EXPECT_EQ(codes[0], test_util::kSentinelU8);

  const Status c = Calibrate(kernels(), x, 0, QuantizeOptions(), &encoding);
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(ContainsIgnoringCase(c.message(), "empty")) << c.message();

  Calibrator calibrator(kernels(), CalibrationOptions());
  ASSERT_TRUE(calibrator.Add(x, 0, 0).ok());
  const Status f = calibrator.EndPass();
  ASSERT_FALSE(f.ok());
  EXPECT_TRUE(ContainsIgnoringCase(f.message(), "empty")) << f.message();
}

// ---------------------------------------------------------------------------
// Options

TEST_P(ErrorsTest, BitwidthOutsideTwoToSixteen) {
  const std::vector<float> x = {-1.0f, 2.0f};
  for (int bitwidth : {-3, 0, 1, 17, 32}) {
    SCOPED_TRACE("bitwidth " + std::to_string(bitwidth));
    const Status v = ValidateBitwidth(bitwidth);
    ASSERT_FALSE(v.ok());
    EXPECT_EQ(v.kind(), ErrorKind::kRange);
    EXPECT_TRUE(ContainsIgnoringCase(v.message(), "bitwidth")) << v.message();
    EXPECT_TRUE(NamesIndex(v.message(), 16))
        << "allowed values: " << v.message();

    QuantizeOptions options;
    options.bitwidth = bitwidth;
    const auto q = QuantizeAll(kernels(), x, options);
    ASSERT_FALSE(q.status.ok());
    EXPECT_EQ(q.status.kind(), ErrorKind::kRange);
    EXPECT_TRUE(ContainsIgnoringCase(q.status.message(), "bitwidth"))
        << q.status.message();
    ExpectAllSentinel(q.codes, bitwidth);

    EncodingOptions encoding_options;
    encoding_options.bitwidth = bitwidth;
    Encoding e;
    const Status c = ComputeTfEncoding(-1, 2, encoding_options, &e);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.kind(), ErrorKind::kRange);
    EXPECT_TRUE(ContainsIgnoringCase(c.message(), "bitwidth")) << c.message();
  }
  for (int bitwidth = kMinBitwidth; bitwidth <= kMaxBitwidth; ++bitwidth) {
    EXPECT_TRUE(ValidateBitwidth(bitwidth).ok()) << bitwidth;
  }
}

TEST_P(ErrorsTest, MinRangeMustBePositive) {
  const std::vector<float> x = {-1.0f, 2.0f};
  for (double min_range :
       {0.0, -0.0, -0.01, std::numeric_limits<double>::quiet_NaN()}) {
    SCOPED_TRACE("min_range " + std::to_string(min_range));
    const Status v = ValidateMinRange(min_range);
    ASSERT_FALSE(v.ok());
    EXPECT_EQ(v.kind(), ErrorKind::kRange);
    EXPECT_TRUE(NamesMinRange(v.message())) << v.message();

    QuantizeOptions options;
    options.min_range = min_range;
    const auto q = QuantizeAll(kernels(), x, options);
    ASSERT_FALSE(q.status.ok());
    EXPECT_EQ(q.status.kind(), ErrorKind::kRange);
    EXPECT_TRUE(NamesMinRange(q.status.message())) << q.status.message();
    ExpectAllSentinel(q.codes, 8);

    EncodingOptions encoding_options;
    encoding_options.min_range = min_range;
    Encoding e;
    const Status c = ComputeTfEncoding(-1, 2, encoding_options, &e);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.kind(), ErrorKind::kRange);
    EXPECT_TRUE(NamesMinRange(c.message())) << c.message();
  }
  EXPECT_TRUE(ValidateMinRange(0.0001).ok());
  EXPECT_TRUE(ValidateMinRange(kDefaultMinRange).ok());
}

// ---------------------------------------------------------------------------
// NormalizeGivenEncoding

Encoding Given(int bitwidth, double scale, int32_t offset) {
  Encoding e;
  e.bitwidth = bitwidth;
  e.scale = scale;
  e.offset = offset;
  e.min = 123;  // inconsistent on purpose: scale and offset are authoritative
  e.max = -7;
  return e;
}

TEST(NormalizeGivenEncodingTest, DerivesMinAndMaxFromScaleAndOffset) {
  Encoding e;
  const Status status = NormalizeGivenEncoding(Given(8, 0.04, -128), &e);
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(e.bitwidth, 8);
  EXPECT_EQ(e.scale, 0.04);
  EXPECT_EQ(e.offset, -128);
  EXPECT_FALSE(e.is_symmetric);
  EXPECT_TRUE(reference::RelNear(e.min, -5.12, 1e-12)) << e.min;
  EXPECT_TRUE(reference::RelNear(e.max, 5.08, 1e-12)) << e.max;

  // The ends of the allowed offsets.
  EXPECT_TRUE(NormalizeGivenEncoding(Given(8, 0.1, 0), &e).ok());
  EXPECT_EQ(e.min, 0.0);
  EXPECT_TRUE(NormalizeGivenEncoding(Given(8, 0.1, -255), &e).ok());
  EXPECT_TRUE(reference::RelNear(e.min, -25.5, 1e-12)) << e.min;
  EXPECT_TRUE(NormalizeGivenEncoding(Given(16, 1e-5, -65535), &e).ok());
  EXPECT_TRUE(NormalizeGivenEncoding(Given(2, 1.0, -3), &e).ok());
}

TEST(NormalizeGivenEncodingTest, RejectsBadScale) {
  for (double scale :
       {0.0, -0.0, -1.0, std::numeric_limits<double>::quiet_NaN(),
        -std::numeric_limits<double>::infinity()}) {
    SCOPED_TRACE("scale " + std::to_string(scale));
    Encoding e;
    const Status status = NormalizeGivenEncoding(Given(8, scale, -10), &e);
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.kind(), ErrorKind::kRange);
    EXPECT_TRUE(ContainsIgnoringCase(status.message(), "scale"))
        << status.message();
  }
}

TEST(NormalizeGivenEncodingTest, RejectsOffsetOutsideMinusStepsToZero) {
  const struct {
    int bitwidth;
    int32_t offset;
  } cases[] = {{8, 1}, {8, -256}, {4, -16}, {4, 5}, {16, -65536}, {2, -4}};
  for (const auto& c : cases) {
    SCOPED_TRACE("bitwidth " + std::to_string(c.bitwidth) + ", offset " +
                 std::to_string(c.offset));
    Encoding e;
    const Status status =
        NormalizeGivenEncoding(Given(c.bitwidth, 0.1, c.offset), &e);
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.kind(), ErrorKind::kRange);
    EXPECT_TRUE(ContainsIgnoringCase(status.message(), "offset"))
        << status.message();
  }
}

TEST(NormalizeGivenEncodingTest, RejectsBadBitwidth) {
  for (int bitwidth : {0, 1, 17, 32}) {
    SCOPED_TRACE("bitwidth " + std::to_string(bitwidth));
    Encoding e;
    const Status status = NormalizeGivenEncoding(Given(bitwidth, 0.1, 0), &e);
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.kind(), ErrorKind::kRange);
    EXPECT_TRUE(ContainsIgnoringCase(status.message(), "bitwidth"))
        << status.message();
  }
}

// ---------------------------------------------------------------------------
// DequantizeChunk with codes outside [0, steps]

KernelParams ParamsFor(int bitwidth) {
  EncodingOptions options;
  options.bitwidth = bitwidth;
  Encoding e;
  EXPECT_TRUE(ComputeTfEncoding(-1, 1, options, &e).ok());
  return MakeKernelParams(e, Rounding::kHalfUp);
}

TEST_P(ErrorsTest, DequantizeRejectsCodeAboveStepsUint8) {
  for (int bitwidth = 2; bitwidth <= 7; ++bitwidth) {
    SCOPED_TRACE("bitwidth " + std::to_string(bitwidth));
    const uint32_t steps = static_cast<uint32_t>(Steps(bitwidth));
    std::vector<uint32_t> codes(40, 1);
    codes[5] = steps + 1;  // e.g. 16 at 4 bits
    codes[30] = 255;
    const auto d =
        DequantizeAll(kernels(), codes, ParamsFor(bitwidth), bitwidth, 500);
    ASSERT_FALSE(d.status.ok());
    EXPECT_EQ(d.status.kind(), ErrorKind::kRange);
    EXPECT_TRUE(NamesIndex(d.status.message(), 505)) << d.status.message();
    for (float v : d.x) ASSERT_EQ(v, test_util::kSentinelFloat);

    codes[5] = steps;  // the largest valid code is fine
    codes[30] = 0;
    const auto ok =
        DequantizeAll(kernels(), codes, ParamsFor(bitwidth), bitwidth, 500);
    EXPECT_TRUE(ok.status.ok()) << ok.status.message();
  }
}

TEST_P(ErrorsTest, DequantizeRejectsCodeAboveStepsUint16) {
  for (int bitwidth = 9; bitwidth <= 15; ++bitwidth) {
    SCOPED_TRACE("bitwidth " + std::to_string(bitwidth));
    const uint32_t steps = static_cast<uint32_t>(Steps(bitwidth));
    std::vector<uint32_t> codes(100, 3);
    codes[77] = steps + 1;
    codes[90] = 65535;
    const auto d = DequantizeAll(kernels(), codes, ParamsFor(bitwidth),
                                 bitwidth, 1u << 20);
    ASSERT_FALSE(d.status.ok());
    EXPECT_EQ(d.status.kind(), ErrorKind::kRange);
    EXPECT_TRUE(NamesIndex(d.status.message(), (1u << 20) + 77))
        << d.status.message();
    for (float v : d.x) ASSERT_EQ(v, test_util::kSentinelFloat);
  }
}

// 8 and 16 bits have no invalid codes in their storage type.
TEST_P(ErrorsTest, DequantizeAcceptsFullStorageRangeAt8And16Bits) {
  for (int bitwidth : {8, 16}) {
    const uint32_t steps = static_cast<uint32_t>(Steps(bitwidth));
    const auto d =
        DequantizeAll(kernels(), {0, steps}, ParamsFor(bitwidth), bitwidth);
    EXPECT_TRUE(d.status.ok()) << d.status.message();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Kernels, ErrorsTest, ::testing::Values(&ScalarKernels(), &DefaultKernels()),
    [](const ::testing::TestParamInfo<const KernelTable*>& info) {
      return std::string(info.index == 0 ? "Scalar" : "Default");
    });

}  // namespace
}  // namespace wasmquant
