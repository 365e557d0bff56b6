import { generateProgram } from '../../codegen/generate.js';
import type { Attrs, AttrValue } from '../../ir/attrs.js';
import { Graph, type Node } from '../../ir/graph.js';
import { boundShape } from '../../ir/symbolic-shapes.js';
import { isTensorData } from '../../ir/tensor-data.js';
import { shapesEqual, type Device, type DType, type Shape } from '../../ir/types.js';
import type { Program } from '../../runtime/program.js';
import { bindingDims, type SizeValues } from '../../runtime/sizes.js';
import { evalDim, isSymbolic, type Dim } from '../../ir/size-expr.js';
import { sharingsOf, sizeClassed, symbolicOperands } from './eager-sizes.js';

// Eager ops are one-node graphs: built like any traced op (so inference gives the same errors),
// then run on the CPU reference kernels or compiled to a Program through the same codegen as
// traced models. A Program serves every shape of one form (see eager-sizes.ts): its operands'
// extents are size variables, bound from the operands' shapes at each run. An op whose kernels
// take fixed sizes only, or whose shapes no form fits, gets one Program per concrete shape.

/** What an eager op needs to know of an operand. */
export interface OperandType {
  readonly dtype: DType;
  readonly shape: Shape;
}

/** The one-node graph computing `op` over operands of the given types, placed on `device`. */
export function opGraph(op: string, inputs: readonly OperandType[], attrs: Attrs, device: Device): { graph: Graph; node: Node } {
  return symbolicOpGraph(op, inputs.map((t) => ({ dtype: t.dtype, dims: t.shape })), attrs, device);
}

function symbolicOpGraph(op: string, inputs: readonly { dtype: DType; dims: readonly Dim[] }[], attrs: Attrs, device: Device): { graph: Graph; node: Node } {
  const graph = new Graph(op);
  const values = inputs.map((t, i) => {
    const varies = t.dims.some(isSymbolic);
    return graph.addInput(`in${i}`, { dtype: t.dtype, shape: boundShape(t.dims), device, ...(varies ? { dims: t.dims } : {}) });
  });
  const node = graph.addNode(op, values, attrs);
  graph.setOutputs(node.outputs);
  return { graph, node };
}

/**
 * Counters of the program cache, for tests that prove a repeated op compiles nothing: programs
 * generated for a form of shapes (symbolic) and for one concrete shape (fixed), cache hits, and
 * forms refused (the op's shape rule or kernels do not take them), which fall back to fixed.
 */
export const eagerCacheStats = { programsGenerated: 0, hits: 0, symbolicPrograms: 0, fixedPrograms: 0, symbolicRuns: 0, fixedRuns: 0, formsRefused: 0 };

/** A Program for an eager op, the node typed for the concrete operands, and the sizes to run it at (symbolic programs). */
export interface EagerProgram {
  readonly program: Program;
  readonly node: Node;
  readonly sizes?: SizeValues;
}

const programs = new Map<string, Program>();
/** Forms whose one-node graph or kernels refused symbolic sizes, with why (for debugging). */
const refusedForms = new Map<string, string>();

/**
 * The Program of `op` on WebGPU for operands of these types: the one serving their form of
 * shapes when the op takes one, else the one of their concrete shapes. Generated once per key
 * (op, attributes with their defaults, and the form or the shapes). Programs hold no device
 * objects, so one cache serves every device; each device's EagerRunner caches their pipelines.
 */
export function eagerProgram(op: string, inputs: readonly OperandType[], attrs: Attrs): EagerProgram {
  const { graph, node } = opGraph(op, inputs, attrs, 'webgpu');
  const opKey = `${op}{${attrsKey(node.attrs)}}`;
  for (const sharing of sharingsOf(op)) {
    const form = symbolicOperands(inputs, sharing, sizeClassed(op));
    if (!form) break;
    const program = formProgram(`${opKey}${form.key}`, op, () => form.dims().map((dims, i) => ({ dtype: inputs[i]!.dtype, dims })), attrs);
    // The form's result shapes at these sizes must be the op's own (a shape rule the form does
    // not capture, e.g. a slice's end past a small extent, takes the fixed program).
    if (!program || !program.outputs.every((o, i) => shapesEqual(bindingDims(program, o).map((d) => evalDim(d, form.sizes)), node.outputs[i]!.type.shape))) continue;
    eagerCacheStats.symbolicRuns++;
    return { program, node, sizes: form.sizes };
  }
  eagerCacheStats.fixedRuns++;
  const key = `${opKey}(${inputs.map((t) => `${t.dtype}[${t.shape.join(',')}]`).join(',')})`;
  return { program: cached(key) ?? store(key, generateProgram(graph)), node };
}

/** The Program of a form of shapes, or undefined when the op's shape rule or kernels refuse it. */
function formProgram(key: string, op: string, inputs: () => readonly { dtype: DType; dims: readonly Dim[] }[], attrs: Attrs): Program | undefined {
  if (refusedForms.has(key)) return undefined;
  const hit = cached(key);
  if (hit) return hit;
  let program: Program;
  try {
    program = generateProgram(symbolicOpGraph(op, inputs(), attrs, 'webgpu').graph);
  } catch (e) {
    // Any refusal (a shape rule without symbolic sizes, a kernel taking fixed sizes, a limit at
    // the form's largest sizes) leaves the op to its fixed programs, which work as before.
    refusedForms.set(key, e instanceof Error ? e.message : String(e));
    eagerCacheStats.formsRefused++;
    return undefined;
  }
  return store(key, program);
}

function cached(key: string): Program | undefined {
  const program = programs.get(key);
  if (program) eagerCacheStats.hits++;
  return program;
}

function store(key: string, program: Program): Program {
  programs.set(key, program);
  eagerCacheStats.programsGenerated++;
  if (program.sizes?.length) eagerCacheStats.symbolicPrograms++;
  else eagerCacheStats.fixedPrograms++;
  return program;
}

/** Why forms were refused, by key: for seeing which ops fall back to fixed programs. */
export function refusedEagerForms(): ReadonlyMap<string, string> {
  return refusedForms;
}

function attrsKey(attrs: Attrs): string {
  return Object.keys(attrs).sort().map((k) => `${k}=${attrKey(attrs[k]!)}`).join(',');
}

function attrKey(v: AttrValue): string {
  // Tensor attributes (constants) never reach an eager op; keep the key honest if one does.
  if (isTensorData(v)) return `${v.dtype}[${v.shape.join(',')}]:${Array.from(v.data).join(',')}`;
  return JSON.stringify(v);
}
