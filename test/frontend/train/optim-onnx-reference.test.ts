// kiln's optimizers against the ONNX suite's training cases (domain ai.onnx.preview.training:
// Adam, Momentum, Adagrad), an outside reference: each case's one update step is performed by
// kiln's PyTorch-style optimizer, with the ONNX op's attributes mapped to the optimizer's
// options and its state inputs loaded into the optimizer's state, and the updated parameters
// and state compared with the case's expected outputs, on the CPU and on WebGPU.
//
// How the ONNX rules map onto PyTorch's (kiln follows PyTorch's documented formulas):
// - Momentum: G' = G + norm_coefficient * X; V' = alpha * V + beta * G' (beta taken as 1 when
//   T = 0); X' = X - R * V' ('standard') or X - R * (G' + alpha * V') ('nesterov'). That is SGD
//   with lr = R, momentum = alpha, weight_decay = norm_coefficient, dampening = 1 - beta (0 at
//   T = 0) and the momentum buffer V, exactly.
// - Adagrad: r = R / (1 + T * decay_factor); G' = G + norm_coefficient * X; H' = H + G'^2;
//   X' = X - r * G' / (sqrt(H') + epsilon). That is PyTorch's Adagrad with lr = R, lr_decay =
//   decay_factor, weight_decay = norm_coefficient, eps = epsilon, sum H, after T steps, exactly.
// - Adam: G' = G + norm_coefficient * X; V' = alpha * V + (1 - alpha) * G'; H' = beta * H +
//   (1 - beta) * G'^2; X' = X - R_adj * V' / (sqrt(H') + epsilon), with R_adj = R at T = 0 and
//   R * sqrt(1 - beta^T) / (1 - alpha^T) after. PyTorch's Adam (betas = (alpha, beta),
//   weight_decay = norm_coefficient, eps) differs in two places that are not mapped: it always
//   corrects the bias, with powers of its step count (one ahead of ONNX's T), and it adds eps to
//   sqrt(H') / sqrt(1 - beta^t), i.e. eps * sqrt(1 - beta^t) to sqrt(H'). Both vanish when the
//   corrections are 1, which is where the cases are (T = 0): PyTorch's state after many steps
//   (t = 1000: 1 - 0.95^1000 = 1 - 5e-23, 1 in float32 and float64) applies no correction, so the
//   cases load that state. ONNX's norm_coefficient_post (a decay after the update) has no
//   PyTorch counterpart (AdamW decays before, scaled by lr); the cases leave it 0.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../../src/index.js';
import type { TensorData } from '../../../src/ir/tensor-data.js';
import { backendCaseNames, readBackendCase, type BackendCase } from '../../helpers/onnx-backend-case.js';
import { useDefaultGpu } from '../default-gpu.js';

const { optim } = kiln;

/** A step count at which Adam's bias corrections 1 - beta^t are 1 in float32 for the cases' betas. */
const UNCORRECTED_ADAM_STEP = 1000;

const num = (c: BackendCase, attr: string, fallback: number): number => (c.attrs[attr] as number | undefined) ?? fallback;

/** The optimizer for a case and the step count its state is at, with the state names in ONNX's order. */
function optimizerFor(c: BackendCase, params: kiln.Tensor[], lr: number, t: number): { opt: kiln.optim.Optimizer<{ lr: number }>; stepCount: number } {
  const alpha = num(c, 'alpha', 0.9);
  const beta = num(c, 'beta', c.opType === 'Adam' ? 0.999 : 1);
  const weightDecay = num(c, 'norm_coefficient', 0);
  switch (c.opType) {
    case 'Momentum': {
      const nesterov = c.attrs['mode'] === 'nesterov';
      return { opt: new optim.SGD(params, { lr, momentum: alpha, dampening: t === 0 ? 0 : 1 - beta, weightDecay, nesterov }), stepCount: t };
    }
    case 'Adagrad':
      return { opt: new optim.Adagrad(params, { lr, lrDecay: num(c, 'decay_factor', 0), weightDecay, eps: num(c, 'epsilon', 0) }), stepCount: t };
    case 'Adam':
      expect(num(c, 'norm_coefficient_post', 0)).toBe(0);
      expect(t).toBe(0);
      return { opt: new optim.Adam(params, { lr, betas: [alpha, beta], eps: num(c, 'epsilon', 1e-6), weightDecay }), stepCount: UNCORRECTED_ADAM_STEP - 1 };
    default:
      throw new Error(`${c.name}: not an optimizer case (${c.opType})`);
  }
}

const values = (t: TensorData): number[] => Array.from(t.data as ArrayLike<number>);

function expectClose(got: number[], want: number[], what: string): void {
  expect(got.length, what).toBe(want.length);
  got.forEach((x, i) => {
    expect(Math.abs(x - want[i]!), `${what}[${i}]: got ${x}, expected ${want[i]}`).toBeLessThanOrEqual(1e-6 + 1e-5 * Math.abs(want[i]!));
  });
}

describe('optimizers match the ONNX suite\'s training cases', () => {
  const gpu = useDefaultGpu();
  const names = backendCaseNames(/^test_(adam|momentum|nesterov_momentum|adagrad)(_multiple)?$/);

  it('finds the cases', () => {
    if (!names.length) return; // the suite is not installed
    expect(names).toEqual(['test_adagrad', 'test_adagrad_multiple', 'test_adam', 'test_adam_multiple', 'test_momentum', 'test_momentum_multiple', 'test_nesterov_momentum']);
  });

  for (const device of ['cpu', 'webgpu'] as const) {
    for (const name of names) {
      it(`${name} on ${device}`, async () => {
        const c = readBackendCase(name);
        // Inputs: R, T, then X, G and each state (V for Momentum and Adam, H for Adagrad and Adam), k of each.
        const [rName, tName, ...rest] = c.nodeInputs;
        const stateCount = c.opType === 'Adam' ? 2 : 1;
        const k = rest.length / (2 + stateCount);
        const group = (i: number) => rest.slice(i * k, (i + 1) * k).map((n) => c.inputs[n]!);
        const to = async (t: kiln.Tensor) => (device === 'cpu' ? t : t.to(gpu()));
        const params = await Promise.all(group(0).map((d) => to(kiln.fromArray(d.data as Float32Array, d.shape))));
        for (const p of params) p.requiresGrad = true;
        const lr = values(c.inputs[rName!]!)[0]!;
        const t = values(c.inputs[tName!]!)[0]!;
        const { opt, stepCount } = optimizerFor(c, params, lr, t);
        // ONNX's state inputs become the optimizer's state, in its state names' order (V, H = exp_avg, exp_avg_sq).
        const state = Object.fromEntries(await Promise.all(params.map(async (_, i) => [i, Object.fromEntries(await Promise.all(
          opt.stateNames().map(async (n, s) => [n, await to(kiln.fromArray(group(2 + s)[i]!.data as Float32Array, group(2 + s)[i]!.shape))]),
        ))])));
        await opt.loadStateDict({ ...opt.stateDict(), state, stepCount });
        const grads = group(1);
        for (const [i, p] of params.entries()) p.grad = await to(kiln.fromArray(grads[i]!.data as Float32Array, grads[i]!.shape));
        opt.step();

        // Outputs: the new X, then each new state, k of each.
        const want = c.nodeOutputs.map((n) => values(c.outputs[n]!));
        for (const [i, p] of params.entries()) {
          expect(p.deviceType).toBe(device);
          expectClose(values((await p.to('cpu')).data), want[i]!, `${name} ${c.nodeOutputs[i]}`);
          for (const [s, st] of opt.state.get(p)!.entries()) {
            expectClose(values((await st.to('cpu')).data), want[(1 + s) * k + i]!, `${name} ${c.nodeOutputs[(1 + s) * k + i]}`);
          }
        }
      });
    }
  }
});
