import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/index.js';
import { useDefaultGpu } from './default-gpu.js';

// nn.init and Module.apply, as PyTorch code initialises weights: `model.apply(initWeights)`.
// Values are drawn, so the checks are the documented bounds, moments (on 40,000 draws: the
// sample deviation within 2% of the formula's) and fans, never a fixed draw.

const { nn } = kiln;
const init = nn.init;
const flat = (t: kiln.Tensor) => [t.tolist()].flat(6) as number[];

function moments(xs: number[]): [number, number] {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return [mean, Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length)];
}

describe('nn.init and Module.apply', () => {
  const gpu = useDefaultGpu();

  it('draws within the documented bounds and deviations, with PyTorch\'s fans for conv weights', () => {
    kiln.manualSeed(11);
    // A conv weight [out 50, in 20, 5, 8]: fan in 20 * 40 = 800, fan out 50 * 40 = 2000.
    const w = kiln.zeros([50, 20, 5, 8]);
    const xu = Math.sqrt(6 / 2800);
    let v = flat(init.xavierUniform_(w));
    expect(Math.max(...v.map(Math.abs))).toBeLessThanOrEqual(xu);
    expect(Math.max(...v.map(Math.abs))).toBeGreaterThan(0.99 * xu);
    expect(moments(flat(init.xavierNormal_(w, 2)))[1]).toBeCloseTo(2 * Math.sqrt(2 / 2800), 3);
    // kaiming_uniform_ default: leaky_relu with a = 0, gain sqrt(2), fan in: bound sqrt(3) sqrt(2) / sqrt(800).
    const ku = (Math.sqrt(3) * Math.SQRT2) / Math.sqrt(800);
    v = flat(init.kaimingUniform_(w));
    expect(Math.max(...v.map(Math.abs))).toBeLessThanOrEqual(ku);
    expect(Math.max(...v.map(Math.abs))).toBeGreaterThan(0.99 * ku);
    const [, sd] = moments(flat(init.kaimingNormal_(w, { mode: 'fanOut', nonlinearity: 'relu' })));
    expect(Math.abs(sd / (Math.SQRT2 / Math.sqrt(2000)) - 1)).toBeLessThan(0.02);
    const [m, s] = moments(flat(init.normal_(w, 3, 0.5)));
    expect([Math.abs(m - 3) < 0.01, Math.abs(s / 0.5 - 1) < 0.02]).toEqual([true, true]);
    v = flat(init.truncNormal_(w, 0, 1, -0.5, 1.5));
    expect([Math.min(...v) >= -0.5, Math.max(...v) <= 1.5]).toEqual([true, true]);
    v = flat(init.uniform_(w, -3, -2));
    expect([Math.min(...v) >= -3, Math.max(...v) < -2]).toEqual([true, true]);
    expect([init.calculateGain('tanh'), init.calculateGain('leaky_relu', 0.2), init.calculateGain('selu')]).toEqual([5 / 3, Math.sqrt(2 / 1.04), 0.75]);
    expect(init.eye_(kiln.zeros([2, 3])).tolist()).toEqual([[1, 0, 0], [0, 1, 0]]);
    expect(() => init.xavierUniform_(kiln.zeros([5]))).toThrow('fan in and fan out can not be computed for a tensor with fewer than 2 dimensions');
  });

  it('model.apply visits every submodule, children first, and fills parameters in place (on WebGPU too)', async () => {
    const model = new nn.Sequential(new nn.Linear(4, 3), new nn.ReLU(), new nn.Sequential(new nn.Linear(3, 2)));
    const seen: string[] = [];
    const weight = model.layers[0]!.parameters()[0]!;
    const opt = new kiln.optim.SGD(model.parameters(), { lr: 0.1 });
    expect(model.apply((m) => {
      seen.push(m.constructor.name);
      if (m instanceof nn.Linear) {
        init.ones_(m.weight);
        init.constant_(m.bias!, 0.01);
      }
    })).toBe(model);
    expect(seen).toEqual(['Linear', 'ReLU', 'Linear', 'Sequential', 'Sequential']);
    // The same tensor objects, now holding the values, still the optimizer's and still trainable.
    expect(model.layers[0]!.parameters()[0]).toBe(weight);
    expect(opt.paramGroups[0]!.params[0]).toBe(weight);
    expect(weight.requiresGrad).toBe(true);
    // Every weight 1 and bias 0.01: 4 * 1 + 0.01 per hidden unit, then 3 * 4.01 + 0.01.
    const out = flat(model.call(kiln.ones([1, 4])));
    expect(out).toHaveLength(2);
    for (const v of out) expect(v).toBeCloseTo(12.04, 5);
    await model.to(gpu());
    init.zeros_(weight);
    expect(weight.deviceType).toBe('webgpu');
    expect(flat(await weight.to('cpu'))).toEqual(new Array<number>(12).fill(0));
  });
});
