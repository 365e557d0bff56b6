import { KilnError } from '../ir/errors.js';
import type { TensorData } from '../ir/tensor-data.js';
import { formatShapeType, numel, type DType, type Shape } from '../ir/types.js';
import type { GpuDevice } from './device.js';
import { fromDeviceBytes } from './host-data.js';
import { deviceBufferBytes } from './program.js';

/**
 * A tensor that stays in a device buffer: a run's output kept on the device (RunOptions.keep),
 * fed to a later run of any session on the same device as an input, which copies it on the device
 * instead of through the host. A decoder's KV cache, say, does not cross to the host each token.
 * Read it with `read()`; free it with `destroy()` (a run given a destroyed one fails). Its
 * `buffer` (STORAGE, COPY_SRC and COPY_DST usage) holds it as kiln's device buffers do (see
 * deviceBufferBytes: bool as u32).
 */
export class DeviceTensor {
  private freed = false;

  /**
   * @internal Made by a session's run on `gpu`; or wrapping a caller's buffer (`external`: ORT's
   * Tensor.fromGpuBuffer), whose device kiln cannot tell, read and freed by the caller's callbacks.
   */
  constructor(
    readonly gpu: GpuDevice | undefined,
    readonly buffer: GPUBuffer,
    readonly dtype: DType,
    readonly shape: Shape,
    private readonly external?: { readonly download?: () => Promise<TensorData['data']>; readonly dispose?: () => void },
  ) {}

  /** Its size in its buffer. */
  get bytes(): number {
    return deviceBufferBytes(this.dtype, numel(this.shape));
  }

  get destroyed(): boolean {
    return this.freed;
  }

  /**
   * Why a run on `gpu` (or, without one, anything) cannot read it, or undefined. (A caller's
   * buffer on another device is refused by WebGPU's validation when the run is submitted.)
   */
  problem(gpu?: GpuDevice): string | undefined {
    if (this.freed) return `its device tensor (${this.describe()}) was destroyed`;
    if (gpu && this.gpu && gpu !== this.gpu) return `its device tensor (${this.describe()}) lives on another device (copy it through the host with read())`;
    return undefined;
  }

  /** Its values on the host, after every run queued on its device so far has written it. */
  async read(): Promise<TensorData> {
    const why = this.problem();
    if (why) throw new KilnError(`read(): ${why}`);
    if (!this.gpu) {
      if (!this.external?.download) throw new KilnError(`read(): a Tensor made from a GPUBuffer without a download callback cannot be read (give Tensor.fromGpuBuffer's 'download')`);
      return { dtype: this.dtype, shape: [...this.shape], data: await this.external.download() };
    }
    this.gpu.assertUsable(`reading a device tensor (${this.describe()})`);
    return readDeviceBuffer(this.gpu.device, this.buffer, this.dtype, this.shape, 'device-tensor:read');
  }

  /**
   * Frees its buffer (a caller's buffer: calls its dispose callback, if any, instead): runs
   * already submitted still read it; a queued run that starts later fails. Idempotent.
   */
  destroy(): void {
    if (this.freed) return;
    this.freed = true;
    if (this.external) this.external.dispose?.();
    else this.buffer.destroy();
  }

  /** `f32[1,12,129,64]`. */
  describe(): string {
    return formatShapeType(this.dtype, this.shape);
  }
}

/** Copies device buffer `src` (holding a `dtype` tensor of `shape`) to the host, after the work queued on `device` so far. */
export async function readDeviceBuffer(device: GPUDevice, src: GPUBuffer, dtype: DType, shape: Shape, label: string): Promise<TensorData> {
  const bytes = deviceBufferBytes(dtype, numel(shape));
  const staging = device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label });
  try {
    const encoder = device.createCommandEncoder({ label });
    encoder.copyBufferToBuffer(src, 0, staging, 0, bytes);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    return fromDeviceBytes(dtype, shape, new Uint8Array(staging.getMappedRange()));
  } finally {
    if (staging.mapState === 'mapped') staging.unmap();
    staging.destroy();
  }
}
