// kiln's nllLoss and crossEntropy (PyTorch's F.nll_loss / F.cross_entropy with class-index
// targets) against the ONNX suite's NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss cases,
// an outside reference: the ONNX ops' reduction, ignore_index and class weights have PyTorch's
// meaning, so each case's inputs and attributes map one to one onto the loss's arguments. The
// `_expanded` variants hold the same data and are left out; the log_prob output of the
// `_log_prob` cases is kiln's logSoftmax, checked by the conformance run.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../../src/index.js';
import type { TensorData } from '../../../src/ir/tensor-data.js';
import { backendCaseNames, readBackendCase } from '../../helpers/onnx-backend-case.js';
import { useDefaultGpu } from '../default-gpu.js';

const values = (t: TensorData): number[] => Array.from(t.data as ArrayLike<number>);

describe('nllLoss and crossEntropy match the ONNX suite\'s loss cases', () => {
  const gpu = useDefaultGpu();
  const names = backendCaseNames(/^test_(nllloss|sce)_.*(?<!_expanded)$/);

  it('finds the cases', () => {
    if (names.length) expect(names.length).toBe(18 + 34);
  });

  for (const device of ['cpu', 'webgpu'] as const) {
    for (const name of names) {
      it(`${name} on ${device}`, async () => {
        const c = readBackendCase(name);
        const to = async (t: kiln.Tensor) => (device === 'cpu' ? t : t.to(gpu()));
        const [inputName, targetName, weightName] = c.nodeInputs;
        const x = c.inputs[inputName!]!;
        const y = c.inputs[targetName!]!;
        const w = weightName ? c.inputs[weightName] : undefined;
        const input = await to(kiln.fromArray(x.data as Float32Array, x.shape));
        const target = await to(kiln.fromArray(y.data as Int32Array, y.shape, { dtype: 'int32' }));
        const opts = {
          reduction: (c.attrs['reduction'] as kiln.Reduction | undefined) ?? 'mean',
          ...(c.attrs['ignore_index'] !== undefined ? { ignoreIndex: c.attrs['ignore_index'] as number } : {}),
          ...(w ? { weight: await to(kiln.fromArray(w.data as Float32Array, w.shape)) } : {}),
        };
        const loss = c.opType === 'NegativeLogLikelihoodLoss' ? kiln.nllLoss(input, target, opts) : kiln.crossEntropy(input, target, opts);
        expect(loss.deviceType).toBe(device);
        const want = c.outputs[c.nodeOutputs[0]!]!;
        const got = (await loss.to('cpu')).data;
        expect(got.shape).toEqual(want.shape);
        const g = values(got);
        values(want).forEach((v, i) => {
          expect(Math.abs(g[i]! - v), `element ${i}: got ${g[i]}, expected ${v}`).toBeLessThanOrEqual(1e-6 + 1e-5 * Math.abs(v));
        });
      });
    }
  }
});

describe('crossEntropy gradient with class weights and an ignored target', () => {
  it('is (softmax - one_hot(t)) * w[t] / sum of kept w[t], as PyTorch\'s, computed in float64', async () => {
    const logits = [[0.5, -1, 2], [1, 0.2, -0.3], [-0.7, 0.4, 0.1], [0.3, 0.3, -2]];
    const targets = [2, -1, 0, 1]; // -1 is ignored
    const weight = [0.5, 2, 1.5];
    const x = kiln.tensor(logits, { requiresGrad: true });
    await kiln.crossEntropy(x, kiln.tensor(targets, { dtype: 'int32' }), { weight: kiln.tensor(weight), ignoreIndex: -1 }).backward();
    const total = targets.reduce((s, t) => s + (t === -1 ? 0 : weight[t]!), 0);
    const want = logits.map((row, n) => {
      const t = targets[n]!;
      const z = row.reduce((s, v) => s + Math.exp(v), 0);
      return row.map((v, c) => (t === -1 ? 0 : ((Math.exp(v) / z - (c === t ? 1 : 0)) * weight[t]!) / total));
    });
    const got = x.grad!.tolist() as number[][];
    got.forEach((row, n) => row.forEach((g, c) => expect(g).toBeCloseTo(want[n]![c]!, 6)));
  });
});
