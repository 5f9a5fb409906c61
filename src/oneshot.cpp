#include "wasmquant/oneshot.h"

#include <vector>

namespace wasmquant {

CalibrationOptions QuantizeOptions::Calibration() const {
  CalibrationOptions c;
  c.scheme = scheme;
  c.encoding.bitwidth = bitwidth;
  c.encoding.min_range = min_range;
  c.encoding.symmetric = symmetric;
  c.encoding.strict = strict;
  c.encoding.unsigned_symmetric = unsigned_symmetric;
  c.non_finite = non_finite;
  c.percentile = percentile;
  return c;
}

Status Calibrate(const KernelTable& kernels, const float* x, size_t n,
                 const CalibrationOptions& options, Encoding* encoding,
                 uint64_t* nonfinite) {
  Status valid = ValidateCalibration(options);
  if (!valid.ok()) return valid;
  CalibrationOptions calibration = options;
  if (calibration.size_hint == 0) calibration.size_hint = n;
  Calibrator calibrator(kernels, calibration);
  for (int pass = 0; pass < calibrator.passes(); ++pass) {
    Status status = calibrator.Add(x, n, 0);
    if (status.ok()) status = calibrator.EndPass();
    if (!status.ok()) return status;
  }
  std::vector<Encoding> encodings;
  Status status = calibrator.Finish(&encodings);
  if (!status.ok()) return status;
  *encoding = encodings[0];
  if (nonfinite != nullptr) *nonfinite = calibrator.nonfinite();
  return Status::Ok();
}

Status Quantize(const KernelTable& kernels, const float* x, size_t n,
                const CalibrationOptions& options, Rounding rounding,
                Encoding* encoding, void* codes) {
  uint64_t nonfinite = 0;
  Status status = Calibrate(kernels, x, n, options, encoding, &nonfinite);
  if (!status.ok()) return status;
  return QuantizeChunk(kernels, x, n, MakeKernelParams(*encoding, rounding),
                       CodeTypeOf(*encoding), options.non_finite, 0, codes,
                       /*known_finite=*/nonfinite == 0);
}

Status Calibrate(const KernelTable& kernels, const float* x, size_t n,
                 const QuantizeOptions& options, Encoding* encoding,
                 uint64_t* nonfinite) {
  return Calibrate(kernels, x, n, options.Calibration(), encoding, nonfinite);
}

Status Quantize(const KernelTable& kernels, const float* x, size_t n,
                const QuantizeOptions& options, Encoding* encoding,
                void* codes) {
  return Quantize(kernels, x, n, options.Calibration(), options.rounding,
                  encoding, codes);
}

}  // namespace wasmquant
