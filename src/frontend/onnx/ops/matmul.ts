// MatMul, Gemm and Det.
import { typeOf, type Operand } from '../builder.js';
import { defineOnnxOp } from '../node.js';
import { storedWeight } from './stored-weights.js';

// NumPy matmul: a 1-D operand is a row (left) or column (right) vector whose added dimension
// is removed from the result, as ONNX specifies.
defineOnnxOp('MatMul', (n) => {
  const b = n.b;
  let a = n.input(0);
  // A QDQ model's 8-bit weight [K, N] stays 8-bit (its columns are the product's).
  let c = typeOf(n.input(1)).shape.length === 2 ? storedWeight(n, n.input(1), 1) : n.input(1);
  const vecA = typeOf(a).shape.length === 1;
  const vecB = typeOf(c).shape.length === 1;
  if (typeOf(a).shape.length === 0 || typeOf(c).shape.length === 0) n.fail('MatMul does not take scalars');
  if (vecA) a = b.op('unsqueeze', [a], { axes: [0] });
  if (vecB) c = b.op('unsqueeze', [c], { axes: [1] });
  let r: Operand = b.op('matmul', [a, c]);
  if (vecB) r = b.op('squeeze', [r], { axes: [-1] });
  if (vecA) r = b.op('squeeze', [r], { axes: [-2 + (vecB ? 1 : 0)] });
  return r;
});

// Gemm: Y = alpha * op(A) op(B) + beta * C. Before opset 7 C's broadcasting was opt-in
// (`broadcast`); kiln's gemm broadcasts C one way to [M, N] either way, which covers both.
defineOnnxOp('Gemm', (n) => {
  const c = n.optional(2);
  const transB = n.attrs.int('transB', 0) !== 0;
  // A QDQ model's 8-bit weight stays 8-bit: its output channels run along axis 0 under transB.
  const w = storedWeight(n, n.input(1), transB ? 0 : 1);
  return n.b.op('gemm', c ? [n.input(0), w, c] : [n.input(0), w], {
    trans_a: n.attrs.int('transA', 0) !== 0,
    trans_b: transB,
    alpha: n.attrs.float('alpha', 1),
    beta: n.attrs.float('beta', 1),
  });
});

// Det: determinants of the trailing square matrices (kiln's det runs on the CPU).
defineOnnxOp('Det', (n) => n.b.op('det', [n.input(0)]));
