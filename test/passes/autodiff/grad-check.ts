import { expect } from 'vitest';
import { differentiate, gradName } from '../../../src/passes/autodiff/differentiate.js';
import { Graph } from '../../../src/ir/graph.js';
import type { Attrs } from '../../../src/ir/attrs.js';
import { tensorData, type TensorData } from '../../../src/ir/tensor-data.js';
import { isFloat, numel, type Shape } from '../../../src/ir/types.js';
import { verify } from '../../../src/ir/verify.js';
import { compileSegmented } from '../../../src/compiler.js';
import { runOnCpu } from '../../../src/runtime/cpu/executor.js';
import { SegmentedSession } from '../../../src/runtime/segmented.js';
import type { GpuDevice } from '../../../src/runtime/device.js';
import { Random } from '../../../src/frontend/torch/random.js';

/**
 * How a case fills an operand: random floats with |x| in [0.2, 1.2] (away from kinks), 'positive'
 * ones in [0.5, 1.5], 'unit' ones in (-0.8, 0.8) (asin, atanh), 'above1' ones in [1.2, 2.2]
 * (acosh), 'distinct' ones 0.1 apart (no near-ties for max), a random bool mask, or given data
 * (indices).
 */
export type InputKind = 'float' | 'positive' | 'unit' | 'above1' | 'distinct' | 'bool' | TensorData;

/** One gradient check: op(operands) with attrs, its loss sum_i sum(y_i * r_i) over the float results. */
export interface GradCase {
  readonly op: string;
  readonly shapes: readonly Shape[];
  readonly attrs?: Attrs;
  readonly kinds?: readonly InputKind[];
  /** The operands to differentiate (default: every float one); others are held fixed, e.g. at ties. */
  readonly wrt?: readonly number[];
  /** The case is past DEVICE_EXPANSION_LIMIT: its gradient may use ops only the CPU runs. */
  readonly cpuFallback?: true;
}

/**
 * Switch of the test file's mock of allocTyped: while `on`, every f32 buffer the CPU reference
 * allocates is a Float64Array, so the reference kernels compute and store in float64.
 */
export interface Float64Switch { on: boolean }

function operand(kind: InputKind, shape: Shape, rng: Random): TensorData {
  if (typeof kind === 'object') return kind;
  const n = numel(shape);
  if (kind === 'bool') return tensorData('bool', shape, Array.from({ length: n }, () => (rng.uniform(0, 1) < 0.5 ? 1 : 0)));
  if (kind === 'distinct') {
    const ramp = Array.from({ length: n }, (_, k) => (k - n / 2) * 0.1);
    for (let k = n - 1; k > 0; k--) { const j = Math.floor(rng.uniform(0, k + 1)); [ramp[k], ramp[j]] = [ramp[j]!, ramp[k]!]; }
    return tensorData('f32', shape, ramp);
  }
  const u = () => rng.uniform(0, 1);
  const pick: Record<string, () => number> = {
    float: () => (u() < 0.5 ? -1 : 1) * (0.2 + u()),
    positive: () => 0.5 + u(),
    unit: () => (u() - 0.5) * 1.6,
    above1: () => 1.2 + u(),
  };
  return tensorData('f32', shape, Array.from({ length: n }, pick[kind]!));
}

/** The forward graph of a case, its loss, and the operands it is checked at. */
export function gradProblem(c: GradCase, seed: number): { g: Graph; inputs: Record<string, TensorData>; wrt: string[] } {
  const rng = new Random(seed);
  const kinds = c.shapes.map((_, i) => c.kinds?.[i] ?? 'float');
  const data = c.shapes.map((s, i) => operand(kinds[i]!, s, rng));
  const g = new Graph(`${c.op}_grad`);
  const xs = data.map((d, i) => g.addInput(`x${i}`, { dtype: d.dtype, shape: d.shape, device: 'webgpu' }));
  const ys = g.addNode(c.op, xs, c.attrs ?? {}).outputs.filter((y) => isFloat(y.type.dtype));
  const terms = ys.map((y) => {
    const r = g.addNode('const', [], { value: tensorData('f32', y.type.shape, Array.from({ length: numel(y.type.shape) }, () => rng.uniform(-1, 1))) }).output;
    return g.addNode('sum', [g.addNode('mul', [y, r]).output], { axes: [] }).output;
  });
  const loss = terms.slice(1).reduce((a, t) => g.addNode('add', [a, t]).output, terms[0]!);
  g.setOutputs([g.addNode('reshape', [loss], { shape: [] }, { names: ['loss'] }).output]);
  const inputs = Object.fromEntries(data.map((d, i) => [`x${i}`, d]));
  return { g, inputs, wrt: xs.filter((x, i) => isFloat(x.type.dtype) && (c.wrt?.includes(i) ?? true)).map((x) => x.name) };
}

export const backward = (g: Graph, wrt: string[]) => {
  const back = differentiate(g, { loss: 'loss', wrt });
  verify(back);
  return back;
};

/**
 * The rule against central finite differences, both in float64 on the CPU reference: the
 * difference step 1e-4 leaves a truncation error near 1e-9 and no rounding to speak of, so the
 * tolerance can be 1e-6 relative, tight enough to see a derivative of a slightly different
 * function (gelu's tanh form differentiated as the erf form is off by up to 9e-4).
 */
export function checkAgainstFiniteDifferences(c: GradCase, seed: number, float64: Float64Switch): void {
  const { g, inputs, wrt } = gradProblem(c, seed);
  float64.on = true;
  try {
    const wide = Object.fromEntries(Object.entries(inputs).map(([k, d]) => [k, d.dtype === 'f32' ? tensorData('f32', d.shape, d.data) : d]));
    const got = runOnCpu(backward(g, wrt), wide);
    expect(got.loss!.data).toBeInstanceOf(Float64Array);
    const lossAt = (feeds: Record<string, TensorData>) => runOnCpu(g, feeds).loss!.data[0]!;
    const eps = 1e-4;
    for (const name of wrt) {
      const base = wide[name]!;
      const grad = got[gradName(name)]!.data;
      for (let k = 0; k < base.data.length; k++) {
        const at = (delta: number) => {
          const v = Float64Array.from(base.data); v[k]! += delta;
          return lossAt({ ...wide, [name]: tensorData('f32', base.shape, v) });
        };
        const fd = (at(eps) - at(-eps)) / (2 * eps);
        expect(Math.abs(grad[k]! - fd), `${c.op} d/d${name}[${k}]: rule ${grad[k]} vs finite difference ${fd}`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(fd)));
      }
    }
  } finally {
    float64.on = false;
  }
}

/**
 * The backward graph compiled for the adapter against the same graph on the CPU reference (f32
 * both). Ops without a WebGPU kernel (scatters, scans) run as CPU segments, as placement puts them.
 */
export async function checkGpuAgainstCpu(device: GpuDevice, c: GradCase, seed: number): Promise<void> {
  const { g, inputs, wrt } = gradProblem(c, seed);
  const back = backward(g, wrt);
  const want = runOnCpu(back, inputs);
  const s = await SegmentedSession.create(device, compileSegmented(back));
  try {
    const got = await s.run(inputs);
    for (const name of wrt) {
      const a = got[gradName(name)]!.data;
      const b = want[gradName(name)]!.data;
      for (let k = 0; k < b.length; k++) {
        expect(Math.abs(a[k]! - b[k]!), `${c.op} d/d${name}[${k}]: adapter ${a[k]} vs CPU ${b[k]}`).toBeLessThanOrEqual(1e-5 + 1e-4 * Math.abs(b[k]!));
      }
    }
  } finally {
    s.destroy();
  }
}
