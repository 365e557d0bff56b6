import { poolGeometry } from '../../../ir/ops/pool.js';
import { hostValues, storeValues } from './values.js';
import { alloc, type CpuKernel } from './kernel.js';

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
  for (let nc = 0; nc < g.batch * g.channels; nc++) {
    const plane = nc * g.inH * g.inW;
    for (let oh = 0; oh < g.outH; oh++) {
      for (let ow = 0; ow < g.outW; ow++) {
        let best = -Infinity;
        let at = -1;
        for (let kh = 0; kh < g.h.kernel; kh++) {
          const ih = oh * g.h.stride - g.h.padBefore + kh * g.h.dilation;
          if (ih < 0 || ih >= g.inH) continue;
          for (let kw = 0; kw < g.w.kernel; kw++) {
            const iw = ow * g.w.stride - g.w.padBefore + kw * g.w.dilation;
            if (iw < 0 || iw >= g.inW) continue;
            const v = x[plane + ih * g.inW + iw]!;
            if (at < 0 || v > best || Number.isNaN(v)) { best = v; at = plane + ih * g.inW + iw; }
          }
        }
        if (at >= 0) dx[at]! += dy[i]!;
        i++;
      }
    }
  }
  return [storeValues(alloc(node.output.type), dx)];
};

export const poolBackwardKernels: Record<string, CpuKernel> = { max_pool2d_backward: maxPool2dBackward };
