// Encodings: docs/spec.md §1-§2. Pure math on a range, in double precision.
#ifndef WASMQUANT_ENCODING_H_
#define WASMQUANT_ENCODING_H_

#include <cstdint>
#include <string>

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
  bool symmetric = false;           // SPEC §3.1: signed codes, offset -2^(b-1)
  bool strict = false;              // symmetric with offset -(2^(b-1) - 1)
  bool unsigned_symmetric = false;  // symmetric on data >= 0: tf with min 0
};

// The element type of the codes of an encoding (SPEC §3.5, §3.1).
enum class CodeType { kU8, kU16, kI8, kI16 };
CodeType CodeTypeOf(const Encoding& encoding);
bool IsStrictSymmetric(const Encoding& encoding);
// The largest code in the unsigned domain (q of x̂ = (q + offset) * scale).
int32_t MaxUnsignedCode(const Encoding& encoding);

inline int32_t Steps(int bitwidth) { return (int32_t{1} << bitwidth) - 1; }

// name: the option as the caller knows it ("encoding.bitwidth" for a given
// encoding).
Status ValidateBitwidth(int bitwidth, const std::string& name = "bitwidth");
Status ValidateMinRange(double min_range);
// Both of the above, and strict only with symmetric.
Status ValidateEncodingOptions(const EncodingOptions& options);

// SPEC §2 steps 2-6 on the finite data range [lo, hi].
Status ComputeTfEncoding(double lo, double hi, const EncodingOptions& options,
                         Encoding* encoding);
// SPEC §3.1 on the finite data range [lo, hi].
Status ComputeSymmetricEncoding(double lo, double hi,
                                const EncodingOptions& options,
                                Encoding* encoding);
// One of the two, as options.symmetric says.
Status ComputeEncoding(double lo, double hi, const EncodingOptions& options,
                       Encoding* encoding);
// SPEC §2 steps 4-6 on a range [lo, hi] that contains 0.
Status NudgeRange(double lo, double hi, int bitwidth, Encoding* encoding);
// SPEC §3.1 for a given absmax (> 0).
Status SymmetricFromAbsmax(double absmax, const EncodingOptions& options,
                           Encoding* encoding);

// Checks an encoding given by a caller (e.g. read from an AIMET file) and
// derives min/max from scale and offset, which are authoritative.
Status NormalizeGivenEncoding(const Encoding& given, Encoding* encoding);

}  // namespace wasmquant

#endif  // WASMQUANT_ENCODING_H_
