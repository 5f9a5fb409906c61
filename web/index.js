// The public API. Data crosses into wasm memory through one fixed scratch
// area, a chunk at a time, so memory stays bounded whatever the input size,
// and no wasm object or view escapes to the caller. Callers who want no
// copies at all use WasmTensors (tensor.js) for input and output.
import { readableError, throwIfError, throwIfFailed, withReadableErrors } from './errors.js';
import { BACKENDS, loadModule, simd128Supported } from './loader.js';
import { channelLayout, checkChoice, checkFiniteNumber, checkOptionsObject, describe, encodingForCore, parseOptions } from './options.js';
import { Calibration } from './calibration.js';
import { ANALYZE_BATCHES, QUANTIZE_MEASURED } from './internal.js';
import { EncodingTable, readChannelReports, readEncodingRows, ROW_BYTES, withEncodingRows } from './rows.js';
import { checkPackable, packNibbles, unpackNibbles } from './pack.js';
import { streamSource } from './stream.js';
import { DTYPES, WasmTensor } from './tensor.js';

export { simd128Supported };

// 64 Ki elements: 256 KiB of float32 in, the same out; both stay in L2.
const CHUNK = 1 << 16;

const PER_TENSOR = Object.freeze({ channels: 1, inner: 0, perChannel: false });

function checkStreamLength(length, layout) {
  if (length === 0) throw new RangeError('wasmquant: the tensor is empty (the stream held no values)');
  if (layout.length !== undefined && length !== layout.length) {
    throw new RangeError(`wasmquant: the stream held ${length} values, but shape says ${layout.length}`);
  }
}

// A stream's length is known only at its end: the layout carries the
// shape's element count, checked then.
function streamLayout(o) {
  const layout = channelLayout(o);
  return o.shape === undefined ? layout : { ...layout, length: Array.from(o.shape).reduce((a, b) => a * b, 1) };
}

// Symmetric encodings have signed codes (SPEC §3.1).
// The core's EncodingOptions.
function encodingOptions(o) {
  return { bitwidth: o.bitwidth, minRange: o.minRange, symmetric: o.symmetric, strict: o.strict, unsignedSymmetric: o.unsignedSymmetric };
}

function codeDtype(encoding) {
  const bits = encoding.bitwidth <= 8 ? 8 : 16;
  return `${encoding.isSymmetric ? 'int' : 'uint'}${bits}`;
}

// x must be a typed array of the dtype's type, or a WasmTensor of the dtype.
function checkTensor(x, dtype, name) {
  const Type = DTYPES[dtype];
  if (x instanceof WasmTensor) {
    if (x.dtype !== dtype) {
      throw new TypeError(`wasmquant: ${name} must hold ${dtype} values, got a ${x.dtype} WasmTensor`);
    }
  } else if (!(x instanceof Type)) {
    throw new TypeError(`wasmquant: ${name} must be a ${Type.name} (or a ${dtype} WasmTensor), got ${describe(x)}`);
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

function checkRereadable(source) {
  if (!source.rereadable) {
    throw new TypeError(
      'wasmquant: calibrating reads the data more than once: pass a Blob or a function returning a fresh iterable, or give an encoding',
    );
  }
}

// In-memory data is a source too: re-readable, one chunk.
const memorySource = (x) => ({ rereadable: true, chunk: x });

// fn(value) now, or once value resolves: one code path serves the
// synchronous in-memory calls and the streamed ones.
const after = (value, fn) => (value instanceof Promise ? value.then(fn) : fn(value));

// use(resource), the core object deleted when it is done: now, or once the
// promise use returned settles.
function using(resource, use) {
  let result;
  try {
    result = use(resource);
  } catch (e) {
    resource.delete();
    throw e;
  }
  if (!(result instanceof Promise)) {
    resource.delete();
    return result;
  }
  return result.finally(() => resource.delete());
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
  // base: the index of x[0] in the whole tensor (streams come in pieces).
  // In-memory data goes in one call, which streams best (the core cuts it
  // into cache-sized chunks where several consumers share a pass).
  #stream(x, out, fn, { inScratch = false, base = 0 } = {}) {
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
      fn(inPtr, outPtr, base + start, count);
      if (out && !outBase) out.set(new OutType(m.HEAPU8.buffer, this.#output, count), start);
    }
  }

  // Runs every calibration pass over the source (read once per pass); the
  // encodings, one per channel.
  #calibrate(source, o, layout) {
    checkRereadable(source);
    const calibrator = new this.#m.Calibrator(this.#calibrationOptions(o, layout, source.chunk?.length ?? layout.length));
    return using(calibrator, (c) => after(this.#runPasses(c, source, [layout]), () => this.#finish(c, layout)));
  }

  #finish(calibrator, layout) {
    throwIfError(calibrator.finish());
    const encodings = readEncodingRows(this.#m, calibrator.encodingRows(), layout.channels);
    return { encodings, finite: calibrator.nonfinite() === 0 };
  }

  // Every pass of `passes` (a Calibrator or an AnalysisSet) over the source;
  // synchronous for memory, a promise for a stream.
  #runPasses(passes, source, layouts) {
    const from = (pass) =>
      pass === passes.passes()
        ? undefined
        : after(this.#readPass(passes, source, layouts, pass), () => {
            throwIfError(passes.endPass());
            return from(pass + 1);
          });
    return from(0);
  }

  // One read of the source into `passes`. A tensor in memory goes in one
  // chunk, still in the scratch area after pass 0 if it fits.
  #readPass(passes, source, layouts, pass) {
    const x = source.chunk;
    if (x) return this.#feed(passes, x, 0, pass > 0 && this.#fitsScratch(x));
    return this.#eachStreamChunk(source, layouts, (chunk, base) => this.#feed(passes, chunk, base, false));
  }

  #feed(passes, x, base, inScratch) {
    this.#stream(x, null, (inPtr, outPtr, start, count) => throwIfFailed(passes.add(inPtr, count, start), passes), {
      base,
      inScratch,
    });
  }

  // Calls fn(chunk, base) for each chunk of one read of the source; checks
  // the total length against the shapes, if any.
  async #eachStreamChunk(source, layouts, fn) {
    let base = 0;
    for await (const x of source.open()) {
      if (x.length === 0) continue;
      fn(x, base);
      base += x.length;
    }
    for (const layout of layouts) checkStreamLength(base, layout);
  }

  // The core's CalibrationOptions for a Calibrator or an AnalysisSet, which
  // the core checks first (its constructors allocate per channel).
  #calibrationOptions(o, layout, length) {
    const options = this.#coreOptions(o, layout, length);
    throwIfError(this.#m.validateCalibration(options));
    return options;
  }

  // The core's CalibrationOptions (a value_object of bindings/embind.cpp).
  // length: the tensor's, if known (it picks the percentile search's digits).
  #coreOptions(o, layout, length = 0) {
    const m = this.#m;
    return {
      scheme: m.Scheme[o.scheme],
      encoding: encodingOptions(o),
      nonFinite: m.NonFinite[o.nonFinite],
      percentile: o.percentile,
      layout: { channels: layout.channels, inner: layout.inner },
      sizeHint: length,
    };
  }

  #rounding(o) {
    return this.#m.Rounding[o.rounding];
  }

  #nonFinite(o) {
    return this.#m.NonFinite[o.nonFinite];
  }

  // The caller's encodings (one, or one per channel), checked by the core.
  #given(o, layout) {
    const perChannel = Array.isArray(o.encoding);
    const list = perChannel ? o.encoding : [o.encoding];
    if (perChannel !== layout.perChannel) {
      throw new RangeError(
        perChannel
          ? 'wasmquant: an array of encodings is one per channel: give shape and axis too'
          : `wasmquant: per-channel quantization (axis ${layout.axis}) needs an array of ${layout.channels} encodings`,
      );
    }
    if (list.length !== layout.channels) {
      throw new RangeError(`wasmquant: ${list.length} encodings given for ${layout.channels} channels`);
    }
    const raw = list.map((e, i) => {
      const name = perChannel ? `encoding[${i}]` : 'encoding';
      const core = encodingForCore(e, name);
      if (!core.range) return core;
      const result = this.#m.computeEncoding(core.min, core.max, encodingOptions({ ...o, bitwidth: core.bitwidth, symmetric: core.isSymmetric }));
      if (result.kind !== 0 && perChannel) result.message = `${name}: ${result.message}`;
      return throwIfError(result).encoding;
    });
    const encodings = withEncodingRows(this.#m, raw, (ptr, n) => {
      const status = this.#m.normalizeEncodings(ptr, n);
      if (status.kind !== 0 && perChannel) status.message = `encoding[${status.index}]: ${status.message}`;
      throwIfError(status);
      return readEncodingRows(this.#m, ptr, n);
    });
    if (o.bitwidthGiven && encodings.some((e) => e.bitwidth !== o.bitwidth)) {
      throw new RangeError(`wasmquant: bitwidth ${o.bitwidth} conflicts with the encoding's bitwidth ${encodings[0].bitwidth}; give one of them`);
    }
    return encodings;
  }

  // The encodings to use, and whether x is known to be all finite.
  #encodingsFor(x, o, layout) {
    if (o.encoding === undefined) return this.#calibrate(memorySource(x), o, layout);
    const encodings = this.#given(o, layout);
    // With the caller's own output, an error must leave it untouched, so the
    // data is checked before anything is written.
    const check = o.out !== undefined && o.nonFinite === 'error';
    if (check) this.#calibrate(memorySource(x), parseOptions(), PER_TENSOR);
    return { encodings, finite: check };
  }

  // A tensor of one chunk that an earlier pass copied in is still there.
  #fitsScratch(x) {
    return !(x instanceof WasmTensor) && x.length <= CHUNK;
  }

  #channelQuantizer(encodings, layout, rounding) {
    return withEncodingRows(this.#m, encodings, (ptr, n) => this.#channelQuantizerOfRows(ptr, n, layout, rounding));
  }

  #channelQuantizerOfRows(ptr, n, layout, rounding) {
    const q = new this.#m.ChannelQuantizer(ptr, n, { channels: layout.channels, inner: layout.inner }, this.#m.Rounding[rounding]);
    const status = q.check();
    if (status.kind !== 0) q.delete();
    throwIfError(status);
    return q;
  }

  computeEncoding(min, max, options) {
    const o = parseOptions(options);
    rejectOut(o, 'computeEncoding');
    if (o.scheme !== 'tf' || o.shape !== undefined || o.pack) {
      throw new RangeError(
        "wasmquant: computeEncoding makes a 'tf' or symmetric encoding from a range; tf_enhanced, percentile, per-channel and pack need the data: use quantize or analyze",
      );
    }
    checkFiniteNumber('min', min);
    checkFiniteNumber('max', max);
    if (min > max) throw new RangeError(`wasmquant: min (${min}) must not be greater than max (${max})`);
    return throwIfError(this.#m.computeEncoding(min, max, encodingOptions(o))).encoding;
  }

  quantize(x, options) {
    checkTensor(x, 'float32', 'x');
    const o = parseOptions(options);
    const layout = channelLayout(o, x.length);
    if (o.pack && o.out !== undefined) {
      throw new TypeError('wasmquant: pack returns new packed codes; drop options.out');
    }
    if (o.encoding === undefined && !layout.perChannel && this.#fitsScratch(x) && !(o.out instanceof WasmTensor)) {
      return this.#quantizeSmall(x, o, layout);
    }
    const { encodings, finite } = this.#encodingsFor(x, o, layout);
    if (o.pack) checkPackable(encodings[0]);
    const codes = outputFor(o.out, codeDtype(encodings[0]), x.length);
    const q = this.#channelQuantizer(encodings, layout, o.rounding);
    const nonFinite = this.#nonFinite(o);
    try {
      this.#stream(x, codes, (inPtr, outPtr, start, count) => throwIfFailed(q.quantize(inPtr, count, nonFinite, start, outPtr, finite), q), {
        inScratch: this.#fitsScratch(x) && o.encoding === undefined,
      });
    } finally {
      q.delete();
    }
    const encoding = layout.perChannel ? encodings : encodings[0];
    return { codes: o.pack ? packNibbles(codes, layout) : codes, encoding };
  }

  // One chunk, per tensor, calibrated: one call into the core.
  #quantizeSmall(x, o, layout) {
    const m = this.#m;
    new Float32Array(m.HEAPU8.buffer, this.#input, x.length).set(x);
    const { encoding } = throwIfError(
      m.quantizeTensor(this.#input, x.length, this.#coreOptions(o, PER_TENSOR, x.length), this.#rounding(o), this.#output),
    );
    if (o.pack) checkPackable(encoding);
    const Codes = DTYPES[codeDtype(encoding)];
    const codes = outputFor(o.out, codeDtype(encoding), x.length);
    codes.set(new Codes(m.HEAPU8.buffer, this.#output, x.length));
    return { codes: o.pack ? packNibbles(codes, layout) : codes, encoding };
  }

  dequantize(codes, encoding, options) {
    const o = parseOptions({ ...options, encoding });
    const layout = channelLayout(o, o.pack ? undefined : codes?.length);
    const encodings = this.#given(o, layout);
    const dtype = codeDtype(encodings[0]);
    if (o.pack) {
      checkPackable(encodings[0]);
      codes = unpackNibbles(codes, o, layout, dtype);
    }
    checkTensor(codes, dtype, `codes of this encoding (bitwidth ${encodings[0].bitwidth})`);
    const out = outputFor(o.out, 'float32', codes.length);
    const q = this.#channelQuantizer(encodings, layout, o.rounding);
    try {
      this.#stream(codes, out, (inPtr, outPtr, start, n) => throwIfFailed(q.dequantize(inPtr, n, start, outPtr), q));
    } finally {
      q.delete();
    }
    return out;
  }

  analyze(x, options) {
    checkTensor(x, 'float32', 'x');
    return this.#analyzeAll(memorySource(x), [this.#analysisPlan(options, 'analyze', x.length)])[0];
  }

  // One report per options object, as analyze gives each, from shared passes
  // over the data.
  analyzeMany(x, optionsList) {
    checkTensor(x, 'float32', 'x');
    return this.#analyzeAll(memorySource(x), this.#analysisPlans(optionsList, 'analyzeMany', x.length));
  }

  // The reports of the plans from shared passes over the source.
  #analyzeAll(source, plans) {
    return using(this.#analysisSet(plans), (set) => {
      if (set.passes() > 1) checkRereadable(source);
      return after(
        this.#runPasses(
          set,
          source,
          plans.map((p) => p.layout),
        ),
        () => this.#reportsOf(set, plans),
      );
    });
  }

  // Calibrates x (options without encoding, out or pack), reports on its
  // round trip and quantizes it with the encodings the analysis made, which
  // stay rows: a weight quantized in blocks has a million of them.
  // into: where to put the results instead of new arrays, for a caller that
  // quantizes a weight in many calls: { codes: a typed array of x.length and
  // the codes' type, table: an EncodingTable, row: where the rows go in it }.
  [QUANTIZE_MEASURED](x, options, into = {}) {
    checkTensor(x, 'float32', 'x');
    const plan = this.#analysisPlan(options, 'quantize', x.length);
    const { o, layout } = plan;
    if (plan.encodings.length > 0 || o.pack) throw new TypeError('wasmquant: a measured quantize calibrates: no encoding or pack');
    const set = this.#analysisSet([plan]);
    try {
      this.#runPasses(set, memorySource(x), [layout]);
      const rows = set.encodingRows(0);
      const encodings = into.table ? into.table.readAt(this.#m, rows, layout.channels, into.row) : EncodingTable.read(this.#m, rows, layout.channels);
      const report = set.total(0);
      const Codes = DTYPES[codeDtype(encodings.at(0))];
      if (into.codes && !(into.codes instanceof Codes && into.codes.length === x.length)) {
        throw new TypeError(`wasmquant: internal: codes go into a ${Codes.name} of length ${x.length}`);
      }
      const codes = into.codes ?? new Codes(x.length);
      const q = this.#channelQuantizerOfRows(rows, layout.channels, layout, o.rounding);
      const nonFinite = this.#nonFinite(o);
      try {
        const finite = report.nonFinite === 0;
        this.#stream(x, codes, (inPtr, outPtr, start, count) => throwIfFailed(q.quantize(inPtr, count, nonFinite, start, outPtr, finite), q));
      } finally {
        q.delete();
      }
      return { codes, encodings, report };
    } finally {
      set.delete();
    }
  }

  // analyze's report fed batch by batch, as createCalibrator is: finish()
  // gives the report of the batches as one tensor.
  [ANALYZE_BATCHES](options) {
    const plan = this.#analysisPlan(options, 'analyze');
    const set = this.#analysisSet([plan]);
    const core = {
      state: set,
      feed: (x, base) => this.#feed(set, x, base, false),
      finish: () => this.#reportsOf(set, [plan])[0],
    };
    return new Calibration(core, undefined);
  }

  // What one options object asks of an analysis; length undefined: a stream.
  #analysisPlan(options, method, length) {
    const o = parseOptions(options);
    rejectOut(o, method);
    const layout = length === undefined ? streamLayout(o) : channelLayout(o, length);
    const encodings = o.encoding === undefined ? [] : this.#given(o, layout);
    // The core's checks run here, so analyzeMany can say which options failed.
    return { o, layout, encodings, options: this.#calibrationOptions(o, layout, length ?? layout.length) };
  }

  #analysisPlans(optionsList, method, length) {
    if (!Array.isArray(optionsList)) {
      throw new TypeError(`wasmquant: ${method} takes an array of options objects, got ${describe(optionsList)}`);
    }
    return optionsList.map((options, i) => {
      try {
        return this.#analysisPlan(options, method, length);
      } catch (e) {
        e.message = e.message.replace(/^wasmquant: /, `wasmquant: ${method} options[${i}]: `);
        throw e;
      }
    });
  }

  // The given encodings of every plan go in as one block of rows.
  #analysisSet(plans) {
    return withEncodingRows(
      this.#m,
      plans.flatMap((p) => p.encodings),
      (ptr) => {
        let row = 0;
        return new this.#m.AnalysisSet(
          plans.map(({ o, options, encodings }) => {
            const rows = ptr + row * ROW_BYTES;
            row += encodings.length;
            return { options, rounding: this.#rounding(o), rows, count: encodings.length };
          }),
        );
      },
    );
  }

  #reportsOf(set, plans) {
    return plans.map(({ layout }, i) => {
      const encodings = readEncodingRows(this.#m, set.encodingRows(i), layout.channels);
      if (!layout.perChannel) return { encoding: encodings[0], ...set.total(i) };
      const channels = readChannelReports(this.#m, set.channelRows(i), encodings);
      return { encoding: encodings, ...set.total(i), channels };
    });
  }

  // Streaming (large tensors): wasm memory stays at the fixed scratch size.
  // Resolves once calibrated, to { encoding, chunks }: chunks is an async
  // iterable of { codes, start }, quantized as it is read.
  async quantizeStream(source, options) {
    const o = parseOptions(options);
    if (o.out !== undefined || o.pack) throw new TypeError('wasmquant: quantizeStream takes neither out nor pack');
    const input = streamSource(source);
    const layout = streamLayout(o);
    const { encodings, finite } =
      o.encoding === undefined ? await this.#calibrate(input, o, layout) : { encodings: this.#given(o, layout), finite: false };
    const Codes = DTYPES[codeDtype(encodings[0])];
    const nonFinite = this.#nonFinite(o);
    const self = this;
    async function* chunks() {
      const q = self.#channelQuantizer(encodings, layout, o.rounding);
      try {
        let base = 0;
        for await (const x of input.open()) {
          if (x.length === 0) continue;
          const codes = new Codes(x.length);
          self.#stream(x, codes, (inPtr, outPtr, start, count) => throwIfFailed(q.quantize(inPtr, count, nonFinite, start, outPtr, finite), q), {
            base,
          });
          yield { codes, start: base };
          base += x.length;
        }
        checkStreamLength(base, layout);
      } catch (e) {
        throw readableError(e);
      } finally {
        q.delete();
      }
    }
    return { encoding: layout.perChannel ? encodings : encodings[0], chunks: chunks() };
  }

  // The report of SPEC §4 over a stream source.
  async analyzeStream(source, options) {
    const plans = [this.#analysisPlan(options, 'analyzeStream')];
    return (await this.#analyzeAll(streamSource(source), plans))[0];
  }

  async analyzeManyStream(source, optionsList) {
    const plans = this.#analysisPlans(optionsList, 'analyzeManyStream');
    return this.#analyzeAll(streamSource(source), plans);
  }

  // A calibration fed batch by batch: options as quantize's, shape and axis
  // being one batch's (the batches follow each other along a new outer axis).
  createCalibrator(options) {
    const o = parseOptions(options);
    rejectOut(o, 'createCalibrator');
    if (o.encoding !== undefined || o.pack) {
      throw new TypeError('wasmquant: createCalibrator calibrates: it takes no encoding or pack');
    }
    const batch = o.shape === undefined ? undefined : Array.from(o.shape).reduce((a, b) => a * b, 1);
    if (batch === 0) throw new RangeError('wasmquant: options.shape holds no values');
    const layout = channelLayout(o, batch);
    const calibrator = new this.#m.Calibrator(this.#calibrationOptions(o, layout, 0));
    const core = {
      state: calibrator,
      feed: (x, base) => this.#feed(calibrator, x, base, false),
      finish: () => {
        const { encodings } = this.#finish(calibrator, layout);
        return layout.perChannel ? encodings : encodings[0];
      },
    };
    return new Calibration(core, batch);
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

withReadableErrors(Quantizer, [
  'computeEncoding',
  'quantize',
  'dequantize',
  'analyze',
  'analyzeMany',
  'quantizeStream',
  'analyzeStream',
  'analyzeManyStream',
  'createCalibrator',
  'allocTensor',
]);

export async function createQuantizer(options) {
  const { backend, wasmUrl } = checkOptionsObject(options, ['backend', 'wasmUrl'], 'createQuantizer options');
  if (backend !== undefined) checkChoice('backend', backend, BACKENDS);
  const chosen = backend ?? (simd128Supported() ? 'simd128' : 'scalar');
  return new Quantizer(await loadModule(chosen, wasmUrl), chosen);
}

export { channelSlices } from './slices.js';
export { readNpy, writeNpy, readSafetensors, writeSafetensors, toAimetEncodings, fromAimetEncodings } from './formats/index.js';
