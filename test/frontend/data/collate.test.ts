import { describe, expect, it } from 'vitest';
import * as kiln from '../../../src/index.js';

const { defaultCollate, defaultConvert, TensorDataset } = kiln.data;

/** dtype, shape and values of a host tensor. */
const show = (t: unknown) => {
  expect(t).toBeInstanceOf(kiln.Tensor);
  const x = t as kiln.Tensor;
  return { dtype: x.dtype, shape: x.shape, values: x.tolist() };
};

describe('defaultCollate (the cases of PyTorch default_collate\'s documentation)', () => {
  it('numbers become a tensor: f32 for numbers, int64 (i32) for bigints, bool for booleans', () => {
    expect(show(defaultCollate([0, 1, 2, 3]))).toEqual({ dtype: 'f32', shape: [4], values: [0, 1, 2, 3] });
    expect(show(defaultCollate([0.5, 1.25]))).toEqual({ dtype: 'f32', shape: [2], values: [0.5, 1.25] });
    expect(show(defaultCollate([0n, 7n]))).toEqual({ dtype: 'i32', shape: [2], values: [0, 7] });
    expect(show(defaultCollate([true, false]))).toEqual({ dtype: 'bool', shape: [2], values: [true, false] });
    expect(() => defaultCollate([1n, 2n ** 40n])).toThrow(/narrowed to int32, which cannot hold 1099511627776 \(entry 1\)/);
  });

  it('strings stay a list; objects are collated key by key, arrays position by position', () => {
    expect(defaultCollate(['a', 'b', 'c'])).toEqual(['a', 'b', 'c']);
    const byKey = defaultCollate([{ A: 0, B: 1 }, { A: 100, B: 100 }]);
    expect(show(byKey.A).values).toEqual([0, 100]);
    expect(show(byKey.B).values).toEqual([1, 100]);
    const byPos = defaultCollate([[0, 1], [2, 3]]);
    expect(byPos).toHaveLength(2);
    expect(show(byPos[0]).values).toEqual([0, 2]);
    expect(show(byPos[1]).values).toEqual([1, 3]);
    const nested = defaultCollate([{ x: [1, 'p'] as [number, string] }, { x: [2, 'q'] as [number, string] }]);
    expect(show(nested.x[0]).values).toEqual([1, 2]);
    expect(nested.x[1]).toEqual(['p', 'q']);
  });

  it('tensors, TensorData and typed arrays are stacked along a new first dimension', () => {
    const a = kiln.tensor([[1, 2], [3, 4]]);
    const b = kiln.tensor([[5, 6], [7, 8]]);
    expect(show(defaultCollate([a, b]))).toEqual({ dtype: 'f32', shape: [2, 2, 2], values: [[[1, 2], [3, 4]], [[5, 6], [7, 8]]] });
    const h = kiln.tensor([1, 2], { dtype: 'float16' });
    expect(show(defaultCollate([h, h]))).toEqual({ dtype: 'f16', shape: [2, 2], values: [[1, 2], [1, 2]] });
    expect(show(defaultCollate([a.data, b.data])).shape).toEqual([2, 2, 2]);
    expect(show(defaultCollate([new Int32Array([1, -2]), new Int32Array([3, 4])]))).toEqual({ dtype: 'i32', shape: [2, 2], values: [[1, -2], [3, 4]] });
    expect(show(defaultCollate([new Uint8Array([255]), new Uint8Array([0])]))).toEqual({ dtype: 'i32', shape: [2, 1], values: [[255], [0]] });
    expect(show(defaultCollate([new Float64Array([0.1]), new Float64Array([2])])).values).toEqual([[Math.fround(0.1)], [2]]);
    // The batch is a copy: changing a sample afterwards does not change it.
    const src = new Float32Array([1, 2]);
    const batch = defaultCollate([src, src]);
    src[0] = 9;
    expect(show(batch).values).toEqual([[1, 2], [1, 2]]);
  });

  it('rows of a TensorDataset collate back into the tensors', () => {
    const x = kiln.arange(12).reshape(4, 3);
    const y = kiln.tensor([0, 1, 2, 3], { dtype: 'int64' });
    const ds = new TensorDataset(x, y);
    const [xb, yb] = defaultCollate([ds.get(0), ds.get(2)]);
    expect(show(xb)).toEqual({ dtype: 'i32', shape: [2, 3], values: [[0, 1, 2], [6, 7, 8]] });
    expect(show(yb)).toEqual({ dtype: 'i32', shape: [2], values: [0, 2] });
  });

  it('refuses what it cannot batch, naming the entry', () => {
    expect(() => defaultCollate([])).toThrow(/at least one sample/);
    expect(() => defaultCollate([kiln.zeros([2]), kiln.zeros([3])])).toThrow(/equal size, but got \[2\] at entry 0 and \[3\] at entry 1/);
    expect(() => defaultCollate([kiln.zeros([2]), kiln.zeros([2], { dtype: 'int32' })])).toThrow(/one dtype, but got f32 at entry 0 and i32 at entry 1/);
    expect(() => defaultCollate([[1, 2], [3]])).toThrow(/equal size \(entry 0 has 2, entry 1 has 1\)/);
    expect(() => defaultCollate([{ a: 1 }, { b: 2 }] as { a?: number; b?: number }[])).toThrow(/entry 1 has no key 'a'/);
    expect(() => defaultCollate([1, 'x'] as unknown[])).toThrow(/entry 0 is a number but entry 1 is a string/);
    expect(() => defaultCollate([new Map()])).toThrow(/found Map/);
    expect(() => defaultCollate([null])).toThrow(/found null/);
    expect(() => defaultCollate([new BigInt64Array(1)])).toThrow(/BigInt64Array has no kiln dtype/);
  });

  it('defaultConvert makes tensors of host arrays and leaves the rest', () => {
    const out = defaultConvert({ x: new Float32Array([1, 2]), n: 3, s: 'a' }) as Record<string, unknown>;
    expect(show(out.x)).toEqual({ dtype: 'f32', shape: [2], values: [1, 2] });
    expect(out.n).toBe(3);
    expect(out.s).toBe('a');
  });
});

describe('TensorDataset', () => {
  it('indexes rows of tensors of one first dimension', () => {
    const x = kiln.arange(6).reshape(3, 2);
    const y = kiln.tensor([7, 8, 9]);
    const ds = new TensorDataset(x, y);
    expect(ds.length).toBe(3);
    expect(ds.get(1).map((t) => t.tolist())).toEqual([[2, 3], 8]);
    expect(ds.get(-1).map((t) => t.tolist())).toEqual([[4, 5], 9]);
    expect(() => ds.get(3)).toThrow(/index 3 is out of range for a dataset of 3 samples/);
    expect(() => ds.get(1.5)).toThrow(/out of range/);
    expect(() => new TensorDataset(x, kiln.zeros([2]))).toThrow(/size mismatch between tensors: tensor 0 has 3 rows, tensor 1 has 2/);
    expect(() => new TensorDataset()).toThrow(/at least one tensor/);
    expect(() => new TensorDataset(kiln.tensor(1))).toThrow(/scalar/);
  });

  it('a row of a tensor that requires gradients is recorded for autograd', async () => {
    const w = kiln.tensor([[1, 2], [3, 4]], { requiresGrad: true });
    const [r] = new TensorDataset(w).get(1);
    await r!.mul(2).sum().backward();
    expect(w.grad!.tolist()).toEqual([[0, 0], [2, 2]]);
  });
});
