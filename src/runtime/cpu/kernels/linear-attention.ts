import { linearAttentionAttrs, linearAttentionSizes } from '../../../ir/ops/linear-attention.js';
import { alloc, type CpuKernel } from './kernel.js';
import { attrsOf } from '../../../ir/attrs.js';

// The recurrence of linear_attention (see its definition), step by step; sums in f64.
const linearAttention: CpuKernel = (node, [q, k, v, state, decay, beta]) => {
  const { batch, qHeads, kvHeads, steps, dk, dv } = linearAttentionSizes(q!, v!);
  const y = alloc(node.outputs[0]!.type);
  const out = alloc(node.outputs[1]!.type);
  const { scale } = attrsOf(node, linearAttentionAttrs);
  const group = qHeads / kvHeads;
  const perRowDecay = decay!.shape[3] === dk;
  const betaHeads = beta ? beta.shape[1]! : 0;
  const s = new Float64Array(dk * dv);
  const vt = new Float64Array(dv);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < kvHeads; h++) {
      const head = b * kvHeads + h;
      for (let i = 0; i < dk * dv; i++) s[i] = state!.data[head * dk * dv + i]!;
      for (let t = 0; t < steps; t++) {
        const kOff = (head * steps + t) * dk;
        const vOff = (head * steps + t) * dv;
        const gOff = (head * steps + t) * (perRowDecay ? dk : 1);
        for (let d = 0; d < dk; d++) {
          const f = Math.exp(decay!.data[gOff + (perRowDecay ? d : 0)]!);
          for (let m = 0; m < dv; m++) s[d * dv + m]! *= f;
        }
        for (let m = 0; m < dv; m++) vt[m] = v!.data[vOff + m]!;
        if (beta) {
          const bt = beta.data[(b * betaHeads + (betaHeads === 1 ? 0 : h)) * steps + t]!;
          for (let m = 0; m < dv; m++) {
            let retrieved = 0;
            for (let d = 0; d < dk; d++) retrieved += s[d * dv + m]! * k!.data[kOff + d]!;
            vt[m] = bt * (vt[m]! - retrieved);
          }
        }
        for (let d = 0; d < dk; d++) {
          const kd = k!.data[kOff + d]!;
          for (let m = 0; m < dv; m++) s[d * dv + m]! += kd * vt[m]!;
        }
        for (let g = 0; g < group; g++) {
          const qOff = ((b * qHeads + h * group + g) * steps + t) * dk;
          const yOff = ((b * qHeads + h * group + g) * steps + t) * dv;
          for (let m = 0; m < dv; m++) {
            let acc = 0;
            for (let d = 0; d < dk; d++) acc += q!.data[qOff + d]! * s[d * dv + m]!;
            y.data[yOff + m] = scale * acc;
          }
        }
      }
      for (let i = 0; i < dk * dv; i++) out.data[head * dk * dv + i] = s[i]!;
    }
  }
  return [y, out];
};

export const linearAttentionKernels: Record<string, CpuKernel> = { linear_attention: linearAttention };
