// The round-trip error report of docs/spec.md §4 (Analyze, ErrorAccumulator),
// held against a double-precision computation done here from
// x̂ = dequantize(quantize(x)).
#include "wasmquant/report.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iterator>
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

namespace wasmquant {
namespace {

using reference::Distribution;
using reference::RelNear;

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kFloatMax = std::numeric_limits<float>::max();

// The library's x̂ is float32 and the kernels may form x̂ - x in float32:
// one rounding, 2^-24 relative, per error term. 1e-6 relative leaves room
// for that and for summation order, and still catches any real mistake.
constexpr double kStatRel = 1e-6;
constexpr double kSqnrAbsDb = 1e-5;
// The accumulator hands the kernels whole blocks whatever the chunks, so
// chunked and one-call reports are the same numbers.
constexpr double kChunkRel = 0;

struct Expected {
  double mse = 0;
  double rmse = 0;
  double max_abs_error = 0;
  double mean_abs_error = 0;
  double sqnr_db = 0;
  uint64_t clipped_min = 0;  // certainly clipped
  uint64_t clipped_max = 0;  // certainly or possibly (within float error)
  uint64_t count = 0;
  uint64_t nonfinite = 0;
};

// SPEC §4 in double over the finite elements of x, with x̂ from the
// library's QuantizeChunk + DequantizeChunk (scalar kernels).
Expected ComputeExpected(const std::vector<float>& x, const Encoding& encoding,
                         Rounding rounding) {
  std::vector<float> finite;
  Expected want;
  for (float v : x) {
    if (std::isfinite(v)) {
      finite.push_back(v);
    } else {
      ++want.nonfinite;
    }
  }
  const KernelParams params = MakeKernelParams(encoding, rounding);
  const auto q = test_util::QuantizeChunkAll(
      ScalarKernels(), finite, params, encoding.bitwidth, NonFinite::kError);
  EXPECT_TRUE(q.status.ok()) << q.status.message();
  const auto d = test_util::DequantizeAll(ScalarKernels(), q.codes, params,
                                          encoding.bitwidth);
  EXPECT_TRUE(d.status.ok()) << d.status.message();

  const reference::RefEncoding ref = reference::FromEncoding(encoding);
  const double lower = encoding.min - encoding.scale / 2;
  const double upper = encoding.max + encoding.scale / 2;
  double sq_error = 0, abs_error = 0, sq_signal = 0;
  for (size_t i = 0; i < finite.size(); ++i) {
    const double xi = finite[i];
    const double e = static_cast<double>(d.x[i]) - xi;
    sq_error += e * e;
    abs_error += std::fabs(e);
    sq_signal += xi * xi;
    want.max_abs_error = std::max(want.max_abs_error, std::fabs(e));
    // The kernels decide clipping in float32; within their evaluation error
    // of a boundary either answer is right.
    const double band = ref.scale * reference::FloatEvalErrorSteps(xi, ref) +
                        reference::FloatUlp(finite[i]);
    if (xi < lower - band || xi > upper + band) ++want.clipped_min;
    if (xi < lower + band || xi > upper - band) ++want.clipped_max;
  }
  want.count = finite.size();
  const double n = static_cast<double>(finite.size());
  want.mse = sq_error / n;
  want.rmse = std::sqrt(want.mse);
  want.mean_abs_error = abs_error / n;
  want.sqnr_db = sq_error == 0 ? std::numeric_limits<double>::infinity()
                               : 10 * std::log10(sq_signal / sq_error);
  return want;
}

void ExpectReportMatches(const Report& got, const Expected& want) {
  EXPECT_EQ(got.count, want.count);
  EXPECT_EQ(got.nonfinite, want.nonfinite);
  EXPECT_TRUE(RelNear(got.mse, want.mse, kStatRel))
      << "mse " << got.mse << " vs " << want.mse;
  EXPECT_TRUE(RelNear(got.rmse, want.rmse, kStatRel))
      << "rmse " << got.rmse << " vs " << want.rmse;
  EXPECT_TRUE(RelNear(got.max_abs_error, want.max_abs_error, kStatRel))
      << "max_abs_error " << got.max_abs_error << " vs " << want.max_abs_error;
  EXPECT_TRUE(RelNear(got.mean_abs_error, want.mean_abs_error, kStatRel))
      << "mean_abs_error " << got.mean_abs_error << " vs "
      << want.mean_abs_error;
  if (std::isinf(want.sqnr_db)) {
    EXPECT_EQ(got.sqnr_db, want.sqnr_db);
  } else {
    EXPECT_NEAR(got.sqnr_db, want.sqnr_db, kSqnrAbsDb);
  }
  EXPECT_GE(got.clipped, want.clipped_min);
  EXPECT_LE(got.clipped, want.clipped_max);
}

// Relative agreement of two reports of the same data (chunked vs whole).
void ExpectReportsEqual(const Report& a, const Report& b, double rel) {
  EXPECT_EQ(a.count, b.count);
  EXPECT_EQ(a.nonfinite, b.nonfinite);
  EXPECT_EQ(a.clipped, b.clipped);
  EXPECT_TRUE(RelNear(a.mse, b.mse, rel)) << a.mse << " vs " << b.mse;
  EXPECT_TRUE(RelNear(a.rmse, b.rmse, rel)) << a.rmse << " vs " << b.rmse;
  EXPECT_TRUE(RelNear(a.max_abs_error, b.max_abs_error, rel))
      << a.max_abs_error << " vs " << b.max_abs_error;
  EXPECT_TRUE(RelNear(a.mean_abs_error, b.mean_abs_error, rel))
      << a.mean_abs_error << " vs " << b.mean_abs_error;
  if (std::isinf(b.sqnr_db)) {
    EXPECT_EQ(a.sqnr_db, b.sqnr_db);
  } else {
    EXPECT_TRUE(RelNear(a.sqnr_db, b.sqnr_db, rel))
        << a.sqnr_db << " vs " << b.sqnr_db;
  }
}

Encoding CalibrateOrDie(const std::vector<float>& x, int bitwidth,
                        NonFinite non_finite = NonFinite::kError) {
  QuantizeOptions options;
  options.bitwidth = bitwidth;
  options.non_finite = non_finite;
  Encoding encoding;
  const Status status =
      Calibrate(ScalarKernels(), x.data(), x.size(), options, &encoding);
  EXPECT_TRUE(status.ok()) << status.message();
  return encoding;
}

Status RunAnalyze(const KernelTable& kernels, const std::vector<float>& x,
                  const Encoding& encoding, Rounding rounding,
                  NonFinite non_finite, Report* report) {
  QuantizeOptions options;
  options.bitwidth = encoding.bitwidth;
  options.rounding = rounding;
  options.non_finite = non_finite;
  return Analyze(kernels, x.data(), x.size(), encoding, options, report);
}

struct AnalyzeCase {
  Distribution distribution;
  int bitwidth;
  Rounding rounding;
};

class AnalyzeTest : public ::testing::TestWithParam<const KernelTable*> {
 protected:
  const KernelTable& kernels() const { return *GetParam(); }
};

TEST_P(AnalyzeTest, MatchesDoublePrecisionRoundTrip) {
  const AnalyzeCase cases[] = {
      {Distribution::kNormal, 8, Rounding::kHalfUp},
      {Distribution::kNormal, 16, Rounding::kHalfEven},
      {Distribution::kUniform, 4, Rounding::kHalfUp},
      {Distribution::kAllNegative, 8, Rounding::kHalfEven},
      {Distribution::kAllPositive, 12, Rounding::kHalfUp},
      {Distribution::kTinyRange, 8, Rounding::kHalfUp},
      {Distribution::kHuge, 8, Rounding::kHalfUp},  // squares reach 1e61
      {Distribution::kHuge, 16, Rounding::kHalfEven},
      {Distribution::kDenormal, 8, Rounding::kHalfUp},
      {Distribution::kConstant, 8, Rounding::kHalfUp},
  };
  for (const AnalyzeCase& c : cases) {
    SCOPED_TRACE(reference::DistributionName(c.distribution) + " " +
                 std::to_string(c.bitwidth) + " bits");
    const auto x = reference::Generate(c.distribution, 200003, 77);
    const Encoding encoding = CalibrateOrDie(x, c.bitwidth);
    Report report;
    const Status status = RunAnalyze(kernels(), x, encoding, c.rounding,
                                     NonFinite::kError, &report);
    ASSERT_TRUE(status.ok()) << status.message();
    const Expected want = ComputeExpected(x, encoding, c.rounding);
    ExpectReportMatches(report, want);
    // Nudging moves the ends by at most half a step: nothing is clipped.
    EXPECT_EQ(want.clipped_min, 0u);
    EXPECT_DOUBLE_EQ(report.rmse, std::sqrt(report.mse));
    // A calibrated round trip is within half a step (plus float error).
    EXPECT_LE(report.max_abs_error,
              encoding.scale * (0.5 + 1e-3) +
                  1e-6 * std::max(std::fabs(encoding.min), encoding.max));
  }
}

// Blocks of very different magnitudes in one tensor: float32 block sums
// would overflow (1e25 squared) or lose everything (1e-30 squared) in some
// blocks, which the kernels then sum in double; a block boundary falls
// inside each run, and the runs are not block-aligned.
TEST_P(AnalyzeTest, MixedMagnitudeBlocksMatchDouble) {
  const float magnitudes[] = {1, 1e25f, 1e-30f, 0x1p60f, 0x1p-50f, 3e-41f, 1};
  std::vector<float> x;
  uint32_t state = 12345;
  for (float m : magnitudes) {
    for (int i = 0; i < 700; ++i) {
      state = state * 1664525u + 1013904223u;
      x.push_back(m * (static_cast<float>(state >> 8) / 16777216.0f - 0.3f));
    }
  }
  for (int bitwidth : {8, 16}) {
    const Encoding encoding = CalibrateOrDie(x, bitwidth);
    for (Rounding rounding : {Rounding::kHalfUp, Rounding::kHalfEven}) {
      Report report;
      ASSERT_TRUE(RunAnalyze(kernels(), x, encoding, rounding,
                             NonFinite::kError, &report)
                      .ok());
      ExpectReportMatches(report, ComputeExpected(x, encoding, rounding));
    }
    // Each magnitude alone, with its own encoding.
    for (size_t k = 0; k < std::size(magnitudes); ++k) {
      const std::vector<float> part(x.begin() + 700 * k,
                                    x.begin() + 700 * (k + 1));
      const Encoding own = CalibrateOrDie(part, bitwidth);
      Report report;
      ASSERT_TRUE(RunAnalyze(kernels(), part, own, Rounding::kHalfUp,
                             NonFinite::kError, &report)
                      .ok());
      SCOPED_TRACE("magnitude " + std::to_string(magnitudes[k]));
      ExpectReportMatches(report,
                          ComputeExpected(part, own, Rounding::kHalfUp));
    }
  }
}

// A given encoding narrower than the data clips; the count follows §4.
TEST_P(AnalyzeTest, ClippedCountWithNarrowEncoding) {
  const auto x = reference::Generate(Distribution::kNormal, 100000, 78);
  const Encoding wide = CalibrateOrDie(x, 8);
  Encoding given = wide;
  given.scale = wide.scale / 3;
  Encoding narrow;
  const Status normalized = NormalizeGivenEncoding(given, &narrow);
  ASSERT_TRUE(normalized.ok()) << normalized.message();
  for (Rounding rounding : {Rounding::kHalfUp, Rounding::kHalfEven}) {
    Report report;
    const Status status =
        RunAnalyze(kernels(), x, narrow, rounding, NonFinite::kError, &report);
    ASSERT_TRUE(status.ok()) << status.message();
    const Expected want = ComputeExpected(x, narrow, rounding);
    ExpectReportMatches(report, want);
    EXPECT_GT(report.clipped, 1000u);
    EXPECT_LE(want.clipped_max - want.clipped_min, 10u);
  }
}

// §4: clipped means x < min - scale/2 or x > max + scale/2, strictly. With
// scale 2^-4 the boundaries -8.03125 and 7.96875 are exact in float32.
Encoding Scale16thEncoding() {
  Encoding given;
  given.bitwidth = 8;
  given.scale = 0.0625;
  given.offset = -128;
  Encoding e;
  EXPECT_TRUE(NormalizeGivenEncoding(given, &e).ok());
  EXPECT_EQ(e.min, -8.0);
  EXPECT_EQ(e.max, 7.9375);
  return e;
}

uint64_t ClippedCount(const KernelTable& kernels, const std::vector<float>& x,
                      const Encoding& e, Rounding rounding) {
  Report report;
  const Status status =
      RunAnalyze(kernels, x, e, rounding, NonFinite::kError, &report);
  EXPECT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(report.count, x.size());
  return report.clipped;
}

TEST_P(AnalyzeTest, ClippedBoundariesAreStrict) {
  const Encoding e = Scale16thEncoding();
  const std::vector<float> kept = {-8.03125f, 7.96875f, 0.0f, -8.0f,
                                   7.9375f,   -8.03f,   7.96f};
  const std::vector<float> clipped = {-8.04f,  7.97f,      100.0f,
                                      -100.0f, -kFloatMax, kFloatMax};
  for (Rounding rounding : {Rounding::kHalfUp, Rounding::kHalfEven}) {
    SCOPED_TRACE(rounding == Rounding::kHalfUp ? "half-up" : "half-even");
    for (float v : kept) {
      EXPECT_EQ(ClippedCount(kernels(), {v}, e, rounding), 0u) << v;
    }
    for (float v : clipped) {
      EXPECT_EQ(ClippedCount(kernels(), {v}, e, rounding), 1u) << v;
    }
  }
}

// The first float beyond each boundary is clipped: SPEC §4 compares x itself,
// and with a float32 scale of 2^-4 both boundaries are exact floats, so the
// answer does not depend on float32 vs float64 evaluation.
TEST_P(AnalyzeTest, FirstFloatBeyondBoundaryIsClipped) {
  const Encoding e = Scale16thEncoding();
  for (Rounding rounding : {Rounding::kHalfUp, Rounding::kHalfEven}) {
    SCOPED_TRACE(rounding == Rounding::kHalfUp ? "half-up" : "half-even");
    const float below = std::nextafter(-8.03125f, -100.0f);  // -8.03125095
    const float above = std::nextafter(7.96875f, 100.0f);    // 7.96875048
    EXPECT_EQ(ClippedCount(kernels(), {below}, e, rounding), 1u)
        << "x = " << below;
    EXPECT_EQ(ClippedCount(kernels(), {above}, e, rounding), 1u)
        << "x = " << above;
  }
}

// Data already on the grid round-trips exactly: zero error, SQNR +Inf.
TEST_P(AnalyzeTest, ErrorFreeDataHasInfiniteSqnr) {
  std::vector<float> grid;
  for (int k = 0; k <= 255; ++k) grid.push_back(0.0625f * k);  // [0, 15.9375]
  const std::vector<float> zeros(1000, 0.0f);
  const std::vector<float>* datasets[] = {&grid, &zeros};
  for (const std::vector<float>* x : datasets) {
    const Encoding encoding = CalibrateOrDie(*x, 8);
    for (Rounding rounding : {Rounding::kHalfUp, Rounding::kHalfEven}) {
      Report report;
      const Status status = RunAnalyze(kernels(), *x, encoding, rounding,
                                       NonFinite::kError, &report);
      ASSERT_TRUE(status.ok()) << status.message();
      EXPECT_EQ(report.mse, 0.0);
      EXPECT_EQ(report.rmse, 0.0);
      EXPECT_EQ(report.max_abs_error, 0.0);
      EXPECT_EQ(report.mean_abs_error, 0.0);
      EXPECT_EQ(report.sqnr_db, std::numeric_limits<double>::infinity());
      EXPECT_EQ(report.clipped, 0u);
      EXPECT_EQ(report.count, x->size());
    }
  }
}

// NaN/±Inf under kSaturate: counted, and excluded from every statistic.
TEST_P(AnalyzeTest, SaturateCountsAndExcludesNonFinite) {
  const auto finite = reference::Generate(Distribution::kUniform, 50000, 79);
  std::vector<float> x = finite;
  x.insert(x.begin() + 10, kNaN);
  x.insert(x.begin() + 20000, kInf);
  x.insert(x.begin() + 30000, -kInf);
  x.push_back(kNaN);
  const Encoding encoding = CalibrateOrDie(x, 8, NonFinite::kSaturate);
  const Encoding finite_encoding = CalibrateOrDie(finite, 8);
  EXPECT_EQ(encoding.offset, finite_encoding.offset);
  EXPECT_EQ(encoding.scale, finite_encoding.scale);

  Report report;
  const Status status = RunAnalyze(kernels(), x, encoding, Rounding::kHalfUp,
                                   NonFinite::kSaturate, &report);
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(report.nonfinite, 4u);
  EXPECT_EQ(report.count, finite.size());
  ExpectReportMatches(report, ComputeExpected(x, encoding, Rounding::kHalfUp));

  Report finite_report;
  ASSERT_TRUE(RunAnalyze(kernels(), finite, encoding, Rounding::kHalfUp,
                         NonFinite::kError, &finite_report)
                  .ok());
  finite_report.nonfinite = 4;  // the only field that may differ
  ExpectReportsEqual(report, finite_report, kChunkRel);
}

TEST_P(AnalyzeTest, ErrorModeRejectsNonFinite) {
  std::vector<float> x = reference::Generate(Distribution::kNormal, 1000, 80);
  const Encoding encoding = CalibrateOrDie(x, 8);
  x[617] = kInf;
  Report report;
  const Status status = RunAnalyze(kernels(), x, encoding, Rounding::kHalfUp,
                                   NonFinite::kError, &report);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.kind(), ErrorKind::kRange);
  EXPECT_TRUE(test_util::NamesIndex(status.message(), 617)) << status.message();
}

// Feeding ErrorAccumulator chunks of uneven sizes gives the one-call result.
TEST_P(AnalyzeTest, UnevenChunksEqualOneCall) {
  auto x = reference::Generate(Distribution::kNormal, 300007, 81);
  x[5] = kNaN;
  x[70000] = -kInf;
  const NonFinite non_finite = NonFinite::kSaturate;
  const Encoding encoding = CalibrateOrDie(x, 8, non_finite);
  const size_t sizes[] = {1, 2, 3, 5, 7, 8, 9, 13, 31, 64, 65, 1000, 4099};
  for (Rounding rounding : {Rounding::kHalfUp, Rounding::kHalfEven}) {
    const KernelParams params = MakeKernelParams(encoding, rounding);
    ErrorAccumulator whole(kernels(), params, non_finite);
    ASSERT_TRUE(whole.Add(x.data(), x.size(), 0).ok());
    const Report one_call = whole.Finish();

    ErrorAccumulator chunked(kernels(), params, non_finite);
    size_t pos = 0;
    for (size_t k = 0; pos < x.size(); ++k) {
      const size_t len = std::min(sizes[k % std::size(sizes)], x.size() - pos);
      const Status status = chunked.Add(x.data() + pos, len, pos);
      ASSERT_TRUE(status.ok()) << status.message();
      pos += len;
    }
    const Report report = chunked.Finish();
    ExpectReportsEqual(report, one_call, kChunkRel);
    EXPECT_EQ(report.nonfinite, 2u);
    ExpectReportMatches(report, ComputeExpected(x, encoding, rounding));

    Report analyzed;
    ASSERT_TRUE(
        RunAnalyze(kernels(), x, encoding, rounding, non_finite, &analyzed)
            .ok());
    ExpectReportsEqual(analyzed, one_call, kChunkRel);
  }
}

TEST_P(AnalyzeTest, EmptyAccumulatorAddsNothing) {
  const Encoding encoding = CalibrateOrDie({1.0f, 2.0f}, 8);
  const KernelParams params = MakeKernelParams(encoding, Rounding::kHalfUp);
  ErrorAccumulator acc(kernels(), params, NonFinite::kError);
  const std::vector<float> x = {1.0f, 2.0f};
  ASSERT_TRUE(acc.Add(x.data(), 0, 0).ok());
  ASSERT_TRUE(acc.Add(x.data(), 2, 0).ok());
  ASSERT_TRUE(acc.Add(x.data() + 2, 0, 2).ok());
  const Report report = acc.Finish();
  EXPECT_EQ(report.count, 2u);
  ExpectReportMatches(report, ComputeExpected(x, encoding, Rounding::kHalfUp));
}

INSTANTIATE_TEST_SUITE_P(
    Kernels, AnalyzeTest,
    ::testing::Values(&ScalarKernels(), &DefaultKernels()),
    [](const ::testing::TestParamInfo<const KernelTable*>& info) {
      return std::string(info.index == 0 ? "Scalar" : "Default");
    });

}  // namespace
}  // namespace wasmquant
