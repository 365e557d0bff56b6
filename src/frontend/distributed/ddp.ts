import { KilnError } from '../../ir/errors.js';
import { noGrad } from '../torch/autograd-tape.js';
import type { Module } from '../torch/module.js';
import { cat, Tensor } from '../torch/tensor.js';
import type { Collectives } from './collectives.js';
import { defaultGroup } from './process-group.js';
import { checkReplicasInSync } from './replica-check.js';

// Data-parallel training as torch.nn.parallel.DistributedDataParallel: one replica of the model
// per rank (a worker thread with its own device), each on its share of the batch. At creation
// rank 0's parameters and buffers are broadcast, so every replica starts the same; after each
// backward the gradients are averaged over the ranks, so every replica takes the same step and
// the replicas stay identical, and training equals one device on the whole batch.
//
// Gradients go in buckets of about `bucketCapMb` megabytes, in reverse parameter order (the order
// backward produces them in a feed-forward model), each concatenated on its device and read back
// once. kiln's backward computes every gradient in one program, so there is no hook per gradient
// as in PyTorch; what overlaps is the rest: every bucket's readback starts at once, and a bucket
// is reduced while later buckets are still being read back and earlier ones uploaded.

export interface DistributedDataParallelOptions {
  /** The ranks to average over (default: the default group of this worker). */
  readonly group?: Collectives;
  /** Bucket size in megabytes (2^20 bytes; default 25, as PyTorch). */
  readonly bucketCapMb?: number;
}

/** A gradient bucket: parameters whose gradients are reduced as one array. */
interface Bucket {
  readonly params: readonly { readonly name: string; readonly tensor: Tensor }[];
  readonly size: number;
}

export class DistributedDataParallel<M extends Module = Module> {
  /** The wrapped replica, as PyTorch's `ddp.module`. */
  readonly module: M;
  readonly group: Collectives;
  private readonly buckets: readonly Bucket[];

  /**
   * Wraps `module` (already on this rank's device) and broadcasts rank 0's parameters and float32
   * buffers to every rank. Every rank must call it, with replicas of the same architecture.
   */
  static async create<M extends Module>(module: M, opts: DistributedDataParallelOptions = {}): Promise<DistributedDataParallel<M>> {
    const ddp = new DistributedDataParallel(module, opts.group ?? defaultGroup(), opts.bucketCapMb ?? 25);
    await ddp.broadcastState();
    return ddp;
  }

  private constructor(module: M, group: Collectives, bucketCapMb: number) {
    if (!(bucketCapMb > 0)) throw new KilnError(`bucketCapMb must be positive, got ${bucketCapMb}`);
    this.module = module;
    this.group = group;
    const trained = module.namedParameters().filter(([, p]) => p.requiresGrad);
    if (!trained.length) throw new KilnError('DistributedDataParallel: the module has no parameter that requires a gradient');
    const devices = new Set(trained.map(([, p]) => p.device));
    if (devices.size > 1) throw new KilnError(`DistributedDataParallel: a replica lives on one device, but its parameters are on ${[...devices].join(', ')}`);
    for (const [name, p] of trained) {
      if (p.dtype !== 'f32') throw new KilnError(`DistributedDataParallel reduces float32 gradients; parameter '${name}' is ${p.dtype}`);
    }
    const cap = Math.max(1, Math.floor((bucketCapMb * 2 ** 20) / 4));
    const buckets: { name: string; tensor: Tensor }[][] = [[]];
    let filled = 0;
    for (const [name, tensor] of [...trained].reverse()) {
      if (filled >= cap) { buckets.push([]); filled = 0; }
      buckets[buckets.length - 1]!.push({ name, tensor });
      filled += tensor.numel();
    }
    this.buckets = buckets.map((params) => ({ params, size: params.reduce((n, p) => n + p.tensor.numel(), 0) }));
  }

  /** Runs the replica, as `module.call`. */
  call(...inputs: Tensor[]): Tensor {
    return (this.module as Module).call(...inputs);
  }

  parameters(): Tensor[] {
    return this.module.parameters();
  }

  /** How many parameters each gradient bucket holds, in reduction order. */
  get bucketSizes(): number[] {
    return this.buckets.map((b) => b.size);
  }

  /** `loss.backward()`, then the gradients averaged over the ranks: call it where a single device calls backward. */
  async backward(loss: Tensor): Promise<void> {
    await loss.backward();
    await this.reduceGradients();
  }

  /** Replaces every parameter's gradient with its mean over the ranks (every rank must call it). */
  async reduceGradients(): Promise<void> {
    for (const bucket of this.buckets) {
      const missing = bucket.params.find((p) => !p.tensor.grad);
      if (missing) {
        throw new KilnError(
          `DistributedDataParallel: parameter '${missing.name}' has no gradient after backward; every parameter must take part in ` +
          'the loss on every rank (a parameter that does not would leave the ranks waiting for each other)',
        );
      }
    }
    // The mean over one rank is its own gradient: a group of one trains exactly as a single device.
    if (this.group.worldSize === 1) return;
    const reads = this.buckets.map((b) => readBucket(b));
    // When one bucket fails, the later ones' outcomes are not awaited: keep them from being unhandled.
    for (const r of reads) r.catch(() => undefined);
    for (const [k, bucket] of this.buckets.entries()) {
      const flat = await reads[k]!;
      await this.group.allReduce(flat, 'mean');
      let at = 0;
      for (const { tensor } of bucket.params) {
        const n = tensor.numel();
        tensor.grad = Tensor.fromData({ dtype: 'f32', shape: tensor.shape, data: flat.slice(at, at + n) }, tensor.device);
        at += n;
      }
    }
  }

  /**
   * Fails, naming the parameter and the ranks, when a replica's parameters differ from rank 0's
   * by more than `atol` (default 0: replicas fed the same averaged gradients stay bit-identical).
   * Every rank must call it; it reads every parameter back.
   */
  checkInSync(opts: { atol?: number } = {}): Promise<void> {
    return checkReplicasInSync(this.module.namedParameters(), this.group, opts.atol ?? 0);
  }

  /** Copies rank 0's parameters and float32 buffers to every rank. */
  private async broadcastState(): Promise<void> {
    const state = [...this.module.parameters(), ...this.module.buffers()].filter((t) => t.dtype === 'f32');
    const values = await Promise.all(state.map(async (t) => (await t.to('cpu')).data.data as Float32Array));
    const flat = new Float32Array(values.reduce((n, v) => n + v.length, 0));
    let at = 0;
    for (const v of values) { flat.set(v, at); at += v.length; }
    await this.group.broadcast(flat, 0);
    if (this.group.rank === 0) return;
    at = 0;
    state.forEach((t) => {
      const n = t.numel();
      t.setData(Tensor.fromData({ dtype: 'f32', shape: t.shape, data: flat.slice(at, at + n) }, t.device));
      at += n;
    });
  }
}

/** A bucket's gradients, concatenated on their device and read back into a new array. */
async function readBucket(bucket: Bucket): Promise<Float32Array> {
  const grads = bucket.params.map(({ tensor }) => tensor.grad!);
  const joined = noGrad(() => cat(grads.map((g) => g.reshape(-1)), 0));
  const host = (await joined.to('cpu')).data.data as Float32Array;
  // A copy: the collective writes into it, and a CPU tensor's data may be a gradient's own.
  return Float32Array.from(host);
}
