import type { Attrs } from '../../ir/attrs.js';
import { KilnError } from '../../ir/errors.js';
import { f32ToF16Bits } from '../../ir/f16.js';
import { Graph, type Value } from '../../ir/graph.js';
import { getOp } from '../../ir/ops/index.js';
import { tensorData, type TensorData } from '../../ir/tensor-data.js';
import { formatShapeType, isFloat, numel, type Device, type DType, type Shape } from '../../ir/types.js';
import { runOnCpu } from '../../runtime/cpu/executor.js';
import { GpuDevice, MissingFeatureError } from '../../runtime/device.js';
import { EagerRunner } from '../../runtime/eager.js';
import { gpuName, resolveGpu, resolveGpuSync, type DeviceLike } from './devices.js';
import { isDTypeName, parseDType, torchDTypeName, type DTypeLike } from './dtype.js';
import { eagerProgram, opGraph } from './eager-ops.js';
import { defaultRandom, type Random } from './random.js';
import { GpuStorage, swapStorage } from './storage.js';
import { recordOp, type GradFn } from './autograd-tape.js';

/** Where a concrete tensor lives, or where the tensor a symbolic one stands for lives. */
type Place = { readonly device: 'cpu' } | { readonly device: 'webgpu'; readonly gpu: GpuDevice };

const CPU: Place = { device: 'cpu' };

type Impl =
  | { readonly kind: 'host'; readonly data: TensorData }
  | { readonly kind: 'gpu'; readonly storage: GpuStorage; readonly dtype: DType; readonly shape: Shape }
  | { readonly kind: 'symbolic'; readonly graph: Graph; readonly value: Value; readonly place: Place }
  | { readonly kind: 'disposed'; readonly dtype: DType; readonly shape: Shape; readonly place: Place };

/** Options of `t.to({ device, dtype })`. */
export interface ToOptions {
  readonly device?: DeviceLike;
  readonly dtype?: DTypeLike;
}

/** Reduction options, as PyTorch's `dim` and `keepdim`. */
export interface ReduceOptions {
  readonly dim?: number | readonly number[];
  readonly keepdim?: boolean;
}

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

  /** A concrete tensor over host data, on the CPU or uploaded to a WebGPU device. */
  static fromData(data: TensorData, device: DeviceLike = 'cpu'): Tensor {
    if (device === 'cpu') return new Tensor({ kind: 'host', data });
    return Tensor.upload(data, resolveGpuSync(device, 'creating a tensor on webgpu'));
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
   * tensor it stands for, whose device it takes for device checks (the CPU when absent).
   */
  static symbolic(g: Graph, v: Value, like?: Tensor): Tensor {
    return new Tensor({ kind: 'symbolic', graph: g, value: v, place: like ? like.place : CPU });
  }

  get dtype(): DType {
    const i = this.impl;
    return i.kind === 'host' ? i.data.dtype : i.kind === 'symbolic' ? i.value.type.dtype : i.dtype;
  }

  get shape(): Shape {
    const i = this.impl;
    return i.kind === 'host' ? i.data.shape : i.kind === 'symbolic' ? i.value.type.shape : i.shape;
  }

  /** 'cpu' or 'webgpu' (for a symbolic tensor: the device of the tensor it stands for). */
  get device(): Device {
    return this.place.device;
  }

  /** The device as messages name it: `cpu`, `webgpu:0`. */
  get deviceName(): string {
    const p = this.place;
    return p.device === 'cpu' ? 'cpu' : gpuName(p.gpu);
  }

  /** The WebGPU device a webgpu tensor lives on. */
  get gpu(): GpuDevice | undefined {
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
    const d = this.hostData('tolist()');
    const flat = hostValues(d);
    const build = (dim: number, off: number): unknown => {
      if (dim === d.shape.length) return flat[off];
      const stride = numel(d.shape.slice(dim + 1));
      return Array.from({ length: d.shape[dim]! }, (_, i) => build(dim + 1, off + i * stride));
    };
    return build(0, 0);
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
    return i.kind === 'host' ? i.data : this.hostCopy();
  }

  // ---------------------------------------------------------------------------------------------
  // Moving between devices and dtypes

  /**
   * A copy on another device and/or of another dtype, like PyTorch's `to`: `await t.to('webgpu')`,
   * `await t.to('cpu')` (a readback), `await t.to({ dtype: 'float16' })`, `await t.to('float16')`.
   * Always await it; when nothing changes it resolves to this tensor itself.
   */
  async to(target: DeviceLike | DTypeLike | ToOptions, opts: { dtype?: DTypeLike } = {}): Promise<Tensor> {
    const { device, dtype } = parseTo(target, opts);
    this.assertConcrete('to()');
    const want = dtype ?? this.dtype;
    if (device === undefined) return this.type(want);
    if (device === 'cpu') return (await this.onHost()).type(want);
    const gpu = await resolveGpu(device);
    if (this.impl.kind === 'gpu' && this.impl.storage.gpu === gpu) return this.type(want);
    // From the host (or another GPU device, through the host): convert there exactly, then upload.
    const host = (await this.onHost()).type(want);
    return Tensor.upload(host.hostData('to()'), gpu);
  }

  /** This tensor converted to `dtype` on its device (f32 <-> f16 rounds to nearest-even). */
  type(dtype: DTypeLike): Tensor {
    const to = parseDType(dtype);
    if (to === this.dtype) return this;
    const i = this.impl;
    if (i.kind === 'gpu') {
      requireDTypeOn(i.storage.gpu, to, `converting to ${torchDTypeName(to)} on ${this.deviceName}`);
      // Uploaded data converts on the host (exact rounding, and the result keeps host data for trace).
      if (i.storage.host) return Tensor.upload(castOnHost(this.hostCopy()!, to), i.storage.gpu);
    }
    if (i.kind === 'host') return new Tensor({ kind: 'host', data: castOnHost(i.data, to) });
    return apply('cast', [this], { to });
  }

  /** float16 on this tensor's device (the device needs shader-f16). */
  half(): Tensor { return this.type('f16'); }
  /** float32 on this tensor's device. */
  float(): Tensor { return this.type('f32'); }
  /** int32 on this tensor's device (floats truncate toward zero). */
  int(): Tensor { return this.type('i32'); }
  /** bool on this tensor's device (nonzero is true). */
  bool(): Tensor { return this.type('bool'); }

  /** Frees this tensor's device memory now (other tensors viewing the same buffer keep it). */
  dispose(): void {
    const i = this.impl;
    if (i.kind === 'disposed' || i.kind === 'symbolic') return;
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
  // Arithmetic and activations (a number operand becomes a constant of this tensor's dtype and device)

  add(o: Tensor | number): Tensor { return binary('add', this, o); }
  sub(o: Tensor | number): Tensor { return binary('sub', this, o); }
  mul(o: Tensor | number): Tensor { return binary('mul', this, o); }
  div(o: Tensor | number): Tensor { return binary('div', this, o); }
  pow(o: Tensor | number): Tensor { return binary('pow', this, o); }
  maximum(o: Tensor | number): Tensor { return binary('maximum', this, o); }
  minimum(o: Tensor | number): Tensor { return binary('minimum', this, o); }
  eq(o: Tensor | number): Tensor { return binary('equal', this, o); }
  ne(o: Tensor | number): Tensor { return binary('not_equal', this, o); }
  lt(o: Tensor | number): Tensor { return binary('less', this, o); }
  le(o: Tensor | number): Tensor { return binary('less_equal', this, o); }
  gt(o: Tensor | number): Tensor { return binary('greater', this, o); }
  ge(o: Tensor | number): Tensor { return binary('greater_equal', this, o); }
  neg(): Tensor { return apply('neg', [this]); }
  abs(): Tensor { return apply('abs', [this]); }
  exp(): Tensor { return apply('exp', [this]); }
  log(): Tensor { return apply('log', [this]); }
  sqrt(): Tensor { return apply('sqrt', [this]); }
  rsqrt(): Tensor { return apply('rsqrt', [this]); }
  erf(): Tensor { return apply('erf', [this]); }
  relu(): Tensor { return apply('relu', [this]); }
  sigmoid(): Tensor { return apply('sigmoid', [this]); }
  tanh(): Tensor { return apply('tanh', [this]); }
  silu(): Tensor { return apply('silu', [this]); }
  /** GELU; `approximate: 'tanh'` for its tanh form. */
  gelu(opts: { approximate?: 'none' | 'tanh' } = {}): Tensor { return apply('gelu', [this], { approximate: opts.approximate ?? 'none' }); }
  hardswish(): Tensor { return apply('hardswish', [this]); }
  hardsigmoid(): Tensor { return apply('hardsigmoid', [this]); }
  leakyRelu(negativeSlope = 0.01): Tensor { return apply('leaky_relu', [this], { alpha: negativeSlope }); }
  /** Clamps to [min, max]; either bound may be omitted. */
  clamp(opts: { min?: number; max?: number }): Tensor {
    const attrs: Record<string, number> = {};
    if (opts.min !== undefined) attrs.min = opts.min;
    if (opts.max !== undefined) attrs.max = opts.max;
    return apply('clip', [this], attrs);
  }

  /** Matrix product with NumPy batching; a 1-D operand is a vector, as in torch.matmul. */
  matmul(o: Tensor): Tensor {
    if (this.shape.length === 1 && o.shape.length === 1) return this.unsqueeze(0).matmul(o.unsqueeze(1)).reshape();
    if (this.shape.length === 1) return this.unsqueeze(0).matmul(o).squeeze(-2);
    if (o.shape.length === 1) return this.matmul(o.unsqueeze(1)).squeeze(-1);
    return apply('matmul', [this, o]);
  }

  // ---------------------------------------------------------------------------------------------
  // Shapes

  /** Permutes dimensions; with no argument, reverses them. */
  permute(...perm: number[]): Tensor { return apply('transpose', [this], { perm }); }
  /** Swaps dimensions `d0` and `d1`. */
  transpose(d0: number, d1: number): Tensor {
    const r = this.shape.length;
    const perm = this.shape.map((_, i) => i);
    const a = normDim(d0, r);
    const b = normDim(d1, r);
    [perm[a], perm[b]] = [perm[b]!, perm[a]!];
    return this.permute(...perm);
  }
  /** Swaps the last two dimensions (`.T` for matrices). */
  t(): Tensor {
    return this.shape.length < 2 ? this : this.transpose(-2, -1);
  }
  /** The same elements in another shape (one extent may be -1); `reshape(2, 3)` or `reshape([2, 3])`. */
  reshape(...shape: (number | readonly number[])[]): Tensor {
    const flat = shape.length === 1 && Array.isArray(shape[0]) ? shape[0] : (shape as number[]);
    return apply('reshape', [this], { shape: [...flat] });
  }
  /** Same as reshape (tensors are contiguous). */
  view(...shape: (number | readonly number[])[]): Tensor { return this.reshape(...shape); }
  /** Merges dimensions startDim..endDim into one, as torch.flatten. */
  flatten(startDim = 0, endDim = -1): Tensor {
    const r = this.shape.length;
    if (r === 0) return this.reshape(1);
    const s = normDim(startDim, r);
    const e = normDim(endDim, r);
    if (s > e) throw new KilnError(`flatten() has invalid args: start_dim ${startDim} cannot come after end_dim ${endDim}`);
    return this.reshape(...this.shape.slice(0, s), numel(this.shape.slice(s, e + 1)), ...this.shape.slice(e + 1));
  }
  /** Removes size-1 dimensions (all of them, or `dim` when it has size 1, as PyTorch). */
  squeeze(dim?: number): Tensor {
    if (dim === undefined) return apply('squeeze', [this], { axes: [] });
    const d = normDim(dim, this.shape.length);
    return this.shape[d] === 1 ? apply('squeeze', [this], { axes: [d] }) : this;
  }
  /** Inserts a size-1 dimension at `dim` (negative counts from the end of the result). */
  unsqueeze(dim: number): Tensor { return apply('unsqueeze', [this], { axes: [dim] }); }
  /** Broadcasts to `sizes`; -1 keeps a dimension. */
  expand(...sizes: number[]): Tensor {
    const off = sizes.length - this.shape.length;
    return apply('expand', [this], { shape: sizes.map((s, i) => (s === -1 ? this.shape[i - off] ?? 1 : s)) });
  }
  /** Splits along `dim` into pieces of `size` (the last may be smaller) or of the given sizes. */
  split(size: number | readonly number[], dim = 0): Tensor[] {
    const d = normDim(dim, this.shape.length);
    const n = this.shape[d]!;
    const sizes = typeof size === 'number' ? chunkSizes(n, size) : [...size];
    return applyMulti('split', [this], { axis: d, sizes });
  }
  /** Splits along `dim` into `chunks` pieces of equal size (the last may be smaller), as torch.chunk. */
  chunk(chunks: number, dim = 0): Tensor[] {
    const n = this.shape[normDim(dim, this.shape.length)]!;
    return this.split(Math.max(1, Math.ceil(n / chunks)), dim);
  }

  // ---------------------------------------------------------------------------------------------
  // Reductions

  sum(opts: ReduceOptions = {}): Tensor { return reduce('sum', this, opts); }
  mean(opts: ReduceOptions = {}): Tensor { return reduce('mean', this, opts); }
  /** Maximum values over `dim` (every dimension when absent). */
  max(opts: ReduceOptions = {}): Tensor { return reduce('max', this, opts); }
  /** Minimum values over `dim` (every dimension when absent). */
  min(opts: ReduceOptions = {}): Tensor { return reduce('min', this, opts); }
  /** Index (i32) of the maximum along `dim`; of the flattened tensor when `dim` is absent. */
  argmax(opts: { dim?: number; keepdim?: boolean } = {}): Tensor {
    if (opts.dim === undefined) return apply('argmax', [this.reshape(-1)], { axis: 0, keepdims: false });
    return apply('argmax', [this], { axis: opts.dim, keepdims: opts.keepdim ?? false });
  }
  softmax(dim: number): Tensor { return apply('softmax', [this], { axis: dim }); }
  logSoftmax(dim: number): Tensor { return apply('log_softmax', [this], { axis: dim }); }

  // ---------------------------------------------------------------------------------------------
  // Internals shared with trace, modules and the functional API

  /**
   * The graph value for this tensor inside `g`; a concrete tensor becomes a constant on
   * `device`, the device of the traced graph.
   */
  valueIn(g: Graph, device: Device): Value {
    const i = this.impl;
    if (i.kind === 'symbolic') {
      if (i.graph !== g) throw new KilnError('tensors from two different traces meet in one operation');
      return i.value;
    }
    let cache = constants.get(g);
    if (!cache) constants.set(g, (cache = new Map()));
    const hit = cache.get(this);
    if (hit) return hit;
    const attrs: Record<string, unknown> = { value: this.traceData() };
    if (this.paramName) attrs.ref = this.paramName;
    const v = g.addNode('const', [], attrs as Attrs, { device }).output;
    cache.set(this, v);
    return v;
  }

  /** A tensor of the same device (and trace) holding `data`: how number operands enter an op. */
  constantLike(data: TensorData): Tensor {
    const i = this.impl;
    if (i.kind === 'symbolic') {
      const v = i.graph.addNode('const', [], { value: data }, { device: i.value.type.device }).output;
      return new Tensor({ kind: 'symbolic', graph: i.graph, value: v, place: i.place });
    }
    const p = this.place;
    return p.device === 'cpu' ? new Tensor({ kind: 'host', data }) : Tensor.upload(data, p.gpu);
  }

  /** @internal The storage of a webgpu tensor. */
  gpuStorage(what: string): GpuStorage {
    this.assertConcrete(what);
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

  /** This tensor's values on the host: itself, the data it was uploaded from, or a readback. */
  private async onHost(): Promise<Tensor> {
    const i = this.impl;
    if (i.kind === 'host') return this;
    this.assertConcrete('reading a tensor back');
    const gpu = this.impl as Extract<Impl, { kind: 'gpu' }>;
    const data = this.hostCopy() ?? (await gpu.storage.runner.readback(gpu.storage.buffer, gpu.dtype, gpu.shape));
    return new Tensor({ kind: 'host', data });
  }

  /** The values trace embeds as a constant. */
  private traceData(): TensorData {
    this.assertConcrete('trace');
    const i = this.impl;
    if (i.kind === 'host') return i.data;
    const host = this.hostCopy();
    if (host) return host;
    const what = this.paramName ? `parameter '${this.paramName}'` : `a ${formatShapeType(this.dtype, this.shape)} tensor`;
    throw new KilnError(
      `trace: ${what} exists only on ${this.deviceName} (it was computed there), so its values cannot be embedded ` +
      `in the graph; read it back first (\`await t.to('cpu')\`, or \`await model.to('cpu')\` for a model)`,
    );
  }
}

/**
 * The graph being traced, like PyTorch's tracing state: while `trace` runs a model, every op
 * is recorded (ops on parameters alone too, so `weight.t()` stays visible for the compiler to
 * fold) instead of being computed eagerly. `device` is where the traced graph is placed.
 */
export const tracing: { graph: Graph | undefined; device: Device } = { graph: undefined, device: 'webgpu' };

/** Each traced graph's constants, so one concrete tensor becomes one const node. */
const constants = new WeakMap<Graph, Map<Tensor, Value>>();

/**
 * @internal Makes concrete tensor `t` stand for value `v` inside trace graph `g` instead of
 * becoming a constant (a compiled training step's parameters are graph inputs).
 */
export function bindTraceValue(g: Graph, t: Tensor, v: Value): void {
  let cache = constants.get(g);
  if (!cache) constants.set(g, (cache = new Map()));
  cache.set(t, v);
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
export function applyMulti(op: string, inputs: readonly Tensor[], attrs: Attrs = {}): Tensor[] {
  for (const t of inputs) if (t.isDisposed) t.assertConcrete(op);
  checkSameDevice(op, inputs);
  const traced = inputs.find((t) => t.isSymbolic);
  const g = traced?.traceGraph ?? tracing.graph;
  if (g) {
    const device = traced ? traced.value.type.device : tracing.device;
    const node = g.addNode(op, inputs.map((t) => t.valueIn(g, device)), attrs);
    const like = traced ?? inputs[0];
    return node.outputs.map((v) => Tensor.symbolic(g, v, like));
  }
  const outs = inputs[0]?.device === 'webgpu' ? runOnGpu(op, inputs, attrs) : runOnHost(op, inputs, attrs);
  return recordOp(op, inputs, attrs, outs);
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
  const { program, node } = eagerProgram(op, inputs, attrs);
  const outs = runner.run(program, storages.map((s) => s.buffer), op);
  const fresh = new Map<GPUBuffer, GpuStorage>();
  return outs.map((o, i) => {
    const t = node.outputs[i]!.type;
    let storage = o.aliasOf !== undefined ? storages[o.aliasOf]! : fresh.get(o.buffer);
    if (!storage) fresh.set(o.buffer, (storage = new GpuStorage(runner, o.buffer)));
    return Tensor.fromGpu(storage, t.dtype, t.shape);
  });
}

/** Throws a MissingFeatureError when `gpu` cannot hold tensors of `dtype` (f16 needs shader-f16). */
export function requireDTypeOn(gpu: GpuDevice, dtype: DType, what: string): void {
  if (dtype === 'f16' && !gpu.features.has('shader-f16')) {
    throw new MissingFeatureError(
      `${what}: float16 tensors need the WebGPU feature 'shader-f16', which this device (${gpu.describe()}) lacks; ` +
      'keep the model in float32 on this device',
    );
  }
}

/** Host data converted to `to` by the CPU cast kernel (f16 through src/ir/f16.ts, round-to-nearest-even). */
function castOnHost(data: TensorData, to: DType): TensorData {
  const { graph, node } = opGraph('cast', [data], { to }, 'cpu');
  return runOnCpu(graph, { in0: data })[node.output.name]!;
}

function binary(op: string, a: Tensor, b: Tensor | number): Tensor {
  if (typeof b !== 'number') return apply(op, [a, b]);
  const s = scalarLike(a, b);
  try {
    return apply(op, [a, s]);
  } finally {
    // Its buffer may go as soon as the op is submitted; the device frees it after use.
    if (s.device === 'webgpu') s.dispose();
  }
}

/** A scalar constant of `dtype` (by default `ref`'s), on `ref`'s device (or in its trace). */
export function scalarLike(ref: Tensor, v: number, dtype: DType = ref.dtype): Tensor {
  if ((dtype === 'i32' || dtype === 'u32') && !Number.isInteger(v)) {
    throw new KilnError(`the scalar ${v} is not an integer, but the tensor is ${torchDTypeName(dtype)} (convert the tensor with .float() first)`);
  }
  return ref.constantLike(hostTensorData(dtype, [], [v]));
}

/** Host data of `dtype` from numbers (f16 rounded to nearest-even, stored as bits). */
export function hostTensorData(dtype: DType, shape: Shape, values: ArrayLike<number>): TensorData {
  if (dtype !== 'f16') return tensorData(dtype, shape, values);
  const bits = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) bits[i] = f32ToF16Bits(values[i]!);
  return tensorData('f16', shape, bits);
}

/** Host values as numbers (f16 decoded, bool as booleans). */
function hostValues(d: TensorData): (number | boolean)[] {
  if (d.dtype === 'f16') return Array.from(castOnHost(d, 'f32').data);
  return Array.from(d.data as ArrayLike<number>, (x) => (d.dtype === 'bool' ? x !== 0 : x));
}

function reduce(op: string, x: Tensor, opts: ReduceOptions): Tensor {
  const axes = opts.dim === undefined ? [] : typeof opts.dim === 'number' ? [opts.dim] : [...opts.dim];
  return apply(op, [x], { axes, keepdims: opts.keepdim ?? false });
}

/** `dim` resolved against `rank`, with PyTorch's message when out of range. */
export function normDim(dim: number, rank: number): number {
  const r = Math.max(rank, 1);
  if (!Number.isInteger(dim) || dim < -r || dim >= r) {
    throw new KilnError(`Dimension out of range (expected to be in range of [${-r}, ${r - 1}], but got ${dim})`);
  }
  return dim < 0 ? dim + r : dim;
}

function chunkSizes(n: number, size: number): number[] {
  if (!(size > 0)) throw new KilnError(`split size must be positive, got ${size}`);
  const out: number[] = [];
  for (let at = 0; at < n; at += size) out.push(Math.min(size, n - at));
  return out.length ? out : [0];
}

function parseTo(target: DeviceLike | DTypeLike | ToOptions, opts: { dtype?: DTypeLike }): { device?: DeviceLike; dtype?: DType } {
  let device: DeviceLike | undefined;
  let dtype: DTypeLike | undefined = opts.dtype;
  if (typeof target === 'string') {
    if (isDTypeName(target)) dtype = target as DTypeLike;
    else device = target as DeviceLike;
  } else if (target instanceof GpuDevice) {
    device = target;
  } else if (typeof target === 'object' && target !== null) {
    device = target.device;
    dtype = target.dtype ?? dtype;
  } else {
    throw new KilnError(`to() takes a device ('cpu', 'webgpu'), a dtype ('float16', ...) or { device, dtype }, got ${String(target)}`);
  }
  return { ...(device === undefined ? {} : { device }), ...(dtype === undefined ? {} : { dtype: parseDType(dtype) }) };
}

/** Options of the tensor factories: `kiln.tensor(data, { dtype, device })`. */
export interface TensorOptions {
  dtype?: DTypeLike;
  device?: DeviceLike;
  /** Whether the tensor is a leaf that gradients flow to (floating point only). */
  requiresGrad?: boolean;
}

function fromValues(values: ArrayLike<number>, shape: Shape, opts: TensorOptions): Tensor {
  const dtype = parseDType(opts.dtype ?? 'f32');
  const t = Tensor.fromData(hostTensorData(dtype, shape, values), opts.device ?? 'cpu');
  if (opts.requiresGrad) t.requiresGrad = true;
  return t;
}

/** Nested number arrays to a flat list and a shape. */
function flattenNested(data: unknown): { values: number[]; shape: number[] } {
  const shape: number[] = [];
  let probe = data;
  while (Array.isArray(probe)) { shape.push(probe.length); probe = probe[0]; }
  const values: number[] = [];
  const walk = (x: unknown, dim: number) => {
    if (dim === shape.length) {
      if (typeof x !== 'number' && typeof x !== 'boolean') throw new KilnError(`tensor data must be numbers, got ${typeof x}`);
      values.push(Number(x));
      return;
    }
    if (!Array.isArray(x) || x.length !== shape[dim]) throw new KilnError(`tensor data is ragged at dimension ${dim} (expected length ${shape[dim]})`);
    for (const e of x) walk(e, dim + 1);
  };
  walk(data, 0);
  return { values, shape };
}

/** `kiln.tensor([[1, 2], [3, 4]], { dtype: 'float32', device: 'cpu' })` */
export function tensor(data: unknown, opts: TensorOptions = {}): Tensor {
  const { values, shape } = flattenNested(data);
  return fromValues(values, shape, opts);
}

/** A tensor from a flat array and a shape. */
export function fromArray(values: ArrayLike<number>, shape: Shape, opts: TensorOptions = {}): Tensor {
  hostNumel(shape, 'fromArray');
  return fromValues(values, shape, opts);
}

/** Most elements a host tensor may hold: JavaScript arrays and typed arrays stop near 2^32. */
const MAX_HOST_ELEMENTS = 2 ** 31 - 1;

/** The element count of a shape given by a user, after checking it is one (PyTorch's message). */
function hostNumel(shape: Shape, fn: string): number {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new KilnError(`${fn}: shape ${JSON.stringify(shape)} must be a list of non-negative integers`);
  }
  const n = numel(shape);
  if (n > MAX_HOST_ELEMENTS) throw new KilnError(`${fn}: shape [${shape.join(', ')}] has ${n} elements, more than a host tensor can hold (${MAX_HOST_ELEMENTS})`);
  return n;
}

/** Standard-normal values, from `rng` or the default generator. */
export function randn(shape: Shape, opts: TensorOptions & { rng?: Random } = {}): Tensor {
  const rng = opts.rng ?? defaultRandom.current;
  return fromValues(Array.from({ length: hostNumel(shape, 'randn') }, () => rng.normal()), shape, opts);
}

/** Uniform values in [lo, hi). */
export function rand(shape: Shape, lo = 0, hi = 1, opts: TensorOptions & { rng?: Random } = {}): Tensor {
  const rng = opts.rng ?? defaultRandom.current;
  return fromValues(Array.from({ length: hostNumel(shape, 'rand') }, () => rng.uniform(lo, hi)), shape, opts);
}

/** A tensor filled with `value`. */
export function full(shape: Shape, value: number, opts: TensorOptions = {}): Tensor {
  return fromValues(new Array<number>(hostNumel(shape, 'full')).fill(value), shape, opts);
}

export function zeros(shape: Shape, opts: TensorOptions = {}): Tensor {
  return full(shape, 0, opts);
}

export function ones(shape: Shape, opts: TensorOptions = {}): Tensor {
  return full(shape, 1, opts);
}

/** start, start + step, ... below end, like torch.arange (i32 for integer arguments by default). */
export function arange(start: number, end?: number, step = 1, opts: TensorOptions = {}): Tensor {
  const [lo, hi] = end === undefined ? [0, start] : [start, end];
  if (step === 0) throw new KilnError('arange: step must be nonzero');
  const values: number[] = [];
  for (let v = lo; step > 0 ? v < hi : v > hi; v += step) values.push(v);
  const ints = [lo, hi, step].every(Number.isInteger);
  return fromValues(values, [values.length], { ...opts, dtype: opts.dtype ?? (ints ? 'i32' : 'f32') });
}

/** Concatenates tensors along `dim`, like torch.cat. */
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new KilnError('cat() needs at least one tensor');
  return apply('concat', tensors, { axis: normDim(dim, tensors[0]!.shape.length) });
}

/** Stacks tensors of one shape along a new dimension `dim`, like torch.stack. */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new KilnError('stack() needs at least one tensor');
  return cat(tensors.map((t) => t.unsqueeze(dim)), dim);
}

/**
 * Elements of `a` where `cond` is true, else of `b`. A number becomes a constant of the other
 * operand's dtype; when both are numbers, of int32 (integers) or float32, on `cond`'s device.
 */
export function where(cond: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  const dtype: DType = typeof a !== 'number' ? a.dtype : typeof b !== 'number' ? b.dtype
    : Number.isInteger(a) && Number.isInteger(b) ? 'i32' : 'f32';
  const owned: Tensor[] = [];
  const asTensor = (x: Tensor | number): Tensor => {
    if (typeof x !== 'number') return x;
    const s = scalarLike(cond, x, dtype);
    owned.push(s);
    return s;
  };
  try {
    return apply('where', [cond, asTensor(a), asTensor(b)]);
  } finally {
    for (const s of owned) if (s.device === 'webgpu') s.dispose();
  }
}
