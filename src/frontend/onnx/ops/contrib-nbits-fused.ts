// ONNX Runtime's fusions of MatMulNBits for decoders, which its graph optimizer writes for the
// WebGPU execution provider: MatMulNBitsQkv (an RMS norm, optionally of input + skip, then the
// Q, K and V projections) and MatMulNBitsMlp (the norm optional, then the gate and up
// projections and act(gate) * up). Each maps as the ops it fuses, the weights kept in their
// bits (nBitsProduct), so the norm and the products fuse and run as kiln's own.
import { typeOf, type Operand } from '../builder.js';
import { defineOnnxOp, type OnnxNode } from '../node.js';
import { castTo } from './helpers.js';
import { ms } from './contrib.js';
import { nBitsProduct } from './contrib-quant.js';
import { rmsNormalized } from './norm.js';

/** Activations of MatMulNBitsMlp's gate, by its `activation` attribute. */
const GATE_ACTIVATIONS: Readonly<Record<string, (n: OnnxNode, x: Operand) => Operand>> = {
  silu: (n, x) => n.b.op('mul', [x, n.b.op('sigmoid', [x])]),
};

/**
 * Input 0 (+ input 1, the skip) RMS-normalised over its last axis times input 2 (norm_scale),
 * and the sum itself; with no norm_scale (MatMulNBitsMlp's optional norm), the input as it is.
 */
function normalized(n: OnnxNode, epsilon: number): { y: Operand; sum: Operand } {
  const x = n.input(0);
  const skip = n.optional(1);
  const scale = n.optional(2);
  if (skip && !scale) n.fail('takes a skip input only with norm_scale');
  const sum = skip ? n.b.op('add', [x, castTo(n.b, skip, typeOf(x).dtype)]) : x;
  if (!scale) return { y: sum, sum };
  return { y: n.b.op('mul', [rmsNormalized(n, sum, -1, epsilon), castTo(n.b, scale, typeOf(x).dtype)]), sum };
}

/** The residual-sum output, which exists only where there is a skip input. */
function residual(n: OnnxNode, index: number, sum: Operand): Operand | undefined {
  if (!n.outputUsed(index)) return undefined;
  if (!n.optional(1)) n.fail(`its output ${index} (input_skip_bias_sum) needs a skip input`);
  return sum;
}

defineOnnxOp(ms('MatMulNBitsQkv'), (n) => {
  const [k, bits, block] = [n.attrs.int('K', 0), n.attrs.int('bits', 4), n.attrs.int('block_size', 0)];
  const [nq, nkv] = [n.attrs.int('Nq', 0), n.attrs.int('Nkv', 0)];
  if (!n.optional(2)) n.fail('needs norm_scale (input 2)');
  const { y, sum } = normalized(n, n.attrs.float('epsilon', 1e-5));
  const q = nBitsProduct(n, y, { b: 3, scales: 4, bias: 5 }, k, nq, bits, block);
  const key = nBitsProduct(n, y, { b: 6, scales: 7, bias: 8 }, k, nkv, bits, block);
  const v = nBitsProduct(n, y, { b: 9, scales: 10, bias: 11 }, k, nkv, bits, block);
  return [q, key, v, residual(n, 3, sum)];
});

defineOnnxOp(ms('MatMulNBitsMlp'), (n) => {
  const [k, rows, bits, block] = [n.attrs.int('K', 0), n.attrs.int('N', 0), n.attrs.int('bits', 4), n.attrs.int('block_size', 0)];
  const name = n.attrs.string('activation', '');
  const activation = GATE_ACTIVATIONS[name] ?? n.unsupported(`activation '${name}' is not supported (${Object.keys(GATE_ACTIVATIONS).join(', ')} is)`);
  const { y, sum } = normalized(n, n.attrs.float('epsilon', 1e-5));
  const gate = nBitsProduct(n, y, { b: 3, scales: 4, bias: 5 }, k, rows, bits, block);
  const up = nBitsProduct(n, y, { b: 6, scales: 7, bias: 8 }, k, rows, bits, block);
  return [n.b.op('mul', [activation(n, gate), up]), residual(n, 1, sum)];
});
