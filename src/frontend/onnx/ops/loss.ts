// Losses as ONNX defines them through their function bodies: NegativeLogLikelihoodLoss picks
// -input[n, target[n, ...], ...] (weighted by weight[target]), SoftmaxCrossEntropyLoss is the
// same on log_softmax of the scores. Targets equal to ignore_index contribute nothing and do
// not count in the mean.
import { typeOf, type Operand } from '../builder.js';
import { defineOnnxOp, type OnnxNode } from '../node.js';
import { castTo, scalarLike } from './helpers.js';

const REDUCTIONS = ['none', 'sum', 'mean'];

/** The NLL loss of log-probabilities [N, C, d...] against targets [N, d...], reduced as the node says. */
function nllLoss(n: OnnxNode, logProb: Operand, target: Operand, weight: Operand | undefined): Operand {
  const { b } = n;
  const reduction = n.attrs.string('reduction', 'mean');
  if (!REDUCTIONS.includes(reduction)) n.fail(`reduction '${reduction}' is not one of ${REDUCTIONS.join(', ')}`);
  const rank = typeOf(logProb).shape.length;
  if (rank < 2) n.fail(`needs scores of rank at least 2 ([N, C, ...]), got [${typeOf(logProb).shape.join(',')}]`);
  const t = castTo(b, target, 'i32');
  const ignoreIndex = n.attrs.int('ignore_index');
  // Ignored targets read class 0 (any valid class would do) and are then masked out.
  const kept = ignoreIndex === undefined ? undefined : b.op('not_equal', [t, b.scalar('i32', ignoreIndex)]);
  const safe = kept ? b.op('where', [kept, t, b.scalar('i32', 0)]) : t;
  const picked = b.op('squeeze', [b.op('gather_elements', [logProb, b.op('unsqueeze', [safe], { axes: [1] })], { axis: 1 })], { axes: [1] });
  const zero = scalarLike(b, picked, 0);
  let loss = b.op('neg', [kept ? b.op('where', [kept, picked, zero]) : picked]);
  let w = weight ? b.op('gather', [weight, safe], { axis: 0 }) : undefined;
  if (kept) w = w ? b.op('where', [kept, w, zero]) : castTo(b, kept, typeOf(picked).dtype);
  if (w) loss = b.op('mul', [loss, w]);
  if (reduction === 'none') return loss;
  const total = b.op('sum', [loss], { axes: [], keepdims: false });
  if (reduction === 'sum') return total;
  return w ? b.op('div', [total, b.op('sum', [w], { axes: [], keepdims: false })]) : b.op('mean', [loss], { axes: [], keepdims: false });
}

defineOnnxOp('NegativeLogLikelihoodLoss', (n) => nllLoss(n, n.input(0), n.input(1), n.optional(2)));

defineOnnxOp('SoftmaxCrossEntropyLoss', (n) => {
  const logProb = n.b.op('log_softmax', [n.input(0)], { axis: 1 });
  return [nllLoss(n, logProb, n.input(1), n.optional(2)), logProb];
});
