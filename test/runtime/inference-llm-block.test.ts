import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { InferenceSession, Tensor } from '../../src/runtime/index.js';
import { attr, contribModel, msNode, node, tensor } from '../frontend/onnx/onnx-builder.js';
import { useGpu } from '../helpers/gpu.js';
import { seeded } from '../helpers/seeded.js';

// One decoder layer of a 4-bit LLM as ONNX Runtime GenAI's model builder writes it: RMS norms
// (SimplifiedLayerNormalization, SkipSimplifiedLayerNormalization), 4-bit projections
// (MatMulNBits), GroupQueryAttention with rotary embedding over a KV cache, seqlens_k and
// total_sequence_length computed from the attention mask. Run as an application runs it: a
// prompt with an empty cache, then tokens one at a time with the cache fed back, each step's
// outputs against onnxruntime-node's. The prompt and the steps share programs over ranges of
// their lengths.

const D = 64;
const HEADS = 4;
const KV_HEADS = 2;
const HEAD = D / HEADS;
const MLP = 128;
const BLOCK = 32;

/** Deterministic bytes. */
const bytes = (count: number, seed: number): number[] => Array.from({ length: count }, (_, i) => (i * 131 + seed * 71 + ((i * i) % 29)) % 256);
const floats = (name: string, dims: number[], seed: number, scale = 1, offset = 0): object =>
  tensor(name, 1, dims, Array.from({ length: dims.reduce((a, d) => a * d, 1) }, (_, i) => offset + scale * Math.sin(seed * 3.1 + i * 0.7)));

/** A 4-bit projection K -> N: its MatMulNBits node and the weight's initializers. */
function projection(name: string, input: string, k: number, n: number): { node: object; inits: object[] } {
  const blocks = k / BLOCK;
  return {
    node: msNode('MatMulNBits', [input, `${name}.q`, `${name}.s`], [name], { K: attr.i(k), N: attr.i(n), bits: attr.i(4), block_size: attr.i(BLOCK) }),
    inits: [tensor(`${name}.q`, 2, [n, blocks, BLOCK / 2], bytes(n * blocks * BLOCK / 2, k + n)), floats(`${name}.s`, [n * blocks], n, 0.01, 0.03)],
  };
}

function decoderLayer(): Uint8Array {
  const proj = [projection('q', 'h1', D, D), projection('k', 'h1', D, KV_HEADS * HEAD), projection('v', 'h1', D, KV_HEADS * HEAD),
    projection('o', 'attn', D, D), projection('gate', 'h2', D, MLP), projection('up', 'h2', D, MLP), projection('down', 'm', MLP, D)];
  const nodes = [
    node('SimplifiedLayerNormalization', ['hidden', 'ln1'], ['h1'], { epsilon: attr.f(1e-5) }),
    ...proj.slice(0, 3).map((p) => p.node),
    node('ReduceSum', ['attention_mask', 'axis1'], ['tokens'], { keepdims: attr.i(0) }),
    node('Sub', ['tokens', 'one'], ['last']),
    node('Cast', ['last'], ['seqlens_k'], { to: attr.i(6) }),
    node('Shape', ['attention_mask'], ['mask_shape']),
    node('Gather', ['mask_shape', 'one'], ['total64'], { axis: attr.i(0) }),
    node('Cast', ['total64'], ['total'], { to: attr.i(6) }),
    msNode('GroupQueryAttention', ['q', 'k', 'v', 'past_key', 'past_value', 'seqlens_k', 'total', 'cos', 'sin'], ['attn', 'present_key', 'present_value'],
      { num_heads: attr.i(HEADS), kv_num_heads: attr.i(KV_HEADS), do_rotary: attr.i(1) }),
    proj[3]!.node,
    msNode('SkipSimplifiedLayerNormalization', ['o', 'hidden', 'ln2'], ['h2', '', '', 'residual'], { epsilon: attr.f(1e-5) }),
    proj[4]!.node, proj[5]!.node,
    node('Sigmoid', ['gate'], ['gate_sigmoid']),
    node('Mul', ['gate', 'gate_sigmoid'], ['gate_silu']),
    node('Mul', ['gate_silu', 'up'], ['m']),
    proj[6]!.node,
    node('Add', ['residual', 'down'], ['out']),
  ];
  const inv = Array.from({ length: HEAD / 2 }, (_, i) => 10000 ** (-2 * i / HEAD));
  const angles = (fn: (x: number) => number) => Array.from({ length: 32 * HEAD / 2 }, (_, x) => fn(Math.floor(x / (HEAD / 2)) * inv[x % (HEAD / 2)]!));
  return contribModel({
    opset: 17,
    inputs: [
      { name: 'hidden', dims: [1, 'sequence', D] },
      { name: 'attention_mask', type: 7, dims: [1, 'total_sequence'] },
      { name: 'past_key', dims: [1, KV_HEADS, 'past_sequence', HEAD] },
      { name: 'past_value', dims: [1, KV_HEADS, 'past_sequence', HEAD] },
    ],
    outputs: [{ name: 'out' }, { name: 'present_key' }, { name: 'present_value' }],
    nodes: nodes as never,
    initializers: [
      floats('ln1', [D], 1, 0.2, 1), floats('ln2', [D], 2, 0.2, 1), tensor('axis1', 7, [1], [1]), tensor('one', 7, [], [1]),
      tensor('cos', 1, [32, HEAD / 2], angles(Math.cos)), tensor('sin', 1, [32, HEAD / 2], angles(Math.sin)),
      ...proj.flatMap((p) => p.inits),
    ],
  });
}

describe('a 4-bit LLM decoder layer as ONNX Runtime GenAI writes it', () => {
  const gpu = useGpu();
  /**
   * The prompt and seven tokens, each step's outputs against ONNX Runtime's; with `keepCache`,
   * the cache stays on the device (preferredOutputLocation) and is fed back as it is.
   */
  async function decode(keepCache: boolean): Promise<void> {
    const model = decoderLayer();
    const cache = mkdtempSync(join(tmpdir(), 'kiln-llm-'));
    const kept = keepCache ? { preferredOutputLocation: { present_key: 'gpu-buffer', present_value: 'gpu-buffer' } as const } : {};
    const session = await InferenceSession.create(model, { device: gpu(), compileCache: cache, ...kept });
    const reference = await ort.InferenceSession.create(model, { intraOpNumThreads: 1 });
    try {
      let past = { key: new Tensor('float32', new Float32Array(0), [1, KV_HEADS, 0, HEAD]), value: new Tensor('float32', new Float32Array(0), [1, KV_HEADS, 0, HEAD]), length: 0 };
      let refPast: { key: Float32Array; value: Float32Array } = { key: new Float32Array(0), value: new Float32Array(0) };
      const steps = [5, 1, 1, 1, 1, 1, 1, 1];
      for (const [step, tokens] of steps.entries()) {
        const total = past.length + tokens;
        const hidden = seeded(tokens * D, 40 + step);
        const mask = new BigInt64Array(total).fill(1n);
        const pastDims = [1, KV_HEADS, past.length, HEAD];
        const got = await session.run({
          hidden: new Tensor('float32', hidden, [1, tokens, D]), attention_mask: new Tensor('int64', mask, [1, total]),
          past_key: past.key, past_value: past.value,
        });
        const want = await reference.run({
          hidden: new ort.Tensor('float32', hidden, [1, tokens, D]), attention_mask: new ort.Tensor('int64', mask, [1, total]),
          past_key: new ort.Tensor('float32', refPast.key, pastDims), past_value: new ort.Tensor('float32', refPast.value, pastDims),
        });
        for (const name of ['out', 'present_key', 'present_value']) {
          expect(got[name]!.dims, `${name} at step ${step}`).toEqual(want[name]!.dims);
          expect(got[name]!.location, `${name} at step ${step}`).toBe(keepCache && name !== 'out' ? 'gpu-buffer' : 'cpu');
          const [a, b] = [await got[name]!.getData() as Float32Array, want[name]!.data as Float32Array];
          let worst = 0;
          for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / (1 + Math.abs(b[i]!)));
          expect(worst, `${name} at step ${step}`).toBeLessThan(1e-4);
        }
        past.key.dispose();
        past.value.dispose();
        past = { key: got['present_key']!, value: got['present_value']!, length: total };
        refPast = { key: want['present_key']!.data as Float32Array, value: want['present_value']!.data as Float32Array };
      }
      past.key.dispose();
      past.value.dispose();
      // The prompt at fixed sizes, then one program over ranges of the sequence, past and total
      // lengths (up to 8), then two more as the total and the past pass 8: not a program a token.
      expect(readdirSync(cache)).toHaveLength(4);
    } finally {
      await session.release();
      await reference.release();
    }
  }

  it('runs a prompt with an empty cache, then tokens one at a time, as ONNX Runtime runs them', () => decode(false), 120_000);

  it('keeps the cache on the device from step to step (preferredOutputLocation), with the same answers', () => decode(true), 120_000);
});
