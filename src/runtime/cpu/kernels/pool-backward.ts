import { poolGeometry } from '../../../ir/ops/pool.js';
import { hostValues, storeValues } from './values.js';
import { alloc, type CpuKernel } from './kernel.js';
import { forEachWindow } from './pool.js';

// Reference max_pool2d gradient as a scatter: each window finds its winner (the first maximum in
// row-major window order, never padding; a NaN, the last one, as PyTorch, since the forward
// result is NaN there) and adds its output gradient there. The GPU kernel
// gathers per input element instead, so the two formulations check each other.

const maxPool2dBackward: CpuKernel = (node, [xt, dyt]) => {
  const g = poolGeometry(xt!.shape, node.attrs);
  const x = hostValues(xt!);
  const dy = hostValues(dyt!);
  const dx = new Float64Array(x.length);
  let i = 0;
  forEachWindow(g, (taps) => {
    let best = -Infinity;
    let at = -1;
    taps((t) => {
      const v = x[t]!;
      if (at < 0 || v > best || Number.isNaN(v)) { best = v; at = t; }
    });
    if (at >= 0) dx[at]! += dy[i]!;
    i++;
  });
  return [storeValues(alloc(node.output.type), dx)];
};

export const poolBackwardKernels: Record<string, CpuKernel> = { max_pool2d_backward: maxPool2dBackward };
