// safetensors reading and writing: the reference implementation's own byte
// vectors, round trips of every dtype, float16/bfloat16 widening, and
// malformed/hostile files that must end in a wasmquant error.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readSafetensors, writeSafetensors } from '../../../web/formats/index.js';
import {
  ascii,
  concat,
  expectSameTyped,
  expectWasmquantError,
  FC_SEED,
  leBytes,
  product,
  randomTyped,
  resultOrWasmquantError,
  safetensorsFile,
  DTYPE_OF,
  fuzzByteMutations,
  TYPES,
} from './util.js';

const ITEM = { float32: 4, float16: 2, bfloat16: 2, float64: 8, uint8: 1, int8: 1, uint16: 2, int16: 2 };

const info = (dtype, shape, begin, end) => ({ dtype, shape, data_offsets: [begin, end] });
const fileFrom = (header, buffer) => safetensorsFile(JSON.stringify(header), buffer);

describe('byte-exact files, as the Rust reference writes them', () => {
  const f32 = leBytes(Float32Array, [0, 1, 2, 3, 4, 5]);

  it('one F32 tensor "attn.0" [1, 2, 3] (header already a multiple of 8)', () => {
    const header = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}';
    expect(header.length).toBe(64);
    const expected = concat(Uint8Array.of(64, 0, 0, 0, 0, 0, 0, 0), ascii(header), f32);
    const written = writeSafetensors({ 'attn.0': { data: Float32Array.of(0, 1, 2, 3, 4, 5), shape: [1, 2, 3] } });
    expect(Array.from(written)).toEqual(Array.from(expected));
    const got = readSafetensors(expected);
    expect(Object.keys(got.tensors)).toEqual(['attn.0']);
    expect(got.tensors['attn.0'].shape).toEqual([1, 2, 3]);
    expect(got.tensors['attn.0'].dtype).toBe('float32');
    expectSameTyped(got.tensors['attn.0'].data, Float32Array.of(0, 1, 2, 3, 4, 5));
    expect(got.metadata).toEqual({});
  });

  it('"attn0" [1, 1, 2, 3]: the header is padded with spaces to a multiple of 8', () => {
    const header = '{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}';
    expect(header.length).toBe(65);
    const expected = concat(Uint8Array.of(72, 0, 0, 0, 0, 0, 0, 0), ascii(header + ' '.repeat(7)), f32);
    const written = writeSafetensors({ attn0: { data: Float32Array.of(0, 1, 2, 3, 4, 5), shape: [1, 1, 2, 3] } });
    expect(Array.from(written)).toEqual(Array.from(expected));
  });

  it('no tensors, with and without metadata', () => {
    expect(Array.from(writeSafetensors({}))).toEqual([8, 0, 0, 0, 0, 0, 0, 0, ...ascii('{}      ')]);
    const withMeta = writeSafetensors({}, { framework: 'pt' });
    expect(Array.from(withMeta)).toEqual([40, 0, 0, 0, 0, 0, 0, 0, ...ascii('{"__metadata__":{"framework":"pt"}}     ')]);
    expect(readSafetensors(withMeta)).toEqual({ tensors: {}, metadata: { framework: 'pt' } });
  });

  it('layout: larger elements first (F64, F32, U16, I16, I8, U8), then by name; every tensor aligned', () => {
    const written = writeSafetensors({
      b_u8: { data: Uint8Array.of(1, 2, 3) },
      a_u8: { data: Uint8Array.of(4) },
      z_f64: { data: Float64Array.of(1.5) },
      i16: { data: Int16Array.of(-1) },
      u16: { data: Uint16Array.of(7, 8, 9) },
      f32: { data: Float32Array.of(2.5, 3.5), shape: [2, 1] },
      i8: { data: Int8Array.of(-3) },
    });
    const n = Number(new DataView(written.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(written.subarray(8, 8 + n)));
    const order = Object.entries(header)
      .sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0])
      .map(([k]) => k);
    expect(order).toEqual(['z_f64', 'f32', 'u16', 'i16', 'i8', 'a_u8', 'b_u8']);
    // The header keys appear in the same order as the data.
    expect(Object.keys(header)).toEqual(order);
    for (const {
      dtype,
      data_offsets: [begin],
    } of Object.values(header)) {
      expect((8 + n + begin) % { F64: 8, F32: 4, U16: 2, I16: 2, I8: 1, U8: 1 }[dtype]).toBe(0);
    }
    expect(header.f32).toEqual(info('F32', [2, 1], 8, 16));
  });

  it('names sort by code point (as UTF-8 bytes), not by UTF-16 units', () => {
    // U+FF5E (one UTF-16 unit, 0xEF.. in UTF-8) sorts before U+1F600
    // (a surrogate pair, 0xD83D.. in UTF-16, 0xF0.. in UTF-8).
    const written = writeSafetensors({ '\u{1F600}': { data: Uint8Array.of(1) }, '\uFF5E': { data: Uint8Array.of(2) } });
    const n = written[0];
    const header = JSON.parse(new TextDecoder().decode(written.subarray(8, 8 + n)));
    expect(header['\uFF5E'].data_offsets).toEqual([0, 1]);
    expect(header['\u{1F600}'].data_offsets).toEqual([1, 2]);
  });
});

describe('round trips', () => {
  const SHAPES = [[], [0], [5], [0, 3], [2, 3], [2, 3, 4, 5]];
  for (const Type of TYPES) {
    it(`${Type.name} in every shape`, () => {
      const tensors = {};
      SHAPES.forEach((shape, i) => {
        tensors[`t${i}`] = { data: randomTyped(Type, product(shape), i * 7 + Type.BYTES_PER_ELEMENT), shape };
      });
      const got = readSafetensors(writeSafetensors(tensors));
      expect(Object.keys(got.tensors).sort()).toEqual(Object.keys(tensors).sort());
      for (const [name, t] of Object.entries(tensors)) {
        expect(got.tensors[name].shape).toEqual(t.shape);
        expect(got.tensors[name].dtype).toBe(DTYPE_OF[Type.name]);
        expectSameTyped(got.tensors[name].data, Type === Float64Array ? new Float32Array(t.data) : t.data);
      }
    });
  }

  it('all dtypes in one file, with metadata; what was read can be written back', () => {
    const types = TYPES.filter((T) => T !== Float64Array);
    const tensors = Object.fromEntries(types.map((T, i) => [`w.${T.name}`, { data: randomTyped(T, 6, i), shape: [3, 2] }]));
    const metadata = { format: 'pt', note: 'ünïcödé ✓ \u{1F600}', empty: '' };
    const first = readSafetensors(writeSafetensors(tensors, metadata));
    expect(first.metadata).toEqual(metadata);
    const again = readSafetensors(writeSafetensors(first.tensors, first.metadata));
    expect(again).toEqual(first);
  });

  it('float64 (and float16/bfloat16) tensors read as Float32Array are not silently written back as F32', () => {
    const { tensors } = readSafetensors(writeSafetensors({ d: { data: Float64Array.of(0.5) } }));
    expect(tensors.d).toEqual({ data: Float32Array.of(0.5), dtype: 'float64', shape: [1] });
    expectWasmquantError(
      () => writeSafetensors(tensors),
      TypeError,
      /tensor "d": dtype "float64" does not match its Float32Array data \(written as float32\)/,
    );
    const { dtype, ...asFloat32 } = tensors.d;
    expect(readSafetensors(writeSafetensors({ d: asFloat32 })).tensors.d.dtype).toBe('float32');
  });

  it('awkward names: __proto__, constructor, unicode, quotes and control characters', () => {
    const names = ['__proto__', 'constructor', 'hasOwnProperty', 'ü.weight', '"quoted"\\', 'tab\there\n', '0', '\u{1F600}'];
    const tensors = Object.fromEntries(names.map((name, i) => [name, { data: Int8Array.of(i) }]));
    const got = readSafetensors(writeSafetensors(tensors, { __proto__x: 'a' }));
    expect(Object.getPrototypeOf(got.tensors)).toBe(Object.prototype);
    expect(Object.keys(got.tensors).sort()).toEqual([...names].sort());
    names.forEach((name, i) => expect(Array.from(got.tensors[name].data)).toEqual([i]));
  });

  it('shape defaults to [data.length]; data may be a view at any offset', () => {
    const backing = new Float32Array([9, 1, 2, 3, 9]);
    const got = readSafetensors(writeSafetensors({ x: { data: backing.subarray(1, 4) } }));
    expect(got.tensors.x.shape).toEqual([3]);
    expect(Array.from(got.tensors.x.data)).toEqual([1, 2, 3]);
  });

  it('copies: results do not alias the file; unaligned files and ArrayBuffers are fine', () => {
    const file = writeSafetensors({ x: { data: Float32Array.of(1, 2) }, y: { data: Uint16Array.of(3) } });
    const shifted = new Uint8Array(file.length + 3);
    shifted.set(file, 3);
    const got = readSafetensors(shifted.subarray(3));
    shifted.fill(0);
    expect(Array.from(got.tensors.x.data)).toEqual([1, 2]);
    expect(Array.from(got.tensors.y.data)).toEqual([3]);
    expect(Array.from(readSafetensors(file.slice().buffer).tensors.x.data)).toEqual([1, 2]);
  });
});

describe('reading F16, BF16, F64 (widened to float32) and files from other writers', () => {
  it('F16 and BF16, exactly', () => {
    // float16: 1, -2, 65504, 2^-24 (subnormal), -0, inf
    const f16 = [0x3c00, 0xc000, 0x7bff, 0x0001, 0x8000, 0x7c00];
    // bfloat16: the top 16 bits of float32 1.5, -3.140625, 1e38-ish, tiny
    const bf16 = [0x3fc0, 0xc049, 0x7e96, 0x0001];
    const buffer = concat(leBytes(Uint16Array, f16), leBytes(Uint16Array, bf16));
    const file = fileFrom({ h: info('F16', [6], 0, 12), b: info('BF16', [2, 2], 12, 20) }, buffer);
    const got = readSafetensors(file);
    expect(got.tensors.h.dtype).toBe('float16');
    expect(got.tensors.b.dtype).toBe('bfloat16');
    expectSameTyped(got.tensors.h.data, Float32Array.of(1, -2, 65504, 2 ** -24, -0, Infinity));
    const bits = new Uint32Array(bf16.map((h) => h * 65536));
    expectSameTyped(got.tensors.b.data, new Float32Array(bits.buffer));
  });

  it('F64 narrows like Math.fround', () => {
    const values = [0.1, 1e300, -1e-320, 1 + 2 ** -30, NaN];
    const got = readSafetensors(fileFrom({ d: info('F64', [5], 0, 40) }, leBytes(Float64Array, values)));
    expect(got.tensors.d.dtype).toBe('float64');
    expectSameTyped(got.tensors.d.data, Float32Array.from(values.map(Math.fround)));
  });

  it('headers in any key order, with whitespace, extra fields, trailing padding, and names in any order', () => {
    const text =
      ' {\n "b": {"data_offsets": [2, 4], "shape": [1], "dtype": "I16", "extra": true},\n' +
      ' "__metadata__": {"k": "v"}, "a": {"dtype":"U8","shape":[2],"data_offsets":[0,2]} }\n\t   ';
    expect(() => readSafetensors(safetensorsFile(text, Uint8Array.of(1, 2, 0xff, 0x7f)))).toThrow(/starting with "\{"/);
    const got = readSafetensors(safetensorsFile(text.trimStart(), Uint8Array.of(1, 2, 0xff, 0x7f)));
    expect(Array.from(got.tensors.a.data)).toEqual([1, 2]);
    expect(Array.from(got.tensors.b.data)).toEqual([0x7fff]);
    expect(got.metadata).toEqual({ k: 'v' });
  });

  it('zero-sized tensors may share an offset; an empty name is allowed when reading', () => {
    const got = readSafetensors(fileFrom({ '': info('F32', [0], 0, 0), e: info('U8', [0, 5], 0, 0), x: info('U8', [1], 0, 1) }, Uint8Array.of(9)));
    expect(got.tensors[''].data.length).toBe(0);
    expect(got.tensors.e.shape).toEqual([0, 5]);
    expect(Array.from(got.tensors.x.data)).toEqual([9]);
  });
});

describe('readSafetensors: malformed and hostile files', () => {
  const valid = writeSafetensors({ a: { data: Float32Array.of(1, 2), shape: [2] }, b: { data: Uint8Array.of(3, 4, 5) } }, { m: 'x' });

  it('truncated at every byte offset', () => {
    for (let n = 0; n < valid.length; n += 1) {
      expectWasmquantError(() => readSafetensors(valid.subarray(0, n)), Error, /truncated|JSON|bytes after|past the end/);
    }
  });

  it('bytes left over after the last tensor', () => {
    expectWasmquantError(() => readSafetensors(concat(valid, Uint8Array.of(0))), Error, /1 bytes after the last tensor/);
  });

  it('header sizes over the limit or past the end of the file', () => {
    const big = valid.slice();
    new DataView(big.buffer).setUint32(0, 100_000_001, true);
    expectWasmquantError(() => readSafetensors(big), RangeError, /100000001 is over the format's limit of 100000000/);
    const huge = valid.slice();
    new DataView(huge.buffer).setUint32(4, 1, true);
    expectWasmquantError(() => readSafetensors(huge), RangeError, /4294967\d+ is over/);
    const allOnes = valid.slice();
    allOnes.fill(0xff, 0, 8);
    expectWasmquantError(() => readSafetensors(allOnes), RangeError, /over the format's limit/);
    const past = valid.slice();
    new DataView(past.buffer).setUint32(0, valid.length, true);
    expectWasmquantError(() => readSafetensors(past), Error, /truncated: the header says it is \d+ bytes long/);
    // Shorter than the real header: the JSON is cut.
    const short = valid.slice();
    new DataView(short.buffer).setUint32(0, 10, true);
    expectWasmquantError(() => readSafetensors(short), Error, /not valid JSON/);
  });

  it('headers that are not a UTF-8 JSON object', () => {
    const cases = [
      [concat(Uint8Array.of(0xef, 0xbb, 0xbf), ascii('{}')), /starting with "\{"/], // a BOM
      [Uint8Array.of(0x7b, 0xc3, 0x28, 0x7d), /not valid UTF-8/],
      [ascii('{"a": }'), /not valid JSON/],
      [ascii('{"a": 1'), /not valid JSON/],
      [ascii('{} {}'), /not valid JSON/],
      [ascii('[]'), /starting with "\{"/],
      [ascii('null'), /starting with "\{"/],
      [ascii('"{}"'), /starting with "\{"/],
      [ascii('{"a": NaN}'), /not valid JSON/],
      [ascii(''), /starting with "\{"/],
      [ascii('{"a": 1, // comment\n}'), /not valid JSON/],
    ];
    for (const [header, message] of cases) {
      expectWasmquantError(() => readSafetensors(concat(Uint8Array.of(header.length, 0, 0, 0, 0, 0, 0, 0), header)), Error, message);
    }
  });

  it('tensor entries with missing or mistyped fields name the tensor', () => {
    const cases = [
      [{ w: 3 }, /tensor "w" must be an object/],
      [{ w: [1, 2] }, /tensor "w" must be an object/],
      [{ w: null }, /tensor "w" must be an object/],
      [{ w: { shape: [1], data_offsets: [0, 4] } }, /tensor "w" has no "dtype"/],
      [{ w: { dtype: 'F32', data_offsets: [0, 4] } }, /tensor "w" has no "shape"/],
      [{ w: { dtype: 'F32', shape: [1] } }, /tensor "w" has no "data_offsets"/],
      [{ w: info('F32', 1, 0, 4) }, /tensor "w": shape must be an array/],
      [{ w: info('F32', [-1], 0, 4) }, /tensor "w": shape\[0\] must be a non-negative integer/],
      [{ w: info('F32', [0.5], 0, 4) }, /shape\[0\] must be a non-negative integer/],
      [{ w: info('F32', ['1'], 0, 4) }, /shape\[0\] must be a number/],
      [{ w: info('F32', [2 ** 40], 0, 4) }, /more than 2\^31 elements/],
      [{ w: info('F32', [2 ** 20, 2 ** 20, 0, 2 ** 53], 0, 0) }, /non-negative integer/],
      [{ w: { dtype: 'F32', shape: [1], data_offsets: [0] } }, /tensor "w": data_offsets must be \[begin, end\]/],
      [{ w: { dtype: 'F32', shape: [1], data_offsets: [0, 4, 8] } }, /data_offsets must be/],
      [{ w: { dtype: 'F32', shape: [1], data_offsets: { 0: 0, 1: 4 } } }, /data_offsets must be/],
      [{ w: info('F32', [1], -4, 0) }, /data_offsets must be/],
      [{ w: info('F32', [1], '0', 4) }, /data_offsets must be/],
      [{ w: info('F32', [1], 0, 4.5) }, /data_offsets must be/],
      [{ w: info('F32', [1], 2 ** 53, 2 ** 53 + 4) }, /data_offsets must be/],
      [{ w: info('F32', [1], 4, 0) }, /tensor "w": data_offsets \[4, 0\] end before they begin/],
      [{ w: info('F32', [2], 0, 4) }, /tensor "w": shape \[2\] of F32 needs 8 bytes, but data_offsets \[0, 4\] span 4/],
      [{ w: info('F32', [1], 0, 400) }, /needs 4 bytes/],
      [{ w: info('F32', [1], 4, 8) }, /tensor "w": data_offsets \[4, 8\] go past the end of the data buffer \(4 bytes\)/],
    ];
    for (const [header, message] of cases) {
      expectWasmquantError(() => readSafetensors(fileFrom(header, new Uint8Array(4))), undefined, message);
    }
  });

  it('unsupported dtypes are named with their tensor', () => {
    for (const dtype of ['I32', 'U32', 'I64', 'U64', 'BOOL', 'F8_E4M3', 'F8_E5M2', 'C64', 'f32', 'float32', '', 7, null]) {
      expectWasmquantError(
        () => readSafetensors(fileFrom({ 'layer.0.w': info(dtype, [1], 0, 4) }, new Uint8Array(4))),
        Error,
        new RegExp(`tensor "layer\\.0\\.w" has dtype .* which is not supported; supported: F32, F16, BF16, F64, U8, I8, U16, I16`),
      );
    }
    // Names from Object.prototype are not dtypes either.
    for (const dtype of ['constructor', '__proto__', 'toString']) {
      expectWasmquantError(() => readSafetensors(fileFrom({ w: info(dtype, [1], 0, 4) }, new Uint8Array(4))), Error, /not supported/);
    }
  });

  it('overlaps, gaps and leftovers: the tensors must tile the buffer', () => {
    const buffer = new Uint8Array(12);
    const cases = [
      [{ a: info('U8', [8], 0, 8), b: info('U8', [8], 4, 12) }, /tensor "b" \(data_offsets \[4, 12\]\) overlaps tensor "a" \(\[0, 8\]\)/],
      [{ a: info('U8', [12], 0, 12), b: info('U8', [4], 0, 4) }, /tensor "a" \(data_offsets \[0, 12\]\) overlaps tensor "b" \(\[0, 4\]\)/],
      [{ a: info('U8', [4], 0, 4), b: info('U8', [4], 0, 4), c: info('U8', [4], 8, 12) }, /overlaps/],
      [{ a: info('U8', [4], 0, 4), b: info('U8', [4], 8, 12) }, /bytes 4\.\.8 of the data buffer belong to no tensor \(a gap before tensor "b"\)/],
      [{ a: info('U8', [8], 4, 12) }, /bytes 0\.\.4 of the data buffer belong to no tensor/],
      [{ a: info('U8', [8], 0, 8) }, /4 bytes after the last tensor's data \(the tensors cover 8 of 12 bytes\)/],
      [{}, /12 bytes after the last tensor/],
      [{ __metadata__: {} }, /12 bytes after/],
    ];
    for (const [header, message] of cases) {
      expectWasmquantError(() => readSafetensors(fileFrom(header, buffer)), Error, message);
    }
  });

  it('metadata must be an object of strings', () => {
    const t = { a: info('U8', [1], 0, 1) };
    const cases = [
      [{ __metadata__: { n: 1 } }, /"__metadata__" value for "n" must be a string, got 1/],
      [{ __metadata__: { n: null } }, /value for "n" must be a string, got null/],
      [{ __metadata__: { n: { nested: 'x' } } }, /must be a string/],
      [{ __metadata__: { n: ['x'] } }, /must be a string, got an Array/],
      [{ __metadata__: ['x'] }, /"__metadata__" must be an object of strings, got an Array/],
      [{ __metadata__: 'x' }, /must be an object of strings/],
      [{ __metadata__: null }, /must be an object of strings, got null/],
    ];
    for (const [meta, message] of cases) {
      expectWasmquantError(() => readSafetensors(fileFrom({ ...meta, ...t }, Uint8Array.of(1))), Error, message);
    }
  });

  it('duplicate keys anywhere in the header', () => {
    const cases = [
      ['{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', /the key "a" twice/],
      ['{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"\\u0061":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}', /the key "a" twice/],
      ['{"a":{"dtype":"U8","dtype":"F32","shape":[2],"data_offsets":[0,2]}}', /the key "dtype" twice in "a"/],
      ['{"__metadata__":{"k":"1","k":"2"},"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}', /the key "k" twice in "__metadata__"/],
      ['{"__metadata__":{},"__metadata__":{},"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}', /the key "__metadata__" twice/],
    ];
    for (const [text, message] of cases) {
      expectWasmquantError(() => readSafetensors(safetensorsFile(text, Uint8Array.of(1, 2))), Error, message);
    }
    // Equal strings that are values, not keys, are fine; so are braces and
    // quotes inside strings.
    const ok = '{"x{\\"y,":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"__metadata__":{"a":"a","b":"a","c":"{\\"a\\":1,"}}';
    const got = readSafetensors(safetensorsFile(ok, Uint8Array.of(1, 2)));
    expect(Object.keys(got.tensors)).toEqual(['x{"y,']);
    expect(got.metadata.c).toBe('{"a":1,');
  });

  it('names that are not valid Unicode', () => {
    expectWasmquantError(
      () => readSafetensors(safetensorsFile('{"\\ud800":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', Uint8Array.of(1))),
      Error,
      /not valid Unicode/,
    );
  });

  it('deeply nested headers are refused before JSON.parse builds them', () => {
    const deep = `{"__metadata__":${'['.repeat(5_000_000)}${']'.repeat(5_000_000)}}`;
    expectWasmquantError(() => readSafetensors(safetensorsFile(deep)), Error, /nests deeper than 64 levels/);
    // Brackets inside strings do not count.
    const inString = `{"__metadata__":{"k":"${'['.repeat(100)}"}}`;
    expect(readSafetensors(safetensorsFile(inString)).metadata.k).toBe('['.repeat(100));
  });

  it('arguments that are not bytes', () => {
    for (const bad of [undefined, null, 'x.safetensors', 1, [8, 0], new Uint16Array(8), {}]) {
      expectWasmquantError(() => readSafetensors(bad), TypeError, /readSafetensors\(bytes\) must be a Uint8Array/);
    }
  });
});

describe('writeSafetensors: bad arguments', () => {
  const ok = { data: Float32Array.of(1) };
  const cases = [
    [() => writeSafetensors(null), TypeError, /tensors must be an object/],
    [() => writeSafetensors([ok]), TypeError, /tensors must be an object/],
    [() => writeSafetensors(new Map([['a', ok]])), TypeError, /tensors must be an object/],
    [() => writeSafetensors({ '': ok }), TypeError, /cannot be named ""/],
    [() => writeSafetensors({ __metadata__: ok }), TypeError, /cannot be named "__metadata__"/],
    [() => writeSafetensors({ '\udc00x': ok }), TypeError, /not valid Unicode/],
    [() => writeSafetensors({ w: Float32Array.of(1) }), TypeError, /tensor "w" must be an object \{ data, shape \}/],
    [() => writeSafetensors({ w: { data: [1, 2] } }), TypeError, /tensor "w": data must be one of Float64Array, Float32Array/],
    [() => writeSafetensors({ w: { data: new Int32Array(1) } }), TypeError, /; got an Int32Array/],
    [() => writeSafetensors({ w: { data: new BigInt64Array(1) } }), TypeError, /tensor "w": data must be one of/],
    [() => writeSafetensors({ w: { data: Float32Array.of(1), shape: [2] } }), RangeError, /tensor "w": shape \[2\] has 2 elements but data has 1/],
    [() => writeSafetensors({ w: { data: Float32Array.of(1), shape: [-1] } }), RangeError, /tensor "w": shape\[0\]/],
    [() => writeSafetensors({ w: { data: Float32Array.of(1), shpae: [1] } }), TypeError, /unknown field "shpae"/],
    [
      () => writeSafetensors({ w: { data: Float32Array.of(1), dtype: 'float16' } }),
      TypeError,
      /dtype "float16" does not match its Float32Array data/,
    ],
    [() => writeSafetensors({ w: { data: Float32Array.of(1), dtype: 'constructor' } }), TypeError, /does not match/],
    [() => writeSafetensors({ w: ok }, { n: 1 }), TypeError, /metadata value for "n" must be a string, got 1/],
    [() => writeSafetensors({ w: ok }, { n: undefined }), TypeError, /metadata value for "n" must be a string/],
    [() => writeSafetensors({ w: ok }, null), TypeError, /metadata must be an object of strings, got null/],
    [() => writeSafetensors({ w: ok }, 'pt'), TypeError, /metadata must be an object/],
    [() => writeSafetensors({ w: ok }, { k: '\ud800' }), TypeError, /not valid Unicode/],
  ];
  for (const [fn, ErrorClass, message] of cases) {
    it(String(message), () => expectWasmquantError(fn, ErrorClass, message));
  }

  it('a matching dtype is accepted (readSafetensors output can be written back)', () => {
    const got = readSafetensors(writeSafetensors({ w: { data: Int8Array.of(-1), dtype: 'int8', shape: [1] } }));
    expect(Array.from(got.tensors.w.data)).toEqual([-1]);
  });
});

describe('fuzz (fast-check, fixed seed)', () => {
  // Either a consistent result (the tensors tile the buffer exactly, each
  // of the size its shape says) or a wasmquant error.
  let parsed = 0;
  function checkOutcome(bytes) {
    const got = resultOrWasmquantError(() => readSafetensors(bytes));
    if (got === undefined) return;
    parsed += 1;
    let total = 0;
    for (const t of Object.values(got.tensors)) {
      expect(Object.keys(ITEM)).toContain(t.dtype);
      expect(t.data.length).toBe(product(t.shape));
      total += t.data.length * ITEM[t.dtype];
    }
    const n = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
    expect(total).toBe(bytes.length - 8 - n);
    for (const v of Object.values(got.metadata)) expect(typeof v).toBe('string');
  }

  const seeds = [
    writeSafetensors(
      { a: { data: Float32Array.of(1, 2), shape: [2, 1] }, b: { data: Uint8Array.of(3) }, c: { data: Int16Array.of(-1, 1) } },
      { m: 'x' },
    ),
    writeSafetensors({ x: { data: new Float64Array(2) }, y: { data: new Uint16Array(0), shape: [0, 2] } }),
    writeSafetensors({}),
    writeSafetensors({ big: { data: randomTyped(Float32Array, 200, 1), shape: [10, 20] }, small: { data: Int8Array.of(1, 2, 3) } }),
    fileFrom({ h: info('F16', [2], 0, 4), b: info('BF16', [1], 4, 6) }, new Uint8Array(6)),
  ];

  it('random byte mutations of valid files', () => {
    parsed = 0;
    fuzzByteMutations(seeds, checkOutcome);
    expect(parsed).toBeGreaterThan(200); // the mutations did not all break the files
  });

  it('random JSON headers (random dtypes, shapes, offsets, metadata)', () => {
    const dtype = fc.constantFrom('F32', 'F16', 'BF16', 'F64', 'U8', 'I8', 'U16', 'I16', 'I32', 'BOOL', 'x', '__proto__');
    const number = fc.oneof(fc.nat({ max: 12 }), fc.integer({ min: -2, max: -1 }), fc.constantFrom(0.5, 2 ** 31, 2 ** 40, 2 ** 53, 1e300));
    const entry = fc.oneof(
      { weight: 8, arbitrary: fc.record({ dtype, shape: fc.array(number, { maxLength: 3 }), data_offsets: fc.tuple(number, number) }) },
      { weight: 1, arbitrary: fc.anything() },
    );
    const metadata = fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer()), { maxKeys: 2 });
    const header = fc.tuple(fc.dictionary(fc.string({ maxLength: 4 }), entry, { maxKeys: 4 }), fc.option(metadata, { nil: undefined }));
    fc.assert(
      fc.property(header, fc.nat({ max: 40 }), ([tensors, meta], bufferLength) => {
        const h = meta === undefined ? tensors : { ...tensors, __metadata__: meta };
        checkOutcome(fileFrom(h, new Uint8Array(bufferLength)));
      }),
      { seed: FC_SEED, numRuns: 4000 },
    );
  });

  it('random JSON text as the header', () => {
    fc.assert(
      fc.property(fc.oneof(fc.json(), fc.string()), (text) => checkOutcome(safetensorsFile(text))),
      { seed: FC_SEED, numRuns: 2000 },
    );
  });

  it('valid random tensor sets (tiled in random order) read back as written', () => {
    const tensorArb = fc.record({
      type: fc.constantFrom('F32', 'F16', 'BF16', 'F64', 'U8', 'I8', 'U16', 'I16'),
      shape: fc.array(fc.nat({ max: 3 }), { maxLength: 3 }),
    });
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(fc.string({ minLength: 1, maxLength: 5 }), tensorArb), { selector: ([n]) => n, maxLength: 5 }), (list) => {
        const size = { F32: 4, F16: 2, BF16: 2, F64: 8, U8: 1, I8: 1, U16: 2, I16: 2 };
        let offset = 0;
        const header = {};
        for (const [name, { type, shape }] of list) {
          if (name === '__metadata__') continue;
          const n = product(shape) * size[type];
          header[name] = info(type, shape, offset, offset + n);
          offset += n;
        }
        const got = readSafetensors(
          fileFrom(
            header,
            new Uint8Array(offset).map((_, i) => i),
          ),
        );
        expect(Object.keys(got.tensors).sort()).toEqual(Object.keys(header).sort());
        for (const [name, h] of Object.entries(header)) expect(got.tensors[name].shape).toEqual(h.shape);
      }),
      { seed: FC_SEED, numRuns: 1000 },
    );
  });
});
