import { describe, expect, it } from 'vitest';
import { parseGraph } from '../../src/ir/parser.js';
import { compileWithReport } from '../../src/compiler.js';
import { ir } from '../passes/helpers.js';

describe('memory planning', () => {
  it('a chain of ops reuses two scratch buffers', () => {
    const ops = Array.from({ length: 10 }, (_, i) => `  %${i + 1} = ${i % 2 ? 'neg' : 'relu'}(%${i}) : f32[1000] @webgpu`);
    const g = parseGraph(ir(`graph g(%0: f32[1000] @webgpu) -> (f32[1000] @webgpu) {\n${ops.join('\n')}\n  return %10\n}`));
    const { program, stats } = compileWithReport(g, { pipeline: 'O0' });
    expect(program.buffers.filter((b) => b.role === 'scratch').length).toBe(2);
    expect(stats.scratchBytesPlanned).toBe(2 * 4000);
    expect(stats.scratchBytesNaive).toBe(9 * 4000);
    // A value is never written into a buffer that a still-live value occupies: each dispatch
    // reads one buffer and writes another.
    for (const d of program.dispatches) expect(new Set(d.buffers).size).toBe(d.buffers.length);
  });

  it('keeps a value alive until its last reader, and outputs in their own buffers', () => {
    const g = parseGraph(ir(`
      graph g(%x: f32[64] @webgpu) -> (f32[64] @webgpu, f32[64] @webgpu) {
        %a = relu(%x) : f32[64] @webgpu
        %b = neg(%a) : f32[64] @webgpu
        %c = relu(%b) : f32[64] @webgpu
        %d = add(%a, %c) : f32[64] @webgpu
        %e = neg(%d) : f32[64] @webgpu
        return %e, %b
      }`));
    const { program } = compileWithReport(g, { pipeline: 'O0' });
    const byLabel = new Map(program.dispatches.map((d) => [d.label, d.buffers]));
    const bufA = byLabel.get('relu -> %a')!.at(-1)!;
    const bufC = byLabel.get('relu -> %c')!.at(-1)!;
    const bufB = byLabel.get('neg -> %b')!.at(-1)!;
    expect(bufC).not.toBe(bufA); // %a is read again by %d
    expect(program.buffers[bufB]!.role).toBe('output');
    expect(program.buffers[byLabel.get('neg -> %e')!.at(-1)!]!.role).toBe('output');
  });

  it('a reshape shares its input buffer and extends its life', () => {
    const g = parseGraph(ir(`
      graph g(%x: f32[6,4] @webgpu) -> (f32[24] @webgpu) {
        %a = relu(%x) : f32[6,4] @webgpu
        %r = reshape(%a) {shape = [24]} : f32[24] @webgpu
        %b = neg(%x) : f32[6,4] @webgpu
        %c = reshape(%b) {shape = [24]} : f32[24] @webgpu
        %d = add(%r, %c) : f32[24] @webgpu
        return %d
      }`));
    const { program } = compileWithReport(g, { pipeline: 'O0' });
    const out = (label: string) => program.dispatches.find((d) => d.label === label)!.buffers.at(-1)!;
    expect(out('relu -> %a')).not.toBe(out('neg -> %b'));
    expect(program.dispatches.find((d) => d.label === 'add -> %d')!.buffers.slice(0, 2)).toEqual([out('relu -> %a'), out('neg -> %b')]);
  });
});
