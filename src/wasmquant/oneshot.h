// One-shot calibration and quantization of a whole tensor already in memory,
// per tensor: the simple C++ entry points over Calibrator and QuantizeChunk.
#ifndef WASMQUANT_ONESHOT_H_
#define WASMQUANT_ONESHOT_H_

#include <cstddef>
#include <cstdint>

#include "wasmquant/calibrator.h"
#include "wasmquant/encoding.h"
#include "wasmquant/kernels.h"
#include "wasmquant/quantizer.h"
#include "wasmquant/status.h"

namespace wasmquant {

// The options of the one-shot, per-tensor functions below.
struct QuantizeOptions {
  int bitwidth = 8;
  double min_range = kDefaultMinRange;
  Scheme scheme = Scheme::kTf;
  bool symmetric = false;
  bool strict = false;
  bool unsigned_symmetric = false;
  double percentile = 99.99;
  Rounding rounding = Rounding::kHalfUp;
  NonFinite non_finite = NonFinite::kError;

  CalibrationOptions Calibration() const;
};

// Calibrate also tells, if asked, how many elements were NaN/Inf. The forms
// taking CalibrationOptions (per tensor only) are what the JS API calls.
Status Calibrate(const KernelTable& kernels, const float* x, size_t n,
                 const QuantizeOptions& options, Encoding* encoding,
                 uint64_t* nonfinite = nullptr);
Status Quantize(const KernelTable& kernels, const float* x, size_t n,
                const QuantizeOptions& options, Encoding* encoding,
                void* codes);
Status Calibrate(const KernelTable& kernels, const float* x, size_t n,
                 const CalibrationOptions& options, Encoding* encoding,
                 uint64_t* nonfinite = nullptr);
Status Quantize(const KernelTable& kernels, const float* x, size_t n,
                const CalibrationOptions& options, Rounding rounding,
                Encoding* encoding, void* codes);

}  // namespace wasmquant

#endif  // WASMQUANT_ONESHOT_H_
