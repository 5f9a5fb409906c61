// The kernel table this build runs by default: SIMD128 where it was
// compiled in, else scalar.
#include "wasmquant/kernels.h"

namespace wasmquant {

const KernelTable& DefaultKernels() {
#if defined(__wasm_simd128__)
  return Simd128Kernels();
#else
  return ScalarKernels();
#endif
}

}  // namespace wasmquant
