// Encodings: SPEC.md §1-§2. Pure math on a range, in double precision.
#ifndef WASMQUANT_ENCODING_H_
#define WASMQUANT_ENCODING_H_

#include <cstdint>

#include "wasmquant/status.h"

namespace wasmquant {

constexpr int kMinBitwidth = 2;
constexpr int kMaxBitwidth = 16;
constexpr double kDefaultMinRange = 0.01;

enum class Rounding {
  kHalfUp = 0,    // floor(t + 0.5): SNPE, AIMET, TF FakeQuant
  kHalfEven = 1,  // ties to even: ONNX QuantizeLinear
};

// QNN/AIMET convention: x̂ = (q + offset) * scale; the code of 0.0 is -offset.
struct Encoding {
  int bitwidth = 8;
  double min = 0;
  double max = 0;
  double scale = 0;
  int32_t offset = 0;
  bool is_symmetric = false;
};

struct EncodingOptions {
  int bitwidth = 8;
  double min_range = kDefaultMinRange;
};

inline int32_t Steps(int bitwidth) { return (int32_t{1} << bitwidth) - 1; }

Status ValidateBitwidth(int bitwidth);
Status ValidateMinRange(double min_range);

// SPEC §2 steps 2-6 on the finite data range [lo, hi].
Status ComputeTfEncoding(double lo, double hi, const EncodingOptions& options,
                         Encoding* encoding);

// Checks an encoding given by a caller (e.g. read from an AIMET file) and
// derives min/max from scale and offset, which are authoritative.
Status NormalizeGivenEncoding(const Encoding& given, Encoding* encoding);

}  // namespace wasmquant

#endif  // WASMQUANT_ENCODING_H_
