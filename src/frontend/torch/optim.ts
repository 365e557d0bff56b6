import { compile } from '../../compiler.js';
import { KilnError } from '../../ir/errors.js';
import { Graph, type Value } from '../../ir/graph.js';
import { tensorData } from '../../ir/tensor-data.js';
import { formatShapeType, isFloat, shapesEqual, type DType } from '../../ir/types.js';
import { runOnCpu } from '../../runtime/cpu/executor.js';
import type { Program } from '../../runtime/program.js';
import { noGrad } from './autograd-tape.js';
import { GpuStorage } from './storage.js';
import { hostTensorData } from './host-values.js';
import { Tensor } from './tensor.js';

// Optimizers as graph code: each writes its update rule once, as elementwise ops over the
// parameter, its gradient and its state. Eager `step()` compiles that rule once per parameter
// shape and runs it on the parameter's device (one fused kernel per updated tensor); a compiled
// training step (src/frontend/train) splices the same rule into its graph.

/** Emits the nodes of an update rule into a graph. */
export class UpdateBuilder {
  constructor(readonly graph: Graph) {}

  /** A node's single result. */
  op(op: string, ...inputs: Value[]): Value {
    return this.graph.addNode(op, inputs).output;
  }

  /** A scalar constant of `like`'s dtype and device. */
  scalar(x: number, like: Value): Value {
    return this.graph.addNode('const', [], { value: tensorData(like.type.dtype, [], [x]) }, { device: like.type.device }).output;
  }

  add(a: Value, b: Value): Value { return this.op('add', a, b); }
  sub(a: Value, b: Value): Value { return this.op('sub', a, b); }
  mul(a: Value, b: Value): Value { return this.op('mul', a, b); }
  div(a: Value, b: Value): Value { return this.op('div', a, b); }
  /** a * x for a number x. */
  scale(a: Value, x: number): Value { return this.mul(a, this.scalar(x, a)); }
  /** a + x * b for a number x (skipped when x is 0). */
  axpy(a: Value, x: number, b: Value): Value { return x === 0 ? a : this.add(a, this.scale(b, x)); }
  /** The value in the parameter's dtype (hyperparameters arrive as f32 scalars). */
  like(v: Value, p: Value): Value { return v.type.dtype === p.type.dtype ? v : this.graph.addNode('cast', [v], { to: p.type.dtype }).output; }
}

/** The values an update rule reads: parameter, gradient, its state, and this step's scalars. */
export interface UpdateInputs {
  readonly param: Value;
  readonly grad: Value;
  /** One value per name of `stateNames`, in order. */
  readonly state: readonly Value[];
  /** Learning rate, an f32 scalar. */
  readonly lr: Value;
  /** The step number counting this one (1 on the first step), an f32 scalar. */
  readonly step: Value;
}

/** What an update rule computes: the new parameter and its new state (same order as the inputs). */
export interface UpdateResult {
  readonly param: Value;
  readonly state: readonly Value[];
}

/** Base class of optimizers, like `torch.optim.Optimizer` with one parameter group. */
export abstract class Optimizer {
  readonly params: Tensor[];
  /** Learning rate; may be changed between steps (compiled steps feed it every run). */
  lr: number;
  /** Steps taken so far. */
  stepCount = 0;
  /** State tensors of each parameter, named by `stateNames`, created zeroed at its first step. */
  readonly state = new Map<Tensor, Tensor[]>();
  private readonly programs = new Map<string, { graph: Graph; program?: Program }>();

  constructor(params: Iterable<Tensor>, lr: number) {
    this.params = [...params];
    if (!(lr >= 0)) throw new KilnError(`Invalid learning rate: ${lr}`);
    this.lr = lr;
    for (const p of this.params) {
      if (!isFloat(p.dtype)) throw new KilnError(`optimizers update floating-point parameters only, got ${formatShapeType(p.dtype, p.shape)}`);
    }
  }

  /** Names of the per-parameter state tensors (e.g. momentum buffers), each shaped like the parameter. */
  abstract stateNames(): readonly string[];

  /** The update rule as graph code. */
  abstract update(b: UpdateBuilder, x: UpdateInputs): UpdateResult;

  /** What distinguishes one rule from another of the same class (baked-in hyperparameters). */
  protected abstract hyperKey(): string;

  /** Clears every parameter's gradient (sets `.grad` to undefined). */
  zeroGrad(): void {
    for (const p of this.params) p.grad = undefined;
  }

  /** Updates every parameter that has a gradient, on its device. Nothing waits for the device. */
  step(): void {
    this.stepCount++;
    noGrad(() => {
      for (const p of this.params) {
        if (!p.grad) continue;
        if (!shapesEqual(p.grad.shape, p.shape) || p.grad.dtype !== p.dtype) {
          throw new KilnError(`the gradient ${formatShapeType(p.grad.dtype, p.grad.shape)} does not match its parameter ${formatShapeType(p.dtype, p.shape)}`);
        }
        this.stepOne(p);
      }
    });
  }

  private stepOne(p: Tensor): void {
    let state = this.state.get(p);
    if (!state) {
      state = this.stateNames().map(() => p.constantLike(hostTensorData(p.dtype, p.shape, new Array<number>(p.numel()).fill(0))));
      this.state.set(p, state);
    }
    const entry = this.ruleFor(p.dtype, p.shape, p.deviceType);
    const scalars = [this.lr, this.stepCount].map((v) => p.constantLike(tensorData('f32', [], [v])));
    const operands = [p, p.grad!, ...state, ...scalars];
    let results: Tensor[];
    if (p.deviceType === 'webgpu') {
      entry.program ??= compile(entry.graph);
      const program = entry.program;
      const storages = operands.map((t) => t.gpuStorage('optimizer step'));
      const runner = storages[0]!.runner;
      const outs = runner.run(program, program.inputs.map((b) => storages[Number(b.name.slice(2))]!.buffer), `${this.constructor.name}.step`);
      results = outs.map((o, i) => {
        const b = program.outputs[i]!;
        const storage = o.aliasOf !== undefined ? storages[Number(program.inputs[o.aliasOf]!.name.slice(2))]! : new GpuStorage(runner, o.buffer);
        return Tensor.fromGpu(storage, b.dtype, b.shape);
      });
      for (const s of scalars) s.dispose();
    } else {
      const feeds = Object.fromEntries(operands.map((t, i) => [`in${i}`, t.data]));
      const outs = runOnCpu(entry.graph, feeds);
      results = entry.graph.outputs.map((v) => Tensor.fromData(outs[v.name]!));
    }
    p.setData(results[0]!);
    this.state.set(p, results.slice(1));
  }

  /** The one-parameter update graph: inputs in0 (param), in1 (grad), state..., lr, step. */
  private ruleFor(dtype: DType, shape: readonly number[], device: 'cpu' | 'webgpu'): { graph: Graph; program?: Program } {
    const key = `${this.hyperKey()}|${dtype}[${shape.join(',')}]@${device}`;
    let entry = this.programs.get(key);
    if (!entry) {
      const g = new Graph(`${this.constructor.name.toLowerCase()}_step`);
      const t = { dtype, shape, device };
      const param = g.addInput('in0', t);
      const grad = g.addInput('in1', t);
      const state = this.stateNames().map((_, i) => g.addInput(`in${i + 2}`, t));
      const n = state.length + 2;
      const lr = g.addInput(`in${n}`, { dtype: 'f32', shape: [], device });
      const step = g.addInput(`in${n + 1}`, { dtype: 'f32', shape: [], device });
      const r = this.update(new UpdateBuilder(g), { param, grad, state, lr, step });
      g.setOutputs([r.param, ...r.state]);
      entry = { graph: g };
      this.programs.set(key, entry);
    }
    return entry;
  }
}

/** Options of SGD, as PyTorch's. */
export interface SGDOptions {
  readonly lr: number;
  readonly momentum?: number;
  readonly dampening?: number;
  readonly weightDecay?: number;
  readonly nesterov?: boolean;
}

/** Stochastic gradient descent with optional momentum, dampening, weight decay and Nesterov momentum (PyTorch's rule). */
export class SGD extends Optimizer {
  readonly momentum: number;
  readonly dampening: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;

  constructor(params: Iterable<Tensor>, opts: SGDOptions) {
    super(params, opts.lr);
    this.momentum = opts.momentum ?? 0;
    this.dampening = opts.dampening ?? 0;
    this.weightDecay = opts.weightDecay ?? 0;
    this.nesterov = opts.nesterov ?? false;
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) throw new KilnError('Nesterov momentum requires a momentum and zero dampening');
  }

  stateNames(): readonly string[] {
    return this.momentum ? ['momentum_buffer'] : [];
  }

  protected hyperKey(): string {
    return `sgd:${this.momentum}:${this.dampening}:${this.weightDecay}:${this.nesterov}`;
  }

  update(b: UpdateBuilder, x: UpdateInputs): UpdateResult {
    let d = b.axpy(x.grad, this.weightDecay, x.param);
    const state: Value[] = [];
    if (this.momentum) {
      const buf = x.state[0]!;
      let next = b.add(b.scale(buf, this.momentum), b.scale(d, 1 - this.dampening));
      // PyTorch starts the buffer at the first gradient itself (which differs only with dampening).
      if (this.dampening) next = b.graph.addNode('where', [b.op('less_equal', x.step, b.scalar(1, x.step)), d, next]).output;
      state.push(next);
      d = this.nesterov ? b.axpy(d, this.momentum, next) : next;
    }
    return { param: b.sub(x.param, b.mul(b.like(x.lr, x.param), d)), state };
  }
}

/** Options of Adam and AdamW, as PyTorch's. */
export interface AdamOptions {
  readonly lr?: number;
  readonly betas?: readonly [number, number];
  readonly eps?: number;
  readonly weightDecay?: number;
}

/** Adam (with L2 weight decay added to the gradient, as PyTorch's Adam). */
export class Adam extends Optimizer {
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly weightDecay: number;

  constructor(params: Iterable<Tensor>, opts: AdamOptions = {}) {
    super(params, opts.lr ?? 1e-3);
    this.betas = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? this.defaultWeightDecay();
  }

  protected defaultWeightDecay(): number {
    return 0;
  }

  stateNames(): readonly string[] {
    return ['exp_avg', 'exp_avg_sq'];
  }

  protected hyperKey(): string {
    return `${this.constructor.name}:${this.betas.join(',')}:${this.eps}:${this.weightDecay}`;
  }

  /** AdamW decays the parameter itself; Adam adds the decay to the gradient. */
  protected decoupled(): boolean {
    return false;
  }

  update(b: UpdateBuilder, x: UpdateInputs): UpdateResult {
    const [b1, b2] = this.betas;
    let p = x.param;
    const lr = b.like(x.lr, p);
    let g = x.grad;
    if (this.weightDecay && this.decoupled()) p = b.sub(p, b.mul(b.scale(lr, this.weightDecay), p));
    else g = b.axpy(g, this.weightDecay, p);
    const m = b.add(b.scale(x.state[0]!, b1), b.scale(g, 1 - b1));
    const v = b.add(b.scale(x.state[1]!, b2), b.scale(b.mul(g, g), 1 - b2));
    // Bias corrections are scalars of the step number, computed once per step.
    const bc1 = b.sub(b.scalar(1, x.step), b.op('pow', b.scalar(b1, x.step), x.step));
    const bc2 = b.sub(b.scalar(1, x.step), b.op('pow', b.scalar(b2, x.step), x.step));
    const stepSize = b.like(b.div(x.lr, bc1), p);
    const denom = b.add(b.div(b.op('sqrt', v), b.like(b.op('sqrt', bc2), p)), b.scalar(this.eps, p));
    return { param: b.sub(p, b.mul(stepSize, b.div(m, denom))), state: [m, v] };
  }
}

/** AdamW: Adam with decoupled weight decay (default 0.01), as PyTorch's. */
export class AdamW extends Adam {
  protected override defaultWeightDecay(): number {
    return 0.01;
  }

  protected override decoupled(): boolean {
    return true;
  }
}
