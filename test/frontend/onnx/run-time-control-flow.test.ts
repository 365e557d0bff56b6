// If and Loop whose condition or trip count is a graph input: compiled once, without freezing
// those inputs, and run on the adapter for several values of them. Each answer is checked
// against the ONNX semantics computed here in float64, and against ONNX Runtime.
import { describe, expect, it } from 'vitest';
import { attr, buildModel, node, OnnxType, subgraph, type NodeInit } from './onnx-builder.js';
import { runOrt } from './ort-oracle.js';
import { importOnnx, UnsupportedOnnxError } from '../../../src/frontend/onnx/index.js';
import { compileSegmented } from '../../../src/compiler.js';
import type { Graph } from '../../../src/ir/graph.js';
import { printGraph } from '../../../src/ir/printer.js';
import { tensorData, type TensorData } from '../../../src/ir/tensor-data.js';
import { runOnCpu } from '../../../src/runtime/cpu/executor.js';
import { SegmentedSession } from '../../../src/runtime/segmented.js';
import { useGpu } from '../../helpers/gpu.js';
import { expectRoundTrip } from '../../ir/roundtrip.js';

const F = OnnxType.FLOAT;
const I64 = OnnxType.INT64;
const BOOL = OnnxType.BOOL;

const vi = (name: string, type: number = F, dims?: number[]) => ({
  name, type: { tensor_type: { elem_type: type, ...(dims ? { shape: { dim: dims.map((d) => ({ dim_value: d })) } } : {}) } },
});

/** A subgraph with declared inputs and typed outputs. */
function graphAttr(nodes: NodeInit[], inputs: object[], outputs: [string, number][]): object {
  return { ...subgraph('body', nodes, []), input: inputs, output: outputs.map(([o, t]) => vi(o, t)) };
}

interface Expected { readonly shape: readonly number[]; readonly values: readonly number[] }

/** Expects `got` to hold `want` (f32 rounding allowed) and to agree with ONNX Runtime's output. */
function expectClose(got: TensorData, want: Expected, ort: { dims: number[]; values: number[] }, what: string): void {
  expect([...got.shape], `${what} shape`).toEqual(want.shape);
  expect(ort.dims, `${what} shape (ONNX Runtime)`).toEqual(want.shape);
  const values = Array.from(got.data as ArrayLike<number>);
  want.values.forEach((w, i) => {
    expect(Math.abs(values[i]! - w), `${what}[${i}]: kiln ${values[i]}, spec ${w}`).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(w)));
    expect(Math.abs(ort.values[i]! - w), `${what}[${i}]: ONNX Runtime ${ort.values[i]}, spec ${w}`).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(w)));
  });
}

/** Compiles `graph` once and runs it on the adapter for each feed; also checks the CPU reference agrees. */
async function runEach(gpu: Parameters<typeof SegmentedSession.create>[0], graph: Graph, feeds: readonly Record<string, TensorData>[]): Promise<Record<string, TensorData>[]> {
  const session = await SegmentedSession.create(gpu, compileSegmented(graph));
  try {
    const out: Record<string, TensorData>[] = [];
    for (const f of feeds) {
      const got = await session.run(f);
      const ref = runOnCpu(graph, f);
      for (const [name, t] of Object.entries(ref)) expect([...got[name]!.shape], `${name}: adapter vs CPU reference`).toEqual([...t.shape]);
      out.push(got);
    }
    return out;
  } finally {
    session.destroy();
  }
}

const X = [1.5, -2, 0.25];

describe('If with a condition known only at run time', () => {
  const gpu = useGpu();

  it('branches of the same types: both computed on the adapter, where() keeps the picked one', async () => {
    // then: x * 2; else: x - y (y read from the enclosing graph).
    const bytes = buildModel({
      opset: 16, inputs: [{ name: 'c', type: BOOL, dims: [] }, { name: 'x', dims: [3] }, { name: 'y', dims: [3] }], outputs: [{ name: 'z' }],
      initializers: [{ name: 'two', data_type: F, dims: [], float_data: [2] }],
      nodes: [node('If', ['c'], ['z'], {
        then_branch: attr.g(graphAttr([node('Mul', ['x', 'two'], ['t'])], [], [['t', F]])),
        else_branch: attr.g(graphAttr([node('Sub', ['x', 'y'], ['e'])], [], [['e', F]])),
      })],
    });
    const graph = importOnnx(bytes);
    expect(graph.inputs.map((v) => v.name)).toEqual(['c', 'x', 'y']);
    expect(graph.nodes.map((n) => n.op)).toContain('where');
    expectRoundTrip(graph);
    const y = [4, 0.5, -1];
    const feeds = [1, 0].map((c) => ({ c: tensorData('bool', [], [c]), x: tensorData('f32', [3], X), y: tensorData('f32', [3], y) }));
    const got = await runEach(gpu(), graph, feeds);
    for (const [k, c] of [1, 0].entries()) {
      const want = X.map((x, i) => (c ? x * 2 : x - y[i]!));
      const [ort] = await runOrt(bytes, feeds[k]!, { c: BOOL });
      expectClose(got[k]!.z!, { shape: [3], values: want }, ort!, `z (c=${c})`);
    }
  });

  it('branches of different extents: the if op runs the picked branch and binds the extent', async () => {
    // then: x (3 elements); else: concat(x, x * x) (6 elements); then both + 1 on the adapter.
    const bytes = buildModel({
      opset: 16, inputs: [{ name: 'c', type: BOOL, dims: [] }, { name: 'x', dims: [3] }], outputs: [{ name: 'z' }],
      initializers: [{ name: 'one', data_type: F, dims: [], float_data: [1] }],
      nodes: [
        node('If', ['c'], ['r'], {
          then_branch: attr.g(graphAttr([node('Identity', ['x'], ['t'])], [], [['t', F]])),
          else_branch: attr.g(graphAttr([node('Mul', ['x', 'x'], ['sq']), node('Concat', ['x', 'sq'], ['e'], { axis: attr.i(0) })], [], [['e', F]])),
        }),
        node('Add', ['r', 'one'], ['z']),
      ],
    });
    const graph = importOnnx(bytes);
    expect(graph.nodes.map((n) => n.op)).toContain('if');
    expect(printGraph(graph)).toMatch(/sizes\(if_\d+_0_0: \[3, 6\]\)/);
    expectRoundTrip(graph);
    const feeds = [1, 0].map((c) => ({ c: tensorData('bool', [], [c]), x: tensorData('f32', [3], X) }));
    const got = await runEach(gpu(), graph, feeds);
    for (const [k, c] of [1, 0].entries()) {
      const picked = c ? X : [...X, ...X.map((x) => x * x)];
      const [ort] = await runOrt(bytes, feeds[k]!, { c: BOOL });
      expectClose(got[k]!.z!, { shape: [picked.length], values: picked.map((v) => v + 1) }, ort!, `z (c=${c})`);
    }
  });

  it('refuses branches whose outputs differ in rank, clearly', () => {
    const bytes = buildModel({
      opset: 16, inputs: [{ name: 'c', type: BOOL, dims: [] }, { name: 'x', dims: [3] }], outputs: [{ name: 'r' }],
      initializers: [{ name: 'shape', data_type: I64, dims: [2], int64_data: [1, 3] }],
      nodes: [node('If', ['c'], ['r'], {
        then_branch: attr.g(graphAttr([node('Identity', ['x'], ['t'])], [], [['t', F]])),
        else_branch: attr.g(graphAttr([node('Reshape', ['x', 'shape'], ['e'])], [], [['e', F]])),
      })],
    });
    expect(() => importOnnx(bytes)).toThrow(UnsupportedOnnxError);
    expect(() => importOnnx(bytes)).toThrow(/differ in extents only/);
  });
});

describe('Loop with a trip count or condition known only at run time', () => {
  const gpu = useGpu();

  // y_{i+1} = y_i * 0.5 + x * i (as float); scan output y_{i+1}; then y * 3 on the adapter.
  const tripLoop = buildModel({
    opset: 16, inputs: [{ name: 'M', type: I64, dims: [] }, { name: 'y0', dims: [3] }, { name: 'x', dims: [3] }], outputs: [{ name: 'y' }, { name: 'ys' }, { name: 'y3' }],
    initializers: [{ name: 'half', data_type: F, dims: [], float_data: [0.5] }, { name: 'three', data_type: F, dims: [], float_data: [3] }],
    nodes: [
      node('Loop', ['M', '', 'y0'], ['y', 'ys'], {
        body: attr.g(graphAttr([
          node('Cast', ['i'], ['fi'], { to: attr.i(F) }), node('Mul', ['yi', 'half'], ['h']), node('Mul', ['x', 'fi'], ['xi']),
          node('Add', ['h', 'xi'], ['yo']), node('Identity', ['yo'], ['so']), node('Identity', ['ci'], ['co']),
        ], [vi('i', I64, []), vi('ci', BOOL, []), vi('yi', F, [3])], [['co', BOOL], ['yo', F], ['so', F]])),
      }),
      node('Mul', ['y', 'three'], ['y3']),
    ],
  });

  it('a trip count that is a graph input: run with 0, 1 and 5 from one compiled program', async () => {
    const graph = importOnnx(tripLoop);
    expect(graph.inputs.map((v) => v.name)).toEqual(['M', 'y0', 'x']);
    expect(graph.nodes.map((n) => n.op)).toContain('loop');
    expectRoundTrip(graph);
    const y0 = [1, 2, -4];
    const trips = [0, 1, 5];
    const feeds = trips.map((m) => ({ M: tensorData('i32', [], [m]), y0: tensorData('f32', [3], y0), x: tensorData('f32', [3], X) }));
    const got = await runEach(gpu(), graph, feeds);
    for (const [k, m] of trips.entries()) {
      let y = y0;
      const ys: number[] = [];
      for (let i = 0; i < m; i++) {
        y = y.map((v, j) => v * 0.5 + X[j]! * i);
        ys.push(...y);
      }
      const ort = await runOrt(tripLoop, feeds[k]!, { M: I64 });
      expectClose(got[k]!.y!, { shape: [3], values: y }, ort[0]!, `y (M=${m})`);
      expectClose(got[k]!.ys!, { shape: [m, 3], values: ys }, ort[1]!, `ys (M=${m})`);
      expectClose(got[k]!.y3!, { shape: [3], values: y.map((v) => v * 3) }, ort[2]!, `y3 (M=${m})`);
    }
  });

  // s_{i+1} = s_i + x + i; goes on while s_{i+1} < t; scan output s_{i+1}. No trip count, or
  // int64's largest (as exporters write `while` loops). The body reads `x`, `t` and `one` from the enclosing graph.
  it.each([['no trip count', undefined], ["int64's largest trip count", 2n ** 63n - 1n]])('a condition computed at run time (%s): sums x while the sum stays below a threshold', async (_, trips) => {
    const model = buildModel({
      opset: 16, inputs: [{ name: 'x', dims: [] }, { name: 't', dims: [] }], outputs: [{ name: 's' }, { name: 'ss' }, { name: 'n' }],
      initializers: [
        { name: 'zero', data_type: F, dims: [], float_data: [0] }, { name: 'yes', data_type: BOOL, dims: [], int32_data: [1] },
        { name: 'one', data_type: I64, dims: [], int64_data: [1] },
        ...(trips !== undefined ? [{ name: 'M', data_type: I64, dims: [], raw_data: new Uint8Array(new BigInt64Array([trips]).buffer) }] : []),
      ],
      nodes: [node('Loop', [trips !== undefined ? 'M' : '', 'yes', 'zero', 'zero'], ['s', 'n', 'ss'], {
        body: attr.g(graphAttr([
          node('Cast', ['i'], ['fi'], { to: attr.i(F) }), node('Add', ['si', 'x'], ['a']), node('Add', ['a', 'fi'], ['so']),
          node('Less', ['so', 't'], ['co']), node('Add', ['i', 'one'], ['i1']), node('Cast', ['i1'], ['no'], { to: attr.i(F) }),
          node('Identity', ['so'], ['scan']),
        ], [vi('i', I64, []), vi('ci', BOOL, []), vi('si', F, []), vi('ni', F, [])], [['co', BOOL], ['so', F], ['no', F], ['scan', F]])),
      })],
    });
    const graph = importOnnx(model);
    expect(graph.inputs.map((v) => v.name)).toEqual(['x', 't']);
    expectRoundTrip(graph);
    const cases = [[1, 10], [2.5, 2], [0.5, 100]] as const;
    const feeds = cases.map(([x, t]) => ({ x: tensorData('f32', [], [x]), t: tensorData('f32', [], [t]) }));
    const got = await runEach(gpu(), graph, feeds);
    for (const [k, [x, t]] of cases.entries()) {
      // ONNX: the body runs once before the condition it gives is checked.
      let s = 0;
      let n = 0;
      const ss: number[] = [];
      for (let i = 0; ; i++) {
        s = s + x + i;
        n = i + 1;
        ss.push(s);
        if (!(s < t)) break;
      }
      const ort = await runOrt(model, feeds[k]!);
      expectClose(got[k]!.s!, { shape: [], values: [s] }, ort[0]!, `s (x=${x}, t=${t})`);
      expectClose(got[k]!.ss!, { shape: [ss.length], values: ss }, ort[1]!, `ss (x=${x}, t=${t})`);
      expectClose(got[k]!.n!, { shape: [], values: [n] }, ort[2]!, `n (x=${x}, t=${t})`);
    }
  });

  it('refuses a body that changes a carried value\'s shape, clearly', () => {
    const bytes = buildModel({
      opset: 16, inputs: [{ name: 'M', type: I64, dims: [] }, { name: 'y0', dims: [2] }], outputs: [{ name: 'y' }],
      nodes: [node('Loop', ['M', '', 'y0'], ['y'], {
        body: attr.g(graphAttr([node('Concat', ['yi', 'yi'], ['yo'], { axis: attr.i(0) }), node('Identity', ['ci'], ['co'])],
          [vi('i', I64, []), vi('ci', BOOL, []), vi('yi', F)], [['co', BOOL], ['yo', F]])),
      })],
    });
    expect(() => importOnnx(bytes)).toThrow(UnsupportedOnnxError);
    expect(() => importOnnx(bytes)).toThrow(/changes loop-carried value 0 \('yi'\) from f32\[2\] to f32\[4\]/);
  });

  it('a constant trip count past what kiln unrolls runs as the loop op', () => {
    const bytes = buildModel({
      opset: 16, inputs: [{ name: 'y0', dims: [1] }], outputs: [{ name: 'y' }],
      initializers: [{ name: 'M', data_type: I64, dims: [], int64_data: [5000] }, { name: 'step', data_type: F, dims: [], float_data: [0.5] }],
      nodes: [node('Loop', ['M', '', 'y0'], ['y'], {
        body: attr.g(graphAttr([node('Add', ['yi', 'step'], ['yo']), node('Identity', ['ci'], ['co'])],
          [vi('i', I64, []), vi('ci', BOOL, []), vi('yi', F, [1])], [['co', BOOL], ['yo', F]])),
      })],
    });
    const graph = importOnnx(bytes);
    expect(graph.nodes.map((n) => n.op)).toContain('loop');
    expect(Array.from(runOnCpu(graph, { y0: tensorData('f32', [1], [1]) }).y!.data)).toEqual([2501]);
  });
});
