import { describe, expect, it } from 'vitest';
import { KilnError } from '../../src/ir/errors.js';
import type { TensorData } from '../../src/ir/tensor-data.js';
import { readOutputs } from '../../src/runtime/read-outputs.js';
import { Session } from '../../src/runtime/session.js';
import { useGpu } from '../helpers/gpu.js';
import { vectorAdd } from '../helpers/programs.js';

// Staging bytes as a run maps them: f32 'y' [3] at 0, bool '__proto__' [2] (u32 words) at 16.
function staged(): Uint8Array {
  const words = new ArrayBuffer(24);
  new Float32Array(words, 0, 3).set([1.5, -2, 3]);
  new Uint32Array(words, 16, 2).set([1, 0]);
  return new Uint8Array(words);
}
const readbacks = [
  { output: { name: 'y', dtype: 'f32' as const, shape: [3], buffer: 0 }, offset: 0 },
  { output: { name: '__proto__', dtype: 'bool' as const, shape: [2], buffer: 1 }, offset: 16 },
];

describe('readOutputs', () => {
  it('copies each output into a new array, or into the one given for it', () => {
    const fresh = readOutputs(staged(), readbacks, undefined);
    expect(Array.from(fresh['y']!.data)).toEqual([1.5, -2, 3]);
    expect(Object.prototype.hasOwnProperty.call(fresh, '__proto__')).toBe(true);
    expect(Array.from(fresh['__proto__']!.data)).toEqual([1, 0]);
    const y = new Float32Array(3);
    const mask = new Uint8Array(2).fill(9);
    const given = readOutputs(staged(), readbacks, { y, __proto__: mask } as Record<string, Float32Array | Uint8Array>);
    expect(given['y']!.data).toBe(y);
    expect(Array.from(y)).toEqual([1.5, -2, 3]);
    expect(given['__proto__']!.data).toBe(mask);
    expect(Array.from(mask)).toEqual([1, 0]);
  });

  it('refuses an array of the wrong dtype or length, naming the output, before writing any', () => {
    const y = new Float32Array(3).fill(7);
    expect(() => readOutputs(staged(), readbacks, { y, ['__proto__']: new Int32Array(2) } as Record<string, Float32Array | Int32Array>))
      .toThrow(/output '__proto__' \(into\): bool data must be a Uint8Array, got Int32Array/);
    expect(Array.from(y)).toEqual([7, 7, 7]);
    expect(() => readOutputs(staged(), readbacks, { y: new Float32Array(4) })).toThrow(/output 'y' \(into\): shape \[3\] has 3 elements but the data has 4/);
  });
});

describe('Session.run into the caller\'s arrays', () => {
  const gpu = useGpu();
  const n = 1000;
  const vec = (f: (i: number) => number): TensorData => ({ dtype: 'f32', shape: [n], data: Float32Array.from({ length: n }, (_, i) => f(i)) });

  it('reads each run into the same array, and returns it as the data', async () => {
    const session = await Session.create(gpu(), vectorAdd(n));
    try {
      const sum = new Float32Array(n);
      for (let k = 0; k < 3; k++) {
        const out = await session.run({ a: vec((i) => i), b: vec(() => k) }, { into: { sum } });
        expect(out['sum']!.data).toBe(sum);
        expect(sum[10]).toBe(10 + k);
        expect(sum[n - 1]).toBe(n - 1 + k);
      }
    } finally {
      session.destroy();
    }
  });

  it('refuses at run() what it cannot read into: unknown, unread or kept outputs, and non-arrays', async () => {
    const session = await Session.create(gpu(), vectorAdd(n));
    const inputs = { a: vec(() => 1), b: vec(() => 2) };
    try {
      await expect(session.run(inputs, { into: { total: new Float32Array(n) } })).rejects.toThrow(/has no output\(s\) 'total' \(outputs: sum\)/);
      await expect(session.run(inputs, { outputs: [], into: { sum: new Float32Array(n) } })).rejects.toThrow(/output\(s\) 'sum' given arrays to read into \(into\) are not read back by this run/);
      await expect(session.run(inputs, { keep: ['sum'], into: { sum: new Float32Array(n) } })).rejects.toThrow(KilnError);
      await expect(session.run(inputs, { into: { sum: [0, 1] as unknown as Float32Array } })).rejects.toThrow(/into: output\(s\) 'sum' must be given typed arrays/);
      // The wrong length is found when the run's shapes are: the run fails, the array untouched.
      const short = new Float32Array(n - 1).fill(5);
      await expect(session.run(inputs, { into: { sum: short } })).rejects.toThrow(/output 'sum' \(into\): shape \[1000\] has 1000 elements but the data has 999/);
      expect(short[0]).toBe(5);
      // The session still runs.
      expect((await session.run(inputs))['sum']!.data[0]).toBe(3);
    } finally {
      session.destroy();
    }
  });
});
