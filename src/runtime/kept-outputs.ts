import { numel } from '../ir/types.js';
import type { GpuDevice } from './device.js';
import { DeviceTensor } from './device-tensor.js';
import type { LoadedProgram, StateCopy } from './load.js';
import { deviceBufferBytes } from './program.js';

/** A run's outputs kept on the device (RunOptions.keep): the copies its commands end with, and the tensors they fill. */
export interface KeptOutputs {
  /** From each output's program buffer into a buffer of its own, encoded after the compute pass. */
  readonly copies: readonly StateCopy[];
  readonly tensors: Readonly<Record<string, DeviceTensor>>;
}

/**
 * A new buffer for each output `names` names (checked to be outputs), at its size for the sizes
 * `loaded` computes for: the program's own output buffers are overwritten by the next run, so a
 * kept output is copied out of them, on the device.
 */
export function keepOutputs(gpu: GpuDevice, loaded: LoadedProgram, names: readonly string[], label: string): KeptOutputs {
  const copies: StateCopy[] = [];
  const tensors = names.map((name) => {
    const r = loaded.readbacks.find((x) => x.output.name === name)!;
    const src = loaded.copies.find((c) => c.dstOffset === r.offset)!.src;
    const bytes = deviceBufferBytes(r.output.dtype, numel(r.output.shape));
    const dst = gpu.device.createBuffer({ size: bytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST, label: `${label}:kept:${name}` });
    copies.push({ src, dst, bytes });
    return [name, new DeviceTensor(gpu, dst, r.output.dtype, r.output.shape)] as const;
  });
  return { copies, tensors: Object.fromEntries(tensors) };
}
