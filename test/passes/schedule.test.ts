import { describe, expect, it } from 'vitest';
import { deepestBranchFirst, scheduleForMemory, type ScheduleProblem } from '../../src/passes/schedule.js';
import { Random } from '../../src/frontend/torch/random.js';
import { expectPass } from './helpers.js';

const W = '{value = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]} : f32[16,1] @webgpu';

/** A fork whose wide branch (%b, 256 bytes) runs first, then the narrow one (%a, 16 bytes). */
const wideFirst = `
  graph g(%x: f32[4,16] @webgpu) -> (f32[4,1] @webgpu) {
    %b = exp(%x) : f32[4,16] @webgpu
    %w = const() ${W}
    %c = matmul(%b, %w) : f32[4,1] @webgpu
    %a = matmul(%x, %w) : f32[4,1] @webgpu
    %d = add(%a, %c) : f32[4,1] @webgpu
    return %d
  }`;

describe('schedule', () => {
  it('runs the branch holding a wide intermediate first, and moves a constant to its first reader', () => {
    // Listed order: %a (16 bytes) stays alive while %b (256) and %c run: three scratch slots.
    // Wide branch first: %a takes %b's slot once %b is dead, 272 bytes instead of 288.
    expectPass(scheduleForMemory, `
      graph g(%x: f32[4,16] @webgpu) -> (f32[4,1] @webgpu) {
        %w = const() ${W}
        %a = matmul(%x, %w) : f32[4,1] @webgpu
        %b = exp(%x) : f32[4,16] @webgpu
        %c = matmul(%b, %w) : f32[4,1] @webgpu
        %d = add(%a, %c) : f32[4,1] @webgpu
        return %d
      }`, wideFirst);
  });

  it('leaves an order alone when no other order needs less memory (its own output)', () => {
    expectPass(scheduleForMemory, wideFirst, wideFirst);
  });

  it('never moves a node across a transfer, so device segments stay as placed', () => {
    const text = `
      graph g(%x: f32[4,16] @webgpu) -> (f32[4,1] @cpu) {
        %w = const() ${W}
        %a = matmul(%x, %w) : f32[4,1] @webgpu
        %t = transfer(%a) : f32[4,1] @cpu
        %n = neg(%t) : f32[4,1] @cpu
        %b = exp(%x) : f32[4,16] @webgpu
        %c = matmul(%b, %w) : f32[4,1] @webgpu
        %u = transfer(%c) : f32[4,1] @cpu
        %d = add(%n, %u) : f32[4,1] @cpu
        return %d
      }`;
    expectPass(scheduleForMemory, text, text);
  });
});

/** A random DAG of `n` nodes in topological order, with random sizes. */
function randomProblem(rng: Random, n: number): ScheduleProblem {
  const preds = Array.from({ length: n }, (_, i) => [...new Set(Array.from({ length: Math.floor(rng.next() * 3) }, () => Math.floor(rng.next() * i)))].filter((q) => q < i));
  return { preds, allocates: preds.map(() => 1 + Math.floor(rng.next() * 100)) };
}

const isTopological = (p: ScheduleProblem, order: readonly number[]) =>
  order.length === p.preds.length && new Set(order).size === order.length
  && order.every((i, k) => p.preds[i]!.every((q) => order.indexOf(q) < k));

describe('deepestBranchFirst', () => {
  it('orders every node of 200 random graphs after its inputs', () => {
    const rng = new Random(12);
    for (let t = 0; t < 200; t++) {
      const p = randomProblem(rng, 1 + (t % 40));
      expect(isTopological(p, deepestBranchFirst(p))).toBe(true);
    }
  });

  it('runs the branch that needs more memory first, whole, then the other', () => {
    // 4 <- {1 <- 0, 3 <- 2}: branch 2 -> 3 holds 100 bytes on the way, branch 0 -> 1 only 10.
    const p: ScheduleProblem = { preds: [[], [0], [], [2], [1, 3]], allocates: [10, 5, 100, 5, 1] };
    expect(deepestBranchFirst(p)).toEqual([2, 3, 0, 1, 4]);
  });
});
