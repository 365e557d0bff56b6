import { describe, expect, it } from 'vitest';
import { parseGraph } from '../../src/ir/parser.js';
import { instantiateGraph } from '../../src/ir/instantiate.js';
import type { Graph } from '../../src/ir/graph.js';
import { tensorData, type TensorData } from '../../src/ir/tensor-data.js';
import { numel } from '../../src/ir/types.js';
import { compile, type CompileOptions } from '../../src/compiler.js';
import { runOnCpu } from '../../src/runtime/cpu/executor.js';
import { Session } from '../../src/runtime/session.js';
import { Random } from '../../src/frontend/torch/random.js';
import { useGpu } from '../helpers/gpu.js';
import { expectClose } from '../helpers/compare.js';
import { attentionText } from '../helpers/attention-text.js';

/** Normal inputs; a mask input gets -inf (or false) at about a third of its places and in its whole first row. */
function inputsOf(g: Graph, seed: number): Record<string, TensorData> {
  const rng = new Random(seed);
  return Object.fromEntries(g.inputs.map((x) => {
    const n = numel(x.type.shape);
    const s = x.type.shape.at(-1)!;
    if (x.name !== 'mask') return [x.name, tensorData('f32', x.type.shape, Array.from({ length: n }, () => rng.normal()))];
    const hidden = Array.from({ length: n }, (_, i) => i < s || rng.uniform(0, 1) < 1 / 3);
    return [x.name, x.type.dtype === 'bool' ? tensorData('bool', x.type.shape, hidden.map((h) => (h ? 0 : 1))) : tensorData('f32', x.type.shape, hidden.map((h) => (h ? -Infinity : rng.normal())))];
  }));
}

// fuse-attention fuses every attention for GPUs, and on software adapters with subgroups those its
// row kernel takes (one invocation a query); without subgroups they stay unfused.
const GPU = { adapterClass: 'gpu' } as const;
const SOFTWARE_SG = { adapterClass: 'software', adapterFeatures: ['subgroups'] } as const;

/** The kernels a graph compiles to for a GPU, by name. */
function kernelNames(g: Graph): string[] {
  return compile(g, GPU).kernels.map((k) => k.name);
}

describe('fused attention', () => {
  const gpu = useGpu();

  async function check(text: string, seed = 1, target: CompileOptions = GPU) {
    const g = parseGraph(text);
    const session = await Session.create(gpu(), compile(g, target));
    try {
      const inputs = inputsOf(g, seed);
      const got = await session.run(inputs);
      const want = runOnCpu(g, inputs);
      for (const o of g.outputs) expectClose(got[o.name]!, want[o.name]!, 1e-5, 1e-4);
      return got;
    } finally {
      session.destroy();
    }
  }

  it('becomes one kernel reading K through its transpose, and gives the CPU reference answer', async () => {
    const text = attentionText({ q: '[2,3,7,16]', k: '[2,3,9,16]', v: '[2,3,9,24]', scores: '[2,3,7,9]', out: '[2,3,7,24]' });
    expect(kernelNames(parseGraph(text))).toEqual(['attention']);
    await check(text);
  });

  it('handles keys over several steps, value vectors wider than a workgroup, and one query', async () => {
    await check(attentionText({ q: '[1,2,5,72]', k: '[1,2,150,72]', v: '[1,2,150,80]', scores: '[1,2,5,150]', out: '[1,2,5,80]' }), 2);
    await check(attentionText({ q: '[1,12,1,64]', k: '[1,12,129,64]', v: '[1,12,129,64]', scores: '[1,12,1,129]', out: '[1,12,1,64]' }), 3);
  });

  it('applies additive and boolean masks; a row with every key masked is NaN, as softmax makes it', async () => {
    for (const mask of ['add', 'where'] as const) {
      const text = attentionText({ q: '[1,2,6,8]', k: '[1,2,70,8]', v: '[1,2,70,8]', scores: '[1,2,6,70]', out: '[1,2,6,8]', mask, maskType: '[6,70]' });
      expect(kernelNames(parseGraph(text))).toEqual(['attention']);
      const got = await check(text, 4);
      // Query row 0 of every head sees no key.
      expect(Number.isNaN(Number(got['o']!.data[0]))).toBe(true);
      expect(Number.isNaN(Number(got['o']!.data[8]))).toBe(false);
    }
  });

  it('leaves every other matmul alone: one reading a constant, one reading a graph input', () => {
    const g = parseGraph(`graph g(%x: f32[3,4] @webgpu) -> (f32[2,4] @webgpu) {
  %a = const() {value = [1, 2, 3, 4, 5, 6]} : f32[2,3] @webgpu
  %y = matmul(%a, %x) : f32[2,4] @webgpu
  %z = matmul(%y, %x2) : f32[2,4] @webgpu
  return %z
}
`.replace(', %x2', ', %i').replace('(%x: f32[3,4] @webgpu)', '(%x: f32[3,4] @webgpu, %i: f32[4,4] @webgpu)'));
    expect(kernelNames(g)).not.toContain('attention');
  });

  it('is left to the unfused kernels for software adapters without subgroups, and with no adapter named', () => {
    const text = attentionText({ q: '[1,2,4,8]', k: '[1,2,4,8]', v: '[1,2,4,8]', scores: '[1,2,4,4]', out: '[1,2,4,8]' });
    expect(compile(parseGraph(text), { adapterClass: 'software' }).kernels.map((k) => k.name)).not.toContain('attention');
    expect(compile(parseGraph(text)).kernels.map((k) => k.name)).not.toContain('attention');
  });

  it('stores through a transpose moving the heads back beside the tokens, in either kernel; one moving the last axis is a kernel of its own', async () => {
    const heads = attentionText({ q: '[2,3,7,16]', k: '[2,3,9,16]', v: '[2,3,9,24]', scores: '[2,3,7,9]', out: '[2,3,7,24]' });
    const joined = heads.replace('-> (f32[2,3,7,24] @webgpu)', '-> (f32[2,7,72] @webgpu)').replace('  return %o\n', `  %t = transpose(%o) {perm = [0, 2, 1, 3]} : f32[2,7,3,24] @webgpu
  %j = reshape(%t) {shape = [2, 7, 72]} : f32[2,7,72] @webgpu
  return %j
`);
    expect(kernelNames(parseGraph(joined))).toEqual(['attention']);
    expect(compile(parseGraph(joined), SOFTWARE_SG).kernels.map((k) => k.name)).toEqual(['attention']);
    await check(joined, 50);
    if (gpu().device.features.has('subgroups')) await check(joined, 51, SOFTWARE_SG);
    const moved = heads.replace('-> (f32[2,3,7,24] @webgpu)', '-> (f32[2,3,24,7] @webgpu)').replace('  return %o\n', '  %t = transpose(%o) {perm = [0, 1, 3, 2]} : f32[2,3,24,7] @webgpu\n  return %t\n');
    expect(kernelNames(parseGraph(moved))).toEqual(['attention', 'transpose']);
    await check(moved, 52);
  });

  describe('the row kernel (software adapters with subgroups)', () => {
    const names = (text: string) => compile(parseGraph(text), SOFTWARE_SG).kernels.map((k) => k.name);
    const hasSubgroups = () => gpu().device.features.has('subgroups');

    it('gives the CPU reference answer over many keys, vectors of 4 to 64, and masks with a row of every key masked', async () => {
      const cases = [
        attentionText({ q: '[2,3,7,16]', k: '[2,3,9,16]', v: '[2,3,9,24]', scores: '[2,3,7,9]', out: '[2,3,7,24]' }),
        attentionText({ q: '[1,2,13,64]', k: '[1,2,150,64]', v: '[1,2,150,64]', scores: '[1,2,13,150]', out: '[1,2,13,64]' }),
        attentionText({ q: '[1,1,4,4]', k: '[1,1,3,4]', v: '[1,1,3,60]', scores: '[1,1,4,3]', out: '[1,1,4,60]' }),
      ];
      for (const mask of ['add', 'where'] as const) cases.push(attentionText({ q: '[1,2,6,8]', k: '[1,2,70,8]', v: '[1,2,70,8]', scores: '[1,2,6,70]', out: '[1,2,6,8]', mask, maskType: '[6,70]' }));
      for (const text of cases) expect(names(text)).toEqual(['attention']);
      if (!hasSubgroups()) return;
      for (const [i, text] of cases.entries()) {
        const got = await check(text, 20 + i, SOFTWARE_SG);
        if (text.includes('%mask')) expect([0, 8].map((k) => Number.isNaN(Number(got['o']!.data[k])))).toEqual([true, false]);
      }
    });

    it('reads Q, K and V as views of one projection (a head split at offsets 32 and 64), as a traced transformer block writes them', async () => {
      const text = `graph qkv(%x: f32[2,7,96] @webgpu) -> (f32[2,4,7,8] @webgpu) {
  %q, %k, %v = split(%x) {axis = 2, sizes = [32, 32, 32]} : f32[2,7,32] @webgpu, f32[2,7,32] @webgpu, f32[2,7,32] @webgpu
  %q4 = reshape(%q) {shape = [2, 7, 4, 8]} : f32[2,7,4,8] @webgpu
  %qh = transpose(%q4) {perm = [0, 2, 1, 3]} : f32[2,4,7,8] @webgpu
  %k4 = reshape(%k) {shape = [2, 7, 4, 8]} : f32[2,7,4,8] @webgpu
  %kT = transpose(%k4) {perm = [0, 2, 3, 1]} : f32[2,4,8,7] @webgpu
  %v4 = reshape(%v) {shape = [2, 7, 4, 8]} : f32[2,7,4,8] @webgpu
  %vh = transpose(%v4) {perm = [0, 2, 1, 3]} : f32[2,4,7,8] @webgpu
  %r = matmul(%qh, %kT) : f32[2,4,7,7] @webgpu
  %c = const() {value = [0.35]} : f32[] @webgpu
  %s = mul(%r, %c) : f32[2,4,7,7] @webgpu
  %p = softmax(%s) {axis = -1} : f32[2,4,7,7] @webgpu
  %o = matmul(%p, %vh) : f32[2,4,7,8] @webgpu
  return %o
}
`;
      expect(names(text)).toEqual(['attention']);
      if (!hasSubgroups()) return;
      await check(text, 30, SOFTWARE_SG);
      // At fp16 Q, K and V are f16 vec4s, converted as they load; the sums stay f32.
      if (!gpu().device.features.has('shader-f16')) return;
      const g = parseGraph(text);
      const program = compile(g, { ...SOFTWARE_SG, precision: 'fp16' });
      expect(program.kernels.map((k) => k.name)).toContain('attention');
      const session = await Session.create(gpu(), program);
      try {
        const inputs = inputsOf(g, 31);
        expectClose((await session.run(inputs))['o']!, runOnCpu(g, inputs)['o']!, 2e-2, 2e-2);
      } finally {
        session.destroy();
      }
    });

    it('leaves to the unfused kernels what it does not take: one query (decoding), vectors not a multiple of 4 or wider than 64, K not contiguous along its vectors', () => {
      const left = [
        attentionText({ q: '[1,12,1,64]', k: '[1,12,129,64]', v: '[1,12,129,64]', scores: '[1,12,1,129]', out: '[1,12,1,64]' }),
        attentionText({ q: '[1,2,8,6]', k: '[1,2,8,6]', v: '[1,2,8,8]', scores: '[1,2,8,8]', out: '[1,2,8,8]' }),
        attentionText({ q: '[1,2,8,72]', k: '[1,2,8,72]', v: '[1,2,8,8]', scores: '[1,2,8,8]', out: '[1,2,8,8]' }),
        attentionText({ q: '[1,2,8,8]', k: '[1,2,8,8]', v: '[1,2,8,8]', scores: '[1,2,8,8]', out: '[1,2,8,8]' }).replace('%kT = transpose(%k) {perm = [0, 1, 3, 2]}', '%kT = transpose(%k) {perm = [0, 1, 2, 3]}'),
      ];
      for (const text of left) expect(names(text)).not.toContain('attention');
    });

    it('serves every query and key count of a range from 4 queries in one program', async () => {
      const g = parseGraph(attentionText({ q: '[1,4,L,32]', k: '[1,4,S,32]', v: '[1,4,S,32]', scores: '[1,4,L,S]', out: '[1,4,L,32]', sizes: 'L: [4, 64], S: [1, 300]' }));
      const program = compile(g, SOFTWARE_SG);
      expect(program.kernels.map((k) => k.name)).toEqual(['attention']);
      expect(compile(instantiateGraph(g, { L: 1, S: 8 }), SOFTWARE_SG).kernels.map((k) => k.name)).not.toContain('attention');
      if (!hasSubgroups()) return;
      const session = await Session.create(gpu(), program);
      try {
        for (const [i, env] of [{ L: 4, S: 1 }, { L: 9, S: 129 }, { L: 64, S: 300 }].entries()) {
          const fixed = instantiateGraph(g, env);
          const inputs = inputsOf(fixed, 40 + i);
          expectClose((await session.run(inputs))['o']!, runOnCpu(fixed, inputs)['o']!, 1e-5, 1e-4);
        }
      } finally {
        session.destroy();
      }
    });
  });

  it('stays unfused when the softmax is read elsewhere (a training graph keeps it for backward)', async () => {
    const text = attentionText({ q: '[1,2,4,8]', k: '[1,2,4,8]', v: '[1,2,4,8]', scores: '[1,2,4,4]', out: '[1,2,4,8]', extraOutput: true });
    expect(kernelNames(parseGraph(text))).not.toContain('attention');
    await check(text);
  });

  it('serves every query and key count from one program (a KV cache growing by a token a step)', async () => {
    const g = parseGraph(attentionText({ q: '[1,4,L,32]', k: '[1,4,S,32]', v: '[1,4,S,32]', scores: '[1,4,L,S]', out: '[1,4,L,32]', sizes: 'L: [1, 64], S: [1, 300]' }));
    const program = compile(g, GPU);
    expect(program.kernels.map((k) => k.name)).toEqual(['attention']);
    const session = await Session.create(gpu(), program);
    const created = { ...session.stats };
    try {
      for (const [i, env] of [{ L: 1, S: 1 }, { L: 1, S: 129 }, { L: 64, S: 300 }, { L: 5, S: 64 }].entries()) {
        const fixed = instantiateGraph(g, env);
        const inputs = inputsOf(fixed, 10 + i);
        expectClose((await session.run(inputs))['o']!, runOnCpu(fixed, inputs)['o']!, 1e-5, 1e-4);
      }
      expect(session.stats.pipelinesCreated).toBe(created.pipelinesCreated);
      expect(session.stats.bindGroupsCreated).toBe(created.bindGroupsCreated);
    } finally {
      session.destroy();
    }
  });
});
