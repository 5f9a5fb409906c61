#include "wasmquant/encoding.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace wasmquant {

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
        std::to_string(min_range));
  }
  return Status::Ok();
}

namespace {

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
        "the range must be finite with min <= max, got [" + std::to_string(lo) +
        ", " + std::to_string(hi) + "]");
  }
  hi = std::max(hi, lo + options.min_range);
  // Zero must be on the grid, so the range always contains it.
  if (lo > 0) lo = 0;
  if (hi < 0) hi = 0;
  const int32_t steps = Steps(options.bitwidth);
  const double scale = (hi - lo) / steps;
  if (!(scale > 0) || !std::isfinite(scale)) {
    return Status::RangeError("the range [" + std::to_string(lo) + ", " +
                              std::to_string(hi) +
                              "] is too wide to quantize in float32");
  }
  double zero_point = RoundHalfAwayFromZero(-lo / scale);
  zero_point = std::min<double>(std::max(zero_point, 0.0), steps);
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
  if (!(given.scale > 0) || !std::isfinite(given.scale) ||
      !std::isfinite(static_cast<float>(1 / given.scale))) {
    return Status::RangeError(
        "encoding.scale must be a finite number greater than 0 whose inverse "
        "is finite in float32, got " +
        std::to_string(given.scale));
  }
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
