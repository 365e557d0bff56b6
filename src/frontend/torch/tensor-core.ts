import { KilnError } from '../../ir/errors.js';
import type { Graph, Value } from '../../ir/graph.js';
import type { TensorData } from '../../ir/tensor-data.js';
import { formatShapeType, isFloat, numel, type DType, type Shape } from '../../ir/types.js';
import { GpuDevice } from '../../runtime/device.js';
import { EagerRunner } from '../../runtime/eager.js';
import { noGrad, recordOp, type GradFn } from './autograd-tape.js';
import { acquiredGpu, acquireSoon, deviceIndex, gpuName, requireDTypeOn, resolveGpu, type DeviceLike } from './devices.js';
import { normDim } from './dims.js';
import { parseDType, torchDTypeName, type DTypeLike } from './dtype.js';
import { castOnHost, hostValues, nestedValues } from './host-values.js';
import { GpuStorage, swapStorage } from './storage.js';
import { apply } from './tensor-apply.js';
import { CPU, type Arrival, type Impl, type Place } from './tensor-impl.js';
import type { NonBlocking, ToOptions } from './to-args.js';
import { moveTo } from './tensor-move.js';

// The Tensor class: what a tensor is (host data, a device buffer, a traced value), its
// properties, autograd state, and moving between devices and dtypes. Its op methods come in
// families (tensor-math.ts, tensor-shape.ts, tensor-reduce.ts, tensor-trace.ts), added to the
// class by tensor.ts, which is what the rest of kiln imports.

/**
 * A tensor of the PyTorch-like API. A concrete tensor lives on the CPU (host data, computed by
 * the reference kernels) or on a WebGPU device (a device buffer, computed there at once by the
 * same kernels compiled models use). A symbolic tensor is a value of a graph being traced:
 * operations on it add nodes, and concrete operands met there become constants of that graph.
 * Tensors are immutable; device buffers are freed by `dispose()` or when garbage-collected.
 */
export class Tensor {
  private impl: Impl;
  /** Name of the parameter or buffer this tensor is, for IR refs and state dicts. */
  public paramName?: string;
  private wantsGrad = false;
  private producer: GradFn | undefined;
  /** The gradient accumulated into this leaf by `backward()` (undefined until then, or after zeroGrad). */
  grad: Tensor | undefined;

  private constructor(impl: Impl) {
    this.impl = impl;
    if (impl.kind === 'gpu') swapStorage(this, undefined, impl.storage);
  }

  /**
   * A concrete tensor over host data, on the CPU or uploaded to a WebGPU device; a device not
   * acquired yet is acquired meanwhile, and the upload waits for it.
   */
  static fromData(data: TensorData, device: DeviceLike = 'cpu'): Tensor {
    if (device === 'cpu') return new Tensor({ kind: 'host', data });
    const index = deviceIndex(device);
    const gpu = device instanceof GpuDevice ? device : acquiredGpu(index);
    if (gpu) return Tensor.upload(data, gpu);
    acquireSoon(index);
    return Tensor.pending(data.dtype, data.shape, index, (d) => Tensor.upload(data, d), data);
  }

  /** @internal A tensor on device `index` (being acquired) that `make` computes once it is there. */
  static pending(dtype: DType, shape: Shape, index: number, make: (gpu: GpuDevice) => Tensor, host?: TensorData, arrival?: Arrival): Tensor {
    return new Tensor({ kind: 'pending', dtype, shape: [...shape], index, make, ...(host ? { host } : {}), ...arrival });
  }

  /** @internal Whether this tensor waits for its device to be acquired. */
  get isPending(): boolean {
    return this.impl.kind === 'pending';
  }

  /** @internal Computes a pending tensor if its device is there now; true when it is concrete. */
  trySettle(): boolean {
    const i = this.impl;
    if (i.kind !== 'pending') return true;
    const gpu = acquiredGpu(i.index);
    if (!gpu || (i.arrived && !i.arrived())) return false;
    this.setData(noGrad(() => i.make(gpu)));
    return true;
  }

  /** @internal Waits for a pending tensor's device and computes it. */
  async ready(): Promise<void> {
    const i = this.impl;
    if (i.kind !== 'pending') return;
    await i.until;
    await resolveGpu(`webgpu:${i.index}`);
    this.trySettle();
  }

  /** Copies host data to `gpu` (the host data is kept: tensors are immutable). */
  static upload(data: TensorData, gpu: GpuDevice): Tensor {
    requireDTypeOn(gpu, data.dtype, `moving a ${torchDTypeName(data.dtype)} tensor to ${gpuName(gpu)}`);
    const runner = EagerRunner.for(gpu);
    const storage = new GpuStorage(runner, runner.upload(data), data);
    return new Tensor({ kind: 'gpu', storage, dtype: data.dtype, shape: [...data.shape] });
  }

  /** @internal A tensor viewing device buffer `storage` (the result of an eager op). */
  static fromGpu(storage: GpuStorage, dtype: DType, shape: Shape): Tensor {
    return new Tensor({ kind: 'gpu', storage, dtype, shape: [...shape] });
  }

  /**
   * A symbolic tensor standing for value `v` of graph `g` (used by trace); `like` is the example
   * tensor it stands for, whose device it takes for device checks (the CPU when absent), or
   * that device itself.
   */
  static symbolic(g: Graph, v: Value, like?: Tensor | Place): Tensor {
    return new Tensor({ kind: 'symbolic', graph: g, value: v, place: like instanceof Tensor ? like.place : like ?? CPU });
  }

  get dtype(): DType {
    const i = this.impl;
    return i.kind === 'host' ? i.data.dtype : i.kind === 'symbolic' ? i.value.type.dtype : i.dtype;
  }

  get shape(): Shape {
    const i = this.impl;
    return i.kind === 'host' ? i.data.shape : i.kind === 'symbolic' ? i.value.type.shape : i.shape;
  }

  /**
   * The device, with its index as PyTorch keeps it: `'cpu'` or `'webgpu:0'`, `'webgpu:1'`, ...
   * (for a symbolic tensor: the device of the tensor it stands for). `t.to(other.device)` moves
   * a tensor next to another.
   */
  get device(): 'cpu' | `webgpu:${number}` {
    if (this.impl.kind === 'pending') return `webgpu:${this.impl.index}`;
    const p = this.place;
    return p.device === 'cpu' ? 'cpu' : gpuName(p.gpu);
  }

  /** The kind of device, like PyTorch's `t.device.type`: 'cpu' or 'webgpu'. */
  get deviceType(): 'cpu' | 'webgpu' {
    return this.impl.kind === 'pending' ? 'webgpu' : this.place.device;
  }

  /** The device as messages name it (the same as `device`). */
  get deviceName(): string {
    return this.device;
  }

  /** The WebGPU device a webgpu tensor lives on (undefined while that device is being acquired). */
  get gpu(): GpuDevice | undefined {
    if (!this.trySettle()) return undefined;
    const p = this.place;
    return p.device === 'webgpu' ? p.gpu : undefined;
  }

  get isSymbolic(): boolean {
    return this.impl.kind === 'symbolic';
  }

  get isDisposed(): boolean {
    return this.impl.kind === 'disposed';
  }

  /** Host contents of a CPU tensor. */
  get data(): TensorData {
    return this.hostData('.data');
  }

  /** The graph value of a symbolic tensor. */
  get value(): Value {
    if (this.impl.kind !== 'symbolic') throw new KilnError('a concrete tensor has no graph value');
    return this.impl.value;
  }

  /** The graph this symbolic tensor belongs to. */
  get traceGraph(): Graph | undefined {
    return this.impl.kind === 'symbolic' ? this.impl.graph : undefined;
  }

  /** Number of elements. */
  numel(): number {
    return numel(this.shape);
  }

  /** Number of dimensions. */
  dim(): number {
    return this.shape.length;
  }

  /** The shape, or the extent of dimension `d`. */
  size(): Shape;
  size(d: number): number;
  size(d?: number): Shape | number {
    return d === undefined ? this.shape : this.shape[normDim(d, this.shape.length)]!;
  }

  /** Nested arrays of the values, like `tensor.tolist()`; a webgpu tensor must be read back first. */
  tolist(): unknown {
    return nestedValues(this.hostData('tolist()'));
  }

  /** The value of a one-element CPU tensor. */
  item(): number | boolean {
    const d = this.hostData('item()');
    if (d.data.length !== 1) throw new KilnError(`item() needs a tensor with one element, got ${formatShapeType(d.dtype, d.shape)}`);
    return hostValues(d)[0]!;
  }

  toString(): string {
    const state = this.isDisposed ? ', disposed' : this.isSymbolic ? ', traced' : '';
    return `tensor(${formatShapeType(this.dtype, this.shape)}, device=${this.deviceName}${state})`;
  }

  // ---------------------------------------------------------------------------------------------
  // Autograd (autograd.ts)

  /** Whether gradients flow to this tensor: set on leaves, inherited by the results of ops on them. */
  get requiresGrad(): boolean {
    return this.wantsGrad;
  }

  set requiresGrad(flag: boolean) {
    if (flag && !isFloat(this.dtype)) {
      throw new KilnError(`only tensors of floating point dtype can require gradients, got ${torchDTypeName(this.dtype)}`);
    }
    if (!flag && this.producer) throw new KilnError('you can only change requiresGrad of leaf tensors; use detach() for a tensor without history');
    this.wantsGrad = flag;
  }

  /** Sets requiresGrad and returns this tensor, like `requires_grad_()`. */
  requiresGrad_(flag = true): this {
    this.requiresGrad = flag;
    return this;
  }

  /** Whether this tensor was not computed by a recorded op (a user-created tensor or a parameter). */
  get isLeaf(): boolean {
    return this.producer === undefined;
  }

  /** @internal The recorded op that computed this tensor. */
  get gradFn(): GradFn | undefined {
    return this.producer;
  }

  /** @internal Marks this tensor as the result of a recorded op. */
  attachGradFn(fn: GradFn): void {
    this.producer = fn;
    this.wantsGrad = true;
  }

  /** The same values without autograd history (shares the device buffer, as tensors are immutable). */
  detach(): Tensor {
    const i = this.impl;
    if (i.kind === 'symbolic') return this;
    return new Tensor(i);
  }

  /**
   * Computes the gradient of this tensor (a scalar, or weighted by `gradient`) with respect to
   * every leaf that requires gradients and accumulates it into their `.grad`, on this tensor's
   * device. Compiles the recorded computation once per distinct tape; always await it.
   */
  async backward(gradient?: Tensor, opts: { retainGraph?: boolean } = {}): Promise<void> {
    const { backward } = await import('./autograd.js');
    return backward(this, gradient, opts);
  }

  /** @internal Host values when known without a readback (a CPU tensor, or uploaded data). */
  knownHostData(): TensorData | undefined {
    const i = this.impl;
    return i.kind === 'host' ? i.data : i.kind === 'pending' ? i.host : this.hostCopy();
  }

  // ---------------------------------------------------------------------------------------------
  // Moving between devices and dtypes

  /**
   * A copy on another device and/or of another dtype, in PyTorch's argument forms:
   * `await t.to('webgpu')`, `await t.to('cpu')` (a readback), `await t.to('float16')`,
   * `await t.to('webgpu:1', 'float16')`, `await t.to({ device, dtype })`, `await t.to(other)` (its
   * device and dtype). Moves and casts are recorded for autograd: the gradient flows back to this
   * tensor's device and dtype. Always await it; when nothing changes it resolves to this tensor.
   * `t.to('webgpu:1', { nonBlocking: true })` (PyTorch's `non_blocking=True`) returns the tensor at
   * once, without awaiting: the copy between WebGPU devices goes on meanwhile and ops on the
   * result wait for it, so a model's `forward` can place its layers on several devices. Inside
   * `trace`, a move between devices is a `transfer` node of the graph.
   */
  to(target: ToOptions & NonBlocking): Tensor;
  to(target: DeviceLike | DTypeLike | Tensor, second: ToOptions & NonBlocking): Tensor;
  to(target: DeviceLike | DTypeLike | ToOptions | Tensor, second?: DTypeLike | ToOptions): Promise<Tensor>;
  to(target: DeviceLike | DTypeLike | ToOptions | Tensor, second?: DTypeLike | ToOptions): Tensor | Promise<Tensor> {
    return moveTo(this, target, second);
  }

  /** This tensor converted to `dtype` on its device (f32 <-> f16 rounds to nearest-even); differentiable. */
  type(dtype: DTypeLike): Tensor {
    const to = parseDType(dtype);
    if (to === this.dtype) return this;
    const i = this.impl;
    if (i.kind === 'gpu') {
      requireDTypeOn(i.storage.gpu, to, `converting to ${torchDTypeName(to)} on ${this.deviceName}`);
      // Uploaded data converts on the host (exact rounding, and the result keeps host data for trace).
      if (i.storage.host) return recordOp('cast', [this], { to }, [Tensor.upload(castOnHost(this.hostCopy()!, to), i.storage.gpu)])[0]!;
    }
    if (i.kind === 'host') return recordOp('cast', [this], { to }, [new Tensor({ kind: 'host', data: castOnHost(i.data, to) })])[0]!;
    return apply('cast', [this], { to });
  }

  /** float16 on this tensor's device (the device needs shader-f16). */
  half(): Tensor { return this.type('f16'); }
  /** float32 on this tensor's device. */
  float(): Tensor { return this.type('f32'); }
  /** int32 on this tensor's device (floats truncate toward zero). */
  int(): Tensor { return this.type('i32'); }
  /** PyTorch's int64, which kiln stores as int32: the same as int(). */
  long(): Tensor { return this.type('i32'); }
  /** bool on this tensor's device (nonzero is true). */
  bool(): Tensor { return this.type('bool'); }

  /** Frees this tensor's device memory now (other tensors viewing the same buffer keep it). */
  dispose(): void {
    const i = this.impl;
    // A pending tensor holds no device memory yet (and a deferred op may still read it).
    if (i.kind === 'disposed' || i.kind === 'symbolic' || i.kind === 'pending') return;
    if (i.kind === 'gpu') swapStorage(this, i.storage, undefined);
    this.impl = { kind: 'disposed', dtype: this.dtype, shape: this.shape, place: this.place };
  }

  /**
   * Makes this tensor hold `other`'s data (a module moving or converting its parameters in
   * place, so that references to the parameter stay valid, as PyTorch's `module.to` does).
   */
  setData(other: Tensor): void {
    if (other === this) return;
    const next = other.impl;
    if (next.kind !== 'host' && next.kind !== 'gpu') throw new KilnError(`setData needs a concrete tensor, got ${other.toString()}`);
    const old = this.impl;
    swapStorage(this, old.kind === 'gpu' ? old.storage : undefined, next.kind === 'gpu' ? next.storage : undefined);
    this.impl = next;
  }

  // ---------------------------------------------------------------------------------------------
  // Internals shared with the op runner, trace, modules and the functional API

  /** @internal The storage of a webgpu tensor. */
  gpuStorage(what: string): GpuStorage {
    this.assertConcrete(what);
    if (!this.trySettle()) throw new KilnError(`internal: ${what} on ${this.deviceName} before the device was acquired`);
    if (this.impl.kind !== 'gpu') throw new KilnError(`internal: ${what} needs a webgpu tensor, got ${this.toString()}`);
    return this.impl.storage;
  }

  /** @internal Throws unless this tensor has values (not symbolic, not disposed). */
  assertConcrete(what: string): void {
    const i = this.impl;
    if (i.kind === 'disposed') throw new KilnError(`${what}: this ${formatShapeType(i.dtype, i.shape)} tensor was disposed`);
    if (i.kind === 'symbolic') throw new KilnError(`${what} is not available on a traced (symbolic) tensor inside trace()`);
  }

  private get place(): Place {
    const i = this.impl;
    if (i.kind === 'host') return CPU;
    if (i.kind === 'gpu') return { device: 'webgpu', gpu: i.storage.gpu };
    if (i.kind === 'pending') {
      if (!this.trySettle()) throw new KilnError(`webgpu:${i.index} is still being acquired: await it first (\`await kiln.webgpu.device(${i.index})\`)`);
      return this.place;
    }
    return i.place;
  }

  private hostData(what: string): TensorData {
    const i = this.impl;
    if (i.kind === 'host') return i.data;
    if (i.kind === 'symbolic') throw new KilnError('a traced (symbolic) tensor has no data: run the compiled graph to get values');
    this.assertConcrete(what);
    throw new KilnError(
      `${what} needs the values on the host, but this tensor is on ${this.deviceName}: read it back first with ` +
      `\`await t.to('cpu')\` (e.g. \`(await t.to('cpu')).${what === '.data' ? 'data' : what}\`)`,
    );
  }

  /** The host data a webgpu tensor was uploaded from, in this tensor's shape (aliases view it too). */
  private hostCopy(): TensorData | undefined {
    const i = this.impl;
    if (i.kind !== 'gpu' || !i.storage.host) return undefined;
    return { dtype: i.dtype, shape: i.shape, data: i.storage.host.data };
  }

  /** @internal This tensor's values on the host: itself, the data it was uploaded from, or a readback. */
  async onHost(): Promise<Tensor> {
    const i = this.impl;
    if (i.kind === 'host') return this;
    this.assertConcrete('reading a tensor back');
    const gpu = this.impl as Extract<Impl, { kind: 'gpu' }>;
    const data = this.hostCopy() ?? (await gpu.storage.runner.readback(gpu.storage.buffer, gpu.dtype, gpu.shape));
    return new Tensor({ kind: 'host', data });
  }

}
