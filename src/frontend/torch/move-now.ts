import { KilnError } from '../../ir/errors.js';
import { recordMove } from './autograd-tape.js';
import { deviceIndex } from './devices.js';
import { Tensor } from './tensor-core.js';
import { refuseTraceMove, type ToRequest } from './to-args.js';

// `t.to(device, { nonBlocking: true })`, as PyTorch's non_blocking: an upload from the host starts
// now and the device tensor is returned at once, not a Promise. The data is copied into the new
// buffer's mapped staging memory at once (so the host array may change afterwards; shared memory
// is fine there, where writeBuffer would crash dawn.node), and every op issued later on the device
// is queued after that copy, so it sees the data. A device still being acquired receives the
// upload when it is there (a pending tensor). A readback cannot be non-blocking: WebGPU makes
// reading a GPU's memory asynchronous.

/** The non-blocking move of `t` that `req` asks for. */
export function moveNow(t: Tensor, { device, dtype }: ToRequest): Tensor {
  const want = dtype ?? t.dtype;
  const there = device === undefined || device === 'cpu' ? device : `webgpu:${deviceIndex(device)}`;
  if (device === undefined || t.isSymbolic || there === t.device) {
    if (device !== undefined && t.isSymbolic) refuseTraceMove(t.device, device);
    return t.type(want);
  }
  if (t.deviceType !== 'cpu') {
    throw new KilnError(`to('${there}', { nonBlocking: true }) on a tensor on ${t.device}: reading a GPU's memory back is asynchronous in WebGPU, so only uploads from the CPU can be non-blocking; await t.to('${there}') without nonBlocking`);
  }
  const host = t.type(want);
  return recordMove(host, Tensor.fromData(host.data, device));
}
