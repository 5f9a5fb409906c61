// Where the page and its worker load the runtimes from: the repository's
// node_modules, served with the page, so nothing is fetched elsewhere.
export const ORT_DIR = '/node_modules/onnxruntime-web/dist/';
export const ORT_URL = `${ORT_DIR}ort.wasm.bundle.min.mjs`;
export const TF_URL = '/node_modules/@tensorflow/tfjs/dist/tf.fesm.min.js';
