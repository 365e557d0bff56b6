import { attentionAt, type AttentionParts } from '../ir/attention.js';
import { MAX_STORAGE_BINDINGS } from '../ir/fusion.js';
import { Graph, type Node, type Value } from '../ir/graph.js';
import { dimRange, dNumel } from '../ir/size-expr.js';
import { dimsOf, isGpu } from '../ir/types.js';
import { traceView } from '../ir/view.js';
import { externalInputs } from './fusion-matchers.js';
import type { Pass } from './pass.js';
import { rebuild } from './rebuild.js';

/** Largest query/key and value vectors the attention kernel stages (codegen/kernels/attention.ts). */
const MAX_HEAD_DIM = 512;

/** The tensor a matmul operand is read from: the base of its view chain (copied into the body), or itself. */
function readFrom(v: Value): { base: Value; chain: readonly Node[] } {
  const t = traceView(v);
  return t ? { base: t.base, chain: t.chain } : { base: v, chain: [] };
}

/** The nodes and operands of one fused attention, or undefined when its kernel cannot take it. */
interface Planned {
  /** The body's nodes: the view chains Q, K and V are read through, then the attention itself. */
  readonly members: Node[];
  readonly params: Value[];
  /** The attention's own nodes, which the fused node replaces. */
  readonly replaced: Node[];
}

function plan(p: AttentionParts): Planned | undefined {
  const [q, kT] = p.scores.inputs as [Value, Value];
  const v = p.out.inputs[1]!;
  const float = (x: Value) => x.type.dtype === 'f32' || x.type.dtype === 'f16';
  const dtype = p.out.output.type.dtype;
  // The kernel computes in f32 throughout; an f16 graph's softmax already does, between casts.
  if (![q, kT, v, p.scores.output, p.out.output].every((x) => float(x) && x.type.dtype === dtype) || !float(p.softmax.output)) return undefined;
  if (!isGpu(p.out.output.type.device)) return undefined;
  const [e, ev] = [q.type, v.type].map((t) => dimsOf(t).at(-1)!);
  if (typeof e !== 'number' || typeof ev !== 'number' || e > MAX_HEAD_DIM || ev > MAX_HEAD_DIM) return undefined;
  const out = dimsOf(p.out.output.type);
  if (dimRange(dNumel(out.slice(0, -2)))[1] > 65535 || dimRange(out.at(-2)!)[1] > 65535) return undefined;
  const reads = [q, kT, v].map(readFrom);
  const chainOperands = externalInputs(p.chain).filter((x) => x !== p.scores.output);
  const params = [...new Set([...reads.map((r) => r.base), ...chainOperands])];
  if (params.length + 1 > MAX_STORAGE_BINDINGS) return undefined;
  const replaced = [p.scores, ...p.chain, p.softmax, ...(p.cast ? [p.cast] : []), p.out];
  return { members: [...new Set([...reads.flatMap((r) => r.chain), ...replaced])], params, replaced };
}

/** `members` (in graph order) as a closed body graph over `params`, returning `result`. */
function bodyOf(members: readonly Node[], params: readonly Value[], result: Value, order: ReadonlyMap<Node, number>): Graph {
  const body = new Graph('attention');
  const map = new Map<Value, Value>(params.map((p) => [p, body.addInput(p.name, p.type)]));
  for (const n of [...members].sort((a, b) => order.get(a)! - order.get(b)!)) {
    const c = body.addNode(n.op, n.inputs.map((x) => map.get(x)!), n.attrs, { types: n.outputs.map((o) => o.type), names: n.outputs.map((o) => o.name) });
    n.outputs.forEach((o, i) => map.set(o, c.outputs[i]!));
  }
  body.setOutputs([map.get(result)!]);
  return body;
}

/**
 * Scaled dot-product attention (softmax(f(Q K^T)) V, f a scale and masks) becomes one fused node
 * whose kernel computes each query row's scores, softmax and weighted values without storing
 * the scores: one dispatch where three (two matmuls and a softmax) stored and reread a
 * [.., L, S] tensor. Q, K and V are read through their views (head splits, transposes), which
 * are copied into the body and stay for other readers. Training graphs keep the softmax for the
 * backward pass, so their attention stays unfused.
 */
export const fuseAttention: Pass = {
  name: 'fuse-attention',
  description: 'fuse softmax(f(Q K^T)) V (scale, masks) into one attention kernel per query row',
  run(g: Graph): Graph {
    const onlyReader = g.onlyReaders();
    const found = new Map<Node, Planned>(); // result node -> plan
    for (const n of g.nodes) {
      const parts = attentionAt(n, onlyReader);
      const planned = parts && plan(parts);
      if (planned) found.set(n, planned);
    }
    if (!found.size) return g;
    const order = new Map(g.nodes.map((n, i) => [n, i]));
    // The view nodes are copied into bodies and left for dce.
    const replaced = new Set([...found.values()].flatMap((f) => f.replaced));
    return rebuild(g, (node, b) => {
      const planned = found.get(node);
      if (!planned) return replaced.has(node);
      const body = bodyOf(planned.members, planned.params, node.output, order);
      const f = b.add('fused', planned.params.map((v) => b.get(v)), { body, kernel: 'attention' }, node.output.type.device, [node.output.name]);
      b.replace(node.output, f.output);
      return true;
    });
  },
};
