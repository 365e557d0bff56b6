import { describe, expect, it } from 'vitest';
import { differentiate } from '../../../src/passes/autodiff/differentiate.js';
import { parseGraph } from '../../../src/ir/parser.js';
import type { Graph } from '../../../src/ir/graph.js';
import { tensorData, type TensorData } from '../../../src/ir/tensor-data.js';
import { compile } from '../../../src/compiler.js';
import { Session } from '../../../src/runtime/session.js';
import { useGpu } from '../../helpers/gpu.js';

async function runOnGpu(device: ReturnType<ReturnType<typeof useGpu>>, g: Graph, inputs: Record<string, TensorData>) {
  const s = await Session.create(device, compile(g));
  try {
    return await s.run(inputs);
  } finally {
    s.destroy();
  }
}

/** A graph l = sum(OP(x)) for x: f32[2,3]; `op` is the node text after `%0 = `. */
const sumOf = (op: string, type = 'f32[2,3]') => parseGraph(`graph g(%x: f32[2,3] @webgpu) -> (f32[] @webgpu) {
  %0 = ${op} : ${type} @webgpu
  %l = sum(%0) : f32[] @webgpu
  return %l
}
`);

describe('autodiff', () => {
  const gpu = useGpu();

  it('the classic check: y = ((x + 2) ** 2 + 3).mean() at x = [1, 2, 3]', async () => {
    const g = parseGraph(`graph g(%x: f32[3] @webgpu) -> (f32[] @webgpu) {
  %two = const() {value = [2]} : f32[] @webgpu
  %three = const() {value = [3]} : f32[] @webgpu
  %0 = add(%x, %two) : f32[3] @webgpu
  %1 = pow(%0, %two) : f32[3] @webgpu
  %2 = add(%1, %three) : f32[3] @webgpu
  %y = mean(%2) : f32[] @webgpu
  return %y
}
`);
    const back = differentiate(g, { loss: 'y', wrt: ['x'] });
    const out = await runOnGpu(gpu(), back, { x: tensorData('f32', [3], [1, 2, 3]) });
    expect(out.y!.data[0]).toBeCloseTo(19.6667, 4);
    expect(Array.from(out['grad.x']!.data as Float32Array).map((v) => Number(v.toFixed(4)))).toEqual([2, 2.6667, 3.3333]);
  });

  it('names the op that has no gradient rule, and why when it is marked non-differentiable', () => {
    expect(() => differentiate(sumOf('bitcast(%x) {to = "f32"}'), { loss: 'l', wrt: ['x'] }))
      .toThrow(/no gradient rule for bitcast \(computing %0 on the path to the loss\): reinterprets bits/);
  });

  it('refuses an attribute value a rule does not handle, naming the op and the attribute', () => {
    const g = parseGraph(`graph g(%x: f32[2,3] @webgpu) -> (f32[] @webgpu) {
  %i = const() {value = [2, 0]} : i32[2,1] @webgpu
  %0 = gather_nd(%x, %i) {batch_dims = 1} : f32[2] @webgpu
  %l = sum(%0) : f32[] @webgpu
  return %l
}
`);
    expect(() => differentiate(g, { loss: 'l', wrt: ['x'] })).toThrow(/no gradient for gather_nd with batch_dims = 1/);
  });

  it('stops at a cast from integers: argmax carries no gradient, so nothing asks for its rule', async () => {
    const g = parseGraph(`graph g(%x: f32[2,3] @webgpu) -> (f32[] @webgpu) {
  %0 = argmax(%x) {axis = 1} : i32[2] @webgpu
  %1 = cast(%0) {to = "f32"} : f32[2] @webgpu
  %2 = sum(%x) : f32[] @webgpu
  %3 = sum(%1) : f32[] @webgpu
  %l = add(%2, %3) : f32[] @webgpu
  return %l
}
`);
    const out = await runOnGpu(gpu(), differentiate(g, { loss: 'l', wrt: ['x'] }), { x: tensorData('f32', [2, 3], [1, 5, 2, 0, -1, 3]) });
    expect(Array.from(out['grad.x']!.data)).toEqual([1, 1, 1, 1, 1, 1]);
  });
});
