import type { Value } from '../../ir/graph.js';
import type { OpTable } from '../../ir/ops/index.js';
import { numel } from '../../ir/types.js';
import { gatherLayout } from '../../ir/ops/gather.js';
import { DEVICE_EXPANSION_LIMIT, type GradContext, type GradRule } from './grad-context.js';

// Gradient rules of the indexing ops. A gather's gradient is the scatter-add of dy to the
// places it read (an index read twice collects both); a scatter's is dy where the data
// survived and the gather of dy at the written places for the updates. Only gather and
// embedding run on the device forward, so only their gradients avoid the CPU scatters.

/**
 * gather along `axis`: viewed as [outer, extent, inner] data and [outer, n, inner] dy, each dy
 * row adds into the data row its index names. On the device that is a matmul with the one-hot
 * matrix [extent, n] of the indices; where that matrix would be too large, a scatter-add (CPU).
 */
function gatherBack(c: GradContext, data: Value, indices: Value, axis: number): Value {
  const g = gatherLayout(data.type.shape, indices.type.shape, axis);
  const n = indices.type.shape.reduce((a, b) => a * b, 1);
  const dy = c.emit('reshape', [c.dy], { shape: [g.outer, n, g.inner] });
  let dx: Value;
  if (g.extent * n <= DEVICE_EXPANSION_LIMIT) {
    // Negative indices count from the end: mod by the extent (sign of the divisor) makes them rows.
    const rows = c.emit('mod', [c.emit('reshape', [indices], { shape: [1, n] }), c.scalar(g.extent, indices)]);
    const iota = c.constant([g.extent, 1], Array.from({ length: g.extent }, (_, i) => i), indices);
    const oneHot = c.emit('cast', [c.emit('equal', [iota, rows])], { to: data.type.dtype });
    dx = c.emit('matmul', [oneHot, dy]);
  } else {
    const at = c.emit('expand', [c.emit('reshape', [indices], { shape: [1, n, 1] })], { shape: [g.outer, n, g.inner] });
    dx = c.emit('scatter_elements', [c.zeros([g.outer, g.extent, g.inner], data), at, dy], { axis: 1, reduction: 'add' });
  }
  return c.emit('reshape', [dx], { shape: [...data.type.shape] });
}

/**
 * scatter (elements or nd): with reduction none the overwritten data elements get no gradient
 * (the scatter of zeros into dy); with add the data passes dy through. The updates get dy read
 * back at the places they went (with duplicate indices and none, each gets it, as PyTorch's).
 * max and min: see `extremeScatterBack`; mul is refused.
 */
function scatterBack(c: GradContext, scatter: string, gather: string, attrs: Record<string, number>): (Value | undefined)[] {
  const [, indices, updates] = c.inputs as [Value, Value, Value];
  const reduction = c.attr<string>('reduction');
  if (reduction === 'max' || reduction === 'min') return extremeScatterBack(c, scatter, gather, attrs);
  if (reduction !== 'none' && reduction !== 'add') c.refuse('reduction', 'the rule knows "none", "add", "max" and "min"');
  const kept = reduction === 'add' ? c.dy : c.emit(scatter, [c.dy, indices, c.zeros(updates.type.shape, updates)], { ...attrs, reduction: 'none' });
  return [kept, undefined, c.emit(gather, [c.dy, indices], attrs)];
}

/**
 * A max or min scatter passes each result's gradient to the elements equal to it, the data
 * element and the updates that went there, split evenly between ties (as PyTorch's
 * scatter_reduce with include_self).
 */
function extremeScatterBack(c: GradContext, scatter: string, gather: string, attrs: Record<string, number>): (Value | undefined)[] {
  const [data, indices, updates] = c.inputs as [Value, Value, Value];
  const y = c.outputs[0]!;
  const dataWins = c.emit('equal', [data, y]);
  const updateWins = c.emit('equal', [updates, c.emit(gather, [y, indices], attrs)]);
  const asFloat = (v: Value) => c.emit('cast', [v], { to: data.type.dtype });
  const winners = c.emit('add', [asFloat(dataWins), c.emit(scatter, [c.zeros(data.type.shape, data), indices, asFloat(updateWins)], { ...attrs, reduction: 'add' })]);
  const share = c.emit('div', [c.dy, winners]);
  const zero = c.scalar(0, data);
  return [c.emit('where', [dataWins, share, zero]), undefined, c.emit('where', [updateWins, c.emit(gather, [share, indices], attrs), zero])];
}

/**
 * gather_nd: dy scatter-added into zeros at the addressed slices. With batch dimensions, these
 * are flattened into one and every index tuple gets its batch position in front, so that one
 * unbatched scatter_nd does it.
 */
function gatherNdBack(c: GradContext): Value {
  const [data, indices] = c.inputs as [Value, Value];
  const b = c.attr<number>('batch_dims');
  if (b === 0) return c.emit('scatter_nd', [c.zeros(data.type.shape, data), indices, c.dy], { reduction: 'add' });
  const shape = data.type.shape;
  const k = indices.type.shape[indices.type.shape.length - 1]!;
  const batch = numel(shape.slice(0, b));
  const rows = numel(indices.type.shape.slice(b, -1));
  const positions = c.constant([batch, rows, 1], Array.from({ length: batch * rows }, (_, i) => Math.floor(i / rows)), indices);
  const tuples = c.emit('concat', [positions, c.emit('reshape', [indices], { shape: [batch, rows, k] })], { axis: 2 });
  const dy = c.emit('reshape', [c.dy], { shape: [batch, rows, ...shape.slice(b + k)] });
  const dx = c.emit('scatter_nd', [c.zeros([batch, ...shape.slice(b)], data), tuples, dy], { reduction: 'add' });
  return c.emit('reshape', [dx], { shape: [...shape] });
}

export const indexGradRules: OpTable<GradRule> = {
  gather: (c) => [gatherBack(c, c.inputs[0]!, c.inputs[1]!, c.attr<number>('axis')), undefined],
  embedding: (c) => [gatherBack(c, c.inputs[0]!, c.inputs[1]!, 0), undefined],
  gather_elements: (c) => {
    const [data, indices] = c.inputs as [Value, Value];
    return [c.emit('scatter_elements', [c.zeros(data.type.shape, data), indices, c.dy], { axis: c.attr<number>('axis'), reduction: 'add' }), undefined];
  },
  scatter_elements: (c) => scatterBack(c, 'scatter_elements', 'gather_elements', { axis: c.attr<number>('axis') }),
  gather_nd: (c) => [gatherNdBack(c), undefined],
  scatter_nd: (c) => scatterBack(c, 'scatter_nd', 'gather_nd', {}),
};
