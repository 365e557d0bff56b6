import { attrsOf } from '../../../ir/attrs.js';
import { KilnError } from '../../../ir/errors.js';
import { roiAlignAttrs } from '../../../ir/ops/roi-align.js';
import { alloc, type CpuKernel } from './kernel.js';

/** A bilinear sample: four plane offsets and their weights (all zero outside the map). */
interface Sample { readonly at: readonly number[]; readonly weight: readonly number[] }

/**
 * The bilinear sample at (y, x) of an h x w plane. A point more than one pixel outside reads
 * nothing; one within a pixel of the border is clamped to the edge (ONNX's reference rule).
 */
function bilinear(y: number, x: number, h: number, w: number): Sample {
  if (y < -1 || y > h || x < -1 || x > w) return { at: [0, 0, 0, 0], weight: [0, 0, 0, 0] };
  const axis = (v: number, size: number): [number, number, number] => {
    const c = Math.max(v, 0);
    const lo = Math.trunc(c);
    return lo >= size - 1 ? [size - 1, size - 1, 0] : [lo, lo + 1, c - lo];
  };
  const [y0, y1, ly] = axis(y, h);
  const [x0, x1, lx] = axis(x, w);
  return {
    at: [y0 * w + x0, y0 * w + x1, y1 * w + x0, y1 * w + x1],
    weight: [(1 - ly) * (1 - lx), (1 - ly) * lx, ly * (1 - lx), ly * lx],
  };
}

const roiAlign: CpuKernel = (node, [x, rois, batchIndices]) => {
  const a = attrsOf(node, roiAlignAttrs);
  const [n, c, h, w] = x!.shape as [number, number, number, number];
  const [oh, ow] = [a.output_height, a.output_width];
  const out = alloc(node.output.type);
  const offset = a.half_pixel ? 0.5 : 0;
  const r = rois!.shape[0]!;
  for (let roi = 0; roi < r; roi++) {
    const b = batchIndices!.data[roi]!;
    if (b < 0 || b >= n) throw new KilnError(`roi_align: batch index ${b} of box ${roi} is out of range for a batch of ${n}`);
    const [x1, y1, x2, y2] = [0, 1, 2, 3].map((k) => rois!.data[roi * 4 + k]! * a.spatial_scale - offset) as [number, number, number, number];
    // output_half_pixel forces malformed boxes to at least 1x1 (ONNX's legacy rule).
    const roiW = a.half_pixel ? x2 - x1 : Math.max(x2 - x1, 1);
    const roiH = a.half_pixel ? y2 - y1 : Math.max(y2 - y1, 1);
    const [binH, binW] = [roiH / oh, roiW / ow];
    const gridH = a.sampling_ratio > 0 ? a.sampling_ratio : Math.ceil(roiH / oh);
    const gridW = a.sampling_ratio > 0 ? a.sampling_ratio : Math.ceil(roiW / ow);
    const count = Math.max(gridH * gridW, 1);
    for (let ph = 0; ph < oh; ph++) {
      for (let pw = 0; pw < ow; pw++) {
        const samples: Sample[] = [];
        for (let iy = 0; iy < gridH; iy++) {
          const sy = y1 + ph * binH + ((iy + 0.5) * binH) / gridH;
          for (let ix = 0; ix < gridW; ix++) samples.push(bilinear(sy, x1 + pw * binW + ((ix + 0.5) * binW) / gridW, h, w));
        }
        for (let ch = 0; ch < c; ch++) {
          const plane = (b * c + ch) * h * w;
          let acc = a.mode === 'avg' ? 0 : -Infinity;
          for (const s of samples) {
            const taps = s.at.map((at, k) => s.weight[k]! * x!.data[plane + at]!);
            acc = a.mode === 'avg' ? acc + taps[0]! + taps[1]! + taps[2]! + taps[3]! : Math.max(acc, ...taps);
          }
          // A bin without samples (an empty box) gives 0 in both modes.
          out.data[((roi * c + ch) * oh + ph) * ow + pw] = a.mode === 'avg' ? acc / count : samples.length > 0 ? acc : 0;
        }
      }
    }
  }
  return [out];
};

export const roiAlignKernels: Record<string, CpuKernel> = { roi_align: roiAlign };
