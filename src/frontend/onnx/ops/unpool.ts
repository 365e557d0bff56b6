// Ops that scatter values back into an image: MaxUnpool puts each value at the flat position its
// index names (MaxPool's Indices output), Col2Im sums sliding blocks (im2col's columns) into the
// image. Both become one scatter_elements into zeros, with the target positions computed at
// import where they depend only on shapes.
import { numel } from '../../../ir/types.js';
import { typeOf, type Operand } from '../builder.js';
import { defineOnnxOp, type OnnxNode } from '../node.js';
import { makeConst } from '../tensor.js';
import { reshapeTo, scalarLike } from './helpers.js';

/** A tensor of zeros of `x`'s dtype (folded into a constant at import). */
function zerosLike(n: OnnxNode, x: Operand, shape: readonly number[]): Operand {
  return n.b.op('expand', [scalarLike(n.b, x, 0)], { shape: [...shape] });
}

/** A per-spatial-axis attribute (kernel_shape, strides, ...), checked to have one value per axis. */
function spatialInts(n: OnnxNode, name: string, spatial: number, fallback: number): number[] {
  const v = n.attrs.ints(name) ?? new Array<number>(spatial).fill(fallback);
  if (v.length !== spatial) n.fail(`${name} [${v.join(',')}] needs ${spatial} values`);
  return v;
}

// MaxUnpool: zeros of the pooling's inverse shape, with X[i] at the flat position I[i] (MaxPool's
// indices count over the whole N x C x D1 x ... tensor). A larger output_shape (known at
// import) pads that result with zeros at the end of each axis, as ONNX's reference does.
defineOnnxOp('MaxUnpool', (n) => {
  const [x, indices] = [n.input(0), n.input(1)];
  const shape = typeOf(x).shape;
  const spatial = shape.length - 2;
  if (spatial < 1) n.fail(`needs an input [N, C, D1, ...], got [${shape.join(',')}]`);
  const kernel = spatialInts(n, 'kernel_shape', spatial, 0);
  const strides = spatialInts(n, 'strides', spatial, 1);
  const pads = n.attrs.ints('pads') ?? new Array<number>(2 * spatial).fill(0);
  const inferred = [shape[0]!, shape[1]!, ...shape.slice(2).map((d, i) => (d - 1) * strides[i]! - pads[i]! - pads[spatial + i]! + kernel[i]!)];
  const flat = [numel(shape)];
  const placed = n.b.op('scatter_elements', [zerosLike(n, x, [numel(inferred)]), reshapeTo(n.b, indices, flat), reshapeTo(n.b, x, flat)], { axis: 0, reduction: 'none' });
  const unpooled = reshapeTo(n.b, placed, inferred);
  const out = n.optionalValues(2, 'output_shape');
  if (!out) return unpooled;
  if (out.length !== shape.length || out.some((d, i) => d < inferred[i]!)) n.fail(`output_shape [${out.join(',')}] must have rank ${shape.length} and hold the unpooled [${inferred.join(',')}]`);
  const grow = out.map((d, i) => d - inferred[i]!);
  return grow.every((g) => g === 0) ? unpooled : n.b.op('pad', [unpooled], { pads: [...grow.map(() => 0), ...grow], mode: 'constant', value: 0 });
});

/**
 * Col2Im's target of every column element in the padded image, flattened: block offset k and
 * block position l (both row-major over the spatial axes) land at l * stride + k * dilation.
 */
function col2imTargets(padded: readonly number[], block: readonly number[], blocks: readonly number[], strides: readonly number[], dilations: readonly number[]): number[] {
  const coords = (i: number, extents: readonly number[]) => {
    const c = new Array<number>(extents.length);
    for (let d = extents.length - 1; d >= 0; d--) { c[d] = i % extents[d]!; i = Math.floor(i / extents[d]!); }
    return c;
  };
  const [kCount, lCount] = [numel(block), numel(blocks)];
  const targets = new Array<number>(kCount * lCount);
  for (let k = 0; k < kCount; k++) {
    const kc = coords(k, block);
    for (let l = 0; l < lCount; l++) {
      const lc = coords(l, blocks);
      targets[k * lCount + l] = lc.reduce((flat, p, d) => flat * padded[d]! + p * strides[d]! + kc[d]! * dilations[d]!, 0);
    }
  }
  return targets;
}

// Col2Im: input [N, C * prod(block), L] holds, for each of the L block positions, the block's
// values; they are summed into a zero image, padded by `pads`, whose border is then cut off.
defineOnnxOp('Col2Im', (n) => {
  const x = n.input(0);
  const image = n.values(1, 'image_shape');
  const block = n.values(2, 'block_shape');
  const spatial = image.length;
  if (block.length !== spatial) n.fail(`block_shape [${block.join(',')}] and image_shape [${image.join(',')}] differ in rank`);
  const strides = spatialInts(n, 'strides', spatial, 1);
  const dilations = spatialInts(n, 'dilations', spatial, 1);
  const pads = n.attrs.ints('pads') ?? new Array<number>(2 * spatial).fill(0);
  if (pads.length !== 2 * spatial) n.fail(`pads [${pads.join(',')}] needs ${2 * spatial} values`);
  const padded = image.map((d, i) => d + pads[i]! + pads[spatial + i]!);
  const blocks = padded.map((p, i) => Math.floor((p - dilations[i]! * (block[i]! - 1) - 1) / strides[i]!) + 1);
  const [batch, rows, cols] = typeOf(x).shape as [number, number, number];
  const kCount = numel(block);
  if (typeOf(x).shape.length !== 3 || rows % kCount !== 0 || cols !== numel(blocks)) {
    n.fail(`input [${typeOf(x).shape.join(',')}] must be [N, C * ${kCount}, ${numel(blocks)}] for blocks [${block.join(',')}] over image [${image.join(',')}]`);
  }
  const channels = rows / kCount;
  const columns = [batch, channels, kCount * cols];
  const targets = makeConst(`${n.name}:targets`, 'i32', [1, 1, kCount * cols], col2imTargets(padded, block, blocks, strides, dilations));
  const summed = n.b.op('scatter_elements', [
    zerosLike(n, x, [batch, channels, numel(padded)]), n.b.op('expand', [targets], { shape: columns }), reshapeTo(n.b, x, columns),
  ], { axis: 2, reduction: 'add' });
  const full = reshapeTo(n.b, summed, [batch, channels, ...padded]);
  if (pads.every((p) => p === 0)) return full;
  const axes = image.map((_, i) => i + 2);
  return n.b.op('slice', [full], { starts: pads.slice(0, spatial), ends: image.map((d, i) => pads[i]! + d), axes, steps: [] });
});
