// AnalysisSet (analyzeMany) against the same analyses done one by one: a
// Calibrator per analysis, then a ChannelErrorAccumulator; the numbers must
// be the same, bit for bit, however the passes are shared and the data split.
#include "wasmquant/analysis.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "reference.h"
#include "wasmquant/calibrator.h"
#include "wasmquant/kernels.h"
#include "wasmquant/report.h"

namespace wasmquant {
namespace {

struct Separate {
  Status status;
  std::vector<Encoding> encodings;
  Report total;
  std::vector<Report> channels;
};

Separate AnalyzeAlone(const KernelTable& kernels, const std::vector<float>& x,
                      const AnalysisOptions& a) {
  Separate s;
  s.encodings = a.encodings;
  if (s.encodings.empty()) {
    Calibrator calibrator(kernels, a.calibration);
    for (int pass = 0; pass < calibrator.passes(); ++pass) {
      s.status = calibrator.Add(x.data(), x.size(), 0);
      if (s.status.ok()) s.status = calibrator.EndPass();
      if (!s.status.ok()) return s;
    }
    s.status = calibrator.Finish(&s.encodings);
    if (!s.status.ok()) return s;
  }
  ChannelErrorAccumulator report(kernels, a.calibration.layout, s.encodings,
                                 a.rounding, a.calibration.non_finite);
  s.status = report.Add(x.data(), x.size(), 0);
  s.total = report.Total();
  for (size_t c = 0; c < s.encodings.size(); ++c) {
    s.channels.push_back(report.Channel(c));
  }
  return s;
}

// Feeds x to the set in chunks of the given sizes (cycled), pass by pass.
Status RunSet(AnalysisSet* set, const std::vector<float>& x,
              const std::vector<size_t>& chunks) {
  for (int pass = 0; pass < set->passes(); ++pass) {
    size_t k = 0;
    for (size_t start = 0; start < x.size();) {
      const size_t n = std::min(chunks[k++ % chunks.size()], x.size() - start);
      Status status = set->Add(x.data() + start, n, start);
      if (!status.ok()) return status;
      start += n;
    }
    Status status = set->EndPass();
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

bool SameBits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

void ExpectSameReport(const Report& got, const Report& want,
                      const std::string& what) {
  EXPECT_TRUE(SameBits(got.mse, want.mse)) << what << " mse";
  EXPECT_TRUE(SameBits(got.max_abs_error, want.max_abs_error)) << what;
  EXPECT_TRUE(SameBits(got.mean_abs_error, want.mean_abs_error)) << what;
  EXPECT_TRUE(SameBits(got.sqnr_db, want.sqnr_db)) << what << " sqnr";
  EXPECT_EQ(got.clipped, want.clipped) << what;
  EXPECT_EQ(got.count, want.count) << what;
  EXPECT_EQ(got.nonfinite, want.nonfinite) << what;
}

void ExpectSameEncoding(const Encoding& got, const Encoding& want,
                        const std::string& what) {
  EXPECT_EQ(got.bitwidth, want.bitwidth) << what;
  EXPECT_TRUE(SameBits(got.scale, want.scale)) << what << " scale";
  EXPECT_EQ(got.offset, want.offset) << what;
  EXPECT_TRUE(SameBits(got.min, want.min)) << what << " min";
  EXPECT_TRUE(SameBits(got.max, want.max)) << what << " max";
  EXPECT_EQ(got.is_symmetric, want.is_symmetric) << what;
}

void ExpectSameAsAlone(const KernelTable& kernels, const std::vector<float>& x,
                       const std::vector<AnalysisOptions>& list,
                       const std::vector<size_t>& chunks) {
  AnalysisSet set(kernels, list);
  const Status status = RunSet(&set, x, chunks);
  ASSERT_TRUE(status.ok()) << status.message();
  for (size_t i = 0; i < list.size(); ++i) {
    const Separate want = AnalyzeAlone(kernels, x, list[i]);
    ASSERT_TRUE(want.status.ok()) << want.status.message();
    const std::string what = std::string(kernels.name) + " analysis " +
                             std::to_string(i) + " chunk " +
                             std::to_string(chunks[0]);
    ASSERT_EQ(set.encodings(i).size(), want.encodings.size()) << what;
    for (size_t c = 0; c < want.encodings.size(); ++c) {
      ExpectSameEncoding(set.encodings(i)[c], want.encodings[c], what);
      ExpectSameReport(set.Channel(i, c), want.channels[c], what);
    }
    ExpectSameReport(set.Total(i), want.total, what);
  }
}

AnalysisOptions Tf(int bitwidth, bool symmetric = false) {
  AnalysisOptions a;
  a.calibration.encoding.bitwidth = bitwidth;
  a.calibration.encoding.symmetric = symmetric;
  return a;
}

AnalysisOptions WithScheme(AnalysisOptions a, Scheme scheme) {
  a.calibration.scheme = scheme;
  return a;
}

// The grid the demo asks for, and variants that must not share passes.
std::vector<AnalysisOptions> Grid() {
  std::vector<AnalysisOptions> list;
  for (int bits : {4, 8, 16}) {
    list.push_back(Tf(bits));
    list.push_back(Tf(bits, /*symmetric=*/true));
    list.push_back(WithScheme(Tf(bits), Scheme::kTfEnhanced));
    list.push_back(WithScheme(Tf(bits), Scheme::kPercentile));
  }
  AnalysisOptions strict = Tf(8, true);
  strict.calibration.encoding.strict = true;
  list.push_back(strict);
  AnalysisOptions wide = Tf(8);
  wide.calibration.encoding.min_range = 50;
  list.push_back(wide);
  list.push_back(WithScheme(wide, Scheme::kTfEnhanced));
  AnalysisOptions p90 = WithScheme(Tf(8), Scheme::kPercentile);
  p90.calibration.percentile = 90;
  list.push_back(p90);
  AnalysisOptions even = Tf(12);
  even.rounding = Rounding::kHalfEven;
  list.push_back(even);
  AnalysisOptions given = Tf(8);
  given.encodings.resize(1);
  EXPECT_TRUE(NormalizeGivenEncoding(Encoding{8, 0, 0, 2.0 / 255, -128, false},
                                     &given.encodings[0])
                  .ok());
  list.push_back(given);
  return list;
}

std::vector<AnalysisOptions> WithLayout(std::vector<AnalysisOptions> list,
                                        uint64_t channels, uint64_t inner) {
  for (AnalysisOptions& a : list) {
    a.calibration.layout.channels = channels;
    a.calibration.layout.inner = inner;
    if (!a.encodings.empty()) {
      a.encodings.assign(channels, a.encodings[0]);
    }
  }
  return list;
}

const KernelTable* const kBackends[] = {&ScalarKernels(), &DefaultKernels()};

TEST(AnalysisSetTest, PerTensorGridEqualsSeparateAnalyses) {
  const auto x =
      reference::Generate(reference::Distribution::kNormal, 300001, 7);
  for (const KernelTable* k : kBackends) {
    ExpectSameAsAlone(*k, x, Grid(), {x.size()});
    ExpectSameAsAlone(*k, x, Grid(), {1000, 70000, 3, 131072});
  }
}

TEST(AnalysisSetTest, EveryDistribution) {
  for (auto d : reference::AllDistributions()) {
    const auto x = reference::Generate(d, 70000, 3);
    ExpectSameAsAlone(DefaultKernels(), x, Grid(), {x.size()});
  }
}

TEST(AnalysisSetTest, PerChannelLayouts) {
  const auto x =
      reference::Generate(reference::Distribution::kUniform, 48 * 1000, 11);
  for (const KernelTable* k : kBackends) {
    // Channels first, channels last (rows), and a short inner run.
    ExpectSameAsAlone(*k, x, WithLayout(Grid(), 48, 1000), {x.size()});
    ExpectSameAsAlone(*k, x, WithLayout(Grid(), 48, 1), {5000, 77});
    ExpectSameAsAlone(*k, x, WithLayout(Grid(), 12, 4), {x.size()});
  }
}

TEST(AnalysisSetTest, MixedLayoutsAndNonFinite) {
  auto x = reference::Generate(reference::Distribution::kNormal, 100000, 5);
  x[17] = std::numeric_limits<float>::quiet_NaN();
  x[70000] = std::numeric_limits<float>::infinity();
  std::vector<AnalysisOptions> list;
  for (AnalysisOptions a : Grid()) {
    a.calibration.non_finite = NonFinite::kSaturate;
    list.push_back(a);
  }
  for (AnalysisOptions a : WithLayout(list, 100, 1)) list.push_back(a);
  ExpectSameAsAlone(DefaultKernels(), x, list, {x.size()});
  ExpectSameAsAlone(DefaultKernels(), x, list, {65537});
}

TEST(AnalysisSetTest, NonFiniteErrorIsTheSeparateAnalysisError) {
  auto x = reference::Generate(reference::Distribution::kNormal, 200000, 5);
  x[150000] = -std::numeric_limits<float>::infinity();
  const auto list = Grid();
  AnalysisSet set(DefaultKernels(), list);
  const Status got = RunSet(&set, x, {x.size()});
  const Separate want = AnalyzeAlone(DefaultKernels(), x, list[0]);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.kind(), want.status.kind());
  EXPECT_EQ(got.message(), want.status.message());
}

TEST(AnalysisSetTest, OnlyGivenEncodingsNeedOnePass) {
  const auto x = reference::Generate(reference::Distribution::kNormal, 5000, 2);
  std::vector<AnalysisOptions> list = {Grid().back(), Grid().back()};
  list[1].rounding = Rounding::kHalfEven;
  AnalysisSet set(DefaultKernels(), list);
  EXPECT_EQ(set.passes(), 1);
  ExpectSameAsAlone(DefaultKernels(), x, list, {x.size()});
}

TEST(AnalysisSetTest, DataAfterTheLastPassIsAnError) {
  const std::vector<float> x = {1, 2, 3};
  AnalysisSet set(DefaultKernels(), {Tf(8)});
  ASSERT_TRUE(RunSet(&set, x, {3}).ok());
  const Status status = set.Add(x.data(), x.size(), 0);
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("after the last"), std::string::npos);
  EXPECT_FALSE(set.EndPass().ok());
}

}  // namespace
}  // namespace wasmquant
