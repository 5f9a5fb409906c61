// calibrationFeed and feedTensor: tensors read from .npy and .safetensors
// files become onnxruntime feeds for the model's inputs, or a RangeError
// that names the input.
import { describe, expect, it } from 'vitest';
import { readNpy, readSafetensors, writeNpy, writeSafetensors } from '../../../web/index.js';
import { calibrationFeed, feedTensor } from '../../../web/models/index.js';

// Silero VAD's inputs, as inspectModel reports them.
const INPUTS = [
  { name: 'input', type: 'float32', dims: ['batch', 'sequence'] },
  { name: 'sr', type: 'int64', dims: [] },
  { name: 'h', type: 'float32', dims: [2, 'batch', 64] },
];

describe('calibrationFeed', () => {
  it('float data as float32, integers widened into the input type', () => {
    const audio = Float64Array.from({ length: 512 }, (_, i) => Math.sin(i / 9));
    const h = new Float32Array(128).fill(0.25);
    const file = writeSafetensors({
      input: { data: audio, shape: [1, 512] },
      sr: { data: Int16Array.of(8000), shape: [] },
      h: { data: h, shape: [2, 1, 64] },
    });
    const feed = calibrationFeed(readSafetensors(file).tensors, INPUTS, 'vad.onnx');
    expect(Object.keys(feed).sort()).toEqual(['h', 'input', 'sr']);
    expect(feed.input.type).toBe('float32');
    expect(feed.input.dims).toEqual([1, 512]);
    expect(feed.input.data).toBeInstanceOf(Float32Array);
    expect(Array.from(feed.input.data)).toEqual(Array.from(Float32Array.from(audio)));
    expect(feed.sr).toEqual({ type: 'int64', data: BigInt64Array.of(8000n), dims: [] });
    expect(Array.from(feed.h.data)).toEqual(Array.from(h));
  });

  it('each mismatch is a RangeError naming the tensor and the input', () => {
    const npy = (data, shape) => readNpy(writeNpy(data, shape));
    const good = { input: npy(new Float32Array(4), [1, 4]), sr: npy(Int16Array.of(16000), []), h: npy(new Float32Array(128), [2, 1, 64]) };
    expect(() => calibrationFeed({ ...good, x: good.sr }, INPUTS, 'vad.onnx')).toThrow(
      new RangeError('tensor "x" is not an input of vad.onnx (its inputs: input, sr, h)'),
    );
    const { h: _, ...noH } = good;
    expect(() => calibrationFeed(noH, INPUTS, 'vad.onnx')).toThrow(new RangeError('no tensor "h" (the inputs of vad.onnx: input, sr, h)'));
    expect(() => calibrationFeed({ ...good, h: npy(new Float32Array(64), [1, 1, 64]) }, INPUTS, 'vad.onnx')).toThrow(
      new RangeError('tensor "h": shape [1,1,64] does not fit input "h" of vad.onnx, [2,?,64]'),
    );
    expect(() => calibrationFeed({ ...good, input: npy(new Int8Array(4), [1, 4]) }, INPUTS)).toThrow(
      /tensor "input": int8 data for float32 input "input"/,
    );
    expect(() => calibrationFeed({ ...good, sr: npy(Float32Array.of(1), []) }, INPUTS)).toThrow(
      /tensor "sr": float32 data for int64 input "sr": give integer data/,
    );
    expect(() => feedTensor(npy(Int16Array.of(1, 300), [2]), { name: 'q', type: 'uint8', dims: [2] })).toThrow(
      new RangeError('element 1 is 300, outside uint8 input "q"'),
    );
    expect(() => feedTensor(npy(Int16Array.of(1), [1]), { name: 's', type: 'string', dims: [1] }, 'm.onnx')).toThrow(/input "s" of m.onnx is string/);
  });
});
