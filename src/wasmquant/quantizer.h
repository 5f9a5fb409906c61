// Calibration and quantization over a tensor that may arrive in chunks.
// The JS API feeds chunks of a bounded scratch buffer; C++ callers with the
// whole tensor in memory use the one-shot functions at the end.
#ifndef WASMQUANT_QUANTIZER_H_
#define WASMQUANT_QUANTIZER_H_

#include <cstddef>
#include <cstdint>
#include <limits>

#include "wasmquant/encoding.h"
#include "wasmquant/kernels.h"
#include "wasmquant/status.h"

namespace wasmquant {

enum class NonFinite {
  kError = 0,     // the first NaN/Inf is an error naming its index
  kSaturate = 1,  // NaN -> the code of 0.0, +Inf -> qmax, -Inf -> qmin
};

struct QuantizeOptions {
  int bitwidth = 8;
  double min_range = kDefaultMinRange;
  Rounding rounding = Rounding::kHalfUp;
  NonFinite non_finite = NonFinite::kError;
};

// 1 for bitwidths up to 8 (uint8 codes), 2 above (uint16 codes).
inline size_t CodeBytes(int bitwidth) { return bitwidth <= 8 ? 1 : 2; }

// The finite range of a tensor seen chunk by chunk, in order.
class RangeTracker {
 public:
  RangeTracker(const KernelTable& kernels, NonFinite non_finite)
      : kernels_(kernels), non_finite_(non_finite) {}

  Status Add(const float* x, size_t n);
  Status Finish(const EncodingOptions& options, Encoding* encoding) const;

  uint64_t count() const { return count_; }
  uint64_t nonfinite() const { return nonfinite_; }

 private:
  const KernelTable& kernels_;
  NonFinite non_finite_;
  float lo_ = std::numeric_limits<float>::infinity();
  float hi_ = -std::numeric_limits<float>::infinity();
  uint64_t count_ = 0;
  uint64_t nonfinite_ = 0;
};

// Quantizes x[0, n) into codes (uint8 or uint16 per CodeBytes). index_base is
// the index of x[0] in the whole tensor, for error messages. On error nothing
// is written. known_finite skips the NaN/Inf scan for data a RangeTracker has
// already seen whole and found finite.
Status QuantizeChunk(const KernelTable& kernels, const float* x, size_t n,
                     const KernelParams& params, int bitwidth,
                     NonFinite non_finite, size_t index_base, void* codes,
                     bool known_finite = false);

// Rejects codes outside [0, 2^bitwidth - 1] before writing anything.
Status DequantizeChunk(const KernelTable& kernels, const void* codes, size_t n,
                       const KernelParams& params, int bitwidth,
                       size_t index_base, float* x);

// One-shot forms for a tensor already in memory.
Status Calibrate(const KernelTable& kernels, const float* x, size_t n,
                 const QuantizeOptions& options, Encoding* encoding);
Status Quantize(const KernelTable& kernels, const float* x, size_t n,
                const QuantizeOptions& options, Encoding* encoding,
                void* codes);

}  // namespace wasmquant

#endif  // WASMQUANT_QUANTIZER_H_
