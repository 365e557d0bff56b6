import { describe, expect, it } from 'vitest';
import { Graph } from '../../src/ir/graph.js';
import { IRParseError, parseGraph } from '../../src/ir/parser.js';
import { printGraph } from '../../src/ir/printer.js';
import { stringsOf, stringTensor, type TensorData } from '../../src/ir/tensor-data.js';

// The string dtype in IR text: types print as string[...], constants as quoted, escaped elements.

describe('string tensors in IR text', () => {
  it('prints and parses string inputs and constants, escapes and unicode included', () => {
    const g = new Graph('s');
    const x = g.addInput('x', { dtype: 'string', shape: [2], device: 'cpu' });
    const words = ['say "hi"\n', 'ü€😀\\', ''];
    const c = g.addNode('const', [], { value: stringTensor([3], words) }, { device: 'cpu' }).output;
    const y = g.addNode('concat', [x, c], { axis: 0 }, { device: 'cpu' }).output;
    g.setOutputs([y]);
    const text = printGraph(g);
    expect(text).toContain('%x: string[2] @cpu');
    expect(text).toContain(JSON.stringify(words[0]));
    const back = parseGraph(text);
    expect(printGraph(back)).toBe(text);
    const value = back.nodes.find((n) => n.op === 'const')!.attrs.value as TensorData;
    expect(stringsOf(value)).toEqual(words);
  });
  it('keeps large string constants inline (weight files hold numbers)', () => {
    const g = new Graph('big');
    const c = g.addNode('const', [], { value: stringTensor([5000], new Array<string>(5000).fill('w')) }, { device: 'cpu' }).output;
    g.setOutputs([c]);
    expect(printGraph(g)).not.toMatch(/ref/);
  });
  it('refuses a number in a string constant and a string in a number constant', () => {
    expect(() => parseGraph('graph g() -> (string[1] @cpu) {\n  %c = const() {value = [1]} : string[1] @cpu\n  return %c\n}')).toThrow(IRParseError);
    expect(() => parseGraph('graph g() -> (f32[1] @cpu) {\n  %c = const() {value = ["1"]} : f32[1] @cpu\n  return %c\n}')).toThrow(IRParseError);
  });
});
