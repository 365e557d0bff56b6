import { describe, expect, it } from 'vitest';
import type { Attrs } from '../../../src/ir/attrs.js';
import { Graph } from '../../../src/ir/graph.js';
import { OpTypeError } from '../../../src/ir/errors.js';
import { re2ToJs, regexOf } from '../../../src/ir/ops/regex.js';
import { stringsOf, stringTensor, tensorData, type TensorData } from '../../../src/ir/tensor-data.js';
import { runOnCpu } from '../../../src/runtime/cpu/executor.js';
import { numberText, parseNumberText } from '../../../src/runtime/cpu/kernels/number-text.js';

// The string ops' CPU reference kernels, against the ONNX spec's rules and Python's (the ONNX
// reference implementation's) behaviour; the ONNX suite's cases check them further in
// backend-conformance.test.ts.

/** Runs one node on the CPU reference and returns all its results. */
function run(op: string, inputs: TensorData[], attrs: Attrs = {}): TensorData[] {
  const g = new Graph(op);
  const vs = inputs.map((x, i) => g.addInput(`x${i}`, { dtype: x.dtype, shape: x.shape, device: 'cpu' }));
  const outs = g.addNode(op, vs, attrs, { device: 'cpu' }).outputs;
  g.setOutputs(outs);
  const got = runOnCpu(g, Object.fromEntries(inputs.map((x, i) => [`x${i}`, x])));
  return outs.map((o) => got[o.name]!);
}

const str = (shape: number[], values: string[]) => stringTensor(shape, values);
const strings = (t: TensorData) => ({ shape: [...t.shape], values: stringsOf(t) });

describe('string_concat', () => {
  it('joins pairwise with broadcasting, empty strings and unicode included', () => {
    const [y] = run('string_concat', [str([2, 2], ['a', '', 'ü', '😀']), str([2], ['x', '€'])]);
    expect(strings(y!)).toEqual({ shape: [2, 2], values: ['ax', '€', 'üx', '😀€'] });
    expect(strings(run('string_concat', [str([], ['cat']), str([], ['s'])])[0]!)).toEqual({ shape: [], values: ['cats'] });
  });
});

describe('string_split', () => {
  const split = (values: string[], attrs: Attrs) => {
    const [y, n] = run('string_split', [str([values.length], values)], attrs);
    return { pieces: strings(y!), counts: Array.from(n!.data) };
  };
  it('at a delimiter, keeping empty pieces, padded to the longest row', () => {
    expect(split(['o-n-n--x-', 'ab'], { delimiter: '-' })).toEqual({ pieces: { shape: [2, 6], values: ['o', 'n', 'n', '', 'x', '', 'ab', '', '', '', '', ''] }, counts: [6, 1] });
    expect(split(['a::b', ''], { delimiter: '::' }).pieces.values).toEqual(['a', 'b', '', '']);
  });
  it('at runs of whitespace without a delimiter (Python str.split()), empty strings giving no piece', () => {
    expect(split(['  hello \t world\n', '', '\u3000x'], {})).toEqual({ pieces: { shape: [3, 2], values: ['hello', 'world', '', '', 'x', ''] }, counts: [2, 0, 1] });
  });
  it('maxsplit leaves the rest whole (trailing whitespace included)', () => {
    expect(split(['o n n x ', 'a'], { maxsplit: 1 }).pieces.values).toEqual(['o', 'n n x ', 'a', '']);
    expect(split(['a.b.c'], { delimiter: '.', maxsplit: 1 }).pieces.values).toEqual(['a', 'b.c']);
  });
  it('an empty tensor gives [0, 0]', () => {
    expect(split([], {}).pieces.shape).toEqual([0, 0]);
  });
});

describe('string_normalizer', () => {
  const norm = (shape: number[], values: string[], attrs: Attrs, stop: string[] = []) =>
    strings(run('string_normalizer', [str(shape, values), ...(stop.length ? [str([stop.length], stop)] : [])], attrs)[0]!);
  it('removes stopwords (case-insensitively by default), then changes case', () => {
    expect(norm([1, 4], ['Monday', 'x', 'monday', 'Ünïcode'], { case_change: 'UPPER' }, ['monday'])).toEqual({ shape: [1, 2], values: ['X', 'ÜNÏCODE'] });
    expect(norm([3], ['Monday', 'monday', 'B'], { case_change: 'LOWER', case_sensitive: true }, ['monday'])).toEqual({ shape: [2], values: ['monday', 'b'] });
  });
  it('gives one empty string when nothing is left', () => {
    expect(norm([2], ['a', 'A'], {}, ['a'])).toEqual({ shape: [1], values: [''] });
  });
  it('changes case one character at a time, as C towupper (ß stays)', () => {
    expect(norm([1], ['straße'], { case_change: 'UPPER' })).toEqual({ shape: [1], values: ['STRAßE'] });
  });
});

describe('regex_full_match', () => {
  const match = (pattern: string, values: string[]) => Array.from(run('regex_full_match', [str([values.length], values)], { pattern })[0]!.data);
  it('matches whole strings only', () => {
    expect(match('www\\.[\\w.-]+\\.\\bcom\\b', ['www.google.com', 'www.bbc.co.uk', 'xwww.a.com'])).toEqual([1, 0, 0]);
    expect(match('a|ab', ['ab', 'a', ''])).toEqual([1, 1, 0]);
  });
  it("reads RE2's meanings: . is not \\n only, \\s is ASCII space, (?P<name>) groups, code points", () => {
    expect(match('a.b', ['a\rb', 'a\nb', 'a😀b'])).toEqual([1, 0, 1]);
    expect(match('\\s', [' ', '\u00a0', '\v'])).toEqual([1, 0, 0]);
    expect(match('(?P<w>\\w+)-\\d', ['ab-1', 'ab-x'])).toEqual([1, 0]);
  });
  it('refuses what RE2 does not have or JavaScript reads otherwise', () => {
    for (const p of ['(?<=a)b', '(?=a)', '(a)\\1', '(?i)abc', '[[:alpha:]]', '\\pL', '\\Aab\\z', '[\\S]', 'a\\']) {
      expect(() => re2ToJs(p), p).toThrow(OpTypeError);
    }
    expect(() => regexOf('(')).toThrow(/not a valid pattern/);
  });
});

describe('cast with strings', () => {
  const cast = (x: TensorData, to: string) => run('cast', [x], { to })[0]!;
  it('reads plain and scientific notation and the special values in any case; integers truncate', () => {
    const y = cast(str([7], ['3.5', '-1e-5', '1E8', 'INF', '-inf', 'NaN', '+Inf']), 'f32');
    expect(Array.from(y.data)).toEqual([3.5, Math.fround(-1e-5), 1e8, Infinity, -Infinity, NaN, Infinity]);
    expect(Array.from(cast(str([2], ['100.5', '-7']), 'i32').data)).toEqual([100, -7]);
    expect(() => cast(str([1], ['Hello']), 'f32')).toThrow(/'Hello' is not a number/);
  });
  it("writes NumPy's str() of the value: shortest digits, positional or scientific", () => {
    const y = cast(tensorData('f32', [8], [0.1, 100, -0, 1e-5, 1.5e20, Infinity, NaN, 123456.7]), 'string');
    expect(stringsOf(y)).toEqual(['0.1', '100.0', '-0.0', '1e-05', '1.5e+20', 'inf', 'nan', '123456.7']);
    expect(stringsOf(cast(tensorData('i32', [2], [-3, 0]), 'string'))).toEqual(['-3', '0']);
    expect(numberText(0.1, 'f16')).toBe('0.1');
    expect(parseNumberText(' 2.5 ', 'x')).toBe(2.5);
  });
});

describe('equal on strings', () => {
  it('compares exactly, with broadcasting', () => {
    expect(Array.from(run('equal', [str([3], ['a', 'b', '']), str([1], ['a'])])[0]!.data)).toEqual([1, 0, 0]);
  });
  it('other numeric ops refuse string operands', () => {
    const g = new Graph('g');
    const x = g.addInput('x', { dtype: 'string', shape: [2], device: 'cpu' });
    expect(() => g.addNode('add', [x, x], {})).toThrow(/does not take string tensors/);
    expect(() => g.addNode('pad', [x], { pads: [1, 1] })).toThrow(/does not take string tensors/);
  });
  it('movement ops carry strings', () => {
    const [y] = run('transpose', [str([2, 2], ['a', 'b', 'c', 'd'])], { perm: [1, 0] });
    expect(stringsOf(y!)).toEqual(['a', 'c', 'b', 'd']);
    const [z] = run('concat', [str([1], ['x']), str([2], ['y', 'z'])], { axis: 0 });
    expect(stringsOf(z!)).toEqual(['x', 'y', 'z']);
  });
});
