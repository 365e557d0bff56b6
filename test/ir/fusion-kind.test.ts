// Each op's fusion kind keeps the promise its FusionKind documentation makes (src/ir/ops/registry.ts).
import { describe, expect, it } from 'vitest';
import type { Attrs } from '../../src/ir/attrs.js';
import { toF16Array } from '../../src/ir/f16.js';
import { Graph } from '../../src/ir/graph.js';
import { allOps } from '../../src/ir/ops/index.js';
import { tensorData, type TensorData } from '../../src/ir/tensor-data.js';
import { runOnCpu } from '../../src/runtime/cpu/executor.js';

const ops = allOps();
const named = (kind: string) => ops.filter((d) => d.kind === kind).map((d) => d.name);

describe('fusion kinds', () => {
  it('elementwise ops are exactly the ops with scalar math', () => {
    expect(named('elementwise')).toEqual(ops.filter((d) => d.spec.math).map((d) => d.name));
  });

  it('ops with reduction math are reductions', () => {
    const reducing = ops.filter((d) => d.spec.reduce).map((d) => d.name);
    expect(reducing.filter((op) => !named('reduction').includes(op))).toEqual([]);
  });

  it('ops that alias their input are movement', () => {
    expect(ops.filter((d) => d.aliasesInput && d.kind !== 'movement').map((d) => d.name)).toEqual([]);
  });

  // One sample per movement op: x is [2, 3, 4] unless given.
  const SAMPLES: Readonly<Record<string, { attrs: Attrs; shape?: number[]; inputs?: number }>> = {
    transpose: { attrs: { perm: [2, 0, 1] } },
    reshape: { attrs: { shape: [6, 4] } },
    flatten: { attrs: { axis: 2 } },
    squeeze: { attrs: { axes: [1] }, shape: [2, 1, 4] },
    unsqueeze: { attrs: { axes: [0] } },
    expand: { attrs: { shape: [2, 2, 3, 4] } },
    channel_shuffle: { attrs: { groups: 2 }, shape: [1, 4, 2, 3] },
    concat: { attrs: { axis: 1 }, inputs: 2 },
    split: { attrs: { axis: 2, sizes: [1, 3] } },
    slice: { attrs: { starts: [1, 0], ends: [3, 4], axes: [1, 2], steps: [1, 2] } },
    pad: { attrs: { pads: [0, 1, 0, 0, 2, 1], value: 1.5 } },
  };

  it('movement ops copy elements: an f16 input gives the f32 result, bit for bit', () => {
    expect(Object.keys(SAMPLES).sort()).toEqual(named('movement').sort());
    for (const [op, s] of Object.entries(SAMPLES)) {
      const shape = s.shape ?? [2, 3, 4];
      const n = shape.reduce((a, b) => a * b, 1);
      // Values f16 holds exactly, with a negative zero and a NaN among them.
      const values = Array.from({ length: n }, (_, i) => (i === 1 ? -0 : i === 2 ? NaN : (i - 7) * 0.25));
      const run = (dtype: 'f32' | 'f16'): TensorData[] => {
        const g = new Graph(op);
        const feeds: Record<string, TensorData> = {};
        const xs = Array.from({ length: s.inputs ?? 1 }, (_, i) => {
          feeds[`x${i}`] = tensorData(dtype, shape, dtype === 'f16' ? toF16Array(values) : values);
          return g.addInput(`x${i}`, { dtype, shape, device: 'cpu' });
        });
        const node = g.addNode(op, xs, s.attrs);
        g.setOutputs([...node.outputs]);
        const out = runOnCpu(g, feeds);
        return node.outputs.map((v) => out[v.name]!);
      };
      const [f32, f16] = [run('f32'), run('f16')];
      f32.forEach((want, i) => {
        expect(f16[i]!.dtype, op).toBe('f16');
        expect(f16[i]!.shape, op).toEqual(want.shape);
        expect(Array.from(f16[i]!.data as Uint16Array), op).toEqual(Array.from(toF16Array(want.data as Float32Array)));
      });
    }
  });
});
