import { describe, expect, it } from 'vitest';
import * as kiln from '../../../src/index.js';

const { nn } = kiln;
const { DistributedDataParallel, InProcessGroup, ReplicaDriftError } = kiln.distributed;

// DistributedDataParallel's semantics, with replicas on the CPU in one thread (InProcessGroup):
// the worker-thread, WebGPU version is test/frontend/distributed/ddp-mnist.test.ts.

const net = (seed: number) => {
  kiln.manualSeed(seed);
  return new nn.Sequential(new nn.Linear(6, 16), new nn.Tanh(), new nn.Linear(16, 3));
};

/** A fixed regression batch of 8 rows. */
function batch(): { x: kiln.Tensor; y: kiln.Tensor } {
  const rng = new kiln.Random(5);
  const x = kiln.tensor(Array.from({ length: 8 }, () => Array.from({ length: 6 }, () => rng.normal())));
  const y = kiln.tensor(Array.from({ length: 8 }, () => Array.from({ length: 3 }, () => rng.normal())));
  return { x, y };
}

async function values(m: kiln.Module): Promise<number[][]> {
  return Promise.all(m.parameters().map(async (p) => Array.from((await p.to('cpu')).data.data as Float32Array)));
}

describe('DistributedDataParallel (in process, on the CPU)', () => {
  it('broadcasts rank 0 at the start; 2 replicas on half batches train as 1 model on the whole batch', async () => {
    const { x, y } = batch();
    const single = net(1);
    const opt1 = new kiln.optim.SGD(single.parameters(), { lr: 0.1, momentum: 0.9 });
    // Rank 1's replica starts from other weights: the broadcast replaces them with rank 0's.
    const replicas = await Promise.all(new InProcessGroup(2).ranks().map((group, r) => DistributedDataParallel.create(net(1 + 10 * r), { group, bucketCapMb: 0.0002 })));
    // Reverse parameter order; a bucket closes once it holds 52 floats or more.
    expect(replicas[0]!.bucketSizes).toEqual([3 + 48 + 16, 96]);
    expect(await values(replicas[1]!.module)).toEqual(await values(single));
    const opts = replicas.map((d) => new kiln.optim.SGD(d.parameters(), { lr: 0.1, momentum: 0.9 }));
    for (let step = 0; step < 20; step++) {
      opt1.zeroGrad();
      await kiln.mseLoss(single.call(x), y).backward();
      opt1.step();
      await Promise.all(replicas.map(async (d, r) => {
        opts[r]!.zeroGrad();
        await d.backward(kiln.mseLoss(d.call(x.chunk(2, 0)[r]!), y.chunk(2, 0)[r]!));
        opts[r]!.step();
      }));
    }
    await Promise.all(replicas.map((d) => d.checkInSync()));
    const want = await values(single);
    for (const d of replicas) {
      const got = await values(d.module);
      got.forEach((v, i) => v.forEach((g, k) => expect(Math.abs(g - want[i]![k]!)).toBeLessThan(1e-5)));
    }
  });

  it('a replica whose parameters drifted fails the check on every rank, naming the parameter and rank', async () => {
    const replicas = await Promise.all(new InProcessGroup(3).ranks().map((group) => DistributedDataParallel.create(net(2), { group })));
    await Promise.all(replicas.map((d) => d.checkInSync()));
    const w = replicas[2]!.module.parameters()[2]!;
    w.setData(w.add(1e-3));
    const checks = await Promise.allSettled(replicas.map((d) => d.checkInSync()));
    for (const c of checks) {
      expect(c.status).toBe('rejected');
      const e = (c as PromiseRejectedResult).reason as Error;
      expect(e).toBeInstanceOf(ReplicaDriftError);
      expect(e.message).toMatch(/parameter '2\.weight' on rank\(s\) 2 differs from rank 0's by up to 0\.001\d* \(tolerance 0\)/);
    }
    await Promise.all(replicas.map((d) => d.checkInSync({ atol: 2e-3 })));
  });

  it('refuses a parameter without a gradient, a module without trainable parameters, and no group', async () => {
    const [group] = new InProcessGroup(1).ranks();
    const m = net(3);
    const d = await DistributedDataParallel.create(m, { group });
    await kiln.mseLoss(m.call(batch().x), kiln.zeros([8, 3])).backward();
    (m.parameters()[0]!).grad = undefined;
    await expect(d.reduceGradients()).rejects.toThrow(/parameter '0\.weight' has no gradient after backward/);
    const frozen = net(3);
    for (const p of frozen.parameters()) p.requiresGrad = false;
    await expect(DistributedDataParallel.create(frozen, { group })).rejects.toThrow(/has no parameter that requires a gradient/);
    await expect(DistributedDataParallel.create(net(3))).rejects.toThrow(/Default process group has not been initialized/);
    await expect(DistributedDataParallel.create(net(3), { group, bucketCapMb: 0 })).rejects.toThrow(/bucketCapMb must be positive, got 0/);
  });
});
