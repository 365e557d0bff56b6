import { describe, expect, it } from 'vitest';
import * as kiln from '../../../src/index.js';
import { useDefaultGpu } from '../default-gpu.js';

const { amp, functional: F } = kiln;

/**
 * x rounded to the nearest float16 (ties to even), written from IEEE 754's binary16 layout: 10
 * fraction bits, exponents down to -14, subnormals in steps of 2^-24, overflow to infinity.
 */
function f16(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  const e = Math.max(Math.floor(Math.log2(a)), -14);
  const ulp = 2 ** (e - 10);
  const q = a / ulp;
  let r = Math.round(q);
  if (Math.abs(q - Math.trunc(q) - 0.5) < 1e-12 && r % 2 === 1) r -= 1; // a tie goes to the even neighbour
  const y = r * ulp;
  return Math.sign(x) * (y > 65504 ? Infinity : y);
}

/** The spacing of float16 values around |x|. */
const ulp16 = (x: number) => 2 ** (Math.max(Math.floor(Math.log2(Math.abs(x) || 2 ** -24)), -14) - 10);

/** Deterministic values in [-2, 2) that float16 cannot hold exactly. */
function values(n: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return (s / 2 ** 31) * 4 - 2;
  });
}

async function host(t: kiln.Tensor): Promise<number[]> {
  const c = await t.float().to('cpu');
  return Array.from(c.data.data as Float32Array);
}

describe('autocast on WebGPU', () => {
  it('inside trace, the graph casts the float32 parameters to float16 for the products', () => {
    const model = new kiln.nn.Sequential(new kiln.nn.Linear(4, 3), new kiln.nn.ReLU(), new kiln.nn.Linear(3, 2));
    const g = amp.autocast('webgpu', () => kiln.trace(model, [kiln.ones([5, 4])]));
    expect(g.nodes.filter((n) => n.op === 'matmul').map((n) => n.outputs[0]!.type.dtype)).toEqual(['f16', 'f16']);
    // The weights are float32 constants (refs to the parameters), each cast by a node.
    const weights = g.nodes.filter((n) => n.op === 'const' && String(n.attrs['ref']).endsWith('.weight'));
    const users = g.users();
    expect(weights.map((n) => [n.outputs[0]!.type.dtype, users.get(n.outputs[0]!)!.map((u) => u.op)])).toEqual([['f32', ['cast']], ['f32', ['cast']]]);
    expect(g.outputs[0]!.type.dtype).toBe('f16');
  });

  const gpu = useDefaultGpu();

  it('the adapter has shader-f16 (what these tests exercise)', () => {
    expect(gpu().features.has('shader-f16')).toBe(true);
  });

  // Each result is float16: compared with the float64 product of the float16-rounded operands,
  // rounded to float16. kiln adds the bias after rounding the product (PyTorch in one epilogue),
  // and accumulates in float32: two roundings of half an ulp each, plus float32 accumulation
  // error (K * 2^-24 * sum |x w|, far below an ulp here), so 1 ulp of the result plus that bound.
  it('linear runs in float16 on f16-rounded operands; gradients reach the float32 weights', async () => {
    const [n, k, m] = [4, 24, 8];
    const xs = values(n * k, 1);
    const ws = values(m * k, 2).map((v) => v / 4);
    const bs = values(m, 3);
    const x = await kiln.tensor(xs, { dtype: 'float32' }).reshape([n, k]).to('webgpu');
    const w = (await kiln.tensor(ws).reshape([m, k]).to('webgpu')).requiresGrad_();
    const b = (await kiln.tensor(bs).to('webgpu')).requiresGrad_();
    const y = amp.autocast('webgpu', () => F.linear(x, w, b));
    expect(y.dtype).toBe('f16');
    const got = await host(y);
    let differsFromF32 = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < m; j++) {
        let ref = 0;
        let exact = 0;
        let mag = 0;
        for (let q = 0; q < k; q++) {
          ref += f16(xs[i * k + q]!) * f16(ws[j * k + q]!);
          exact += xs[i * k + q]! * ws[j * k + q]!;
          mag += Math.abs(xs[i * k + q]! * ws[j * k + q]!);
        }
        const want = f16(f16(ref) + f16(bs[j]!));
        const g = got[i * m + j]!;
        expect(Math.abs(g - want)).toBeLessThanOrEqual(ulp16(want) + k * 2 ** -24 * mag);
        if (Math.abs(g - (exact + bs[j]!)) > 1e-6) differsFromF32++;
      }
    }
    // Not a float32 computation: most elements differ from the float32 result.
    expect(differsFromF32).toBeGreaterThan((n * m) / 2);

    // d(sum(y * c))/dW = c^T x and d/db = sum over rows of c, computed in float16 and widened.
    const cs = values(n * m, 4);
    const c = await kiln.tensor(cs).reshape([n, m]).to('webgpu');
    await y.float().mul(c).sum().backward();
    expect(w.grad!.dtype).toBe('f32');
    expect(b.grad!.dtype).toBe('f32');
    const dw = await host(w.grad!);
    const db = await host(b.grad!);
    for (let j = 0; j < m; j++) {
      for (let q = 0; q < k; q++) {
        let ref = 0;
        let mag = 0;
        for (let i = 0; i < n; i++) {
          ref += f16(cs[i * m + j]!) * f16(xs[i * k + q]!);
          mag += Math.abs(cs[i * m + j]! * xs[i * k + q]!);
        }
        expect(Math.abs(dw[j * k + q]! - f16(ref))).toBeLessThanOrEqual(ulp16(ref) / 2 + n * 2 ** -24 * mag + 2 ** -24);
      }
      let ref = 0;
      for (let i = 0; i < n; i++) ref += f16(cs[i * m + j]!);
      expect(Math.abs(db[j]! - ref)).toBeLessThanOrEqual(ulp16(ref) * 2);
    }
  });

  it('matmul and conv2d run in float16; softmax, sums and losses in float32', async () => {
    const a = await kiln.tensor(values(12, 5)).reshape([3, 4]).to('webgpu');
    const bm = await kiln.tensor(values(8, 6)).reshape([4, 2]).to('webgpu');
    // Direct 3x3 convolution of x [1, 2, 5, 5] with w [3, 2, 3, 3], no padding.
    const xs = values(50, 7);
    const ws = values(54, 8);
    const x = await kiln.tensor(xs).reshape([1, 2, 5, 5]).to('webgpu');
    const w = await kiln.tensor(ws).reshape([3, 2, 3, 3]).to('webgpu');
    const labels = await kiln.tensor([0, 1, 1], { dtype: 'int32' }).to('webgpu');
    const [mm, conv, sm, total, ce] = amp.autocast('webgpu', () => {
      const p = a.matmul(bm);
      const logits = p.mul(2);
      return [p, F.conv2d(x, w), logits.softmax(1), logits.sum(), kiln.crossEntropy(logits, labels)] as const;
    });
    expect(mm.dtype).toBe('f16');
    expect(conv.dtype).toBe('f16');
    expect([sm.dtype, total.dtype]).toEqual(['f32', 'f32']);
    const got = await host(conv);
    for (let o = 0; o < 3; o++) {
      for (let i = 0; i < 3; i++) {
        for (let j = 0; j < 3; j++) {
          let ref = 0;
          let mag = 0;
          for (let ci = 0; ci < 2; ci++) {
            for (let u = 0; u < 3; u++) {
              for (let v = 0; v < 3; v++) {
                const p = f16(xs[ci * 25 + (i + u) * 5 + (j + v)]!) * f16(ws[o * 18 + ci * 9 + u * 3 + v]!);
                ref += p;
                mag += Math.abs(p);
              }
            }
          }
          expect(Math.abs(got[o * 9 + i * 3 + j]! - f16(ref))).toBeLessThanOrEqual(ulp16(ref) / 2 + 18 * 2 ** -24 * mag);
        }
      }
    }
    expect(ce.dtype).toBe('f32');
  });

  it('leaves CPU tensors alone, nests, and is off outside the region', async () => {
    const a = kiln.tensor([[1, 2], [3, 4]]);
    expect(amp.autocast('webgpu', () => a.matmul(a)).dtype).toBe('f32');
    const g = await a.to('webgpu');
    expect(amp.autocast('webgpu', () => amp.autocast('webgpu', () => g.matmul(g), { enabled: false })).dtype).toBe('f32');
    expect(amp.autocast('webgpu', () => amp.isAutocastEnabled())).toBe(true);
    expect(amp.isAutocastEnabled()).toBe(false);
    expect(g.matmul(g).dtype).toBe('f32');
    // A float16 product added to a float32 tensor gives float32 (the widest), as PyTorch promotes.
    const sum = amp.autocast('webgpu', () => g.matmul(g).add(g));
    expect(sum.dtype).toBe('f32');
    expect(await host(sum)).toEqual([8, 12, 18, 26]);
    expect(() => amp.autocast('cpu', () => 0)).toThrow(/bfloat16/);
    expect(() => amp.autocast('webgpu', async () => 0)).toThrow(/synchronous/);
  });
});
