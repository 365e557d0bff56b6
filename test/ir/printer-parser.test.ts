import { describe, it, expect } from 'vitest';
import type { Attrs } from '../../src/ir/attrs.js';
import { Graph } from '../../src/ir/graph.js';
import { defineOp } from '../../src/ir/ops/index.js';
import { OpTypeError } from '../../src/ir/errors.js';
import { toF16Array } from '../../src/ir/f16.js';
import { IRParseError, parseGraph } from '../../src/ir/parser.js';
import { graphWeights, printGraph } from '../../src/ir/printer.js';
import { tensorData, type TensorData } from '../../src/ir/tensor-data.js';
import type { DType, Device, Shape, TensorType } from '../../src/ir/types.js';
import { verify } from '../../src/ir/verify.js';
import { expectRoundTrip } from './roundtrip.js';

// Test-only ops (the registry is per test file): attribute kinds no real op has yet, and
// several results, so the text format covers them before real ops need them.
defineOp({
  name: 'test_attrs', kind: 'opaque', inputs: 1,
  attrs: {
    alpha: { kind: 'float', default: 1 },
    scales: { kind: 'floats', default: [] },
    mode: { kind: 'string', default: 'linear' },
    count: { kind: 'int' },
  },
  infer: ([x]) => [{ dtype: x!.dtype, shape: x!.shape }],
});
defineOp({
  name: 'test_split', kind: 'opaque', inputs: 1,
  infer: ([x]) => [{ dtype: x!.dtype, shape: x!.shape }, { dtype: x!.dtype, shape: x!.shape }],
});

const t = (dtype: DType, shape: Shape, device: Device = 'webgpu'): TensorType => ({ dtype, shape, device });

/** A const node on `device` holding `data`. */
function addConst(g: Graph, data: TensorData, name?: string, ref?: string, device: Device = 'webgpu') {
  const attrs: Attrs = ref === undefined ? { value: data } : { value: data, ref };
  return g.addNode('const', [], attrs, { device, names: name === undefined ? undefined : [name] }).output;
}

/** Deterministic pseudo-random f32 data. */
function f32Data(shape: Shape, seed = 1): TensorData {
  const n = shape.reduce((a, b) => a * b, 1);
  let s = seed;
  const values = Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31 - 0.5;
  });
  return tensorData('f32', shape, values);
}

function mlp(): Graph {
  const g = new Graph('mlp');
  const x = g.addInput('x', t('f32', [8, 64]));
  const w1 = addConst(g, f32Data([64, 32], 1), 'w1', 'fc1.weight');
  const b1 = addConst(g, f32Data([16], 2), 'b1');
  const w2 = addConst(g, f32Data([32, 16], 3), 'w2');
  const h = g.addNode('matmul', [x, w1]).output;
  const r = g.addNode('relu', [h]).output;
  const y = g.addNode('matmul', [r, w2]).output;
  const z = g.addNode('add', [y, b1]).output;
  const m = g.addNode('mean', [z], { axes: [1], keepdims: true }).output;
  g.setOutputs([z, m]);
  return g;
}

describe('round trip print -> parse -> print', () => {
  it('an MLP with elided weights (with and without a ref) and an inline bias', () => {
    const g = mlp();
    const text = printGraph(g);
    expect(text).toContain('%w1 = const() {ref = "fc1.weight"} : f32[64,32] @webgpu\n');
    expect(text).toContain('%w2 = const() {ref = "w2"} : f32[32,16] @webgpu\n');
    expect(text).toMatch(/%b1 = const\(\) \{value = \[-?0\.\d+, /);
    expect([...graphWeights(g).keys()]).toEqual(['fc1.weight', 'w2']);
    const again = expectRoundTrip(g);
    expect(again.nodes[0]!.attrs).toMatchObject({ ref: 'fc1.weight' });
  });

  it('every elementwise op, with broadcasting and integer dtypes', () => {
    const g = new Graph('elementwise');
    const a = g.addInput('a', t('f32', [2, 3]));
    const b = g.addInput('b', t('f32', [3]));
    const i = g.addInput('i', t('i32', [4, 1]));
    const j = g.addInput('j', t('i32', [1, 5]));
    const outs = ['add', 'sub', 'mul', 'div'].map((op) => g.addNode(op, [a, b]).output);
    const ints = ['add', 'sub', 'mul', 'div'].map((op) => g.addNode(op, [i, j]).output);
    const r = g.addNode('relu', [outs[3]!]).output;
    const n = g.addNode('neg', [ints[2]!]).output;
    g.setOutputs([...outs, r, n]);
    expectRoundTrip(g);
  });

  it('reductions with default, explicit and negative axes', () => {
    const g = new Graph('reduce');
    const x = g.addInput('x', t('f32', [2, 3, 4]));
    const all = g.addNode('sum', [x]).output;
    const last = g.addNode('mean', [x], { axes: [-1] }).output;
    const kept = g.addNode('sum', [x], { axes: [0, 2], keepdims: true }).output;
    g.setOutputs([all, last, kept]);
    const text = printGraph(g);
    expect(text).toContain('= sum(%x) : f32[] @webgpu'); // defaults are not printed
    expect(text).toContain('= sum(%x) {axes = [0, 2], keepdims = true} : f32[1,3,1] @webgpu');
    expectRoundTrip(g);
  });

  it('movement ops', () => {
    const g = new Graph('movement');
    const x = g.addInput('x', t('f16', [2, 3, 4]));
    const rev = g.addNode('transpose', [x]).output;
    const p = g.addNode('transpose', [x], { perm: [1, 0, 2] }).output;
    const r = g.addNode('reshape', [p], { shape: [-1, 4] }).output;
    const flat = g.addNode('reshape', [rev], { shape: [24] }).output;
    g.setOutputs([r, flat]);
    expect(printGraph(g)).toContain('reshape(%1) {shape = [-1, 4]} : f16[6,4] @webgpu');
    expectRoundTrip(g);
  });

  it('scalars and empty tensors', () => {
    const g = new Graph('scalars');
    const s = g.addInput('s', t('f32', []));
    const c = addConst(g, tensorData('f32', [], [3.5]), 'c');
    const e = addConst(g, tensorData('f32', [0, 3], []), 'e');
    const y = g.addNode('mul', [s, c]).output;
    const z = g.addNode('sum', [e], { axes: [0] }).output;
    g.setOutputs([y, z]);
    const text = printGraph(g);
    expect(text).toContain('%c = const() {value = [3.5]} : f32[] @webgpu');
    expect(text).toContain('%e = const() {value = []} : f32[0,3] @webgpu');
    expectRoundTrip(g);
  });

  it('devices by index: @webgpu:N round-trips, @webgpu:0 reads as @webgpu', () => {
    const text = `graph g(%x: f32[2] @webgpu:0) -> (f32[2] @webgpu:12) {
  %0 = transfer(%x) : f32[2] @webgpu:12
  return %0
}
`;
    const g = parseGraph(text);
    expect(g.outputs[0]!.type.device).toBe('webgpu:12');
    expect(printGraph(g)).toBe(text.replace('@webgpu:0', '@webgpu'));
    expectRoundTrip(g);
  });

  it('names that need quotes', () => {
    const g = new Graph('my model/v1');
    const x = g.addInput('/conv1/Conv_output_0', t('f32', [2]));
    const y = g.addInput('x:0', t('f32', [2]));
    const odd = g.addNode('add', [x, y], {}, { names: ['quote " backslash \\ tab \t é ☃'] }).output;
    const plain = g.addNode('neg', [odd], {}, { names: ['a.b_0'] }).output;
    const empty = g.addNode('relu', [plain], {}, { names: [''] }).output;
    g.setOutputs([empty]);
    const text = printGraph(g);
    expect(text.split('\n')[0]).toBe(
      'graph "my model/v1"(%"/conv1/Conv_output_0": f32[2] @webgpu, %"x:0": f32[2] @webgpu) -> (f32[2] @webgpu) {');
    expect(text).toContain('%"quote \\" backslash \\\\ tab \\t é ☃" = add(%"/conv1/Conv_output_0", %"x:0")');
    expect(text).toContain('%a.b_0 = neg(');
    expect(text).toContain('%"" = relu(%a.b_0)');
    const again = expectRoundTrip(g);
    expect(again.name).toBe('my model/v1');
    expect(again.nodes[0]!.outputs[0]!.name).toBe('quote " backslash \\ tab \t é ☃');
  });

  it.each(['graph', 'return', 'inf', 'nan', '9lives', 'a-b'])('graph name %s is quoted', (name) => {
    const g = new Graph(name);
    g.setOutputs([g.addInput('x', t('f32', [1]))]);
    expect(printGraph(g)).toMatch(/^graph "/);
    expect(expectRoundTrip(g).name).toBe(name);
  });

  it('float attributes in shortest round-trip form, with inf, -inf, nan and -0', () => {
    const g = new Graph('floats');
    const x = g.addInput('x', t('f32', [3]));
    const scales = [0.1, 1e21, 1e-7, -0, Infinity, -Infinity, NaN, 5e-324, 2 ** 53 + 2];
    const a = g.addNode('test_attrs', [x], { alpha: 0.30000000000000004, scales, mode: 'nearest', count: -7 }).output;
    const b = g.addNode('test_attrs', [a], { alpha: NaN, count: 0 }).output;
    const c = g.addNode('test_attrs', [b], { alpha: -0, count: 2, scales: [] }).output;
    g.setOutputs([c]);
    const text = printGraph(g);
    expect(text).toContain(
      '{alpha = 0.30000000000000004, count = -7, mode = "nearest", scales = [0.1, 1e+21, 1e-7, -0, inf, -inf, nan, 5e-324, 9007199254740994]}');
    expect(text).toContain('test_attrs(%0) {alpha = nan, count = 0} :');
    expect(text).toContain('test_attrs(%1) {alpha = -0, count = 2} :');
    const again = expectRoundTrip(g);
    expect(again.nodes[0]!.attrs.scales).toEqual(scales);
    expect(Object.is(again.nodes[2]!.attrs.alpha, -0)).toBe(true);
  });

  it('inline consts of every dtype', () => {
    const g = new Graph('consts');
    const f = addConst(g, tensorData('f32', [2, 3], [0.1, -0, Infinity, -Infinity, NaN, 1e-45]), 'f');
    const h = addConst(g, tensorData('f16', [6], toF16Array([0.1, -0, 65504, 2 ** -24, NaN, -Infinity])), 'h');
    const i = addConst(g, tensorData('i32', [3], [-(2 ** 31), 0, 2 ** 31 - 1]), 'i');
    const u = addConst(g, tensorData('u32', [2], [0, 2 ** 32 - 1]), 'u');
    const b = addConst(g, tensorData('bool', [2, 2], [1, 0, 0, 1]), 'b');
    g.setOutputs([f, h, i, u, b]);
    const text = printGraph(g);
    // Elements print as the shortest decimal that reads back to the same f32 / f16.
    expect(text).toContain('{value = [0.1, -0, inf, -inf, nan, 1e-45]} : f32[2,3]');
    expect(text).toContain('{value = [0.1, -0, 65500, 6e-8, nan, -inf]} : f16[6]');
    expect(text).toContain('{value = [-2147483648, 0, 2147483647]} : i32[3]');
    expect(text).toContain('{value = [0, 4294967295]} : u32[2]');
    expect(text).toContain('{value = [1, 0, 0, 1]} : bool[2,2]');
    expectRoundTrip(g);
    expectRoundTrip(g, { inlineLimit: 0 }); // the same consts elided
  });

  it('f16 literals are rounded to nearest-even when parsed', () => {
    const g = parseGraph('graph g() -> (f16[3] @webgpu) {\n  %c = const() {value = [0.1, 65520, 1.00048828125]} : f16[3] @webgpu\n  return %c\n}\n');
    expect([...(g.nodes[0]!.attrs.value as TensorData).data]).toEqual([0x2e66, 0x7c00, 0x3c00]);
  });

  it('cpu and webgpu values with transfers', () => {
    const g = new Graph('devices');
    const x = g.addInput('x', t('f32', [4], 'cpu'));
    const n = g.addInput('n', t('i32', [], 'cpu'));
    const up = g.addNode('transfer', [x], {}, { device: 'webgpu' }).output;
    const y = g.addNode('relu', [up]).output;
    const down = g.addNode('transfer', [y], {}, { device: 'cpu' }).output;
    const c = addConst(g, tensorData('f32', [4], [1, 2, 3, 4]), 'c', undefined, 'cpu');
    const z = g.addNode('add', [down, c]).output;
    g.setOutputs([z, n]);
    const text = printGraph(g);
    expect(text).toContain('%0 = transfer(%x) : f32[4] @webgpu');
    expect(text).toContain('%c = const() {value = [1, 2, 3, 4]} : f32[4] @cpu');
    expect(text).toContain(') -> (f32[4] @cpu, i32[] @cpu) {');
    expectRoundTrip(g);
  });

  it('several results per node', () => {
    const g = new Graph('split');
    const x = g.addInput('x', t('f32', [4]));
    const [a, b] = g.addNode('test_split', [x], {}, { names: ['a', 'b'] }).outputs;
    g.setOutputs([b!, a!]);
    expect(printGraph(g)).toContain('  %a, %b = test_split(%x) : f32[4] @webgpu, f32[4] @webgpu\n  return %b, %a\n}\n');
    expectRoundTrip(g);
  });

  it('a graph with no inputs, or returning nothing', () => {
    const g = new Graph('empty');
    expect(printGraph(g)).toBe('graph empty() -> () {\n  return\n}\n');
    expect(printGraph(parseGraph(printGraph(g)))).toBe(printGraph(g));
  });
});

describe('weights', () => {
  it('inlineLimit decides which consts are elided', () => {
    const g = mlp();
    expect(printGraph(g, { inlineLimit: 10_000 })).not.toContain('ref = "w2"');
    expect(graphWeights(g, { inlineLimit: 10_000 }).size).toBe(0);
    expect([...graphWeights(g, { inlineLimit: 15 }).keys()]).toEqual(['fc1.weight', 'b1', 'w2']);
    expectRoundTrip(g, { inlineLimit: 15 });
  });

  it('a ref without weights stays a data-less const, and takes weights from a function later', () => {
    const text = printGraph(mlp());
    const bare = parseGraph(text);
    expect(bare.nodes[0]!.attrs).toEqual({ ref: 'fc1.weight' });
    verify(bare);
    expect(printGraph(bare)).toBe(text);
    const w = graphWeights(mlp());
    const loaded = parseGraph(text, { weights: (ref) => w.get(ref) });
    expect(loaded.nodes[0]!.attrs.value).toBe(w.get('fc1.weight'));
  });

  it('two different tensors printed under one ref name get distinct names', () => {
    const g = new Graph('tied');
    const a = addConst(g, f32Data([20], 1), 'a', 'w');
    const b = addConst(g, f32Data([20], 2), 'b', 'w');
    const c = addConst(g, a.producer!.attrs.value as TensorData, 'c', 'w'); // same tensor: shares the name
    g.setOutputs([a, b, c]);
    expect([...graphWeights(g).keys()]).toEqual(['w', 'w#2']);
    expect(printGraph(g)).toContain('%c = const() {ref = "w"}');
    expectRoundTrip(g);
  });

  it('weights of the wrong shape are an error at the ref', () => {
    const text = 'graph g() -> (f32[4] @webgpu) {\n  %w = const() {ref = "w"} : f32[4] @webgpu\n  return %w\n}\n';
    const weights = new Map([['w', f32Data([5])]]);
    expect(() => parseGraph(text, { weights })).toThrow('line 2:17: expected weight "w" to be f32[4] as declared, but the weights hold f32[5]');
  });
});

describe('golden text', () => {
  const golden = `graph mlp(%x: f32[8,784] @webgpu, %n: i32[] @cpu) -> (f32[8,128] @webgpu, f32[8,1] @cpu) {
  %w1 = const() {ref = "fc1.weight"} : f32[784,128] @webgpu
  %c = const() {value = [1, 2.5, -3]} : f32[3] @webgpu
  %0 = matmul(%x, %w1) : f32[8,128] @webgpu
  %1 = sum(%0) {axes = [1], keepdims = true} : f32[8,1] @webgpu
  %2 = transfer(%1) : f32[8,1] @cpu
  %"/head/out:0" = reshape(%c) {shape = [3, 1]} : f32[3,1] @webgpu
  %3 = mul(%"/head/out:0", %c) : f32[3,3] @webgpu
  return %0, %2
}
`;

  it('parses, verifies and prints back exactly', () => {
    const g = parseGraph(golden);
    verify(g);
    expect(printGraph(g)).toBe(golden);
    expect(g.nodes.map((n) => n.op)).toEqual(['const', 'const', 'matmul', 'sum', 'transfer', 'reshape', 'mul']);
    expect(g.outputs.map((v) => v.name)).toEqual(['0', '2']);
  });

  it('ignores comments and spacing, fills defaults, and prints canonically', () => {
    const messy = `// an MLP head
graph   mlp ( %x : f32[ 8 , 784 ] @webgpu ,%n: i32[] @cpu )->( f32[8,128] @webgpu, f32[8,1] @cpu ) { // header
  %w1 = const ( ) { ref = "fc1.weight" } : f32[784,128] @webgpu
  %c = const() {value = [1.0, 2.50, -3e0]} : f32[3] @webgpu // trailing
  %0 = matmul(%x, %w1) : f32[8,128] @webgpu
  %1 = sum(%0) {keepdims = true, axes = [1]} : f32[8,1] @webgpu
  %2 = transfer(%1) : f32[8,1] @cpu
  %"/head/out:0" = reshape(%c) {shape = [3,1]} : f32[3,1] @webgpu
  %3 = mul(%"/head/out:0", %c) : f32[3,3] @webgpu
  return %0, %2 }`;
    const g = parseGraph(messy);
    expect(printGraph(g)).toBe(golden);
    expect(g.nodes[3]!.attrs).toEqual({ axes: [1], keepdims: true });
    // Attributes spelled out at their defaults parse, and print omitted.
    const explicit = golden.replace('%0 = matmul(%x, %w1) : f32[8,128] @webgpu', '%0 = matmul(%x, %w1) : f32[8,128] @webgpu\n  %s = sum(%0) {axes = [], keepdims = false} : f32[] @webgpu');
    expect(printGraph(parseGraph(explicit))).toBe(explicit.replace(' {axes = [], keepdims = false}', ''));
  });
});

describe('parse errors', () => {
  const header = 'graph g(%x: f32[2,3] @webgpu) -> (f32[2,3] @webgpu) {\n';
  const body = (lines: string) => `${header}${lines}\n  return %x\n}\n`;

  it.each([
    ['missing paren', 'graph g(%x: f32[2] @webgpu -> (f32[2] @webgpu) {\n  return %x\n}\n', 1, 28, "expected ')' but found '->'"],
    ['attribute block in place of a paren', body('  %0 = neg(%x {axes = [1]} : f32[2,3] @webgpu'), 2, 15, "expected ')' but found '{'"],
    ['bad dtype', body('  %0 = neg(%x) : f64[2,3] @webgpu'), 2, 18, "expected a dtype (f32, f16, i32, u32, bool, string) but found 'f64'"],
    ['bad device', body('  %0 = neg(%x) : f32[2,3] @gpu'), 2, 27, "expected a device (@webgpu, @webgpu:N or @cpu) but found '@gpu'"],
    ['device index with a leading zero', body('  %0 = neg(%x) : f32[2,3] @webgpu:01'), 2, 27, "expected a device (@webgpu, @webgpu:N or @cpu) but found '@webgpu:01'"],
    ['missing device', body('  %0 = neg(%x) : f32[2,3]'), 3, 3, "expected a device (@webgpu, @webgpu:N or @cpu) but found 'return'"],
    ['unknown value', body('  %0 = add(%x, %foo) : f32[2,3] @webgpu'), 2, 16, '%foo is not defined above'],
    ['use before definition', body('  %0 = neg(%1) : f32[2,3] @webgpu\n  %1 = neg(%x) : f32[2,3] @webgpu'), 2, 12, '%1 is not defined above'],
    ['unknown op', body('  %0 = frobnicate(%x) : f32[2,3] @webgpu'), 2, 8, "unknown op 'frobnicate' (known ops:"],
    ['wrong declared shape', body('  %0 = sum(%x) {axes = [0]} : f32[2] @webgpu'), 2, 31, 'result 0 is declared f32[2] @webgpu but the op gives f32[3] @webgpu'],
    ['operand types the op rejects', body('  %0 = matmul(%x, %x) : f32[2,2] @webgpu'), 2, 8, 'inner dimensions differ'],
    ['missing required attribute', body('  %0 = reshape(%x) : f32[6] @webgpu'), 2, 8, "reshape needs the attribute 'shape' (ints)"],
    ['wrong number of results', body('  %a, %b = neg(%x) : f32[2,3] @webgpu, f32[2,3] @webgpu'), 2, 12, 'declares 2 results but the op has 1'],
    ['wrong number of operands', body('  %0 = neg(%x, %x) : f32[2,3] @webgpu'), 2, 8, 'takes 1 input, got 2'],
    ['type missing after the colon', body('  %0 = neg(%x) :'), 3, 3, "expected a type (such as f32[2,3] @webgpu) but found 'return'"],
    ['duplicate name', body('  %0 = neg(%x) : f32[2,3] @webgpu\n  %0 = relu(%x) : f32[2,3] @webgpu'), 3, 3, '%0 is defined twice: it was already defined at line 2:3'],
    ['duplicate name of an input', body('  %x = neg(%x) : f32[2,3] @webgpu'), 2, 3, '%x is defined twice: it was already defined at line 1:9'],
    ['unterminated string', body('  %0 = const() {ref = "w} : f32[2] @webgpu'), 2, 23, "unterminated string: expected a closing '\"'"],
    ['unterminated quoted name', body('  %"a = neg(%x) : f32[2,3] @webgpu'), 2, 3, 'unterminated string'],
    ['bad string escape', body('  %0 = const() {ref = "a\\q"} : f32[2] @webgpu'), 2, 23, 'invalid string "a\\q"'],
    ['unknown attribute', body('  %0 = sum(%x) {axis = [1]} : f32[2] @webgpu'), 2, 17, "sum has no attribute 'axis' (it has: axes, keepdims)"],
    ['attribute of the wrong kind', body('  %0 = sum(%x) {axes = 1} : f32[2] @webgpu'), 2, 17, "sum attribute 'axes' must be ints, got 1"],
    ['attribute given twice', body('  %0 = sum(%x) {axes = [1], axes = [0]} : f32[2] @webgpu'), 2, 29, "attribute 'axes' is given twice"],
    ['bad attribute value', body('  %0 = sum(%x) {keepdims = yes} : f32[2,3] @webgpu'), 2, 28, "expected an attribute value (a number, a string, true, false or a [list]) but found 'yes'"],
    ['missing attribute value', body('  %0 = sum(%x) {keepdims = } : f32[2,3] @webgpu'), 2, 28, "expected an attribute value (a number, a string, true, false, a [list] or a graph) but found '}'"],
    ['const with too few elements', body('  %c = const() {value = [1, 2]} : f32[3] @webgpu'), 2, 25, 'expected 3 elements for f32[3] but found 2'],
    ['const element out of range', body('  %c = const() {value = [1, 2.5]} : i32[2] @webgpu'), 2, 29, "expected an integer in [-2^31, 2^31) for a i32 element but found '2.5'"],
    ['negative dimension', body('  %0 = neg(%x) : f32[-2,3] @webgpu'), 2, 22, "expected a dimension (a non-negative integer) but found '-2'"],
    ['return type mismatch', `graph g(%x: f32[2,3] @webgpu) -> (f32[3,2] @webgpu) {\n  return %x\n}\n`, 2, 10, 'expected result 0 to be f32[3,2] @webgpu as the header declares, but %x is f32[2,3] @webgpu'],
    ['return count mismatch', `graph g(%x: f32[2,3] @webgpu) -> () {\n  return %x\n}\n`, 2, 3, 'expected 0 return values as the header declares, but found 1'],
    ['garbage character', body('  %0 = neg(%x) : f32[2,3] @webgpu $'), 2, 35, "unexpected character '$'"],
    ['stray % sign', body('  %0 = neg(% x) : f32[2,3] @webgpu'), 2, 12, "expected a value name after '%'"],
    ['missing return', `${header}  %0 = neg(%x) : f32[2,3] @webgpu\n}\n`, 3, 1, "expected a node (%name = op(...) : type) or 'return' but found '}'"],
    ['text ends early', `${header}  return %x\n`, 2, 12, "expected '}' but found the end of the input"],
    ['text after the graph', `${body('')}graph h() -> () {}`, 5, 1, "expected the end of the input after the graph's '}' but found 'graph'"],
    ['no graph keyword', 'grph g() -> () {\n  return\n}\n', 1, 1, "expected 'graph' but found 'grph'"],
    ['trailing comma in a list', body('  %0 = sum(%x) {axes = [1,]} : f32[2] @webgpu'), 2, 27, "expected a number or a string but found ']'"],
  ])('%s', (_, text, line, column, message) => {
    let caught: unknown;
    try {
      parseGraph(text);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(IRParseError);
    const e = caught as IRParseError;
    expect({ line: e.line, column: e.column }).toEqual({ line, column });
    expect(e.message.startsWith(`line ${line}:${column}: `)).toBe(true);
    expect(e.message).toContain(message);
  });

  it('IRParseError is a KilnError, never the OpTypeError it came from', () => {
    const text = `${header}  %0 = matmul(%x, %x) : f32[2,2] @webgpu\n  return %x\n}\n`;
    expect(() => parseGraph(text)).toThrow(IRParseError);
    try {
      parseGraph(text);
    } catch (e) {
      expect(e).not.toBeInstanceOf(OpTypeError);
      expect((e as Error).name).toBe('IRParseError');
    }
  });
});
