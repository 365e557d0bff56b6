import { compile } from '../../compiler.js';
import { KilnError } from '../../ir/errors.js';
import { Graph, type Value } from '../../ir/graph.js';
import { tensorData } from '../../ir/tensor-data.js';
import { formatShapeType, isFloat, shapesEqual, type DType } from '../../ir/types.js';
import { runOnCpu } from '../../runtime/cpu/executor.js';
import type { Program } from '../../runtime/program.js';
import { noGrad } from './autograd-tape.js';
import { zeroGrads } from './grad-utils.js';
import { hostTensorData } from './host-values.js';
import { GpuStorage } from './storage.js';
import { Tensor } from './tensor.js';

// The optimizer base: parameter groups, state and its dict, and running update rules written as
// graph code. Eager `step()` compiles a group's rule once per parameter shape and runs it on the
// parameter's device (one fused kernel per updated tensor); a compiled training step
// (src/frontend/train) splices the same rule into its graph.

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
  /** The learning rate of the parameter's group, an f32 scalar. */
  readonly lr: Value;
  /** The step number counting this one (1 on the first step), an f32 scalar. */
  readonly step: Value;
}

/** What an update rule computes: the new parameter and its new state (same order as the inputs). */
export interface UpdateResult {
  readonly param: Value;
  readonly state: readonly Value[];
}

/** Hyperparameters every optimizer has: the learning rate. */
export interface Hyperparameters {
  lr: number;
}

/** A parameter group: its parameters and its hyperparameters (the optimizer's defaults where not given). */
export type ParamGroup<H extends Hyperparameters = Hyperparameters> = H & { params: Tensor[] };

/** A group as given to an optimizer: `{ params, lr: 1e-4 }`. */
export type ParamGroupSpec<H extends Hyperparameters = Hyperparameters> = Partial<H> & { params: Iterable<Tensor> };

/** An optimizer's state as `stateDict()` gives it, PyTorch's layout: parameters are numbered across groups in order. */
export interface OptimizerStateDict {
  /** Per parameter number, its state tensors by name (absent for parameters never updated). */
  readonly state: Record<number, Record<string, Tensor>>;
  /** Each group's hyperparameters and the numbers of its parameters. */
  readonly paramGroups: readonly (Record<string, unknown> & { params: number[] })[];
  /** Steps taken so far. */
  readonly stepCount: number;
}

/**
 * Base class of optimizers, like `torch.optim.Optimizer`: takes parameters or parameter groups
 * (`[{ params: a, lr: 1e-4 }, { params: b }]`, the defaults filling what a group leaves out).
 */
export abstract class Optimizer<H extends Hyperparameters = Hyperparameters> {
  readonly defaults: H;
  readonly paramGroups: ParamGroup<H>[] = [];
  /** Steps taken so far (one count for every parameter). */
  stepCount = 0;
  /** State tensors of each parameter, named by `stateNames`, created at its first step (see `initialState`). */
  readonly state = new Map<Tensor, Tensor[]>();
  private readonly programs = new Map<string, { graph: Graph; program?: Program }>();

  constructor(params: Iterable<Tensor> | Iterable<ParamGroupSpec<H>>, defaults: H) {
    this.defaults = defaults;
    const given = [...params] as (Tensor | ParamGroupSpec<H>)[];
    if (!given.length) throw new KilnError('optimizer got an empty parameter list');
    const groups = given.every((p) => p instanceof Tensor) ? [{ params: given as Tensor[] } as unknown as ParamGroupSpec<H>] : given;
    for (const g of groups) {
      if (g instanceof Tensor || typeof g !== 'object' || g === null || !('params' in g)) {
        throw new KilnError('optimizer params must be tensors or parameter groups ({ params, ...options }), not a mix');
      }
      this.addParamGroup(g);
    }
  }

  /** Every parameter, group by group. */
  get params(): Tensor[] {
    return this.paramGroups.flatMap((g) => g.params);
  }

  /** The learning rate of the first group; setting it sets every group's. */
  get lr(): number {
    return this.paramGroups[0]!.lr;
  }

  set lr(lr: number) {
    for (const g of this.paramGroups) g.lr = lr;
  }

  /** Adds a group of parameters with its own hyperparameters (the defaults fill the rest). */
  addParamGroup(spec: ParamGroupSpec<H>): void {
    const group = { ...this.defaults, ...spec, params: [...spec.params] } as ParamGroup<H>;
    const seen = new Set(this.params);
    for (const p of group.params) {
      if (!(p instanceof Tensor)) throw new KilnError('optimizer parameters must be tensors');
      if (!isFloat(p.dtype)) throw new KilnError(`optimizers update floating-point parameters only, got ${formatShapeType(p.dtype, p.shape)}`);
      if (seen.has(p)) throw new KilnError('some parameters appear more than once in the parameter groups');
      seen.add(p);
    }
    if (!(group.lr >= 0)) throw new KilnError(`Invalid learning rate: ${group.lr}`);
    this.validate(group);
    this.paramGroups.push(group);
  }

  /** Names of the per-parameter state tensors (e.g. momentum buffers), each shaped like the parameter. */
  abstract stateNames(): readonly string[];

  /** The update rule as graph code, with a group's hyperparameters baked in (but the learning rate). */
  abstract update(b: UpdateBuilder, x: UpdateInputs, h: H): UpdateResult;

  /** The value every element of state `name` starts at, for a parameter of a group with `h` (0 unless overridden). */
  initialState(_name: string, _h: H): number {
    return 0;
  }

  /** Refuses hyperparameters the rule cannot take. */
  protected validate(_h: H): void {}

  /** Clears every parameter's gradient: to undefined by default, or zeroed with `setToNone: false`. */
  zeroGrad(opts: { setToNone?: boolean } = {}): void {
    zeroGrads(this.params, opts);
  }

  /** Updates every parameter that has a gradient, on its device. Nothing waits for the device. */
  step(): void {
    this.stepCount++;
    noGrad(() => {
      for (const group of this.paramGroups) {
        for (const p of group.params) {
          if (!p.grad) continue;
          if (!shapesEqual(p.grad.shape, p.shape) || p.grad.dtype !== p.dtype) {
            throw new KilnError(`the gradient ${formatShapeType(p.grad.dtype, p.grad.shape)} does not match its parameter ${formatShapeType(p.dtype, p.shape)}`);
          }
          this.stepOne(p, group);
        }
      }
    });
  }

  /** The state: tensors by parameter number and name, each group's hyperparameters, the step count. */
  stateDict(): OptimizerStateDict {
    const state: Record<number, Record<string, Tensor>> = {};
    this.params.forEach((p, i) => {
      const s = this.state.get(p);
      if (s) state[i] = Object.fromEntries(this.stateNames().map((n, k) => [n, s[k]!]));
    });
    let next = 0;
    const paramGroups = this.paramGroups.map(({ params, ...h }) => ({ ...h, params: params.map(() => next++) }));
    return { state, paramGroups, stepCount: this.stepCount };
  }

  /**
   * Restores a state from `stateDict()` of an optimizer over parameters of the same shapes, in
   * the same groups: hyperparameters, step count and state tensors (converted to each
   * parameter's device and dtype, so await it). Nothing changes when it fails.
   */
  async loadStateDict(dict: OptimizerStateDict): Promise<void> {
    const fail = (why: string) => { throw new KilnError(`${this.constructor.name}.loadStateDict: ${why}`); };
    if (dict.paramGroups.length !== this.paramGroups.length) fail(`the state has ${dict.paramGroups.length} parameter groups, the optimizer ${this.paramGroups.length}`);
    dict.paramGroups.forEach((g, i) => {
      if (g.params.length !== this.paramGroups[i]!.params.length) fail(`group ${i} has ${g.params.length} parameters in the state, ${this.paramGroups[i]!.params.length} in the optimizer`);
    });
    const params = this.params;
    const names = this.stateNames();
    for (const [key, s] of Object.entries(dict.state)) {
      const p = params[Number(key)] ?? fail(`the state names parameter ${key}, which the optimizer does not have`);
      for (const n of names) {
        const t = s[n];
        if (!(t instanceof Tensor)) fail(`parameter ${key} has no state tensor '${n}'`);
        else if (!shapesEqual(t.shape, p.shape)) fail(`the state '${n}' of parameter ${key} is shaped [${t.shape.join(', ')}], the parameter [${p.shape.join(', ')}]`);
      }
    }
    const moved = await Promise.all(Object.entries(dict.state).map(async ([key, s]) => {
      const p = params[Number(key)]!;
      return [p, await Promise.all(names.map((n) => s[n]!.to({ device: p.gpu ?? p.device, dtype: p.dtype })))] as const;
    }));
    dict.paramGroups.forEach(({ params: _, ...h }, i) => Object.assign(this.paramGroups[i]!, h));
    this.stepCount = dict.stepCount;
    this.state.clear();
    for (const [p, s] of moved) this.state.set(p, s);
  }

  /** What distinguishes one group's rule from another's (its hyperparameters but the learning rate). */
  private hyperKey(h: H): string {
    const { params: _, lr: __, ...rest } = h as ParamGroup<H>;
    return `${this.constructor.name}:${JSON.stringify(rest)}`;
  }

  private stepOne(p: Tensor, group: ParamGroup<H>): void {
    let state = this.state.get(p);
    if (!state) {
      state = this.stateNames().map((n) => p.constantLike(hostTensorData(p.dtype, p.shape, new Array<number>(p.numel()).fill(this.initialState(n, group)))));
      this.state.set(p, state);
    }
    const entry = this.ruleFor(group, p.dtype, p.shape, p.deviceType);
    const scalars = [group.lr, this.stepCount].map((v) => p.constantLike(tensorData('f32', [], [v])));
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
  private ruleFor(group: ParamGroup<H>, dtype: DType, shape: readonly number[], device: 'cpu' | 'webgpu'): { graph: Graph; program?: Program } {
    const key = `${this.hyperKey(group)}|${dtype}[${shape.join(',')}]@${device}`;
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
      const r = this.update(new UpdateBuilder(g), { param, grad, state, lr, step }, group);
      g.setOutputs([r.param, ...r.state]);
      entry = { graph: g };
      this.programs.set(key, entry);
    }
    return entry;
  }
}
