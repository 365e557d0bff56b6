import { expect } from 'vitest';
import type * as kiln from '../../src/index.js';

// Comparing a tensor's values with a reference computed in float64, for the layer and function
// tests that check kiln against PyTorch's documented definitions.

/** A tensor's values, flattened (it must be on the CPU). */
export function flat(t: kiln.Tensor): number[] {
  return [t.tolist()].flat(8) as number[];
}

/** Each value within atol + rtol |want| of the reference (atol defaults to rtol); NaN where the reference is NaN. */
export function expectNear(got: readonly number[], want: readonly number[], what: string, { rtol = 2e-6, atol = rtol }: { rtol?: number; atol?: number } = {}): void {
  expect(got, what).toHaveLength(want.length);
  got.forEach((g, i) => {
    const w = want[i]!;
    if (Number.isNaN(w)) expect(g, `${what} [${i}]`).toBeNaN();
    else expect(Math.abs(g - w), `${what} [${i}]: ${g} vs ${w}`).toBeLessThanOrEqual(atol + rtol * Math.abs(w));
  });
}
