// ONNX Runtime's com.microsoft contrib ops against ONNX Runtime itself (its CPU kernels), on
// kiln's CPU reference, and on WebGPU against the CPU reference.
import { describe, expect, it } from 'vitest';
import { compileSegmented } from '../../../src/compiler.js';
import { importOnnx } from '../../../src/frontend/onnx/index.js';
import { tensorData } from '../../../src/ir/tensor-data.js';
import { runOnCpu } from '../../../src/runtime/cpu/executor.js';
import { SegmentedSession } from '../../../src/runtime/segmented.js';
import { expectClose } from '../../helpers/compare.js';
import { useGpu } from '../../helpers/gpu.js';
import { attr, buildModel, contribModel, msNode, node, tensor, type AttrInit, type IoInit, type NodeInit } from './onnx-builder.js';
import { expectSameAsOrt, runOrt, seededInputs } from './ort-oracle.js';

/** A one-node model of `op` over float inputs of the given shapes (initializers as given). */
function oneNode(op: NodeInit, inputs: IoInit[], outputs: string[], initializers: object[] = []): Uint8Array {
  return contribModel({ inputs, outputs: outputs.map((name) => ({ name })), nodes: [op], initializers });
}

const f32 = (name: string, dims: number[], seed: number): object =>
  tensor(name, 1, dims, Array.from({ length: dims.reduce((a, d) => a * d, 1) }, (_, i) => Math.sin(seed * 7.1 + i * 1.3) * 0.8));

/** Deterministic bytes 0..255. */
const bytes = (n: number, seed: number): number[] => Array.from({ length: n }, (_, i) => (i * 37 + seed * 101 + ((i * i) % 13)) % 256);

/** A MatMulNBits model: A [2, 3, K] times the quantized [K, N] weight. */
function matMulNBits(k: number, nOut: number, bits: number, blockSize: number, opts: { zp?: 'packed' | 'float'; bias?: boolean; scales2d?: boolean } = {}): Uint8Array {
  const blocks = Math.ceil(k / blockSize);
  const inits: object[] = [
    tensor('B', 2, [nOut, blocks, (blockSize * bits) / 8], bytes(nOut * blocks * (blockSize * bits) / 8, 1)),
    f32('scales', opts.scales2d ? [nOut, blocks] : [nOut * blocks], 2),
  ];
  const inputs = ['a', 'B', 'scales'];
  if (opts.zp === 'packed') inits.push(tensor('zp', 2, [nOut * Math.ceil((blocks * bits) / 8)], bytes(nOut * Math.ceil((blocks * bits) / 8), 3)));
  if (opts.zp === 'float') inits.push(f32('zp', [nOut * blocks], 4));
  inputs.push(opts.zp ? 'zp' : '', '');
  if (opts.bias) { inits.push(f32('bias', [nOut], 5)); inputs.push('bias'); }
  const attrs = { K: attr.i(k), N: attr.i(nOut), bits: attr.i(bits), block_size: attr.i(blockSize) };
  return oneNode(msNode('MatMulNBits', inputs, ['y'], attrs), [{ name: 'a', dims: [2, 3, k] }], ['y'], inits);
}

const i64 = (name: string, dims: number[], values: number[]): object => tensor(name, 7, dims, values);
const i32 = (name: string, dims: number[], values: number[]): object => tensor(name, 6, dims, values);

/** ORT's RotaryEmbedding over x of `dims` with caches [8, half] and the given position_ids. */
function rotary(dims: number[], half: number, pos: object, attrs: Record<string, AttrInit>): Uint8Array {
  return oneNode(msNode('RotaryEmbedding', ['x', 'pos', 'cos', 'sin'], ['y'], attrs), [{ name: 'x', dims }], ['y'], [pos, f32('cos', [8, half], 11), f32('sin', [8, half], 12)]);
}

/** ORT's MultiHeadAttention with 2 heads over the named inputs (shapes given), initializers as given. */
function mha(inputs: string[], shapes: Record<string, number[]>, inits: object[], outputs: string[], attrs: Record<string, AttrInit> = {}): Uint8Array {
  const fed = inputs.filter((x) => x !== '' && shapes[x]);
  return oneNode(msNode('MultiHeadAttention', inputs, outputs, { num_heads: attr.i(2), ...attrs }), fed.map((name) => ({ name, dims: shapes[name]! })), outputs.filter((o) => o !== ''), inits);
}

/**
 * ORT's GroupQueryAttention with 4 query and 2 key/value heads of h (8, or 16 with rotary) over
 * q [B, S, 4h], k and v [B, S, 2h] (or packed), seqlens_k and total_sequence_length as given,
 * and a past of `past` rows.
 */
function gqa(batch: number, s: number, seqlens: number[], total: number, opts: { past?: number; packed?: boolean; attrs?: Record<string, AttrInit>; rotary?: boolean; sink?: boolean; bias?: boolean; seqlensFed?: boolean } = {}): Uint8Array {
  // ORT's rotary needs a head size that is a multiple of 16.
  const h = opts.rotary ? 16 : 8;
  const names = opts.packed ? ['qkv', '', ''] : ['q', 'k', 'v'];
  const shapes: Record<string, number[]> = opts.packed ? { qkv: [batch, s, 8 * h] } : { q: [batch, s, 4 * h], k: [batch, s, 2 * h], v: [batch, s, 2 * h] };
  if (opts.past) Object.assign(shapes, { pk: [batch, 2, opts.past, h], pv: [batch, 2, opts.past, h] });
  const inputs = [...names, opts.past ? 'pk' : '', opts.past ? 'pv' : '', 'seqlens', 'total', opts.rotary ? 'cos' : '', opts.rotary ? 'sin' : '', '', opts.bias ? 'ab' : '', opts.sink ? 'sink' : ''];
  const inits = [...(opts.seqlensFed ? [] : [i32('seqlens', [batch], seqlens)]), tensor('total', 6, [], [total])];
  if (opts.seqlensFed) shapes['seqlens'] = [batch];
  if (opts.rotary) inits.push(f32('cos', [16, h / 2], 14), f32('sin', [16, h / 2], 15));
  if (opts.sink) inits.push(f32('sink', [4], 16));
  if (opts.bias) shapes['ab'] = [batch, 4, s, Math.max(total, opts.past ?? 0)];
  while (inputs.at(-1) === '') inputs.pop();
  const fed = inputs.filter((x) => shapes[x]);
  const op = msNode('GroupQueryAttention', inputs, ['y', 'pko', 'pvo'], { num_heads: attr.i(4), kv_num_heads: attr.i(2), ...(opts.rotary ? { do_rotary: attr.i(1) } : {}), ...opts.attrs });
  return oneNode(op, fed.map((name) => ({ name, dims: shapes[name]!, ...(name === 'seqlens' ? { type: 6 } : {}) })), ['y', 'pko', 'pvo'], inits);
}

/** ORT's Attention with 2 heads over x [2, 4, 16] and a [16, width] weight, the named inputs as given. */
function bertAttention(inputs: string[], width: number, extra: { inits?: object[]; shapes?: Record<string, number[]>; outputs?: string[]; attrs?: Record<string, AttrInit> } = {}): Uint8Array {
  const shapes: Record<string, number[]> = { x: [2, 4, 16], ...extra.shapes };
  const outputs = extra.outputs ?? ['y'];
  return oneNode(msNode('Attention', ['x', 'w', ...inputs], outputs, { num_heads: attr.i(2), ...extra.attrs }),
    Object.keys(shapes).map((name) => ({ name, dims: shapes[name]! })), outputs.filter((o) => o !== ''), [f32('w', [16, width], 17), ...(extra.inits ?? [])]);
}

/** ORT's EmbedLayerNormalization over ids [2, 4] from a vocabulary of 10, hidden 8; optional parts by name. */
function embedLayerNorm(parts: { segments?: boolean; mask?: number[]; positions?: number[] }, outputs: string[]): Uint8Array {
  const inputs = ['ids', parts.segments ? 'seg' : '', 'word', 'pos', parts.segments ? 'segw' : '', 'gamma', 'beta', parts.mask ? 'mask' : '', parts.positions ? 'pids' : ''];
  while (inputs.at(-1) === '') inputs.pop();
  const inits = [
    i32('ids', [2, 4], [1, 5, 9, 0, 3, 3, 7, 2]), f32('word', [10, 8], 22), f32('pos', [6, 8], 23), f32('gamma', [8], 24), f32('beta', [8], 25),
    ...(parts.segments ? [i32('seg', [2, 4], [0, 0, 1, 1, 0, 1, 1, 1]), f32('segw', [2, 8], 26)] : []),
    ...(parts.mask ? [i32('mask', [2, 4], parts.mask)] : []),
    ...(parts.positions ? [i32('pids', [1, 4], parts.positions)] : []),
  ];
  return contribModel({
    inputs: [{ name: 'x', dims: [1] }], outputs: outputs.filter((o) => o !== '').map((name) => ({ name, ...(name === 'mi' ? { type: 6 } : {}) })),
    nodes: [msNode('EmbedLayerNormalization', inputs, outputs, { epsilon: attr.f(1e-5) })], initializers: inits,
  });
}

/** ORT's FusedConv: x [1, 4, 6, 6], a 3x3 weight to 5 channels, bias, and Z when `withZ`. */
function fusedConv(activation: string, params: number[], withZ: boolean): Uint8Array {
  const attrs = { activation: attr.s(activation), ...(params.length ? { activation_params: attr.floats(params) } : {}), pads: attr.ints([1, 1, 1, 1]) };
  const inputs = withZ ? [{ name: 'x', dims: [1, 4, 6, 6] }, { name: 'z', dims: [1, 5, 6, 6] }] : [{ name: 'x', dims: [1, 4, 6, 6] }];
  return oneNode(msNode('FusedConv', ['x', 'w', 'b', ...(withZ ? ['z'] : [])], ['y'], attrs), inputs, ['y'], [f32('w', [5, 4, 3, 3], 27), f32('b', [5], 28)]);
}

const CASES: Record<string, () => Uint8Array> = {
  'Gelu': () => oneNode(msNode('Gelu', ['x'], ['y']), [{ name: 'x', dims: [3, 7] }], ['y']),
  'FastGelu with bias': () => oneNode(msNode('FastGelu', ['x', 'b'], ['y']), [{ name: 'x', dims: [2, 3, 8] }], ['y'], [f32('b', [8], 1)]),
  'FastGelu without bias': () => oneNode(msNode('FastGelu', ['x'], ['y']), [{ name: 'x', dims: [2, 5] }], ['y']),
  'BiasGelu': () => oneNode(msNode('BiasGelu', ['x', 'b'], ['y']), [{ name: 'x', dims: [2, 3, 8] }], ['y'], [f32('b', [8], 2)]),
  'QuickGelu (default alpha)': () => oneNode(msNode('QuickGelu', ['x'], ['y']), [{ name: 'x', dims: [4, 6] }], ['y']),
  'QuickGelu (alpha 1.1)': () => oneNode(msNode('QuickGelu', ['x'], ['y'], { alpha: attr.f(1.1) }), [{ name: 'x', dims: [4, 6] }], ['y']),
  'FusedMatMul transB alpha': () => oneNode(msNode('FusedMatMul', ['a', 'b'], ['y'], { transB: attr.i(1), alpha: attr.f(0.125) }),
    [{ name: 'a', dims: [2, 3, 4, 8] }, { name: 'b', dims: [2, 3, 5, 8] }], ['y']),
  'FusedMatMul transA, broadcast batch': () => oneNode(msNode('FusedMatMul', ['a', 'b'], ['y'], { transA: attr.i(1) }),
    [{ name: 'a', dims: [2, 6, 4] }, { name: 'b', dims: [6, 3] }], ['y']),
  'SkipLayerNormalization (beta, bias, sum output)': () => oneNode(
    msNode('SkipLayerNormalization', ['x', 's', 'g', 'be', 'bi'], ['y', '', '', 'sum'], { epsilon: attr.f(1e-5) }),
    [{ name: 'x', dims: [2, 3, 16] }, { name: 's', dims: [2, 3, 16] }], ['y', 'sum'], [f32('g', [16], 3), f32('be', [16], 4), f32('bi', [16], 5)]),
  'SkipLayerNormalization (gamma only, skip [S, H], default epsilon)': () => oneNode(
    msNode('SkipLayerNormalization', ['x', 's', 'g'], ['y']),
    [{ name: 'x', dims: [2, 3, 8] }, { name: 's', dims: [3, 8] }], ['y'], [f32('g', [8], 6)]),
  'SkipSimplifiedLayerNormalization (bias, sum output)': () => oneNode(
    msNode('SkipSimplifiedLayerNormalization', ['x', 's', 'g', 'bi'], ['y', '', '', 'sum'], { epsilon: attr.f(1e-6) }),
    [{ name: 'x', dims: [1, 4, 16] }, { name: 's', dims: [1, 4, 16] }], ['y', 'sum'], [f32('g', [16], 7), f32('bi', [16], 8)]),
  'SimplifiedLayerNormalization (default domain)': () => oneNode(
    node('SimplifiedLayerNormalization', ['x', 'g'], ['y'], { epsilon: attr.f(1e-6), axis: attr.i(-1) }),
    [{ name: 'x', dims: [2, 5, 12] }], ['y'], [f32('g', [12], 9)]),
  'MatMulNBits 4 bits, default zero point': () => matMulNBits(32, 5, 4, 16),
  'MatMulNBits 4 bits, packed zero points, K past the last block, bias': () => matMulNBits(40, 6, 4, 16, { zp: 'packed', bias: true }),
  'MatMulNBits 4 bits, scales [N, blocks], block 32': () => matMulNBits(64, 3, 4, 32, { scales2d: true, zp: 'packed' }),
  'MatMulNBits 8 bits, packed zero points': () => matMulNBits(48, 4, 8, 16, { zp: 'packed' }),
  'MatMulNBits 2 bits, packed zero points': () => matMulNBits(64, 3, 2, 32, { zp: 'packed' }),
  'MatMulNBits 4 bits, float zero points': () => matMulNBits(32, 4, 4, 16, { zp: 'float' }),
  'RotaryEmbedding 3-D, position_ids [B, S]': () => rotary([2, 3, 16], 4, i64('pos', [2, 3], [0, 1, 2, 5, 6, 7]), { num_heads: attr.i(2) }),
  'RotaryEmbedding 3-D, heads from the cache': () => rotary([2, 3, 16], 4, i64('pos', [2, 3], [3, 4, 5, 0, 2, 4]), {}),
  'RotaryEmbedding 4-D, interleaved, position_ids [1] (a start)': () => rotary([2, 2, 3, 8], 4, i64('pos', [1], [2]), { interleaved: attr.i(1) }),
  'RotaryEmbedding 3-D, half the head rotated': () => rotary([1, 3, 16], 2, i64('pos', [1], [4]), { num_heads: attr.i(2), rotary_embedding_dim: attr.i(4) }),
  'MultiHeadAttention: self, bias, key padding mask [B, T]': () => mha(['q', 'k', 'v', 'bias', 'mask'], { q: [2, 4, 16], k: [2, 4, 16], v: [2, 4, 16] },
    [f32('bias', [48], 13), i32('mask', [2, 4], [1, 1, 1, 1, 1, 1, 0, 0])], ['y']),
  'MultiHeadAttention: causal, past key and value, attention bias, presents': () => mha(['q', 'k', 'v', '', '', 'ab', 'pk', 'pv'],
    { q: [2, 4, 16], k: [2, 4, 16], v: [2, 4, 16], ab: [1, 2, 4, 7], pk: [2, 2, 3, 8], pv: [2, 2, 3, 8] }, [], ['y', 'pko', 'pvo'], { unidirectional: attr.i(1) }),
  'MultiHeadAttention: cross, key lengths [B], scale': () => mha(['q', 'k', 'v', '', 'len'], { q: [2, 3, 16], k: [2, 5, 16], v: [2, 5, 16] },
    [i32('len', [2], [5, 2])], ['y'], { scale: attr.f(0.3) }),
  'MultiHeadAttention: every key of a row masked (ORT adds the filter value)': () => mha(['q', 'k', 'v', '', 'mask'], { q: [2, 3, 16], k: [2, 3, 16], v: [2, 3, 16] },
    [i32('mask', [2, 3, 3], [1, 1, 0, 0, 0, 0, 1, 0, 1, 1, 1, 1, 0, 1, 1, 1, 0, 0])], ['y']),
  'MultiHeadAttention: key and value per head [B, N, L, H]': () => mha(['q', 'k', 'v'], { q: [2, 3, 16], k: [2, 2, 5, 8], v: [2, 2, 5, 8] }, [], ['y']),
  'Attention: bias, mask_index as lengths [B]': () => bertAttention(['b', 'm'], 48, { inits: [f32('b', [48], 18), i32('m', [2], [4, 2])] }),
  'Attention: mask_index as ends and starts [2B] (left padding)': () => bertAttention(['b', 'm'], 48, { inits: [f32('b', [48], 18), i32('m', [4], [4, 4, 0, 1])] }),
  // (ORT's CPU kernel crashes without a bias: every case gives one.)
  'Attention: raw mask [B, T]': () => bertAttention(['b', 'm'], 48, { inits: [f32('b', [48], 21), i32('m', [2, 4], [1, 1, 0, 1, 1, 1, 1, 0])] }),
  'Attention: causal with past and present (GPT-2), mask over past and new': () => bertAttention(['b', 'm', 'past'], 48, {
    inits: [f32('b', [48], 19), i32('m', [2, 7], [1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1])], shapes: { past: [2, 2, 2, 3, 8] }, outputs: ['y', 'present'], attrs: { unidirectional: attr.i(1) },
  }),
  'Attention: qkv_hidden_sizes with a narrower V, attention bias': () => bertAttention(['b', '', '', 'ab'], 40, {
    inits: [f32('b', [40], 20)], shapes: { ab: [1, 2, 4, 4] }, attrs: { qkv_hidden_sizes: attr.ints([16, 16, 8]) },
  }),
  'EmbedLayerNormalization: words and positions': () => embedLayerNorm({}, ['y', 'mi']),
  'EmbedLayerNormalization: segments, mask index, embedding sum': () => embedLayerNorm({ segments: true, mask: [1, 1, 1, 0, 1, 1, 0, 0] }, ['y', 'mi', 'sum']),
  'EmbedLayerNormalization: a mask with a hole, position ids': () => embedLayerNorm({ mask: [1, 0, 1, 1, 1, 1, 1, 1], positions: [2, 3, 4, 5] }, ['y', 'mi']),
  'FusedConv: Relu with Z': () => fusedConv('Relu', [], true),
  'FusedConv: LeakyRelu 0.1': () => fusedConv('LeakyRelu', [0.1], false),
  'FusedConv: Clip [0, 0.3] with Z': () => fusedConv('Clip', [0, 0.3], true),
  'FusedConv: HardSigmoid': () => fusedConv('HardSigmoid', [0.3, 0.4], false),
  'FusedConv: Sigmoid': () => fusedConv('Sigmoid', [], false),
  'FusedGemm: LeakyRelu, transB': () => oneNode(msNode('FusedGemm', ['a', 'w', 'c'], ['y'], { activation: attr.s('LeakyRelu'), activation_alpha: attr.f(0.2), transB: attr.i(1), alpha: attr.f(0.5) }),
    [{ name: 'a', dims: [3, 8] }], ['y'], [f32('w', [6, 8], 29), f32('c', [6], 30)]),
  'FusedGemm: Tanh': () => oneNode(msNode('FusedGemm', ['a', 'w'], ['y'], { activation: attr.s('Tanh') }), [{ name: 'a', dims: [3, 8] }], ['y'], [f32('w', [8, 4], 31)]),
  // ORT takes LayerNormalization before opset 17, where its optimizer writes it.
  'LayerNormalization at opset 12': () => buildModel({ opset: 12, inputs: [{ name: 'x', dims: [2, 3, 8] }], outputs: [{ name: 'y' }],
    nodes: [node('LayerNormalization', ['x', 'g', 'b'], ['y'], { epsilon: attr.f(1e-5) })], initializers: [f32('g', [8], 32), f32('b', [8], 33)] }),
  'Pad (Pad-11 in a model of opset 9), reflect': () => contribModel({ opset: 9, inputs: [{ name: 'x', dims: [2, 5] }], outputs: [{ name: 'y' }],
    nodes: [msNode('Pad', ['x', 'pads'], ['y'], { mode: attr.s('reflect') })], initializers: [i64('pads', [4], [0, 2, 1, 3])] }),
  'Range': () => oneNode(msNode('Range', ['a', 'b', 'c'], ['y']), [{ name: 'x', dims: [1] }], ['y'], [tensor('a', 1, [], [1.5]), tensor('b', 1, [], [7]), tensor('c', 1, [], [0.5])]),
  'Trilu (lower, k -1)': () => oneNode(msNode('Trilu', ['x', 'k'], ['y'], { upper: attr.i(0) }), [{ name: 'x', dims: [2, 4, 5] }], ['y'], [i64('k', [], [-1])]),
  'GridSample (bilinear, border, align corners)': () => oneNode(msNode('GridSample', ['x', 'g'], ['y'], { mode: attr.s('bilinear'), padding_mode: attr.s('border'), align_corners: attr.i(1) }),
    [{ name: 'x', dims: [1, 2, 4, 5] }, { name: 'g', dims: [1, 3, 3, 2] }], ['y']),
  'GatherND': () => oneNode(msNode('GatherND', ['x', 'i'], ['y']), [{ name: 'x', dims: [3, 4, 2] }], ['y'], [i64('i', [2, 2], [0, 1, 2, 3])]),
  'ExpandDims': () => oneNode(msNode('ExpandDims', ['x', 'axis'], ['y']), [{ name: 'x', dims: [2, 6] }], ['y'], [i32('axis', [], [-2])]),
  'CDist (euclidean)': () => oneNode(msNode('CDist', ['a', 'b'], ['y'], { metric: attr.s('euclidean') }), [{ name: 'a', dims: [4, 3] }, { name: 'b', dims: [5, 3] }], ['y']),
  'CDist (sqeuclidean)': () => oneNode(msNode('CDist', ['a', 'b'], ['y']), [{ name: 'a', dims: [4, 3] }, { name: 'b', dims: [5, 3] }], ['y']),
  'GroupQueryAttention: first prompt': () => gqa(1, 4, [3], 4),
  'GroupQueryAttention: first prompt, right-padded batch': () => gqa(2, 4, [3, 1], 4),
  'GroupQueryAttention: one token after a past of 5': () => gqa(1, 1, [5], 6, { past: 5 }),
  'GroupQueryAttention: one token, ragged batch (pasts of 5 and 3)': () => gqa(2, 1, [5, 3], 6, { past: 5 }),
  'GroupQueryAttention: one token into a shared buffer of 8': () => gqa(1, 1, [4], 5, { past: 8 }),
  'GroupQueryAttention: three tokens after a past of 2 (a later prompt)': () => gqa(1, 3, [4], 5, { past: 2 }),
  'GroupQueryAttention: rotary, packed QKV, after a past': () => gqa(1, 2, [6], 7, { past: 5, rotary: true, packed: true }),
  'GroupQueryAttention: rotary interleaved, first prompt': () => gqa(1, 4, [3], 4, { rotary: true, attrs: { rotary_interleaved: attr.i(1) } }),
  'GroupQueryAttention: local window': () => gqa(1, 5, [4], 5, { attrs: { local_window_size: attr.i(2) } }),
  'GroupQueryAttention: softcap, scale': () => gqa(1, 5, [4], 5, { attrs: { softcap: attr.f(2), scale: attr.f(0.2) } }),
  'GroupQueryAttention: attention bias': () => gqa(1, 5, [4], 5, { bias: true }),
  'GroupQueryAttention: attention bias, softcap': () => gqa(1, 5, [4], 5, { bias: true, attrs: { softcap: attr.f(2) } }),
  'GroupQueryAttention: smooth softmax': () => gqa(1, 1, [3], 4, { past: 3, attrs: { smooth_softmax: attr.i(1) } }),
  'GroupQueryAttention: head sink': () => gqa(1, 3, [2], 3, { sink: true }),
};

describe('com.microsoft contrib ops against ONNX Runtime', () => {
  for (const [name, build] of Object.entries(CASES)) {
    it(name, async () => {
      await expectSameAsOrt(build(), { tol: 2e-5 });
    });
  }

  // ORT's CPU kernel has no packed forms: the reference unpacks with standard ops first.
  for (const [name, parts, inputs, attrs] of [
    ['packed QKV', 3, ['qkv'], {}],
    ['packed KV, causal', 2, ['q', 'kv'], { unidirectional: attr.i(1) }],
  ] as const) {
    it(`MultiHeadAttention: ${name}, as ORT computes it unpacked`, async () => {
      const packed = inputs.at(-1)!;
      const shapes = { q: [2, 4, 16], [packed]: [2, 4, 2, parts, 8] };
      const bytes = mha([...inputs], shapes, [], ['y'], attrs);
      const names = ['q', 'k', 'v'].slice(3 - parts);
      const unpackNodes: NodeInit[] = [
        node('Split', [packed], names.map((x) => `${x}5`), { axis: attr.i(3) }),
        ...names.map((x) => node('Reshape', [`${x}5`, 'flat'], [x])),
      ];
      const reference = contribModel({
        inputs: inputs.map((x) => ({ name: x, dims: shapes[x]! })), outputs: [{ name: 'y' }],
        nodes: [...unpackNodes, msNode('MultiHeadAttention', ['q', 'k', 'v'], ['y'], { num_heads: attr.i(2), ...attrs })],
        initializers: [i64('flat', [3], [2, 4, 16])],
      });
      const graph = importOnnx(bytes);
      const feeds = seededInputs(graph, 4);
      const [want] = await runOrt(reference, feeds);
      const got = runOnCpu(graph, feeds)[graph.outputs[0]!.name]!;
      expect([...got.shape]).toEqual(want!.dims);
      Array.from(got.data as Float32Array).forEach((x, i) => expect(Math.abs(x - want!.values[i]!), `y[${i}]`).toBeLessThan(2e-5 * (1 + Math.abs(want!.values[i]!))));
    });
  }

  it('refuses what it does not compute, naming the node', () => {
    const bytes = oneNode(msNode('FusedMatMul', ['a', 'b'], ['y'], { transBatchA: attr.i(1) }), [{ name: 'a', dims: [2, 3, 4] }, { name: 'b', dims: [2, 4, 3] }], ['y']);
    expect(() => importOnnx(bytes)).toThrow(/node 'FusedMatMul #0' \(FusedMatMul\): transBatchA=1 is not supported/);
  });
});

describe('com.microsoft contrib ops on WebGPU', () => {
  const gpu = useGpu();
  // seqlens_k is read at run time: one program serves every mix of cache lengths.
  it('GroupQueryAttention with rotary and seqlens_k fed at run time matches ONNX Runtime', async () => {
    const bytes = gqa(2, 1, [], 7, { past: 6, rotary: true, seqlensFed: true });
    const graph = importOnnx(bytes);
    const session = await SegmentedSession.create(gpu(), compileSegmented(graph));
    try {
      for (const lens of [[6, 3], [2, 5]]) {
        const feeds = { ...seededInputs(graph, lens[0]), seqlens: tensorData('i32', [2], lens) };
        const got = await session.run(feeds);
        const want = await runOrt(bytes, feeds, { seqlens: 6 });
        session.program.outputs.forEach((out, i) => {
          const g = Array.from(got[out]!.data as Float32Array);
          expect([...got[out]!.shape]).toEqual(want[i]!.dims);
          g.forEach((x, k) => expect(Math.abs(x - want[i]!.values[k]!), `${want[i]!.name}[${k}] at lengths ${lens}`).toBeLessThan(1e-4 * (1 + Math.abs(x))));
        });
      }
    } finally {
      session.destroy();
    }
  });

  for (const [name, build] of Object.entries(CASES)) {
    it(`${name} matches the CPU reference`, async () => {
      const graph = importOnnx(build());
      const feeds = seededInputs(graph, 3);
      const want = runOnCpu(graph, feeds);
      const session = await SegmentedSession.create(gpu(), compileSegmented(importOnnx(build())));
      try {
        const got = await session.run(feeds);
        session.program.outputs.forEach((out, i) => expectClose(got[out]!, want[graph.outputs[i]!.name]!, 1e-5, 1e-4));
      } finally {
        session.destroy();
      }
    });
  }
});
