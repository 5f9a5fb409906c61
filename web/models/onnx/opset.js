// Raises the default-domain opset of an ONNX model without changing what
// any node computes. A node whose op changed incompatibly between the
// model's opset and the target is rewritten to the new signature; one that
// cannot be rewritten faithfully makes the whole upgrade fail, because a
// model that loads but computes something else is worse than no model.
//
// Checked against docs/Changelog.md of the onnx repo for every op with a
// new version in 8..21. Changes that need nothing here (types, new
// attributes or optional inputs/outputs whose defaults keep the old
// behaviour, negative axes/indices, new ops):
//   8: Expand, Max, Mean, Min, Sum (broadcasting), MaxPool (storage_order, Indices)
//   9: Cast, Constant, Flatten, Gemm, Greater, Less, MatMul, PRelu, Where and
//      the new ops (Compress, ConstantOfShape, EyeLike, Erf, IsNaN, NonZero,
//      OneHot, Shrink, Sign, Sinh/Cosh/Asinh/Acosh/Atanh, TfIdfVectorizer)
//   10: AveragePool, MaxPool (ceil_mode, dilations), new quantization ops,
//       IsInf, Mod, NonMaxSuppression, ReverseSequence, RoiAlign,
//       StringNormalizer, ThresholdedRelu
//   11: ArgMax/ArgMin, AveragePool, Compress, Concat, Constant, Conv,
//       ConvTranspose, DepthToSpace (mode defaults to the old DCR), Equal,
//       Flatten, Gather*, Gemm (C optional), If, Loop, LpPool, MaxPool,
//       MaxUnpool, NonMaxSuppression, OneHot, Reduce* (negative axes), Round,
//       Slice, Split, Squeeze/Unsqueeze, TopK (largest/sorted default 1),
//       Softmax/LogSoftmax/Hardmax (negative axis only; same 2-D semantics)
//   12: ArgMax/ArgMin (select_last_index 0), Clip, Constant, GatherND
//       (batch_dims 0), Max/Min, MaxPool, Pow, ReduceMax/ReduceMin
//   13: bfloat16 everywhere; Quantize/DequantizeLinear (axis only matters
//       per channel, which did not exist before), Resize (roi/scales optional),
//       Pad, Slice, Clip, Dropout, If, Loop, Reduce* other than ReduceSum
//   14: Add/Sub/Mul/Div, CumSum, GRU/LSTM/RNN (layout 0), Identity, Relu,
//       Reshape (allowzero 0)
//   15: BatchNormalization (types), Pow, Shape (start/end)
//   16: GreaterOrEqual, LessOrEqual, Identity, If, Loop, Scan, LeakyRelu,
//       PRelu, ScatterElements/ScatterND (reduction none), Where
//   17: new ops only;  18: LpPool (ceil_mode 0), Pad (axes), Resize (antialias
//       0, axes), ScatterElements/ScatterND, OptionalGetElement/HasElement
//   19: AveragePool, Cast/CastLike (saturate only for float8), Constant,
//       DequantizeLinear, Equal, Identity, If, Loop, Pad (wrap), QuantizeLinear,
//       Reshape, Resize, Scan, Shape, Size
//   20: ConstantOfShape, IsInf, IsNaN, ReduceMax/ReduceMin (bool)
//   21: Cast, CastLike, Constant, ConstantOfShape, DequantizeLinear, Flatten,
//       Identity, If, Loop, Pad, QLinearMatMul, QuantizeLinear, Reshape, Scan,
//       Shape, Size, Squeeze, Transpose, Unsqueeze (int4 types, block_size)
import { create } from '@bufbuild/protobuf';
import {
  AttributeProtoSchema,
  AttributeProto_AttributeType as AT,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  TensorProtoSchema,
  TensorProto_DataType as DT,
} from './onnx_pb.js';
import { attributeOf as attrOf, isDefaultDomain } from './graph.js';

// Only opsets whose every change has been checked above.
const OLDEST = 7;
const NEWEST = 21;

// The lowest IR version each opset needs (docs/Versioning.md, released versions).
const IR_FOR_OPSET = [
  [25, 13],
  [24, 12],
  [23, 11],
  [21, 10],
  [19, 9],
  [15, 8],
  [12, 7],
  [11, 6],
  [10, 5],
  [9, 4],
  [1, 3],
];
const irFor = (opset) => IR_FOR_OPSET.find(([o]) => opset >= o)[1];

export function defaultOpset(model) {
  const o = model.opsetImport.find((x) => isDefaultDomain(x.domain));
  return o ? Number(o.version) : 1;
}

// ---- attributes and constants -------------------------------------------

const text = (bytes) => new TextDecoder().decode(bytes);

function takeAttr(node, name) {
  const i = node.attribute.findIndex((a) => a.name === name);
  return i < 0 ? undefined : node.attribute.splice(i, 1)[0];
}

function setAttr(node, name, value) {
  takeAttr(node, name);
  const a = typeof value === 'string' ? { name, type: AT.STRING, s: new TextEncoder().encode(value) } : { name, type: AT.INT, i: BigInt(value) };
  node.attribute.push(create(AttributeProtoSchema, a));
}

function fail(node, why) {
  throw new Error(`wasmquant: ${node.opType} node '${node.name || node.output[0]}' ${why}`);
}

function float16Bits(x) {
  const b = new Uint32Array(new Float32Array([x]).buffer)[0];
  const sign = (b >>> 16) & 0x8000;
  const e = ((b >>> 23) & 0xff) - 112;
  if (Number.isNaN(x)) return 0x7e00;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) return sign | Math.round(Math.abs(x) / 2 ** -24);
  let h = (e << 10) | ((b >>> 13) & 0x3ff);
  const rest = b & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h += 1;
  return sign | h;
}

// Little-endian raw bytes of values stored as dataType.
function rawOf(dataType, values) {
  switch (dataType) {
    case DT.INT64:
      return new Uint8Array(BigInt64Array.from(values, (v) => BigInt(v)).buffer);
    case DT.FLOAT:
      return new Uint8Array(Float32Array.from(values).buffer);
    case DT.DOUBLE:
      return new Uint8Array(Float64Array.from(values).buffer);
    case DT.FLOAT16:
      return new Uint8Array(Uint16Array.from(values, float16Bits).buffer);
    default:
      throw new Error(`wasmquant: cannot write a constant of ONNX data type ${dataType}`);
  }
}

// Adds an initializer to the graph the node lives in and returns its name.
function addConstant(ctx, node, suffix, dataType, dims, values) {
  const base = `${node.name || node.output[0]}_${suffix}`;
  let name = base;
  for (let k = 1; ctx.names.has(name); k += 1) name = `${base}_${k}`;
  ctx.names.add(name);
  const t = create(TensorProtoSchema, { name, dataType, dims: dims.map(BigInt), rawData: rawOf(dataType, values) });
  ctx.graph.initializer.push(t);
  ctx.info.set(name, tensorInfo(t));
  return name;
}

const int64s = (ctx, node, suffix, values) => addConstant(ctx, node, suffix, DT.INT64, [values.length], values);

// An ints attribute becomes an int64 input at `index`; absent stays absent
// (each op gives the missing input the old attribute's default meaning).
function attrToInput(ctx, node, name, index) {
  const a = takeAttr(node, name);
  if (!a) return false;
  while (node.input.length < index) node.input.push('');
  node.input[index] = int64s(ctx, node, name, a.ints);
  return true;
}

// A scalar of the element type of node.input[0], which the new signature
// requires (Clip's min/max, Pad's constant_value).
function scalarLike(ctx, node, suffix, value) {
  const info = ctx.info.get(node.input[0]);
  if (!info || ![DT.FLOAT, DT.DOUBLE, DT.FLOAT16].includes(info.type)) {
    fail(node, `needs its ${suffix} as an input of its data's type, and that type is not known (add value_info for '${node.input[0]}')`);
  }
  return addConstant(ctx, node, suffix, info.type, [], [value]);
}

function isUsed(ctx, name) {
  return name !== '' && name !== undefined && ctx.used.has(name);
}

// ---- conversions --------------------------------------------------------
// convert(node, ctx) rewrites a node of version (since - 1) semantics into an
// equivalent one valid at `since`; steps chain (Upsample 7 → 9 → Resize 10 → 11).

const axesToInput = (since) => ({ since, convert: (n, ctx) => attrToInput(ctx, n, 'axes', 1) && 'take axes as an input' });

function coercedSoftmax(n, ctx) {
  // Before 13 these ops flattened the input to 2-D at `axis` and worked on
  // the trailing block; from 13 they work on the single `axis`. Both agree
  // exactly when `axis` is the last axis.
  const axis = Number(attrOf(n, 'axis')?.i ?? 1n);
  if (axis === -1) return false;
  const rank = ctx.info.get(n.input[0])?.rank ?? ctx.info.get(n.output[0])?.rank;
  if (rank === undefined)
    fail(
      n,
      `(axis ${axis}) changed meaning at opset 13 and the rank of '${n.input[0]}' is not known, so the old 2-D coercion cannot be proven equal`,
    );
  if (axis !== rank - 1) fail(n, `(axis ${axis} of a rank-${rank} input) changed meaning at opset 13: it normalised over all axes from ${axis} on`);
  setAttr(n, 'axis', axis);
  return 'keep the axis explicit';
}

const REDUCE_18 = [
  'ReduceL1',
  'ReduceL2',
  'ReduceLogSum',
  'ReduceLogSumExp',
  'ReduceMax',
  'ReduceMean',
  'ReduceMin',
  'ReduceProd',
  'ReduceSumSquare',
];
const cannot = (since, why) => ({ since, convert: (n) => fail(n, why) });

const CONVERSIONS = {
  BatchNormalization: [
    {
      since: 9,
      convert: (n) => {
        const spatial = takeAttr(n, 'spatial');
        if (spatial && spatial.i !== 1n) fail(n, 'uses spatial=0, which opset 9 removed');
        return spatial ? 'drop spatial=1' : false;
      },
    },
    {
      since: 14,
      convert: (n, ctx) => {
        if (n.output.slice(1).some((o) => isUsed(ctx, o)))
          fail(n, 'uses the training outputs (mean, var, saved_mean, saved_var) that changed at opset 14');
        if (n.output.length > 1) n.output.splice(1);
        return false;
      },
    },
  ],
  Scan: [cannot(9, 'changed signature at opset 9 (no batch axis, no sequence_lens) and is not converted')],
  MeanVarianceNormalization: [cannot(9, 'changed attributes at opset 9 (across_channels → axes) and is not converted')],
  Upsample: [
    {
      since: 9,
      convert: (n, ctx) => {
        const scales = takeAttr(n, 'scales');
        if (!scales) fail(n, 'has no scales');
        n.input[1] = addConstant(ctx, n, 'scales', DT.FLOAT, [scales.floats.length], scales.floats);
        return 'take scales as an input';
      },
    },
    // Resize-10 has Upsample-9's inputs, attribute and output shape rule.
    {
      since: 10,
      convert: (n) => {
        n.opType = 'Resize';
        return 'become Resize (Upsample is deprecated)';
      },
    },
  ],
  Slice: [
    {
      since: 10,
      convert: (n, ctx) => {
        const starts = takeAttr(n, 'starts');
        const ends = takeAttr(n, 'ends');
        const axes = takeAttr(n, 'axes');
        n.input.splice(1, n.input.length - 1, int64s(ctx, n, 'starts', starts?.ints ?? []), int64s(ctx, n, 'ends', ends?.ints ?? []));
        if (axes) n.input.push(int64s(ctx, n, 'axes', axes.ints));
        return 'take starts/ends/axes as inputs';
      },
    },
  ],
  TopK: [
    {
      since: 10,
      convert: (n, ctx) => {
        const k = takeAttr(n, 'k');
        if (!k) fail(n, 'has no k');
        n.input[1] = int64s(ctx, n, 'k', [k.i]);
        return 'take k as an input';
      },
    },
  ],
  Dropout: [
    {
      since: 10,
      convert: (n, ctx) => {
        if (isUsed(ctx, n.output[1])) fail(n, 'uses its mask output, whose type became bool at opset 10');
        return false;
      },
    },
    // Ratio only matters in training mode, which defaults to off; kept anyway.
    {
      since: 12,
      convert: (n, ctx) => {
        const ratio = takeAttr(n, 'ratio');
        if (!ratio) return false;
        n.input[1] = addConstant(ctx, n, 'ratio', DT.FLOAT, [], [ratio.f]);
        return 'take ratio as an input';
      },
    },
  ],
  Resize: [
    {
      since: 11,
      convert: (n, ctx) => {
        // Resize-10 left the coordinate mapping and the rounding unsaid; the
        // ONNX backend tests and onnxruntime map x_out to x_out / scale and, in
        // nearest mode, floor when enlarging but ceil when shrinking. One
        // nearest_mode cannot express both, so shrinking is refused.
        const mode = attrOf(n, 'mode') ? text(attrOf(n, 'mode').s) : 'nearest';
        if (mode === 'nearest') {
          const scales = ctx.info.get(n.input[1])?.value;
          if (!scales || scales.some((s) => s < 1))
            fail(n, 'in nearest mode may shrink (scales not constant or < 1); its opset-10 rounding is not defined by the spec');
          setAttr(n, 'nearest_mode', 'floor');
        }
        setAttr(n, 'coordinate_transformation_mode', 'asymmetric');
        const roi = ctx.target >= 13 ? '' : addConstant(ctx, n, 'roi', DT.FLOAT, [0], []);
        n.input.splice(1, 0, roi);
        return 'take (X, roi, scales) with asymmetric coordinates';
      },
    },
    {
      since: 18,
      convert: (n) => {
        const ct = attrOf(n, 'coordinate_transformation_mode');
        if (ct && text(ct.s) === 'tf_half_pixel_for_nn')
          fail(n, "uses coordinate_transformation_mode 'tf_half_pixel_for_nn', which opset 18 removed");
        return false;
      },
    },
  ],
  Clip: [
    {
      since: 11,
      convert: (n, ctx) => {
        // Clip-6's absent min/max meant ∓FLT_MAX; Clip-11's absent ones mean no
        // bound. Those differ only for infinities, so absent stays absent.
        const min = takeAttr(n, 'min');
        const max = takeAttr(n, 'max');
        if (!min && !max) return false;
        n.input.splice(1, n.input.length - 1, min ? scalarLike(ctx, n, 'min', min.f) : '');
        if (max) n.input.push(scalarLike(ctx, n, 'max', max.f));
        return 'take min/max as inputs';
      },
    },
  ],
  Pad: [
    {
      since: 11,
      convert: (n, ctx) => {
        const pads = takeAttr(n, 'pads');
        const value = takeAttr(n, 'value');
        if (!pads) fail(n, 'has no pads');
        n.input.splice(1, n.input.length - 1, int64s(ctx, n, 'pads', pads.ints));
        if (value && value.f !== 0) n.input.push(scalarLike(ctx, n, 'value', value.f));
        return 'take pads/value as inputs';
      },
    },
  ],
  Scatter: [
    {
      since: 11,
      convert: (n) => {
        n.opType = 'ScatterElements';
        return 'become ScatterElements (Scatter is deprecated)';
      },
    },
  ],
  Squeeze: [axesToInput(13)],
  Unsqueeze: [axesToInput(13)],
  ReduceSum: [axesToInput(13)],
  ...Object.fromEntries(REDUCE_18.map((op) => [op, [axesToInput(18)]])),
  Split: [
    { since: 13, convert: (n, ctx) => attrToInput(ctx, n, 'split', 1) && 'take split as an input' },
    // Without `split`, opset 18 wants the number of (equal) parts spelled out.
    {
      since: 18,
      convert: (n) => {
        if ((n.input[1] ?? '') !== '' || attrOf(n, 'num_outputs')) return false;
        setAttr(n, 'num_outputs', n.output.length);
        return 'state num_outputs';
      },
    },
  ],
  Softmax: [{ since: 13, convert: coercedSoftmax }],
  LogSoftmax: [{ since: 13, convert: coercedSoftmax }],
  Hardmax: [{ since: 13, convert: coercedSoftmax }],
  RoiAlign: [
    {
      since: 16,
      convert: (n) => {
        if (attrOf(n, 'coordinate_transformation_mode')) return false;
        setAttr(n, 'coordinate_transformation_mode', 'output_half_pixel');
        return 'keep output_half_pixel coordinates';
      },
    },
  ],
  GridSample: [
    {
      since: 20,
      convert: (n) => {
        const mode = attrOf(n, 'mode');
        const old = mode ? text(mode.s) : 'bilinear';
        setAttr(n, 'mode', { bilinear: 'linear', bicubic: 'cubic' }[old] ?? old);
        return 'rename the mode';
      },
    },
  ],
  DFT: [cannot(20, 'takes axis as an input from opset 20 with a different default and is not converted')],
  GroupNormalization: [cannot(21, 'takes per-channel instead of per-group scale and bias from opset 21 and is not converted')],
};

// Experimental ops dropped from the standard in opset 10 (ONNX 1.5).
const REMOVED = new Set([
  'ATen',
  'Affine',
  'ConstantFill',
  'Crop',
  'DynamicSlice',
  'GRUUnit',
  'GivenTensorFill',
  'ImageScaler',
  'ParametricSoftplus',
  'Scale',
  'ScaledTanh',
]);

// ---- what is known about values: element type, rank, small int values ----
// Just enough static inference to prove a Softmax axis is the last one and
// to give Clip/Pad constants their data's type.

const SAME = new Set(
  (
    'Abs Acos Acosh Asin Asinh Atan Atanh AveragePool BatchNormalization Celu Ceil Clip Conv ConvTranspose Cos Cosh ' +
    'CumSum DepthToSpace Dropout Elu Erf Exp Floor Gelu GlobalAveragePool GlobalLpPool GlobalMaxPool HardSigmoid HardSwish Hardmax ' +
    'Identity InstanceNormalization LRN LayerNormalization LeakyRelu Log LogSoftmax LpNormalization LpPool MaxPool ' +
    'MeanVarianceNormalization Mish Neg Reciprocal Relu Resize Round Selu Shrink Sigmoid Sign Sin Sinh Softmax Softplus Softsign ' +
    'SpaceToDepth Sqrt Tan Tanh ThresholdedRelu Tile Transpose Upsample Pad ReverseSequence'
  ).split(' '),
);
const BROADCAST = new Set('Add Sub Mul Div Pow Mod Max Min Sum Mean PRelu BitShift'.split(' '));
const COMPARE = new Set('Equal Less Greater LessOrEqual GreaterOrEqual And Or Xor Not IsNaN IsInf'.split(' '));
const REDUCE = new Set(['ReduceSum', 'ArgMax', 'ArgMin', ...REDUCE_18]);

function tensorInfo(t) {
  const info = { type: t.dataType, rank: t.dims.length };
  const count = t.dims.reduce((a, d) => a * Number(d), 1);
  if (info.rank <= 1 && count <= 64 && (t.dataType === DT.INT64 || t.dataType === DT.FLOAT)) {
    let v;
    if (t.rawData.length) {
      // A copy: rawData may be a Node Buffer view at any offset of a pool.
      const copy = new Uint8Array(t.rawData).buffer;
      const width = t.dataType === DT.INT64 ? 8 : 4;
      if (copy.byteLength === count * width) {
        v = t.dataType === DT.INT64 ? Array.from(new BigInt64Array(copy), Number) : Array.from(new Float32Array(copy));
      }
    } else v = t.dataType === DT.INT64 ? t.int64Data.map(Number) : [...t.floatData];
    if (v?.length === count) info.value = v;
  }
  return info;
}

function valueInfoOf(vi) {
  const tt = vi.type?.value?.case === 'tensorType' ? vi.type.value.value : undefined;
  if (!tt) return undefined;
  return { type: tt.elemType || undefined, rank: tt.shape ? tt.shape.dim.length : undefined };
}

// The values' info of one graph, given its enclosing scope's.
function inferGraph(graph, outer) {
  const info = new Map(outer);
  const put = (name, i) => {
    if (!name || !i) return;
    const old = info.get(name) ?? {};
    info.set(name, { type: i.type ?? old.type, rank: i.rank ?? old.rank, length: i.length ?? old.length, value: i.value ?? old.value });
  };
  for (const vi of [...graph.input, ...graph.output, ...graph.valueInfo]) put(vi.name, valueInfoOf(vi));
  for (const t of graph.initializer) put(t.name, tensorInfo(t));
  for (const n of graph.node) {
    if (!isDefaultDomain(n.domain)) continue;
    const ins = n.input.map((x) => info.get(x) ?? {});
    const [a = {}, b = {}] = ins;
    const ints = (name, index) => {
      const at = attrOf(n, name);
      return at ? at.ints.map(Number) : ins[index]?.value;
    };
    const op = n.opType;
    let out;
    if (SAME.has(op)) out = { type: a.type, rank: op === 'Transpose' && attrOf(n, 'perm') ? attrOf(n, 'perm').ints.length : a.rank };
    else if (BROADCAST.has(op) || COMPARE.has(op)) {
      const ranks = ins.map((i) => i.rank);
      out = { type: COMPARE.has(op) ? DT.BOOL : a.type, rank: ranks.includes(undefined) ? undefined : Math.max(...ranks) };
    } else if (op === 'Where') out = { type: b.type, rank: ins.some((i) => i.rank === undefined) ? undefined : Math.max(...ins.map((i) => i.rank)) };
    else if (op === 'Cast') out = { type: Number(attrOf(n, 'to').i), rank: a.rank, length: a.length, value: a.value };
    else if (op === 'Constant') {
      const at = n.attribute[0];
      if (at?.name === 'value') out = tensorInfo(at.t);
      else if (at?.name === 'value_float') out = { type: DT.FLOAT, rank: 0, value: [at.f] };
      else if (at?.name === 'value_int') out = { type: DT.INT64, rank: 0, value: [Number(at.i)] };
      else if (at?.name === 'value_floats') out = { type: DT.FLOAT, rank: 1, value: [...at.floats] };
      else if (at?.name === 'value_ints') out = { type: DT.INT64, rank: 1, value: at.ints.map(Number) };
    } else if (op === 'Shape') {
      out = { type: DT.INT64, rank: 1 };
      if (a.rank !== undefined && !attrOf(n, 'start') && !attrOf(n, 'end')) out.length = a.rank;
    } else if (op === 'Size') out = { type: DT.INT64, rank: 0 };
    else if (op === 'MatMul') {
      if (a.rank !== undefined && b.rank !== undefined)
        out = { type: a.type, rank: a.rank === 1 ? b.rank - 1 : b.rank === 1 ? a.rank - 1 : Math.max(a.rank, b.rank) };
    } else if (op === 'Gemm' || op === 'Flatten') out = { type: a.type, rank: 2 };
    else if (op === 'Reshape') out = { type: a.type, rank: b.length ?? b.value?.length };
    else if (op === 'Squeeze' || op === 'Unsqueeze') {
      const axes = ints('axes', 1);
      const d = op === 'Squeeze' ? -1 : 1;
      out = { type: a.type, rank: axes && a.rank !== undefined ? a.rank + d * axes.length : undefined };
      if (out.rank === 1 && a.rank === 0) out.length = 1;
    } else if (REDUCE.has(op)) {
      const keep = Number(attrOf(n, 'keepdims')?.i ?? 1n) === 1;
      const axes = op.startsWith('Arg') ? [0] : ints('axes', 1);
      const type = op.startsWith('Arg') ? DT.INT64 : a.type;
      out = { type, rank: keep ? a.rank : axes && axes.length && a.rank !== undefined ? a.rank - axes.length : undefined };
    } else if (op === 'Concat') {
      const rank = ins.find((i) => i.rank !== undefined)?.rank;
      out = { type: a.type, rank };
      const lengths = ins.map((i) => i.length ?? i.value?.length);
      if (rank === 1 && !lengths.includes(undefined)) out.length = lengths.reduce((x, y) => x + y, 0);
    } else if (op === 'Slice') {
      out = { type: a.type, rank: a.rank };
      const len = a.length ?? a.value?.length;
      const starts = ints('starts', 1);
      const ends = ints('ends', 2);
      const steps = n.input[4] ? ins[4].value : [1];
      if (a.rank === 1 && len !== undefined && starts?.length === 1 && ends?.length === 1 && steps?.[0] === 1) {
        const clamp = (v) => Math.min(Math.max(v < 0 ? v + len : v, 0), len);
        out.length = Math.max(0, clamp(ends[0]) - clamp(starts[0]));
      }
    } else if (op === 'Gather') {
      if (a.rank !== undefined && b.rank !== undefined) out = { type: a.type, rank: a.rank + b.rank - 1 };
    } else if (op === 'Split' || op === 'TopK') {
      for (const o of n.output) put(o, { type: a.type, rank: a.rank });
      if (op === 'TopK') put(n.output[1], { type: DT.INT64, rank: a.rank });
      continue;
    }
    // Element type is kept in the first output of these; other outputs are unknown.
    put(n.output[0], out);
  }
  return info;
}

// ---- the walker ---------------------------------------------------------

function subgraphs(node) {
  return node.attribute.flatMap((a) => (a.type === AT.GRAPH && a.g ? [a.g] : a.type === AT.GRAPHS ? a.graphs : []));
}

function collectNames(graph, names, used) {
  for (const vi of [...graph.input, ...graph.output, ...graph.valueInfo]) names.add(vi.name);
  for (const o of graph.output) used.add(o.name);
  for (const t of graph.initializer) names.add(t.name);
  for (const t of graph.sparseInitializer) if (t.values) names.add(t.values.name);
  for (const n of graph.node) {
    for (const x of n.input) {
      names.add(x);
      used.add(x);
    }
    for (const x of n.output) names.add(x);
    for (const g of subgraphs(n)) collectNames(g, names, used);
  }
}

function convertNodes(nodes, graph, from, outerInfo, ctx) {
  const info = inferGraph(graph, outerInfo);
  for (const node of nodes) {
    for (const g of subgraphs(node)) convertNodes(g.node, g, from, info, ctx);
    if (!isDefaultDomain(node.domain)) continue;
    if (REMOVED.has(node.opType) && ctx.target >= 10) fail(node, 'is an experimental op that opset 10 removed');
    let version = from;
    for (;;) {
      const step = (CONVERSIONS[node.opType] ?? []).find((s) => s.since > version && s.since <= ctx.target);
      if (!step) break;
      // A function's node may take an attribute's value from the call site,
      // which is unknown here.
      if (node.attribute.some((a) => a.refAttrName)) fail(node, 'takes attributes from its function and cannot be converted');
      remember(ctx, node, graph);
      const op = node.opType;
      const what = step.convert(node, { ...ctx, graph, info });
      if (what) ctx.counts.set(`${op}|${what}`, (ctx.counts.get(`${op}|${what}`) ?? 0) + 1);
      version = step.since;
    }
  }
}

// What a conversion may touch, so that a failure leaves the model unchanged.
function remember(ctx, node, graph) {
  if (!ctx.saved.nodes.has(node)) {
    ctx.saved.nodes.set(node, { opType: node.opType, input: [...node.input], output: [...node.output], attribute: [...node.attribute] });
  }
  if (!ctx.saved.graphs.has(graph)) ctx.saved.graphs.set(graph, graph.initializer.length);
}

function restore(saved) {
  for (const [node, was] of saved.nodes) Object.assign(node, was);
  for (const [graph, length] of saved.graphs) graph.initializer.splice(length);
}

export function upgradeOpset(model, target) {
  const from = defaultOpset(model);
  if (!(target > from)) return [];
  if (target > NEWEST) throw new Error(`wasmquant: cannot raise the opset to ${target}; the upgrader knows the changes up to opset ${NEWEST}`);
  if (from < OLDEST)
    throw new Error(`wasmquant: cannot raise the opset of an opset-${from} model; models older than opset ${OLDEST} must be converted first`);

  const names = new Set();
  const used = new Set();
  if (model.graph) collectNames(model.graph, names, used);
  for (const f of model.functions) {
    for (const n of f.node) {
      n.input.forEach((x) => {
        names.add(x);
        used.add(x);
      });
      n.output.forEach((x) => names.add(x));
      for (const g of subgraphs(n)) collectNames(g, names, used);
    }
    f.output.forEach((x) => used.add(x));
  }
  const ctx = { target, names, used, counts: new Map(), saved: { nodes: new Map(), graphs: new Map() } };

  // A function body has no initializers: its new constants become Constant nodes.
  const bodies = model.functions
    .map((f) => ({
      f,
      own: f.opsetImport.find((o) => isDefaultDomain(o.domain)),
      holder: { node: f.node, initializer: [], input: [], output: [], valueInfo: [] },
    }))
    .filter(({ own }) => own && Number(own.version) < target);
  try {
    if (model.graph) convertNodes(model.graph.node, model.graph, from, new Map(), ctx);
    for (const { f, own, holder } of bodies) convertNodes(f.node, holder, Number(own.version), new Map(), ctx);
  } catch (e) {
    restore(ctx.saved);
    throw e;
  }
  for (const { f, own, holder } of bodies) {
    f.node.unshift(
      ...holder.initializer.map((t) =>
        create(NodeProtoSchema, {
          opType: 'Constant',
          name: t.name,
          output: [t.name],
          attribute: [create(AttributeProtoSchema, { name: 'value', type: AT.TENSOR, t })],
        }),
      ),
    );
    own.version = BigInt(target);
  }

  const opset = model.opsetImport.find((o) => isDefaultDomain(o.domain));
  if (opset) opset.version = BigInt(target);
  else model.opsetImport.push(create(OperatorSetIdProtoSchema, { domain: '', version: BigInt(target) }));
  if (model.irVersion < BigInt(irFor(target))) model.irVersion = BigInt(irFor(target));

  const details = [...ctx.counts].map(([k, count]) => {
    const [op, what] = k.split('|');
    return count === 1 ? `1 ${op} node now ${what.replace(/^\w+/, '$&s')}` : `${count} ${op} nodes now ${what}`;
  });
  return [`raised the opset from ${from} to ${target}${details.length ? `: ${details.join(', ')}` : ''}`];
}
