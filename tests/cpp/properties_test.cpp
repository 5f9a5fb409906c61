// Properties of docs/spec.md §2 on large deterministic data sets, held against
// the independent double-precision reference of reference.h.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
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
using reference::RefEncoding;
using reference::RelNear;
using test_util::DequantizeAll;
using test_util::QuantizeAll;
using test_util::QuantizeChunkAll;

constexpr size_t kValuesPerSet = size_t{1} << 20;  // >= 1M per distribution

// One data set per distribution, generated once and shared by all bitwidths.
const std::vector<float>& Data(Distribution d) {
  static auto* cache = new std::map<Distribution, std::vector<float>>();
  auto it = cache->find(d);
  if (it == cache->end()) {
    const uint32_t seed = 1000 + static_cast<uint32_t>(d);
    it = cache->emplace(d, reference::Generate(d, kValuesPerSet, seed)).first;
  }
  return it->second;
}

using PropertyParam = std::tuple<Distribution, int, Rounding>;

class QuantizePropertiesTest : public ::testing::TestWithParam<PropertyParam> {
};

// The round-trip error bound, in x units, for an x inside
// [min - scale/2, max + scale/2]. In exact arithmetic it is scale/2. The
// kernels evaluate x / scale in float32, which SPEC §2 lets move it by up to
// FloatEvalErrorSteps (1e-5 + 3e-7 |x / scale| steps, see reference.h) and
// so x̂ by that many scales. x̂ = (q - z) * scale is then evaluated in
// float32 with a float32 scale: a relative error of 2 * 2^-24 on
// |x̂| <= |x| + scale/2, covered by one ulp of x plus 2^-23 * scale.
double ErrorBound(float x, const RefEncoding& e) {
  return e.scale * (0.5 + reference::FloatEvalErrorSteps(x, e)) +
         reference::FloatUlp(x) + 0x1p-23 * e.scale;
}

TEST_P(QuantizePropertiesTest, AgreesWithDoubleReference) {
  const auto [distribution, bitwidth, rounding] = GetParam();
  const std::vector<float>& x = Data(distribution);
  const size_t n = x.size();

  QuantizeOptions options;
  options.bitwidth = bitwidth;
  options.rounding = rounding;
  const auto q = QuantizeAll(DefaultKernels(), x, options);
  ASSERT_TRUE(q.status.ok()) << q.status.message();
  const Encoding& e = q.encoding;

  // The encoding is computed in double: it matches the reference to double
  // rounding, and the offset exactly.
  const RefEncoding ref = reference::TfEncodingOf(x, bitwidth);
  ASSERT_EQ(e.offset, ref.offset);
  EXPECT_TRUE(RelNear(e.scale, ref.scale, 1e-12))
      << e.scale << " vs " << ref.scale;
  EXPECT_TRUE(RelNear(e.min, ref.min, 1e-12)) << e.min << " vs " << ref.min;
  EXPECT_TRUE(RelNear(e.max, ref.max, 1e-12)) << e.max << " vs " << ref.max;

  const KernelParams params = MakeKernelParams(e, rounding);
  const auto d = DequantizeAll(DefaultKernels(), q.codes, params, bitwidth);
  ASSERT_TRUE(d.status.ok()) << d.status.message();

  const double lower = ref.min - ref.scale / 2;
  const double upper = ref.max + ref.scale / 2;
  size_t mismatches = 0;
  size_t failures = 0;
  for (size_t i = 0; i < n && failures < 10; ++i) {
    const uint32_t code = q.codes[i];
    if (code > static_cast<uint32_t>(ref.steps)) {
      ADD_FAILURE() << "code " << code << " > steps at " << i;
      ++failures;
      continue;
    }
    if (x[i] >= lower && x[i] <= upper) {
      const double err = std::fabs(static_cast<double>(x[i]) - d.x[i]);
      if (err > ErrorBound(x[i], ref)) {
        ADD_FAILURE() << "x[" << i << "] = " << x[i] << ", x̂ = " << d.x[i]
                      << ", |error| " << err << " > bound "
                      << ErrorBound(x[i], ref) << " (scale " << ref.scale
                      << ")";
        ++failures;
      }
    }
    const int64_t want = reference::RefQuantize(x[i], ref, rounding);
    if (want == code) continue;
    ++mismatches;
    // Only a near tie may round the other way under float32 evaluation.
    const double t = reference::RefS(x[i], ref);
    const double eps = reference::FloatEvalErrorSteps(x[i], ref);
    if (std::llabs(want - static_cast<int64_t>(code)) != 1 ||
        reference::DistanceToTie(t) > eps) {
      ADD_FAILURE() << "x[" << i << "] = " << x[i] << " (t = " << t
                    << "): code " << code << ", reference " << want
                    << ", not a near tie (eps " << eps << ")";
      ++failures;
    }
  }
  // Near ties are rare: the float32 t < 2^b carries an error of order
  // 2^(b-24) steps, so roughly a fraction 2^(b-23) of the values falls that
  // close to a half step. Allow 2^(b-22) plus a few (measured: about 0.23%
  // at 16 bits, 0.015% at 12, 1e-5 at 8).
  const double max_rate = std::ldexp(1.0, bitwidth - 22);
  EXPECT_LE(mismatches, static_cast<size_t>(max_rate * n) + 8)
      << mismatches << " near-tie mismatches in " << n;
  RecordProperty("near_tie_mismatches", static_cast<int>(mismatches));

  // 0.0 and -0.0 are code z, and code z dequantizes to exactly 0.0.
  const uint32_t z = static_cast<uint32_t>(ref.zero_point);
  const auto zero = QuantizeChunkAll(DefaultKernels(), {0.0f, -0.0f}, params,
                                     bitwidth, NonFinite::kError);
  ASSERT_TRUE(zero.status.ok()) << zero.status.message();
  EXPECT_EQ(zero.codes, (std::vector<uint32_t>{z, z}));
  const auto back = DequantizeAll(DefaultKernels(), {z}, params, bitwidth);
  ASSERT_TRUE(back.status.ok()) << back.status.message();
  EXPECT_EQ(back.x[0], 0.0f);
}

std::string PropertyName(const ::testing::TestParamInfo<PropertyParam>& info) {
  const auto [distribution, bitwidth, rounding] = info.param;
  return reference::DistributionName(distribution) + "_" +
         std::to_string(bitwidth) + "bit_" +
         (rounding == Rounding::kHalfUp ? "HalfUp" : "HalfEven");
}

INSTANTIATE_TEST_SUITE_P(
    Distributions, QuantizePropertiesTest,
    ::testing::Combine(::testing::ValuesIn(reference::AllDistributions()),
                       ::testing::Values(2, 4, 8, 12, 16),
                       ::testing::Values(Rounding::kHalfUp,
                                         Rounding::kHalfEven)),
    PropertyName);

// Calibrating chunk by chunk gives the same encoding, bit for bit, as one
// call over the whole tensor.
class CalibratorTest : public ::testing::TestWithParam<Distribution> {};

TEST_P(CalibratorTest, ChunksGiveTheOneShotEncoding) {
  const std::vector<float>& x = Data(GetParam());
  const size_t chunk_sizes[] = {1, 7, 64, 1000, 3, 65536, 17, 250000};
  for (int bitwidth : {4, 8, 16}) {
    SCOPED_TRACE("bitwidth " + std::to_string(bitwidth));
    QuantizeOptions options;
    options.bitwidth = bitwidth;
    Encoding one_shot;
    const Status status =
        Calibrate(DefaultKernels(), x.data(), x.size(), options, &one_shot);
    ASSERT_TRUE(status.ok()) << status.message();

    Calibrator calibrator(DefaultKernels(), options.Calibration());
    size_t pos = 0;
    for (size_t k = 0; pos < x.size(); ++k) {
      const size_t len = std::min(chunk_sizes[k % 8], x.size() - pos);
      const Status added = calibrator.Add(x.data() + pos, len, pos);
      ASSERT_TRUE(added.ok()) << added.message();
      pos += len;
    }
    EXPECT_EQ(calibrator.nonfinite(), 0u);
    ASSERT_TRUE(calibrator.EndPass().ok());
    std::vector<Encoding> encodings;
    const Status finished = calibrator.Finish(&encodings);
    ASSERT_TRUE(finished.ok()) << finished.message();
    ASSERT_EQ(encodings.size(), 1u);
    const Encoding& chunked = encodings[0];
    EXPECT_EQ(chunked.bitwidth, one_shot.bitwidth);
    EXPECT_EQ(chunked.offset, one_shot.offset);
    EXPECT_EQ(reference::DoubleBits(chunked.scale),
              reference::DoubleBits(one_shot.scale));
    EXPECT_EQ(reference::DoubleBits(chunked.min),
              reference::DoubleBits(one_shot.min));
    EXPECT_EQ(reference::DoubleBits(chunked.max),
              reference::DoubleBits(one_shot.max));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Distributions, CalibratorTest,
    ::testing::ValuesIn(reference::AllDistributions()),
    [](const ::testing::TestParamInfo<Distribution>& info) {
      return reference::DistributionName(info.param);
    });

}  // namespace
}  // namespace wasmquant
