import { describe, expect, it } from 'vitest';
import * as kiln from '../../../src/index.js';
import { useDefaultGpu } from '../default-gpu.js';

const { optim } = kiln;

type Kind = 'sgd' | 'adam' | 'adamw' | 'adagrad' | 'rmsprop';

/** PyTorch's update rules written out plainly in doubles, as the oracle. */
function reference(kind: Kind, opts: Record<string, number | boolean>, p0: number[], grads: number[][]): number[] {
  const p = [...p0];
  const buf = p.map(() => 0);
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  const sum = p.map(() => (opts.initialAccumulatorValue as number) ?? 0);
  const gAvg = p.map(() => 0);
  grads.forEach((gs, k) => {
    const t = k + 1;
    for (let i = 0; i < p.length; i++) {
      let g = gs[i]!;
      const lr = opts.lr as number;
      const wd = (opts.weightDecay as number) ?? 0;
      if (kind === 'sgd') {
        g += wd * p[i]!;
        const mom = (opts.momentum as number) ?? 0;
        const damp = (opts.dampening as number) ?? 0;
        if (mom) {
          buf[i] = t === 1 ? g : mom * buf[i]! + (1 - damp) * g;
          g = opts.nesterov ? g + mom * buf[i]! : buf[i]!;
        }
        p[i] = p[i]! - lr * g;
      } else if (kind === 'rmsprop') {
        // torch.optim.RMSprop's documented algorithm.
        const [alpha, eps, mom] = [(opts.alpha as number) ?? 0.99, (opts.eps as number) ?? 1e-8, (opts.momentum as number) ?? 0];
        g += wd * p[i]!;
        v[i] = alpha * v[i]! + (1 - alpha) * g * g;
        let denom = v[i]!;
        if (opts.centered) {
          gAvg[i] = alpha * gAvg[i]! + (1 - alpha) * g;
          denom -= gAvg[i]! ** 2;
        }
        const d = g / (Math.sqrt(denom) + eps);
        buf[i] = mom ? mom * buf[i]! + d : d;
        p[i] = p[i]! - lr * buf[i]!;
      } else if (kind === 'adagrad') {
        g += wd * p[i]!;
        const clr = lr / (1 + (t - 1) * ((opts.lrDecay as number) ?? 0));
        sum[i] = sum[i]! + g * g;
        p[i] = p[i]! - (clr * g) / (Math.sqrt(sum[i]!) + ((opts.eps as number) ?? 1e-10));
      } else {
        const [b1, b2, eps] = [0.9, 0.999, 1e-8];
        if (kind === 'adamw') p[i] = p[i]! * (1 - lr * wd);
        else g += wd * p[i]!;
        m[i] = b1 * m[i]! + (1 - b1) * g;
        v[i] = b2 * v[i]! + (1 - b2) * g * g;
        const mhat = m[i]! / (1 - b1 ** t);
        const vhat = v[i]! / (1 - b2 ** t);
        p[i] = p[i]! - (lr * mhat) / (Math.sqrt(vhat) + eps);
      }
    }
  });
  return p;
}

const grads = [[0.5, -1, 2, 0.1], [0.3, 0.2, -0.5, 1], [-1, 0.4, 0.2, -0.3]];
const p0 = [1, -2, 0.5, 3];

describe('optimizers update on the parameter\'s device with PyTorch\'s rules', () => {
  const gpu = useDefaultGpu();
  const cases: [string, Kind, Record<string, number | boolean>][] = [
    ['plain SGD', 'sgd', { lr: 0.1 }],
    ['SGD with momentum and weight decay', 'sgd', { lr: 0.1, momentum: 0.9, weightDecay: 0.01 }],
    ['SGD with dampening', 'sgd', { lr: 0.1, momentum: 0.5, dampening: 0.3 }],
    ['SGD with Nesterov momentum', 'sgd', { lr: 0.05, momentum: 0.9, nesterov: true }],
    ['Adam with L2 weight decay', 'adam', { lr: 0.01, weightDecay: 0.1 }],
    ['AdamW', 'adamw', { lr: 0.01, weightDecay: 0.1 }],
    ['Adagrad', 'adagrad', { lr: 0.1 }],
    ['Adagrad with lr decay, weight decay and an initial accumulator', 'adagrad', { lr: 0.1, lrDecay: 0.5, weightDecay: 0.1, initialAccumulatorValue: 0.2, eps: 1e-3 }],
    ['RMSprop', 'rmsprop', { lr: 0.01 }],
    ['RMSprop centered with momentum and weight decay', 'rmsprop', { lr: 0.01, alpha: 0.9, momentum: 0.8, centered: true, weightDecay: 0.1, eps: 1e-6 }],
    ['RMSprop with momentum', 'rmsprop', { lr: 0.02, momentum: 0.5 }],
  ];
  for (const device of ['cpu', 'webgpu'] as const) {
    for (const [what, kind, opts] of cases) {
      it(`${what} on ${device}`, async () => {
        const w = kiln.tensor(p0, { requiresGrad: true });
        const param = device === 'cpu' ? w : await w.to(gpu());
        param.requiresGrad = true;
        const opt = kind === 'sgd' ? new optim.SGD([param], opts as unknown as kiln.optim.SGDOptions)
          : kind === 'adam' ? new optim.Adam([param], opts) : kind === 'adagrad' ? new optim.Adagrad([param], opts)
            : kind === 'rmsprop' ? new optim.RMSprop([param], opts) : new optim.AdamW([param], opts);
        for (const g of grads) {
          opt.zeroGrad();
          param.grad = await kiln.tensor(g).to(device === 'cpu' ? 'cpu' : gpu());
          opt.step();
        }
        expect(param.deviceType).toBe(device);
        expect(param.requiresGrad).toBe(true);
        const got = (await param.to('cpu')).tolist() as number[];
        const want = reference(kind, opts, p0, grads);
        got.forEach((x, i) => expect(x).toBeCloseTo(want[i]!, 5));
      });
    }
  }

  it('trains a linear regression eagerly with backward() and SGD', async () => {
    kiln.manualSeed(4);
    const model = new kiln.nn.Linear(3, 1);
    await model.to(gpu());
    const x = kiln.randn([32, 3]);
    const trueW = kiln.tensor([[2], [-1], [0.5]]);
    const y = await x.matmul(trueW).add(0.3).to(gpu());
    const xg = await x.to(gpu());
    const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
    let first = 0;
    let last = 0;
    for (let k = 0; k < 120; k++) {
      opt.zeroGrad();
      const loss = kiln.mseLoss(model.call(xg), y);
      await loss.backward();
      opt.step();
      const v = (await loss.to('cpu')).item() as number;
      if (k === 0) first = v;
      last = v;
    }
    expect(last).toBeLessThan(first * 1e-3);
    const w = (await model.weight.to('cpu')).tolist() as number[][];
    expect(w[0]![0]).toBeCloseTo(2, 1);
    expect(w[0]![1]).toBeCloseTo(-1, 1);
  });
});
