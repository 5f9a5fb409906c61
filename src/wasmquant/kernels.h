// The per-element kernels. Every backend fills the same table, so tests can
// hold one against the other and the rest of the core never names a backend.
#ifndef WASMQUANT_KERNELS_H_
#define WASMQUANT_KERNELS_H_

#include <cstddef>
#include <cstdint>

#include "wasmquant/encoding.h"

namespace wasmquant {

// float32 copies of an encoding, as the kernels use them. The code of x is
// ROUND(x * inv_scale + bias) + post_shift clamped to [qmin, qmax], where
// ROUND is floor (half-up: bias = zero_point + 0.5) or round-to-nearest-even
// (half-even: ties go to the even code of the encoding's own domain, so
// bias = zero_point for unsigned codes, and 0 with post_shift = zero_point
// for the signed codes of symmetric encodings). code_offset is added on
// output (signed codes are the unsigned ones plus the offset).
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
struct ErrorLanes {
  double sq_error[kErrorLanes];
  double abs_error[kErrorLanes];
  double sq_signal[kErrorLanes];
  float max_abs_error;
  uint64_t clipped;
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
  // x must be finite. Starts from the lanes given (ErrorLanes zeroed first).
  void (*accumulate_error)(const float* x, size_t n, const KernelParams& p,
                           ErrorLanes* lanes);
};

const KernelTable& ScalarKernels();
#if defined(__wasm_simd128__)
const KernelTable& Simd128Kernels();
#endif
// The fastest table this build has.
const KernelTable& DefaultKernels();

}  // namespace wasmquant

#endif  // WASMQUANT_KERNELS_H_
