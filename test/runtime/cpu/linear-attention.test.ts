import { describe, expect, it } from 'vitest';
import { Graph } from '../../../src/ir/graph.js';
import { tensorData } from '../../../src/ir/tensor-data.js';
import { runOnCpu } from '../../../src/runtime/cpu/executor.js';
import { expectRoundTrip } from '../../ir/roundtrip.js';

// linear_attention's reference kernel against closed forms of its recurrence and against a
// step worked out by hand.

interface In { shape: number[]; values: number[] }

function run(inputs: In[], attrs: { scale: number; delta?: boolean }): { y: number[]; state: number[] } {
  const g = new Graph('la');
  const vs = inputs.map((x, i) => g.addInput(`x${i}`, { dtype: 'f32', shape: x.shape, device: 'cpu' }));
  const node = g.addNode('linear_attention', vs, attrs);
  g.setOutputs(node.outputs);
  expectRoundTrip(g);
  const r = runOnCpu(g, Object.fromEntries(inputs.map((x, i) => [`x${i}`, tensorData('f32', x.shape, x.values)])));
  const [y, state] = node.outputs.map((v) => Array.from(r[v.name]!.data as Float32Array));
  return { y: y!, state: state! };
}

/** Deterministic values in [-1, 1). */
function values(n: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1);
}

describe('linear_attention (CPU reference)', () => {
  it('without gating or delta is causal linear attention: y_t = scale q_t (S0 + sum_{i<=t} k_i v_i^T)', () => {
    const [T, dk, dv] = [3, 2, 2];
    const [q, k, v, s0] = [values(T * dk, 1), values(T * dk, 2), values(T * dv, 3), values(dk * dv, 4)];
    const { y, state } = run([
      { shape: [1, 1, T, dk], values: q }, { shape: [1, 1, T, dk], values: k }, { shape: [1, 1, T, dv], values: v },
      { shape: [1, 1, dk, dv], values: s0 }, { shape: [1, 1, T, 1], values: new Array<number>(T).fill(0) },
    ], { scale: 0.5 });
    const s = [...s0];
    for (let t = 0; t < T; t++) {
      for (let d = 0; d < dk; d++) for (let m = 0; m < dv; m++) s[d * dv + m]! += k[t * dk + d]! * v[t * dv + m]!;
      for (let m = 0; m < dv; m++) {
        const want = 0.5 * (q[t * dk]! * s[m]! + q[t * dk + 1]! * s[dv + m]!);
        expect(y[t * dv + m]).toBeCloseTo(want, 6);
      }
    }
    state.forEach((x, i) => expect(x).toBeCloseTo(s[i]!, 6));
  });

  it('gating multiplies the state by exp(decay) per key row before each write', () => {
    // One key row, one value column: S_t = exp(g_t) S_{t-1} + k_t v_t.
    const g = [Math.log(0.5), Math.log(0.25)];
    const { y, state } = run([
      { shape: [1, 1, 2, 1], values: [1, 2] }, { shape: [1, 1, 2, 1], values: [3, 1] }, { shape: [1, 1, 2, 1], values: [2, 4] },
      { shape: [1, 1, 1, 1], values: [8] }, { shape: [1, 1, 2, 1], values: g },
    ], { scale: 1 });
    const s1 = 0.5 * 8 + 3 * 2;
    const s2 = 0.25 * s1 + 1 * 4;
    expect(y[0]).toBeCloseTo(1 * s1, 5);
    expect(y[1]).toBeCloseTo(2 * s2, 5);
    expect(state[0]).toBeCloseTo(s2, 5);
  });

  it('the delta rule writes beta (v - S^T k) and each kv head serves its group of query heads', () => {
    // Two query heads share one kv head; S0 = 2, k = 1, v = 5, beta = 0.5: v' = 0.5 (5 - 2) = 1.5, S = 3.5.
    const { y, state } = run([
      { shape: [1, 2, 1, 1], values: [1, -2] }, { shape: [1, 1, 1, 1], values: [1] }, { shape: [1, 1, 1, 1], values: [5] },
      { shape: [1, 1, 1, 1], values: [2] }, { shape: [1, 1, 1, 1], values: [0] }, { shape: [1, 1, 1, 1], values: [0.5] },
    ], { scale: 1, delta: true });
    expect(state).toEqual([3.5]);
    expect(y).toEqual([3.5, -7]);
  });

  it('checks its operands', () => {
    const g = new Graph('bad');
    const x = (name: string, shape: number[]) => g.addInput(name, { dtype: 'f32', shape, device: 'cpu' });
    const ins = [x('q', [1, 3, 1, 2]), x('k', [1, 2, 1, 2]), x('v', [1, 2, 1, 2]), x('s', [1, 2, 2, 2]), x('g', [1, 2, 1, 1])];
    expect(() => g.addNode('linear_attention', ins, { scale: 1 })).toThrow(/3 query heads cannot share 2/);
    const ok = [x('q2', [1, 2, 1, 2]), ...ins.slice(1)];
    expect(() => g.addNode('linear_attention', ok, { scale: 1, delta: true })).toThrow(/needs a beta input/);
  });
});
