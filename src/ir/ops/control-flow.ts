// Control flow decided at run time (ONNX Loop, and If whose branches give results of different
// shapes). Each op holds its subgraphs as closed graphs, as `fused` holds its body: a subgraph's
// parameters are the node's operands, values of the enclosing graph it reads included (passed
// as trailing operands). Inherently sequential and data-dependent, these run on the CPU
// reference executor; placement puts them there with explicit transfers. Where a result's
// extent depends on the data (a loop's scan outputs, an extent the branches disagree on), it is
// a size variable of the node's own (`size`, as NonZero's count), bound when the node runs.
import { isGraphAttr } from '../attrs.js';
import { OpTypeError } from '../errors.js';
import type { Graph } from '../graph.js';
import { sizeVar, type Dim } from '../size-expr.js';
import { formatShapeType, formatType, isDynamic, numel, shapesEqual, type TensorType } from '../types.js';
import { defineOp, type InferredType } from './registry.js';

/**
 * loop's attributes: the body, how many of the operands after the trip count and condition
 * are loop-carried (the rest are values the body reads from outside), the most iterations
 * its scan outputs are sized for, and the name of their leading extent.
 */
export const loopAttrs = {
  body: { kind: 'graph' },
  carried: { kind: 'int' },
  max_trips: { kind: 'int' },
  size: { kind: 'string', optional: true },
} as const;

/** if's attributes: the two branches (closed graphs over the same operands) and the name of the results' varying extents. */
export const ifAttrs = {
  then_branch: { kind: 'graph' },
  else_branch: { kind: 'graph' },
  size: { kind: 'string', optional: true },
} as const;

const SCALAR_I32: TensorType = { dtype: 'i32', shape: [], device: 'cpu' };
const SCALAR_BOOL: TensorType = { dtype: 'bool', shape: [], device: 'cpu' };

function sameType(a: InferredType, b: InferredType): boolean {
  return a.dtype === b.dtype && shapesEqual(a.shape, b.shape);
}

function describe(t: InferredType): string {
  return formatShapeType(t.dtype, t.shape);
}

/** Checks that a closed subgraph takes `params` (in order) and has fixed extents throughout. */
function checkParams(g: Graph, params: readonly TensorType[], role: string): void {
  if (!isGraphAttr(g)) throw new OpTypeError(`needs a ${role} graph`);
  if (params.some(isDynamic)) throw new OpTypeError(`its operands have extents that vary; kiln's subgraphs have fixed extents`);
  if (g.inputs.length !== params.length) throw new OpTypeError(`${role} ${g.name} takes ${g.inputs.length} parameters but the node passes ${params.length}`);
  g.inputs.forEach((p, i) => {
    if (!sameType(p.type, params[i]!)) throw new OpTypeError(`${role} ${g.name} takes parameter ${i} as ${formatType(p.type)}, but the node passes ${describe(params[i]!)}`);
  });
  if (g.values().some((v) => isDynamic(v.type))) throw new OpTypeError(`${role} ${g.name} has extents that vary; kiln's subgraphs have fixed extents`);
}

/**
 * ONNX Loop. Operands: the trip count (one i32), the initial condition (one bool), the
 * `carried` loop-carried values, then the outside values the body reads. The body takes
 * (iteration number i32[], condition bool[], carried..., outside...) and gives (condition,
 * carried..., scan outputs...). It runs while the iteration number is below the trip count
 * and the condition holds (checked before each iteration). Results: the final carried values
 * (of their initial types: a body must keep them) and each scan output stacked along a new
 * leading extent, the number of iterations run (0..max_trips).
 */
defineOp({
  name: 'loop', kind: 'opaque', inputs: [2, 256], producesSize: true,
  attrs: loopAttrs,
  infer: (inputs, attrs) => {
    const body = attrs.body;
    const [trips, cond] = inputs;
    if (trips!.dtype !== 'i32' || numel(trips!.shape) !== 1) throw new OpTypeError(`the trip count must be one i32, got ${describe(trips!)}`);
    if (cond!.dtype !== 'bool' || numel(cond!.shape) !== 1) throw new OpTypeError(`the condition must be one bool, got ${describe(cond!)}`);
    const n = attrs.carried;
    if (n < 0 || 2 + n > inputs.length) throw new OpTypeError(`carries ${n} values but the node has ${inputs.length - 2} operands after the trip count and condition`);
    if (attrs.max_trips < 0) throw new OpTypeError(`max_trips must be at least 0, got ${attrs.max_trips}`);
    checkParams(body, [SCALAR_I32, SCALAR_BOOL, ...inputs.slice(2)], 'body');
    const outs = body.outputs.map((v) => v.type);
    if (outs.length < 1 + n) throw new OpTypeError(`body ${body.name} gives ${outs.length} results; a loop carrying ${n} values needs at least ${1 + n}`);
    if (outs[0]!.dtype !== 'bool' || numel(outs[0]!.shape) !== 1) throw new OpTypeError(`body ${body.name} must give one bool condition first, got ${formatType(outs[0]!)}`);
    const carried = inputs.slice(2, 2 + n);
    carried.forEach((t, k) => {
      if (!sameType(outs[1 + k]!, t)) throw new OpTypeError(`body ${body.name} changes carried value ${k} from ${describe(t)} to ${formatType(outs[1 + k]!)}`);
    });
    const scans = outs.slice(1 + n).map((t) => ({ dtype: t.dtype, shape: [attrs.max_trips, ...t.shape] }));
    return [...carried.map((t) => ({ dtype: t.dtype, shape: t.shape })), ...scans];
  },
  dims: (inputs, attrs) => {
    if (attrs.size === undefined) throw new OpTypeError('internal: a loop without its size name');
    const count = sizeVar(attrs.size, 0, attrs.max_trips);
    const n = attrs.carried;
    return [...inputs.slice(2, 2 + n), ...attrs.body.outputs.slice(1 + n).map((v) => [count, ...v.type.shape])];
  },
});

/**
 * ONNX If whose condition is known only at run time and whose branches give results of
 * different extents (same dtypes and ranks). Operands: the condition (one bool), then the
 * outside values both branches read (each branch takes all of them). Result k has the extents
 * the branches agree on; where they differ, a size variable `<size>_<k>_<axis>` over the two.
 */
defineOp({
  name: 'if', kind: 'opaque', inputs: [1, 256], producesSize: true,
  attrs: ifAttrs,
  infer: (inputs, attrs) => {
    const cond = inputs[0]!;
    if (cond.dtype !== 'bool' || numel(cond.shape) !== 1) throw new OpTypeError(`the condition must be one bool, got ${describe(cond)}`);
    checkParams(attrs.then_branch, inputs.slice(1), 'then_branch');
    checkParams(attrs.else_branch, inputs.slice(1), 'else_branch');
    return branchResults(attrs.then_branch, attrs.else_branch).map(([a, b]) => ({ dtype: a.dtype, shape: a.shape.map((d, i) => Math.max(d, b.shape[i]!)) }));
  },
  dims: (_inputs, attrs) => {
    if (attrs.size === undefined) throw new OpTypeError('internal: an if without its size name');
    return branchResults(attrs.then_branch, attrs.else_branch).map(([a, b], k) => a.shape.map((d, i): Dim => {
      const e = b.shape[i]!;
      return d === e ? d : sizeVar(ifSizeName(attrs.size!, k, i), Math.min(d, e), Math.max(d, e));
    }));
  },
});

/** The size variable of result k's extent `axis` where an if's branches disagree on it. */
function ifSizeName(size: string, k: number, axis: number): string {
  return `${size}_${k}_${axis}`;
}

/** Each result's types in the two branches, checked to agree in dtype and rank. */
function branchResults(thenG: Graph, elseG: Graph): [TensorType, TensorType][] {
  if (!isGraphAttr(thenG) || !isGraphAttr(elseG)) throw new OpTypeError('needs then_branch and else_branch graphs');
  if (thenG.outputs.length !== elseG.outputs.length) throw new OpTypeError(`then_branch gives ${thenG.outputs.length} results and else_branch ${elseG.outputs.length}`);
  return thenG.outputs.map((v, k) => {
    const [a, b] = [v.type, elseG.outputs[k]!.type];
    if (a.dtype !== b.dtype || a.shape.length !== b.shape.length) throw new OpTypeError(`result ${k} is ${formatType(a)} in then_branch but ${formatType(b)} in else_branch`);
    return [a, b];
  });
}
