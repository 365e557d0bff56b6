// Gathers, scatters and masks addressed by index tensors. Element-wise gathers and scatters map
// to kiln's indexing ops (reference kernels that check every index); one-hot style ops are
// comparisons of indices with the positions along an axis, which run anywhere and fuse.
import { typeOf, type Operand } from '../builder.js';
import { defineOnnxOp, type OnnxNode } from '../node.js';
import { makeConst } from '../tensor.js';
import { castTo, normalizeAxis, positionsAlong, reshapeTo, scalarLike } from './helpers.js';

defineOnnxOp('GatherElements', (n) => n.b.op('gather_elements', [n.input(0), n.input(1)], { axis: n.attrs.int('axis', 0) }));

// Scatter is ScatterElements' deprecated name (opsets 9 and 10); reductions came in opset 16.
defineOnnxOp(['ScatterElements', 'Scatter'], (n) => n.b.op('scatter_elements', [n.input(0), n.input(1), n.input(2)], {
  axis: n.attrs.int('axis', 0), reduction: n.attrs.string('reduction', 'none'),
}));

defineOnnxOp('GatherND', (n) => n.b.op('gather_nd', [n.input(0), n.input(1)], { batch_dims: n.attrs.int('batch_dims', 0) }));

defineOnnxOp('ScatterND', (n) => n.b.op('scatter_nd', [n.input(0), n.input(1), n.input(2)], { reduction: n.attrs.string('reduction', 'none') }));

/** i mod m for non-negative i32 values (integer division truncates, which is flooring here). */
function modNonNegative(n: OnnxNode, i: Operand, m: number): Operand {
  const mm = n.b.scalar('i32', m);
  return n.b.op('sub', [i, n.b.op('mul', [n.b.op('div', [i, mm]), mm])]);
}

// TensorScatter (opset 24, a KV-cache update): update's rows along `axis` are written into the
// cache at write_indices[batch] + row (modulo the cache length in circular mode): a scatter whose
// index along the axis is computed from the write indices at run time.
defineOnnxOp('TensorScatter', (n) => {
  const [cache, update] = [n.input(0), n.input(1)];
  const shape = typeOf(cache).shape;
  const rank = shape.length;
  const axis = normalizeAxis(n, n.attrs.int('axis', -2), rank);
  if (axis === 0) n.fail('axis must not be the batch axis 0');
  const mode = n.attrs.string('mode', 'linear');
  if (mode !== 'linear' && mode !== 'circular') n.fail(`mode '${mode}' is not one of linear, circular`);
  const updateShape = typeOf(update).shape;
  let at: Operand = positionsAlong(n, rank, axis, updateShape[axis]!);
  const writeIndices = n.optional(2);
  if (writeIndices) at = n.b.op('add', [reshapeTo(n.b, writeIndices, [shape[0]!, ...new Array<number>(rank - 1).fill(1)]), at]);
  if (mode === 'circular') at = modNonNegative(n, at, shape[axis]!);
  const indices = n.b.op('expand', [at], { shape: [...updateShape] });
  return n.b.op('scatter_elements', [cache, indices, update], { axis, reduction: 'none' });
});

// Compress keeps the slices whose condition is true: the output's extent is the number of true
// entries, so the condition must be known at import; then it is a gather of those positions.
defineOnnxOp('Compress', (n) => {
  const condition = n.values(1, 'condition (the number of its true entries is the output extent)');
  let x = n.input(0);
  const axisAttr = n.attrs.int('axis');
  if (axisAttr === undefined) x = reshapeTo(n.b, x, [typeOf(x).shape.reduce((p, d) => p * d, 1)]);
  const shape = typeOf(x).shape;
  const axis = normalizeAxis(n, axisAttr ?? 0, shape.length);
  if (condition.length > shape[axis]!) n.fail(`condition has ${condition.length} entries but axis ${axis} of [${shape.join(',')}] only ${shape[axis]}`);
  const kept = condition.flatMap((c, i) => (c ? [i] : []));
  return n.b.op('gather', [x, makeConst(`${n.name}:kept`, 'i32', [kept.length], kept)], { axis });
});

// OneHot: out[..., j, ...] = values[1] where j is the index (negative counts back from depth),
// else values[0]; indices out of range give a row of values[0]. Float indices are compared as
// they are (a non-integral one matches nothing), as ONNX's reference and ONNX Runtime do. The
// depth is the new axis's extent, so it must be known at import.
defineOnnxOp('OneHot', (n) => {
  const depthValues = n.values(1, 'depth (the extent of the new axis)');
  if (depthValues.length !== 1) n.fail(`depth must hold one value, got ${depthValues.length}`);
  const depth = Math.trunc(depthValues[0]!);
  if (depth < 1) n.fail(`depth must be positive, got ${depthValues[0]}`);
  const indices = n.input(0);
  const rank = typeOf(indices).shape.length + 1;
  const axis = normalizeAxis(n, n.attrs.int('axis', -1), rank);
  const wrapped = n.b.op('where', [n.b.op('less', [indices, scalarLike(n.b, indices, 0)]), n.b.op('add', [indices, scalarLike(n.b, indices, depth)]), indices]);
  const positions = castTo(n.b, positionsAlong(n, rank, axis, depth), typeOf(indices).dtype);
  const hot = n.b.op('equal', [n.b.op('unsqueeze', [wrapped], { axes: [axis] }), positions]);
  const values = n.input(2);
  if (typeOf(values).shape.reduce((p, d) => p * d, 1) !== 2) n.fail(`values must hold [off, on], got shape [${typeOf(values).shape.join(',')}]`);
  const pick = (i: number) => n.b.op('gather', [reshapeTo(n.b, values, [2]), n.b.scalar('i32', i)]);
  return n.b.op('where', [hot, pick(1), pick(0)]);
});

// ReverseSequence reverses the first seq_lens[b] steps along the time axis of each batch entry:
// a gather along the time axis from t' = len - 1 - t (t < len) or t (the rest).
defineOnnxOp('ReverseSequence', (n) => {
  const x = n.input(0);
  const shape = typeOf(x).shape;
  const rank = shape.length;
  if (rank < 2) n.fail('needs an input of rank at least 2');
  const timeAxis = normalizeAxis(n, n.attrs.int('time_axis', 0), rank, 'time_axis');
  const batchAxis = normalizeAxis(n, n.attrs.int('batch_axis', 1), rank, 'batch_axis');
  if (timeAxis === batchAxis) n.fail('time_axis and batch_axis must differ');
  const lens = reshapeTo(n.b, n.input(1), shape.map((d, i) => (i === batchAxis ? d : 1)));
  const t = positionsAlong(n, rank, timeAxis, shape[timeAxis]!);
  const reversed = n.b.op('sub', [n.b.op('sub', [lens, n.b.scalar('i32', 1)]), t]);
  const from = n.b.op('where', [n.b.op('less', [t, lens]), reversed, t]);
  return n.b.op('gather_elements', [x, n.b.op('expand', [from], { shape: [...shape] })], { axis: timeAxis });
});

// Trilu keeps the elements on and above (upper) or below (lower) the k-th diagonal of the last
// two axes and zeroes the rest: a mask of column - row against k. k may be computed at run time.
defineOnnxOp('Trilu', (n) => {
  const x = n.input(0);
  const shape = typeOf(x).shape;
  if (shape.length < 2) n.fail('needs an input of rank at least 2');
  const [rows, cols] = shape.slice(-2) as [number, number];
  const diagonal = makeConst(`${n.name}:diagonal`, 'i32', [rows, cols], Array.from({ length: rows * cols }, (_, e) => (e % cols) - Math.floor(e / cols)));
  const kIn = n.optional(1);
  const k = kIn ? reshapeTo(n.b, castTo(n.b, kIn, 'i32'), []) : n.b.scalar('i32', 0);
  const keep = n.b.op(n.attrs.int('upper', 1) !== 0 ? 'greater_equal' : 'less_equal', [diagonal, k]);
  return n.b.op('where', [keep, x, scalarLike(n.b, x, 0)]);
});
