// Mistakes the declarations must reject (tests/js/types.test.js expects
// exactly these errors).
import { quantizeModel } from 'wasmquant/models';
import { createQuantizer } from 'wasmquant';

export async function misuse(bytes: Uint8Array): Promise<void> {
  await quantizeModel({ 'm.onnx': bytes }, { format: 'onnx' });
  const wq = await createQuantizer({ backend: 'gpu' });
  const x: Float32Array = wq.dequantize(new Uint8Array(4), { bitwidth: 8, scale: 1, offset: 0 }, { out: wq.allocTensor(4) });
}
