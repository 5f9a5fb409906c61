// The per-element kernels. Every backend fills the same table, so tests can
// hold one against the other and the rest of the core never names a backend.
#ifndef WASMQUANT_KERNELS_H_
#define WASMQUANT_KERNELS_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "wasmquant/encoding.h"

namespace wasmquant {

// float32 copies of an encoding, as the kernels use them. The code of x is
// SPEC §2's clamp(R(x / scale) + z, qmin, qmax): R(t) is floor(fl(fl(x *
// inv_scale) + bias)) with bias = 0.5 (half-up), or round-to-nearest-even
// of fl(x / scale), a float32 division as ONNX Runtime's QuantizeLinear
// does (half-even); post_shift = zero_point is then added exactly, as an
// integer. code_offset is added on output (signed codes are the unsigned
// ones plus the offset; for symmetric encodings zero_point + code_offset is
// 0, so the signed code is R(x / scale) clamped).
struct KernelParams {
  float scale;
  // x is clipped (SPEC §4) when x < clip_low or x > clip_high: the float32
  // ends of [min - scale/2, max + scale/2], rounded inwards from double.
  float clip_low;
  float clip_high;
  float inv_scale;
  float bias;
  int32_t zero_point;
  int32_t qmin;
  int32_t qmax;
  int32_t post_shift;
  int32_t code_offset;
  Rounding rounding;
};

KernelParams MakeKernelParams(const Encoding& encoding, Rounding rounding);

struct MinMaxResult {
  float lo;  // over the non-NaN elements; +Inf for an empty or all-NaN input
  float hi;
  bool all_finite;
};

// Error sums accumulate in kErrorLanes double lanes, element i going to lane
// i % kErrorLanes, and are folded in a fixed order: this makes SIMD and
// scalar results bit-identical.
constexpr int kErrorLanes = 8;
// SPEC §4 lets a lane add up to 64 terms in float32 before its double sum:
// accumulate_error cuts a call's whole groups of kErrorLanes elements into
// blocks of kErrorBlock from the call's start, and the rest (under
// kErrorLanes elements) goes to the double sums directly.
constexpr size_t kErrorBlock = 64 * kErrorLanes;
struct ErrorLanes {
  double sq_error[kErrorLanes];
  double abs_error[kErrorLanes];
  double sq_signal[kErrorLanes];
  float max_abs_error;
  uint64_t clipped;
};

// Channels-innermost data (a per-channel layout whose runs are a few
// elements, e.g. the last axis) seen as rows of `period` positions, position
// q using params[q]: the channels' params in order, each repeated for its
// run of `inner` elements, and the whole repeated when that makes rows whole
// vectors (one row then covers several of the tensor's). Consecutive
// positions have consecutive params, so the vector kernels read them as
// vectors from the struct-of-arrays copies below, built once.
struct ChannelParams {
  size_t period = 0;
  Rounding rounding = Rounding::kHalfUp;  // the same for every position
  std::vector<KernelParams> params;       // what element.h takes
  // Per position, the fields of params (or small-integer combinations of
  // them, exactly representable) in the forms the vector kernels use:
  std::vector<float> inv_scale;
  std::vector<float> bias;
  std::vector<float> scale;
  std::vector<float> clip_low;
  std::vector<float> clip_high;
  std::vector<float> code_low;     // qmin - post_shift
  std::vector<float> code_high;    // qmax - post_shift
  std::vector<int32_t> out_shift;  // post_shift + code_offset
  std::vector<int32_t> zero_code;  // element::ZeroCode
  std::vector<int32_t> valid_low;  // qmin + code_offset: the lowest output code
  std::vector<int32_t> valid_high;  // qmax + code_offset
};

// The period of rows of `positions` elements: the smallest multiple of it
// that is a multiple of 16 and at least min_period, unless that exceeds 2048
// (then positions). min_period 0: positions.
size_t RowPeriod(size_t positions, size_t min_period);

// channels[c] is channel c's params; a row has channels.size() * inner
// positions, repeated to RowPeriod(positions, min_period).
ChannelParams MakeChannelParams(const std::vector<KernelParams>& channels,
                                size_t inner, size_t min_period);

// Calls segment(j, q, length) for the pieces x[j, j + length) of x[0, n)
// that each stay in one row of `period` positions; x[0] is at position k.
template <typename Segment>
void ForEachRowSegment(size_t n, size_t period, size_t k, Segment&& segment) {
  for (size_t j = 0; j < n;) {
    const size_t length = std::min(period - k, n - j);
    segment(j, k, length);
    j += length;
    k = 0;
  }
}

// The per-channel error sums of channels-innermost data (period = channels),
// one sequential sum per channel in element order, as element::
// AccumulateChannelError adds them.
struct ChannelErrors {
  double* sq_error;
  double* abs_error;
  double* sq_signal;
  float* max_abs_error;
  uint64_t* clipped;
};

// One pass of the radix selection of nearest-rank values (Calibrator), over
// the ordered keys of the finite elements (element::OrderedKey): a key k
// whose high bits match rank r's, (k & prefix_mask) == prefix[r] for r <
// ranks, has its digit (k >> shift) & digit_mask counted in counts[r *
// stride + digit].
struct KeyDigits {
  uint32_t prefix_mask = 0;
  uint32_t prefix[2] = {0, 0};
  int ranks = 1;
  int shift = 0;
  uint32_t digit_mask = 0;
  size_t stride = 0;
};

// count_key_digits for channels-innermost data, rows of `period` positions:
// position q is channel[q], whose KeyDigits are digits[c] and whose count
// tables start at counts + c * 2 * digits[c].stride. For the vector
// kernel's test, prefix_mask is every channel's (one pass has one), and
// raw_low[q] and raw_high[q] are element::RawKeyPattern of position q's
// prefixes.
struct KeyDigitRows {
  size_t period = 0;
  uint32_t prefix_mask = 0;
  std::vector<size_t> channel;
  std::vector<uint32_t> raw_low;
  std::vector<uint32_t> raw_high;
};

struct KernelTable {
  const char* name;
  MinMaxResult (*min_max)(const float* x, size_t n);
  // x must be free of NaN; codes of +-Inf saturate.
  void (*quantize_u8)(const float* x, size_t n, const KernelParams& p,
                      uint8_t* codes);
  void (*quantize_u16)(const float* x, size_t n, const KernelParams& p,
                       uint16_t* codes);
  void (*quantize_i8)(const float* x, size_t n, const KernelParams& p,
                      int8_t* codes);
  void (*quantize_i16)(const float* x, size_t n, const KernelParams& p,
                       int16_t* codes);
  void (*dequantize_u8)(const uint8_t* codes, size_t n, const KernelParams& p,
                        float* x);
  void (*dequantize_u16)(const uint16_t* codes, size_t n, const KernelParams& p,
                         float* x);
  void (*dequantize_i8)(const int8_t* codes, size_t n, const KernelParams& p,
                        float* x);
  void (*dequantize_i16)(const int16_t* codes, size_t n, const KernelParams& p,
                         float* x);
  // Starts from the lanes given (ErrorLanes zeroed first) and adds x[0, n)
  // up to the first block (or tail element) that holds a NaN/Inf; returns
  // how many elements it added, n when all are finite. So callers need no
  // separate pass to check the data.
  size_t (*accumulate_error)(const float* x, size_t n, const KernelParams& p,
                             ErrorLanes* lanes);

  // Channels-innermost forms: x[j] (or codes[j]) is at position (k + j) %
  // p.period of the ChannelParams, k < p.period; otherwise as above.
  void (*quantize_rows_u8)(const float* x, size_t n, const ChannelParams& p,
                           size_t k, uint8_t* codes);
  void (*quantize_rows_u16)(const float* x, size_t n, const ChannelParams& p,
                            size_t k, uint16_t* codes);
  void (*quantize_rows_i8)(const float* x, size_t n, const ChannelParams& p,
                           size_t k, int8_t* codes);
  void (*quantize_rows_i16)(const float* x, size_t n, const ChannelParams& p,
                            size_t k, int16_t* codes);
  void (*dequantize_rows_u8)(const uint8_t* codes, size_t n,
                             const ChannelParams& p, size_t k, float* x);
  void (*dequantize_rows_u16)(const uint16_t* codes, size_t n,
                              const ChannelParams& p, size_t k, float* x);
  void (*dequantize_rows_i8)(const int8_t* codes, size_t n,
                             const ChannelParams& p, size_t k, float* x);
  void (*dequantize_rows_i16)(const int16_t* codes, size_t n,
                              const ChannelParams& p, size_t k, float* x);
  // lo[q] and hi[q] take the smallest and largest element at position q
  // (x free of NaN; which of -0.0 and +0.0 they keep is unspecified).
  void (*min_max_rows)(const float* x, size_t n, size_t period, size_t k,
                       float* lo, float* hi);
  // x must be finite; p.period is the number of channels (no repetition):
  // element j goes to the sums of channel (k + j) % p.period.
  void (*accumulate_error_rows)(const float* x, size_t n,
                                const ChannelParams& p, size_t k,
                                const ChannelErrors& sums);
  // Adds the digits of x's keys to counts, as KeyDigits says; x may hold
  // NaN and +-Inf, which are not counted.
  void (*count_key_digits)(const float* x, size_t n, const KeyDigits& d,
                           uint64_t* counts);
  // The same per position of KeyDigitRows, x[0] at position k.
  void (*count_key_digits_rows)(const float* x, size_t n,
                                const KeyDigitRows& rows, size_t k,
                                const KeyDigits* digits, uint64_t* counts);
};

const KernelTable& ScalarKernels();
#if defined(__wasm_simd128__)
const KernelTable& Simd128Kernels();
#endif
// The fastest table this build has.
const KernelTable& DefaultKernels();

}  // namespace wasmquant

#endif  // WASMQUANT_KERNELS_H_
