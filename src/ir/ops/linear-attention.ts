import { OpTypeError } from '../errors.js';
import { formatShapeType, type Shape, type TensorType } from '../types.js';
import { defineOp } from './registry.js';

/** The sizes of a linear_attention node, checked: q [B, Hq, T, Dk], v [B, Hkv, T, Dv]. */
export function linearAttentionSizes(q: { readonly shape: Shape }, v: { readonly shape: Shape }): { batch: number; qHeads: number; kvHeads: number; steps: number; dk: number; dv: number } {
  const [batch, qHeads, steps, dk] = q.shape as [number, number, number, number];
  const [, kvHeads, , dv] = v.shape as [number, number, number, number];
  return { batch, qHeads, kvHeads, steps, dk, dv };
}

function expectShape(what: string, t: TensorType, options: readonly (readonly number[])[]): void {
  if (t.dtype !== 'f32') throw new OpTypeError(`${what} must be f32, got ${formatShapeType(t.dtype, t.shape)}`);
  if (!options.some((s) => s.length === t.shape.length && s.every((d, i) => d === t.shape[i]))) {
    throw new OpTypeError(`${what} must be ${options.map((s) => `[${s.join(',')}]`).join(' or ')}, got ${formatShapeType(t.dtype, t.shape)}`);
  }
}

/** linear_attention's attributes. */
export const linearAttentionAttrs = { scale: { kind: 'float' }, delta: { kind: 'bool', default: false } } as const;

// Linear attention as a recurrence over the T steps (ONNX LinearAttention), one state matrix
// S [Dk, Dv] per (batch, key/value head), in f32:
//   S <- S * exp(log_decay_t)            (per key row; zeros for no gating)
//   v_t <- beta_t * (v_t - S^T k_t)       (only with `delta`)
//   S <- S + k_t v_t^T
//   y_t <- scale * q_t S                  (each kv head serves Hq / Hkv consecutive query heads)
// Inputs: q [B,Hq,T,Dk], k [B,Hkv,T,Dk], v [B,Hkv,T,Dv], state [B,Hkv,Dk,Dv],
// log_decay [B,Hkv,T,Dk] or [B,Hkv,T,1], and with `delta` beta [B,Hkv,T,1] or [B,1,T,1].
// Outputs: y [B,Hq,T,Dv] and the final state. Sequential in T: it has a CPU kernel only.
defineOp({
  name: 'linear_attention', kind: 'opaque', inputs: [5, 6],
  attrs: linearAttentionAttrs,
  infer: ([q, k, v, state, decay, beta], attrs) => {
    if (q!.shape.length !== 4 || v!.shape.length !== 4) throw new OpTypeError(`q and v must be 4-D, got ${formatShapeType(q!.dtype, q!.shape)} and ${formatShapeType(v!.dtype, v!.shape)}`);
    const { batch: b, qHeads, kvHeads: h, steps: t, dk, dv } = linearAttentionSizes(q!, v!);
    if (h === 0 || qHeads % h !== 0) throw new OpTypeError(`${qHeads} query heads cannot share ${h} key/value heads evenly`);
    expectShape('q', q!, [[b, qHeads, t, dk]]);
    expectShape('k', k!, [[b, h, t, dk]]);
    expectShape('v', v!, [[b, h, t, dv]]);
    expectShape('state', state!, [[b, h, dk, dv]]);
    expectShape('log_decay', decay!, [[b, h, t, dk], [b, h, t, 1]]);
    if (attrs.delta !== (beta !== undefined)) throw new OpTypeError(attrs.delta ? 'the delta rule needs a beta input' : 'beta is only read by the delta rule (delta=true)');
    if (beta) expectShape('beta', beta, [[b, h, t, 1], [b, 1, t, 1]]);
    if (!Number.isFinite(attrs.scale)) throw new OpTypeError(`scale must be finite, got ${attrs.scale}`);
    return [{ dtype: 'f32', shape: [b, qHeads, t, dv] }, { dtype: 'f32', shape: [b, h, dk, dv] }];
  },
});
