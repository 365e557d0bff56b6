// The loop and if ops in IR text: they print and parse (bodies included), type-check their
// subgraphs, and the CPU reference runs them with ONNX's semantics (the condition checked before
// each iteration, trip count and condition absent or zero, scan outputs of no slice).
import { describe, expect, it } from 'vitest';
import { parseGraph } from '../../../src/ir/parser.js';
import { printGraph } from '../../../src/ir/printer.js';
import { tensorData, type TensorData } from '../../../src/ir/tensor-data.js';
import { runOnCpu } from '../../../src/runtime/cpu/executor.js';
import { expectRoundTrip } from '../../ir/roundtrip.js';

const values = (t: TensorData) => Array.from(t.data as ArrayLike<number>);

// x_{i+1} = x_i * k + i, while i < the trip count and the body's condition (i < 1.5) held after
// the last iteration; scan output: each x_{i+1}. k is read from outside the loop.
const loopText = (maxTrips: number) => `graph g(%m: i32[] @cpu, %c: bool[] @cpu, %x: f32[2] @cpu, %k: f32[] @cpu) -> (f32[2] @cpu, f32[T,2] @cpu) sizes(T: [0, ${maxTrips}]) {
  %y, %ys = loop(%m, %c, %x, %k) {body = graph body(%i: i32[] @cpu, %ci: bool[] @cpu, %xi: f32[2] @cpu, %ki: f32[] @cpu) -> (bool[] @cpu, f32[2] @cpu, f32[2] @cpu) {
      %fi = cast(%i) {to = "f32"} : f32[] @cpu
      %a = mul(%xi, %ki) : f32[2] @cpu
      %xo = add(%a, %fi) : f32[2] @cpu
      %lim = const() {value = [1.5]} : f32[] @cpu
      %co = less(%fi, %lim) : bool[] @cpu
      return %co, %xo, %xo
    }, carried = 1, max_trips = ${maxTrips}, size = "T"} : f32[2] @cpu, f32[T,2] @cpu
  return %y, %ys
}
`;

const feeds = (m: number, c: number) => ({
  m: tensorData('i32', [], [m]), c: tensorData('bool', [], [c]), x: tensorData('f32', [2], [1, 2]), k: tensorData('f32', [], [2]),
});

describe('the loop op', () => {
  const g = parseGraph(loopText(8));

  it('prints and parses with its body', () => {
    expectRoundTrip(g);
    expect(printGraph(g)).toContain('loop(%m, %c, %x, %k) {body = graph body(');
  });

  it('runs until the trip count or the condition stops it, checked before each iteration', () => {
    // Iterations: [2, 4], [5, 9], [12, 20]; the third gives condition false (2 < 1.5 fails).
    const cases: [number, number, number[], number[]][] = [
      [5, 1, [12, 20], [2, 4, 5, 9, 12, 20]],
      [2, 1, [5, 9], [2, 4, 5, 9]],
      [1, 1, [2, 4], [2, 4]],
      [0, 1, [1, 2], []],
      [5, 0, [1, 2], []],
    ];
    for (const [m, c, y, ys] of cases) {
      const out = runOnCpu(g, feeds(m, c));
      expect(values(out.y!), `y (m=${m}, c=${c})`).toEqual(y);
      expect(out.ys!.shape, `ys shape (m=${m}, c=${c})`).toEqual([ys.length / 2, 2]);
      expect(values(out.ys!)).toEqual(ys);
    }
  });

  it('keeps a large constant of its body through the IR text (nested graphs print constants inline)', () => {
    const w = Array.from({ length: 20 }, (_, i) => i / 4);
    const big = parseGraph(`graph g(%m: i32[] @cpu, %c: bool[] @cpu, %x: f32[20] @cpu) -> (f32[20] @cpu) {
  %y = loop(%m, %c, %x) {body = graph body(%i: i32[] @cpu, %ci: bool[] @cpu, %xi: f32[20] @cpu) -> (bool[] @cpu, f32[20] @cpu) {
      %w = const() {value = [${w.join(', ')}]} : f32[20] @cpu
      %xo = add(%xi, %w) : f32[20] @cpu
      return %ci, %xo
    }, carried = 1, max_trips = 0} : f32[20] @cpu
  return %y
}
`);
    const again = parseGraph(printGraph(big));
    const x = tensorData('f32', [20], new Array<number>(20).fill(1));
    const run = (g: typeof big) => values(runOnCpu(g, { m: tensorData('i32', [], [3]), c: tensorData('bool', [], [1]), x }).y!);
    expect(run(again)).toEqual(w.map((v) => 1 + 3 * v));
    expect(run(again)).toEqual(run(big));
  });

  it('refuses to run past the iterations its scan outputs are sized for', () => {
    expect(() => runOnCpu(parseGraph(loopText(2)), feeds(5, 1))).toThrow(/sized for at most 2 iterations/);
  });

  it('refuses a body that changes a carried value\'s type', () => {
    const text = `graph g(%m: i32[] @cpu, %c: bool[] @cpu, %x: f32[2] @cpu) -> (f32[2] @cpu) {
  %y = loop(%m, %c, %x) {body = graph body(%i: i32[] @cpu, %ci: bool[] @cpu, %xi: f32[2] @cpu) -> (bool[] @cpu, f32[4] @cpu) {
      %xo = concat(%xi, %xi) {axis = 0} : f32[4] @cpu
      return %ci, %xo
    }, carried = 1, max_trips = 4} : f32[2] @cpu
  return %y
}
`;
    expect(() => parseGraph(text)).toThrow(/changes carried value 0 from f32\[2\] to f32\[4\]/);
  });
});

describe('the if op', () => {
  // then: -x (3 elements); else: a constant of 2; the extent they disagree on is N_0_0.
  const g = parseGraph(`graph g(%c: bool[] @cpu, %x: f32[3] @cpu) -> (f32[N_0_0] @cpu) sizes(N_0_0: [2, 3]) {
  %r = if(%c, %x) {else_branch = graph e(%xe: f32[3] @cpu) -> (f32[2] @cpu) {
      %k = const() {value = [7, 8]} : f32[2] @cpu
      return %k
    }, size = "N", then_branch = graph t(%xt: f32[3] @cpu) -> (f32[3] @cpu) {
      %n = neg(%xt) : f32[3] @cpu
      return %n
    }} : f32[N_0_0] @cpu
  return %r
}
`);

  it('prints and parses with its branches', () => expectRoundTrip(g));

  it('runs only the branch its condition picks, and binds the extent from it', () => {
    const x = tensorData('f32', [3], [1, -2, 0.5]);
    expect(values(runOnCpu(g, { c: tensorData('bool', [], [1]), x }).r!)).toEqual([-1, 2, -0.5]);
    expect(values(runOnCpu(g, { c: tensorData('bool', [], [0]), x }).r!)).toEqual([7, 8]);
  });

  it('refuses branches whose results differ in rank', () => {
    expect(() => parseGraph(`graph g(%c: bool[] @cpu, %x: f32[3] @cpu) -> (f32[3] @cpu) {
  %r = if(%c, %x) {else_branch = graph e(%xe: f32[3] @cpu) -> (f32[1,3] @cpu) {
      %u = unsqueeze(%xe) {axes = [0]} : f32[1,3] @cpu
      return %u
    }, then_branch = graph t(%xt: f32[3] @cpu) -> (f32[3] @cpu) {
      return %xt
    }} : f32[3] @cpu
  return %r
}
`)).toThrow(/result 0 is f32\[3\] @cpu in then_branch but f32\[1,3\] @cpu in else_branch/);
  });
});
