// The Chromium half of bench/models.js: the page reads the model as a page
// reads a dropped file (here: fetched from the local server), quantizes it,
// and makes the downloads' Blob; the yardstick reads and makes a Blob of
// the same bytes.
import { createQuantizer } from '../web/index.js';
import { quantizeModel } from '../web/models/index.js';

const quantizer = await createQuantizer();

window.runBench = async (variant, options) => {
  const t0 = performance.now();
  const bytes = new Uint8Array(await (await fetch('/model.onnx', { cache: 'no-store' })).arrayBuffer());
  let blob;
  if (variant === 'yardstick') {
    blob = new Blob([bytes]);
  } else {
    const result = await quantizeModel({ 'model.onnx': bytes }, { quantizer, ...options });
    blob = new Blob(Object.values(result.files));
  }
  await blob.arrayBuffer();
  return performance.now() - t0;
};
window.benchReady = true;
