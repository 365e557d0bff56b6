// The optimizer steps of the ai.onnx.preview.training domain (Adagrad, Momentum, Adam), as the
// ONNX operator docs define them, in elementwise ops: each takes the learning rate R and the
// update count T (scalars), then its tensors grouped by role (all X, then all G, then the
// optimizer's state), and returns the new tensors grouped the same way.
import { typeOf, type Operand } from '../builder.js';
import { defineOnnxOp, type OnnxNode } from '../node.js';
import { castTo } from './helpers.js';

const DOMAIN = 'ai.onnx.preview.training';

/** The node's tensors after R and T, split into `groups` equal groups (X, G, state...). */
function groups(n: OnnxNode, count: number): Operand[][] {
  const rest = n.inputs.slice(2);
  if (rest.length === 0 || rest.length % count !== 0) n.fail(`takes R, T and ${count} groups of equally many tensors, got ${rest.length} tensors after R and T`);
  const k = rest.length / count;
  return Array.from({ length: count }, (_, g) => rest.slice(g * k, (g + 1) * k).map((x, i) => x ?? n.fail(`input ${2 + g * k + i} is missing`)));
}

/** What every step computes with: R and T as f32, float scalars, and the shared terms. */
function math(n: OnnxNode) {
  const { b } = n;
  const R = castTo(b, n.input(0), 'f32');
  const T = castTo(b, n.input(1), 'f32');
  const c = (v: number) => b.scalar('f32', v);
  const op = (name: string, ...xs: Operand[]) => b.op(name, xs);
  /** norm_coefficient * X + G: the gradient with the L2 regularisation's. */
  const regularized = (x: Operand, g: Operand) => op('add', op('mul', c(n.attrs.float('norm_coefficient', 0)), x), g);
  /** `then` once T > 0 (some update was made), `otherwise` on the first step. */
  const afterFirst = (then: Operand, otherwise: Operand) => op('where', op('greater', T, c(0)), then, otherwise);
  for (const x of n.inputs) if (x && typeOf(x).dtype !== 'f32' && x !== n.inputs[1]) n.unsupported(`takes float (f32) tensors, got ${typeOf(x).dtype}`);
  return { R, T, c, op, regularized, afterFirst };
}

defineOnnxOp(`${DOMAIN}.Adagrad`, (n) => {
  const [xs, gs, hs] = groups(n, 3) as [Operand[], Operand[], Operand[]];
  const { R, T, c, op, regularized } = math(n);
  // The learning rate decays with the update count: R / (1 + T * decay_factor).
  const r = op('div', R, op('add', c(1), op('mul', T, c(n.attrs.float('decay_factor', 0)))));
  const eps = c(n.attrs.float('epsilon', 0));
  const out = xs.map((x, i) => {
    const g = regularized(x, gs[i]!);
    const h = op('add', hs[i]!, op('mul', g, g));
    return [op('sub', x, op('div', op('mul', r, g), op('add', op('sqrt', h), eps))), h] as const;
  });
  return [...out.map((o) => o[0]), ...out.map((o) => o[1])];
});

defineOnnxOp(`${DOMAIN}.Momentum`, (n) => {
  const [xs, gs, vs] = groups(n, 3) as [Operand[], Operand[], Operand[]];
  const { R, c, op, regularized, afterFirst } = math(n);
  const mode = n.attrs.string('mode', 'standard');
  if (mode !== 'standard' && mode !== 'nesterov') n.fail(`mode '${mode}' is not 'standard' or 'nesterov'`);
  const alpha = c(n.attrs.float('alpha', 0));
  // The first step takes the gradient whole (beta applies from the second on).
  const beta = afterFirst(c(n.attrs.float('beta', 0)), c(1));
  const out = xs.map((x, i) => {
    const g = regularized(x, gs[i]!);
    const v = op('add', op('mul', alpha, vs[i]!), op('mul', beta, g));
    const step = mode === 'standard' ? v : op('add', g, op('mul', alpha, v));
    return [op('sub', x, op('mul', R, step)), v] as const;
  });
  return [...out.map((o) => o[0]), ...out.map((o) => o[1])];
});

defineOnnxOp(`${DOMAIN}.Adam`, (n) => {
  const [xs, gs, vs, hs] = groups(n, 4) as [Operand[], Operand[], Operand[], Operand[]];
  const { R, T, c, op, regularized, afterFirst } = math(n);
  const [alpha, beta] = [n.attrs.float('alpha', 0.9), n.attrs.float('beta', 0.999)];
  const eps = c(n.attrs.float('epsilon', 1e-6));
  const post = c(1 - n.attrs.float('norm_coefficient_post', 0));
  // Bias correction from the second step on: R * sqrt(1 - beta^T) / (1 - alpha^T).
  const corrected = op('div', op('mul', R, op('sqrt', op('sub', c(1), op('pow', c(beta), T)))), op('sub', c(1), op('pow', c(alpha), T)));
  const rate = afterFirst(corrected, R);
  const out = xs.map((x, i) => {
    const g = regularized(x, gs[i]!);
    const v = op('add', op('mul', c(alpha), vs[i]!), op('mul', c(1 - alpha), g));
    const h = op('add', op('mul', c(beta), hs[i]!), op('mul', c(1 - beta), op('mul', g, g)));
    const xNew = op('sub', x, op('div', op('mul', rate, v), op('add', op('sqrt', h), eps)));
    return [op('mul', post, xNew), v, h] as const;
  });
  return [...out.map((o) => o[0]), ...out.map((o) => o[1]), ...out.map((o) => o[2])];
});
