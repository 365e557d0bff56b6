import { attrsOf } from '../../../ir/attrs.js';
import { deformConvAttrs } from '../../../ir/ops/deform-conv.js';
import { alloc, type CpuKernel } from './kernel.js';

/** Bilinear read of an h x w plane at (y, x), neighbours outside the plane reading zero. */
function bilinear(data: ArrayLike<number>, plane: number, h: number, w: number, y: number, x: number): number {
  const y0 = Math.floor(y);
  const x0 = Math.floor(x);
  const ly = y - y0;
  const lx = x - x0;
  const at = (i: number, j: number) => (i >= 0 && i < h && j >= 0 && j < w ? data[plane + i * w + j]! : 0);
  return (1 - ly) * ((1 - lx) * at(y0, x0) + lx * at(y0, x0 + 1)) + ly * ((1 - lx) * at(y0 + 1, x0) + lx * at(y0 + 1, x0 + 1));
}

/** DeformConv on the host: each output sums its group's channels over the moved, masked taps. */
const deformConv2d: CpuKernel = (node, [x, w, offset, bias, mask]) => {
  const a = attrsOf(node, deformConvAttrs);
  const out = alloc(node.output.type);
  const [n, c, h, wd] = x!.shape as [number, number, number, number];
  const [m, cg, kh, kw] = w!.shape as [number, number, number, number];
  const [, , oh, ow] = out.shape as [number, number, number, number];
  const [sh, sw] = a.stride as [number, number];
  const [dh, dw] = a.dilation as [number, number];
  const [pt, pl] = a.padding as [number, number];
  const mPerGroup = m / a.groups;
  const cPerOffsetGroup = c / a.offset_groups;
  const taps = kh * kw;
  const outPlane = oh * ow;
  for (let b = 0; b < n; b++) {
    for (let oc = 0; oc < m; oc++) {
      const g = Math.floor(oc / mPerGroup);
      for (let y = 0; y < oh; y++) {
        for (let xo = 0; xo < ow; xo++) {
          const pos = y * ow + xo;
          let sum = bias!.data[oc]!;
          for (let k = 0; k < cg; k++) {
            const ic = g * cg + k;
            const og = Math.floor(ic / cPerOffsetGroup);
            const plane = (b * c + ic) * h * wd;
            for (let t = 0; t < taps; t++) {
              const [i, j] = [Math.floor(t / kw), t % kw];
              const pair = (b * a.offset_groups + og) * taps + t; // offset channels 2*pair (dy), 2*pair + 1 (dx)
              const dy = offset!.data[(2 * pair) * outPlane + pos]!;
              const dx = offset!.data[(2 * pair + 1) * outPlane + pos]!;
              const scale = mask!.data[pair * outPlane + pos]!;
              const v = bilinear(x!.data, plane, h, wd, y * sh - pt + i * dh + dy, xo * sw - pl + j * dw + dx);
              sum += w!.data[((oc * cg + k) * kh + i) * kw + j]! * v * scale;
            }
          }
          out.data[(b * m + oc) * outPlane + pos] = sum;
        }
      }
    }
  }
  return [out];
};

export const deformConvKernels: Record<string, CpuKernel> = { deform_conv2d: deformConv2d };
