import type { TensorData } from '../../ir/tensor-data.js';
import type { GpuDevice } from '../../runtime/device.js';
import type { EagerRunner } from '../../runtime/eager.js';

/**
 * A device buffer shared by the tensors that view it (a reshape aliases its input's buffer).
 * It is freed when the last of them is disposed or garbage-collected.
 */
export class GpuStorage {
  private refs = 0;

  constructor(
    readonly runner: EagerRunner,
    readonly buffer: GPUBuffer,
    /**
     * The host data the buffer was uploaded from, when it was (tensors are immutable, so it stays
     * true): a move back to the CPU then needs no readback, and trace can embed the values.
     */
    readonly host?: TensorData,
  ) {}

  get gpu(): GpuDevice {
    return this.runner.gpu;
  }

  /** True until the last tensor viewing it let go. */
  get alive(): boolean {
    return this.refs > 0;
  }

  retain(): void {
    this.refs++;
  }

  release(): void {
    if (--this.refs === 0) this.runner.free(this.buffer);
  }
}

// Held value: the storage (never the tensor, or the tensor could not be collected).
const collected = new FinalizationRegistry<GpuStorage>((s) => s.release());

/**
 * Makes `owner` hold `next` instead of `old` (either may be absent): until the next swap, or
 * until `owner` is garbage-collected. Retains before releasing, so swapping a storage for
 * itself never frees it.
 */
export function swapStorage(owner: object, old: GpuStorage | undefined, next: GpuStorage | undefined): void {
  next?.retain();
  if (old) {
    collected.unregister(owner);
    old.release();
  }
  if (next) collected.register(owner, next, owner);
}
