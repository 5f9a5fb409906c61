// The public API. Data crosses into wasm memory through one fixed scratch
// area, a chunk at a time, so memory stays bounded whatever the input size,
// and no wasm object or view escapes to the caller. Callers who want no
// copies at all use WasmTensors (tensor.js) for input and output.
import { throwIfError } from './errors.js';
import { BACKENDS, loadModule, simd128Supported } from './loader.js';
import {
  checkChoice,
  checkFiniteNumber,
  checkOptionsObject,
  describe,
  encodingForCore,
  parseOptions,
} from './options.js';
import { DTYPES, WasmTensor } from './tensor.js';

export { simd128Supported };

// 64 Ki elements: 256 KiB of float32 in, the same out; both stay in L2.
const CHUNK = 1 << 16;

function codeDtype(bitwidth) {
  return bitwidth <= 8 ? 'uint8' : 'uint16';
}

// x must be a typed array of the dtype's type, or a WasmTensor of the dtype.
function checkTensor(x, dtype, name) {
  const Type = DTYPES[dtype];
  if (x instanceof WasmTensor) {
    if (x.dtype !== dtype) {
      throw new TypeError(`wasmquant: ${name} must hold ${dtype} values, got a ${x.dtype} WasmTensor`);
    }
  } else if (!(x instanceof Type)) {
    throw new TypeError(
      `wasmquant: ${name} must be a ${Type.name} (or a ${dtype} WasmTensor), got ${describe(x)}`,
    );
  }
  if (x.length === 0) throw new RangeError(`wasmquant: the tensor is empty (${name}.length is 0)`);
  return x;
}

// The caller's output (options.out), checked, or a new typed array.
function outputFor(out, dtype, length) {
  if (out === undefined) return new DTYPES[dtype](length);
  checkTensor(out, dtype, 'options.out');
  if (out.length !== length) {
    throw new RangeError(`wasmquant: options.out has length ${out.length}, expected ${length}`);
  }
  return out;
}

function rejectOut(o, method) {
  if (o.out !== undefined) throw new TypeError(`wasmquant: ${method} takes no options.out`);
}

class Quantizer {
  #m;
  #input; // byte address of CHUNK float32 inputs
  #output; // byte address of CHUNK float32 (or code) outputs

  constructor(module, backend) {
    this.#m = module;
    this.backend = backend;
    this.#input = module._malloc(CHUNK * 8);
    if (!this.#input) throw new Error('wasmquant: could not allocate the 512 KiB scratch area');
    this.#output = this.#input + CHUNK * 4;
    Object.freeze(this);
  }

  // Calls fn(inPtr, outPtr, start, count) over x chunk by chunk. Input comes
  // from x's wasm memory or is copied into the scratch area; output goes to
  // out's wasm memory or through the scratch area into out (null: none).
  // inScratch: x's only chunk is already in the scratch area.
  #stream(x, out, fn, inScratch = false) {
    const m = this.#m;
    const inBase = x instanceof WasmTensor ? x.pointerFor(m) : 0;
    const outBase = out instanceof WasmTensor ? out.pointerFor(m) : 0;
    const inBytes = DTYPES[x.dtype]?.BYTES_PER_ELEMENT ?? x.BYTES_PER_ELEMENT;
    const OutType = out && (DTYPES[out.dtype] ?? out.constructor);
    const chunk = inBase && (out === null || outBase) ? x.length : CHUNK;
    for (let start = 0; start < x.length; start += chunk) {
      const count = Math.min(chunk, x.length - start);
      let inPtr = this.#input;
      if (inBase) {
        inPtr = inBase + start * inBytes;
      } else if (!inScratch) {
        new x.constructor(m.HEAPU8.buffer, this.#input, count).set(x.subarray(start, start + count));
      }
      const outPtr = outBase ? outBase + start * OutType.BYTES_PER_ELEMENT : this.#output;
      fn(inPtr, outPtr, start, count);
      if (out && !outBase) out.set(new OutType(m.HEAPU8.buffer, this.#output, count), start);
    }
  }

  #calibrate(x, o) {
    const tracker = new this.#m.RangeTracker(o.nonFinite);
    try {
      this.#stream(x, null, (inPtr, outPtr, start, count) => throwIfError(tracker.add(inPtr, count)));
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

  // The encoding to use, and whether x is known to be all finite.
  #encodingFor(x, o) {
    return o.encoding === undefined ? this.#calibrate(x, o) : { encoding: this.#given(o), finite: false };
  }

  // A single chunk that calibration copied in is still in the scratch area.
  #stillInScratch(x, o) {
    return o.encoding === undefined && !(x instanceof WasmTensor) && x.length <= CHUNK;
  }

  computeEncoding(min, max, options) {
    const o = parseOptions(options);
    rejectOut(o, 'computeEncoding');
    checkFiniteNumber('min', min);
    checkFiniteNumber('max', max);
    if (min > max) throw new RangeError(`wasmquant: min (${min}) must not be greater than max (${max})`);
    return throwIfError(this.#m.computeEncoding(min, max, o.bitwidth, o.minRange)).encoding;
  }

  quantize(x, options) {
    checkTensor(x, 'float32', 'x');
    const o = parseOptions(options);
    const { encoding, finite } = this.#encodingFor(x, o);
    const codes = outputFor(o.out, codeDtype(encoding.bitwidth), x.length);
    this.#stream(
      x,
      codes,
      (inPtr, outPtr, start, count) =>
        throwIfError(
          this.#m.quantizeChunk(inPtr, count, encoding, o.rounding, o.nonFinite, start, outPtr, finite),
        ),
      this.#stillInScratch(x, o),
    );
    return { codes, encoding };
  }

  dequantize(codes, encoding, options) {
    const o = parseOptions({ ...options, encoding });
    const given = this.#given(o);
    checkTensor(codes, codeDtype(given.bitwidth), `codes for bitwidth ${given.bitwidth}`);
    const out = outputFor(o.out, 'float32', codes.length);
    this.#stream(codes, out, (inPtr, outPtr, start, count) =>
      throwIfError(this.#m.dequantizeChunk(inPtr, count, given, start, outPtr)),
    );
    return out;
  }

  analyze(x, options) {
    checkTensor(x, 'float32', 'x');
    const o = parseOptions(options);
    rejectOut(o, 'analyze');
    const { encoding } = this.#encodingFor(x, o);
    const accumulator = new this.#m.ErrorAccumulator(encoding, o.rounding, o.nonFinite);
    try {
      this.#stream(
        x,
        null,
        (inPtr, outPtr, start, count) => throwIfError(accumulator.add(inPtr, count)),
        this.#stillInScratch(x, o),
      );
      return { encoding, ...accumulator.finish() };
    } finally {
      accumulator.delete();
    }
  }

  // Typed data in wasm memory: fill tensor.data and pass the tensor as input
  // or options.out; free() it when done (or let `using` do so).
  allocTensor(length, dtype = 'float32') {
    return new WasmTensor(this.#m, length, dtype);
  }

  // The wasm heap's top, in bytes: it grows when allocations leak.
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
