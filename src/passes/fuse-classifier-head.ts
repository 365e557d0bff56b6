import type { Graph, Node, Value } from '../ir/graph.js';
import { attrsOf } from '../ir/attrs.js';
import { fusedAttrs, anchorOf, anchorRead } from '../ir/ops/fused.js';
import { softmaxAttrs } from '../ir/ops/softmax.js';
import { maxPool2dAttrs, windowsInsidePlane } from '../ir/ops/pool.js';
import { gemmAttrs } from '../ir/ops/gemm.js';
import { ONES_DROPPING_VIEWS, traceView } from '../ir/view.js';
import { WORKGROUP_FLOATS } from '../ir/fusion.js';
import { isGpu } from '../ir/types.js';
import type { Pass } from './pass.js';
import { fuseChains } from './fusion-matchers.js';

/**
 * The largest fully connected layer (channels times classes) the head's kernel takes: it runs on
 * one workgroup a batch item, so a larger layer is better on the matmul kernel's many.
 */
const MAX_HEAD_WEIGHTS = 1 << 16;

/**
 * The view nodes through which `v` is `pooled` seen as [N, C] (ops that drop its ones), in the
 * graph where `v` lives (`base` maps a body parameter out); undefined when it is not.
 */
function pooledRows(v: Value, pooled: Value, base: (b: Value) => Value | undefined = (b) => b): Node[] | undefined {
  const t = traceView(v);
  return t && base(t.base) === pooled && t.chain.every((n) => ONES_DROPPING_VIEWS.has(n.op)) && v.type.shape.length === 2 ? t.chain : undefined;
}

/** A gemm's [C, K] or [K, C] weight (trans_b) and [K] or [1, K] bias, the layout the head's kernel reads. */
function isHeadGemm(gemm: Node): boolean {
  const a = attrsOf(gemm, gemmAttrs);
  const K = gemm.output.type.shape[1]!;
  const bias = gemm.inputs[2]?.type.shape;
  return !a.trans_a && (!bias || (bias.length === 1 && bias[0] === K) || (bias.length === 2 && bias[0] === 1 && bias[1] === K));
}

/**
 * The fully connected layer of a head reading global_avg_pool's output `pooled`: a matmul or an
 * ONNX-style gemm (its bias a row), fused (with its bias) or alone, whose first operand is
 * `pooled` as [N, C] and whose second is a [C, K] weight ([K, C] for a gemm's trans_b) read as
 * stored (or as int8, dequantized as it loads). Returns it and the view nodes between the pool
 * and it (for an unfused layer), else undefined.
 */
function fullyConnected(n: Node | undefined, pooled: Value): { fc: Node; views: Node[] } | undefined {
  const mm = n && n.outputs.length === 1 ? anchorOf(n) : undefined;
  if (!n || !mm || !['matmul', 'gemm'].includes(mm.op) || (mm.op === 'gemm' && !isHeadGemm(mm))) return undefined;
  if (!['plain', 'dequantize'].includes(anchorRead(n, 1) ?? '') || (mm.inputs[2] && anchorRead(n, 2) !== 'plain')) return undefined;
  const [a, w] = mm.inputs as [Value, Value];
  const [C, K] = mm.op === 'gemm' && attrsOf(mm, gemmAttrs).trans_b ? [w.type.shape[1], w.type.shape[0]] : w.type.shape;
  if (w.type.shape.length !== 2 || a.type.shape[1] !== C || w.type.dtype !== pooled.type.dtype) return undefined;
  if (C! * K! > MAX_HEAD_WEIGHTS || C! + K! > WORKGROUP_FLOATS) return undefined;
  if (n.op !== 'fused') {
    const views = pooledRows(a, pooled);
    return views ? { fc: n, views } : undefined;
  }
  const { body } = attrsOf(n, fusedAttrs);
  const outer = (b: Value) => n.inputs[body.inputs.indexOf(b)];
  return pooledRows(a, pooled, outer) ? { fc: n, views: [] } : undefined;
}

/**
 * The max pool whose outputs `pool` averages and nothing else reads, when its windows lie inside
 * the plane (unpadded, undilated, floor mode): the head's kernel takes the means over it.
 */
function windowBefore(pool: Node, onlyReader: (v: Value) => Node | undefined): Node[] {
  const p = pool.inputs[0]!.producer;
  if (p?.op !== 'max_pool2d' || onlyReader(p.output) !== pool || p.output.type.device !== pool.output.type.device) return [];
  return windowsInsidePlane(attrsOf(p, maxPool2dAttrs)) ? [p] : [];
}

/**
 * A classifier's head (global average pool, the fully connected layer with what fusion put
 * after it, and a softmax over the classes when one reads it) becomes one fused node, its kernel
 * `classifier_head`: one dispatch where three nearly empty ones ran. For software adapters, where
 * a dispatch's hand-off to the shader threads costs as much as a small kernel.
 */
export const fuseClassifierHead: Pass = {
  name: 'fuse-classifier-head',
  description: 'fuse a global average pool, the fully connected layer reading it and its softmax into one kernel (software adapters)',
  run(g: Graph): Graph {
    const onlyReader = g.onlyReaders();
    const heads = new Map<Node, Node[]>(); // last node -> the head
    for (const pool of g.nodes) {
      if (pool.op !== 'global_avg_pool' || pool.inputs[0]!.type.shape.length !== 4 || !isGpu(pool.output.type.device)) continue;
      if (!['f32', 'f16'].includes(pool.output.type.dtype)) continue;
      // The pool's only reader is the layer, or a view the layer alone reads.
      let reader = onlyReader(pool.output);
      while (reader && ONES_DROPPING_VIEWS.has(reader.op)) reader = onlyReader(reader.output);
      const found = fullyConnected(reader, pool.output);
      if (!found || found.fc.output.type.device !== pool.output.type.device) continue;
      const head = [...windowBefore(pool, onlyReader), pool, ...found.views, found.fc];
      const next = onlyReader(found.fc.output);
      if (next?.op === 'softmax' && next.output.type.device === pool.output.type.device && [-1, 1].includes(attrsOf(next, softmaxAttrs).axis)) head.push(next);
      heads.set(head.at(-1)!, head);
    }
    return fuseChains(g, heads, 'classifier_head');
  },
};
