// Placeholder re-exports, replaced as the formats land.
export { readNpy, writeNpy } from './npy.js';
export { readSafetensors, writeSafetensors } from './safetensors.js';
export { toAimetEncodings, fromAimetEncodings } from './aimet.js';
