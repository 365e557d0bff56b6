import type { Step } from './load.js';

/**
 * Compute passes timed on the device: a timestamp at the beginning and the end of each (needs
 * the `timestamp-query` feature). Made once for up to `passes` passes and reused by every
 * submit, so timing many runs creates nothing per run.
 */
export class TimedPasses {
  private constructor(
    private readonly device: GPUDevice,
    private readonly passes: number,
    private readonly querySet: GPUQuerySet,
    private readonly resolveBuffer: GPUBuffer,
    private readonly readBuffer: GPUBuffer,
  ) {}

  static create(device: GPUDevice, passes: number): TimedPasses {
    const slots = Math.max(1, passes);
    return new TimedPasses(
      device, passes,
      device.createQuerySet({ type: 'timestamp', count: 2 * slots }),
      device.createBuffer({ size: 16 * slots, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC }),
      device.createBuffer({ size: 16 * slots, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }),
    );
  }

  /** Begins timed pass `k` (below `passes`) on `encoder`. */
  begin(encoder: GPUCommandEncoder, k: number): GPUComputePassEncoder {
    return encoder.beginComputePass({ timestampWrites: { querySet: this.querySet, beginningOfPassWriteIndex: 2 * k, endOfPassWriteIndex: 2 * k + 1 } });
  }

  /** Submits `encoder`, whose passes 0 .. passes - 1 were all begun here, and returns each one's device time in ms. */
  async submit(encoder: GPUCommandEncoder): Promise<number[]> {
    const n = this.passes;
    if (n) {
      encoder.resolveQuerySet(this.querySet, 0, 2 * n, this.resolveBuffer, 0);
      encoder.copyBufferToBuffer(this.resolveBuffer, 0, this.readBuffer, 0, 16 * n);
    }
    this.device.queue.submit([encoder.finish()]);
    if (!n) return [];
    await this.readBuffer.mapAsync(GPUMapMode.READ);
    const ts = new BigUint64Array(this.readBuffer.getMappedRange().slice(0));
    this.readBuffer.unmap();
    return Array.from({ length: n }, (_, k) => Number(ts[2 * k + 1]! - ts[2 * k]!) / 1e6);
  }

  /**
   * Device ms of each step (up to `passes` of them), each in its own timed pass dispatched
   * `repeats` times back to back there (the mean is returned): timestamps may tick coarser than
   * a small kernel takes (65 us on lavapipe).
   */
  async timeSteps(steps: readonly Step[], repeats: number): Promise<number[]> {
    const encoder = this.device.createCommandEncoder();
    steps.forEach((s, i) => {
      const pass = this.begin(encoder, i);
      pass.setPipeline(s.pipeline);
      pass.setBindGroup(0, s.bindGroup);
      for (let r = 0; r < repeats; r++) pass.dispatchWorkgroups(...s.workgroups);
      pass.end();
    });
    return (await this.submit(encoder)).map((ms) => ms / repeats);
  }

  destroy(): void {
    this.querySet.destroy();
    this.resolveBuffer.destroy();
    this.readBuffer.destroy();
  }
}
