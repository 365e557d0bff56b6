import { KilnError } from '../../ir/errors.js';
import type { TensorData } from '../../ir/tensor-data.js';
import { gpuDevice, type DType } from '../../ir/types.js';
import { GpuDevice } from '../../runtime/device.js';
import { recordMove } from './autograd-tape.js';
import { acquiredGpu, acquireSoon, deviceIndex, resolveGpu, type DeviceLike } from './devices.js';
import type { DTypeLike } from './dtype.js';
import { Tensor } from './tensor-core.js';
import { isNonBlocking, parseTo, type ToOptions } from './to-args.js';

// `t.to(...)`: moves between the CPU and WebGPU devices, awaited or non-blocking, and inside a
// trace a `transfer` node. Every move is recorded for autograd (the gradient moves back).

type Target = DeviceLike | DTypeLike | ToOptions | Tensor;
type Second = DTypeLike | ToOptions | undefined;

/** Implements `Tensor.to`: a Tensor for a non-blocking move, else a Promise (parse errors reject). */
export function moveTo(t: Tensor, target: Target, second: Second): Tensor | Promise<Tensor> {
  if (isNonBlocking(target) || isNonBlocking(second)) {
    const { device, dtype } = request(t, target, second);
    return moveNow(t, device, dtype ?? t.dtype);
  }
  return moveAwaited(t, target, second);
}

function request(t: Tensor, target: Target, second: Second): { device?: DeviceLike; dtype?: DType } {
  return parseTo(target instanceof Tensor ? { device: target.device, dtype: target.dtype } : target, second);
}

async function moveAwaited(t: Tensor, target: Target, second: Second): Promise<Tensor> {
  const { device, dtype } = request(t, target, second);
  const want = dtype ?? t.dtype;
  if (device === undefined) return t.type(want);
  if (t.isSymbolic) {
    if (device !== 'cpu') await resolveGpu(device);
    return traceMove(t, device, want);
  }
  await t.ready();
  t.assertConcrete('to()');
  if (device === 'cpu') return recordMove(t, await t.onHost()).type(want);
  const gpu = await resolveGpu(device);
  if (t.gpu === gpu) return t.type(want);
  // From the host (or another GPU device, through the host): convert there exactly, then upload.
  const host = recordMove(t, await t.onHost()).type(want);
  return recordMove(host, Tensor.upload(host.knownHostData()!, gpu));
}

/**
 * A move that returns at once. From the host it is an upload (waiting for the device if it is
 * still being acquired); between WebGPU devices the result waits for the readback from the
 * source and uploads once it is there, while ops on it are deferred until then.
 */
function moveNow(t: Tensor, device: DeviceLike | undefined, want: DType): Tensor {
  if (device === undefined) return t.type(want);
  if (t.isSymbolic) return traceMove(t, device, want);
  t.assertConcrete('to()');
  if (device === 'cpu') {
    if (t.deviceType === 'cpu') return t.type(want);
    throw new KilnError(`to('cpu', { nonBlocking: true }): a move to the CPU is a readback, which must be awaited: \`await t.to('cpu')\``);
  }
  const index = deviceIndex(device);
  if (t.device === `webgpu:${index}`) return t.type(want);
  if (t.deviceType === 'cpu') {
    const host = t.type(want);
    return recordMove(host, Tensor.fromData(host.knownHostData()!, device));
  }
  if (!(device instanceof GpuDevice)) acquireSoon(index);
  const box: { data?: TensorData } = {};
  // A concrete source is read at once, so a later in-place update (an optimizer step) cannot change what moves.
  const read = t.isPending ? t.ready().then(() => t.onHost()) : t.onHost();
  const until = read.then((h) => { box.data = h.knownHostData()!; });
  until.catch(() => undefined); // reported where the result is awaited or used
  const moved = Tensor.pending(t.dtype, t.shape, index, (gpu) => Tensor.upload(box.data!, gpu), undefined, {
    until, arrived: () => box.data !== undefined,
  });
  return recordMove(t, moved).type(want);
}

/** A move inside a trace: a `transfer` node to the device (none when it is already there). */
function traceMove(t: Tensor, device: DeviceLike, want: DType): Tensor {
  const here = t.device;
  const index = device === 'cpu' ? undefined : deviceIndex(device);
  const there = index === undefined ? 'cpu' : `webgpu:${index}`;
  if (there === here) return t.type(want);
  const gpu = index === undefined ? undefined : device instanceof GpuDevice ? device : acquiredGpu(index);
  if (index !== undefined && !gpu) {
    throw new KilnError(`to('${there}') inside trace(): ${there} is not acquired yet; await kiln.webgpu.device(${index}) before tracing, or await the move`);
  }
  const g = t.traceGraph!;
  const v = g.addNode('transfer', [t.value], {}, { device: index === undefined ? 'cpu' : gpuDevice(index) }).output;
  return Tensor.symbolic(g, v, gpu ? { device: 'webgpu', gpu } : { device: 'cpu' }).type(want);
}
