// The public API. Data crosses into wasm memory through one fixed scratch
// area, a chunk at a time, so memory stays bounded whatever the input size,
// and no wasm object or view escapes to the caller.
import { throwIfError } from './errors.js';
import { BACKENDS, loadModule, simd128Supported } from './loader.js';
import {
  checkChoice,
  checkFiniteNumber,
  checkOptionsObject,
  encodingForCore,
  parseOptions,
} from './options.js';

export { simd128Supported };

// 64 Ki elements: 256 KiB of float32 in, the same out; both stay in L2.
const CHUNK = 1 << 16;

// float32 data that lives in wasm memory, for callers who fill it directly
// and so skip the copy into the scratch area.
class WasmTensor {
  #m;
  #ptr;

  constructor(module, length) {
    if (!Number.isSafeInteger(length) || length <= 0) {
      throw new RangeError(`wasmquant: tensor length must be a positive integer, got ${length}`);
    }
    const ptr = length <= 0x3fffffff ? module._malloc(length * 4) : 0;
    if (!ptr) {
      throw new RangeError(
        `wasmquant: cannot allocate ${length} float32 values in wasm memory (4 GiB at most in all)`,
      );
    }
    this.#m = module;
    this.#ptr = ptr;
    this.length = length;
  }

  // A fresh view each time: an older one detaches when wasm memory grows.
  get data() {
    this.#check();
    return new Float32Array(this.#m.HEAPU8.buffer, this.#ptr, this.length);
  }

  get freed() {
    return this.#ptr === 0;
  }

  pointerFor(module) {
    this.#check();
    if (module !== this.#m) throw new Error('wasmquant: this tensor belongs to another quantizer');
    return this.#ptr;
  }

  free() {
    if (this.#ptr !== 0) this.#m._free(this.#ptr);
    this.#ptr = 0;
  }

  [Symbol.dispose ?? Symbol.for('Symbol.dispose')]() {
    this.free();
  }

  #check() {
    if (this.#ptr === 0) throw new Error('wasmquant: this tensor has been freed');
  }
}

function checkFloat32(x, name = 'x') {
  if (x instanceof WasmTensor) return x;
  if (!(x instanceof Float32Array)) {
    const got = x === null ? 'null' : x?.constructor?.name ?? typeof x;
    throw new TypeError(
      `wasmquant: ${name} must be a Float32Array, got ${got}; convert with Float32Array.from(...)`,
    );
  }
  if (x.length === 0) throw new RangeError(`wasmquant: the tensor is empty (${name}.length is 0)`);
  return x;
}

function codeArrayType(bitwidth) {
  return bitwidth <= 8 ? Uint8Array : Uint16Array;
}

class Quantizer {
  #m;
  #input; // byte address of CHUNK float32 inputs
  #output; // byte address of CHUNK float32 (or code) outputs

  constructor(module, backend) {
    this.#m = module;
    this.backend = backend;
    Object.freeze(this);
    this.#input = module._malloc(CHUNK * 8);
    if (!this.#input) throw new Error('wasmquant: could not allocate the 512 KiB scratch area');
    this.#output = this.#input + CHUNK * 4;
  }

  // Calls fn(pointer, start, count) for each chunk of x, after copying it
  // into the input scratch unless it already lives in wasm memory.
  #eachChunk(x, fn) {
    const base = x instanceof WasmTensor ? x.pointerFor(this.#m) : 0;
    for (let start = 0; start < x.length; start += CHUNK) {
      const count = Math.min(CHUNK, x.length - start);
      if (base) {
        fn(base + start * 4, start, count);
      } else {
        this.#m.HEAPF32.set(x.subarray(start, start + count), this.#input >>> 2);
        fn(this.#input, start, count);
      }
    }
  }

  // Whether the last chunk of a calibration pass is still where the next
  // pass would put it, so a one-chunk tensor is copied in only once.
  #stillInScratch(x, o) {
    return o.encoding === undefined && x.length <= CHUNK;
  }

  #calibrate(x, o) {
    const tracker = new this.#m.RangeTracker(o.nonFinite);
    try {
      this.#eachChunk(x, (ptr, start, count) => throwIfError(tracker.add(ptr, count)));
      const result = throwIfError(tracker.finish(o.bitwidth, o.minRange));
      return { encoding: result.encoding, finite: tracker.nonfinite() === 0 };
    } finally {
      tracker.delete();
    }
  }

  #given(o) {
    const encoding = throwIfError(this.#m.normalizeEncoding(encodingForCore(o.encoding))).encoding;
    if (o.bitwidthGiven && o.bitwidth !== encoding.bitwidth) {
      throw new RangeError(
        `wasmquant: bitwidth ${o.bitwidth} conflicts with encoding.bitwidth ${encoding.bitwidth}; give one of them`,
      );
    }
    return encoding;
  }

  computeEncoding(min, max, options) {
    const o = parseOptions(options);
    checkFiniteNumber('min', min);
    checkFiniteNumber('max', max);
    if (min > max) throw new RangeError(`wasmquant: min (${min}) must not be greater than max (${max})`);
    return throwIfError(this.#m.computeEncoding(min, max, o.bitwidth, o.minRange)).encoding;
  }

  quantize(x, options) {
    checkFloat32(x);
    const o = parseOptions(options);
    let encoding;
    let finite = false;
    if (o.encoding !== undefined) {
      encoding = this.#given(o);
    } else {
      ({ encoding, finite } = this.#calibrate(x, o));
    }
    const Codes = codeArrayType(encoding.bitwidth);
    const codes = new Codes(x.length);
    const quantizeChunk = (ptr, start, count) => {
      throwIfError(
        this.#m.quantizeChunk(ptr, count, encoding, o.rounding, o.nonFinite, start, this.#output, finite),
      );
      codes.set(new Codes(this.#m.HEAPU8.buffer, this.#output, count), start);
    };
    if (this.#stillInScratch(x, o)) {
      quantizeChunk(this.#pointerOf(x), 0, x.length);
    } else {
      this.#eachChunk(x, quantizeChunk);
    }
    return { codes, encoding };
  }

  dequantize(codes, encoding, options) {
    const o = parseOptions({ ...options, encoding });
    const given = this.#given(o);
    const Codes = codeArrayType(given.bitwidth);
    if (!(codes instanceof Codes)) {
      const got = codes === null ? 'null' : codes?.constructor?.name ?? typeof codes;
      throw new TypeError(
        `wasmquant: codes for bitwidth ${given.bitwidth} must be a ${Codes.name}, got ${got}`,
      );
    }
    if (codes.length === 0) throw new RangeError('wasmquant: the tensor is empty (codes.length is 0)');
    const out = new Float32Array(codes.length);
    for (let start = 0; start < codes.length; start += CHUNK) {
      const count = Math.min(CHUNK, codes.length - start);
      new Codes(this.#m.HEAPU8.buffer, this.#input, count).set(codes.subarray(start, start + count));
      throwIfError(this.#m.dequantizeChunk(this.#input, count, given, start, this.#output));
      out.set(new Float32Array(this.#m.HEAPU8.buffer, this.#output, count), start);
    }
    return out;
  }

  analyze(x, options) {
    checkFloat32(x);
    const o = parseOptions(options);
    const encoding = o.encoding !== undefined ? this.#given(o) : this.#calibrate(x, o).encoding;
    const accumulator = new this.#m.ErrorAccumulator(encoding, o.rounding, o.nonFinite);
    try {
      const accumulate = (ptr, start, count) => throwIfError(accumulator.add(ptr, count));
      if (this.#stillInScratch(x, o)) {
        accumulate(this.#pointerOf(x), 0, x.length);
      } else {
        this.#eachChunk(x, accumulate);
      }
      return { encoding, ...accumulator.finish() };
    } finally {
      accumulator.delete();
    }
  }

  #pointerOf(x) {
    return x instanceof WasmTensor ? x.pointerFor(this.#m) : this.#input;
  }

  // A float32 tensor in wasm memory: fill tensor.data, pass the tensor to
  // quantize/analyze, then free() it (or let `using` do so).
  allocTensor(length) {
    return new WasmTensor(this.#m, length);
  }

  // Bytes of wasm heap in use (the break); for leak checks.
  heapBytes() {
    return this.#m.heapTop();
  }
}

export async function createQuantizer(options) {
  const { backend, wasmUrl } = checkOptionsObject(options, ['backend', 'wasmUrl'], 'createQuantizer options');
  if (backend !== undefined) checkChoice('backend', backend, BACKENDS);
  const chosen = backend ?? (simd128Supported() ? 'simd128' : 'scalar');
  return new Quantizer(await loadModule(chosen, wasmUrl), chosen);
}
