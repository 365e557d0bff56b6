// Shape and data-movement ops. Parameters that ONNX passes as tensors (shapes, axes, starts,
// pads, repeats) must be known at import time; shapes are static, so Shape itself is a constant.
import { dimsOf, numel } from '../../../ir/types.js';
import { dimsEqual, dimText, isSymbolic, type Dim } from '../../../ir/size-expr.js';
import { typeOf, type Operand } from '../builder.js';
import { defineOnnxOp, type OnnxNode } from '../node.js';
import { makeConst } from '../tensor.js';
import { normalizeAxis, reshapeTo, reshapeToDims } from './helpers.js';

/** ONNX's [start, end) clamp of Shape's start/end attributes (opset 15). */
function shapeRange(rank: number, start: number, end: number): [number, number] {
  const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + rank : v, 0), rank);
  return [clamp(start), clamp(end)];
}

/** The extents of an operand as numbers; refuses those that vary from run to run (they are not constants). */
function fixedExtents(n: OnnxNode, x: Operand, what: string, pick: (dims: readonly Dim[]) => readonly Dim[] = (d) => d): number[] {
  const dims = pick(dimsOf(typeOf(x)));
  if (dims.some(isSymbolic)) n.unsupported(`${what} of a tensor whose sizes vary ([${dimsOf(typeOf(x)).map(dimText).join(',')}]) would be known only when the model runs; give fixed sizes with --input-shape`);
  return dims as number[];
}

defineOnnxOp('Shape', (n) => {
  const dims = dimsOf(typeOf(n.input(0)));
  const [s, e] = shapeRange(dims.length, n.attrs.int('start', 0), n.attrs.int('end', dims.length));
  return n.b.shapeConst(`${n.name}:shape`, dims.slice(s, Math.max(s, e)));
});

defineOnnxOp('Size', (n) => makeConst(`${n.name}:size`, 'i32', [], [numel(fixedExtents(n, n.input(0), 'the Size'))]));

defineOnnxOp('Reshape', (n) => {
  const x = n.input(0);
  const from = dimsOf(typeOf(x));
  // A target computed from sizes that vary (Shape, Slice, Concat...) names those sizes.
  const target: Dim[] = n.opset < 5 ? n.attrs.ints('shape', []) : n.dims(1, 'shape', from.filter(isSymbolic));
  const allowZero = n.attrs.int('allowzero', 0) !== 0;
  // 0 copies the input's extent at that position (unless allowzero makes it a real 0).
  const copied = target.map((d, i): Dim => {
    if (d !== 0 || allowZero) return d;
    if (i >= from.length) n.fail(`shape [${target.map(dimText).join(',')}] copies dimension ${i} (0) but the input [${from.map(dimText).join(',')}] has rank ${from.length}`);
    return from[i]!;
  });
  if (!copied.some(isSymbolic)) return n.b.op('reshape', [x], { shape: copied as number[] });
  // Extents that vary stay varying: copied in place, or the one inferred (-1).
  return reshapeToDims(n, x, copied);
});

defineOnnxOp('Flatten', (n) => n.b.op('flatten', [n.input(0)], { axis: n.attrs.int('axis', 1) }));

/** Axes from the `axes` attribute (before opset 13) or the optional axes input (from 13). */
function axesOf(n: OnnxNode, inputIndex: number, since: number): number[] | undefined {
  return n.opset < since ? n.attrs.ints('axes') : n.optionalValues(inputIndex, 'axes');
}

defineOnnxOp('Squeeze', (n) => n.b.op('squeeze', [n.input(0)], { axes: axesOf(n, 1, 13) ?? [] }));
defineOnnxOp('Unsqueeze', (n) => {
  const axes = axesOf(n, 1, 13);
  if (!axes) return n.fail('needs axes');
  return n.b.op('unsqueeze', [n.input(0)], { axes });
});

defineOnnxOp('Transpose', (n) => n.b.op('transpose', [n.input(0)], { perm: n.attrs.ints('perm', []) }));

defineOnnxOp('Concat', (n) => {
  const xs = n.inputs.filter((x): x is Operand => x !== undefined);
  const axis = n.attrs.int('axis');
  if (axis === undefined && n.opset >= 4) n.fail("needs the attribute 'axis'");
  return n.b.op('concat', xs, { axis: axis ?? 1 });
});

defineOnnxOp('Split', (n) => {
  const x = n.input(0);
  const shape = typeOf(x).shape;
  const axis = normalizeAxis(n, n.attrs.int('axis', 0), shape.length);
  const extent = shape[axis]!;
  let sizes = n.opset < 13 ? n.attrs.ints('split') : n.optionalValues(1, 'split');
  if (n.opset < 13 && !sizes && n.optional(1)) sizes = n.values(1, 'split'); // Split-2 took it as an input too
  if (!sizes || sizes.length === 0) {
    const count = n.attrs.int('num_outputs') ?? n.outputCount;
    const chunk = Math.ceil(extent / count);
    sizes = Array.from({ length: count }, (_, i) => Math.max(0, Math.min(chunk, extent - i * chunk)));
  }
  return n.b.ops('split', [x], { axis, sizes });
});

defineOnnxOp('Slice', (n) => {
  const x = n.input(0);
  const shape = typeOf(x).shape;
  let starts: number[]; let ends: number[]; let axes: number[] | undefined; let steps: number[] | undefined;
  if (n.opset < 10) {
    starts = n.attrs.ints('starts', []);
    ends = n.attrs.ints('ends', []);
    axes = n.attrs.ints('axes');
  } else {
    starts = n.values(1, 'starts');
    ends = n.values(2, 'ends');
    axes = n.optionalValues(3, 'axes');
    steps = n.optionalValues(4, 'steps');
  }
  const named = (axes ?? starts.map((_, i) => i)).map((a) => normalizeAxis(n, a, shape.length));
  // Bounds past either end mean "to the end" (INT64_MAX is common); clamping them to one past
  // the extent keeps that meaning and keeps the IR readable.
  const clamp = (v: number, i: number) => Math.max(-(shape[named[i]!]! + 1), Math.min(shape[named[i]!]! + 1, v));
  return n.b.op('slice', [x], {
    starts: starts.map(clamp), ends: ends.map(clamp), axes: named, steps: steps ?? [],
  });
});

const PAD_MODES: Record<string, string> = { constant: 'constant', reflect: 'reflect', edge: 'edge', wrap: 'wrap' };

defineOnnxOp('Pad', (n) => {
  const x = n.input(0);
  const rank = typeOf(x).shape.length;
  const mode = n.attrs.string('mode', 'constant');
  const kilnMode = PAD_MODES[mode];
  if (!kilnMode) n.unsupported(`mode '${mode}' is not supported (supported: constant, reflect, edge, wrap)`);
  let pads: number[];
  let value = 0;
  if (n.opset < 11) {
    pads = n.attrs.ints('pads') ?? n.attrs.ints('paddings', []);
    value = n.attrs.float('value', 0);
  } else {
    pads = n.values(1, 'pads');
    const v = n.optionalValues(2, 'constant_value');
    if (v) value = v[0] ?? 0;
    const axes = n.optionalValues(3, 'axes');
    if (axes) {
      const full = new Array<number>(2 * rank).fill(0);
      axes.forEach((a, i) => {
        const r = normalizeAxis(n, a, rank);
        full[r] = pads[i]!;
        full[rank + r] = pads[axes.length + i]!;
      });
      pads = full;
    }
  }
  if (pads.every((p) => p === 0)) return x;
  return n.b.op('pad', [x], { pads, mode: kilnMode, value });
});

defineOnnxOp('Gather', (n) => n.b.op('gather', [n.input(0), n.input(1)], { axis: n.attrs.int('axis', 0) }));

// A target computed from sizes that vary may name an extent that varies where the input already
// has it (Expand(x, Shape(y)) with y shaped like x): broadcasting keeps it, so it becomes 1.
defineOnnxOp('Expand', (n) => {
  const x = n.input(0);
  const from = dimsOf(typeOf(x));
  const target = n.dims(1, 'shape', from.filter(isSymbolic));
  const lead = target.length - from.length;
  const shape = target.map((d, i) => {
    if (!isSymbolic(d)) return d;
    if (i >= lead && dimsEqual(from[i - lead]!, d)) return 1;
    return n.unsupported(`expanding [${from.map(dimText).join(',')}] to [${target.map(dimText).join(',')}] broadcasts to an extent that varies (${dimText(d)}), which kiln's expand cannot hold yet`);
  });
  return n.b.op('expand', [x], { shape });
});

// Tile as a broadcast: [d0, d1] tiled [r0, r1] is [1, d0, 1, d1] expanded to [r0, d0, r1, d1],
// read back as [r0*d0, r1*d1].
defineOnnxOp('Tile', (n) => {
  const x = n.input(0);
  const shape = typeOf(x).shape;
  const repeats = n.values(1, 'repeats');
  if (repeats.length !== shape.length) n.fail(`repeats [${repeats.join(',')}] must have one entry per dimension of [${shape.join(',')}]`);
  if (repeats.some((r) => r < 0)) n.fail(`repeats [${repeats.join(',')}] must be non-negative`);
  if (repeats.every((r) => r === 1)) return x;
  const spread = reshapeTo(n.b, x, shape.flatMap((d) => [1, d]));
  const expanded = n.b.op('expand', [spread], { shape: shape.flatMap((d, i) => [repeats[i]!, d]) });
  return reshapeTo(n.b, expanded, shape.map((d, i) => d * repeats[i]!));
});

// DepthToSpace / SpaceToDepth as reshape, transpose, reshape.
defineOnnxOp('DepthToSpace', (n) => {
  const x = n.input(0);
  const [b, c, h, w] = typeOf(x).shape as number[];
  if (typeOf(x).shape.length !== 4) n.fail('needs a 4-D input');
  const bs = n.attrs.int('blocksize', 0);
  if (bs < 1 || c! % (bs * bs) !== 0) n.fail(`blocksize ${bs} does not divide the ${c} channels`);
  const crd = n.attrs.string('mode', 'DCR') === 'CRD';
  const inner = c! / (bs * bs);
  const view = crd ? [b!, inner, bs, bs, h!, w!] : [b!, bs, bs, inner, h!, w!];
  const perm = crd ? [0, 1, 4, 2, 5, 3] : [0, 3, 4, 1, 5, 2];
  const t = n.b.op('transpose', [reshapeTo(n.b, x, view)], { perm });
  return reshapeTo(n.b, t, [b!, inner, h! * bs, w! * bs]);
});
defineOnnxOp('SpaceToDepth', (n) => {
  const x = n.input(0);
  const [b, c, h, w] = typeOf(x).shape as number[];
  if (typeOf(x).shape.length !== 4) n.fail('needs a 4-D input');
  const bs = n.attrs.int('blocksize', 0);
  if (bs < 1 || h! % bs !== 0 || w! % bs !== 0) n.fail(`blocksize ${bs} does not divide ${h}x${w}`);
  const t = n.b.op('transpose', [reshapeTo(n.b, x, [b!, c!, h! / bs, bs, w! / bs, bs])], { perm: [0, 3, 5, 1, 2, 4] });
  return reshapeTo(n.b, t, [b!, c! * bs * bs, h! / bs, w! / bs]);
});

// CenterCropPad: each named axis is cropped to its centred window (the start rounded down) or
// padded with zeros on both sides (the extra one after) to the target extent.
defineOnnxOp('CenterCropPad', (n) => {
  const x = n.input(0);
  const shape = typeOf(x).shape;
  const target = n.values(1, 'shape');
  const axes = (n.attrs.ints('axes') ?? shape.map((_, i) => i)).map((a) => normalizeAxis(n, a, shape.length));
  if (target.length !== axes.length) n.fail(`shape [${target.join(',')}] needs one extent per axis (${axes.length})`);
  const crop = { starts: [] as number[], ends: [] as number[], axes: [] as number[] };
  const pads = new Array<number>(2 * shape.length).fill(0);
  axes.forEach((a, i) => {
    const [from, to] = [shape[a]!, target[i]!];
    if (to < from) {
      const start = Math.floor((from - to) / 2);
      crop.starts.push(start); crop.ends.push(start + to); crop.axes.push(a);
    } else {
      pads[a] = Math.floor((to - from) / 2);
      pads[shape.length + a] = to - from - pads[a]!;
    }
  });
  const cropped = crop.axes.length ? n.b.op('slice', [x], { ...crop, steps: [] }) : x;
  return pads.some((p) => p !== 0) ? n.b.op('pad', [cropped], { pads, mode: 'constant', value: 0 }) : cropped;
});
