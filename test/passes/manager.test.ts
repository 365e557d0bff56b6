import { describe, expect, it } from 'vitest';
import { parseGraph } from '../../src/ir/parser.js';
import { graphWeights, printGraph } from '../../src/ir/printer.js';
import { verify } from '../../src/ir/verify.js';
import { optimize } from '../../src/compiler.js';
import { resolvePipeline } from '../../src/passes/pipelines.js';
import { Linear, manualSeed, randn, ReLU, Sequential } from '../../src/frontend/torch/index.js';
import { trace } from '../../src/frontend/trace/trace.js';
import { runOnCpu } from '../../src/runtime/cpu/executor.js';
import { expectClose } from '../helpers/compare.js';

describe('pass manager', () => {
  manualSeed(7);
  const model = new Sequential(new Linear(12, 9), new ReLU(), new Linear(9, 4));
  const x = randn([3, 12]);

  it('--print-ir-after-all dumps parse back and verify, for every pass', () => {
    const dumps: { pass: string; text: string }[] = [];
    const graph = trace(model, [x]);
    const { graph: out } = optimize(graph, { printAfterAll: true, verifyEach: true, sink: (d) => dumps.push(d) });
    expect(dumps.map((d) => d.pass)).toEqual(resolvePipeline('O2').map((p) => p.name));
    for (const d of dumps) {
      const g = parseGraph(d.text);
      verify(g);
      expect(printGraph(g)).toBe(d.text);
    }
    expect(dumps.at(-1)!.text).toBe(printGraph(out));
  });

  it('prints before and after only the passes asked for', () => {
    const dumps: string[] = [];
    optimize(trace(model, [x]), { printBefore: ['dce'], printAfter: ['simplify'], sink: (d) => dumps.push(`${d.when} ${d.pass}`) });
    expect(dumps).toEqual(['after simplify', 'before dce', 'before dce']); // O2 runs dce twice
  });

  it('the O2 pipeline folds the weight transposes away and keeps the results', () => {
    const graph = trace(model, [x]);
    const { graph: out, timings } = optimize(graph);
    expect(out.nodes.map((n) => n.op).filter((op) => op !== 'const')).toEqual(['fused', 'fused']); // matmul+add+relu, matmul+add
    expect(timings.map((t) => t.pass)).toEqual(resolvePipeline('O2').map((p) => p.name));
    expectClose(runOnCpu(out, { x: x.data }).y!, runOnCpu(graph, { x: x.data }).y!, 1e-6, 1e-6);
    // The optimised graph round-trips with its (folded) weights.
    const again = parseGraph(printGraph(out), { weights: graphWeights(out) });
    expectClose(runOnCpu(again, { x: x.data }).y!, runOnCpu(graph, { x: x.data }).y!, 1e-6, 1e-6);
  });

  it('names unknown passes and pipelines', () => {
    expect(() => resolvePipeline('fold-constants,frobnicate')).toThrow(/unknown pass 'frobnicate' \(passes: .*dce/);
  });

  it('has lower-fp16 in its pipelines under fp16 only: before placement, then dce', () => {
    const names = (spec: string, precision?: 'fp32' | 'fp16') => resolvePipeline(spec, precision ? { precision } : {}).map((p) => p.name);
    expect(names('O2')).not.toContain('lower-fp16');
    expect(names('O2', 'fp16')).toEqual(['fold-constants', 'simplify', 'cse', 'fold-batchnorm', 'fold-constants', 'dce', 'lower-fp16', 'dce', 'place-devices', 'split-weights', 'fuse-se', 'align-weights', 'fuse', 'dce', 'schedule']);
    expect(names('O0', 'fp16')).toEqual(['dce', 'lower-fp16', 'dce', 'place-devices', 'split-weights', 'dce']);
    // A list of passes gets it where the pipelines have it, or keeps it where the list puts it.
    expect(names('cse,place-devices,fuse', 'fp16')).toEqual(['cse', 'lower-fp16', 'dce', 'place-devices', 'fuse']);
    expect(names('cse', 'fp16')).toEqual(['cse', 'lower-fp16', 'dce']);
    expect(names('lower-fp16,cse', 'fp16')).toEqual(['lower-fp16', 'cse']);
    expect(names('lower-fp16,cse', 'fp32')).toEqual(['cse']);
  });

  it('runs lower-fp16 as a pipeline pass: its dump is f16, and it takes the io precision', () => {
    const graph = trace(model, [x]);
    for (const io of ['f32', 'f16'] as const) {
      const dumps: { pass: string; text: string }[] = [];
      const { graph: out } = optimize(graph, { precision: 'fp16', ioPrecision: io, printAfter: ['lower-fp16'], sink: (d) => dumps.push(d) });
      expect(dumps.map((d) => d.pass)).toEqual(['lower-fp16']);
      expect(dumps[0]!.text).toMatch(/matmul\(.*\) : f16\[3,9\]/);
      expect(out.inputs[0]!.type.dtype).toBe(io);
    }
  });
});
