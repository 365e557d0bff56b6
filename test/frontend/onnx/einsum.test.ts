// Einsum (lowered to transposes, reshapes, batched matmuls and sums) against ONNX Runtime.
import { describe, it } from 'vitest';
import { attr, buildModel, node } from './onnx-builder.js';
import { expectSameAsOrt } from './ort-oracle.js';

const CASES: [string, number[][]][] = [
  ['ij,jk->ik', [[3, 4], [4, 5]]],
  ['ij,jk', [[3, 4], [4, 2]]],
  ['bij,bjk->bik', [[2, 3, 4], [2, 4, 5]]],
  ['...ij,...jk->...ik', [[2, 1, 3, 4], [2, 5, 4, 2]]],
  ['...ij,jk->...ik', [[2, 3, 4], [4, 2]]],
  ['i,j->ij', [[3], [4]]],
  ['i,i', [[5], [5]]],
  ['ii->i', [[4, 4]]],
  ['ii', [[4, 4]]],
  ['bii->b', [[2, 3, 3]]],
  ['iji->j', [[3, 2, 3]]],
  ['abc->cba', [[2, 3, 4]]],
  ['abc->', [[2, 3, 4]]],
  ['ijk,ikl,lm->jm', [[2, 3, 4], [2, 4, 5], [5, 3]]],
  ['ab,cd->', [[2, 3], [4, 5]]],
  ['bhqd,bhkd->bhqk', [[1, 2, 3, 4], [1, 2, 5, 4]]],
  ['...i->...', [[2, 3, 4]]],
];

describe('Einsum', () => {
  for (const [equation, shapes] of CASES) {
    it(equation, () => {
      const names = ['x', 'y', 'z'].slice(0, shapes.length);
      const bytes = buildModel({
        opset: 12, inputs: shapes.map((dims, i) => ({ name: names[i]!, dims })), outputs: [{ name: 'out' }],
        nodes: [node('Einsum', names, ['out'], { equation: attr.s(equation) })],
      });
      return expectSameAsOrt(bytes).then(() => undefined);
    });
  }
});
