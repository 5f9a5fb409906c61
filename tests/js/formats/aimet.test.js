// AIMET encodings files (SPEC §5): writing both versions, reading files as
// AIMET and hand-written override files have them, exact round trips, and
// errors that name the tensor and the field.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromAimetEncodings, toAimetEncodings } from '../../../web/formats/index.js';
import { normalArray, quantizerFor } from '../helpers.js';
import { expectWasmquantError, FC_SEED, resultOrWasmquantError } from './util.js';

// SPEC §2.1 row 1 and §3.1: the documentation's worked example, and an
// 8-bit symmetric weight encoding.
const ASYM = { bitwidth: 8, min: -1.803921568627451, max: 0.496078431372549, scale: 0.009019607843137253, offset: -200, isSymmetric: false };
const SYM = { bitwidth: 8, min: -128 * 0.01, max: 127 * 0.01, scale: 0.01, offset: -128, isSymmetric: true };

// min/max that 1.0.0 files imply (they carry none): SPEC §1 and §3.1,
// written out independently of web/formats/aimet.js.
function derived({ bitwidth, scale, offset, isSymmetric }) {
  const min = offset * scale;
  const symmetricGrid = isSymmetric && (offset === -(2 ** (bitwidth - 1)) || offset === -(2 ** (bitwidth - 1) - 1));
  const max = symmetricGrid ? (2 ** (bitwidth - 1) - 1) * scale : min + (2 ** bitwidth - 1) * scale;
  return { bitwidth, min, max, scale, offset, isSymmetric };
}

// Equality that also tells -0 from 0 and compares every number bit for bit.
function expectExactly(actual, expected) {
  expect(actual).toStrictEqual(expected);
}

describe('toAimetEncodings 0.6.1', () => {
  it('per-tensor and per-channel, as AIMET and the QNN converters lay it out', () => {
    const channels = [
      { bitwidth: 4, min: -1.2, max: 1.05, scale: 0.15, offset: -8, isSymmetric: true },
      { bitwidth: 4, min: -2.4, max: 2.1, scale: 0.3, offset: -8, isSymmetric: true },
    ];
    const file = toAimetEncodings({ 'conv1.weight': channels, 'fc.bias': ASYM });
    expect(file).toStrictEqual({
      version: '0.6.1',
      activation_encodings: {},
      param_encodings: {
        'conv1.weight': [
          { bitwidth: 4, dtype: 'int', is_symmetric: 'True', max: 1.05, min: -1.2, offset: -8, scale: 0.15 },
          { bitwidth: 4, dtype: 'int', is_symmetric: 'True', max: 2.1, min: -2.4, offset: -8, scale: 0.3 },
        ],
        'fc.bias': [{ bitwidth: 8, dtype: 'int', is_symmetric: 'False', max: ASYM.max, min: ASYM.min, offset: -200, scale: ASYM.scale }],
      },
      excluded_layers: [],
      quantizer_args: {
        activation_bitwidth: 8,
        dtype: 'int',
        is_symmetric: false,
        param_bitwidth: 8,
        per_channel_quantization: true,
        quant_scheme: 'post_training_tf',
      },
    });
    // JSON-serializable as is; is_symmetric stays a string in the JSON.
    expect(JSON.stringify(file)).toContain('"is_symmetric":"True"');
    expect(JSON.parse(JSON.stringify(file))).toStrictEqual(file);
  });

  it('quantizer_args follow the encodings', () => {
    const args = (x) => toAimetEncodings(x).quantizer_args;
    expect(args({ w: SYM })).toMatchObject({ is_symmetric: true, param_bitwidth: 8, per_channel_quantization: false });
    expect(args({ w: { ...SYM, bitwidth: 16, offset: -32768 } })).toMatchObject({ param_bitwidth: 16 });
    expect(args({})).toMatchObject({ is_symmetric: false, param_bitwidth: 8, per_channel_quantization: false });
  });

  it('min and max default to the ones scale and offset imply', () => {
    const file = toAimetEncodings({ w: { bitwidth: 8, scale: 0.5, offset: -10 } });
    expect(file.param_encodings.w[0]).toMatchObject({ min: -5, max: -5 + 255 * 0.5, is_symmetric: 'False' });
  });
});

describe('toAimetEncodings 1.0.0', () => {
  it('per-tensor and per-channel entries', () => {
    const file = toAimetEncodings({ 'conv1.weight': [SYM, { ...SYM, scale: 0.02 }], act: ASYM }, { version: '1.0.0' });
    expect(file).toStrictEqual({
      version: '1.0.0',
      activation_encodings: [],
      param_encodings: [
        { name: 'conv1.weight', dtype: 'INT', enc_type: 'PER_CHANNEL', is_sym: true, bw: 8, scale: [0.01, 0.02], offset: [-128, -128] },
        { name: 'act', dtype: 'INT', enc_type: 'PER_TENSOR', is_sym: false, bw: 8, scale: [ASYM.scale], offset: [-200] },
      ],
      excluded_layers: [],
      quantizer_args: {
        activation_bitwidth: 8,
        dtype: 'int',
        is_symmetric: false,
        param_bitwidth: 8,
        per_channel_quantization: true,
        quant_scheme: 'post_training_tf',
      },
    });
  });

  it('one bitwidth and one symmetry per tensor', () => {
    expectWasmquantError(
      () => toAimetEncodings({ w: [SYM, { ...ASYM, bitwidth: 8 }] }, { version: '1.0.0' }),
      RangeError,
      /tensor "w" channel 1: version 1\.0\.0 has one bitwidth and one isSymmetric per tensor/,
    );
    expectWasmquantError(() => toAimetEncodings({ w: [ASYM, { ...ASYM, bitwidth: 16 }] }, { version: '1.0.0' }), RangeError, /channel 1/);
  });
});

describe('round trips', () => {
  const sets = {
    'per-tensor asymmetric': { w: ASYM },
    'per-tensor symmetric': { w: SYM },
    'strict symmetric': { w: { bitwidth: 8, min: -1.27, max: 1.27, scale: 0.01, offset: -127, isSymmetric: true } },
    'per-channel symmetric': {
      w: [SYM, { ...SYM, scale: 0.5, min: -64, max: 63.5 }, { ...SYM, scale: 2 ** -20, min: -128 * 2 ** -20, max: 127 * 2 ** -20 }],
    },
    'per-channel asymmetric, 16 bits': {
      w: [
        { ...ASYM, bitwidth: 16, offset: -51288, scale: 3.50957503e-5 },
        { ...ASYM, bitwidth: 16, offset: 0, scale: 1e-3 },
      ],
    },
    '2 bits and several tensors': { a: { bitwidth: 2, min: 0, max: 3, scale: 1, offset: 0, isSymmetric: false }, 'b/c:0': ASYM },
    'all zeros (§2.1 last row)': { z: { bitwidth: 8, min: 0, max: 0.01, scale: 0.01 / 255, offset: 0, isSymmetric: false } },
  };
  for (const [name, encodings] of Object.entries(sets)) {
    it(`0.6.1, ${name}: exact, through the object and through JSON text`, () => {
      const file = toAimetEncodings(encodings);
      expectExactly(fromAimetEncodings(file), encodings);
      expectExactly(fromAimetEncodings(JSON.stringify(file, null, 4)), encodings);
    });
    it(`1.0.0, ${name}: scale/offset exact, min/max derived from them`, () => {
      const file = toAimetEncodings(encodings, { version: '1.0.0' });
      const expected = Object.fromEntries(Object.entries(encodings).map(([k, v]) => [k, Array.isArray(v) ? v.map(derived) : derived(v)]));
      expectExactly(fromAimetEncodings(JSON.stringify(file)), expected);
    });
  }

  it('a one-channel list: an object after 0.6.1 (no way to tell), an array after 1.0.0 (PER_CHANNEL)', () => {
    expectExactly(fromAimetEncodings(toAimetEncodings({ w: [SYM] })), { w: SYM });
    expectExactly(fromAimetEncodings(toAimetEncodings({ w: [SYM] }, { version: '1.0.0' })), { w: [derived(SYM)] });
  });

  it('awkward tensor names (__proto__, constructor, unicode) survive both versions', () => {
    const encodings = { __proto__x: ASYM, constructor: SYM, ['__proto__']: ASYM, 'ü/😀:0': SYM };
    for (const version of ['0.6.1', '1.0.0']) {
      const back = fromAimetEncodings(JSON.stringify(toAimetEncodings(encodings, { version })));
      expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
      expect(Object.keys(back).sort()).toEqual(Object.keys(encodings).sort());
    }
  });

  it('random encodings (fast-check): exact for 0.6.1, derived min/max for 1.0.0', () => {
    const encodingArb = fc.integer({ min: 2, max: 16 }).chain((bitwidth) =>
      fc.record({
        bitwidth: fc.constant(bitwidth),
        min: fc.double({ noNaN: true, noDefaultInfinity: true }),
        max: fc.double({ noNaN: true, noDefaultInfinity: true }),
        scale: fc.double({ min: Number.MIN_VALUE, max: 1e300, noNaN: true }),
        offset: fc.integer({ min: -(2 ** bitwidth - 1), max: 0 }),
        isSymmetric: fc.boolean(),
      }),
    );
    const setArb = fc.dictionary(
      fc.string({ minLength: 1, maxLength: 6 }),
      fc.oneof(encodingArb, fc.array(encodingArb, { minLength: 2, maxLength: 4 })),
      { maxKeys: 4 },
    );
    fc.assert(
      fc.property(setArb, (set) => {
        const clean = JSON.parse(JSON.stringify(set)); // -0 → 0, as JSON does
        expectExactly(fromAimetEncodings(JSON.stringify(toAimetEncodings(clean))), clean);
        const v1 = resultOrWasmquantError(() => toAimetEncodings(clean, { version: '1.0.0' }));
        if (v1 === undefined) return; // channels with mixed bitwidth/symmetry
        const back = fromAimetEncodings(JSON.stringify(v1));
        for (const [name, value] of Object.entries(clean)) {
          const want = Array.isArray(value) ? value.map(derived) : derived(value);
          expectExactly(back[name], want);
        }
      }),
      { seed: FC_SEED, numRuns: 1500 },
    );
  });
});

describe('fromAimetEncodings: files as AIMET and people write them', () => {
  it('0.6.1 as AIMET exports it, activation encodings included', () => {
    const text = `{
    "activation_encodings": {
        "conv2d/BiasAdd:0": [
            { "bitwidth": 8, "dtype": "int", "is_symmetric": "False", "max": 0.49411764705882355, "min": -0.5019607843137255, "offset": -128, "scale": 0.00392156862745098 }
        ]
    },
    "excluded_layers": [],
    "param_encodings": {
        "conv2d/Conv2D/ReadVariableOp:0": [
            { "bitwidth": 4, "dtype": "int", "is_symmetric": "True", "max": 1.05, "min": -1.2, "offset": -8, "scale": 0.15 },
            { "bitwidth": 4, "dtype": "int", "is_symmetric": "True", "max": 0.7, "min": -0.8, "offset": -8, "scale": 0.1 }
        ]
    },
    "quantizer_args": { "activation_bitwidth": 8, "dtype": "int", "is_symmetric": true, "param_bitwidth": 4, "per_channel_quantization": true, "quant_scheme": "post_training_tf_enhanced" },
    "version": "0.6.1"
}`;
    expectExactly(fromAimetEncodings(text), {
      'conv2d/BiasAdd:0': {
        bitwidth: 8,
        min: -0.5019607843137255,
        max: 0.49411764705882355,
        scale: 0.00392156862745098,
        offset: -128,
        isSymmetric: false,
      },
      'conv2d/Conv2D/ReadVariableOp:0': [
        { bitwidth: 4, min: -1.2, max: 1.05, scale: 0.15, offset: -8, isSymmetric: true },
        { bitwidth: 4, min: -0.8, max: 0.7, scale: 0.1, offset: -8, isSymmetric: true },
      ],
    });
  });

  it('1.0.0 as AIMET exports it: offsets written as floats (-128.0), FLOAT activations refused', () => {
    const text = `{
  "version": "1.0.0",
  "activation_encodings": [
    { "name": "input", "dtype": "INT", "enc_type": "PER_TENSOR", "is_sym": false, "bw": 16, "scale": [6.05e-05], "offset": [-35799.0] }
  ],
  "param_encodings": [
    { "name": "conv1.weight", "dtype": "INT", "enc_type": "PER_CHANNEL", "is_sym": true, "bw": 8, "scale": [0.012000000104308128, 0.014999999664723873], "offset": [-128.0, -128.0] }
  ],
  "excluded_layers": [],
  "quantizer_args": {}
}`;
    expectExactly(fromAimetEncodings(text), {
      input: derived({ bitwidth: 16, scale: 6.05e-5, offset: -35799, isSymmetric: false }),
      'conv1.weight': [
        derived({ bitwidth: 8, scale: 0.012000000104308128, offset: -128, isSymmetric: true }),
        derived({ bitwidth: 8, scale: 0.014999999664723873, offset: -128, isSymmetric: true }),
      ],
    });
  });

  it('hand-written override files: no version, booleans for is_symmetric, no min/max, bare entries', () => {
    const legacy = { param_encodings: { w: [{ bitwidth: 8, is_symmetric: true, scale: 0.5, offset: -128 }] } };
    expectExactly(fromAimetEncodings(legacy), { w: derived({ bitwidth: 8, scale: 0.5, offset: -128, isSymmetric: true }) });
    const bare = { activation_encodings: { a: { bitwidth: 8, scale: 0.5, offset: 0 } } };
    expectExactly(fromAimetEncodings(bare), { a: derived({ bitwidth: 8, scale: 0.5, offset: 0, isSymmetric: false }) });
    for (const [value, expected] of [
      ['True', true],
      ['False', false],
      ['true', true],
      ['FALSE', false],
      [true, true],
      [false, false],
    ]) {
      expect(fromAimetEncodings({ param_encodings: { w: [{ bitwidth: 8, is_symmetric: value, scale: 1, offset: -128 }] } }).w.isSymmetric).toBe(
        expected,
      );
    }
    // 1.0.0 layout without a version; scale/offset as bare numbers; no enc_type.
    const v1 = {
      param_encodings: [
        { name: 'w', bw: 8, scale: 0.5, offset: -3 },
        { name: 'c', bw: 8, scale: [1, 2], offset: [0, -1] },
      ],
    };
    expectExactly(fromAimetEncodings(v1), {
      w: derived({ bitwidth: 8, scale: 0.5, offset: -3, isSymmetric: false }),
      c: [derived({ bitwidth: 8, scale: 1, offset: 0, isSymmetric: false }), derived({ bitwidth: 8, scale: 2, offset: -1, isSymmetric: false })],
    });
    // Empty sections are fine.
    expect(fromAimetEncodings({ version: '0.6.1', param_encodings: {}, activation_encodings: {} })).toStrictEqual({});
    expect(fromAimetEncodings({ version: '1.0.0', param_encodings: [] })).toStrictEqual({});
  });
});

describe('fromAimetEncodings: errors name the tensor and the field', () => {
  const legacy = (entry, name = 'conv1.weight') => ({ version: '0.6.1', param_encodings: { [name]: [entry] } });
  const good = { bitwidth: 8, dtype: 'int', is_symmetric: 'False', min: -1, max: 1, scale: 0.01, offset: -100 };
  const v1 = (entry) => ({
    version: '1.0.0',
    param_encodings: [{ name: 'conv1.weight', dtype: 'INT', enc_type: 'PER_TENSOR', bw: 8, is_sym: false, scale: [0.1], offset: [-3], ...entry }],
  });
  const without = (o, key) => Object.fromEntries(Object.entries(o).filter(([k]) => k !== key));

  const cases = [
    // 0.6.1 entries
    [
      legacy({ ...good, scale: -1 }),
      RangeError,
      /^wasmquant: encodings file: tensor "conv1\.weight": field "scale" must be a positive number, got -1$/,
    ],
    [legacy({ ...good, scale: 0 }), RangeError, /field "scale" must be a positive number, got 0/],
    [legacy({ ...good, scale: '0.01' }), TypeError, /tensor "conv1\.weight": field "scale" must be a positive number, got "0\.01"/],
    [legacy({ ...good, scale: null }), TypeError, /field "scale" must be a positive number, got null/],
    [legacy(without(good, 'scale')), TypeError, /tensor "conv1\.weight": field "scale" is missing$/],
    [legacy(without(without(without(good, 'scale'), 'offset'), 'bitwidth')), TypeError, /field "bitwidth" is missing/],
    [legacy(without(good, 'offset')), TypeError, /field "offset" is missing/],
    [legacy(without(good, 'bitwidth')), TypeError, /field "bitwidth" is missing/],
    [legacy({ ...good, offset: -1.5 }), RangeError, /field "offset" must be an integer from -255 to 0 for bitwidth 8/],
    [legacy({ ...good, offset: 5 }), RangeError, /field "offset" must be an integer from -255 to 0/],
    [legacy({ ...good, offset: -256 }), RangeError, /field "offset" .* got -256/],
    [legacy({ ...good, offset: '-100' }), TypeError, /field "offset" must be an integer/],
    [legacy({ ...good, bitwidth: 32 }), RangeError, /field "bitwidth" must be an integer from 2 to 16, got 32/],
    [legacy({ ...good, bitwidth: 1 }), RangeError, /field "bitwidth"/],
    [legacy({ ...good, bitwidth: 8.5 }), RangeError, /field "bitwidth"/],
    [legacy({ ...good, bitwidth: '8' }), TypeError, /field "bitwidth" must be an integer from 2 to 16, got "8"/],
    [legacy({ ...good, is_symmetric: 'yes' }), TypeError, /field "is_symmetric" must be "True" or "False", got "yes"/],
    [legacy({ ...good, is_symmetric: 1 }), TypeError, /field "is_symmetric"/],
    [legacy({ ...good, min: 'a' }), TypeError, /field "min" must be a number/],
    [legacy({ ...good, max: null }), TypeError, /field "max" must be a number, got null/],
    [legacy({ bitwidth: 16, dtype: 'float' }), Error, /tensor "conv1\.weight": field "dtype" is "float": float encodings cannot be applied/],
    [legacy({ ...good, dtype: 'uint' }), Error, /field "dtype" must be "int", got "uint"/],
    [legacy(7), TypeError, /tensor "conv1\.weight" must be an object/],
    [{ param_encodings: { w: [good, { ...good, scale: -2 }] } }, RangeError, /tensor "w" channel 1: field "scale"/],
    [{ param_encodings: { w: [] } }, Error, /tensor "w": the list of encodings is empty/],
    [{ param_encodings: { w: 'x' } }, TypeError, /tensor "w" must be an object/],
    // 1.0.0 entries
    [v1({ scale: [-1] }), RangeError, /tensor "conv1\.weight": field "scale" must be a positive number, got -1/],
    [v1({ scale: [0.1, 0.2] }), Error, /fields "scale" and "offset" must have one entry per channel, but have 2 and 1/],
    [v1({ enc_type: 'PER_CHANNEL', scale: [0.1, 0.2], offset: [-3] }), Error, /have 2 and 1/],
    [v1({ enc_type: 'PER_CHANNEL', scale: [0.1, 0.2], offset: [-3, 0.5] }), RangeError, /tensor "conv1\.weight" channel 1: field "offset"/],
    [v1({ enc_type: 'PER_TENSOR', scale: [0.1, 0.2], offset: [-3, -3] }), Error, /enc_type "PER_TENSOR" needs one scale and offset, got 2/],
    [v1({ enc_type: 'PER_BLOCK', block_size: 2 }), Error, /field "enc_type" is "PER_BLOCK"; only "PER_TENSOR" and "PER_CHANNEL"/],
    [v1({ enc_type: 'LPBQ' }), Error, /"LPBQ"/],
    [v1({ dtype: 'FLOAT', bw: 16 }), Error, /tensor "conv1\.weight": field "dtype" is "FLOAT": float encodings cannot be applied/],
    [v1({ bw: 0 }), RangeError, /field "bw" must be an integer from 2 to 16/],
    [v1({ bw: undefined }), TypeError, /field "bw" is missing/],
    [v1({ scale: undefined }), TypeError, /field "scale" is missing/],
    [v1({ offset: [] }), TypeError, /field "offset" must be a non-empty list of numbers/],
    [v1({ offset: '-3' }), TypeError, /field "offset" must be a non-empty list/],
    [v1({ is_sym: 'maybe' }), TypeError, /field "is_sym" must be "True" or "False"/],
    [v1({ name: undefined }), TypeError, /param_encodings\[0\]: field "name" must be a tensor name, got undefined/],
    [v1({ name: '' }), TypeError, /field "name"/],
    [{ version: '1.0.0', param_encodings: [5] }, TypeError, /param_encodings\[0\] must be an object/],
    // the file as a whole
    [
      {
        version: '1.0.0',
        param_encodings: [{ name: 'a', bw: 8, scale: [1], offset: [0] }],
        activation_encodings: [{ name: 'a', bw: 8, scale: [1], offset: [0] }],
      },
      Error,
      /tensor "a" has encodings twice/,
    ],
    [{ param_encodings: { a: [good] }, activation_encodings: { a: [good] } }, Error, /tensor "a" has encodings twice/],
    [{ version: '0.5.0', param_encodings: {} }, Error, /version "0\.5\.0" is not supported; supported: 0\.6\.1, 1\.0\.0/],
    [{ version: 1, param_encodings: {} }, Error, /version 1 is not supported/],
    [{ version: '1.0.0', param_encodings: {} }, Error, /"param_encodings" must be a list of encodings in version 1\.0\.0, got an Object/],
    [
      { version: '0.6.1', param_encodings: [] },
      Error,
      /"param_encodings" must be an object \{ tensor: \[encoding, \.\.\.\] \} in version 0\.6\.1, got an Array/,
    ],
    [{ version: '0.6.1', activation_encodings: null }, Error, /"activation_encodings" must be an object/],
    [{ version: '0.6.1' }, Error, /has neither "param_encodings" nor "activation_encodings"/],
    [{}, Error, /has neither/],
  ];
  for (const [file, ErrorClass, message] of cases) {
    it(String(message).slice(0, 110), () => {
      expectWasmquantError(() => fromAimetEncodings(file), ErrorClass, message);
      // The same through JSON text.
      expectWasmquantError(() => fromAimetEncodings(JSON.stringify(file)), ErrorClass, message);
    });
  }

  it('text that is not JSON, or has a tensor twice', () => {
    expectWasmquantError(() => fromAimetEncodings('{"version": "0.6.1",'), Error, /encodings file is not valid JSON/);
    expectWasmquantError(() => fromAimetEncodings(''), Error, /not valid JSON/);
    expectWasmquantError(() => fromAimetEncodings(`${'['.repeat(1e6)}${']'.repeat(1e6)}`), Error, /nests deeper than 64 levels/);
    expectWasmquantError(
      () =>
        fromAimetEncodings('{"param_encodings": {"w": [{"bitwidth": 8, "scale": 1, "offset": 0}], "w": [{"bitwidth": 8, "scale": 2, "offset": 0}]}}'),
      Error,
      /encodings file has the key "w" twice in "param_encodings"/,
    );
    expectWasmquantError(() => fromAimetEncodings('[1]'), TypeError, /expected an encodings object or its JSON text, got an Array/);
    expectWasmquantError(() => fromAimetEncodings('"x"'), TypeError, /expected an encodings object/);
  });

  it('arguments of the wrong kind', () => {
    for (const bad of [undefined, null, 5, [], new Uint8Array(2), new Map()]) {
      expectWasmquantError(() => fromAimetEncodings(bad), TypeError, /fromAimetEncodings: expected an encodings object or its JSON text/);
    }
  });

  it('random JSON and random objects (fast-check): a result or a wasmquant error', () => {
    const entry = fc.record(
      {
        bitwidth: fc.oneof(fc.integer({ min: -1, max: 40 }), fc.string()),
        bw: fc.integer({ min: 0, max: 20 }),
        scale: fc.oneof(fc.double(), fc.array(fc.double(), { maxLength: 3 }), fc.string()),
        offset: fc.oneof(fc.integer({ min: -70000, max: 5 }), fc.array(fc.integer({ min: -300, max: 1 }), { maxLength: 3 }), fc.double()),
        is_symmetric: fc.constantFrom('True', 'False', true, 'x', 1),
        is_sym: fc.boolean(),
        dtype: fc.constantFrom('int', 'INT', 'float', 'FLOAT', 'x'),
        enc_type: fc.constantFrom('PER_TENSOR', 'PER_CHANNEL', 'PER_BLOCK'),
        name: fc.string(),
        min: fc.double(),
        max: fc.double(),
      },
      { requiredKeys: [] },
    );
    const file = fc.record(
      {
        version: fc.constantFrom('0.6.1', '1.0.0', '2', 3),
        param_encodings: fc.oneof(
          fc.dictionary(fc.string(), fc.oneof(entry, fc.array(entry, { maxLength: 3 }))),
          fc.array(entry, { maxLength: 3 }),
          fc.anything(),
        ),
        activation_encodings: fc.oneof(fc.dictionary(fc.string(), fc.array(entry, { maxLength: 2 })), fc.array(entry, { maxLength: 2 })),
      },
      { requiredKeys: [] },
    );
    const isEncoding = (e) =>
      Number.isInteger(e.bitwidth) &&
      e.bitwidth >= 2 &&
      e.bitwidth <= 16 &&
      e.scale > 0 &&
      Number.isFinite(e.scale) &&
      Number.isInteger(e.offset) &&
      e.offset <= 0 &&
      e.offset >= -(2 ** e.bitwidth - 1) &&
      typeof e.isSymmetric === 'boolean' &&
      Number.isFinite(e.min) &&
      Number.isFinite(e.max);
    fc.assert(
      fc.property(fc.oneof(file, fc.anything(), fc.json()), (f) => {
        const got = resultOrWasmquantError(() => fromAimetEncodings(f));
        if (got === undefined) return;
        for (const value of Object.values(got)) {
          for (const e of Array.isArray(value) ? value : [value]) expect(isEncoding(e), JSON.stringify(e)).toBe(true);
        }
      }),
      { seed: FC_SEED, numRuns: 3000 },
    );
  });
});

describe('toAimetEncodings: bad arguments name the tensor and the field', () => {
  const cases = [
    [() => toAimetEncodings(null), TypeError, /encodings must be an object/],
    [() => toAimetEncodings([ASYM]), TypeError, /encodings must be an object/],
    [() => toAimetEncodings({ w: ASYM }, { version: '2.0.0' }), RangeError, /version must be '0\.6\.1' or '1\.0\.0', got "2\.0\.0"/],
    [() => toAimetEncodings({ w: ASYM }, { verison: '1.0.0' }), TypeError, /unknown option 'verison'/],
    [() => toAimetEncodings({ w: ASYM }, '1.0.0'), TypeError, /options must be an object/],
    [() => toAimetEncodings({ w: null }), TypeError, /tensor "w" must be an encoding object/],
    [() => toAimetEncodings({ w: [] }), RangeError, /tensor "w": the per-channel list of encodings is empty/],
    [
      () => toAimetEncodings({ w: { ...ASYM, scale: -1 } }),
      RangeError,
      /^wasmquant: toAimetEncodings: tensor "w": field "scale" must be a positive number, got -1$/,
    ],
    [() => toAimetEncodings({ w: { ...ASYM, scale: Infinity } }), RangeError, /field "scale"/],
    [() => toAimetEncodings({ w: { ...ASYM, scale: undefined } }), TypeError, /field "scale" must be a positive number, got undefined/],
    [() => toAimetEncodings({ w: { ...ASYM, offset: 1 } }), RangeError, /field "offset" must be an integer from -255 to 0/],
    [() => toAimetEncodings({ w: { ...ASYM, offset: -100.5 } }), RangeError, /field "offset"/],
    [() => toAimetEncodings({ w: { ...ASYM, bitwidth: 17 } }), RangeError, /field "bitwidth" must be an integer from 2 to 16, got 17/],
    [() => toAimetEncodings({ w: { ...ASYM, isSymmetric: 'True' } }), TypeError, /field "isSymmetric" must be a boolean/],
    [() => toAimetEncodings({ w: { ...ASYM, min: NaN } }), RangeError, /field "min" must be finite/],
    [() => toAimetEncodings({ w: [ASYM, { ...ASYM, max: '1' }] }), TypeError, /tensor "w" channel 1: field "max" must be a number/],
  ];
  for (const [fn, ErrorClass, message] of cases) {
    it(String(message).slice(0, 110), () => expectWasmquantError(fn, ErrorClass, message));
  }
});

describe('with the quantizer (SPEC §5: apply encodings chosen elsewhere)', () => {
  it('calibrated encodings, written and read back in both versions, quantize to the same codes', async () => {
    const wq = await quantizerFor('scalar');
    for (const bitwidth of [2, 4, 8, 12, 16]) {
      const x = normalArray(1000, bitwidth, { mean: 0.3, sigma: 2 });
      const { codes, encoding } = wq.quantize(x, { bitwidth });
      for (const version of ['0.6.1', '1.0.0']) {
        const read = fromAimetEncodings(JSON.stringify(toAimetEncodings({ x: encoding }, { version }))).x;
        // 1.0.0 carries no min/max; the derived ones are the core's, bit for bit.
        expect(read).toStrictEqual({ ...encoding });
        expect(Array.from(wq.quantize(x, { encoding: read }).codes)).toEqual(Array.from(codes));
      }
    }
  });
});

describe('fromAimetEncodings: range-only entries (QNN min/max overrides)', () => {
  it('read as a range, which quantize nudges exactly as computeEncoding does', async () => {
    const { createQuantizer } = await import('../../../web/index.js');
    const wq = await createQuantizer();
    const file = {
      version: '0.6.1',
      activation_encodings: {
        relu1: [{ bitwidth: 8, dtype: 'int', is_symmetric: 'False', min: -1.8, max: 0.5 }],
        sym: [{ bitwidth: 8, dtype: 'int', is_symmetric: 'True', min: -2, max: 1 }],
      },
      param_encodings: {},
    };
    const read = fromAimetEncodings(JSON.stringify(file));
    expect(read.relu1).toEqual({ bitwidth: 8, min: -1.8, max: 0.5, isSymmetric: false });
    const x = Float32Array.of(-1.8, -1.0, 0, 0.5);
    const given = wq.quantize(x, { encoding: read.relu1 });
    // SPEC §2.1 first row: the worked example's encoding and codes
    expect(Array.from(given.codes)).toEqual([0, 89, 200, 255]);
    expect(given.encoding.offset).toBe(-200);
    expect(given.encoding).toEqual(wq.computeEncoding(-1.8, 0.5));
    const sym = wq.quantize(x, { encoding: read.sym });
    expect(sym.encoding).toEqual(wq.computeEncoding(-2, 1, { symmetric: true }));
    expect(sym.codes).toBeInstanceOf(Int8Array);
  });
});
