// Attention over lengths that vary from run to run, as a decoder feeds it: one token at a time
// after a cache, or chunks of tokens. ONNX's Attention (grouped heads, causal), ONNX Runtime's
// MultiHeadAttention and its GroupQueryAttention compile once for ranges of the lengths and give
// ONNX Runtime's answers at each.
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { compile } from '../../../src/compiler.js';
import { importOnnx } from '../../../src/frontend/onnx/index.js';
import { tensorData } from '../../../src/ir/tensor-data.js';
import { Session } from '../../../src/runtime/session.js';
import { useGpu } from '../../helpers/gpu.js';
import type { GpuDevice } from '../../../src/runtime/device.js';
import type { InputShapes } from '../../../src/frontend/onnx/inputs.js';
import { seeded } from '../../helpers/seeded.js';
import { attr, buildModel, contribModel, msNode, node, tensor } from './onnx-builder.js';

const HEAD = 8;
/** Chunks of new tokens after caches: (tokens, past). */
const CHUNKS: readonly Run[] = [[3, 5], [8, 32], [1, 9], [6, 1]].map(([tokens, past]) => ({ tokens: tokens!, past: past! }));

/** ONNX's Attention (4 query heads over 2 KV heads, causal) and ORT's causal MultiHeadAttention over `tokens` new tokens after a cache of P. */
function models(tokens: number | string): Record<string, Uint8Array> {
  const io = (qHeads: number, kvHeads: number) => [
    { name: 'q', dims: [1, tokens, qHeads * HEAD] }, { name: 'k', dims: [1, tokens, kvHeads * HEAD] }, { name: 'v', dims: [1, tokens, kvHeads * HEAD] },
    { name: 'past_key', dims: [1, kvHeads, 'P', HEAD] }, { name: 'past_value', dims: [1, kvHeads, 'P', HEAD] },
  ];
  const outputs = [{ name: 'y' }, { name: 'present_key' }, { name: 'present_value' }];
  return {
    'ONNX Attention (opset 23), 4 query heads over 2 key/value heads, causal': buildModel({
      opset: 23, outputs, inputs: io(4, 2),
      nodes: [node('Attention', ['q', 'k', 'v', '', 'past_key', 'past_value'], ['y', 'present_key', 'present_value'], { q_num_heads: attr.i(4), kv_num_heads: attr.i(2), is_causal: attr.i(1) })],
    }),
    "ONNX Runtime's MultiHeadAttention, causal": contribModel({
      outputs, inputs: io(2, 2),
      nodes: [msNode('MultiHeadAttention', ['q', 'k', 'v', '', '', '', 'past_key', 'past_value'], ['y', 'present_key', 'present_value'], { num_heads: attr.i(2), unidirectional: attr.i(1) })],
    }),
  };
}

/** One run: its new tokens, its cache's length, and the attention mask where the model takes one. */
interface Run {
  readonly tokens: number;
  readonly past: number;
  readonly mask?: readonly number[];
}

/** `bytes` compiled once for `ranges`, run at each run's lengths against ORT. */
async function expectOrtOverRanges(gpu: GpuDevice, bytes: Uint8Array, ranges: InputShapes, runs: readonly Run[]): Promise<void> {
  const graph = importOnnx(bytes, { inputShapes: ranges });
  const session = await Session.create(gpu, compile(graph));
  const reference = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  try {
    for (const { tokens, past, mask } of runs) {
      const floats = Object.fromEntries(graph.inputs.filter((v) => v.name !== 'attention_mask').map((v) => {
        const dims = [...v.type.shape];
        if (v.name.startsWith('past')) dims[2] = past;
        else dims[1] = tokens;
        return [v.name, dims];
      }));
      const data = Object.fromEntries(Object.entries(floats).map(([k, dims], i) => [k, seeded(dims.reduce((a, d) => a * d, 1), past * 10 + tokens + i)]));
      const maskDims = mask ? [graph.inputs[0]!.type.shape[0]!, mask.length / graph.inputs[0]!.type.shape[0]!] : [];
      const got = await session.run({
        ...Object.fromEntries(Object.entries(floats).map(([k, dims]) => [k, tensorData('f32', dims, data[k]!)])),
        ...(mask ? { attention_mask: tensorData('i32', maskDims, mask) } : {}),
      });
      const want = await reference.run({
        ...Object.fromEntries(Object.entries(floats).map(([k, dims]) => [k, new ort.Tensor('float32', data[k]!, dims)])),
        ...(mask ? { attention_mask: new ort.Tensor('int64', BigInt64Array.from(mask, BigInt), maskDims) } : {}),
      });
      for (const out of ['y', 'present_key', 'present_value']) {
        const at = `${out} for ${tokens} tokens after ${past}`;
        expect([...got[out]!.shape], at).toEqual(want[out]!.dims);
        const [a, b] = [got[out]!.data as Float32Array, want[out]!.data as Float32Array];
        for (let i = 0; i < b.length; i++) expect(Math.abs(a[i]! - b[i]!), `${at}: [${i}]`).toBeLessThan(1e-5 * (1 + Math.abs(b[i]!)));
      }
    }
  } finally {
    session.destroy();
    await reference.release();
  }
}

describe('attention over lengths that vary', () => {
  const gpu = useGpu();
  it('refuses a key padding mask over a cache that varies, naming the node', () => {
    const bytes = contribModel({
      outputs: [{ name: 'y' }],
      inputs: [{ name: 'q', dims: [1, 1, 16] }, { name: 'k', dims: [1, 1, 16] }, { name: 'v', dims: [1, 1, 16] }, { name: 'past_key', dims: [1, 2, 'P', HEAD] }, { name: 'past_value', dims: [1, 2, 'P', HEAD] }, { name: 'mask', type: 6, dims: [1, 'T'] }],
      nodes: [msNode('MultiHeadAttention', ['q', 'k', 'v', '', 'mask', '', 'past_key', 'past_value'], ['y'], { num_heads: attr.i(2) })],
    });
    const range = [1, 2, 'P<=63', HEAD];
    expect(() => importOnnx(bytes, { inputShapes: { past_key: range, past_value: range, mask: [1, 'T<=64'] } }))
      .toThrow(/node 'MultiHeadAttention #0' \(MultiHeadAttention\): a key padding mask over lengths that vary is not supported/);
  });
  for (const [name, bytes] of Object.entries(models(1))) {
    it(`${name}: one program for caches of 1..63, ONNX Runtime's answers at each`, async () => {
      const range = [1, 2, 'P<=63', HEAD];
      await expectOrtOverRanges(gpu(), bytes, { past_key: range, past_value: range }, [5, 63, 1].map((past) => ({ tokens: 1, past })));
    });
  }
  for (const [name, bytes] of Object.entries(models('S'))) {
    it(`${name}: one program for chunks of 1..8 tokens after caches of 1..32, ONNX Runtime's answers at each`, async () => {
      const qHeads = name.startsWith('ONNX Attention') ? 4 : 2;
      const range = [1, 2, 'P<=32', HEAD];
      const width = (heads: number) => [1, 'S<=8', heads * HEAD];
      await expectOrtOverRanges(gpu(), bytes, { q: width(qHeads), k: width(2), v: width(2), past_key: range, past_value: range }, CHUNKS);
    });
  }
});

/**
 * ORT's GroupQueryAttention with rotary, as LLM exports compute its lengths: seqlens_k from the
 * attention mask's sum, the total length from its shape; a batch of `batch` and `tokens` new
 * tokens (a number, or a symbol that varies).
 */
function gqaModel(batch: number, tokens: number | string): Uint8Array {
  return contribModel({
    outputs: [{ name: 'y' }, { name: 'present_key' }, { name: 'present_value' }],
    inputs: [
      { name: 'q', dims: [batch, tokens, 4 * 16] }, { name: 'k', dims: [batch, tokens, 2 * 16] }, { name: 'v', dims: [batch, tokens, 2 * 16] },
      { name: 'past_key', dims: [batch, 2, 'P', 16] }, { name: 'past_value', dims: [batch, 2, 'P', 16] }, { name: 'attention_mask', type: 7, dims: [batch, 'T'] },
    ],
    nodes: [
      node('ReduceSum', ['attention_mask', 'axis1'], ['tokens'], { keepdims: attr.i(0) }), node('Sub', ['tokens', 'one'], ['last']),
      node('Cast', ['last'], ['seqlens_k'], { to: attr.i(6) }), node('Shape', ['attention_mask'], ['shape']),
      node('Gather', ['shape', 'one'], ['total64'], { axis: attr.i(0) }), node('Cast', ['total64'], ['total'], { to: attr.i(6) }),
      msNode('GroupQueryAttention', ['q', 'k', 'v', 'past_key', 'past_value', 'seqlens_k', 'total', 'cos', 'sin'], ['y', 'present_key', 'present_value'],
        { num_heads: attr.i(4), kv_num_heads: attr.i(2), do_rotary: attr.i(1) }),
    ],
    initializers: [
      tensor('axis1', 7, [1], [1]), tensor('one', 7, [], [1]),
      tensor('cos', 1, [80, 8], Array.from({ length: 640 }, (_, i) => Math.cos(i * 0.37))), tensor('sin', 1, [80, 8], Array.from({ length: 640 }, (_, i) => Math.sin(i * 0.37))),
    ],
  });
}

describe('GroupQueryAttention over lengths that vary', () => {
  const gpu = useGpu();
  it("one token at a time: one program for caches of 1..63, a batch whose second entry holds one token fewer, ONNX Runtime's answers at each", async () => {
    const range = [2, 2, 'P<=63', 16];
    // The second entry's mask ends in a 0: its cache holds past - 1 valid rows.
    const runs = [5, 63, 2].map((past) => ({ tokens: 1, past, mask: Array.from({ length: 2 * (past + 1) }, (_, i) => (i === 2 * past + 1 ? 0 : 1)) }));
    await expectOrtOverRanges(gpu(), gqaModel(2, 1), { past_key: range, past_value: range, attention_mask: [2, 'T<=64'] }, runs);
  });

  it("several tokens after a cache (chunked prefill): one program for chunks of 1..8 after caches of 1..32, ONNX Runtime's answers at each", async () => {
    const range = [1, 2, 'P<=32', 16];
    const runs = CHUNKS.map((r) => ({ ...r, mask: new Array<number>(r.tokens + r.past).fill(1) }));
    await expectOrtOverRanges(gpu(), gqaModel(1, 'S'), {
      q: [1, 'S<=8', 64], k: [1, 'S<=8', 32], v: [1, 'S<=8', 32], past_key: range, past_value: range, attention_mask: [1, 'T<=40'],
    }, runs);
  });
});
