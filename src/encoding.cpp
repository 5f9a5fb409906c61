#include "wasmquant/encoding.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>

namespace wasmquant {

namespace {

// std::to_string prints fixed-point, which turns 1e-30 into "0.000000".
std::string Num(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.9g", v);
  return buffer;
}

}  // namespace

Status ValidateBitwidth(int bitwidth) {
  if (bitwidth < kMinBitwidth || bitwidth > kMaxBitwidth) {
    return Status::RangeError("bitwidth must be an integer from 2 to 16, got " +
                              std::to_string(bitwidth));
  }
  return Status::Ok();
}

Status ValidateMinRange(double min_range) {
  if (!(min_range > 0) || !std::isfinite(min_range)) {
    return Status::RangeError(
        "minRange must be a finite number greater than 0, got " +
        Num(min_range));
  }
  return Status::Ok();
}

namespace {

// The kernels work with float32 copies of scale and 1/scale, so both must be
// finite and non-zero in float32.
Status CheckScale(double scale, const std::string& what) {
  constexpr double kFloatMax = std::numeric_limits<float>::max();
  if (!(scale > 1 / kFloatMax) || !(scale <= kFloatMax)) {
    return Status::RangeError(what +
                              " must be from 2.9e-39 to 3.4e38 (it and its "
                              "inverse finite in float32), got " +
                              Num(scale));
  }
  return Status::Ok();
}

// Half away from zero; zf is never negative here, so this is floor(zf + 0.5).
double RoundHalfAwayFromZero(double v) { return std::round(v); }

}  // namespace

Status ComputeTfEncoding(double lo, double hi, const EncodingOptions& options,
                         Encoding* encoding) {
  Status status = ValidateBitwidth(options.bitwidth);
  if (!status.ok()) return status;
  status = ValidateMinRange(options.min_range);
  if (!status.ok()) return status;
  if (!std::isfinite(lo) || !std::isfinite(hi) || lo > hi) {
    return Status::RangeError(
        "the range must be finite with min <= max, got [" + Num(lo) + ", " +
        Num(hi) + "]");
  }
  hi = std::max(hi, lo + options.min_range);
  // Zero must be on the grid, so the range always contains it.
  if (lo > 0) lo = 0;
  if (hi < 0) hi = 0;
  const int32_t steps = Steps(options.bitwidth);
  const double scale = (hi - lo) / steps;
  status = CheckScale(
      scale, "the scale of the range [" + Num(lo) + ", " + Num(hi) + "]");
  if (!status.ok()) return status;
  double zero_point = RoundHalfAwayFromZero(-lo / scale);
  zero_point = std::min<double>(std::max(zero_point, 0.0), steps);
  const double min = -zero_point * scale;
  if (min < -std::numeric_limits<float>::max() ||
      min + steps * scale > std::numeric_limits<float>::max()) {
    return Status::RangeError(
        "the range [" + Num(lo) + ", " + Num(hi) +
        "] is too wide for float32: shifted onto the grid, an end would "
        "pass +-3.4e38 and dequantize to Infinity");
  }
  encoding->bitwidth = options.bitwidth;
  encoding->offset = -static_cast<int32_t>(zero_point);
  encoding->scale = scale;
  encoding->min = encoding->offset * scale;
  encoding->max = encoding->min + steps * scale;
  encoding->is_symmetric = false;
  return Status::Ok();
}

Status NormalizeGivenEncoding(const Encoding& given, Encoding* encoding) {
  Status status = ValidateBitwidth(given.bitwidth);
  if (!status.ok()) return status;
  const int32_t steps = Steps(given.bitwidth);
  status = CheckScale(given.scale, "encoding.scale");
  if (!status.ok()) return status;
  if (given.offset > 0 || given.offset < -steps) {
    return Status::RangeError("encoding.offset must be an integer from -" +
                              std::to_string(steps) + " to 0 for bitwidth " +
                              std::to_string(given.bitwidth) + ", got " +
                              std::to_string(given.offset));
  }
  *encoding = given;
  encoding->min = given.offset * given.scale;
  encoding->max = encoding->min + steps * given.scale;
  return Status::Ok();
}

}  // namespace wasmquant
