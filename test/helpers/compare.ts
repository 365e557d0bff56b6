import { expect } from 'vitest';
import type { TensorData } from '../../src/ir/tensor-data.js';
import { Graph } from '../../src/ir/graph.js';
import type { DType, Shape } from '../../src/ir/types.js';
import { tensorData } from '../../src/ir/tensor-data.js';
import { f16BitsToF32, toF16Array } from '../../src/ir/f16.js';
import { Random } from '../../src/frontend/torch/random.js';
import { numel } from '../../src/ir/types.js';
import { compile } from '../../src/compiler.js';
import { runOnCpu } from '../../src/runtime/cpu/executor.js';
import type { GpuDevice } from '../../src/runtime/device.js';
import { Session } from '../../src/runtime/session.js';
import type { Program } from '../../src/runtime/program.js';

/** Random host data: normal floats (f16 rounded to nearest), small signed ints, u32 below 100. */
export function randomData(dtype: DType, shape: Shape, rng: Random): TensorData {
  if (dtype === 'f16') return tensorData('f16', shape, toF16Array(Array.from({ length: numel(shape) }, () => rng.normal())));
  const values = Array.from({ length: numel(shape) }, () =>
    dtype === 'f32' ? rng.normal() : dtype === 'i32' ? Math.floor(rng.uniform(-50, 50)) : Math.floor(rng.uniform(0, 100)));
  return tensorData(dtype, shape, values);
}

/**
 * Asserts |a - b| <= atol + rtol * |b| elementwise, reporting the worst element. NaN equals NaN
 * only, and an infinity only itself.
 */
export function expectClose(a: TensorData, b: TensorData, atol = 1e-6, rtol = 1e-5): void {
  expect(a.dtype).toBe(b.dtype);
  expect([...a.shape]).toEqual([...b.shape]);
  let worst = -1;
  let worstExcess = 0;
  // f16 is stored as raw bits: compare the values they stand for.
  const value = (t: TensorData, i: number) => (t.dtype === 'f16' ? f16BitsToF32(t.data[i]!) : Number(t.data[i]));
  for (let i = 0; i < a.data.length; i++) {
    const x = value(a, i);
    const y = value(b, i);
    const exact = !Number.isFinite(x) || !Number.isFinite(y);
    const excess = exact ? (Object.is(x, y) || x === y ? 0 : Infinity) : Math.abs(x - y) - (atol + rtol * Math.abs(y));
    if (excess > worstExcess) { worst = i; worstExcess = excess; }
  }
  if (worst >= 0) {
    expect.fail(`element ${worst} differs: got ${value(a, worst)}, expected ${value(b, worst)} (atol ${atol}, rtol ${rtol})`);
  }
}

/**
 * Loads `program` once and runs it at each case, a graph it serves (its own, or its own
 * instantiated at some sizes) with inputs, asserting every output agrees with the CPU reference's.
 */
export async function expectProgramAgrees(device: GpuDevice, program: Program, cases: readonly { graph: Graph; inputs: Record<string, TensorData> }[], atol = 1e-4, rtol = 1e-4): Promise<void> {
  const session = await Session.create(device, program);
  try {
    for (const { graph, inputs } of cases) {
      const got = await session.run(inputs);
      const want = runOnCpu(graph, inputs);
      for (const v of graph.outputs) expectClose(got[v.name]!, want[v.name]!, atol, rtol);
    }
  } finally {
    session.destroy();
  }
}

/** Compiles and runs `graph` on the device and on the CPU reference with the same inputs. */
export async function runBoth(device: GpuDevice, graph: Graph, inputs: Record<string, TensorData>) {
  const session = await Session.create(device, compile(graph));
  try {
    const gpu = await session.run(inputs);
    const cpu = runOnCpu(graph, inputs);
    return { gpu, cpu, session };
  } finally {
    session.destroy();
  }
}
