import { attentionAt, attentionRowsFit, storedTranspose, type AttentionParts } from '../ir/attention.js';
import { MAX_STORAGE_BINDINGS } from '../ir/fusion.js';
import type { Graph, Node, Value } from '../ir/graph.js';
import { dimRange, dNumel } from '../ir/size-expr.js';
import { dimsOf, isGpu } from '../ir/types.js';
import { traceView } from '../ir/view.js';
import { closedBody, externalInputs } from './fusion-matchers.js';
import type { Pass } from './pass.js';
import { rebuild } from './rebuild.js';

/** Largest query/key and value vectors the attention kernel stages (codegen/kernels/attention.ts). */
const MAX_HEAD_DIM = 512;

/** The nodes of one fused attention, or undefined when its kernel cannot take it. */
interface Planned {
  /** The body's nodes in graph order: the view chains Q, K and V are read through, then the attention itself. */
  readonly members: Node[];
  /** The attention's own nodes (and the transpose it stores through), which the fused node replaces. */
  readonly replaced: Node[];
  /** The last of them, whose result the fused node's is. */
  readonly last: Node;
}

function plan(p: AttentionParts, order: ReadonlyMap<Node, number>, take: (p: AttentionParts) => boolean, onlyReader: (v: Value) => Node | undefined): Planned | undefined {
  if (!take(p)) return undefined;
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
  // Q, K and V are read through their view chains, which are copied into the body.
  const views = [q, kT, v].flatMap((x) => traceView(x)?.chain ?? []);
  const store = storedTranspose(p.out, onlyReader);
  const replaced = [p.scores, ...p.chain, p.softmax, ...(p.cast ? [p.cast] : []), p.out, ...(store ? [store] : [])];
  const members = [...new Set([...views, ...replaced])].sort((a, b) => order.get(a)! - order.get(b)!);
  if (externalInputs(members).length + 1 > MAX_STORAGE_BINDINGS) return undefined;
  return { members, replaced, last: store ?? p.out };
}

/**
 * Scaled dot-product attention (softmax(f(Q K^T)) V, f a scale and masks) becomes one fused node
 * whose kernel computes each query row's scores, softmax and weighted values without storing
 * the scores: one dispatch where three (two matmuls and a softmax) stored and reread a
 * [.., L, S] tensor. Q, K and V are read through their views (head splits, transposes), which
 * are copied into the body and stay for other readers; a transpose moving the heads back beside
 * the tokens is stored through (see storedTranspose). Training graphs keep the softmax for the
 * backward pass, so their attention stays unfused.
 */
export function fuseAttention(take: (p: AttentionParts) => boolean = () => true): Pass {
  return {
    name: 'fuse-attention',
    description: 'fuse softmax(f(Q K^T)) V (scale, masks) into one attention kernel per query row',
    run(g: Graph): Graph {
      const onlyReader = g.onlyReaders();
      const order = new Map(g.nodes.map((n, i) => [n, i]));
      const found = new Map<Node, Planned>(); // last node -> plan
      for (const n of g.nodes) {
        const parts = attentionAt(n, onlyReader);
        const planned = parts && plan(parts, order, take, onlyReader);
        if (planned) found.set(planned.last, planned);
      }
      if (!found.size) return g;
      // The view nodes are copied into bodies and left for dce.
      const replaced = new Set([...found.values()].flatMap((f) => f.replaced));
      return rebuild(g, (node, b) => {
        const planned = found.get(node);
        if (!planned) return replaced.has(node);
        const { body, inputs } = closedBody('attention', planned.members, node.output);
        const f = b.add('fused', inputs.map((v) => b.get(v)), { body, kernel: 'attention' }, node.output.type.device, [node.output.name]);
        b.replace(node.output, f.output);
        return true;
      });
    },
  };
}

/**
 * Queries from which software adapters fuse an attention (into the row kernel, one invocation a
 * query): its workgroups hold 8 queries, so fewer leave its lanes computing copies. On lavapipe
 * it took 0.04 ms for the transformer example's 7 queries a head (2 x 4 heads, 7 keys, E 8)
 * against 0.13 ms for the unfused matmuls and softmax, 3.7 against 8.4 ms a layer of the BERT-base
 * sized encoder (128 queries, E 64), but 0.38 against 0.32 ms a layer of one-token decoding (1
 * query, 129 keys): one lane of eight computing alone.
 */
const ROWS_MIN_QUERIES = 4;

/** What software adapters fuse: what the row kernel takes, with enough queries to fill its lanes. */
export function rowKernelTakes(p: AttentionParts): boolean {
  return attentionRowsFit(p) && dimRange(dimsOf(p.out.output.type).at(-2)!)[0] >= ROWS_MIN_QUERIES;
}
