import type { Attrs } from '../../ir/attrs.js';
import { Graph, type Value } from '../../ir/graph.js';
import { MAX_FOLDED_ELEMENTS } from '../../ir/tensor-data.js';
import { numel, type DType, type Shape } from '../../ir/types.js';
import { evaluateNode } from '../../runtime/cpu/executor.js';
import { checkRepresentable, constTensor, makeConst, UnsupportedOnnxError, varies, type ConstTensor } from './tensor.js';
import { dimRange, evalDim, isSymbolic, sizeVar, sizeVarsOf, type Dim } from '../../ir/size-expr.js';
import { probeSettings } from '../../ir/symbolic-shapes.js';
import { tensorData, type TensorData } from '../../ir/tensor-data.js';
import { dimsOf } from '../../ir/types.js';
import { getOp } from '../../ir/ops/index.js';

/** What an ONNX tensor name stands for during import: a graph value, or data known now. */
export type Operand = Value | ConstTensor;

/**
 * An ONNX sequence during import: static shapes fix its length and its elements, so it is a
 * list of tensor operands (`dtype`: the element type of an empty one). It never reaches the graph.
 */
export interface SequenceOperand {
  readonly kind: 'sequence';
  readonly items: readonly Operand[];
  readonly dtype: DType | undefined;
}

/** An ONNX optional during import: holds a tensor or a sequence, or nothing. */
export interface OptionalOperand {
  readonly kind: 'optional';
  readonly value: Operand | SequenceOperand | undefined;
}

/** What an ONNX name stands for during import: a tensor operand, or a sequence or optional of them. */
export type ImportValue = Operand | SequenceOperand | OptionalOperand;

/** Whether an import-time value is a sequence or an optional rather than a tensor. */
export function isContainer(x: ImportValue): x is SequenceOperand | OptionalOperand {
  const k = (x as { kind?: string }).kind;
  return k === 'sequence' || k === 'optional';
}

export function isConst(x: Operand): x is ConstTensor {
  return (x as ConstTensor).kind === 'const';
}

/** The dtype and shape of an operand. */
export function typeOf(x: Operand): { dtype: DType; shape: Shape } {
  return isConst(x) ? x.data : x.type;
}

/**
 * Emits kiln ops into the graph being imported. An op whose operands are all known at import
 * time is computed at once with the CPU reference kernels instead (shape arithmetic, weight
 * transposes, ...), so that ONNX parameters that arrive as tensors become attributes.
 */
export class OnnxBuilder {
  private readonly materialized = new Map<ConstTensor, Value>();
  private folds = 0;

  /** `onnxNames`: the model's tensor names, which constants keep when they become nodes. */
  constructor(readonly graph: Graph, private readonly onnxNames: ReadonlySet<string>) {}

  /** Emits a one-result op (or folds it). */
  op(name: string, inputs: readonly Operand[], attrs: Attrs = {}): Operand {
    return this.ops(name, inputs, attrs)[0]!;
  }

  /** Emits an op (or folds it when every operand is a constant and there is at least one). */
  ops(name: string, inputs: readonly Operand[], attrs: Attrs = {}): Operand[] {
    if (!getOp(name).spec.strings && inputs.some((x) => typeOf(x).dtype === 'string')) throw new UnsupportedOnnxError(`string tensors are not supported here (kiln's ${name} takes numbers)`);
    const folded = inputs.length > 0 && inputs.every(isConst) ? this.foldProbed(name, inputs, attrs) : undefined;
    if (folded) return folded;
    const values = inputs.map((x) => this.value(x));
    return this.graph.addNode(name, values, attrs).outputs;
  }

  /** A graph value for an operand: constants become `const` nodes (once each). */
  value(x: Operand): Value {
    if (!isConst(x)) return x;
    const done = this.materialized.get(x);
    if (done) return done;
    if (varies(x)) {
      throw new UnsupportedOnnxError(`'${x.name}' is computed from sizes that vary from run to run and is used as a tensor; kiln takes such sizes as reshape targets only (give fixed sizes with --input-shape)`);
    }
    checkRepresentable(x);
    const name = this.onnxNames.has(x.name) && !this.graph.hasName(x.name) ? x.name : undefined;
    // String constants live on the host, as every string value does.
    const v = this.graph.addNode('const', [], { value: x.data }, { device: x.data.dtype === 'string' ? 'cpu' : 'webgpu', ...(name ? { names: [name] } : {}) }).output;
    this.materialized.set(x, v);
    return v;
  }

  /** The point `rollback` returns the graph to: the nodes emitted so far. */
  mark(): number {
    return this.graph.nodes.length;
  }

  /**
   * Drops the nodes emitted since `mark` (an attempt given up, such as unrolling a loop whose
   * condition turns out to be computed at run time), freeing the names they took.
   */
  rollback(mark: number): void {
    const dropped = new Set(this.graph.nodes.splice(mark));
    for (const n of dropped) for (const v of n.outputs) this.graph.renameToFresh(v);
    for (const [c, v] of this.materialized) if (v.producer && dropped.has(v.producer)) this.materialized.delete(c);
  }

  /** A constant of kiln dtype `dtype` made by the importer (a scalar unless `shape` says otherwise). */
  scalar(dtype: DType, value: number, shape: readonly number[] = []): ConstTensor {
    return this.tensor(dtype, shape, new Array<number>(shape.reduce((p, d) => p * d, 1)).fill(value));
  }

  /** A constant of kiln dtype `dtype` and `shape` holding `values` (row-major), made by the importer. */
  tensor(dtype: DType, shape: readonly number[], values: readonly number[]): ConstTensor {
    return makeConst(`const${this.folds++}`, dtype, shape, values);
  }

  /**
   * The shape arithmetic of a model whose sizes vary: a Shape of such a tensor is a constant at
   * the sizes' largest values, which also carries its values at two more settings of the sizes
   * (`probes`); folding computes every op at each setting, and a consumer reads each element as
   * the size whose values it took (dimFromProbes). Settings of the graph's size variables.
   */
  probeSettings(): Map<string, number>[] {
    // Every size of the graph: its inputs', and those data-dependent ops made (NonZero's count).
    return probeSettings([...sizeVarsOf(this.graph.values().flatMap((v) => dimsOf(v.type))).values()]);
  }

  /** The graph's size variables, each as a dimension: what shape arithmetic may name besides operand extents. */
  sizeDims(): Dim[] {
    return [...sizeVarsOf(this.graph.inputs.flatMap((v) => dimsOf(v.type))).values()].map((v) => sizeVar(v.name, v.min, v.max));
  }

  /** A shape (or part of one) as a constant: `dims` at the largest sizes, with its probes when some vary. */
  shapeConst(name: string, dims: readonly Dim[]): ConstTensor {
    const c = makeConst(name, 'i32', [dims.length], dims.map((d) => dimRange(d)[1]));
    if (!dims.some(isSymbolic)) return c;
    const probes = this.probeSettings().slice(1).map((env) => tensorData('i32', [dims.length], dims.map((d) => evalDim(d, env))));
    return { ...c, probes };
  }

  /** fold, also at each probe setting when an operand carries probes. */
  private foldProbed(name: string, inputs: readonly ConstTensor[], attrs: Attrs): ConstTensor[] | undefined {
    const results = this.fold(name, inputs, attrs);
    const probed = inputs.some((c) => c.probes);
    if (!results || !probed) return results;
    const count = inputs.find((c) => c.probes)!.probes!.length;
    const atProbe = Array.from({ length: count }, (_, k) => this.fold(name, inputs.map((c) => constTensor(c.name, c.probes?.[k] ?? c.data)), attrs));
    return results.map((r, i) => {
      const probes = atProbe.map((p) => p?.[i]?.data);
      if (probes.some((p) => !p || p.shape.join(',') !== r.data.shape.join(','))) {
        throw new UnsupportedOnnxError(`${name} of a shape whose sizes vary from run to run gives results of different extents; give fixed sizes with --input-shape`);
      }
      return { ...r, probes: probes as TensorData[] };
    });
  }

  /**
   * Computes an op on constants with the CPU reference; inference checks it exactly as addNode
   * would. A result past MAX_FOLDED_ELEMENTS is not computed here (undefined): it runs on the device.
   */
  private fold(name: string, inputs: readonly ConstTensor[], attrs: Attrs): ConstTensor[] | undefined {
    for (const c of inputs) checkRepresentable(c);
    const scratch = new Graph('fold');
    const operands = inputs.map((c) => scratch.addNode('const', [], { value: c.data }, { device: 'webgpu' }).output);
    const node = scratch.addNode(name, operands, attrs);
    if (node.outputs.some((o) => numel(o.type.shape) > MAX_FOLDED_ELEMENTS)) return undefined;
    const results = evaluateNode(node, inputs.map((c) => c.data));
    const label = `${name}${this.folds++}`;
    return results.map((r, i) => constTensor(results.length > 1 ? `${label}_${i}` : label, r));
  }
}
