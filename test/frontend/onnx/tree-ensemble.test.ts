// ai.onnx.ml TreeEnsemble beyond the suite's two cases: every comparison mode, NaN features
// with and without nodes_missing_value_tracks_true, set membership, each aggregate and a tree
// of one leaf, against answers worked out here by walking the trees by hand.
import { describe, expect, it } from 'vitest';
import { importOnnx } from '../../../src/frontend/onnx/index.js';
import { tensorData } from '../../../src/ir/tensor-data.js';
import { runOnCpu } from '../../../src/runtime/cpu/executor.js';
import { attr, encodeModelObject, modelObject, node, OnnxType, tensor, type AttrInit } from './onnx-builder.js';

/**
 * Two trees over features [a, b] and 2 targets. Tree 0: node 0 tests a (mode, split 1); true ->
 * leaf 0 (target 0, weight 10), false -> node 1, which tests b in {2, 5}: true -> leaf 1
 * (target 1, weight 20), false -> leaf 2 (target 0, weight 30). Tree 1 is leaf 3 alone
 * (target 1, weight 4).
 */
function model(mode: number, extra: Record<string, AttrInit> = {}): Uint8Array {
  const m = modelObject({
    inputs: [{ name: 'X', dims: [null, 2] }], outputs: [{ name: 'Y' }],
    nodes: [{ ...node('TreeEnsemble', ['X'], ['Y'], {
      n_targets: attr.i(2), tree_roots: attr.ints([0, 2]),
      nodes_featureids: attr.ints([0, 1, 0]), nodes_modes: attr.t(tensor('m', OnnxType.UINT8, [3], [mode, 6, 0])),
      nodes_splits: attr.t(tensor('s', OnnxType.FLOAT, [3], [1, 0, 0])),
      nodes_truenodeids: attr.ints([0, 1, 3]), nodes_trueleafs: attr.ints([1, 1, 1]),
      nodes_falsenodeids: attr.ints([1, 2, 3]), nodes_falseleafs: attr.ints([0, 1, 1]),
      membership_values: attr.t(tensor('v', OnnxType.FLOAT, [3], [2, 5, NaN])),
      leaf_targetids: attr.ints([0, 1, 0, 1]), leaf_weights: attr.t(tensor('w', OnnxType.FLOAT, [4], [10, 20, 30, 4])),
      ...extra,
    }), domain: 'ai.onnx.ml' }],
  });
  return encodeModelObject({ ...m, opset_import: [{ domain: 'ai.onnx.ml', version: 5 }] });
}

function run(bytes: Uint8Array, rows: number[][]): number[][] {
  const g = importOnnx(bytes, { inputShapes: { X: [rows.length, 2] } });
  const y = runOnCpu(g, { X: tensorData('f32', [rows.length, 2], rows.flat()) })['Y']!;
  return rows.map((_, r) => Array.from(y.data.slice(r * 2, r * 2 + 2)));
}

// Tree 0's leaf for a row whose first test went false: b in {2, 5} -> leaf 1 (target 1), else leaf 2 (target 0).
const rest = (b: number) => (b === 2 || b === 5 ? [0, 20] : [30, 0]);

describe('TreeEnsemble', () => {
  const rows = [[0.5, 2], [1, 5], [1.5, 3], [NaN, 2]];
  const tests: [string, number, (a: number) => boolean][] = [
    ['leq', 0, (a) => a <= 1], ['lt', 1, (a) => a < 1], ['gte', 2, (a) => a >= 1],
    ['gt', 3, (a) => a > 1], ['eq', 4, (a) => a === 1], ['neq', 5, (a) => a !== 1],
  ];
  for (const [name, mode, test] of tests) {
    it(`mode ${name}, summing leaf 3's weight into target 1`, () => {
      const want = rows.map(([a, b]) => {
        const t0 = test(a!) ? [10, 0] : rest(b!);
        return [t0[0]!, t0[1]! + 4];
      });
      expect(run(model(mode), rows)).toEqual(want);
    });
  }

  it('sends NaN down the true branch where nodes_missing_value_tracks_true says so', () => {
    expect(run(model(0, { nodes_missing_value_tracks_true: attr.ints([1, 0, 0]) }), [[NaN, 3]])).toEqual([[10, 4]]);
    expect(run(model(0), [[NaN, 3]])).toEqual([[30, 4]]);
  });

  it('averages, and takes minima and maxima with untouched targets at the float extremes', () => {
    expect(run(model(0, { aggregate_function: attr.i(0) }), [[0.5, 0]])).toEqual([[5, 2]]);
    const F = 3.4028234663852886e38;
    expect(run(model(0, { aggregate_function: attr.i(2) }), [[0.5, 0]])).toEqual([[10, 4]]);
    expect(run(model(0, { aggregate_function: attr.i(3), leaf_targetids: attr.ints([0, 1, 0, 0]) }), [[0.5, 0]])).toEqual([[10, -F]]);
    expect(run(model(0, { aggregate_function: attr.i(2), leaf_targetids: attr.ints([0, 1, 0, 0]) }), [[0.5, 0]])).toEqual([[4, F]]);
  });

  it('applies the logistic post-transform and refuses PROBIT by name', () => {
    const [[a, b]] = run(model(0, { post_transform: attr.i(2) }), [[0.5, 0]]) as [[number, number]];
    expect(a).toBeCloseTo(1 / (1 + Math.exp(-10)), 6);
    expect(b).toBeCloseTo(1 / (1 + Math.exp(-4)), 6);
    expect(() => run(model(0, { post_transform: attr.i(4) }), [[0.5, 0]])).toThrow(/post_transform 4 \(PROBIT\) is not supported/);
  });
});
