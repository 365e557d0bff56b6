import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/index.js';
import { useDefaultGpu } from './default-gpu.js';

describe("PyTorch's argument forms: clamp(min, max), int64", () => {
  const gpu = useDefaultGpu();

  it('clamp takes (min, max) positionally, either bound alone, or an options object; on the CPU and WebGPU', async () => {
    const x = kiln.tensor([-3, 0.5, 4, 9, NaN]);
    const xg = await x.to(gpu());
    const cases: [kiln.Tensor, number[]][] = [
      // ReLU6 as PyTorch users write it; NaN stays NaN, as torch.clamp keeps it.
      [x.clamp(0, 6), [0, 0.5, 4, 6, NaN]],
      [x.clamp(1), [1, 1, 4, 9, NaN]],
      [x.clamp(undefined, 2), [-3, 0.5, 2, 2, NaN]],
      [x.clamp({ max: 2 }), [-3, 0.5, 2, 2, NaN]],
      [await xg.clamp(0, 6).to('cpu'), [0, 0.5, 4, 6, NaN]],
    ];
    for (const [got, want] of cases) expect(got.tolist()).toEqual(want);
    expect(() => x.clamp()).toThrow(/at least one of 'min' or 'max'/);
    expect(() => x.clamp({})).toThrow(/at least one of 'min' or 'max'/);
  });

  it('reductions take dim positionally (x.argmax(1), x.sum([0, 1], true)) or as options; an unknown option is refused, not read as every dim', async () => {
    const x = kiln.tensor([[1, 5, 2], [7, 0, 3]]);
    const xg = await x.to(gpu());
    const cases: [kiln.Tensor, unknown][] = [
      [x.argmax(1), [1, 0]],
      [x.argmax(1, true), [[1], [0]]],
      [x.argmax({ dim: 0 }), [1, 0, 1]],
      [x.argmax(), 3],
      [x.sum(1), [8, 10]],
      [x.sum(-1, true), [[8], [10]]],
      [x.sum([0, 1]), 18],
      [x.mean({ dim: 0, keepdim: true }), [[4, 2.5, 2.5]]],
      [x.max(0), [7, 5, 3]],
      [x.min(1), [1, 0]],
      [await xg.argmax(1).to('cpu'), [1, 0]],
      [await xg.sum(0).to('cpu'), [8, 5, 5]],
    ];
    for (const [got, want] of cases) expect(got.tolist()).toEqual(want);
    expect(() => x.sum({ axis: 1 } as never)).toThrow("sum(): unknown option 'axis'; it takes dim, keepdim (as PyTorch: sum(1) or sum({ dim: 1, keepdim: true }))");
    expect(() => x.mean({ dim: 1 }, true)).toThrow('mean(): give keepdim once, in the options object or after dim');
    expect(() => x.argmax([0, 1] as never)).toThrow('argmax(): dim must be one number');
  });

  it("dtype 'int64' (and 'long') is accepted and narrowed to int32; a value int32 cannot hold is an error", () => {
    const labels = kiln.tensor([0, 3, -2147483648, 2147483647], { dtype: 'int64' });
    expect(labels.dtype).toBe('i32');
    expect(labels.tolist()).toEqual([0, 3, -2147483648, 2147483647]);
    expect(kiln.tensor([1.9, -1.9], { dtype: 'long' }).tolist()).toEqual([1, -1]);
    expect(() => kiln.tensor([1, 2 ** 31], { dtype: 'int64' })).toThrow(/dtype 'int64' is narrowed to int32, which cannot hold 2147483648 \(element 1\)/);
    expect(() => kiln.full([2], -(2 ** 40), { dtype: 'long' })).toThrow(/cannot hold/);
    expect(kiln.tensor([1.5, 2.5]).type('int64').tolist()).toEqual([1, 2]);
  });
});
