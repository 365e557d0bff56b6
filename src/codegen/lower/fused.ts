import type { Graph, Node, Value } from '../../ir/graph.js';
import { KilnError } from '../../ir/errors.js';
import { getOp, type ElementwiseMath } from '../../ir/ops/index.js';
import { broadcastStrides } from '../../ir/ops/shape-util.js';
import { emitElementwise } from '../kernels/elementwise.js';
import type { EmittedKernel } from '../kernels/kernel.js';
import { wgslHelperDecls } from '../kernels/wgsl-math.js';
import { wgslType } from '../wgsl.js';
import type { Lowering } from './lowering.js';

function mathOf(body: Graph, n: Node): ElementwiseMath {
  const math = getOp(n.op).spec.math;
  if (!math) throw new KilnError(`fused kernel ${body.name}: ${n.op} is not elementwise`);
  return math;
}

/**
 * WGSL for a chain of elementwise nodes: each body value becomes an expression over the
 * operand loads `xs`, converted to its storage type. Fusion makes every intermediate single-use,
 * so composing expressions never duplicates work.
 */
export function composeElementwise(body: Graph, xs: readonly string[]): string {
  const exprOf = new Map<Value, string>();
  body.inputs.forEach((p, i) => exprOf.set(p, xs[i]!));
  for (const n of body.nodes) {
    const t = wgslType(n.output.type.dtype);
    const inTypes = n.inputs.map((v) => wgslType(v.type.dtype));
    exprOf.set(n.output, `${t}(${mathOf(body, n).wgsl(n.inputs.map((v) => exprOf.get(v)!), t, n.attrs, inTypes)})`);
  }
  return exprOf.get(body.outputs[0]!)!;
}

/** WGSL helper functions (erf, ...) the body's ops call. */
export function bodyHelpers(body: Graph): string[] {
  return wgslHelperDecls(body.nodes.flatMap((n) =>
    mathOf(body, n).helpers?.(wgslType(n.output.type.dtype), n.inputs.map((v) => wgslType(v.type.dtype)), n.attrs) ?? []));
}

/** A fused elementwise chain: one flat kernel reading each operand with broadcast strides. */
const fused: Lowering = (node: Node): EmittedKernel => {
  const body = node.attrs.body as Graph;
  const out = node.output.type;
  return emitElementwise({
    name: body.name,
    operands: node.inputs.map((v) => ({ dtype: v.type.dtype, strides: broadcastStrides(v.type.shape, out.shape) })),
    outDType: out.dtype,
    shape: out.shape,
    body: (xs) => composeElementwise(body, xs),
    helpers: bodyHelpers(body),
  });
};

export const fusedLowerings: Record<string, Lowering> = { fused };
