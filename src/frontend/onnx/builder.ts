import type { Attrs } from '../../ir/attrs.js';
import { Graph, type Value } from '../../ir/graph.js';
import { MAX_FOLDED_ELEMENTS } from '../../ir/tensor-data.js';
import { numel, type DType, type Shape } from '../../ir/types.js';
import { evaluateNode } from '../../runtime/cpu/executor.js';
import { checkRepresentable, constTensor, makeConst, type ConstTensor } from './tensor.js';

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
    const folded = inputs.length > 0 && inputs.every(isConst) ? this.fold(name, inputs, attrs) : undefined;
    if (folded) return folded;
    const values = inputs.map((x) => this.value(x));
    return this.graph.addNode(name, values, attrs).outputs;
  }

  /** A graph value for an operand: constants become `const` nodes (once each). */
  value(x: Operand): Value {
    if (!isConst(x)) return x;
    const done = this.materialized.get(x);
    if (done) return done;
    checkRepresentable(x);
    const name = this.onnxNames.has(x.name) && !this.graph.hasName(x.name) ? x.name : undefined;
    const v = this.graph.addNode('const', [], { value: x.data }, { device: 'webgpu', ...(name ? { names: [name] } : {}) }).output;
    this.materialized.set(x, v);
    return v;
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
