import type { Value } from '../../ir/graph.js';
import { linearAttentionSizes } from '../../ir/ops/linear-attention.js';
import type { GradRule } from './grad-context.js';

/**
 * det: d det(A) / dA is the cofactor matrix, (-1)^(i+j) det(A without row i and column j). Built
 * from the minors (one gather with constant indices) and the det op itself, it is exact for
 * singular matrices too, where det(A) A^-T is undefined.
 */
export const det: GradRule = (c) => {
  const a = c.inputs[0]!;
  const shape = a.type.shape;
  const n = shape[shape.length - 1]!;
  const batch = shape.slice(0, -2);
  const dy = c.emit('reshape', [c.dy], { shape: [...batch, 1, 1] });
  if (n === 1) return [c.emit('expand', [dy], { shape: [...shape] })];
  const skip = (k: number, without: number) => (k < without ? k : k + 1);
  const index: number[] = [];
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let r = 0; r < n - 1; r++) for (let s = 0; s < n - 1; s++) index.push(skip(r, i) * n + skip(s, j));
  const flat = c.emit('reshape', [a], { shape: [...batch, n * n] });
  const minors = c.emit('gather', [flat, c.constant([n, n, n - 1, n - 1], index, a, 'i32')], { axis: batch.length });
  const signs = c.constant([n, n], Array.from({ length: n * n }, (_, k) => ((Math.floor(k / n) + (k % n)) % 2 ? -1 : 1)), a);
  return [c.emit('mul', [c.emit('mul', [c.emit('det', [minors]), signs]), dy])];
};

/**
 * linear_attention: the gradient of its recurrence (see the op's definition), written out step
 * by step in slices, matmuls and elementwise ops and differentiated by their rules (backpropagation
 * through time: O(T) nodes, as a framework that records the loop would do).
 */
export const linearAttention: GradRule = (c) => {
  const [q, k, v, state, decay, beta] = c.inputs as [Value, Value, Value, Value, Value, Value | undefined];
  const scale = c.attr<number>('scale');
  const delta = c.attr<boolean>('delta');
  const { batch, qHeads, kvHeads, steps, dk, dv } = linearAttentionSizes(q.type, v.type);
  const group = qHeads / kvHeads;
  const at = (x: Value, t: number) => c.emit('slice', [x], { starts: [t], ends: [t + 1], axes: [2] });
  const column = (x: Value) => c.emit('transpose', [x], { perm: [0, 1, 3, 2] });
  return c.decomposed(() => {
    let s = state;
    const ys: Value[] = [];
    for (let t = 0; t < steps; t++) {
      const kt = at(k, t); // [B, H, 1, Dk]
      s = c.emit('mul', [s, column(c.emit('exp', [at(decay, t)]))]);
      let vt = at(v, t); // [B, H, 1, Dv]
      if (delta && beta) vt = c.emit('mul', [at(beta, t), c.emit('sub', [vt, c.emit('matmul', [kt, s])])]);
      s = c.emit('add', [s, c.emit('matmul', [column(kt), vt])]);
      const qt = c.emit('reshape', [at(q, t)], { shape: [batch, kvHeads, group, dk] });
      const yt = c.emit('reshape', [c.emit('matmul', [qt, s])], { shape: [batch, qHeads, 1, dv] });
      ys.push(c.emit('mul', [yt, c.scalar(scale, yt)]));
    }
    return [ys.length === 1 ? ys[0]! : c.emit('concat', ys, { axis: 2 }), s];
  });
};
