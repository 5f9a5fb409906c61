// .npy reading and writing: files numpy wrote (byte for byte), round trips
// of every dtype and shape, Fortran order, and malformed/hostile files that
// must end in a wasmquant error (never a hang, a giant allocation or an
// engine error).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readNpy, writeNpy } from '../../../web/formats/index.js';
import {
  ascii,
  concat,
  expectSameTyped,
  expectWasmquantError,
  FC_SEED,
  fromBase64,
  leBytes,
  npyFile,
  npyHeader,
  product,
  randomTyped,
  resultOrWasmquantError,
  DTYPE_OF,
  fuzzByteMutations,
  TYPES,
} from './util.js';

// Written by numpy 1.24 (np.save, or np.lib.format.write_array for the
// explicit versions), base64.
const NUMPY_FILES = {
  f4_2x3:
    'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAADAPwAAAMAAAFBAAAAAgG8Sgzo=',
  f4_scalar:
    'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKCksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAGBA',
  i2_7: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGkyJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDcsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIApI9DD4GPwAAOgD0Ae4Cw==',
  u1_0x3:
    'k05VTVBZAQB2AHsnZGVzY3InOiAnfHUxJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDAsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAo=',
  f8_3: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAqamZmZmZm5P5x1AIg85Df+K+Zwi2gSAAA=',
  f2_5: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGYyJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDUsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIApVNf/7AQAAfAA4',
  u2_2x2:
    'k05VTVBZAQB2AHsnZGVzY3InOiAnPHUyJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDIpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAP//AQAAAQ==',
  i1_1x2x3x2:
    'k05VTVBZAQB2AHsnZGVzY3InOiAnfGkxJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDEsIDIsIDMsIDIpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAr6+/z9/v8AAQIDBAU=',
  f4_fortran_2x3x4:
    'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBUcnVlLCAnc2hhcGUnOiAoMiwgMywgNCksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAABAQQAAgEAAAIBBAAAAQQAAoEEAAIA/AABQQQAAoEAAAIhBAAAQQQAAqEEAAABAAABgQQAAwEAAAJBBAAAgQQAAsEEAAEBAAABwQQAA4EAAAJhBAAAwQQAAuEE=',
  f4_v2_3:
    'k05VTVBZAgB0AAAAeydkZXNjcic6ICc8ZjQnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoMywpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAIA/AAAAQAAAQEA=',
  f4_v3_3:
    'k05VTVBZAwB0AAAAeydkZXNjcic6ICc8ZjQnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoMywpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAIA/AAAAQAAAQEA=',
};

// What numpy holds in each of them.
const NUMPY_CONTENTS = {
  f4_2x3: { dtype: 'float32', shape: [2, 3], data: Float32Array.of(0, 1.5, -2, 3.25, -0, 1e-3) },
  f4_scalar: { dtype: 'float32', shape: [], data: Float32Array.of(3.5) },
  i2_7: { dtype: 'int16', shape: [7], data: Int16Array.of(-3000, -2000, -1000, 0, 1000, 2000, 3000) },
  u1_0x3: { dtype: 'uint8', shape: [0, 3], data: new Uint8Array(0) },
  f8_3: { dtype: 'float64', shape: [3], data: Float32Array.of(0.1, -Infinity, 0) },
  // float16 of 1/3, -65504, 6e-8 (the smallest subnormal, 2^-24), inf, 0.5
  f2_5: { dtype: 'float16', shape: [5], data: Float32Array.of(0.333251953125, -65504, 2 ** -24, Infinity, 0.5) },
  u2_2x2: { dtype: 'uint16', shape: [2, 2], data: Uint16Array.of(0, 65535, 1, 256) },
  i1_1x2x3x2: { dtype: 'int8', shape: [1, 2, 3, 2], data: Int8Array.of(-6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5) },
  f4_fortran_2x3x4: { dtype: 'float32', shape: [2, 3, 4], data: Float32Array.from({ length: 24 }, (_, i) => i) },
  f4_v2_3: { dtype: 'float32', shape: [3], data: Float32Array.of(1, 2, 3) },
  f4_v3_3: { dtype: 'float32', shape: [3], data: Float32Array.of(1, 2, 3) },
};

// The descr numpy itself wrote for each dtype, read from its files above
// with a regex of the header text: no table of ours to agree with the writer.
const NUMPY_DESCR = Object.fromEntries(
  Object.entries(NUMPY_FILES).map(([name, b64]) => {
    const header = String.fromCharCode(...fromBase64(b64).subarray(0, 128));
    return [NUMPY_CONTENTS[name].dtype, /'descr': '([^']+)'/.exec(header)[1]];
  }),
);
const SHAPES = [[], [0], [1], [5], [0, 3], [3, 0], [2, 3], [2, 3, 4, 5], [1, 1, 1, 1], [3, 1, 2]];

// numpy's header dict for a C-order array (repr of the shape tuple).
function dictFor(descr, shape, fortran = false) {
  const tuple = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  return `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': ${tuple}, }`;
}

// A valid file with an arbitrary (well-formed) dict text.
const fileWithDict = (dict, data, options) => npyFile(npyHeader(dict, options), data, options);

describe('readNpy: files written by numpy', () => {
  for (const [name, b64] of Object.entries(NUMPY_FILES)) {
    it(name, () => {
      const got = readNpy(fromBase64(b64));
      const want = NUMPY_CONTENTS[name];
      expect(got.dtype).toBe(want.dtype);
      expect(got.shape).toEqual(want.shape);
      expect(got.fortranOrder).toBe(false);
      expectSameTyped(got.data, want.data);
    });
  }
});

describe('writeNpy: byte for byte what numpy writes', () => {
  const cases = ['f4_2x3', 'f4_scalar', 'i2_7', 'u1_0x3', 'u2_2x2', 'i1_1x2x3x2'];
  for (const name of cases) {
    it(name, () => {
      const { data, shape } = NUMPY_CONTENTS[name];
      expect(Array.from(writeNpy(data, shape))).toEqual(Array.from(fromBase64(NUMPY_FILES[name])));
    });
  }

  it("'<f4' shape (2, 3), built from the format description", () => {
    // 10-byte preamble + dict + numpy's 21 - len('2') spare spaces for
    // growing axis 0 + padding to 64 + '\n'; 128 bytes before the data.
    const dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    const header = `${dict}${' '.repeat(128 - 10 - dict.length - 1)}\n`;
    const data = Float32Array.of(1, 2, 3, 4, 5, 6);
    const expected = concat(Uint8Array.of(0x93, ...ascii('NUMPY'), 1, 0, 118, 0), ascii(header), leBytes(Float32Array, [...data]));
    expect(Array.from(writeNpy(data, [2, 3]))).toEqual(Array.from(expected));
  });

  it('always starts the data at a multiple of 64, with a header ending in a newline', () => {
    for (const shape of [[], [7], [123456789], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]]) {
      const n = shape.includes(123456789) ? 0 : product(shape);
      const bytes = writeNpy(new Uint8Array(n), shape.includes(123456789) ? [0, 123456789] : shape);
      const headerLength = bytes[8] | (bytes[9] << 8);
      expect((10 + headerLength) % 64).toBe(0);
      expect(bytes[10 + headerLength - 1]).toBe(0x0a);
    }
  });

  it('shape defaults to [data.length]', () => {
    expect(readNpy(writeNpy(Int16Array.of(1, 2, 3))).shape).toEqual([3]);
  });
});

describe('round trips', () => {
  for (const Type of TYPES) {
    for (const shape of SHAPES) {
      it(`${Type.name} shape [${shape}]`, () => {
        const data = randomTyped(Type, product(shape), shape.length * 31 + Type.BYTES_PER_ELEMENT);
        const bytes = writeNpy(data, shape);
        const got = readNpy(bytes);
        expect(got.shape).toEqual(shape);
        expect(got.dtype).toBe(DTYPE_OF[Type.name]);
        // float64 is widened... narrowed to the quantizer's float32.
        expectSameTyped(got.data, Type === Float64Array ? new Float32Array(data) : data);
        expect(bytes.subarray(10, 10 + 20)).toEqual(ascii(dictFor(NUMPY_DESCR[DTYPE_OF[Type.name]], shape).slice(0, 20)));
      });
    }
  }

  it('copies: the result does not alias the file, and unaligned files are fine', () => {
    const file = writeNpy(Float32Array.of(1, 2, 3), [3]);
    const shifted = new Uint8Array(file.length + 1);
    shifted.set(file, 1);
    const view = shifted.subarray(1); // data at an odd byte address
    const got = readNpy(view);
    expect(Array.from(got.data)).toEqual([1, 2, 3]);
    shifted.fill(0);
    expect(Array.from(got.data)).toEqual([1, 2, 3]);
    expect(got.data.buffer).not.toBe(shifted.buffer);
  });

  it('takes an ArrayBuffer too', () => {
    const file = writeNpy(Uint8Array.of(9, 8), [2]);
    expect(Array.from(readNpy(file.slice().buffer).data)).toEqual([9, 8]);
  });

  it('writes data given as a view into a larger buffer (byteOffset)', () => {
    const big = Int16Array.of(100, 1, 2, 3, 200);
    expect(Array.from(readNpy(writeNpy(big.subarray(1, 4), [3])).data)).toEqual([1, 2, 3]);
  });
});

describe('readNpy: Fortran order comes back in C order', () => {
  // Element (i0, i1, ...) of a Fortran-order array sits at
  // i0 + d0 * (i1 + d1 * (i2 + ...)).
  function fortranBytes(Type, shape, cValues) {
    const n = product(shape);
    const out = new Array(n);
    for (let c = 0; c < n; c += 1) {
      let rest = c;
      const index = [];
      for (let k = shape.length - 1; k >= 0; k -= 1) {
        index[k] = rest % shape[k];
        rest = Math.floor(rest / shape[k]);
      }
      let f = 0;
      for (let k = shape.length - 1; k >= 0; k -= 1) f = f * shape[k] + index[k];
      out[f] = cValues[c];
    }
    return leBytes(Type, out);
  }

  const cases = [
    [Float32Array, '<f4', [2, 3]],
    [Float32Array, '<f4', [2, 3, 4]],
    [Int8Array, '|i1', [4, 1, 3, 2]],
    [Uint16Array, '<u2', [3, 5]],
    [Int16Array, '<i2', [7]],
    [Float32Array, '<f4', []],
    [Float32Array, '<f4', [0, 3]],
    [Float32Array, '<f4', [2, 1, 1, 2, 3]],
  ];
  for (const [Type, descr, shape] of cases) {
    it(`${descr} [${shape}]`, () => {
      const values = Array.from({ length: product(shape) }, (_, i) => i + 1);
      const got = readNpy(fileWithDict(dictFor(descr, shape, true), fortranBytes(Type, shape, values)));
      expect(got.shape).toEqual(shape);
      expect(got.fortranOrder).toBe(false);
      expectSameTyped(got.data, Type.from(values));
    });
  }

  it("'<f2' and '<f8' are widened/narrowed, then transposed", () => {
    const values = [1, 2, 3, 4, 5, 6];
    const got8 = readNpy(fileWithDict(dictFor('<f8', [2, 3], true), fortranBytes(Float64Array, [2, 3], values)));
    expectSameTyped(got8.data, Float32Array.from(values));
    // float16 1..6: exponent and mantissa of each, little-endian.
    const halves = [0x3c00, 0x4000, 0x4200, 0x4400, 0x4500, 0x4600];
    const got2 = readNpy(fileWithDict(dictFor('<f2', [2, 3], true), fortranBytes(Uint16Array, [2, 3], halves)));
    expectSameTyped(got2.data, Float32Array.from(values));
  });
});

describe('readNpy: header variants numpy (or other writers) produce', () => {
  const data = leBytes(Float32Array, [1, 2, 3]);
  const variants = {
    'keys in another order': "{'shape': (3,), 'fortran_order': False, 'descr': '<f4'}",
    'double quotes': '{"descr": "<f4", "fortran_order": False, "shape": (3,)}',
    'no spaces': "{'descr':'<f4','fortran_order':False,'shape':(3,)}",
    'extra whitespace and tabs': "{ 'descr' :\t'<f4' ,  'fortran_order' : False , 'shape' : ( 3 , ) , }",
    "Python 2's long suffix (3L,)": "{'descr': '<f4', 'fortran_order': False, 'shape': (3L,), }",
    "'=' (native) byte order": "{'descr': '=f4', 'fortran_order': False, 'shape': (3,), }",
    'no byte order': "{'descr': 'f4', 'fortran_order': False, 'shape': (3,), }",
  };
  for (const [name, dict] of Object.entries(variants)) {
    it(name, () => {
      const got = readNpy(fileWithDict(dict, data));
      expect(got.shape).toEqual([3]);
      expect(Array.from(got.data)).toEqual([1, 2, 3]);
    });
  }

  it('16-byte alignment (numpy before 1.14) and any other alignment', () => {
    for (const align of [1, 16, 64, 4096]) {
      const got = readNpy(npyFile(npyHeader(dictFor('<f4', [3]), { align }), data));
      expect(Array.from(got.data)).toEqual([1, 2, 3]);
    }
  });

  it('single-byte types take any byte-order character', () => {
    for (const order of ['|', '<', '>', '=', '']) {
      expect(readNpy(fileWithDict(dictFor(`${order}u1`, [2]), Uint8Array.of(7, 250))).dtype).toBe('uint8');
      expect(Array.from(readNpy(fileWithDict(dictFor(`${order}i1`, [2]), Uint8Array.of(7, 250))).data)).toEqual([7, -6]);
    }
  });

  it('version 2.0 and 3.0 headers (3.0 is UTF-8)', () => {
    for (const version of [2, 3]) {
      const got = readNpy(npyFile(npyHeader(dictFor('<i2', [2]), { version }), leBytes(Int16Array, [-1, 5]), { version }));
      expect(Array.from(got.data)).toEqual([-1, 5]);
    }
  });
});

describe('readNpy: malformed and hostile files', () => {
  const valid = writeNpy(Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3]);

  it('truncated at every byte offset', () => {
    for (let n = 0; n < valid.length; n += 1) {
      expectWasmquantError(() => readNpy(valid.subarray(0, n)), Error, /truncated|\.npy/);
    }
  });

  it('one byte too many, or a few', () => {
    expectWasmquantError(() => readNpy(concat(valid, Uint8Array.of(0))), Error, /1 unexpected bytes after the data/);
    expectWasmquantError(() => readNpy(concat(valid, new Uint8Array(7))), Error, /7 unexpected bytes/);
  });

  it('bad magic and unsupported versions', () => {
    const bad = valid.slice();
    bad[0] = 0x92;
    expectWasmquantError(() => readNpy(bad), Error, /not a \.npy file/);
    expectWasmquantError(() => readNpy(ascii('PK\x03\x04 a zip, maybe an .npz file')), Error, /not a \.npy file/);
    for (const [major, minor] of [
      [0, 0],
      [1, 1],
      [4, 0],
      [255, 255],
    ]) {
      const v = valid.slice();
      v[6] = major;
      v[7] = minor;
      expectWasmquantError(() => readNpy(v), Error, new RegExp(`version ${major}\\.${minor} is not supported`));
    }
  });

  it('lying header lengths', () => {
    const header = npyHeader(dictFor('<f4', [3]));
    const data = leBytes(Float32Array, [1, 2, 3]);
    for (const headerLength of [0, 1, header.length - 1, header.length + 1, header.length + 12, header.length + 13, 65535]) {
      expectWasmquantError(() => readNpy(npyFile(header, data, { headerLength })), Error);
    }
    // A 4 GiB header length in a 2.0 file must not allocate or hang.
    const v2 = npyFile(npyHeader(dictFor('<f4', [3]), { version: 2 }), data, { version: 2, headerLength: 2 ** 32 - 1 });
    expectWasmquantError(() => readNpy(v2), Error, /truncated/);
  });

  it('unsupported dtypes are named', () => {
    const cases = {
      '>f4': /big-endian \(float32\)/,
      '>i2': /big-endian \(int16\)/,
      '>f8': /big-endian/,
      '<i4': /\(int32\) is not supported/,
      '<i8': /\(int64\)/,
      '<u4': /\(uint32\)/,
      '|b1': /\(bool\)/,
      '|O': /\(object\)/,
      '<c8': /\(complex64\)/,
      '<f16': /\(float128\)/,
      '<U10': /\(unicode string\)/,
      '|S3': /\(bytes\)/,
      '|V8': /\(void\)/,
      '<M8[ns]': /"<M8\[ns\]" is not supported/,
      float32: /"float32" is not supported/,
      '': /"" is not supported/,
    };
    for (const [descr, message] of Object.entries(cases)) {
      const error = expectWasmquantError(() => readNpy(fileWithDict(dictFor(descr, [1]), new Uint8Array(16))), Error, message);
      expect(error.message).toMatch(/<f4'|astype\('</); // lists what is supported, or how to fix it
    }
    expectWasmquantError(
      () => readNpy(fileWithDict("{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, 'shape': (1,), }", new Uint8Array(8))),
      Error,
      /structured \(record\) dtypes are not supported/,
    );
  });

  it('huge shapes give a RangeError before any allocation', () => {
    for (const tuple of ['(1099511627776,)', '(2147483649,)', '(65536, 65536)', '(9007199254740991,)', '(4294967296, 4294967296, 4294967296)']) {
      const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${tuple}, }`;
      expectWasmquantError(() => readNpy(fileWithDict(dict, new Uint8Array(4))), RangeError, /2\^31|too large/);
    }
    const big = `{'descr': '<f4', 'fortran_order': False, 'shape': (${'9'.repeat(30)},), }`;
    expectWasmquantError(() => readNpy(fileWithDict(big, new Uint8Array(4))), RangeError, /too large/);
    // ... unless another axis is 0: numpy allows (2**40, 0), with no data.
    const empty = readNpy(fileWithDict("{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 0), }"));
    expect(empty.shape).toEqual([2 ** 40, 0]);
    expect(empty.data.length).toBe(0);
  });

  it('shapes that are not tuples of non-negative integers', () => {
    const cases = {
      '(3)': /is not a tuple; numpy writes \(3,\)/,
      '[3]': /unsupported value for 'shape'/,
      '(-1,)': /must not be negative/,
      '(3.5,)': /expected ','/,
      "('a',)": /non-negative integer/,
      '(1e3,)': /expected ','/,
      '(03,)': /leading zeros/,
      '(3,,)': /non-negative integer/,
      '(3': /expected ','|non-negative integer/,
      3: /unsupported value/,
      "'3'": /'shape' must be a tuple/,
      True: /'shape' must be a tuple/,
    };
    for (const [tuple, message] of Object.entries(cases)) {
      const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${tuple}, }`;
      expectWasmquantError(() => readNpy(fileWithDict(dict, new Uint8Array(12))), Error, message);
    }
    // The long suffix is Python 2 only; 3.0 headers never had it.
    const v3 = npyFile(npyHeader(dictFor('<f4', [3]).replace('3,', '3L,'), { version: 3 }), new Uint8Array(12), { version: 3 });
    expectWasmquantError(() => readNpy(v3), Error, /non-negative integer/);
  });

  it('headers that are not the dict numpy writes', () => {
    const cases = {
      "{'descr': '<f4', 'fortran_order': False}": /exactly the keys descr, fortran_order, shape; it has descr, fortran_order$/,
      "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'extra': 1}": /unsupported value for 'extra'/,
      "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'extra': 'x'}": /exactly the keys.*descr, extra, fortran_order, shape/,
      "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (3,)}": /the key 'descr' appears twice/,
      "{'descr': '<f4', 'fortran_order': 0, 'shape': (3,)}": /unsupported value for 'fortran_order'/,
      "{'descr': '<f4', 'fortran_order': 'False', 'shape': (3,)}": /'fortran_order' must be True or False/,
      "{'descr': '<f4', 'fortran_order': false, 'shape': (3,)}": /unsupported value/,
      "{'descr': 3, 'fortran_order': False, 'shape': (3,)}": /unsupported value for 'descr'/,
      "{'descr': (3,), 'fortran_order': False, 'shape': (3,)}": /'descr' must be a string/,
      "{'descr': '<f4' 'fortran_order': False, 'shape': (3,)}": /expected ',' or '}'/,
      "{'descr': '<f4', 'fortran_order': False, 'shape': (3,)} trailing": /unexpected text after '}'/,
      "{'descr': '<f4', 'fortran_order': False, 'shape': (3,)}}": /unexpected text after '}'/,
      "{'descr': '<\\x66\\x34', 'fortran_order': False, 'shape': (3,)}": /escape sequences/,
      "{'descr: '<f4', 'fortran_order': False, 'shape': (3,)}": /expected ':'/,
      "{'descr': '<f4', 'fortran_order': False, 'shape': (3,)": /expected ',' or '}'|expected a quoted string/,
      "{descr: '<f4'}": /expected a quoted string/,
      '[1, 2, 3]': /expected '\{'/,
      "'just a string'": /expected '\{'/,
      '': /expected '\{'/,
      "__import__('os').system('echo hi')": /expected '\{'/,
    };
    for (const [dict, message] of Object.entries(cases)) {
      expectWasmquantError(() => readNpy(fileWithDict(dict, new Uint8Array(12))), Error, message);
    }
  });

  it('a Fortran-order file with 100000 axes of length 1 is transposed in no time', () => {
    const shape = [100000, ...new Array(100000).fill(1), 1];
    const dict = `{'descr': '<f4', 'fortran_order': True, 'shape': (${shape.join(', ')}), }`;
    const data = Float32Array.from({ length: 100000 }, (_, i) => i);
    const got = readNpy(npyFile(npyHeader(dict, { version: 2 }), leBytes(Float32Array, [...data]), { version: 2 }));
    expect(got.shape.length).toBe(100002);
    expectSameTyped(got.data, data);
  });

  it('a header that does not end in a newline', () => {
    const dict = `${dictFor('<f4', [3])}      `;
    expectWasmquantError(() => readNpy(npyFile(dict, new Uint8Array(12))), Error, /does not end with a newline/);
  });

  it('a 3.0 header that is not UTF-8', () => {
    const header = concat(ascii("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), } "), Uint8Array.of(0xc3, 0x28), ascii('\n'));
    const file = concat(Uint8Array.of(0x93, ...ascii('NUMPY'), 3, 0, header.length, 0, 0, 0), header, new Uint8Array(12));
    expectWasmquantError(() => readNpy(file), Error, /not valid UTF-8/);
  });

  it('arguments that are not bytes', () => {
    for (const bad of [undefined, null, 'file.npy', 42, [0x93, 0x4e], new Int8Array(16), new DataView(new ArrayBuffer(16)), {}]) {
      expectWasmquantError(() => readNpy(bad), TypeError, /readNpy\(bytes\) must be a Uint8Array/);
    }
  });
});

describe('writeNpy: bad arguments', () => {
  it('unsupported data types', () => {
    for (const bad of [
      new Int32Array(2),
      new Uint32Array(2),
      new BigInt64Array(2),
      new Uint8ClampedArray(2),
      [1, 2],
      'ab',
      null,
      undefined,
      new DataView(new ArrayBuffer(2)),
    ]) {
      expectWasmquantError(() => writeNpy(bad, [2]), TypeError, /data must be a Float32Array/);
    }
  });

  it('shapes that do not fit the data', () => {
    expectWasmquantError(() => writeNpy(new Float32Array(6), [2, 2]), RangeError, /shape \[2, 2\] has 4 elements but data has 6/);
    expectWasmquantError(() => writeNpy(new Float32Array(1), [-1]), RangeError, /shape\[0\] must be a non-negative integer/);
    expectWasmquantError(() => writeNpy(new Float32Array(1), [1.5]), RangeError, /non-negative integer/);
    expectWasmquantError(() => writeNpy(new Float32Array(1), ['1']), TypeError, /shape\[0\] must be a number/);
    expectWasmquantError(() => writeNpy(new Float32Array(1), 1), TypeError, /shape must be an array/);
    expectWasmquantError(() => writeNpy(new Float32Array(1), [2 ** 40, 2 ** 40]), RangeError, /2\^31/);
  });
});

describe('fuzz (fast-check, fixed seed)', () => {
  const seeds = [
    writeNpy(Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3]),
    writeNpy(Int16Array.of(-1, 2), [2, 1]),
    writeNpy(new Uint8Array(0), [0, 4]),
    writeNpy(Float32Array.of(7), []),
    writeNpy(randomTyped(Uint16Array, 240, 1), [4, 6, 10]),
    fromBase64(NUMPY_FILES.f2_5),
    fromBase64(NUMPY_FILES.f4_fortran_2x3x4),
    fromBase64(NUMPY_FILES.f4_v3_3),
  ];
  const ITEM = { float32: 4, float16: 2, float64: 8, uint8: 1, int8: 1, uint16: 2, int16: 2 };

  // Either a consistent result or a wasmquant error.
  let parsed = 0;
  function checkOutcome(bytes) {
    const got = resultOrWasmquantError(() => readNpy(bytes));
    if (got === undefined) return;
    parsed += 1;
    expect(Object.keys(ITEM)).toContain(got.dtype);
    expect(got.data.length).toBe(product(got.shape));
    expect(got.shape.every((d) => Number.isSafeInteger(d) && d >= 0)).toBe(true);
    expect(bytes.length).toBeGreaterThanOrEqual(got.data.length * ITEM[got.dtype]);
  }

  it('random byte mutations of valid files', () => {
    parsed = 0;
    fuzzByteMutations(seeds, checkOutcome);
    expect(parsed).toBeGreaterThan(200); // the mutations did not all break the files
  });

  it('mutations of the header text (characters from its grammar)', () => {
    const alphabet = '{}()[],:\'" 0123456789TrueFalsL<>|=fiucbOU-\n\t';
    const base = npyHeader(dictFor('<f4', [2, 3]));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: alphabet.length - 1 }), fc.constantFrom('set', 'insert', 'delete')), {
          minLength: 1,
          maxLength: 5,
        }),
        (edits) => {
          let text = base;
          for (const [at, c, op] of edits) {
            const i = at % text.length;
            if (op === 'set') text = text.slice(0, i) + alphabet[c] + text.slice(i + 1);
            else if (op === 'insert') text = text.slice(0, i) + alphabet[c] + text.slice(i);
            else text = text.slice(0, i) + text.slice(i + 1);
          }
          checkOutcome(npyFile(text, new Uint8Array(24)));
        },
      ),
      { seed: FC_SEED, numRuns: 4000 },
    );
  });

  it('random header dicts with random shapes and dtypes', () => {
    const descr = fc.constantFrom('<f4', '<f2', '<f8', '|u1', '|i1', '<u2', '<i2', '>f4', '<i4', '|b1', 'O', '<c8', 'x');
    const dim = fc.oneof(fc.nat({ max: 4 }), fc.constantFrom(2 ** 31, 2 ** 40, 2 ** 53 - 1));
    fc.assert(
      fc.property(descr, fc.boolean(), fc.array(dim, { maxLength: 5 }), fc.nat({ max: 64 }), (d, fortran, shape, dataBytes) => {
        checkOutcome(fileWithDict(dictFor(d, shape, fortran), new Uint8Array(dataBytes)));
      }),
      { seed: FC_SEED, numRuns: 3000 },
    );
  });

  it('round trip of random arrays and shapes', () => {
    const typeArb = fc.constantFrom(...TYPES);
    fc.assert(
      fc.property(typeArb, fc.array(fc.nat({ max: 4 }), { maxLength: 4 }), fc.nat(), (Type, shape, seed) => {
        const data = randomTyped(Type, product(shape), seed);
        const got = readNpy(writeNpy(data, shape));
        expect(got.shape).toEqual(shape);
        expectSameTyped(got.data, Type === Float64Array ? new Float32Array(data) : data);
      }),
      { seed: FC_SEED, numRuns: 500 },
    );
  });
});
