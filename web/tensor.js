// Typed data that lives in wasm memory, for callers who fill or read it in
// place and so skip the copies through the scratch area.

export const DTYPES = Object.freeze({
  float32: Float32Array,
  uint8: Uint8Array,
  uint16: Uint16Array,
  int8: Int8Array,
  int16: Int16Array,
});

const MAX_BYTES = 2 ** 32 - 2 ** 16;

export class WasmTensor {
  #m;
  #ptr;

  constructor(module, length, dtype) {
    const Type = DTYPES[dtype];
    if (!Type) {
      const names = Object.keys(DTYPES)
        .map((d) => `'${d}'`)
        .join(', ');
      throw new RangeError(`wasmquant: tensor dtype must be one of ${names}, got ${String(dtype)}`);
    }
    if (!Number.isSafeInteger(length) || length <= 0) {
      throw new RangeError(`wasmquant: tensor length must be a positive integer, got ${length}`);
    }
    const bytes = length * Type.BYTES_PER_ELEMENT;
    const ptr = bytes < MAX_BYTES ? module._malloc(bytes) : 0;
    if (!ptr) {
      throw new RangeError(`wasmquant: cannot allocate ${length} ${dtype} values (${bytes} bytes) in wasm memory, which holds 4 GiB at most`);
    }
    this.#m = module;
    this.#ptr = ptr;
    this.length = length;
    this.dtype = dtype;
  }

  // A fresh view each time: an older one detaches when wasm memory grows.
  get data() {
    this.#check();
    return new DTYPES[this.dtype](this.#m.HEAPU8.buffer, this.#ptr, this.length);
  }

  get freed() {
    return this.#ptr === 0;
  }

  // The byte address, for the quantizer that owns this tensor only.
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
