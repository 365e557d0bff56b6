import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tuneGraph } from '../../src/codegen/tune.js';
import { parseGraph } from '../../src/ir/parser.js';
import { compile, optimize } from '../../src/compiler.js';
import { generate } from '../../src/codegen/generate.js';
import type { KernelChooser } from '../../src/codegen/lower/lowering.js';
import { useGpu } from '../helpers/gpu.js';
import { isSoftware } from '../../src/runtime/adapter-info.js';
import { attentionText } from '../helpers/attention-text.js';
import { kiln } from '../helpers/kiln-cli.js';

describe('kernel tuning', () => {
  const gpu = useGpu();
  const g = parseGraph(`graph g(%a: f32[48,64] @webgpu, %b: f32[64,32] @webgpu) -> (f32[48,32] @webgpu) {
  %0 = matmul(%a, %b) : f32[48,32] @webgpu
  return %0
}
`);

  it('measures each variant once per signature, then answers from the cache', async () => {
    if (!gpu().device.features.has('timestamp-query')) return;
    const cachePath = join(mkdtempSync(join(tmpdir(), 'kiln-tune-')), 'tuning.json');
    const first = await tuneGraph(g, gpu(), { cachePath, runs: 1 });
    expect(first.decisions).toHaveLength(1);
    expect(first.decisions[0]!.cached).toBe(false);
    // shuffle16x8 is timed where the device offers subgroups (it needs them).
    const timed = ['block16x8', 'rows1', 'scalar', ...(gpu().features.has('subgroups') ? ['shuffle16x8'] : []), 'tiled', 'vec4b'];
    expect(Object.keys(first.decisions[0]!.timesMs!).sort()).toEqual(timed);
    const second = await tuneGraph(g, gpu(), { cachePath });
    expect(second.decisions).toEqual([{ family: 'matmul', signature: 'f32:1x48x64x32', variant: first.decisions[0]!.variant, cached: true }]);
    // The choice is what the compiled kernel uses.
    const program = compile(g, { choose: second.choose });
    const wgsl = program.kernels[0]!.wgsl;
    const variant = first.decisions[0]!.variant;
    expect(/array<vec4<f32>>/.test(wgsl)).toBe(['vec4b', 'rows1', 'block16x8', 'shuffle16x8'].includes(variant));
    expect(/var<workgroup> tA/.test(wgsl)).toBe(variant === 'tiled');
    expect(/wid\.y \* 16u/.test(wgsl)).toBe(['block16x8', 'shuffle16x8'].includes(variant));
    expect(/subgroupShuffle/.test(wgsl)).toBe(variant === 'shuffle16x8');
  });

  it('times each conv2d variant on a one-kernel graph of the same problem, and the compiled kernel follows', { timeout: 120_000 }, async () => {
    if (!gpu().device.features.has('timestamp-query')) return;
    const conv = parseGraph(`graph c(%x: f32[1,6,9,11] @webgpu, %w: f32[10,6,3,3] @webgpu) -> (f32[1,10,5,6] @webgpu) {
  %0 = conv2d(%x, %w) {stride = [2, 2], padding = [1, 1, 1, 1]} : f32[1,10,5,6] @webgpu
  %1 = relu(%0) : f32[1,10,5,6] @webgpu
  return %1
}
`);
    const cachePath = join(mkdtempSync(join(tmpdir(), 'kiln-tune-conv-')), 'tuning.json');
    const { decisions, choose } = await tuneGraph(conv, gpu(), { cachePath, runs: 1 });
    expect(decisions.map((d) => [d.family, d.signature])).toEqual([['conv', 'f32:1x6x9x11->10x5x6:k3x3:s2x2:d1x1:p1,1,1,1']]);
    // The subgroup variants are timed where the device offers subgroups (they need them).
    const sg = (...vs: string[]) => (gpu().features.has('subgroups') ? vs : []);
    expect(Object.keys(decisions[0]!.timesMs!).sort()).toEqual(['direct', 'gemm', 'rows', ...sg('rowsg')]);
    const wgsl = compile(conv, { choose }).kernels[0]!.wgsl;
    expect(/var<workgroup> tA/.test(wgsl)).toBe(decisions[0]!.variant === 'gemm');
  });

  it('a depthwise conv2d is tuned as the grouped problem it is (its signature names the groups)', { timeout: 120_000 }, async () => {
    if (!gpu().device.features.has('timestamp-query')) return;
    const dw = parseGraph(`graph c(%x: f32[1,6,5,20] @webgpu, %w: f32[6,1,5,5] @webgpu) -> (f32[1,6,3,20] @webgpu) {
  %0 = conv2d(%x, %w) {groups = 6, stride = [2, 1], padding = [2, 2, 2, 2]} : f32[1,6,3,20] @webgpu
  return %0
}
`);
    const cachePath = join(mkdtempSync(join(tmpdir(), 'kiln-tune-dw-')), 'tuning.json');
    const { decisions } = await tuneGraph(dw, gpu(), { cachePath, runs: 1 });
    expect(decisions.map((d) => [d.family, d.signature])).toEqual([['conv', 'f32:1x6x5x20->6x3x20:k5x5:s2x1:d1x1:p2,2,2,2:g6']]);
    const sg = (...vs: string[]) => (gpu().features.has('subgroups') ? vs : []);
    expect(Object.keys(decisions[0]!.timesMs!).sort()).toEqual(['direct', 'dwrows', ...sg('dwrowsg'), 'rows', ...sg('rowsg')]);
  });

  it('a pair of convolutions is tuned as one problem after its members, its kernel and its members\' as they were chosen', { timeout: 120_000 }, async () => {
    if (!gpu().device.features.has('timestamp-query')) return;
    const lavapipe = { adapterClass: 'software' as const, adapterFeatures: [...gpu().features].filter((f) => f === 'subgroups'), maxStorageBuffers: 16 };
    const g = optimize(parseGraph(`graph p(%x: f32[1,8,6,40] @webgpu, %w1: f32[16,8,3,3] @webgpu, %w2: f32[24,16,1,1] @webgpu) -> (f32[1,16,6,40] @webgpu, f32[1,24,6,40] @webgpu) {
  %0 = conv2d(%x, %w1) {padding = [1, 1, 1, 1]} : f32[1,16,6,40] @webgpu
  %1 = conv2d(%0, %w2) : f32[1,24,6,40] @webgpu
  return %0, %1
}
`), lavapipe).graph;
    expect(g.nodes.filter((n) => n.op === 'fused')).toHaveLength(1);
    const cachePath = join(mkdtempSync(join(tmpdir(), 'kiln-tune-pair-')), 'tuning.json');
    const { decisions, choose } = await tuneGraph(g, gpu(), { cachePath, runs: 1 });
    const pair = decisions.at(-1)!;
    expect([pair.family, pair.signature]).toEqual(['conv_pair', 'f32:1x8x6x40->16x6x40:k3x3:s1x1:d1x1:p1,1,1,1+f32:1x16x6x40->24x6x40:k1x1:s1x1:d1x1:p0,0,0,0']);
    expect(decisions.slice(0, -1).map((d) => d.family)).toEqual(['conv', 'conv']);
    // The pair's kernel shares weights across a subgroup: timed where the device offers subgroups.
    expect(Object.keys(pair.timesMs!).sort()).toEqual([...(gpu().features.has('subgroups') ? ['pair'] : []), 'separate']);
    const program = generate(g, { choose }).program;
    expect(program.dispatches).toHaveLength(pair.variant === 'pair' ? 1 : 2);
  });

  it('a fused attention is timed in each of its kernels on the attention its signature poses, and the compiled kernel follows', { timeout: 120_000 }, async () => {
    if (!gpu().device.features.has('timestamp-query')) return;
    const target = { adapterClass: 'software' as const, adapterFeatures: ['subgroups'] };
    const g = optimize(parseGraph(attentionText({ q: '[2,3,9,16]', k: '[2,3,11,16]', v: '[2,3,11,8]', scores: '[2,3,9,11]', out: '[2,3,9,8]' })), target).graph;
    const cachePath = join(mkdtempSync(join(tmpdir(), 'kiln-tune-attention-')), 'tuning.json');
    const { decisions, choose } = await tuneGraph(g, gpu(), { cachePath, runs: 1 });
    expect(decisions.map((d) => [d.family, d.signature])).toEqual([['attention', 'f32:2x3:L9:S11:E16:V8']]);
    // The row kernel shares loads across a subgroup: timed on software adapters offering subgroups.
    const rows = gpu().features.has('subgroups') && isSoftware(gpu().info);
    expect(Object.keys(decisions[0]!.timesMs!).sort()).toEqual([...(rows ? ['rows'] : []), 'workgroup']);
    const wgsl = generate(g, { choose }).program.kernels[0]!.wgsl;
    expect(/quadBroadcast/.test(wgsl)).toBe(decisions[0]!.variant === 'rows');
  });

  // Each family's problem as its micro graph poses it, the variants it offers there, and the
  // graph compiled with the tuner's answer has the kernel of the variant chosen.
  const others: [string, string, string, string[]][] = [
    ['conv_transpose', `graph t(%x: f32[1,4,6,10] @webgpu, %w: f32[4,3,3,3] @webgpu) -> (f32[1,3,12,20] @webgpu) {
  %0 = conv_transpose2d(%x, %w) {stride = [2, 2], padding = [1, 1, 1, 1], output_padding = [1, 1]} : f32[1,3,12,20] @webgpu
  return %0
}
`, 'f32:1x4x6x10->3x12x20:k3x3:s2x2:d1x1:p1,1,1,1', ['direct', 'rows']],
    ['resize', `graph r(%x: f32[2,3,5,8] @webgpu) -> (f32[2,3,10,16] @webgpu) {
  %0 = resize(%x) {mode = "linear", scales = [1, 1, 2, 2]} : f32[2,3,10,16] @webgpu
  return %0
}
`, 'linear:f32:6x5x8->10x16', ['scalar', 'vec4']],
    ['concat', `graph c(%a: f32[2,3,70,8] @webgpu, %b: f32[2,3,1,8] @webgpu) -> (f32[2,3,71,8] @webgpu) {
  %0 = concat(%a, %b) {axis = 2} : f32[2,3,71,8] @webgpu
  return %0
}
`, 'f32:2x3x71x8:axis2:70+1', ['flat', 'loops']],
    ['reduce', `graph s(%x: f32[6,97] @webgpu) -> (f32[6] @webgpu) {
  %0 = sum(%x) {axes = [1]} : f32[6] @webgpu
  return %0
}
`, 'sum:f32:6x97', ['invocation', 'workgroup']],
    ['softmax', `graph s(%x: f32[4,300] @webgpu) -> (f32[4,300] @webgpu) {
  %0 = softmax(%x) {axis = -1} : f32[4,300] @webgpu
  return %0
}
`, 'softmax:f32:4x300', ['invocation', 'workgroup']],
    ['layer_norm', `graph s(%x: f32[3,200] @webgpu, %w: f32[200] @webgpu) -> (f32[3,200] @webgpu) {
  %0 = layer_norm(%x, %w) {axis = -1} : f32[3,200] @webgpu
  return %0
}
`, 'layer_norm:f32:3x200', ['invocation', 'workgroup']],
  ];
  it.each(others)('a %s is timed in each variant on a one-kernel graph of its problem, and the compiled kernel follows', { timeout: 120_000 }, async (family, text, signature, variants) => {
    if (!gpu().device.features.has('timestamp-query')) return;
    const graph = parseGraph(text);
    const cachePath = join(mkdtempSync(join(tmpdir(), `kiln-tune-${family}-`)), 'tuning.json');
    const { decisions, choose } = await tuneGraph(graph, gpu(), { cachePath, runs: 1 });
    expect(decisions.map((d) => [d.family, d.signature])).toEqual([[family, signature]]);
    expect(Object.keys(decisions[0]!.timesMs!).sort()).toEqual(variants);
    const kernelIn = (pick: KernelChooser) => compile(graph, { choose: pick }).kernels.map((k) => k.wgsl).join('\n');
    const each = variants.map((v) => kernelIn((f) => (f === family ? v : undefined)));
    expect(new Set(each).size).toBe(variants.length);
    expect(kernelIn(choose)).toBe(each[variants.indexOf(decisions[0]!.variant)]);
  });

  it('kiln compile --tune measures once, then answers from the cache', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-tune-cli-'));
    const model = join(dir, 'mm.kir');
    writeFileSync(model, 'graph mm(%a: f32[40,64] @webgpu, %b: f32[64,48] @webgpu) -> (f32[40,48] @webgpu) {\n  %0 = matmul(%a, %b) : f32[40,48] @webgpu\n  return %0\n}\n');
    const cache = join(dir, 'tuning.json');
    const first = await kiln('compile', model, '--tune', '--tuning-cache', cache);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/tune matmul f32:1x40x64x48: vec4b [\d.]+ ms, scalar [\d.]+ ms, tiled [\d.]+ ms, rows1 [\d.]+ ms, block16x8 [\d.]+ ms(, shuffle16x8 [\d.]+ ms)? -> (vec4b|scalar|tiled|rows1|block16x8|shuffle16x8)/);
    const second = await kiln('compile', model, '--tune', '--tuning-cache', cache);
    expect(second.stderr).toMatch(/1 kernel problem\(s\), 1 from the cache/);
    expect((await kiln('compile', model, '--tuning-cache', cache)).stderr).toMatch(/--tuning-cache goes with --tune/);
  });

  it('an artifact records how each kernel variant was chosen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-choice-'));
    const model = join(dir, 'mm.kir');
    writeFileSync(model, 'graph mm(%a: f32[8,16] @webgpu, %b: f32[16,12] @webgpu) -> (f32[8,12] @webgpu) {\n  %0 = matmul(%a, %b) : f32[8,12] @webgpu\n  return %0\n}\n');
    const out = join(dir, 'mm.kiln');
    expect((await kiln('compile', model, '-o', out)).code).toBe(0);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { compiler: { kernelChoices: Record<string, string> } };
    expect(manifest.compiler.kernelChoices).toEqual({ 'matmul|f32:1x8x16x12': expect.stringMatching(/^(vec4b|tiled) \(heuristic: (software|gpu)\)$/) });
    const run = await kiln('run', out, '--random-inputs');
    expect(run.code, run.stderr).toBe(0);
  });
});
