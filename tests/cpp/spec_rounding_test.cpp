// SPEC §2's rule q = clamp(R(x / scale) + z, 0, steps), the zero point added
// after rounding, held against reference.h's double-precision model at 12
// and 16 bits on millions of values crowded around half steps: both
// roundings, asymmetric encodings with odd and even zero points, symmetric
// ones (signed codes), per tensor and per channel (axis 0, and the last axis,
// which takes the row kernels), the data given in pieces as streams give it,
// and both kernel tables. A code may differ from the model only by one, and
// only where x / scale lies within 1e-5 + 3e-7 |x / scale| of a half step.
#include <cmath>
#include <cstdint>
#include <limits>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "reference.h"
#include "wasmquant/encoding.h"
#include "wasmquant/kernels.h"
#include "wasmquant/quantizer.h"

namespace wasmquant {
namespace {

constexpr size_t kPerEncoding = size_t{1} << 19;  // values per channel

struct Given {
  double scale;
  int32_t offset;
  bool symmetric;
};

Encoding Normalized(int bitwidth, const Given& g) {
  Encoding given;
  given.bitwidth = bitwidth;
  given.scale = g.scale;
  given.offset = g.offset;
  given.is_symmetric = g.symmetric;
  Encoding e;
  const Status status = NormalizeGivenEncoding(given, &e);
  EXPECT_TRUE(status.ok()) << status.message();
  return e;
}

// Asymmetric encodings: even and odd zero points, the ends included, scales
// exact in float32 and not.
std::vector<Given> Asymmetric(int bitwidth) {
  const int32_t steps = Steps(bitwidth);
  return {
      {0.0123456789, 0, false},
      {1.0 / 3000, -1, false},
      {3.50957503e-05, -(steps / 2), false},      // odd
      {0.000244140625, -(steps / 2 + 1), false},  // even, exact in float
      {0.41588449478149414 / steps * 1.5, -steps, false},
      {0.0078125, -(steps / 3 | 1), false},  // odd, scale 2^-7
      {2.75 / steps, -1234, false},
      {0.1, -777, false},
  };
}

std::vector<Given> Symmetric(int bitwidth) {
  const int32_t half = int32_t{1} << (bitwidth - 1);
  return {
      {0.0123456789, -half, true},
      {1.0 / 3000, -(half - 1), true},
      {3.0517578125e-05, -half, true},
      {0.41588449478149414 / half, -half, true},
      {0.1, -(half - 1), true},
      {2.0 / 4095, -half, true},
  };
}

// Values of encoding e: half of them uniform over the codes' range and a
// little beyond, half at the float32 nearest to an exact half step and up to
// two float32 ulps either side of it.
std::vector<float> ValuesFor(const Encoding& e, size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  const double z = -static_cast<double>(e.offset);
  const double top = MaxUnsignedCode(e);
  std::uniform_real_distribution<double> s_dist(-z - 2, top - z + 2);
  std::uniform_int_distribution<int64_t> k_dist(static_cast<int64_t>(-z) - 1,
                                                static_cast<int64_t>(top - z));
  std::vector<float> x;
  x.reserve(n);
  while (x.size() < n / 2)
    x.push_back(static_cast<float>(s_dist(gen) * e.scale));
  const float inf = std::numeric_limits<float>::infinity();
  while (x.size() + 5 <= n) {
    const float tie =
        static_cast<float>((static_cast<double>(k_dist(gen)) + 0.5) * e.scale);
    const float up = std::nextafter(tie, inf);
    const float down = std::nextafter(tie, -inf);
    x.insert(x.end(), {tie, up, down, std::nextafter(up, inf),
                       std::nextafter(down, -inf)});
  }
  while (x.size() < n) x.push_back(0.0f);
  return x;
}

// reference.h's code in the encoding's own domain: signed for symmetric
// encodings (SPEC §3.1), unsigned otherwise.
int64_t Want(float x, const Encoding& e, Rounding rounding) {
  const reference::RefEncoding ref = reference::FromEncoding(e);
  const int64_t top = MaxUnsignedCode(e);
  int64_t q = reference::RefQuantize(x, ref, rounding);
  if (q > top) q = top;  // strict symmetric: one code fewer
  return e.is_symmetric ? q + e.offset : q;
}

bool NearHalfStep(float x, const Encoding& e) {
  const double s = static_cast<double>(x) / e.scale;
  return reference::DistanceToTie(s) <= reference::SpecTieTolerance(s);
}

enum class Layout { kPerTensor, kAxis0, kLastAxis };

std::string LayoutName(Layout l) {
  switch (l) {
    case Layout::kPerTensor:
      return "per tensor";
    case Layout::kAxis0:
      return "axis 0";
    case Layout::kLastAxis:
      return "last axis";
  }
  return "?";
}

struct Outcome {
  size_t checked = 0;
  size_t near_tie_differences = 0;
  size_t failures = 0;
};

// Quantizes x (channel of element i: encodings[channel_of(i)]) with a
// ChannelQuantizer in pieces of `piece` elements and checks every code.
template <typename Code, typename ChannelOf>
void Check(const KernelTable& kernels, const std::vector<Encoding>& encodings,
           const ChannelLayout& layout, ChannelOf channel_of,
           const std::vector<float>& x, Rounding rounding, size_t piece,
           const std::string& what, Outcome* outcome) {
  const ChannelQuantizer q(kernels, layout, encodings, rounding);
  ASSERT_TRUE(q.Check().ok()) << q.Check().message();
  std::vector<Code> codes(x.size());
  for (size_t start = 0; start < x.size(); start += piece) {
    const size_t n = std::min(piece, x.size() - start);
    const Status status = q.Quantize(x.data() + start, n, NonFinite::kError,
                                     start, codes.data() + start, false);
    ASSERT_TRUE(status.ok()) << status.message();
  }
  for (size_t i = 0; i < x.size(); ++i) {
    const Encoding& e = encodings[channel_of(i)];
    const int64_t want = Want(x[i], e, rounding);
    const int64_t got = codes[i];
    ++outcome->checked;
    if (got == want) continue;
    if (std::llabs(got - want) == 1 && NearHalfStep(x[i], e)) {
      ++outcome->near_tie_differences;
      continue;
    }
    if (++outcome->failures <= 10) {
      ADD_FAILURE() << what << ": x[" << i << "] = " << x[i] << " ("
                    << static_cast<double>(x[i]) / e.scale << " steps; scale "
                    << e.scale << ", offset " << e.offset << "): code " << got
                    << ", reference " << want;
    }
  }
}

struct RuleParam {
  int bitwidth;
  Rounding rounding;
  bool symmetric;
};

void PrintTo(const RuleParam& p, std::ostream* os) {
  *os << p.bitwidth << " bits, "
      << (p.rounding == Rounding::kHalfUp ? "half-up" : "half-even")
      << (p.symmetric ? ", symmetric" : ", asymmetric");
}

class SpecRoundingTest : public ::testing::TestWithParam<RuleParam> {};

template <typename Code>
void RunAll(const KernelTable& kernels, const RuleParam& param) {
  const std::vector<Given> givens =
      param.symmetric ? Symmetric(param.bitwidth) : Asymmetric(param.bitwidth);
  std::vector<Encoding> encodings;
  for (const Given& g : givens) {
    encodings.push_back(Normalized(param.bitwidth, g));
  }
  const size_t channels = encodings.size();
  std::vector<std::vector<float>> per_channel;
  for (size_t c = 0; c < channels; ++c) {
    per_channel.push_back(
        ValuesFor(encodings[c], kPerEncoding,
                  static_cast<uint32_t>(97 * c + param.bitwidth)));
  }
  const std::string base =
      std::string(kernels.name) + ", " + std::to_string(param.bitwidth) +
      " bits, " +
      (param.rounding == Rounding::kHalfUp ? "half-up" : "half-even");
  Outcome outcome;
  // Per tensor: one encoding at a time, in one piece and in odd pieces.
  for (size_t c = 0; c < channels; ++c) {
    const std::vector<Encoding> one = {encodings[c]};
    const ChannelLayout layout;  // channels 1
    for (size_t piece : {per_channel[c].size(), size_t{65536 + 7}}) {
      Check<Code>(
          kernels, one, layout, [](size_t) { return size_t{0}; },
          per_channel[c], param.rounding, piece,
          base + ", per tensor, encoding " + std::to_string(c) +
              ", pieces of " + std::to_string(piece),
          &outcome);
    }
  }
  // Axis 0: [channels, kPerEncoding].
  {
    std::vector<float> x;
    for (const auto& v : per_channel) x.insert(x.end(), v.begin(), v.end());
    ChannelLayout layout;
    layout.channels = channels;
    layout.inner = kPerEncoding;
    Check<Code>(
        kernels, encodings, layout, [&](size_t i) { return i / kPerEncoding; },
        x, param.rounding, 100003, base + ", " + LayoutName(Layout::kAxis0),
        &outcome);
  }
  // Last axis: [kPerEncoding, channels].
  {
    std::vector<float> x(channels * kPerEncoding);
    for (size_t j = 0; j < kPerEncoding; ++j) {
      for (size_t c = 0; c < channels; ++c) {
        x[j * channels + c] = per_channel[c][j];
      }
    }
    ChannelLayout layout;
    layout.channels = channels;
    layout.inner = 1;
    for (size_t piece : {x.size(), size_t{65536 + 3}}) {
      Check<Code>(
          kernels, encodings, layout, [&](size_t i) { return i % channels; }, x,
          param.rounding, piece,
          base + ", " + LayoutName(Layout::kLastAxis) + ", pieces of " +
              std::to_string(piece),
          &outcome);
    }
  }
  EXPECT_EQ(outcome.failures, 0u) << base;
  EXPECT_GT(outcome.checked, size_t{5} << 20);
  // Half the values sit within two ulps of a half step, where float32
  // evaluation may go either way; far fewer do.
  EXPECT_LT(outcome.near_tie_differences, outcome.checked / 4) << base;
  ::testing::Test::RecordProperty(
      "near_tie_differences", static_cast<int>(outcome.near_tie_differences));
}

TEST_P(SpecRoundingTest, ZeroPointAddedAfterRounding) {
  const RuleParam param = GetParam();
  std::vector<const KernelTable*> tables = {&ScalarKernels()};
  if (&DefaultKernels() != &ScalarKernels()) {
    tables.push_back(&DefaultKernels());
  }
  for (const KernelTable* kernels : tables) {
    if (param.symmetric) {
      RunAll<int16_t>(*kernels, param);
    } else {
      RunAll<uint16_t>(*kernels, param);
    }
  }
}

std::vector<RuleParam> AllParams() {
  std::vector<RuleParam> out;
  for (int bitwidth : {12, 16}) {
    for (Rounding r : {Rounding::kHalfUp, Rounding::kHalfEven}) {
      for (bool symmetric : {false, true}) {
        out.push_back({bitwidth, r, symmetric});
      }
    }
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Rule, SpecRoundingTest,
                         ::testing::ValuesIn(AllParams()),
                         [](const ::testing::TestParamInfo<RuleParam>& info) {
                           return "Bits" + std::to_string(info.param.bitwidth) +
                                  (info.param.rounding == Rounding::kHalfUp
                                       ? "HalfUp"
                                       : "HalfEven") +
                                  (info.param.symmetric ? "Symmetric"
                                                        : "Asymmetric");
                         });

// The example: at 16 bits, on a [-n, 0] tensor (z = 65535), the
// float32 sum x * inv_scale + (z + 0.5) moved codes near a half step. Every
// value just beside a half step of such an encoding must get the code the
// exact formula gives (x / scale is far from the tie in units of 3e-7).
TEST(SpecRoundingTest, SixteenBitsNegativeRangeHasExactCodes) {
  Encoding given;
  given.bitwidth = 16;
  given.scale = 0.41588449478149414 * 1.5 / 65535;
  given.offset = -65535;
  Encoding e;
  ASSERT_TRUE(NormalizeGivenEncoding(given, &e).ok());
  std::vector<float> x;
  for (int64_t k = -65535; k < 0; k += 7) {
    // A quarter step either side of a half step: exact under the rule.
    x.push_back(static_cast<float>((static_cast<double>(k) + 0.25) * e.scale));
    x.push_back(static_cast<float>((static_cast<double>(k) + 0.75) * e.scale));
    x.push_back(static_cast<float>((static_cast<double>(k) + 0.49) * e.scale));
    x.push_back(static_cast<float>((static_cast<double>(k) + 0.51) * e.scale));
  }
  x.push_back(-0.41588449478149414f);
  for (Rounding rounding : {Rounding::kHalfUp, Rounding::kHalfEven}) {
    const KernelParams p = MakeKernelParams(e, rounding);
    std::vector<const KernelTable*> tables = {&ScalarKernels(),
                                              &DefaultKernels()};
    for (const KernelTable* kernels : tables) {
      std::vector<uint16_t> codes(x.size());
      ASSERT_TRUE(QuantizeChunk(*kernels, x.data(), x.size(), p, CodeType::kU16,
                                NonFinite::kError, 0, codes.data())
                      .ok());
      for (size_t i = 0; i < x.size(); ++i) {
        if (NearHalfStep(x[i], e)) continue;
        ASSERT_EQ(codes[i], Want(x[i], e, rounding))
            << kernels->name << ": x = " << x[i];
      }
    }
  }
}

}  // namespace
}  // namespace wasmquant
