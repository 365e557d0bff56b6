import { isAttrKind, isGraphAttr, type AttrSpec, type AttrSpecs, type Attrs, type AttrsOf, type AttrValue } from '../attrs.js';
import { KilnError, OpTypeError } from '../errors.js';
import type { DType, Shape, TensorType } from '../types.js';
import { isTensorData } from '../tensor-data.js';
import type { Dim } from '../size-expr.js';

/**
 * An op's fusion pattern (TVM's op pattern): what a fusion pass may assume about how the op's
 * output elements depend on its operands. It describes the op, not a kernel: which operand reads
 * and epilogues a kernel accepts is that kernel's own declaration. test/ir/fusion-kind.test.ts
 * checks the promises that can be checked mechanically.
 * - `elementwise`: output element i is a function of the operands' elements at i (under NumPy
 *   broadcasting, or the op's `operandStrides`). Exactly the ops with `math`; a chain of them is
 *   one kernel.
 * - `reduction`: each output element folds a slice of the input along some axes (the ops with
 *   `reduce` math), or normalises such a slice (softmax, log_softmax, layer_norm). Elementwise
 *   work on its input (a prologue) and on its result (an epilogue) may join its kernel.
 * - `anchor`: a compute-heavy op with a kernel of its own (matmul, gemm, convolutions, pooling
 *   windows) whose result may take an elementwise epilogue before it is stored (TVM's
 *   out-elementwise-fusable).
 * - `movement`: each output element is one input element, or a fill constant, at an index known
 *   from shapes and attributes alone: no arithmetic and the same dtype, so its CPU kernel copies
 *   bits and handles every dtype (f16 included; the eager frontend relies on it).
 * - `opaque`: the rest (sources, data-dependent indexing, scans, sorting, resampling); fusion
 *   leaves it alone.
 */
export type FusionKind = 'elementwise' | 'reduction' | 'anchor' | 'movement' | 'opaque';

/** The result of type inference: device is decided by placement, not by the op. */
export interface InferredType {
  readonly dtype: DType;
  readonly shape: Shape;
}

/**
 * Scalar math of an elementwise op, written once for the CPU reference and for WGSL; `A` is the
 * op's attribute schema, which types `attrs`. (Members are methods so that a math of typed
 * attributes is also a math of untyped ones: the registry holds them all.)
 */
export interface ElementwiseMath<A extends AttrSpecs = AttrSpecs> {
  /**
   * Computes one element on the host from operand values; `dtype` is the result's, which the
   * caller rounds to by storing. bool operands arrive as 0/1; a bool result is truthiness.
   * `inDTypes` are the operands' dtypes (cast needs them: float -> int saturates, int -> int wraps).
   */
  cpu(xs: readonly number[], dtype: DType, attrs: AttrsOf<A>, inDTypes?: readonly DType[]): number;
  /**
   * WGSL expression over operand expressions `xs` (each of its operand's storage type: bool is
   * u32 0/1), giving a value convertible to `t`, the result's storage type; `inTypes` are the
   * operands' storage types. Float attributes are baked into the text as literals.
   */
  wgsl(xs: readonly string[], t: string, attrs: AttrsOf<A>, inTypes: readonly string[]): string;
  /**
   * Names of the WGSL library functions (src/codegen/kernels/wgsl-math.ts, e.g. `kiln_erf_f32`)
   * that the `wgsl` expression calls, for the same arguments; codegen declares each once per kernel.
   * Without `attrs` it names every helper the op might call (declaring an unused one is harmless).
   */
  helpers?(t: string, inTypes: readonly string[], attrs?: AttrsOf<A>): readonly string[];
}

/** How a reduction combines elements (the same for CPU and WGSL). */
export interface ReductionMath {
  /** Identity element. */
  readonly init: number;
  /** Folds one element into the accumulator (a double); `dtype` is the operand's. */
  readonly cpu: (acc: number, x: number, dtype: DType) => number;
  /** WGSL combining `acc` and `x`, both of the accumulator's WGSL type `t` (f32 for floats). */
  readonly wgsl: (acc: string, x: string, t: string) => string;
  /** Names of the WGSL library functions `wgsl` calls for type `t` (as ElementwiseMath.helpers). */
  readonly helpers?: (t: string) => readonly string[];
  /** Final step given the accumulator and the number of reduced elements. */
  readonly finish?: { cpu: (acc: number, count: number) => number; wgsl: (acc: string, count: string) => string };
}

/** An op's definition; `A`, its attribute schema, types the attributes its functions receive. */
export interface OpSpec<A extends AttrSpecs = AttrSpecs> {
  readonly name: string;
  /** The fusion pattern (see FusionKind). */
  readonly kind: FusionKind;
  /** Exact input count, or [min, max]. */
  readonly inputs: number | readonly [number, number];
  readonly attrs?: A;
  /** Output dtypes and shapes; throws OpTypeError with a message naming the offending shapes. */
  infer(inputs: readonly TensorType[], attrs: AttrsOf<A>, declared?: readonly TensorType[]): InferredType[];
  /**
   * Result extents from operand extents, some symbolic (src/ir/size-expr.ts), for ops whose
   * extents are not copies of operand extents (reshape, strided windows, concatenation); others
   * are found from `infer` (see src/ir/symbolic-shapes.ts).
   */
  dims?(inputs: readonly (readonly Dim[])[], attrs: AttrsOf<A>): (readonly Dim[])[];
  /**
   * The result has an extent that depends on the operand values (NonZero's count): a size
   * variable of its own, named by the op's `size` attribute (Graph.addNode names it after the
   * node when absent), which `dims` introduces with the range the op can produce. A run binds it
   * from the actual result.
   */
  readonly producesSize?: true;
  readonly math?: ElementwiseMath<A>;
  /**
   * For elementwise ops whose operands do not broadcast NumPy-style (batch_norm's [C]
   * parameters align with dimension 1): each operand's element strides in output coordinates.
   * Kernels of `math` use these instead of NumPy broadcast strides when present. Extents may be
   * symbolic (strides are then expressions over the sizes); numbers in give numbers out.
   */
  operandStrides?(inputs: readonly (readonly Dim[])[], out: readonly Dim[], attrs: AttrsOf<A>): Dim[][];
  /**
   * Mixed-precision policy: when a graph is lowered to f16, an op marked 'f32' (range-sensitive:
   * softmax, normalisation, exp/log) still computes in f32, with casts around it.
   */
  readonly precision?: 'f32';
  readonly reduce?: ReductionMath;
  /**
   * The output is the input's elements in the same order under another shape (reshape and
   * friends): it needs no kernel and shares the input's device buffer.
   */
  readonly aliasesInput?: true;
  /**
   * The op takes string operands (its CPU kernel reads them as JS strings, or copies elements
   * whatever they are); other ops refuse them in type inference. String values live on the
   * host: placement runs every node that reads or makes one on the CPU.
   */
  readonly strings?: true;
  /**
   * Fills attributes whose default depends on other attributes (a pool's stride defaults to
   * its kernel size), so the node always stores them explicitly. Runs after static defaults.
   */
  completeAttrs?(attrs: AttrsOf<A>): Attrs;
}

/** An op as the rest of kiln sees it: its spec plus attribute handling. */
export class OpDef {
  constructor(readonly spec: OpSpec) {}

  get name(): string { return this.spec.name; }
  get kind(): FusionKind { return this.spec.kind; }
  get aliasesInput(): boolean { return this.spec.aliasesInput === true; }
  get producesSize(): boolean { return this.spec.producesSize === true; }
  get attrSpecs(): Readonly<Record<string, AttrSpec>> { return this.spec.attrs ?? {}; }

  infer(inputs: readonly TensorType[], attrs: Attrs, declared?: readonly TensorType[]): InferredType[] {
    if (!this.spec.strings && inputs.some((t) => t.dtype === 'string')) throw new OpTypeError('does not take string tensors');
    return this.spec.infer(inputs, attrs, declared);
  }

  checkArity(n: number): void {
    const [lo, hi] = typeof this.spec.inputs === 'number' ? [this.spec.inputs, this.spec.inputs] : this.spec.inputs;
    if (n < lo || n > hi) {
      const want = lo === hi ? `${lo}` : `${lo} to ${hi}`;
      throw new OpTypeError(`takes ${want} input${hi === 1 ? '' : 's'}, got ${n}`);
    }
  }

  /** Checks one attribute: the op must have it, and the value must be of its kind. */
  checkAttr(key: string, v: AttrValue): void {
    const spec = this.attrSpecs[key];
    if (!spec) {
      const known = Object.keys(this.attrSpecs);
      throw new KilnError(`${this.name} has no attribute '${key}'${known.length ? ` (it has: ${known.join(', ')})` : ''}`);
    }
    checkAttrKind(this.name, key, spec, v);
  }

  /** Checks every attribute against the schema and fills defaults; a missing required one is an error. */
  withDefaults(attrs: Attrs): Attrs {
    for (const [key, v] of Object.entries(attrs)) this.checkAttr(key, v);
    const out: Record<string, AttrValue> = {};
    for (const [key, spec] of Object.entries(this.attrSpecs)) {
      const v = attrs[key] ?? spec.default;
      if (v !== undefined) out[key] = v;
      else if (!spec.optional) throw new KilnError(`${this.name} needs the attribute '${key}' (${spec.kind})`);
    }
    return this.spec.completeAttrs ? this.spec.completeAttrs(out) : out;
  }
}

function checkAttrKind(op: string, key: string, spec: AttrSpec, v: AttrValue): void {
  if (!isAttrKind(spec.kind, v)) throw new KilnError(`${op} attribute '${key}' must be ${spec.kind}, got ${describeAttr(v)}`);
}

function describeAttr(v: AttrValue): string {
  if (isTensorData(v)) return `a ${v.dtype}[${v.shape.join(',')}] tensor`;
  if (isGraphAttr(v)) return `graph ${v.name}`;
  if (Array.isArray(v)) return `[${v.slice(0, 8).map(String).join(', ')}${v.length > 8 ? ', ...' : ''}]`;
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

const registry = new Map<string, OpDef>();

/**
 * Registers an op; each op is defined exactly once. Its attribute schema types the attributes
 * that its infer, math and other functions receive.
 */
export function defineOp<const A extends AttrSpecs = {}>(spec: OpSpec<A>): OpDef {
  if (registry.has(spec.name)) throw new Error(`op ${spec.name} is defined twice`);
  const def = new OpDef(spec);
  registry.set(spec.name, def);
  return def;
}

/** Looks up an op by name; unknown names get an error listing the known ops. */
export function getOp(name: string): OpDef {
  const def = registry.get(name);
  if (!def) throw new KilnError(`unknown op '${name}' (known ops: ${[...registry.keys()].sort().join(', ')})`);
  return def;
}

export function hasOp(name: string): boolean {
  return registry.has(name);
}

/** Every registered op, in definition order. */
export function allOps(): OpDef[] {
  return [...registry.values()];
}
