// The bench's 4-bit weights: a traced Linear's matmul (x @ transpose(W [N, K])) exported as ONNX
// Runtime's MatMulNBits, W quantized as `kiln compile --weights int4` quantizes (4-bit codes in
// blocks of 32 along K, a scale and zero point each) and laid out as MatMulNBits stores it: row n
// of W holds its K codes, two a byte, low nibble first; scales [N * blocks]; zero points
// [N, ceil(blocks / 2)] bytes. Every system then runs the same 4-bit weights.
import type { Graph, Node, Value } from '../../src/ir/graph.js';
import { codeAt, quantizeBlocks } from '../../src/ir/quantize-blocks.js';
import { isTensorData, tensorData, type TensorData } from '../../src/ir/tensor-data.js';
import type { OnnxModelBuilder } from './onnx-writer.js';

const BLOCK = 32;

/** W [N, K] of a matmul reading transpose(const W) that nothing else reads, or undefined. */
function linearWeight(node: Node, users: ReadonlyMap<Value, Node[]>): TensorData | undefined {
  const t = node.inputs[1]?.producer;
  const w = t?.op === 'transpose' ? t.inputs[0]?.producer : undefined;
  const value = w?.op === 'const' ? w.attrs.value : undefined;
  const perm = t?.attrs.perm as readonly number[] | undefined;
  if (!isTensorData(value) || value.dtype !== 'f32' || value.shape.length !== 2 || perm?.[0] !== 1 || perm[1] !== 0) return undefined;
  return users.get(t!.output)?.length === 1 && users.get(w!.output)?.length === 1 ? value : undefined;
}

/** The matmuls exported with quantized weights (Linear layers'), with the weight nodes they make unneeded (not exported). */
export function linearPlan(graph: Graph): { readonly weights: Map<Node, TensorData>; readonly skipped: Set<Node> } {
  const users = graph.users();
  const weights = new Map<Node, TensorData>();
  const skipped = new Set<Node>();
  for (const node of graph.nodes) {
    const w = node.op === 'matmul' ? linearWeight(node, users) : undefined;
    if (!w) continue;
    weights.set(node, w);
    const t = node.inputs[1]!.producer!;
    skipped.add(t).add(t.inputs[0]!.producer!);
  }
  return { weights, skipped };
}

/** Emits x @ W^T as MatMulNBits (com.microsoft) over 4-bit W [N, K]. */
export function emitMatMulNBits(b: OnnxModelBuilder, w: TensorData, x: string, outs: string[]): void {
  const [n, k] = w.shape as [number, number];
  const src = w.data as Float32Array;
  const wt = new Float32Array(k * n);
  for (let r = 0; r < n; r++) for (let c = 0; c < k; c++) wt[c * n + r] = src[r * k + c]!;
  const q = quantizeBlocks(tensorData('f32', [k, n], wt), 4, BLOCK);
  const blocks = Math.ceil(k / BLOCK);
  const codes = new Uint8Array(n * blocks * (BLOCK / 2));
  const scales = new Float32Array(n * blocks);
  const zeros = new Uint8Array(n * Math.ceil(blocks / 2));
  const mine = q.scales.data as Float32Array;
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < k; c++) codes[r * blocks * (BLOCK / 2) + (c >> 1)] |= codeAt(q.codes.data, c * n + r, 4) << ((c & 1) * 4);
    for (let blk = 0; blk < blocks; blk++) {
      scales[r * blocks + blk] = mine[blk * n + r]!;
      zeros[r * Math.ceil(blocks / 2) + (blk >> 1)] |= codeAt(q.zeros.data, blk * n + r, 4) << ((blk & 1) * 4);
    }
  }
  const name = b.fresh('q4');
  const inputs = [
    x,
    b.initializer(`${name}_b`, { dtype: 'u8', shape: [n, blocks, BLOCK / 2], data: codes }),
    b.initializer(`${name}_s`, { dtype: 'f32', shape: [n * blocks], data: scales }),
    b.initializer(`${name}_z`, { dtype: 'u8', shape: [n * Math.ceil(blocks / 2)], data: zeros }),
  ];
  b.node('MatMulNBits', inputs, outs, { K: { int: k }, N: { int: n }, bits: { int: 4 }, block_size: { int: BLOCK } }, 'com.microsoft');
}
