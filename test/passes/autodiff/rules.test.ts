import { describe, expect, it, vi } from 'vitest';
import { allOps } from '../../../src/ir/ops/index.js';
import { gradRules } from '../../../src/passes/autodiff/rules.js';
import { NON_DIFFERENTIABLE } from '../../../src/passes/autodiff/non-differentiable.js';
import { useGpu } from '../../helpers/gpu.js';
import { hasGpuLowering } from '../../../src/codegen/lower/index.js';
import { backward, checkAgainstFiniteDifferences, checkGpuAgainstCpu, gradProblem } from './grad-check.js';
import { GRAD_CASES } from './grad-cases.js';

// The float64 reference: while the switch is on, the CPU kernels' f32 buffers are Float64Array.
const float64 = vi.hoisted(() => ({ on: false }));
vi.mock('../../../src/ir/types.js', async (importOriginal) => {
  const types = await importOriginal<typeof import('../../../src/ir/types.js')>();
  return { ...types, allocTyped: (dtype: Parameters<typeof types.allocTyped>[0], n: number) => (float64.on && dtype === 'f32' ? new Float64Array(n) : types.allocTyped(dtype, n)) };
});

describe('gradient rules', () => {
  it('cover every op: each has a rule or is marked non-differentiable with a reason, never both', () => {
    const ops = allOps().map((o) => o.name);
    const missing = ops.filter((op) => !gradRules[op] && !NON_DIFFERENTIABLE[op]);
    const both = ops.filter((op) => gradRules[op] && NON_DIFFERENTIABLE[op]);
    const unknown = [...Object.keys(gradRules), ...Object.keys(NON_DIFFERENTIABLE)].filter((op) => !ops.includes(op));
    expect({ missing, both, unknown }).toEqual({ missing: [], both: [], unknown: [] });
    expect(Object.values(NON_DIFFERENTIABLE).every((why) => why.length > 10)).toBe(true);
  });

  it('each have a finite-difference case', () => {
    expect(new Set(GRAD_CASES.map((c) => c.op))).toEqual(new Set(Object.keys(gradRules)));
  });

  it('of ops the device runs give backward graphs the device runs (one Program, no CPU segment)', () => {
    const onDevice = GRAD_CASES.filter((c) => hasGpuLowering(c.op) && !c.cpuFallback);
    const offDevice = onDevice.flatMap((c, i) => {
      const { g, wrt } = gradProblem(c, i);
      return backward(g, wrt).nodes.filter((n) => n.op !== 'const' && !hasGpuLowering(n.op)).map((n) => `${c.op}: ${n.op}`);
    });
    expect(offDevice).toEqual([]);
  });

  GRAD_CASES.forEach((c, i) => {
    it(`${c.op} ${JSON.stringify(c.attrs ?? {})}: the rule matches float64 finite differences on the CPU`, () => checkAgainstFiniteDifferences(c, 17 + i, float64));
  });

  describe('on the adapter', () => {
    const gpu = useGpu();
    GRAD_CASES.forEach((c, i) => {
      it(`${c.op} ${JSON.stringify(c.attrs ?? {})}: the backward graph matches the CPU reference`, () => checkGpuAgainstCpu(gpu(), c, 17 + i));
    });
  });
});
