// ONNX Runtime as the oracle for import semantics: the same model bytes run there and through
// kiln's importer on the CPU reference, and the results must agree.
import * as ort from 'onnxruntime-node';
import { expect } from 'vitest';
import { importOnnx, type OnnxImportOptions } from '../../../src/frontend/onnx/index.js';
import { Random } from '../../../src/frontend/torch/random.js';
import type { Graph } from '../../../src/ir/graph.js';
import { tensorData, type TensorData } from '../../../src/ir/tensor-data.js';
import { numel } from '../../../src/ir/types.js';
import { runOnCpu } from '../../../src/runtime/cpu/executor.js';
import { f16BitsToF32 } from '../../../src/ir/f16.js';
import { expectRoundTrip } from '../../ir/roundtrip.js';

/** ONNX Runtime tensor type of each ONNX element type a test feeds. */
const ORT_TYPES: Record<number, ort.Tensor.Type> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 9: 'bool', 10: 'float16', 11: 'float64',
  12: 'uint32', 13: 'uint64',
};

/** Feeds for ORT from kiln host data; `onnxTypes` gives each input's ONNX element type. */
function ortFeeds(inputs: Record<string, TensorData>, onnxTypes: Record<string, number>): Record<string, ort.Tensor> {
  return Object.fromEntries(Object.entries(inputs).map(([name, t]) => {
    const type = ORT_TYPES[onnxTypes[name] ?? 1]!;
    const dims = [...t.shape];
    switch (type) {
      case 'int64': return [name, new ort.Tensor(type, BigInt64Array.from(t.data as Int32Array, (x) => BigInt(x)), dims)];
      case 'float64': return [name, new ort.Tensor(type, Float64Array.from(t.data as Float32Array), dims)];
      case 'bool': return [name, new ort.Tensor(type, Uint8Array.from(t.data as Uint8Array), dims)];
      case 'uint8': return [name, new ort.Tensor(type, Uint8Array.from(t.data as Int32Array), dims)];
      case 'int8': return [name, new ort.Tensor(type, Int8Array.from(t.data as Int32Array), dims)];
      case 'uint16': return [name, new ort.Tensor(type, Uint16Array.from(t.data as Int32Array), dims)];
      case 'int16': return [name, new ort.Tensor(type, Int16Array.from(t.data as Int32Array), dims)];
      case 'uint32': return [name, new ort.Tensor(type, Uint32Array.from(t.data as Uint32Array), dims)];
      case 'uint64': return [name, new ort.Tensor(type, BigUint64Array.from(t.data as Uint32Array, (x) => BigInt(x)), dims)];
      default: return [name, new ort.Tensor(type, t.data as Float32Array | Int32Array | Uint16Array, dims)];
    }
  }));
}

/**
 * ORT's outputs as plain numbers and shapes. `options` adds session options: graph optimisation
 * 'disabled' runs the ops as written (ORT's optimizer rewrites some patterns into approximations,
 * such as a QDQ weight's MatMul into one that quantizes its input).
 */
export async function runOrt(bytes: Uint8Array, inputs: Record<string, TensorData>, onnxTypes: Record<string, number> = {}, options: { graphOptimizationLevel?: 'disabled' } = {}): Promise<{ name: string; dims: number[]; values: number[] }[]> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, ...options });
  try {
    const out = await session.run(ortFeeds(inputs, onnxTypes));
    return session.outputNames.map((name) => {
      const t = out[name]!;
      const data = t.data as ArrayLike<number | bigint>;
      const values = t.type === 'float16'
        ? Array.from(data as Uint16Array, f16BitsToF32)
        : Array.from(data, (x) => Number(x));
      return { name, dims: [...t.dims], values };
    });
  } finally {
    await session.release();
  }
}

/** Seeded inputs for a graph: normals for floats, small integers (0..4) for i32, coin flips for bool. */
export function seededInputs(graph: Graph, seed = 0): Record<string, TensorData> {
  const rng = new Random(seed);
  return Object.fromEntries(graph.inputs.map((v) => {
    const n = numel(v.type.shape);
    const dtype = v.type.dtype;
    const values = Array.from({ length: n }, () => (dtype === 'f32' ? rng.normal() : dtype === 'bool' ? (rng.next() < 0.5 ? 1 : 0) : Math.floor(rng.uniform(0, 5))));
    return [v.name, tensorData(dtype, v.type.shape, values)];
  }));
}

function toNumbers(t: TensorData): number[] {
  return t.dtype === 'f16' ? Array.from(t.data as Uint16Array, f16BitsToF32) : Array.from(t.data as ArrayLike<number>);
}

export interface OracleOptions extends OnnxImportOptions {
  /** ONNX element type of inputs that are not float (ORT needs int64 / bool / double as such). */
  readonly onnxTypes?: Record<string, number>;
  /** Tolerance, absolute and relative (default 1e-5). */
  readonly tol?: number;
  readonly seed?: number;
  /** Explicit inputs instead of seeded ones. */
  readonly inputs?: Record<string, TensorData>;
}

/**
 * Imports `bytes`, runs the graph on kiln's CPU reference and the model on ONNX Runtime with
 * the same seeded inputs, and expects equal shapes and values within `tol` (abs + rel). The
 * imported graph must also survive the IR text round trip.
 * Returns the imported graph for further checks.
 */
export async function expectSameAsOrt(bytes: Uint8Array, opts: OracleOptions = {}): Promise<Graph> {
  const graph = importOnnx(bytes, opts);
  expectRoundTrip(graph);
  const inputs = opts.inputs ?? seededInputs(graph, opts.seed ?? 0);
  const ours = runOnCpu(graph, inputs);
  const theirs = await runOrt(bytes, inputs, opts.onnxTypes ?? {});
  const tol = opts.tol ?? 1e-5;
  expect(graph.outputs.length).toBe(theirs.length);
  graph.outputs.forEach((v, i) => {
    const t = theirs[i]!;
    const got = ours[v.name]!;
    expect([...got.shape], `shape of output ${t.name}`).toEqual(t.dims);
    const g = toNumbers(got);
    g.forEach((x, k) => {
      const y = t.values[k]!;
      if (Number.isNaN(y)) expect(x, `${t.name}[${k}]`).toBeNaN();
      else if (Math.abs(x - y) > tol * (1 + Math.abs(y))) expect.fail(`output ${t.name}[${k}]: kiln ${x}, ONNX Runtime ${y}`);
    });
  });
  return graph;
}
