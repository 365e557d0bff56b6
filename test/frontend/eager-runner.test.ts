import { describe, expect, it } from 'vitest';
import { tensorData } from '../../src/ir/tensor-data.js';
import { EagerRunner } from '../../src/runtime/eager.js';
import { PROGRAM_VERSION, type Program } from '../../src/runtime/program.js';
import { useGpu } from '../helpers/gpu.js';
import { parseGraph } from '../../src/ir/parser.js';
import { compile } from '../../src/compiler.js';

const TRIPLE = /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(4)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x < 4u) { y[gid.x] = x[gid.x] * 3.0; }
}
`;

function program(wgsl: string, extra: Partial<Program> = {}): Program {
  return {
    version: PROGRAM_VERSION, name: 'triple', weights: new Uint8Array(0), requiredFeatures: [],
    inputs: [{ name: 'x', dtype: 'f32', shape: [4], buffer: 0 }],
    outputs: [{ name: 'y', dtype: 'f32', shape: [4], buffer: 1 }],
    buffers: [{ id: 0, bytes: 16, role: 'input' }, { id: 1, bytes: 16, role: 'output' }],
    kernels: [{ name: 'triple', wgsl, entryPoint: 'main' }],
    dispatches: [{ kernel: 0, label: 'triple(x)', buffers: [0, 1], workgroups: [1, 1, 1] }],
    ...extra,
  };
}

describe('EagerRunner', () => {
  const gpu = useGpu();

  it('runs a program over caller buffers into fresh outputs, and reads them back', async () => {
    const runner = EagerRunner.for(gpu());
    expect(EagerRunner.for(gpu())).toBe(runner);
    const x = runner.upload(tensorData('f32', [4], [1, 2, 3, 4]));
    const p = program(TRIPLE);
    const [y] = runner.run(p, [x]);
    const [z] = runner.run(p, [y!.buffer]); // chained without waiting
    expect(Array.from((await runner.readback(z!.buffer, 'f32', [4])).data)).toEqual([9, 18, 27, 36]);
    expect(Array.from((await runner.readback(y!.buffer, 'f32', [4])).data)).toEqual([3, 6, 9, 12]);
    expect(runner.stats.programsPrepared).toBe(1);
    expect(runner.stats.pipelinesCreated).toBe(1);
    for (const b of [x, y!.buffer, z!.buffer]) runner.free(b);
    expect(() => runner.run(p, [])).toThrow(/'triple' takes 1 input buffer\(s\), got 0/);
  });

  it('hands back the input buffer for an aliased output and copies a weight output', async () => {
    const runner = EagerRunner.for(gpu());
    const x = runner.upload(tensorData('f32', [4], [1, 2, 3, 4]));
    const weights = new Uint8Array(new Float32Array([5, 6, 7, 8]).buffer);
    const p: Program = {
      ...program(TRIPLE), weights, dispatches: [],
      outputs: [{ name: 'same', dtype: 'f32', shape: [4], buffer: 0 }, { name: 'w', dtype: 'f32', shape: [4], buffer: 2 }],
      buffers: [{ id: 0, bytes: 16, role: 'input' }, { id: 1, bytes: 16, role: 'scratch' }, { id: 2, bytes: 16, role: 'weight', weightOffset: 0 }],
    };
    const [same, w] = runner.run(p, [x]);
    expect(same).toEqual({ buffer: x, aliasOf: 0 });
    expect(Array.from((await runner.readback(w!.buffer, 'f32', [4])).data)).toEqual([5, 6, 7, 8]);
    runner.free(w!.buffer);
    runner.free(x);
  });

  it('reports a kernel that does not compile at the next readback, naming it and quoting the line', async () => {
    const runner = EagerRunner.for(gpu());
    const x = runner.upload(tensorData('f32', [4], [1, 2, 3, 4]));
    const broken = program(TRIPLE.replace('* 3.0', '* undefined_thing'));
    // Reflection does not type-check, so the run is issued; Dawn's error arrives asynchronously.
    const [y] = runner.run(broken, [x]);
    await expect(runner.readback(y!.buffer, 'f32', [4])).rejects.toThrow(/kernel 'triple': WGSL does not compile[\s\S]*undefined_thing/);
    // Reported once; later work is unaffected.
    const [z] = runner.run(program(TRIPLE), [x]);
    expect(Array.from((await runner.readback(z!.buffer, 'f32', [4])).data)).toEqual([3, 6, 9, 12]);
  });

  it('runs a program compiled for a range of shapes at each run\'s sizes, its outputs made at those sizes', async () => {
    const runner = EagerRunner.for(gpu());
    const p = compile(parseGraph(`graph g(%x: f32[N,3] @webgpu) -> (f32[N,3] @webgpu) sizes(N: [1, 1000]) {
  %y = mul(%x, %x) : f32[N,3] @webgpu
  return %y
}
`));
    const x2 = runner.upload(tensorData('f32', [2, 3], [1, 2, 3, 4, 5, 6]));
    const x1 = runner.upload(tensorData('f32', [1, 3], [7, 8, 9]));
    // Issued back to back: each run's uniform words reach its own dispatch.
    const [y2] = runner.run(p, [x2], 'sq', new Map([['N', 2]]));
    const [y1] = runner.run(p, [x1], 'sq', new Map([['N', 1]]));
    expect([y2!.buffer.size, y1!.buffer.size]).toEqual([24, 12]);
    expect(Array.from((await runner.readback(y1!.buffer, 'f32', [1, 3])).data)).toEqual([49, 64, 81]);
    expect(Array.from((await runner.readback(y2!.buffer, 'f32', [2, 3])).data)).toEqual([1, 4, 9, 16, 25, 36]);
    expect(() => runner.run(p, [x1])).toThrow(/'g' varies in N in 1\.\.1000: run it with the sizes of its inputs/);
    expect(() => runner.run(p, [x1], 'sq', new Map([['N', 1001]]))).toThrow(/size N is 1001, outside the range 1\.\.1000/);
    for (const b of [x1, x2, y1!.buffer, y2!.buffer]) runner.free(b);
  });
});
