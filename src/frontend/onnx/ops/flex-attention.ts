// FlexAttention (ai.onnx.preview): scaled dot-product attention whose scores and
// probabilities pass through user subgraphs (score_mod, prob_mod), imported inline on the
// whole [B, Hq, L, S] tensor. Scores are softmaxed in softmax_precision (float by default).
import type { Operand } from '../builder.js';
import { typeOf } from '../builder.js';
import { defineOnnxOp, type OnnxNode } from '../node.js';
import { groupedMatmul, SOFTMAX_PRECISION } from './attention.js';
import { castTo, scalarLike } from './helpers.js';

const KNOWN_ATTRIBUTES = new Set(['scale', 'score_mod', 'prob_mod', 'softmax_precision']);

/** Applies a graph attribute to `x` when the node has it. */
function modify(n: OnnxNode, name: string, x: Operand): Operand {
  const g = n.attrs.graph(name);
  if (!g) return x;
  const outs = n.importSubgraph(g, [x]);
  if (outs.length !== 1) n.fail(`${name} must return one tensor, got ${outs.length}`);
  const y = outs[0]!;
  const [a, b] = [typeOf(x), typeOf(y)];
  if (a.dtype !== b.dtype || a.shape.join(',') !== b.shape.join(',')) {
    n.fail(`${name} must keep its input's type ${a.dtype}[${a.shape.join(',')}], got ${b.dtype}[${b.shape.join(',')}]`);
  }
  return y;
}

defineOnnxOp('ai.onnx.preview.FlexAttention', (n) => {
  const unknown = n.attrs.names().filter((a) => !KNOWN_ATTRIBUTES.has(a));
  if (unknown.length) n.unsupported(`attribute${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} ${unknown.length > 1 ? 'are' : 'is'} not supported`);
  const [q, k, v] = [n.input(0), n.input(1), n.input(2)];
  for (const x of [q, k, v]) if (typeOf(x).shape.length !== 4) n.fail(`Q, K and V must be 4-D, got rank ${typeOf(x).shape.length}`);
  const dtype = typeOf(q).dtype;
  const precision = n.attrs.int('softmax_precision', 1);
  const softDType = SOFTMAX_PRECISION[precision];
  if (!softDType) return n.unsupported(`softmax_precision ${precision} is not supported (float, float16 and double are)`);
  const scale = n.attrs.float('scale', 1 / Math.sqrt(typeOf(q).shape[3]!));
  const kT = n.b.op('transpose', [k], { perm: [0, 1, 3, 2] });
  const scores = n.b.op('mul', [groupedMatmul(n, q, kT), scalarLike(n.b, q, scale)]);
  const modified = modify(n, 'score_mod', castTo(n.b, scores, softDType));
  const probs = modify(n, 'prob_mod', n.b.op('softmax', [modified], { axis: -1 }));
  return castTo(n.b, groupedMatmul(n, probs, castTo(n.b, v, softDType)), dtype);
});
