import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/index.js';
import { useDefaultGpu } from './default-gpu.js';

// kiln.einsum (torch.einsum) on the CPU and WebGPU against einsum's definition in float64: the
// sum over every assignment of the labels of the product of the operands' elements. The ONNX
// Einsum node plans the same way (einsum-plan.ts); the ONNX suite's cases check it there.

const values = (n: number, seed: number) => Array.from({ length: n }, (_, i) => (((i * 7919 + seed * 104729) % 2003) / 1001.5) - 1);
const flat = (t: kiln.Tensor) => [t.tolist()].flat(8) as number[];

/** The definition, for equations without an ellipsis: ops given as flat values with shapes. */
function reference(equation: string, operands: { shape: number[]; data: number[] }[]): number[] {
  const [lhs, rhs] = equation.split('->') as [string, string | undefined];
  const terms = lhs.split(',');
  const size = new Map<string, number>();
  terms.forEach((t, i) => [...t].forEach((l, k) => size.set(l, operands[i]!.shape[k]!)));
  const counts = new Map<string, number>();
  for (const t of terms) for (const l of t) counts.set(l, (counts.get(l) ?? 0) + 1);
  const out = rhs ?? [...counts].filter(([, c]) => c === 1).map(([l]) => l).sort().join('');
  const labels = [...size.keys()];
  const result = new Array<number>([...out].reduce((p, l) => p * size.get(l)!, 1)).fill(0);
  const at = new Map<string, number>();
  const walk = (k: number) => {
    if (k === labels.length) {
      const product = operands.reduce((p, op, i) => p * op.data[[...terms[i]!].reduce((idx, l, d) => idx * op.shape[d]! + at.get(l)!, 0)]!, 1);
      result[[...out].reduce((idx, l) => idx * size.get(l)! + at.get(l)!, 0)]! += product;
      return;
    }
    for (let v = 0; v < size.get(labels[k]!)!; v++) {
      at.set(labels[k]!, v);
      walk(k + 1);
    }
  };
  walk(0);
  return result;
}

const CASES: [string, number[][]][] = [
  ['bhqd,bhkd->bhqk', [[2, 2, 3, 4], [2, 2, 5, 4]]],
  ['ij,jk', [[3, 4], [4, 2]]],
  ['ij->ji', [[3, 4]]],
  ['ii->i', [[4, 4]]],
  ['ii', [[3, 3]]],
  ['i,j->ij', [[3], [4]]],
  ['bij,bjk,bkl->bil', [[2, 3, 4], [2, 4, 2], [2, 2, 3]]],
  ['ij->', [[3, 5]]],
  ['iij,jk->ik', [[3, 3, 2], [2, 4]]],
];

describe('kiln.einsum', () => {
  const gpu = useDefaultGpu();

  for (const [equation, shapes] of CASES) {
    it(`'${equation}' on [${shapes.map((s) => s.join('x')).join('], [')}]`, async () => {
      const operands = shapes.map((shape, i) => ({ shape, data: values(shape.reduce((a, b) => a * b, 1), i + 1) }));
      const want = reference(equation, operands);
      const xs = operands.map((o) => kiln.tensor(o.data).reshape(o.shape));
      const check = (got: number[], where: string) => {
        expect(got, where).toHaveLength(want.length);
        got.forEach((g, i) => expect(Math.abs(g - want[i]!), `${where} [${i}]`).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(want[i]!))));
      };
      check(flat(kiln.einsum(equation, ...xs)), 'the CPU');
      const onGpu = await Promise.all(xs.map((x) => x.to(gpu())));
      check(flat(await kiln.einsum(equation, onGpu).to('cpu')), 'WebGPU');
    });
  }

  it('broadcasts ellipsis axes, differentiates, and names what is wrong', async () => {
    const a = kiln.tensor(values(2 * 3 * 4, 1)).reshape(2, 1, 3, 4).requiresGrad_();
    const b = kiln.tensor(values(5 * 4 * 2, 2)).reshape(5, 4, 2);
    const y = kiln.einsum('...ij,...jk->...ik', a, b);
    expect(y.shape).toEqual([2, 5, 3, 2]);
    const [av, bv] = [flat(a), flat(b)];
    const want = Array.from({ length: 2 * 5 * 3 * 2 }, (_, idx) => {
      const [n, m, i, k] = [Math.floor(idx / 30), Math.floor(idx / 6) % 5, Math.floor(idx / 2) % 3, idx % 2];
      let s = 0;
      for (let j = 0; j < 4; j++) s += av[(n * 3 + i) * 4 + j]! * bv[(m * 4 + j) * 2 + k]!;
      return s;
    });
    flat(y).forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));
    // d sum(y) / d a[n, 0, i, j] = sum over m, k of b[m, j, k].
    await y.sum().backward();
    const gradWant = Array.from({ length: 24 }, (_, idx) => {
      const j = idx % 4;
      let s = 0;
      for (let m = 0; m < 5; m++) for (let k = 0; k < 2; k++) s += bv[(m * 4 + j) * 2 + k]!;
      return s;
    });
    flat(a.grad!).forEach((v, i) => expect(v).toBeCloseTo(gradWant[i]!, 5));
    expect(() => kiln.einsum('ij,jk->ik', kiln.zeros([2, 3]))).toThrow("einsum(): equation 'ij,jk->ik' names 2 operands but 1 are given");
    expect(() => kiln.einsum('ijk->i', kiln.zeros([2, 3]))).toThrow("einsum(): term 'ijk' has 3 labels for an operand of rank 2");
    expect(() => kiln.einsum('ij->iz', kiln.zeros([2, 3]))).toThrow("output label 'z' of 'ij->iz' appears in no operand");
  });
});
