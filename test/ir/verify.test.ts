import { describe, it, expect } from 'vitest';
import { Graph } from '../../src/ir/graph.js';
import { parseGraph } from '../../src/ir/parser.js';
import { tensorData } from '../../src/ir/tensor-data.js';
import { verify, VerifyError } from '../../src/ir/verify.js';

/** The VerifyError verify throws for `g` (fails the test if it passes). */
function problems(g: Graph): VerifyError {
  try {
    verify(g);
  } catch (e) {
    expect(e).toBeInstanceOf(VerifyError);
    return e as VerifyError;
  }
  return expect.fail('verify accepted an invalid graph');
}

/** x -> neg -> relu, returning the relu. */
function chain(): Graph {
  const g = new Graph('chain');
  const x = g.addInput('x', { dtype: 'f32', shape: [2, 3], device: 'webgpu' });
  const n = g.addNode('neg', [x], {}, { names: ['n'] }).output;
  const r = g.addNode('relu', [n], {}, { names: ['r'] }).output;
  g.setOutputs([r]);
  return g;
}

describe('verify', () => {
  it('accepts a valid graph, built or parsed', () => {
    expect(() => verify(chain())).not.toThrow();
    const g = new Graph('ok');
    const x = g.addInput('x', { dtype: 'f32', shape: [4], device: 'cpu' });
    const c = g.addNode('const', [], { value: tensorData('f32', [4], [1, 2, 3, 4]) }, { device: 'cpu' }).output;
    const s = g.addNode('add', [x, c]).output;
    const up = g.addNode('transfer', [s], {}, { device: 'webgpu' }).output;
    g.setOutputs([g.addNode('sum', [up], { axes: [0] }).output]);
    expect(() => verify(g)).not.toThrow();
  });

  it('catches a use before definition', () => {
    const g = chain();
    g.nodes.reverse(); // relu now reads %n before neg defines it
    const e = problems(g);
    expect(e.problems).toContainEqual(expect.stringContaining('operand %n is used before it is defined'));
    expect(e.message).toContain('graph chain is invalid');
  });

  it('catches operands on different devices without a transfer, naming both devices', () => {
    const g = new Graph('devices');
    const a = g.addInput('a', { dtype: 'f32', shape: [4], device: 'webgpu' });
    const b = g.addInput('b', { dtype: 'f32', shape: [4], device: 'cpu' });
    g.setOutputs([g.addNode('add', [a, b]).output]);
    const e = problems(g);
    const p = e.problems.find((x) => x.includes('different devices'));
    expect(p).toBeDefined();
    expect(p).toContain('%a @webgpu');
    expect(p).toContain('%b @cpu');
    expect(p).toContain('transfer');
  });

  it('catches the same mistake in parsed text (the parser does not verify)', () => {
    const text = `graph g(%a: f32[4] @webgpu, %b: f32[4] @cpu) -> (f32[4] @webgpu) {
  %0 = add(%a, %b) : f32[4] @webgpu
  return %0
}
`;
    const g = parseGraph(text);
    expect(problems(g).message).toMatch(/@webgpu.*@cpu/);
  });

  it('catches a type that no longer matches inference', () => {
    const g = chain();
    g.nodes[1]!.outputs[0]!.type = { dtype: 'f32', shape: [3, 2], device: 'webgpu' };
    expect(problems(g).problems).toContainEqual(
      expect.stringContaining('%r is typed f32[3,2] @webgpu but relu gives f32[2,3]'));
  });

  it('catches a dtype mismatch between operands', () => {
    const g = chain();
    const i = g.addInput('i', { dtype: 'i32', shape: [2, 3], device: 'webgpu' });
    const n = g.nodes[0]!.output;
    g.addNode('add', [n, n]).inputs[1] = i; // a rewrite that forgot a cast
    const e = problems(g);
    expect(e.problems).toEqual([expect.stringContaining('operands have different dtypes: f32[2,3], i32[2,3]')]);
  });

  it('catches an unknown attribute', () => {
    const g = chain();
    g.nodes[0]!.attrs = { ...g.nodes[0]!.attrs, alpha: 0.5 };
    expect(problems(g).problems).toContainEqual(expect.stringContaining("neg has no attribute 'alpha'"));
  });

  it('lists every problem at once', () => {
    const g = chain();
    g.nodes[0]!.attrs = { bogus: true };
    g.nodes[1]!.outputs[0]!.type = { dtype: 'f16', shape: [2, 3], device: 'webgpu' };
    g.setOutputs([]);
    const e = problems(g);
    expect(e.problems.length).toBe(3);
    expect(e.problems[2]).toBe('the graph returns nothing');
  });
});
