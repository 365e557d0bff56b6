import { generateProgram } from '../../codegen/generate.js';
import type { Attrs, AttrValue } from '../../ir/attrs.js';
import { Graph, type Node } from '../../ir/graph.js';
import { isTensorData } from '../../ir/tensor-data.js';
import type { Device, DType, Shape } from '../../ir/types.js';
import type { Program } from '../../runtime/program.js';

// Eager ops are one-node graphs: built like any traced op (so inference gives the same errors),
// then run on the CPU reference kernels or compiled to a Program through the same codegen as
// traced models, one Program per op signature.

/** What an eager op needs to know of an operand. */
export interface OperandType {
  readonly dtype: DType;
  readonly shape: Shape;
}

/** The one-node graph computing `op` over operands of the given types, placed on `device`. */
export function opGraph(op: string, inputs: readonly OperandType[], attrs: Attrs, device: Device): { graph: Graph; node: Node } {
  const graph = new Graph(op);
  const values = inputs.map((t, i) => graph.addInput(`in${i}`, { dtype: t.dtype, shape: t.shape, device }));
  const node = graph.addNode(op, values, attrs);
  graph.setOutputs(node.outputs);
  return { graph, node };
}

/** Counters of the signature cache, for tests that prove a repeated op compiles nothing. */
export const eagerCacheStats = { programsGenerated: 0, hits: 0 };

const programs = new Map<string, Program>();

/**
 * The Program of `op` on WebGPU for operands of these types, generated once per signature (op,
 * attributes with their defaults, operand dtypes and shapes). Programs hold no device objects,
 * so one cache serves every device; each device's EagerRunner caches their pipelines.
 */
export function eagerProgram(op: string, inputs: readonly OperandType[], attrs: Attrs): { program: Program; node: Node } {
  const { graph, node } = opGraph(op, inputs, attrs, 'webgpu');
  const key = signature(op, node.attrs, inputs);
  let program = programs.get(key);
  if (program) eagerCacheStats.hits++;
  else {
    program = generateProgram(graph);
    programs.set(key, program);
    eagerCacheStats.programsGenerated++;
  }
  return { program, node };
}

function signature(op: string, attrs: Attrs, inputs: readonly OperandType[]): string {
  const a = Object.keys(attrs).sort().map((k) => `${k}=${attrKey(attrs[k]!)}`).join(',');
  return `${op}{${a}}(${inputs.map((t) => `${t.dtype}[${t.shape.join(',')}]`).join(',')})`;
}

function attrKey(v: AttrValue): string {
  // Tensor attributes (constants) never reach an eager op; keep the key honest if one does.
  if (isTensorData(v)) return `${v.dtype}[${v.shape.join(',')}]:${Array.from(v.data).join(',')}`;
  return JSON.stringify(v);
}
