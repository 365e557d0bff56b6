// AveragePool with dilations (kiln's avg_pool2d has none): window sums, as depthwise
// convolutions with a dilated window of ones, divided by each window's count. The count is a
// product of per-axis counts of the window's taps that land inside the input (or, with
// count_include_pad, inside the padded input), known at import, so it is a constant.
import { windowCount } from '../../../ir/ops/conv.js';
import { typeOf, type Operand } from '../builder.js';
import type { OnnxNode } from '../node.js';
import { makeConst } from '../tensor.js';
import { windowSums3d } from './conv3d.js';
import { as2d, from2d, lastTwoAxes, type WindowNd } from './window-params.js';

/** Per output position along one axis, how many of its taps the divisor counts. */
function tapCounts(size: number, kernel: number, stride: number, dilation: number, begin: number, end: number, outSize: number, countPad: boolean): number[] {
  const [lo, hi] = countPad ? [-begin, size + end] : [0, size];
  return Array.from({ length: outSize }, (_, o) => {
    let count = 0;
    for (let j = 0; j < kernel; j++) {
      const p = o * stride - begin + j * dilation;
      if (p >= lo && p < hi) count++;
    }
    return count;
  });
}

/** Every combination of per-axis counts, multiplied, in row-major order. */
function outerProduct(axes: number[][]): number[] {
  return axes.reduce<number[]>((acc, counts) => acc.flatMap((a) => counts.map((c) => a * c)), [1]);
}

export function dilatedAveragePool(n: OnnxNode, x: Operand, win: WindowNd, ceilMode: boolean, countIncludePad: boolean): Operand {
  const shape = typeOf(x).shape;
  const spatialIn = shape.slice(2);
  const outSizes = spatialIn.map((size, i) => windowCount(size, {
    kernel: win.kernel[i]!, stride: win.stride[i]!, dilation: win.dilation[i]!, padBefore: win.begin[i]!, padAfter: win.end[i]!,
  }, ceilMode));
  if (outSizes.some((o) => o < 1)) n.fail(`the window does not fit input [${shape.join(',')}]`);
  // ceil_mode's last windows may run past the end padding: pad the sums further with zeros so
  // that the convolution (which rounds down) yields them too.
  const end = spatialIn.map((size, i) => {
    const span = win.dilation[i]! * (win.kernel[i]! - 1) + 1;
    return win.end[i]! + Math.max(0, (outSizes[i]! - 1) * win.stride[i]! + span - (size + win.begin[i]! + win.end[i]!));
  });
  const sumsWin: WindowNd = { ...win, end };
  let sums: Operand;
  if (spatialIn.length === 3) {
    sums = windowSums3d(n, x, sumsWin);
  } else {
    const w = lastTwoAxes(sumsWin);
    const channels = shape[1]!;
    const ones = n.b.scalar(typeOf(x).dtype, 1, [channels, 1, w.kernel[0]!, w.kernel[1]!]);
    sums = from2d(n, n.b.op('conv2d', [as2d(n, x), ones], { stride: w.stride, padding: w.padding, dilation: w.dilation, groups: channels }), spatialIn.length);
  }
  const counts = outerProduct(spatialIn.map((size, i) => tapCounts(size, win.kernel[i]!, win.stride[i]!, win.dilation[i]!, win.begin[i]!, win.end[i]!, outSizes[i]!, countIncludePad)));
  const divisor = makeConst(`${n.name}:window_counts`, typeOf(x).dtype, [1, 1, ...outSizes], counts);
  return n.b.op('div', [sums, divisor]);
}
