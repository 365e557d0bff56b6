import { filterTaps, insideCrop, linearTaps, nearestIndex, resizePlan, usesFilter } from '../../../ir/ops/resize.js';
import { f16BitsToF32, f32ToF16Bits } from '../../../ir/f16.js';
import { alloc, type CpuKernel } from './kernel.js';

/**
 * Nearest picks one element through the exact integer coordinate maps; linear blends the four
 * neighbours, cubic and antialiased filters their taps (filterTaps), in double precision (f16 decoded first and rounded back once).
 */
const resize: CpuKernel = (node, [x]) => {
  const out = alloc(node.output.type);
  const plan = resizePlan(x!.shape, node.attrs);
  const { h, w } = plan;
  const half = x!.dtype === 'f16';
  const read = (i: number) => (half ? f16BitsToF32(x!.data[i]!) : x!.data[i]!);
  // Filter taps (cubic, antialiased linear) depend on one output index each: computed once per axis.
  const filter = usesFilter(plan)
    ? [h, w].map((m) => Array.from({ length: m.outSize }, (_, o) => filterTaps(plan, m, o)))
    : undefined;
  let i = 0;
  for (let b = 0; b < plan.batch; b++) {
    const base = b * h.inSize * w.inSize;
    for (let oy = 0; oy < h.outSize; oy++) {
      for (let ox = 0; ox < w.outSize; ox++, i++) {
        if (!insideCrop(h, oy) || !insideCrop(w, ox)) {
          out.data[i] = half ? f32ToF16Bits(plan.extrapolation) : plan.extrapolation;
          continue;
        }
        if (plan.mode === 'nearest') {
          out.data[i] = x!.data[base + nearestIndex(h, oy) * w.inSize + nearestIndex(w, ox)]!;
          continue;
        }
        if (filter) {
          const [fy, fx] = [filter[0]![oy]!, filter[1]![ox]!];
          let v = 0;
          for (let j = 0; j < fy.index.length; j++) {
            let row = 0;
            for (let k = 0; k < fx.index.length; k++) row += fx.weight[k]! * read(base + fy.index[j]! * w.inSize + fx.index[k]!);
            v += fy.weight[j]! * row;
          }
          out.data[i] = half ? f32ToF16Bits(v) : v;
          continue;
        }
        const ty = linearTaps(h, oy);
        const tx = linearTaps(w, ox);
        const row = (y: number) => {
          const a = read(base + y * w.inSize + tx.i0);
          const c = read(base + y * w.inSize + tx.i1);
          return a + (c - a) * tx.frac;
        };
        const top = row(ty.i0);
        const v = top + (row(ty.i1) - top) * ty.frac;
        out.data[i] = half ? f32ToF16Bits(v) : v;
      }
    }
  }
  return [out];
};

export const resizeKernels: Record<string, CpuKernel> = { resize };
