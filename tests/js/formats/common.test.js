// The helpers under the formats: float16/bfloat16 widening (all 65536
// half values against an independent formula), byte swapping for
// big-endian hosts, and the duplicate-key check for JSON.
import { describe, expect, it } from 'vitest';
import * as pkg from '../../../web/index.js';
import {
  bfloat16ToFloat32,
  elementCount,
  findDuplicateKey,
  float16ToFloat32,
  isPlainObject,
  parseJson,
  readLittleEndian,
  swapBytes,
} from '../../../web/formats/common.js';
import * as formats from '../../../web/formats/index.js';
import { expectWasmquantError } from './util.js';

// IEEE 754 binary16 value from its fields, in double arithmetic.
function halfValue(h) {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

describe('float16 → float32', () => {
  it('all 65536 values, exactly, NaN payloads and -0 kept', () => {
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const got = float16ToFloat32(all);
    const bits = new Uint32Array(got.buffer);
    for (let h = 0; h < 65536; h += 1) {
      const want = halfValue(h);
      if (Number.isNaN(want)) {
        // A quiet/signalling float16 NaN keeps sign and payload: shifted into place.
        if (bits[h] !== (((h & 0x8000) << 16) | 0x7f800000 | ((h & 0x3ff) << 13)) >>> 0) {
          expect.fail(`NaN 0x${h.toString(16)} → 0x${bits[h].toString(16)}`);
        }
      } else if (!Object.is(got[h], want)) {
        expect.fail(`0x${h.toString(16)}: ${got[h]} instead of ${want}`);
      }
    }
  });
});

describe('bfloat16 → float32', () => {
  it('is the top half of the float32 bits', () => {
    const halves = Uint16Array.of(0x0000, 0x8000, 0x3f80, 0xbfc0, 0x7f80, 0xff80, 0x7fc1, 0x0001, 0x7f7f);
    const got = bfloat16ToFloat32(halves);
    expect(Array.from(new Uint32Array(got.buffer))).toEqual(Array.from(halves, (h) => h * 65536));
    expect(Array.from(got.subarray(0, 6))).toEqual([0, -0, 1, -1.5, Infinity, -Infinity]);
  });
});

describe('byte order', () => {
  it('swapBytes reverses each element, as a big-endian host needs', () => {
    expect(Array.from(swapBytes(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8), 4))).toEqual([4, 3, 2, 1, 8, 7, 6, 5]);
    expect(Array.from(swapBytes(Uint8Array.of(1, 2, 3, 4), 2))).toEqual([2, 1, 4, 3]);
    expect(Array.from(swapBytes(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8), 8))).toEqual([8, 7, 6, 5, 4, 3, 2, 1]);
  });

  it('readLittleEndian copies from any offset into a fresh buffer', () => {
    const bytes = Uint8Array.of(0xff, 0x00, 0x00, 0x80, 0x3f, 0xff);
    const got = readLittleEndian(bytes, 1, 5, Float32Array);
    expect(Array.from(got)).toEqual([1]);
    expect(got.buffer).not.toBe(bytes.buffer);
    expect(got.byteOffset).toBe(0);
  });
});

describe('elementCount', () => {
  it('counts, and refuses more than 2^31 elements before allocating', () => {
    expect(elementCount([], 's')).toBe(1);
    expect(elementCount([2, 3, 4], 's')).toBe(24);
    expect(elementCount([2 ** 40, 0], 's')).toBe(0);
    expect(elementCount([2 ** 31], 's')).toBe(2 ** 31);
    expectWasmquantError(() => elementCount([2 ** 31 + 1], 's'), RangeError, /more than 2\^31/);
    expectWasmquantError(() => elementCount([2 ** 16, 2 ** 16], 's'), RangeError, /more than 2\^31/);
  });
});

describe('isPlainObject', () => {
  it('object literals and JSON objects only', () => {
    expect(isPlainObject({})).toBe(true);
    expect(isPlainObject(Object.create(null))).toBe(true);
    expect(isPlainObject(JSON.parse('{"a":1}'))).toBe(true);
    for (const no of [null, [], new Map(), new Float32Array(1), new Date(), 'x', 1, () => {}, new (class A {})()]) {
      expect(isPlainObject(no)).toBe(false);
    }
  });
});

describe('duplicate JSON keys', () => {
  const cases = [
    ['{}', undefined],
    ['{"a":1,"b":{"a":2},"c":[{"a":1},{"a":2}]}', undefined],
    ['{"a":"a","b":"a"}', undefined], // equal values are fine
    ['{"a":1,"a":2}', { key: 'a', path: [] }],
    ['{"x":{"k":1,"k":2}}', { key: 'k', path: ['x'] }],
    ['{"x":[1,{"q":{"k":1,"k":2}}]}', { key: 'k', path: ['x', 'q'] }],
    ['{"a":1,"\\u0061":2}', { key: 'a', path: [] }],
    ['{"a\\"b":1,"a\\"b":2}', { key: 'a"b', path: [] }],
    ['{"s":"}{\\",\\"s\\":","t":1}', undefined],
    ['[{"a":1},{"a":1}]', undefined],
    ['{"__proto__":1,"__proto__":2}', { key: '__proto__', path: [] }],
  ];
  for (const [text, want] of cases) {
    it(text, () => expect(findDuplicateKey(text)).toEqual(want));
  }

  it('parseJson reports them, and invalid JSON, as wasmquant errors', () => {
    expectWasmquantError(() => parseJson('{"a":1,"a":2}', 'the file'), Error, /the file has the key "a" twice$/);
    expectWasmquantError(() => parseJson('{"a":', 'the file'), Error, /the file is not valid JSON/);
  });
});

describe('the package', () => {
  it('exports the format functions from its entry point', () => {
    for (const name of ['readNpy', 'writeNpy', 'readSafetensors', 'writeSafetensors', 'toAimetEncodings', 'fromAimetEncodings']) {
      expect(typeof pkg[name]).toBe('function');
      expect(pkg[name]).toBe(formats[name]);
    }
  });
});
