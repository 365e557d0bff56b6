import type { Attrs } from '../../ir/attrs.js';
import { KilnError } from '../../ir/errors.js';
import type { Graph } from '../../ir/graph.js';
import { getOp } from '../../ir/ops/index.js';
import type { Device, DType } from '../../ir/types.js';
import { runOnCpu } from '../../runtime/cpu/executor.js';
import { autocastOperands } from './amp/autocast.js';
import { recordOp } from './autograd-tape.js';
import { hasGpuLowering } from '../../codegen/lower/index.js';
import type { GpuDevice } from '../../runtime/device.js';
import { requireDTypeOn } from './devices.js';
import { torchDTypeName } from './dtype.js';
import { eagerProgram, opGraph } from './eager-ops.js';
import { hostTensorData } from './host-values.js';
import { GpuStorage } from './storage.js';
import { Tensor } from './tensor-core.js';

// How a tensor op runs: recorded into the graph being traced, or computed at once on the
// operands' device (the CPU reference kernels, or the WebGPU kernels compiled models use).

/**
 * The graph being traced, like PyTorch's tracing state: while `trace` runs a model, every op
 * is recorded (ops on parameters alone too, so `weight.t()` stays visible for the compiler to
 * fold) instead of being computed eagerly. `device` is where the traced graph is placed.
 */
export const tracing: { graph: Graph | undefined; device: Device } = { graph: undefined, device: 'webgpu' };

/**
 * Where an op on concrete tensors alone (a parameter's `t()`) goes in the traced graph: on the
 * traced graph's device, unless the tensors sit on another WebGPU device of a model split across
 * several (`webgpu:1`, ...), which the graph then names.
 */
function traceDevice(t: Tensor): Device {
  return t.deviceType === 'webgpu' && t.device !== 'webgpu:0' ? (t.device as Device) : tracing.device;
}

/**
 * Tensors standing in for others while one replica of a module runs (DataParallel): each op reads
 * the replica's copy of a parameter or buffer on its device instead of the original.
 */
export const replicaScope: { current: ReadonlyMap<Tensor, Tensor> | undefined } = { current: undefined };

/** The tensor an op reads for `t`: its replica's copy while a replica runs, else `t`. */
function replicaOf(t: Tensor): Tensor {
  return replicaScope.current?.get(t) ?? t;
}

/** Throws PyTorch's error when the operands of `op` sit on different devices. */
function checkSameDevice(op: string, inputs: readonly Tensor[]): void {
  const first = inputs[0];
  if (!first) return;
  const a = first.deviceName;
  for (const t of inputs) {
    const b = t.deviceName;
    if (b !== a) {
      throw new KilnError(`Expected all tensors to be on the same device, but found at least two devices, ${a} and ${b}! (when checking arguments for ${op})`);
    }
  }
}

/**
 * Applies an op with one result: into the trace graph when any operand is symbolic (or a trace
 * is running), else eagerly on the operands' device. The op's inference gives the same shape
 * and dtype errors either way.
 */
export function apply(op: string, inputs: readonly Tensor[], attrs: Attrs = {}): Tensor {
  const outs = applyMulti(op, inputs, attrs);
  if (outs.length !== 1) throw new KilnError(`internal: ${op} has ${outs.length} results; use applyMulti`);
  return outs[0]!;
}

/** Applies an op and returns all its results (split has several). */
export function applyMulti(op: string, operands: readonly Tensor[], attrs: Attrs = {}): Tensor[] {
  const inputs = autocastArgs(op, replicaScope.current ? operands.map(replicaOf) : operands);
  for (const t of inputs) if (t.isDisposed) t.assertConcrete(op);
  checkSameDevice(op, inputs);
  const traced = inputs.find((t) => t.isSymbolic);
  const g = traced?.traceGraph ?? tracing.graph;
  if (g) {
    const device = traced ? traced.value.type.device : inputs[0] ? traceDevice(inputs[0]) : tracing.device;
    const node = g.addNode(op, inputs.map((t) => t.valueIn(g, device)), attrs);
    const like = traced ?? inputs[0];
    return node.outputs.map((v) => Tensor.symbolic(g, v, like));
  }
  const waiting = inputs.find((t) => !t.trySettle());
  const gpu = inputs[0]?.deviceType === 'webgpu';
  const outs = waiting ? deferred(op, inputs, attrs, waiting) : gpu && !hasGpuLowering(op) ? viaHost(op, inputs, attrs) : gpu ? runOnGpu(op, inputs, attrs) : runOnHost(op, inputs, attrs);
  return recordOp(op, inputs, attrs, outs);
}

/** The operands of `op` as the autocast region running (if any) casts them (see amp/autocast.ts). */
export function autocastArgs(op: string, inputs: readonly Tensor[]): readonly Tensor[] {
  return autocastOperands(op, inputs, autocastTo, onDevice);
}

/** Whether an op on `t` runs on WebGPU: its device, or, inside a trace, the graph's. */
function onDevice(t: Tensor): boolean {
  if (t.isSymbolic) return t.value.type.device !== 'cpu';
  return tracing.graph ? traceDevice(t) !== 'cpu' : t.deviceType === 'webgpu';
}

/** A cast autocast makes: recorded for autograd, and a node of the graph while tracing. */
function autocastTo(t: Tensor, to: DType): Tensor {
  const gpu = t.isSymbolic ? undefined : t.gpu;
  if (gpu && to === 'f16') requireDTypeOn(gpu, 'f16', "autocast('webgpu') computing in float16");
  // A concrete tensor inside a trace (a bound parameter) is cast by a node, so the graph reads the parameter.
  return t.isSymbolic || tracing.graph ? apply('cast', [t], { to }) : t.type(to);
}

/**
 * An op on a tensor whose device is still being acquired, or whose values are still on their way
 * from another device: its results (typed now, so errors come at once) are computed on the device
 * once it and the operands are there, when one of them is awaited or used.
 */
function deferred(op: string, inputs: readonly Tensor[], attrs: Attrs, waiting: Tensor): Tensor[] {
  const { node } = opGraph(op, inputs, attrs, 'webgpu');
  let results: Tensor[] | undefined;
  const index = Number(waiting.deviceName.slice('webgpu:'.length));
  const until = Promise.all(inputs.map((t) => t.ready()));
  until.catch(() => undefined); // reported where a result is awaited
  const arrival = { until, arrived: () => inputs.every((t) => t.trySettle()) };
  return node.outputs.map((v, k) => Tensor.pending(v.type.dtype, v.type.shape, index, () => (results ??= applyMulti(op, inputs, attrs))[k]!, undefined, arrival));
}

/**
 * An op without a WebGPU kernel (det, linear_attention, ...) on WebGPU tensors, as
 * placement runs it in a compiled program: the operands are read back, the op runs on the host
 * and its results are uploaded to the operands' device. The results (typed now, so errors come at
 * once) are pending until then, as a deferred op's are.
 */
function viaHost(op: string, inputs: readonly Tensor[], attrs: Attrs): Tensor[] {
  const { node } = opGraph(op, inputs, attrs, 'webgpu');
  const index = Number(inputs[0]!.deviceName.slice('webgpu:'.length));
  let host: Tensor[] | undefined;
  // Detached: the read-back is no op of the user's to differentiate (the op itself is recorded below).
  const until = Promise.all(inputs.map((t) => t.detach().to('cpu'))).then((h) => { host = h; });
  until.catch(() => undefined); // reported where a result is awaited
  let results: Tensor[] | undefined;
  const make = (gpu: GpuDevice, k: number) => (results ??= runOnHost(op, host!, attrs).map((r) => Tensor.upload(r.data, gpu)))[k]!;
  return node.outputs.map((v, k) => Tensor.pending(v.type.dtype, v.type.shape, index, (gpu) => make(gpu, k), undefined, { until, arrived: () => host !== undefined }));
}

/** Ops whose CPU kernels handle f16 (raw bits): data movement copies bits; cast decodes and rounds. */
function cpuHandlesF16(op: string): boolean {
  return op === 'cast' || getOp(op).kind === 'movement';
}

function runOnHost(op: string, inputs: readonly Tensor[], attrs: Attrs): Tensor[] {
  const { graph, node } = opGraph(op, inputs, attrs, 'cpu');
  const types = [...node.inputs, ...node.outputs].map((v) => v.type);
  if (!cpuHandlesF16(op) && types.some((t) => t.dtype === 'f16')) {
    throw new KilnError(
      `${op} on float16 tensors is not supported on the CPU yet (the CPU reference kernels compute in float32): ` +
      `compute it on WebGPU (\`await t.to('webgpu')\`), or convert with .float() first`,
    );
  }
  const outs = runOnCpu(graph, Object.fromEntries(inputs.map((t, i) => [`in${i}`, t.data])));
  return node.outputs.map((v) => Tensor.fromData(outs[v.name]!));
}

function runOnGpu(op: string, inputs: readonly Tensor[], attrs: Attrs): Tensor[] {
  const storages = inputs.map((t) => t.gpuStorage(op));
  const runner = storages[0]!.runner;
  const { program, node, sizes } = eagerProgram(op, inputs, attrs);
  const outs = runner.run(program, storages.map((s) => s.buffer), op, sizes);
  const fresh = new Map<GPUBuffer, GpuStorage>();
  return outs.map((o, i) => {
    const t = node.outputs[i]!.type;
    let storage = o.aliasOf !== undefined ? storages[o.aliasOf]! : fresh.get(o.buffer);
    if (!storage) fresh.set(o.buffer, (storage = new GpuStorage(runner, o.buffer)));
    return Tensor.fromGpu(storage, t.dtype, t.shape);
  });
}

/** A two-operand op; a number operand becomes a scalar constant like `a` (and is freed after use). */
export function binary(op: string, a: Tensor, b: Tensor | number): Tensor {
  if (typeof b !== 'number') return apply(op, [a, b]);
  const s = scalarLike(replicaOf(a), b);
  let result: Tensor | undefined;
  try {
    return (result = apply(op, [a, s]));
  } finally {
    // Its buffer may go as soon as the op is submitted; the device frees it after use. An op
    // computed later (its operand still pending) reads it then: it is left to the collector.
    if (s.deviceType === 'webgpu' && !result?.isPending) s.dispose();
  }
}

/** A scalar constant of `dtype` (by default `ref`'s), on `ref`'s device (or in its trace). */
export function scalarLike(ref: Tensor, v: number, dtype: DType = ref.dtype): Tensor {
  if ((dtype === 'i32' || dtype === 'u32') && !Number.isInteger(v)) {
    throw new KilnError(`the scalar ${v} is not an integer, but the tensor is ${torchDTypeName(dtype)} (convert the tensor with .float() first)`);
  }
  return ref.constantLike(hostTensorData(dtype, [], [v]));
}
