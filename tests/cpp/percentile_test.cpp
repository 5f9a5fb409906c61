// The percentile scheme's radix selection (Calibrator::PercentileRange)
// against std::nth_element: the exact nearest-rank values of the finite
// data (SPEC §3.4), bit for bit, whatever the chunking, layout, digit width
// and kernels.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "wasmquant/calibrator.h"
#include "wasmquant/kernels.h"

namespace wasmquant {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

uint64_t Bits(double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return bits;
}

// The selection orders -0.0 before +0.0, so that it returns one definite
// zero; otherwise the order of the values.
bool Before(float a, float b) {
  return a < b || (a == b && std::signbit(a) && !std::signbit(b));
}

// ceil(p / 100 * n), clamped to [1, n]; p in millionths of a percent.
uint64_t Rank(uint64_t p_e6, uint64_t n) {
  const uint64_t rank = (p_e6 * n + 99999999) / 100000000;
  return std::clamp<uint64_t>(rank, 1, n);
}

struct Range {
  double lo;
  double hi;
};

// The nearest-rank (100 - p)-th and p-th percentiles of the finite values.
Range Reference(std::vector<float> x, double percentile) {
  x.erase(std::remove_if(x.begin(), x.end(),
                         [](float v) { return !std::isfinite(v); }),
          x.end());
  const uint64_t p_e6 = static_cast<uint64_t>(std::llround(percentile * 1e6));
  const auto nth = [&](uint64_t rank) {
    std::nth_element(x.begin(), x.begin() + (rank - 1), x.end(), Before);
    return static_cast<double>(x[rank - 1]);
  };
  const double lo = nth(Rank(100000000 - p_e6, x.size()));
  return {lo, nth(Rank(p_e6, x.size()))};
}

CalibrationOptions Options(double percentile, uint64_t channels = 1,
                           uint64_t inner = 0) {
  CalibrationOptions o;
  o.scheme = Scheme::kPercentile;
  o.percentile = percentile;
  o.non_finite = NonFinite::kSaturate;
  o.layout.channels = channels;
  o.layout.inner = inner;
  return o;
}

// Every pass over x in chunks of the given sizes (cycled from a different
// place on each pass; none: x in one call); the range of each channel.
std::vector<Range> Select(const KernelTable& kernels,
                          const std::vector<float>& x,
                          const CalibrationOptions& options,
                          const std::vector<size_t>& chunks = {}) {
  Calibrator calibrator(kernels, options);
  for (int pass = 0; pass < calibrator.passes(); ++pass) {
    size_t pos = 0;
    for (size_t k = pass; pos < x.size(); ++k) {
      const size_t length =
          chunks.empty() ? x.size()
                         : std::min(chunks[k % chunks.size()], x.size() - pos);
      const Status status = calibrator.Add(x.data() + pos, length, pos);
      EXPECT_TRUE(status.ok()) << status.message();
      pos += length;
    }
    const Status status = calibrator.EndPass();
    EXPECT_TRUE(status.ok()) << status.message();
  }
  std::vector<Range> ranges(options.layout.channels);
  for (size_t c = 0; c < ranges.size(); ++c) {
    const Status status =
        calibrator.PercentileRange(c, &ranges[c].lo, &ranges[c].hi);
    EXPECT_TRUE(status.ok()) << status.message();
  }
  return ranges;
}

void ExpectRange(const Range& got, const Range& want, const std::string& what) {
  EXPECT_EQ(Bits(got.lo), Bits(want.lo))
      << what << ": lo " << got.lo << ", want " << want.lo;
  EXPECT_EQ(Bits(got.hi), Bits(want.hi))
      << what << ": hi " << got.hi << ", want " << want.hi;
}

const double kPercentiles[] = {50, 75, 99, 99.99, 100};

std::vector<float> Data(const std::string& kind, size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal(0, 1);
  std::uniform_real_distribution<float> uniform(-3, 7);
  std::vector<float> x(n);
  for (float& v : x) {
    if (kind == "normal") {
      v = normal(gen);
    } else if (kind == "uniform") {
      v = uniform(gen);
    } else if (kind == "ties") {
      v = static_cast<float>(static_cast<int>(gen() % 9) - 4);
    } else if (kind == "negative") {
      v = -std::exp(3 * normal(gen));
    } else if (kind == "zeros") {
      v = gen() % 3 == 0 ? normal(gen) : (gen() & 1 ? 0.0f : -0.0f);
    } else if (kind == "subnormal") {
      v = normal(gen) * 1e-39f;
    } else if (kind == "heavy") {
      v = normal(gen) / (uniform(gen) + 3.000001f);
    } else if (kind == "nonfinite") {
      const uint32_t r = gen() % 50;
      v = r == 0 ? kNaN : r == 1 ? kInf : r == 2 ? -kInf : normal(gen);
    }
  }
  return x;
}

const char* const kKinds[] = {"normal", "uniform",   "ties",  "negative",
                              "zeros",  "subnormal", "heavy", "nonfinite"};

TEST(PercentileTest, NearestRankOfEveryDistribution) {
  for (const char* kind : kKinds) {
    for (size_t n : {1, 2, 3, 4, 15, 16, 17, 100, 1000, 65537, 250000}) {
      const std::vector<float> x = Data(kind, n, static_cast<uint32_t>(n));
      if (std::none_of(x.begin(), x.end(),
                       [](float v) { return std::isfinite(v); })) {
        continue;
      }
      for (double p : kPercentiles) {
        ExpectRange(Select(DefaultKernels(), x, Options(p))[0], Reference(x, p),
                    std::string(kind) + ", n " + std::to_string(n) + ", p " +
                        std::to_string(p));
      }
    }
  }
}

// A small size hint takes 8-bit digits (4 passes) instead of 16-bit ones;
// the values selected are the same nearest ranks.
TEST(PercentileTest, SizeHintOfSmallTensors) {
  for (size_t n : {1, 100, 5000, 65535}) {
    const std::vector<float> x = Data("heavy", n, 9);
    CalibrationOptions hinted = Options(99.9);
    hinted.size_hint = n;
    EXPECT_EQ(Calibrator(DefaultKernels(), hinted).passes(), 4);
    EXPECT_EQ(Calibrator(DefaultKernels(), Options(99.9)).passes(), 2);
    ExpectRange(Select(DefaultKernels(), x, hinted)[0], Reference(x, 99.9),
                "hinted, n " + std::to_string(n));
  }
  CalibrationOptions large = Options(99.9);
  large.size_hint = size_t{1} << 16;
  EXPECT_EQ(Calibrator(DefaultKernels(), large).passes(), 2);
}

TEST(PercentileTest, TinyAndDegenerateData) {
  const std::vector<std::vector<float>> cases = {
      {2.5f},
      {-0.0f},
      {0.0f, -0.0f},
      {3, -1},
      {1, 1, 1},
      {-0.0f, 0.0f, -0.0f},
      {1e-45f, -1e-45f, 0.0f},
      {kNaN, 4, kInf},
      {-kInf, -2, kNaN, kInf, 7},
      {std::numeric_limits<float>::max(), -std::numeric_limits<float>::max()},
      std::vector<float>(1000, -7.25f),
  };
  for (const auto& x : cases) {
    for (double p : kPercentiles) {
      ExpectRange(Select(DefaultKernels(), x, Options(p))[0], Reference(x, p),
                  "n " + std::to_string(x.size()) + ", x[0] " +
                      std::to_string(x[0]) + ", p " + std::to_string(p));
    }
  }
}

TEST(PercentileTest, ChunkedEqualsOneShot) {
  std::mt19937 gen(5);
  std::vector<size_t> chunks(50);
  for (size_t& c : chunks) c = 1 + gen() % 3000;
  for (const char* kind : {"normal", "ties", "nonfinite"}) {
    const std::vector<float> x = Data(kind, 100003, 9);
    for (double p : {50.0, 99.99}) {
      ExpectRange(Select(DefaultKernels(), x, Options(p), chunks)[0],
                  Select(DefaultKernels(), x, Options(p))[0],
                  std::string(kind) + " chunked");
    }
  }
}

// Channel counts on both sides of each digit width's limit (16 bits up to 4
// channels, 11 up to 128, 8 beyond), channels outermost and innermost.
TEST(PercentileTest, PerChannelBothLayouts) {
  struct Width {
    uint64_t channels;
    int passes;
  };
  for (const Width& w : std::vector<Width>{
           {1, 2}, {4, 2}, {5, 3}, {128, 3}, {129, 4}, {300, 4}}) {
    const size_t per_channel = 1000;
    const uint64_t c_count = w.channels;
    for (bool last : {false, true}) {
      for (const char* kind : {"normal", "ties", "nonfinite"}) {
        const std::vector<float> x =
            Data(kind, c_count * per_channel, static_cast<uint32_t>(c_count));
        // Channels first: [channels, per_channel]; last: [per_channel,
        // channels], with two elements per run for odd counts.
        const uint64_t inner = last ? (c_count % 2 ? 2 : 1) : per_channel;
        const CalibrationOptions o = Options(99, c_count, inner);
        EXPECT_EQ(Calibrator(DefaultKernels(), o).passes(), w.passes);
        std::vector<size_t> chunks = {777, 64, 13, 4096};
        const std::vector<Range> got = Select(DefaultKernels(), x, o, chunks);
        std::vector<std::vector<float>> slices(c_count);
        for (size_t i = 0; i < x.size(); ++i) {
          slices[(i / inner) % c_count].push_back(x[i]);
        }
        for (uint64_t c = 0; c < c_count; ++c) {
          ExpectRange(got[c], Reference(slices[c], 99),
                      std::string(kind) + ", " + std::to_string(c_count) +
                          " channels, inner " + std::to_string(inner) +
                          ", channel " + std::to_string(c));
        }
      }
    }
  }
}

// Per tensor and channels outermost (the kernels see long runs), and
// channels innermost (element by element).
TEST(PercentileTest, ScalarKernelsAgree) {
  struct Layout {
    uint64_t channels;
    uint64_t inner;
  };
  for (const char* kind : {"normal", "zeros", "nonfinite"}) {
    const std::vector<float> x = Data(kind, 210000, 3);
    for (const Layout& l :
         std::vector<Layout>{{1, 0}, {3, 70000}, {7, 30000}, {200, 1}}) {
      const CalibrationOptions o = Options(99.9, l.channels, l.inner);
      const std::vector<Range> a = Select(ScalarKernels(), x, o);
      const std::vector<Range> b = Select(DefaultKernels(), x, o);
      for (uint64_t c = 0; c < l.channels; ++c) {
        ExpectRange(a[c], b[c],
                    std::string(kind) + ", channel " + std::to_string(c) +
                        " of " + std::to_string(l.channels));
      }
    }
  }
}

TEST(PercentileTest, CallsOutOfOrderAreErrors) {
  const std::vector<float> x = {1, 2, 3};
  Calibrator calibrator(DefaultKernels(), Options(99));
  double lo, hi;
  EXPECT_FALSE(calibrator.PercentileRange(0, &lo, &hi).ok());
  for (int pass = 0; pass < calibrator.passes(); ++pass) {
    ASSERT_TRUE(calibrator.Add(x.data(), x.size(), 0).ok());
    ASSERT_TRUE(calibrator.EndPass().ok());
  }
  EXPECT_FALSE(calibrator.Add(x.data(), x.size(), 0).ok());
  EXPECT_FALSE(calibrator.EndPass().ok());
  EXPECT_FALSE(calibrator.PercentileRange(1, &lo, &hi).ok());
  ASSERT_TRUE(calibrator.PercentileRange(0, &lo, &hi).ok());
  EXPECT_EQ(lo, 1);
  EXPECT_EQ(hi, 3);

  CalibrationOptions tf = Options(99);
  tf.scheme = Scheme::kTf;
  Calibrator min_max(DefaultKernels(), tf);
  ASSERT_TRUE(min_max.Add(x.data(), x.size(), 0).ok());
  ASSERT_TRUE(min_max.EndPass().ok());
  EXPECT_FALSE(min_max.Add(x.data(), x.size(), 0).ok());
  EXPECT_FALSE(min_max.PercentileRange(0, &lo, &hi).ok());
}

}  // namespace
}  // namespace wasmquant
