import { KilnError } from '../../ir/errors.js';
import { isFloat, shapesEqual, type DType } from '../../ir/types.js';
import { requireDTypeOn, resolveGpu, type DeviceLike } from './devices.js';
import { zeroGrads } from './grad-utils.js';
import type { DTypeLike } from './dtype.js';
import { Tensor, type ToOptions } from './tensor.js';
import { parseModuleTo } from './to-args.js';
import { moduleRepr } from './module-repr.js';

/** A trainable tensor of a module; a Tensor tagged as a parameter. */
export type Parameter = Tensor;

/** Tensors tagged as parameters (by `Parameter()` or a registration): only these register when assigned to a field. */
const parameterTensors = new WeakSet<Tensor>();

/**
 * Tags a tensor as a parameter, like `torch.nn.Parameter`: assigned to a module's field it is
 * registered under the field's name. A floating-point one requires gradients unless told not to.
 */
export function Parameter(t: Tensor, requiresGrad = true): Parameter {
  parameterTensors.add(t);
  if (isFloat(t.dtype) && t.isLeaf) t.requiresGrad = requiresGrad;
  return t;
}

/** A module's state: parameters and persistent buffers by dotted path, in registration order. */
export type StateDict = Record<string, Tensor>;

/** What `loadStateDict` matched, as PyTorch's `load_state_dict` returns it. */
export interface LoadResult {
  readonly missingKeys: string[];
  readonly unexpectedKeys: string[];
}

interface BufferEntry {
  readonly tensor: Tensor;
  /** Persistent buffers belong to the state dict (running statistics); others are derived. */
  readonly persistent: boolean;
}

/** Removes a hook it was returned for. */
export interface HookHandle {
  remove(): void;
}

type ForwardHook = (m: AnyModule, inputs: unknown[], output: ModuleOutput) => ModuleOutput | void;
type ForwardPreHook = (m: AnyModule, inputs: unknown[]) => unknown[] | void;
let nextHookId = 0;

/**
 * What a module's forward returns: a tensor (the default), or, as PyTorch's LSTM and
 * MultiheadAttention do, a tuple of them, nested (undefined where PyTorch returns None).
 */
export type ModuleOutput = Tensor | undefined | readonly ModuleOutput[];

/** A module whatever its forward returns. */
export type AnyModule = Module<ModuleOutput>;

/**
 * Base class of layers and models, like `torch.nn.Module`: subclasses implement `forward`, and
 * child modules and parameters (`Parameter(t)`) assigned to fields are registered under the
 * field's name, in assignment order, as PyTorch's `__setattr__` does:
 *
 *   class Net extends nn.Module {
 *     conv = new nn.Conv2d(3, 8, 3);   // registered as 'conv': parameters conv.weight, conv.bias
 *     scale = nn.Parameter(kiln.ones([8]));
 *   }
 *
 * `registerParameter`/`registerBuffer`/`registerModule` name things explicitly (buffers only
 * that way). State is named by path (`0.weight`, `bn.running_mean`). Moving or converting a
 * module changes its tensors in place, so fields holding them stay valid, as in PyTorch.
 */
export abstract class Module<Out extends ModuleOutput = Tensor> {
  private readonly params = new Map<string, Tensor>();
  private readonly bufs = new Map<string, BufferEntry>();
  private readonly childModules = new Map<string, AnyModule>();
  /** Training mode; modules start in it, as in PyTorch (`eval()` for inference). */
  training = true;
  private readonly hooks = new Map<number, ForwardHook>();
  private readonly preHooks = new Map<number, ForwardPreHook>();

  constructor() {
    // Class fields of a subclass are defined on the object its base constructor returns, after
    // that constructor has run, so the base cannot see them by walking its own fields. Returning
    // a Proxy whose defineProperty trap sees every field definition and every later assignment
    // (`[[Set]]` on an ordinary object ends in `[[DefineOwnProperty]]` on the receiver) registers
    // them at the moment they happen, in order, and also catches reassignments made after
    // construction, which a lazy walk on first use would miss or misorder.
    return new Proxy(this, {
      defineProperty: (target, key, desc) => {
        if (typeof key === 'string' && 'value' in desc) target.registerField(key, desc.value);
        return Reflect.defineProperty(target, key, desc);
      },
      deleteProperty: (target, key) => {
        if (typeof key === 'string') target.unregister(key);
        return Reflect.deleteProperty(target, key);
      },
    });
  }

  /** The computation: tensors in (and, as PyTorch's keyword arguments, options or state tuples), Out out. */
  abstract forward(...inputs: unknown[]): Out;

  /**
   * Runs forward (the call syntax of PyTorch modules), taking what the subclass's forward takes;
   * forward pre-hooks may replace the inputs first, forward hooks the output after.
   */
  call(...inputs: Parameters<this['forward']>): Out {
    let args: unknown[] = inputs;
    for (const hook of this.preHooks.values()) args = hook(this, args) ?? args;
    let out = this.forward(...args);
    for (const hook of this.hooks.values()) out = (hook(this, args, out) as Out | undefined) ?? out;
    return out;
  }

  /**
   * Calls `hook(module, inputs, output)` after every forward, as register_forward_hook (to read
   * features, say); a value it returns replaces the output. `remove()` on the handle undoes it.
   */
  registerForwardHook(hook: (m: this, inputs: unknown[], output: Out) => Out | void): HookHandle {
    return this.addHook(this.hooks, hook as ForwardHook);
  }

  /** Calls `hook(module, inputs)` before every forward, as register_forward_pre_hook; an array it returns replaces the inputs. */
  registerForwardPreHook(hook: (m: this, inputs: unknown[]) => unknown[] | void): HookHandle {
    return this.addHook(this.preHooks, hook as ForwardPreHook);
  }

  private addHook<H>(into: Map<number, H>, hook: H): HookHandle {
    const id = nextHookId++;
    into.set(id, hook);
    return { remove: () => void into.delete(id) };
  }

  /** Sets requiresGrad on every parameter (false freezes the module for fine-tuning), as requires_grad_; returns this. */
  requiresGrad_(flag = true): this {
    for (const p of this.parameters()) p.requiresGrad = flag;
    return this;
  }

  /** The layer's settings in its printed form (`in_features=4, out_features=3, bias=True`), as PyTorch's extra_repr. */
  extraRepr(): string {
    return '';
  }

  /** The module as PyTorch prints it: its class, settings and children, indented. */
  toString(): string {
    return moduleRepr(this);
  }

  /** Registers a parameter under `name` and returns it; a floating-point one requires gradients, as in PyTorch. */
  protected registerParameter(name: string, t: Tensor): Tensor {
    this.claim(name);
    this.params.set(name, t);
    return Parameter(t);
  }

  /** Clears the gradient of every parameter: to undefined by default (as PyTorch), or zeroed with `setToNone: false`. */
  zeroGrad(opts: { setToNone?: boolean } = {}): void {
    zeroGrads(this.parameters(), opts);
  }

  /** Registers a buffer (state that is not a parameter, e.g. running statistics) and returns it. */
  protected registerBuffer(name: string, t: Tensor, opts: { persistent?: boolean } = {}): Tensor {
    this.claim(name);
    this.bufs.set(name, { tensor: t, persistent: opts.persistent ?? true });
    return t;
  }

  /** Registers a child module under `name` and returns it. */
  protected registerModule<M extends AnyModule>(name: string, m: M): M {
    this.claim(name);
    this.childModules.set(name, m);
    return m;
  }

  /**
   * Every parameter with its dotted path, depth first in registration order; a parameter shared
   * by two modules (tied weights) is listed once, under its first path, as in PyTorch.
   */
  namedParameters(prefix = ''): [string, Tensor][] {
    const seen = new Set<Tensor>();
    const out: [string, Tensor][] = [];
    for (const [path, m] of this.namedModules(prefix)) {
      for (const [n, p] of m.params) if (!seen.has(p)) { seen.add(p); out.push([path ? `${path}.${n}` : n, p]); }
    }
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** Every buffer with its dotted path (persistent or not), depth first. */
  namedBuffers(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, b] of this.bufs) out.push([prefix + n, b.tensor]);
    for (const [n, c] of this.childModules) out.push(...c.namedBuffers(`${prefix}${n}.`));
    return out;
  }

  buffers(): Tensor[] {
    return this.namedBuffers().map(([, b]) => b);
  }

  namedChildren(): [string, AnyModule][] {
    return [...this.childModules];
  }

  /** The direct children, in registration order. */
  children(): AnyModule[] {
    return [...this.childModules.values()];
  }

  /** This module and every descendant with its dotted path ('' for this one). */
  namedModules(prefix = ''): [string, AnyModule][] {
    const out: [string, AnyModule][] = [[prefix.replace(/\.$/, ''), this]];
    for (const [n, c] of this.childModules) out.push(...c.namedModules(`${prefix}${n}.`));
    return out;
  }

  modules(): AnyModule[] {
    return this.namedModules().map(([, m]) => m);
  }

  /**
   * Calls `fn` on every submodule (children first, depth first) and then on this module, as
   * PyTorch's `model.apply(init_weights)`; returns this module.
   */
  apply(fn: (m: AnyModule) => void): this {
    for (const child of this.children()) child.apply(fn);
    fn(this);
    return this;
  }

  /** Inference mode, like `model.eval()`. */
  eval(): this {
    return this.train(false);
  }

  /** Sets training mode on this module and its descendants. */
  train(mode = true): this {
    this.training = mode;
    for (const c of this.childModules.values()) c.train(mode);
    return this;
  }

  /** Parameters and persistent buffers by dotted path, like `state_dict()` (the tensors themselves). */
  stateDict(): StateDict {
    const out: StateDict = {};
    const walk = (m: AnyModule, prefix: string) => {
      for (const [n, p] of m.params) out[prefix + n] = p;
      for (const [n, b] of m.bufs) if (b.persistent) out[prefix + n] = b.tensor;
      for (const [n, c] of m.childModules) walk(c, `${prefix}${n}.`);
    };
    walk(this, '');
    return out;
  }

  /**
   * Copies `dict`'s tensors into this module's parameters and persistent buffers, converted to
   * each one's dtype and device (so await it: values may need a readback). With `strict` (the
   * default) missing and unexpected keys are errors; a shape mismatch always is. Nothing changes
   * when it fails.
   */
  async loadStateDict(dict: Readonly<Record<string, Tensor>>, opts: { strict?: boolean } = {}): Promise<LoadResult> {
    const own = this.stateDict();
    const missingKeys = Object.keys(own).filter((k) => !(k in dict));
    const unexpectedKeys = Object.keys(dict).filter((k) => !(k in own));
    const errors: string[] = [];
    if (opts.strict !== false) {
      if (missingKeys.length) errors.push(`Missing key(s) in state_dict: ${missingKeys.map((k) => `"${k}"`).join(', ')}.`);
      if (unexpectedKeys.length) errors.push(`Unexpected key(s) in state_dict: ${unexpectedKeys.map((k) => `"${k}"`).join(', ')}.`);
    }
    const pairs = Object.entries(own).filter(([k]) => k in dict).map(([k, target]) => [k, target, dict[k]!] as const);
    for (const [k, target, src] of pairs) {
      if (!(src instanceof Tensor)) errors.push(`the value of "${k}" is not a Tensor.`);
      else if (src.isDisposed || src.isSymbolic) errors.push(`the value of "${k}" is ${src.toString()}, not a tensor with values.`);
      else if (!shapesEqual(src.shape, target.shape)) {
        errors.push(`size mismatch for ${k}: copying a param with shape [${src.shape.join(', ')}] from checkpoint, the shape in current model is [${target.shape.join(', ')}].`);
      }
    }
    if (errors.length) throw new KilnError(`Error(s) in loading state_dict for ${this.constructor.name}:\n\t${errors.join('\n\t')}`);
    const values = await Promise.all(pairs.map(([, target, src]) => src.to({ device: target.gpu ?? target.device, dtype: target.dtype })));
    pairs.forEach(([, target], i) => target.setData(values[i]!));
    return { missingKeys, unexpectedKeys };
  }

  /**
   * Moves every parameter and buffer to a device and/or converts its floating-point ones to a
   * dtype, in place: `await model.to('webgpu')`, `await model.to({ dtype: 'float16' })`.
   */
  async to(target: DeviceLike | DTypeLike | ToOptions): Promise<this> {
    const { device, dtype } = parseModuleTo(target);
    const tensors = this.allTensors();
    const gpu = device === undefined || device === 'cpu' ? undefined : await resolveGpu(device);
    if (dtype === 'f16') {
      for (const t of tensors) {
        const where = gpu ?? t.gpu;
        if (where && isFloat(t.dtype)) requireDTypeOn(where, 'f16', `${this.constructor.name}.to(float16)`);
      }
    }
    const moved = await Promise.all(tensors.map((t) => t.to({
      ...(device === undefined ? {} : { device: gpu ?? 'cpu' }),
      ...(dtype !== undefined && isFloat(t.dtype) ? { dtype } : {}),
    })));
    tensors.forEach((t, i) => t.setData(moved[i]!));
    return this;
  }

  /** Converts floating-point parameters and buffers to float16 where they are (a GPU needs shader-f16). */
  half(): this {
    return this.convertFloats('f16');
  }

  /** Converts floating-point parameters and buffers to float32 where they are. */
  float(): this {
    return this.convertFloats('f32');
  }

  /** Frees the device memory of every parameter and buffer now (the module is unusable afterwards). */
  dispose(): void {
    for (const t of this.allTensors()) t.dispose();
  }

  /** Tags each parameter and buffer with its path, so traced constants carry it as their `ref`. */
  nameParameters(): void {
    for (const [n, p] of [...this.namedParameters(), ...this.namedBuffers()]) {
      if (p.paramName && p.paramName !== n) throw new KilnError(`parameter ${n} is shared with ${p.paramName}`);
      p.paramName = n;
    }
  }

  private allTensors(): Tensor[] {
    return [...new Set([...this.parameters(), ...this.buffers()])];
  }

  private convertFloats(dtype: DType): this {
    const tensors = this.allTensors().filter((t) => isFloat(t.dtype) && t.dtype !== dtype);
    // Check every device first, so a failure leaves the module as it was.
    for (const t of tensors) if (t.gpu) requireDTypeOn(t.gpu, dtype, `${this.constructor.name}.${dtype === 'f16' ? 'half' : 'float'}()`);
    const converted = tensors.map((t) => t.type(dtype));
    tensors.forEach((t, i) => t.setData(converted[i]!));
    return this;
  }

  /**
   * What assigning `value` to the field `name` registers: a module as a child, a parameter as a
   * parameter, a tensor assigned over a buffer as that buffer's new value. A value already
   * registered here (a field holding what `registerX` returned) and plain values are left alone;
   * `undefined` or `null` over a registered name removes it.
   */
  private registerField(name: string, value: unknown): void {
    if (value === undefined || value === null) return this.unregister(name);
    if (value instanceof Module) {
      if ([...this.childModules.values()].includes(value)) return;
      if (this.params.has(name) || this.bufs.has(name)) throw new KilnError(`cannot assign module to '${name}': it is a parameter or buffer of ${this.constructor.name}`);
      this.childModules.set(name, value);
      return;
    }
    if (!(value instanceof Tensor)) {
      if (this.childModules.has(name) || this.params.has(name) || this.bufs.has(name)) {
        throw new KilnError(`cannot assign ${typeof value} to '${name}': it is a registered parameter, buffer or module of ${this.constructor.name}`);
      }
      return;
    }
    if ([...this.params.values()].includes(value) || [...this.bufs.values()].some((b) => b.tensor === value)) return;
    const buffer = this.bufs.get(name);
    if (buffer) this.bufs.set(name, { ...buffer, tensor: value });
    else if (parameterTensors.has(value)) {
      if (this.childModules.has(name)) throw new KilnError(`cannot assign a parameter to '${name}': it is a module of ${this.constructor.name}`);
      this.params.set(name, value);
    } else if (this.params.has(name)) {
      throw new KilnError(`cannot assign a plain tensor to parameter '${name}' of ${this.constructor.name} (wrap it: nn.Parameter(t))`);
    } else if (this.childModules.has(name)) {
      throw new KilnError(`cannot assign a tensor to '${name}': it is a module of ${this.constructor.name}`);
    }
  }

  private unregister(name: string): void {
    this.params.delete(name);
    this.bufs.delete(name);
    this.childModules.delete(name);
  }

  private claim(name: string): void {
    if (!name || name.includes('.')) throw new KilnError(`'${name}' is not a valid name for a parameter, buffer or module (no dots, not empty)`);
    if (this.params.has(name) || this.bufs.has(name) || this.childModules.has(name)) {
      throw new KilnError(`${this.constructor.name} already has a parameter, buffer or module named '${name}'`);
    }
  }
}
