// NaN/Inf handling shared by calibration, quantization and the report.
#ifndef WASMQUANT_NONFINITE_H_
#define WASMQUANT_NONFINITE_H_

#include <cstddef>

#include "wasmquant/status.h"

namespace wasmquant {

// The RangeError for the first non-finite element, at its index in the tensor.
Status NonFiniteError(uint64_t index, float value);

// Index of the first NaN/Inf in x[0, n), or n.
size_t FirstNonFinite(const float* x, size_t n);

}  // namespace wasmquant

#endif  // WASMQUANT_NONFINITE_H_
