import { attentionAt, attentionRowsFit, storedTranspose } from '../../ir/attention.js';
import { KilnError } from '../../ir/errors.js';
import type { Graph, Node, Value } from '../../ir/graph.js';
import { broadcastStrides } from '../../ir/ops/shape-util.js';
import { dimsOf, stridesOf } from '../../ir/types.js';
import { dimText, type Dim } from '../../ir/size-expr.js';
import { attrsOf } from '../../ir/attrs.js';
import { transposeAttrs, transposePerm } from '../../ir/ops/movement.js';
import { denseView, traceView } from '../../ir/view.js';
import { emitAttention, type AttentionKernelSpec } from '../kernels/attention.js';
import { emitAttentionRows } from '../kernels/attention-rows.js';
import type { EmittedKernel } from '../kernels/kernel.js';
import { wgslType } from '../wgsl.js';
import { bodyFunction } from './body-function.js';
import type { LowerContext } from './lowering.js';
import { layoutOf } from './matmul.js';

/**
 * The attention fuse-attention put in `body` (see ir/attention.ts), in one kernel: a workgroup a
 * query row ('workgroup', the default), or an invocation a row ('rows', offered where
 * attentionRowsFit; it needs subgroups) where a chooser takes it (software adapters with
 * subgroups do).
 */
export function lowerAttention(node: Node, body: Graph, ctx: LowerContext = {}): EmittedKernel {
  const fail = (why: string): never => {
    throw new KilnError(`fused node %${node.output.name}: its body is not the attention its kernel 'attention' computes: ${why}`);
  };
  const last = body.outputs[0]!.producer ?? fail('its result is not computed in it');
  const store = last.op === 'transpose' ? last : undefined;
  const result = store ? (store.inputs[0]!.producer ?? fail('its transpose reads no node of it')) : last;
  const parts = attentionAt(result, body.onlyReaders()) ?? fail('it is not softmax(f(Q K^T)) V');
  if (store && storedTranspose(result, body.onlyReaders()) !== store) fail('its result is transposed with the last axis moved');
  const source = (v: Value) => {
    const i = body.inputs.indexOf(v);
    return i >= 0 ? i : fail(`%${v.name} is not an operand of the fused node`);
  };
  const out = dimsOf(result.output.type);
  const batchShape = out.slice(0, -2);
  // Result dim perm[k] is stored along dim k of the transpose's output.
  const stored = stridesOf(dimsOf(last.output.type));
  const outStrides = store ? transposePerm(out.length, attrsOf(store, transposeAttrs).perm).reduce<Dim[]>((s, d, k) => ((s[d] = stored[k]!), s), []) : stored;
  /** A matmul operand read through its view chain (or as stored) as the kernel reads it. */
  const operand = (v: Value) => {
    const t = traceView(v);
    const base = t?.base ?? v;
    const view = t?.view ?? denseView(dimsOf(v.type));
    return { ...layoutOf(view, batchShape), source: source(base), dtype: base.type.dtype };
  };
  const [q, kT] = parts.scores.inputs as [Value, Value];
  const v = parts.out.inputs[1]!;
  const [e, ev] = [q, v].map((x) => dimsOf(x.type).at(-1)!);
  if (typeof e !== 'number' || typeof ev !== 'number') fail('its query and value vectors must have fixed sizes');
  // The ops between Q K^T and the softmax, as a function of a score and its operands at (b, l, s).
  const scoreDims = dimsOf(parts.scores.output.type);
  const params = body.inputs.filter((p) => parts.chain.some((n) => n.inputs.includes(p)));
  const fn = bodyFunction('score', parts.chain, [parts.scores.output, ...params], parts.softmax.inputs[0]!);
  const dtype = node.output.type.dtype;
  const br = scoreDims.length - 2;
  const spec: AttentionKernelSpec = {
    name: 'attention', dtype, batchShape, queries: out.at(-2)!, keys: scoreDims.at(-1)!, qkDim: e as number, valueDim: ev as number,
    q: operand(q), kT: operand(kT), v: operand(v),
    score: {
      operands: params.map((p) => {
        const s = broadcastStrides(dimsOf(p.type), scoreDims);
        return { dtype: p.type.dtype, source: source(p), batchStrides: s.slice(0, br), rowStride: s[br]!, colStride: s[br + 1]! };
      }),
      call: (score, xs) => fn.call([`${wgslType(parts.scores.output.type.dtype)}(${score})`, ...xs]),
      decls: fn.decls,
    },
    out: node.inputs.length,
    outLayout: { batchStrides: outStrides.slice(0, -2), rowStride: outStrides.at(-2)! },
  };
  const variants = attentionRowsFit(parts) ? ['workgroup', 'rows'] : ['workgroup'];
  return ctx.choose?.('attention', attentionSignature(spec), variants) === 'rows' ? emitAttentionRows(spec) : emitAttention(spec);
}

/** An attention's problem as a chooser sees it: `f32:2x4:L7:S7:E8:V8` (batch dims, queries, keys, query and value widths). */
function attentionSignature(s: AttentionKernelSpec): string {
  return `${s.dtype}:${s.batchShape.map(dimText).join('x')}:L${dimText(s.queries)}:S${dimText(s.keys)}:E${s.qkDim}:V${s.valueDim}`;
}
