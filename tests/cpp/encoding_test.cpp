// docs/spec.md §2 and the reference vectors of §2.1, through the public C++
// API.
#include "wasmquant/encoding.h"

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "api_helpers.h"
#include "gtest/gtest.h"
#include "json.h"
#include "reference.h"
#include "test_vectors.h"
#include "wasmquant/calibrator.h"
#include "wasmquant/kernels.h"
#include "wasmquant/oneshot.h"
#include "wasmquant/quantizer.h"

namespace wasmquant {
namespace {

using reference::RelNear;
using test_util::DequantizeAll;
using test_util::QuantizeAll;
using test_util::QuantizeChunkAll;

// SPEC §2.1: floats to 1e-6 relative (float32 inputs move the encoding in the
// 8th digit), codes exact.
constexpr double kTableRel = 1e-6;
// ComputeTfEncoding works on doubles: only double rounding separates it from
// the table, whose numbers are double computations.
constexpr double kDoubleRel = 1e-12;
constexpr int kUnpinned = -1;

struct VectorRow {
  std::string name;
  std::vector<float> input;
  int bitwidth;
  double min;
  double max;
  double scale;
  int32_t offset;
  std::vector<int> codes;           // kUnpinned: any of the allowed codes
  std::vector<double> dequantized;  // empty: not given by the table
};

// The rows of tests/vectors/tf-encoding.json, which the JS tests read too.
std::vector<VectorRow> SpecRows() {
  const test_json::Value doc = test_json::Parse(k_tf_encoding_json);
  std::vector<VectorRow> rows;
  for (const test_json::Value& r : doc["rows"].array) {
    VectorRow row;
    row.name = r["name"].string;
    for (const test_json::Value& v : r["input"].array) {
      row.input.push_back(static_cast<float>(v.number));
    }
    row.bitwidth = static_cast<int>(r["bitwidth"].number);
    row.min = r["min"].number;
    row.max = r["max"].number;
    row.scale = r["scale"].number;
    row.offset = static_cast<int32_t>(r["offset"].number);
    for (const test_json::Value& c : r["codes"].array) {
      row.codes.push_back(c.is_null() ? kUnpinned : static_cast<int>(c.number));
    }
    if (!r["dequantized"].is_null()) {
      for (const test_json::Value& d : r["dequantized"].array) {
        row.dequantized.push_back(d.number);
      }
    }
    rows.push_back(row);
  }
  return rows;
}

TEST(SpecVectorsFileTest, HasEveryRowOfTheTable) {
  const std::vector<VectorRow> rows = SpecRows();
  ASSERT_EQ(rows.size(), 8u);
  for (const VectorRow& row : rows) {
    EXPECT_EQ(row.codes.size(), row.input.size()) << row.name;
    EXPECT_NEAR(row.min, row.offset * row.scale, 1e-6 * row.scale) << row.name;
  }
}

void ExpectRel(double got, double want, double rel, const char* what) {
  EXPECT_TRUE(RelNear(got, want, rel))
      << what << ": got " << got << ", want " << want << " (rel " << rel << ")";
}

class SpecVectorsTest : public ::testing::TestWithParam<const KernelTable*> {
 protected:
  const KernelTable& kernels() const { return *GetParam(); }

  void CheckRow(const VectorRow& row, Rounding rounding) {
    SCOPED_TRACE(row.name +
                 (rounding == Rounding::kHalfUp ? " half-up" : " half-even"));
    QuantizeOptions options;
    options.bitwidth = row.bitwidth;
    options.rounding = rounding;
    const auto q = QuantizeAll(kernels(), row.input, options);
    ASSERT_TRUE(q.status.ok()) << q.status.message();

    const Encoding& e = q.encoding;
    EXPECT_EQ(e.bitwidth, row.bitwidth);
    EXPECT_FALSE(e.is_symmetric);
    EXPECT_EQ(e.offset, row.offset);
    ExpectRel(e.min, row.min, kTableRel, "min");
    ExpectRel(e.max, row.max, kTableRel, "max");
    ExpectRel(e.scale, row.scale, kTableRel, "scale");

    ASSERT_EQ(q.codes.size(), row.codes.size());
    for (size_t i = 0; i < row.codes.size(); ++i) {
      if (row.codes[i] == kUnpinned) {
        // -5.1 sits on a half step: 0 or 1 by float32 vs float64 evaluation.
        EXPECT_LE(q.codes[i], 1u) << "element " << i;
      } else {
        EXPECT_EQ(q.codes[i], static_cast<uint32_t>(row.codes[i]))
            << "element " << i << " = " << row.input[i];
      }
    }

    const auto d = DequantizeAll(kernels(), q.codes,
                                 MakeKernelParams(e, rounding), row.bitwidth);
    ASSERT_TRUE(d.status.ok()) << d.status.message();
    for (size_t i = 0; i < row.dequantized.size(); ++i) {
      SCOPED_TRACE("dequantized element " + std::to_string(i));
      ExpectRel(d.x[i], row.dequantized[i], kTableRel, "x̂");
    }
  }
};

TEST_P(SpecVectorsTest, AllRowsHalfUp) {
  for (const VectorRow& row : SpecRows()) CheckRow(row, Rounding::kHalfUp);
}

TEST_P(SpecVectorsTest, AllRowsHalfEven) {
  for (const VectorRow& row : SpecRows()) CheckRow(row, Rounding::kHalfEven);
}

TEST_P(SpecVectorsTest, ConstantRowRepeated) {
  const std::vector<float> x(1000, 5.0f);
  const auto q = QuantizeAll(kernels(), x, QuantizeOptions());
  ASSERT_TRUE(q.status.ok()) << q.status.message();
  EXPECT_EQ(q.encoding.offset, 0);
  ExpectRel(q.encoding.max, 5.01, kTableRel, "max");
  for (uint32_t code : q.codes) ASSERT_EQ(code, 254u);
}

// Half-up is floor(t + 0.5) in code space (towards +Inf, not away from zero
// in x); half-even takes the even neighbour. Scales of 2^-4 and 2^-8 make
// every t below exact in float32 and in double, so these are true ties.
struct TieCase {
  std::string name;
  int bitwidth;
  std::vector<float> input;  // the first two elements fix the range
  int32_t offset;
  std::vector<uint32_t> half_up;
  std::vector<uint32_t> half_even;
};

std::vector<TieCase> TieCases() {
  return {
      {"ZeroIsCode0",
       8,
       {0.0f, 15.9375f, 0.03125f, 0.09375f, 0.15625f, 7.96875f, 15.90625f},
       0,
       {0, 255, 1, 2, 3, 128, 255},
       {0, 255, 0, 2, 2, 128, 254}},
      {"ZeroIsCode128",
       8,
       {-8.0f, 7.9375f, -0.03125f, -0.09375f, 0.03125f, -7.96875f, 7.90625f},
       -128,
       {0, 255, 128, 127, 129, 1, 255},
       {0, 255, 128, 126, 128, 0, 254}},
      {"SixteenBit",
       16,
       {0.0f, 255.99609375f, 0.001953125f, 0.005859375f, 127.998046875f,
        128.001953125f, 255.994140625f},
       0,
       {0, 65535, 1, 2, 32768, 32769, 65535},
       {0, 65535, 0, 2, 32768, 32768, 65534}},
  };
}

TEST_P(SpecVectorsTest, ExactTiesFollowTheRoundingMode) {
  for (const TieCase& c : TieCases()) {
    for (Rounding rounding : {Rounding::kHalfUp, Rounding::kHalfEven}) {
      SCOPED_TRACE(c.name +
                   (rounding == Rounding::kHalfUp ? " half-up" : " half-even"));
      QuantizeOptions options;
      options.bitwidth = c.bitwidth;
      options.rounding = rounding;
      const auto q = QuantizeAll(kernels(), c.input, options);
      ASSERT_TRUE(q.status.ok()) << q.status.message();
      EXPECT_EQ(q.encoding.offset, c.offset);
      const auto& want =
          rounding == Rounding::kHalfUp ? c.half_up : c.half_even;
      EXPECT_EQ(q.codes, want);

      // The independent reference agrees on these exact ties.
      const auto ref = reference::TfEncodingOf(c.input, c.bitwidth);
      for (size_t i = 0; i < c.input.size(); ++i) {
        EXPECT_EQ(reference::RefQuantize(c.input[i], ref, rounding),
                  static_cast<int64_t>(want[i]))
            << "reference, element " << i;
      }

      // Same codes chunk by chunk with explicit params.
      const auto chunk = QuantizeChunkAll(
          kernels(), c.input, MakeKernelParams(q.encoding, rounding),
          c.bitwidth, NonFinite::kError);
      ASSERT_TRUE(chunk.status.ok()) << chunk.status.message();
      EXPECT_EQ(chunk.codes, want);
    }
  }
}

TEST_P(SpecVectorsTest, MinRangeOption) {
  const std::vector<float> x = {-0.00002f, 0.00003f};
  QuantizeOptions options;
  options.min_range = 0.0001;
  const auto q = QuantizeAll(kernels(), x, options);
  ASSERT_TRUE(q.status.ok()) << q.status.message();
  // hi = lo + 0.0001; zf = 0.00002 / (0.0001 / 255) = 51.
  EXPECT_EQ(q.encoding.offset, -51);
  ExpectRel(q.encoding.scale, 0.0001 / 255, kTableRel, "scale");
  ExpectRel(q.encoding.min, -51 * 0.0001 / 255, kTableRel, "min");
  ExpectRel(q.encoding.max, 204 * 0.0001 / 255, kTableRel, "max");
  const auto ref = reference::TfEncodingOf(x, 8, 0.0001);
  ExpectRel(q.encoding.scale, ref.scale, kDoubleRel, "scale vs reference");
  EXPECT_EQ(q.encoding.offset, ref.offset);

  // The default 0.01 gives a range 100 times wider: zf = 0.51, z = 1.
  const auto q_default = QuantizeAll(kernels(), x, QuantizeOptions());
  ASSERT_TRUE(q_default.status.ok()) << q_default.status.message();
  EXPECT_EQ(q_default.encoding.offset, -1);
  ExpectRel(q_default.encoding.scale, 0.01 / 255, kTableRel, "scale");

  // Constant 5.0 with min_range 0.0001: [0, 5.0001], 5.0 is code 255.
  const auto q_constant = QuantizeAll(kernels(), {5.0f}, options);
  ASSERT_TRUE(q_constant.status.ok()) << q_constant.status.message();
  EXPECT_EQ(q_constant.encoding.offset, 0);
  ExpectRel(q_constant.encoding.max, 5.0001, kTableRel, "max");
  EXPECT_EQ(q_constant.codes, std::vector<uint32_t>{255});
}

TEST_P(SpecVectorsTest, EveryBitwidthKeepsExactZero) {
  const std::vector<std::vector<float>> datasets = {
      {-1.8f, -1.0f, 0.0f, 0.5f},
      reference::Generate(reference::Distribution::kNormal, 4096, 11),
      reference::Generate(reference::Distribution::kAllPositive, 4096, 12),
      reference::Generate(reference::Distribution::kAllNegative, 4096, 13),
      reference::Generate(reference::Distribution::kTinyRange, 4096, 14),
      reference::Generate(reference::Distribution::kHuge, 4096, 15),
  };
  for (int bitwidth = kMinBitwidth; bitwidth <= kMaxBitwidth; ++bitwidth) {
    for (size_t d = 0; d < datasets.size(); ++d) {
      SCOPED_TRACE("bitwidth " + std::to_string(bitwidth) + ", dataset " +
                   std::to_string(d));
      const int64_t steps = reference::RefSteps(bitwidth);
      EXPECT_EQ(Steps(bitwidth), steps);
      QuantizeOptions options;
      options.bitwidth = bitwidth;
      const auto q = QuantizeAll(kernels(), datasets[d], options);
      ASSERT_TRUE(q.status.ok()) << q.status.message();
      const Encoding& e = q.encoding;
      EXPECT_EQ(e.bitwidth, bitwidth);
      EXPECT_LE(e.offset, 0);
      EXPECT_GE(e.offset, -steps);
      ExpectRel(e.scale, (e.max - e.min) / static_cast<double>(steps),
                kDoubleRel, "scale = (max - min) / steps");
      ExpectRel(e.min, e.offset * e.scale, kDoubleRel, "min = offset * scale");

      const auto ref = reference::TfEncodingOf(datasets[d], bitwidth);
      EXPECT_EQ(e.offset, ref.offset);
      ExpectRel(e.scale, ref.scale, kDoubleRel, "scale vs reference");
      ExpectRel(e.min, ref.min, kDoubleRel, "min vs reference");
      ExpectRel(e.max, ref.max, kDoubleRel, "max vs reference");

      for (uint32_t code : q.codes) ASSERT_LE(code, steps);

      // 0.0 and -0.0 are code z, and code z is exactly 0.0.
      const uint32_t z = static_cast<uint32_t>(-e.offset);
      for (Rounding rounding : {Rounding::kHalfUp, Rounding::kHalfEven}) {
        const KernelParams params = MakeKernelParams(e, rounding);
        const auto zero = QuantizeChunkAll(kernels(), {0.0f, -0.0f}, params,
                                           bitwidth, NonFinite::kError);
        ASSERT_TRUE(zero.status.ok()) << zero.status.message();
        EXPECT_EQ(zero.codes, (std::vector<uint32_t>{z, z}));
        const auto back = DequantizeAll(kernels(), {z}, params, bitwidth);
        ASSERT_TRUE(back.status.ok()) << back.status.message();
        EXPECT_EQ(back.x[0], 0.0f);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Kernels, SpecVectorsTest,
    ::testing::Values(&ScalarKernels(), &DefaultKernels()),
    [](const ::testing::TestParamInfo<const KernelTable*>& info) {
      return std::string(info.index == 0 ? "Scalar" : "Default");
    });

// ComputeTfEncoding on double inputs reproduces the table to double rounding.
struct DoubleRow {
  double lo;
  double hi;
  int bitwidth;
  double min_range;
  double min;
  double max;
  double scale;
  int32_t offset;
};

TEST(ComputeTfEncodingTest, SpecRowsInDouble) {
  const DoubleRow rows[] = {
      {-1.8, 0.5, 8, 0.01, -1.803921568627451, 0.496078431372549,
       0.009019607843137253, -200},
      {-5.1, 5.1, 8, 0.01, -5.12, 5.08, 0.04, -128},
      {2, 10, 8, 0.01, 0, 10, 10.0 / 255, 0},
      {-20, -7, 8, 0.01, -20, 0, 20.0 / 255, -255},
      {5, 5, 8, 0.01, 0, 5.01, 5.01 / 255, 0},
      {0, 0, 8, 0.01, 0, 0.01, 0.01 / 255, 0},
      {0, 0, 8, 0.0001, 0, 0.0001, 0.0001 / 255, 0},
      {-1.8, 0.5, 16, 0.01, -51288 * (2.3 / 65535), 14247 * (2.3 / 65535),
       2.3 / 65535, -51288},
      {-1.8, 0.5, 4, 0.01, -12 * (2.3 / 15), 3 * (2.3 / 15), 2.3 / 15, -12},
  };
  for (const DoubleRow& row : rows) {
    SCOPED_TRACE("[" + std::to_string(row.lo) + ", " + std::to_string(row.hi) +
                 "] bitwidth " + std::to_string(row.bitwidth));
    EncodingOptions options;
    options.bitwidth = row.bitwidth;
    options.min_range = row.min_range;
    Encoding e;
    const Status status = ComputeTfEncoding(row.lo, row.hi, options, &e);
    ASSERT_TRUE(status.ok()) << status.message();
    EXPECT_EQ(e.bitwidth, row.bitwidth);
    EXPECT_EQ(e.offset, row.offset);
    ExpectRel(e.min, row.min, kDoubleRel, "min");
    ExpectRel(e.max, row.max, kDoubleRel, "max");
    ExpectRel(e.scale, row.scale, kDoubleRel, "scale");

    const auto ref =
        reference::TfEncoding(row.lo, row.hi, row.bitwidth, row.min_range);
    EXPECT_EQ(e.offset, ref.offset);
    ExpectRel(e.scale, ref.scale, kDoubleRel, "scale vs reference");
  }
}

// The blog post's shifted range is wrong (SPEC §2.1 note): 0.0 must not
// dequantize to -0.0011764...
TEST(ComputeTfEncodingTest, NotTheBlogPostEncoding) {
  Encoding e;
  ASSERT_TRUE(ComputeTfEncoding(-1.8, 0.5, EncodingOptions(), &e).ok());
  EXPECT_NE(e.offset, -199);
  EXPECT_GT(std::fabs(e.min - -1.7960784313725493), 1e-3);
}

}  // namespace
}  // namespace wasmquant
