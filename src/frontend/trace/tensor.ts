import type { Attrs } from '../../ir/attrs.js';
import { KilnError } from '../../ir/errors.js';
import { Graph, type Value } from '../../ir/graph.js';
import { tensorData, type TensorData } from '../../ir/tensor-data.js';
import { numel, type Device, type DType, type Shape } from '../../ir/types.js';
import { runOnCpu } from '../../runtime/cpu/executor.js';
import { defaultRandom, type Random } from './random.js';

/**
 * A tensor of the PyTorch-like API. It is either concrete (host data, computed eagerly by the
 * reference kernels) or symbolic (a value of a graph being traced). Operations on a symbolic
 * tensor add nodes to its graph; concrete operands met there become constants of that graph.
 */
export class Tensor {
  private constructor(
    readonly dtype: DType,
    readonly shape: Shape,
    readonly device: Device,
    private readonly concrete: TensorData | undefined,
    private readonly symbolic: Value | undefined,
    private readonly graph: Graph | undefined,
    /** Name of the parameter this tensor is, for IR refs and state dicts. */
    public paramName?: string,
  ) {}

  /** A concrete tensor over host data. */
  static fromData(data: TensorData, device: Device = 'cpu'): Tensor {
    return new Tensor(data.dtype, [...data.shape], device, data, undefined, undefined);
  }

  /** A symbolic tensor standing for value `v` of graph `g` (used by trace). */
  static symbolic(g: Graph, v: Value): Tensor {
    return new Tensor(v.type.dtype, v.type.shape, v.type.device, undefined, v, g);
  }

  get isSymbolic(): boolean {
    return this.symbolic !== undefined;
  }

  /** Host contents of a concrete tensor. */
  get data(): TensorData {
    if (!this.concrete) throw new KilnError('a traced (symbolic) tensor has no data: run the compiled graph to get values');
    return this.concrete;
  }

  /** The graph value of a symbolic tensor. */
  get value(): Value {
    if (!this.symbolic) throw new KilnError('a concrete tensor has no graph value');
    return this.symbolic;
  }

  /** Nested arrays of the values, like `tensor.tolist()`. */
  tolist(): unknown {
    const d = this.data;
    const flat = Array.from(d.data as ArrayLike<number>, (x) => (d.dtype === 'bool' ? x !== 0 : x));
    const build = (dim: number, off: number): unknown => {
      if (dim === d.shape.length) return flat[off];
      const stride = numel(d.shape.slice(dim + 1));
      return Array.from({ length: d.shape[dim]! }, (_, i) => build(dim + 1, off + i * stride));
    };
    return build(0, 0);
  }

  add(o: Tensor): Tensor { return apply('add', [this, o]); }
  sub(o: Tensor): Tensor { return apply('sub', [this, o]); }
  mul(o: Tensor): Tensor { return apply('mul', [this, o]); }
  div(o: Tensor): Tensor { return apply('div', [this, o]); }
  neg(): Tensor { return apply('neg', [this]); }
  relu(): Tensor { return apply('relu', [this]); }
  matmul(o: Tensor): Tensor { return apply('matmul', [this, o]); }
  /** Permutes dimensions; with no argument, reverses them. */
  permute(...perm: number[]): Tensor { return apply('transpose', [this], { perm }); }
  /** Swaps the last two dimensions (`.T` for matrices). */
  t(): Tensor {
    const r = this.shape.length;
    if (r < 2) return this;
    const perm = this.shape.map((_, i) => i);
    [perm[r - 2], perm[r - 1]] = [perm[r - 1]!, perm[r - 2]!];
    return this.permute(...perm);
  }
  reshape(...shape: number[]): Tensor { return apply('reshape', [this], { shape }); }
  sum(opts: { dim?: number | number[]; keepdim?: boolean } = {}): Tensor { return reduce('sum', this, opts); }
  mean(opts: { dim?: number | number[]; keepdim?: boolean } = {}): Tensor { return reduce('mean', this, opts); }

  /**
   * The graph value for this tensor inside `g`; a concrete tensor becomes a constant on
   * `device`, the device of the traced operands it meets.
   */
  valueIn(g: Graph, device: Device): Value {
    if (this.symbolic) {
      if (this.graph !== g) throw new KilnError('tensors from two different traces meet in one operation');
      return this.symbolic;
    }
    let cache = constants.get(g);
    if (!cache) constants.set(g, (cache = new Map()));
    const hit = cache.get(this);
    if (hit) return hit;
    const attrs: Record<string, unknown> = { value: this.data };
    if (this.paramName) attrs.ref = this.paramName;
    const v = g.addNode('const', [], attrs as Attrs, { device }).output;
    cache.set(this, v);
    return v;
  }

  /** The graph this symbolic tensor belongs to. */
  get traceGraph(): Graph | undefined {
    return this.graph;
  }
}

/**
 * The graph being traced, like PyTorch's tracing state: while `trace` runs a model, every op
 * is recorded (ops on parameters alone too, so `weight.t()` stays visible for the compiler to
 * fold) instead of being computed eagerly.
 */
export const tracing: { graph: Graph | undefined; device: Device } = { graph: undefined, device: 'webgpu' };

/** Each traced graph's constants, so one concrete tensor becomes one const node. */
const constants = new WeakMap<Graph, Map<Tensor, Value>>();

function reduce(op: string, x: Tensor, opts: { dim?: number | number[]; keepdim?: boolean }): Tensor {
  const axes = opts.dim === undefined ? [] : Array.isArray(opts.dim) ? opts.dim : [opts.dim];
  return apply(op, [x], { axes, keepdims: opts.keepdim ?? false });
}

/**
 * Applies an op: into the trace graph when any operand is symbolic, else eagerly with the
 * reference kernels (the op's inference gives the same errors either way).
 */
export function apply(op: string, inputs: readonly Tensor[], attrs: Attrs = {}): Tensor {
  const traced = inputs.find((t) => t.isSymbolic);
  const g = traced?.traceGraph ?? tracing.graph;
  if (g) {
    const device = traced?.device ?? tracing.device;
    const node = g.addNode(op, inputs.map((t) => t.valueIn(g, device)), attrs);
    return Tensor.symbolic(g, node.output);
  }
  // Eager: a one-node graph run on the host reference kernels.
  const eager = new Graph(op);
  const ins = inputs.map((t, i) => eager.addInput(`in${i}`, { dtype: t.dtype, shape: t.shape, device: t.device }));
  const node = eager.addNode(op, ins, attrs);
  eager.setOutputs([node.output]);
  const feeds = Object.fromEntries(inputs.map((t, i) => [`in${i}`, t.data]));
  const out = runOnCpu(eager, feeds)[node.output.name]!;
  return Tensor.fromData(out, inputs[0]?.device ?? 'cpu');
}

export interface TensorOptions {
  dtype?: DType;
  device?: Device;
}

/** Nested number arrays to a flat list and a shape. */
function flatten(data: unknown): { values: number[]; shape: number[] } {
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

/** `kiln.tensor([[1, 2], [3, 4]], { dtype: 'f32' })` */
export function tensor(data: unknown, opts: TensorOptions = {}): Tensor {
  const { values, shape } = flatten(data);
  return Tensor.fromData(tensorData(opts.dtype ?? 'f32', shape, values), opts.device ?? 'cpu');
}

/** A tensor from a flat array and a shape. */
export function fromArray(values: ArrayLike<number>, shape: Shape, opts: TensorOptions = {}): Tensor {
  return Tensor.fromData(tensorData(opts.dtype ?? 'f32', shape, values), opts.device ?? 'cpu');
}

/** Standard-normal f32 values, from `rng` or the default generator. */
export function randn(shape: Shape, opts: TensorOptions & { rng?: Random } = {}): Tensor {
  const rng = opts.rng ?? defaultRandom.current;
  const values = Array.from({ length: numel(shape) }, () => rng.normal());
  return fromArray(values, shape, opts);
}

/** Uniform f32 values in [lo, hi). */
export function rand(shape: Shape, lo = 0, hi = 1, opts: TensorOptions & { rng?: Random } = {}): Tensor {
  const rng = opts.rng ?? defaultRandom.current;
  return fromArray(Array.from({ length: numel(shape) }, () => rng.uniform(lo, hi)), shape, opts);
}

export function zeros(shape: Shape, opts: TensorOptions = {}): Tensor {
  return fromArray(new Array(numel(shape)).fill(0), shape, opts);
}
