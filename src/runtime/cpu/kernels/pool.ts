import { adaptiveBin, adaptivePool2dAttrs, avgPool2dAttrs, poolGeometry, type PoolGeometry } from '../../../ir/ops/pool.js';
import { numel } from '../../../ir/types.js';
import { hostValues, storeValues } from './values.js';
import { alloc, type CpuKernel } from './kernel.js';
import { attrsOf } from '../../../ir/attrs.js';

// Reference pooling kernels (NCHW), one output element at a time, in double precision.

/** The lowest value of an integer dtype: what a max over padding alone gives (floats: -inf). */
const LOWEST: Readonly<Record<string, number>> = { i32: -(2 ** 31), u32: 0 };

/**
 * Calls `window` for each output element of a 2-D window pool in NCHW order; `taps(visit)` calls
 * `visit` with the flat input index of each of that window's taps inside the input (padding
 * skipped), in row-major window order, until `visit` returns true.
 */
export function forEachWindow(g: PoolGeometry, window: (taps: (visit: (at: number) => boolean | void) => void) => void): void {
  for (let nc = 0; nc < g.batch * g.channels; nc++) {
    const plane = nc * g.inH * g.inW;
    for (let oh = 0; oh < g.outH; oh++) {
      for (let ow = 0; ow < g.outW; ow++) {
        window((visit) => {
          for (let kh = 0; kh < g.h.kernel; kh++) {
            const ih = oh * g.h.stride - g.h.padBefore + kh * g.h.dilation;
            if (ih < 0 || ih >= g.inH) continue;
            for (let kw = 0; kw < g.w.kernel; kw++) {
              const iw = ow * g.w.stride - g.w.padBefore + kw * g.w.dilation;
              if (iw >= 0 && iw < g.inW && visit(plane + ih * g.inW + iw)) return;
            }
          }
        });
      }
    }
  }
}

const maxPool2d: CpuKernel = (node, [xt]) => {
  const g = poolGeometry(xt!.shape, node.attrs);
  const x = hostValues(xt!);
  const lowest = LOWEST[xt!.dtype] ?? -Infinity;
  const out = new Float64Array(g.batch * g.channels * g.outH * g.outW);
  let i = 0;
  forEachWindow(g, (taps) => {
    let best = lowest; // what a window of padding alone gives
    taps((at) => {
      const v = x[at]!;
      if (v > best || Number.isNaN(v)) best = v; // NaN propagates, as in PyTorch
      return Number.isNaN(best);
    });
    out[i++] = best;
  });
  return [storeValues(alloc(node.output.type), out)];
};

/** The extent [start, end) of window `o` along one axis, before and after clipping to the input. */
function avgWindow(o: number, stride: number, kernel: number, padBefore: number, padAfter: number, size: number) {
  const start = o * stride - padBefore;
  const end = Math.min(start + kernel, size + padAfter); // never past the padding ceil_mode overhangs
  return { padded: end - start, start: Math.max(start, 0), end: Math.min(end, size) };
}

const avgPool2d: CpuKernel = (node, [xt]) => {
  const g = poolGeometry(xt!.shape, node.attrs);
  const includePad = attrsOf(node, avgPool2dAttrs).count_include_pad;
  const x = hostValues(xt!);
  const out = new Float64Array(g.batch * g.channels * g.outH * g.outW);
  let i = 0;
  for (let nc = 0; nc < g.batch * g.channels; nc++) {
    const plane = nc * g.inH * g.inW;
    for (let oh = 0; oh < g.outH; oh++) {
      const hw = avgWindow(oh, g.h.stride, g.h.kernel, g.h.padBefore, g.h.padAfter, g.inH);
      for (let ow = 0; ow < g.outW; ow++) {
        const ww = avgWindow(ow, g.w.stride, g.w.kernel, g.w.padBefore, g.w.padAfter, g.inW);
        let sum = 0;
        for (let ih = hw.start; ih < hw.end; ih++) {
          for (let iw = ww.start; iw < ww.end; iw++) sum += x[plane + ih * g.inW + iw]!;
        }
        const count = includePad ? hw.padded * ww.padded : (hw.end - hw.start) * (ww.end - ww.start);
        out[i++] = sum / count;
      }
    }
  }
  return [storeValues(alloc(node.output.type), out)];
};

const globalAvgPool: CpuKernel = (node, [xt]) => {
  const x = hostValues(xt!);
  const size = numel(xt!.shape.slice(2));
  const out = new Float64Array(xt!.shape[0]! * xt!.shape[1]!);
  for (let nc = 0; nc < out.length; nc++) {
    let sum = 0;
    for (let j = 0; j < size; j++) sum += x[nc * size + j]!;
    out[nc] = sum / size;
  }
  return [storeValues(alloc(node.output.type), out)];
};

const adaptiveAvgPool2d: CpuKernel = (node, [xt]) => {
  const [n, c, h, w] = xt!.shape as [number, number, number, number];
  const [outH, outW] = attrsOf(node, adaptivePool2dAttrs).output_size as [number, number];
  const x = hostValues(xt!);
  const out = new Float64Array(n * c * outH * outW);
  let i = 0;
  for (let nc = 0; nc < n * c; nc++) {
    for (let oh = 0; oh < outH; oh++) {
      const [h0, h1] = adaptiveBin(oh, h, outH);
      for (let ow = 0; ow < outW; ow++) {
        const [w0, w1] = adaptiveBin(ow, w, outW);
        let sum = 0;
        for (let ih = h0; ih < h1; ih++) for (let iw = w0; iw < w1; iw++) sum += x[(nc * h + ih) * w + iw]!;
        out[i++] = sum / ((h1 - h0) * (w1 - w0));
      }
    }
  }
  return [storeValues(alloc(node.output.type), out)];
};

export const poolKernels: Record<string, CpuKernel> = {
  max_pool2d: maxPool2d,
  avg_pool2d: avgPool2d,
  global_avg_pool: globalAvgPool,
  adaptive_avg_pool2d: adaptiveAvgPool2d,
};
