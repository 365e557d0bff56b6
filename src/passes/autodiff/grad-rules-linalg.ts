import { tensorData } from '../../ir/tensor-data.js';
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
  const minors = c.emit('gather', [flat, c.emitConst(tensorData('i32', [n, n, n - 1, n - 1], index), a)], { axis: batch.length });
  const signs = c.emitConst(tensorData(a.type.dtype, [n, n], Array.from({ length: n * n }, (_, k) => ((Math.floor(k / n) + (k % n)) % 2 ? -1 : 1))), a);
  return [c.emit('mul', [c.emit('mul', [c.emit('det', [minors]), signs]), dy])];
};
