// The row-by-row path of channels-innermost layouts (ChannelLayout::
// RowPositions(): a last-axis channel, or runs shorter than kShortRun)
// against the generic run-by-run path it replaces, which stays reachable
// through ChannelLayout::ForEachRun with QuantizeChunk, DequantizeChunk and
// one ErrorAccumulator per channel, exactly as ChannelQuantizer and
// ChannelErrorAccumulator used them. Results must be BIT-identical, for
// every code type, rounding and nonFinite policy, with the tensor fed in
// chunks that split rows anywhere. In the wasm build the same tests also
// run on the SIMD128 kernels, and the new kernels are held against the
// scalar ones directly.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/element.h"
#include "nonfinite.h"
#include "reference.h"
#include "wasmquant/calibrator.h"
#include "wasmquant/encoding.h"
#include "wasmquant/kernels.h"
#include "wasmquant/oneshot.h"
#include "wasmquant/quantizer.h"
#include "wasmquant/report.h"

namespace wasmquant {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr uint8_t kSentinel = 0xA5;

struct LayoutCase {
  uint64_t outer;
  uint64_t channels;
  uint64_t inner;
};

std::string Name(const LayoutCase& l) {
  return std::to_string(l.outer) + "x" + std::to_string(l.channels) + "x" +
         std::to_string(l.inner);
}

std::vector<LayoutCase> LayoutCases() {
  std::vector<LayoutCase> cases;
  for (uint64_t c : {2, 3, 4, 5, 7, 8, 16, 17, 63, 64, 65, 1000}) {
    // A few thousand elements, at least 5 rows, and a row count that is not
    // a multiple of the repetitions in a period.
    cases.push_back({std::max<uint64_t>(5, 3000 / c) + 3, c, 1});
  }
  cases.push_back({700, 1, 1});  // one channel, still runs of one element
  cases.push_back({150, 5, 3});  // short runs: inner 2..15
  cases.push_back({200, 7, 2});
  cases.push_back({40, 17, 15});
  return cases;
}

struct CodeCase {
  const char* name;
  int bitwidth;
  bool symmetric;
  bool strict;
};

const CodeCase kCodeCases[] = {
    {"u8_b8", 8, false, false},        {"u8_b4", 4, false, false},
    {"u8_b2", 2, false, false},        {"u16_b12", 12, false, false},
    {"u16_b16", 16, false, false},     {"i8_b8", 8, true, false},
    {"i8_b8_strict", 8, true, true},   {"i16_b16", 16, true, false},
    {"i16_b11_strict", 11, true, true}};

void PrintTo(const LayoutCase& l, std::ostream* os) { *os << Name(l); }

ChannelLayout MakeLayout(const LayoutCase& l) {
  ChannelLayout layout;
  layout.channels = l.channels;
  layout.inner = l.inner;
  return layout;
}

size_t ChannelOf(const LayoutCase& l, size_t i) {
  return static_cast<size_t>((i / l.inner) % l.channels);
}

// Channel c spreads over its own range, centred off zero for some; the
// encodings cover 80% of it, so about a fifth of the elements clip. Exact
// zeros, -0.0 and values on half steps are mixed in.
std::vector<float> Data(const LayoutCase& l, uint32_t seed) {
  const size_t n = l.outer * l.channels * l.inner;
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> x(n);
  for (size_t i = 0; i < n; ++i) {
    const size_t c = ChannelOf(l, i);
    const float spread = 0.1f + 0.37f * static_cast<float>(c % 7);
    const float centre = 0.5f * spread * (static_cast<float>(c % 3) - 1);
    x[i] = centre + spread * u(gen);
    if (i % 29 == 3) x[i] = 0.0f;
    if (i % 31 == 5) x[i] = -0.0f;
  }
  return x;
}

std::vector<Encoding> Encodings(const LayoutCase& l, const CodeCase& code) {
  std::vector<Encoding> encodings;
  for (uint64_t c = 0; c < l.channels; ++c) {
    const double spread = 0.1 + 0.37 * static_cast<double>(c % 7);
    const double centre = 0.5 * spread * (static_cast<double>(c % 3) - 1);
    EncodingOptions o;
    o.bitwidth = code.bitwidth;
    o.symmetric = code.symmetric;
    o.strict = code.strict;
    Encoding e;
    EXPECT_TRUE(
        ComputeEncoding(centre - 0.8 * spread, centre + 0.8 * spread, o, &e)
            .ok());
    encodings.push_back(e);
  }
  return encodings;
}

// NaN, +Inf and -Inf at a few places: early, mid-tensor and last.
std::vector<float> WithNonFinite(std::vector<float> x) {
  const size_t n = x.size();
  x[std::min<size_t>(n - 1, 37)] = kNaN;
  x[n / 2] = kInf;
  x[n / 2 + 1] = -kInf;
  x[n - 1] = kNaN;
  return x;
}

// Chunks as the callers feed them: the whole tensor, pieces of random
// length up to a few rows (straddling rows everywhere), and prime-sized
// pieces.
std::vector<std::vector<size_t>> Chunkings(size_t n, size_t row,
                                           uint32_t seed) {
  std::vector<std::vector<size_t>> chunkings;
  chunkings.push_back({n});
  std::mt19937 gen(seed);
  std::uniform_int_distribution<size_t> length(1, 3 * row + 2);
  std::vector<size_t> random;
  for (size_t done = 0; done < n;) {
    random.push_back(std::min(length(gen), n - done));
    done += random.back();
  }
  chunkings.push_back(random);
  std::vector<size_t> prime;
  for (size_t done = 0; done < n; done += prime.back()) {
    prime.push_back(std::min<size_t>(1021, n - done));
  }
  chunkings.push_back(prime);
  return chunkings;
}

// The generic path: ChannelQuantizer::Quantize before the row path.
Status GenericQuantize(const KernelTable& kernels, const ChannelLayout& layout,
                       const std::vector<KernelParams>& params, CodeType type,
                       const float* x, size_t n, NonFinite non_finite,
                       uint64_t index_base, void* codes, bool known_finite) {
  const size_t bytes = CodeBytes(type);
  return layout.ForEachRun(
      index_base, n, [&](size_t channel, size_t j, size_t length) {
        return QuantizeChunk(kernels, x + j, length, params[channel], type,
                             non_finite, index_base + j,
                             static_cast<char*>(codes) + j * bytes,
                             known_finite);
      });
}

Status GenericDequantize(const KernelTable& kernels,
                         const ChannelLayout& layout,
                         const std::vector<KernelParams>& params, CodeType type,
                         const void* codes, size_t n, uint64_t index_base,
                         float* x) {
  const size_t bytes = CodeBytes(type);
  return layout.ForEachRun(
      index_base, n, [&](size_t channel, size_t j, size_t length) {
        return DequantizeChunk(
            kernels, static_cast<const char*>(codes) + j * bytes, length,
            params[channel], type, index_base + j, x + j);
      });
}

// ChannelErrorAccumulator before the row path.
struct GenericReport {
  GenericReport(const KernelTable& kernels, const ChannelLayout& layout,
                const std::vector<Encoding>& encodings, Rounding rounding,
                NonFinite non_finite)
      : layout(layout) {
    for (const Encoding& e : encodings) {
      channels.emplace_back(kernels, MakeKernelParams(e, rounding), non_finite);
    }
  }
  Status Add(const float* x, size_t n, uint64_t index_base) {
    return layout.ForEachRun(
        index_base, n, [&](size_t channel, size_t j, size_t length) {
          return channels[channel].Add(x + j, length, index_base + j);
        });
  }
  Report Total() const {
    ErrorSums total;
    for (const ErrorAccumulator& c : channels) total.Add(c.Sums());
    return total.ToReport();
  }

  ChannelLayout layout;
  std::vector<ErrorAccumulator> channels;
};

bool SameBits(double a, double b) { return std::memcmp(&a, &b, 8) == 0; }

// The row path sums each channel in double, element after element; the
// generic path (ErrorAccumulator) in float32 blocks first, which SPEC §4
// allows within 1e-5 of an exact computation, so the two agree that far.
// The fields that are not sums agree exactly.
constexpr double kBlockSumRel = 1e-5;

void ExpectSameReport(const Report& a, const Report& b, const char* what) {
  EXPECT_TRUE(reference::RelNear(a.mse, b.mse, kBlockSumRel))
      << what << " mse " << a.mse << " " << b.mse;
  EXPECT_TRUE(reference::RelNear(a.rmse, b.rmse, kBlockSumRel)) << what;
  EXPECT_TRUE(SameBits(a.max_abs_error, b.max_abs_error)) << what;
  EXPECT_TRUE(
      reference::RelNear(a.mean_abs_error, b.mean_abs_error, kBlockSumRel))
      << what;
  if (std::isinf(b.sqnr_db)) {
    EXPECT_EQ(a.sqnr_db, b.sqnr_db) << what;
  } else {
    // 10 log10 turns a relative difference r of the sums into 4.35 r dB.
    EXPECT_NEAR(a.sqnr_db, b.sqnr_db, 4.35 * 2 * kBlockSumRel)
        << what << " sqnr " << a.sqnr_db << " " << b.sqnr_db;
  }
  EXPECT_EQ(a.clipped, b.clipped) << what;
  EXPECT_EQ(a.count, b.count) << what;
  EXPECT_EQ(a.nonfinite, b.nonfinite) << what;
}

void ExpectSameStatus(const Status& row, const Status& generic) {
  EXPECT_EQ(row.kind(), generic.kind());
  EXPECT_EQ(row.message(), generic.message());
}

std::vector<const KernelTable*> Tables() {
  std::vector<const KernelTable*> tables = {&ScalarKernels()};
#if defined(__wasm_simd128__)
  tables.push_back(&Simd128Kernels());
#endif
  return tables;
}

using Param = std::tuple<LayoutCase, const KernelTable*>;

class ChannelsLastTest : public ::testing::TestWithParam<Param> {
 protected:
  const LayoutCase& L() const { return std::get<0>(GetParam()); }
  const KernelTable& K() const { return *std::get<1>(GetParam()); }
};

TEST_P(ChannelsLastTest, LayoutTakesTheRowPath) {
  EXPECT_GT(MakeLayout(L()).RowPositions(), 0u);
}

TEST_P(ChannelsLastTest, QuantizeEqualsGenericPath) {
  const ChannelLayout layout = MakeLayout(L());
  const std::vector<float> finite = Data(L(), 7);
  const std::vector<float> bad = WithNonFinite(finite);
  const size_t n = finite.size();
  const size_t row = static_cast<size_t>(L().channels * L().inner);
  for (const CodeCase& code : kCodeCases) {
    const std::vector<Encoding> encodings = Encodings(L(), code);
    for (Rounding rounding : {Rounding::kHalfUp, Rounding::kHalfEven}) {
      std::vector<KernelParams> params;
      for (const Encoding& e : encodings) {
        params.push_back(MakeKernelParams(e, rounding));
      }
      const ChannelQuantizer quantizer(K(), layout, encodings, rounding);
      ASSERT_TRUE(quantizer.Check().ok());
      const CodeType type = quantizer.code_type();
      const size_t bytes = CodeBytes(type);
      for (const std::vector<size_t>& chunks : Chunkings(n, row, 11)) {
        struct Variant {
          const std::vector<float>* x;
          NonFinite non_finite;
          bool known_finite;
        };
        const Variant variants[] = {{&finite, NonFinite::kError, false},
                                    {&finite, NonFinite::kError, true},
                                    {&finite, NonFinite::kSaturate, true},
                                    {&bad, NonFinite::kError, false},
                                    {&bad, NonFinite::kSaturate, false}};
        for (const Variant& v : variants) {
          SCOPED_TRACE(
              std::string(code.name) + " " +
              (rounding == Rounding::kHalfUp ? "half-up" : "half-even") +
              " chunks " + std::to_string(chunks.size()) +
              (v.x == &bad ? " nonfinite " : " finite ") +
              (v.non_finite == NonFinite::kError ? "error" : "saturate") +
              (v.known_finite ? " known_finite" : ""));
          std::vector<uint8_t> row_codes(n * bytes, kSentinel);
          std::vector<uint8_t> generic_codes(n * bytes, kSentinel);
          Status row_status, generic_status;
          size_t base = 0;
          for (size_t length : chunks) {
            row_status = quantizer.Quantize(
                v.x->data() + base, length, v.non_finite, base,
                row_codes.data() + base * bytes, v.known_finite);
            generic_status = GenericQuantize(
                K(), layout, params, type, v.x->data() + base, length,
                v.non_finite, base, generic_codes.data() + base * bytes,
                v.known_finite);
            ExpectSameStatus(row_status, generic_status);
            if (!row_status.ok()) {
              // The row path writes nothing of a chunk it rejects.
              for (size_t b = base * bytes; b < (base + length) * bytes; ++b) {
                ASSERT_EQ(row_codes[b], kSentinel) << "byte " << b;
              }
              // The generic path may have written the runs before the
              // error: compare what came before the chunk.
              row_codes.resize(base * bytes);
              generic_codes.resize(base * bytes);
              break;
            }
            base += length;
          }
          EXPECT_EQ(v.x == &bad && v.non_finite == NonFinite::kError,
                    !row_status.ok());
          ASSERT_TRUE(row_codes == generic_codes)
              << "first difference at byte "
              << std::mismatch(row_codes.begin(), row_codes.end(),
                               generic_codes.begin())
                         .first -
                     row_codes.begin();
        }
      }
    }
  }
}

TEST_P(ChannelsLastTest, DequantizeEqualsGenericPath) {
  const ChannelLayout layout = MakeLayout(L());
  const std::vector<float> x = WithNonFinite(Data(L(), 8));
  const size_t n = x.size();
  const size_t row = static_cast<size_t>(L().channels * L().inner);
  for (const CodeCase& code : kCodeCases) {
    SCOPED_TRACE(code.name);
    const std::vector<Encoding> encodings = Encodings(L(), code);
    const ChannelQuantizer quantizer(K(), layout, encodings, Rounding::kHalfUp);
    std::vector<KernelParams> params;
    for (const Encoding& e : encodings) {
      params.push_back(MakeKernelParams(e, Rounding::kHalfUp));
    }
    const CodeType type = quantizer.code_type();
    const size_t bytes = CodeBytes(type);
    std::vector<uint8_t> codes(n * bytes);
    ASSERT_TRUE(
        quantizer
            .Quantize(x.data(), n, NonFinite::kSaturate, 0, codes.data(), false)
            .ok());
    for (const std::vector<size_t>& chunks : Chunkings(n, row, 12)) {
      std::vector<float> row_x(n), generic_x(n);
      size_t base = 0;
      for (size_t length : chunks) {
        ASSERT_TRUE(quantizer
                        .Dequantize(codes.data() + base * bytes, length, base,
                                    row_x.data() + base)
                        .ok());
        ASSERT_TRUE(GenericDequantize(K(), layout, params, type,
                                      codes.data() + base * bytes, length, base,
                                      generic_x.data() + base)
                        .ok());
        base += length;
      }
      ASSERT_EQ(std::memcmp(row_x.data(), generic_x.data(), n * 4), 0);
    }
    // A code outside its channel's range (the narrower types only have
    // those): the same error, and nothing written.
    const int32_t steps = Steps(code.bitwidth);
    const bool narrow = code.bitwidth != 8 && code.bitwidth != 16;
    if (!narrow && !code.strict) continue;
    const size_t at = n / 3 + 1;
    const int32_t outside =
        code.symmetric ? (code.strict ? -(steps / 2) - 1 : steps / 2 + 1)
                       : steps + 1;
    if (bytes == 1) {
      codes[at] = static_cast<uint8_t>(outside);
    } else {
      const int16_t v = static_cast<int16_t>(outside);
      std::memcpy(codes.data() + at * 2, &v, 2);
    }
    std::vector<float> row_x(n, -1.5f), generic_x(n, -1.5f);
    const Status row_status =
        quantizer.Dequantize(codes.data(), n, 0, row_x.data());
    const Status generic_status = GenericDequantize(
        K(), layout, params, type, codes.data(), n, 0, generic_x.data());
    EXPECT_FALSE(row_status.ok());
    ExpectSameStatus(row_status, generic_status);
    EXPECT_NE(row_status.message().find("at index " + std::to_string(at)),
              std::string::npos)
        << row_status.message();
    EXPECT_TRUE(std::all_of(row_x.begin(), row_x.end(),
                            [](float f) { return f == -1.5f; }));
  }
}

TEST_P(ChannelsLastTest, ReportEqualsGenericPath) {
  const ChannelLayout layout = MakeLayout(L());
  const std::vector<float> finite = Data(L(), 9);
  const std::vector<float> bad = WithNonFinite(finite);
  const size_t n = finite.size();
  const size_t row = static_cast<size_t>(L().channels * L().inner);
  for (const CodeCase& code : kCodeCases) {
    const std::vector<Encoding> encodings = Encodings(L(), code);
    for (Rounding rounding : {Rounding::kHalfUp, Rounding::kHalfEven}) {
      for (const std::vector<size_t>& chunks : Chunkings(n, row, 13)) {
        for (const std::vector<float>* x : {&finite, &bad}) {
          for (NonFinite nf : {NonFinite::kError, NonFinite::kSaturate}) {
            SCOPED_TRACE(
                std::string(code.name) + " " +
                (rounding == Rounding::kHalfUp ? "half-up" : "half-even") +
                " chunks " + std::to_string(chunks.size()) +
                (x == &bad ? " nonfinite " : " finite ") +
                (nf == NonFinite::kError ? "error" : "saturate"));
            ChannelErrorAccumulator fast(K(), layout, encodings, rounding, nf);
            GenericReport generic(K(), layout, encodings, rounding, nf);
            size_t base = 0;
            for (size_t length : chunks) {
              const Status a = fast.Add(x->data() + base, length, base);
              const Status b = generic.Add(x->data() + base, length, base);
              ExpectSameStatus(a, b);
              if (!a.ok()) break;
              base += length;
            }
            // Also after an error: the elements before it were added.
            ExpectSameReport(fast.Total(), generic.Total(), "total");
            for (size_t c = 0; c < L().channels; ++c) {
              ExpectSameReport(fast.Channel(c), generic.channels[c].Finish(),
                               ("channel " + std::to_string(c)).c_str());
            }
            if (::testing::Test::HasFailure()) return;
          }
        }
      }
    }
  }
}

// Per channel, calibration is that of the channel's slice alone (SPEC
// §3.2); pass 0 (the range) now runs row by row for every scheme.
TEST_P(ChannelsLastTest, CalibrationEqualsEachSliceAlone) {
  const ChannelLayout layout = MakeLayout(L());
  const std::vector<float> finite = Data(L(), 10);
  const std::vector<float> bad = WithNonFinite(finite);
  const size_t n = finite.size();
  const size_t row = static_cast<size_t>(L().channels * L().inner);
  struct SchemeCase {
    Scheme scheme;
    bool symmetric;
    int bitwidth;
  };
  const SchemeCase schemes[] = {{Scheme::kTf, false, 8},
                                {Scheme::kTf, true, 8},
                                {Scheme::kTf, false, 16},
                                {Scheme::kTfEnhanced, false, 8},
                                {Scheme::kPercentile, false, 8}};
  for (const SchemeCase& s : schemes) {
    for (const std::vector<float>* x : {&finite, &bad}) {
      for (NonFinite nf : {NonFinite::kError, NonFinite::kSaturate}) {
        QuantizeOptions options;
        options.scheme = s.scheme;
        options.symmetric = s.symmetric;
        options.bitwidth = s.bitwidth;
        options.non_finite = nf;
        options.percentile = 99;
        CalibrationOptions c = options.Calibration();
        c.layout = layout;
        for (const std::vector<size_t>& chunks : Chunkings(n, row, 14)) {
          SCOPED_TRACE("scheme " + std::to_string(static_cast<int>(s.scheme)) +
                       (s.symmetric ? " symmetric" : "") + " bits " +
                       std::to_string(s.bitwidth) +
                       (x == &bad ? " nonfinite " : " finite ") +
                       (nf == NonFinite::kError ? "error" : "saturate") +
                       " chunks " + std::to_string(chunks.size()));
          Calibrator calibrator(K(), c);
          Status status;
          for (int pass = 0; pass < calibrator.passes() && status.ok();
               ++pass) {
            size_t base = 0;
            for (size_t length : chunks) {
              status = calibrator.Add(x->data() + base, length, base);
              if (!status.ok()) break;
              base += length;
            }
            if (status.ok()) status = calibrator.EndPass();
          }
          if (x == &bad && nf == NonFinite::kError) {
            const size_t i = FirstNonFinite(x->data(), n);
            ExpectSameStatus(status, NonFiniteError(i, (*x)[i]));
            continue;
          }
          ASSERT_TRUE(status.ok()) << status.message();
          std::vector<Encoding> encodings;
          ASSERT_TRUE(calibrator.Finish(&encodings).ok());
          uint64_t nonfinite = 0;
          for (uint64_t ch = 0; ch < L().channels; ++ch) {
            std::vector<float> slice;
            for (size_t i = 0; i < n; ++i) {
              if (ChannelOf(L(), i) == ch) slice.push_back((*x)[i]);
            }
            Encoding e;
            uint64_t slice_nonfinite = 0;
            ASSERT_TRUE(Calibrate(K(), slice.data(), slice.size(), options, &e,
                                  &slice_nonfinite)
                            .ok());
            nonfinite += slice_nonfinite;
            EXPECT_TRUE(SameBits(encodings[ch].min, e.min)) << "channel " << ch;
            EXPECT_TRUE(SameBits(encodings[ch].max, e.max)) << "channel " << ch;
            EXPECT_TRUE(SameBits(encodings[ch].scale, e.scale))
                << "channel " << ch;
            EXPECT_EQ(encodings[ch].offset, e.offset) << "channel " << ch;
          }
          EXPECT_EQ(calibrator.nonfinite(), nonfinite);
          if (::testing::Test::HasFailure()) return;
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Layouts, ChannelsLastTest,
                         ::testing::Combine(::testing::ValuesIn(LayoutCases()),
                                            ::testing::ValuesIn(Tables())),
                         [](const ::testing::TestParamInfo<Param>& info) {
                           return Name(std::get<0>(info.param)) + "_" +
                                  std::get<1>(info.param)->name;
                         });

// The JS API's 64Ki-element chunks on a MatMul weight [K, N], axis 1, with N
// not dividing 65536: every chunk starts mid-row.
TEST(ChannelsLastChunksTest, JsSizedChunksOnAWeight) {
  const LayoutCase l = {41, 1700, 1};
  const ChannelLayout layout = MakeLayout(l);
  const std::vector<float> x = Data(l, 15);
  const size_t n = x.size();
  const std::vector<Encoding> encodings = Encodings(l, kCodeCases[0]);
  for (const KernelTable* kernels : Tables()) {
    SCOPED_TRACE(kernels->name);
    std::vector<KernelParams> params;
    for (const Encoding& e : encodings) {
      params.push_back(MakeKernelParams(e, Rounding::kHalfEven));
    }
    const ChannelQuantizer quantizer(*kernels, layout, encodings,
                                     Rounding::kHalfEven);
    ChannelErrorAccumulator fast(*kernels, layout, encodings,
                                 Rounding::kHalfEven, NonFinite::kError);
    GenericReport generic(*kernels, layout, encodings, Rounding::kHalfEven,
                          NonFinite::kError);
    std::vector<uint8_t> a(n), b(n);
    constexpr size_t kChunk = size_t{1} << 16;
    for (size_t base = 0; base < n; base += kChunk) {
      const size_t length = std::min(kChunk, n - base);
      ASSERT_TRUE(quantizer
                      .Quantize(x.data() + base, length, NonFinite::kError,
                                base, a.data() + base, false)
                      .ok());
      ASSERT_TRUE(GenericQuantize(*kernels, layout, params, CodeType::kU8,
                                  x.data() + base, length, NonFinite::kError,
                                  base, b.data() + base, false)
                      .ok());
      ASSERT_TRUE(fast.Add(x.data() + base, length, base).ok());
      ASSERT_TRUE(generic.Add(x.data() + base, length, base).ok());
    }
    EXPECT_TRUE(a == b);
    ExpectSameReport(fast.Total(), generic.Total(), "total");
    for (size_t c = 0; c < l.channels; c += 97) {
      ExpectSameReport(fast.Channel(c), generic.channels[c].Finish(),
                       "channel");
    }
  }
}

TEST(ChannelParamsTest, PeriodsAreWholeVectorsAndRows) {
  EXPECT_EQ(RowPeriod(2, 256), 256u);
  EXPECT_EQ(RowPeriod(3, 256), 288u);  // 48 * 6
  EXPECT_EQ(RowPeriod(1000, 256), 2000u);
  EXPECT_EQ(RowPeriod(1024, 256), 1024u);
  EXPECT_EQ(RowPeriod(4097, 256), 4097u);  // too long to repeat
  EXPECT_EQ(RowPeriod(7, 0), 7u);
  std::vector<KernelParams> channels;
  for (int c = 0; c < 3; ++c) {
    Encoding e;
    ASSERT_TRUE(ComputeEncoding(-1 - c, 1, EncodingOptions(), &e).ok());
    channels.push_back(MakeKernelParams(e, Rounding::kHalfUp));
  }
  const ChannelParams p = MakeChannelParams(channels, 2, 256);
  ASSERT_EQ(p.period, 288u);  // 6 positions, repeated to a multiple of 16
  for (size_t q = 0; q < p.period; ++q) {
    const KernelParams& want = channels[q % 6 / 2];
    EXPECT_EQ(p.params[q].inv_scale, want.inv_scale);
    EXPECT_EQ(p.zero_code[q], element::ZeroCode(want));
  }
}

#if defined(__wasm_simd128__)

// The row kernels, SIMD128 against scalar, on every start position and
// many lengths; quantize also on +-Inf (which saturate).
class RowKernelsTest : public ::testing::TestWithParam<size_t> {};

std::vector<KernelParams> RandomChannels(size_t channels, const CodeCase& code,
                                         Rounding rounding, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> log_mag(-4, 4);
  std::vector<KernelParams> params;
  for (size_t c = 0; c < channels; ++c) {
    EncodingOptions o;
    o.bitwidth = code.bitwidth;
    o.symmetric = code.symmetric;
    o.strict = code.strict;
    Encoding e;
    EXPECT_TRUE(
        ComputeEncoding(-std::exp(log_mag(gen)), std::exp(log_mag(gen)), o, &e)
            .ok());
    params.push_back(MakeKernelParams(e, rounding));
  }
  return params;
}

template <typename Code>
void ExpectSameQuantizeRows(
    void (*scalar)(const float*, size_t, const ChannelParams&, size_t, Code*),
    void (*simd)(const float*, size_t, const ChannelParams&, size_t, Code*),
    const std::vector<float>& x, const ChannelParams& p, size_t k, size_t n) {
  std::vector<Code> a(n + 8, 0x5A), b(n + 8, 0x5A);
  scalar(x.data(), n, p, k, a.data());
  simd(x.data(), n, p, k, b.data());
  ASSERT_TRUE(a == b) << "k " << k << " n " << n;
}

template <typename Code>
void ExpectSameDequantizeRows(
    void (*scalar)(const Code*, size_t, const ChannelParams&, size_t, float*),
    void (*simd)(const Code*, size_t, const ChannelParams&, size_t, float*),
    const std::vector<float>& x, const ChannelParams& p, size_t k, size_t n) {
  // Valid codes of each position, from the scalar quantizer.
  std::vector<Code> codes(n + 8);
  for (size_t j = 0; j < n; ++j) {
    codes[j] = static_cast<Code>(
        element::OutputCode(x[j], p.params[(k + j) % p.period]));
  }
  std::vector<float> a(n + 8, 7.0f), b(n + 8, 7.0f);
  scalar(codes.data(), n, p, k, a.data());
  simd(codes.data(), n, p, k, b.data());
  ASSERT_EQ(std::memcmp(a.data(), b.data(), a.size() * 4), 0)
      << "k " << k << " n " << n;
}

TEST_P(RowKernelsTest, Simd128EqualsScalar) {
  const size_t channels = GetParam();
  const KernelTable& s = ScalarKernels();
  const KernelTable& v = Simd128Kernels();
  std::mt19937 gen(static_cast<uint32_t>(channels));
  for (const CodeCase& code : kCodeCases) {
    for (Rounding rounding : {Rounding::kHalfUp, Rounding::kHalfEven}) {
      SCOPED_TRACE(std::string(code.name) +
                   (rounding == Rounding::kHalfUp ? " half-up" : " half-even"));
      const std::vector<KernelParams> params =
          RandomChannels(channels, code, rounding, 99 + code.bitwidth);
      for (size_t min_period : {size_t{0}, size_t{256}}) {
        const ChannelParams p = MakeChannelParams(params, 1, min_period);
        const size_t max_n = 3 * p.period + 40;
        // Elements scaled to each position's range, some beyond it, some
        // on exact half steps, +-Inf for quantize.
        std::uniform_real_distribution<float> u(-1.3f, 1.3f);
        std::vector<float> x(max_n + 8);
        std::vector<float> xq(max_n + 8);
        for (size_t k :
             {size_t{0}, size_t{1}, size_t{3}, p.period / 2, p.period - 1}) {
          if (k >= p.period) continue;  // start positions are below period
          for (size_t j = 0; j < x.size(); ++j) {
            const KernelParams& kp = p.params[(k + j) % p.period];
            const float range = kp.scale * static_cast<float>(kp.qmax);
            x[j] = u(gen) * range;
            if (j % 11 == 4) {
              x[j] = (std::floor(x[j] / kp.scale) + 0.5f) * kp.scale;
            }
            xq[j] = j % 53 == 7 ? kInf : j % 59 == 8 ? -kInf : x[j];
          }
          for (size_t n = 0; n <= max_n; n += n < 40 ? 1 : 37) {
            if (code.bitwidth <= 8 && !code.symmetric) {
              ExpectSameQuantizeRows(s.quantize_rows_u8, v.quantize_rows_u8, xq,
                                     p, k, n);
              ExpectSameDequantizeRows(s.dequantize_rows_u8,
                                       v.dequantize_rows_u8, x, p, k, n);
            } else if (!code.symmetric) {
              ExpectSameQuantizeRows(s.quantize_rows_u16, v.quantize_rows_u16,
                                     xq, p, k, n);
              ExpectSameDequantizeRows(s.dequantize_rows_u16,
                                       v.dequantize_rows_u16, x, p, k, n);
            } else if (code.bitwidth <= 8) {
              ExpectSameQuantizeRows(s.quantize_rows_i8, v.quantize_rows_i8, xq,
                                     p, k, n);
              ExpectSameDequantizeRows(s.dequantize_rows_i8,
                                       v.dequantize_rows_i8, x, p, k, n);
            } else {
              ExpectSameQuantizeRows(s.quantize_rows_i16, v.quantize_rows_i16,
                                     xq, p, k, n);
              ExpectSameDequantizeRows(s.dequantize_rows_i16,
                                       v.dequantize_rows_i16, x, p, k, n);
            }
            if (::testing::Test::HasFatalFailure()) return;
          }
          // Ranges and error sums, over several calls so that state carries.
          std::vector<float> lo_a(p.period, kInf), hi_a(p.period, -kInf);
          std::vector<float> lo_b = lo_a, hi_b = hi_a;
          const size_t c = p.period;
          std::vector<double> sums_a(3 * c, 0), sums_b(3 * c, 0);
          std::vector<float> max_a(c, 0), max_b(c, 0);
          std::vector<uint64_t> clip_a(c, 0), clip_b(c, 0);
          const ChannelErrors ea = {sums_a.data(), sums_a.data() + c,
                                    sums_a.data() + 2 * c, max_a.data(),
                                    clip_a.data()};
          const ChannelErrors eb = {sums_b.data(), sums_b.data() + c,
                                    sums_b.data() + 2 * c, max_b.data(),
                                    clip_b.data()};
          size_t pos = k;
          for (size_t j = 0, n = 1; j + n <= x.size(); j += n, n += 13) {
            s.min_max_rows(x.data() + j, n, p.period, pos, lo_a.data(),
                           hi_a.data());
            v.min_max_rows(x.data() + j, n, p.period, pos, lo_b.data(),
                           hi_b.data());
            if (min_period == 0) {
              s.accumulate_error_rows(x.data() + j, n, p, pos, ea);
              v.accumulate_error_rows(x.data() + j, n, p, pos, eb);
            }
            pos = (pos + n) % p.period;
          }
          EXPECT_EQ(std::memcmp(lo_a.data(), lo_b.data(), c * 4), 0);
          EXPECT_EQ(std::memcmp(hi_a.data(), hi_b.data(), c * 4), 0);
          EXPECT_EQ(std::memcmp(sums_a.data(), sums_b.data(), 3 * c * 8), 0);
          EXPECT_EQ(std::memcmp(max_a.data(), max_b.data(), c * 4), 0);
          EXPECT_TRUE(clip_a == clip_b);
          if (::testing::Test::HasFailure()) return;
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Channels, RowKernelsTest,
                         ::testing::Values(1, 2, 3, 4, 5, 7, 8, 16, 17, 63, 64,
                                           65, 1000));

#endif  // __wasm_simd128__

}  // namespace
}  // namespace wasmquant
