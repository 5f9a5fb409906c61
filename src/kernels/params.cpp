#include "wasmquant/kernels.h"

namespace wasmquant {

KernelParams MakeKernelParams(const Encoding& encoding, Rounding rounding) {
  KernelParams p;
  p.scale = static_cast<float>(encoding.scale);
  p.inv_scale = static_cast<float>(1.0 / encoding.scale);
  p.zero_point = -encoding.offset;
  p.qmin = 0;
  p.qmax = Steps(encoding.bitwidth);
  p.rounding = rounding;
  p.bias = static_cast<float>(p.zero_point) +
           (rounding == Rounding::kHalfUp ? 0.5f : 0.0f);
  return p;
}

const KernelTable& DefaultKernels() {
#if defined(__wasm_simd128__)
  return Simd128Kernels();
#else
  return ScalarKernels();
#endif
}

}  // namespace wasmquant
