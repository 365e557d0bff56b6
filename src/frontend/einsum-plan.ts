import { numel } from '../ir/types.js';

// Einsum as kiln ops, for every frontend (ONNX's Einsum node, kiln.einsum on tensors): repeated
// labels of one operand take a diagonal (multiply by an identity mask, sum), labels no one else
// needs are summed early, and each pair of operands is contracted as one batched matmul between
// transposes and reshapes. The frontend supplies the ops on its own values.

/** The ops einsum is planned in, on a frontend's values X. */
export interface EinsumOps<X> {
  shape(x: X): readonly number[];
  transpose(x: X, perm: readonly number[]): X;
  /** Sums the axes away (the rank drops). */
  sum(x: X, axes: readonly number[]): X;
  /** x times a constant of `shape` and x's dtype holding `values`. */
  mulConst(x: X, shape: readonly number[], values: readonly number[]): X;
  expand(x: X, shape: readonly number[]): X;
  /** [b, m, k] x [b, k, n]. */
  matmul(a: X, b: X): X;
  reshape(x: X, shape: readonly number[]): X;
  /** Throws the frontend's error for a malformed equation. */
  fail(message: string): never;
}

/** An operand with one label per axis (ellipsis axes get labels `.k`, k counted from the right). */
interface Term<X> { readonly x: X; readonly labels: readonly string[] }

/** The labels of one side of the equation, with its ellipsis expanded to `ellipsisRank` axes. */
function parseTerm<X>(ops: EinsumOps<X>, text: string, ellipsisRank: (count: number) => number): string[] {
  const parts = text.split('...');
  if (parts.length > 2) ops.fail(`'${text}' has more than one ellipsis`);
  for (const p of parts) if (!/^[A-Za-z]*$/.test(p)) ops.fail(`'${text}' has characters other than letters and one ellipsis`);
  const letters = (p: string) => [...p];
  if (parts.length === 1) return letters(text);
  const count = ellipsisRank(parts[0]!.length + parts[1]!.length);
  if (count < 0) ops.fail(`'${text}' has more labels than its operand has axes`);
  return [...letters(parts[0]!), ...Array.from({ length: count }, (_, i) => `.${count - 1 - i}`), ...letters(parts[1]!)];
}

/** Moves `x`'s axes into the order `to` (a permutation of its labels). */
function permute<X>(ops: EinsumOps<X>, t: Term<X>, to: readonly string[]): Term<X> {
  const perm = to.map((l) => t.labels.indexOf(l));
  return perm.every((p, i) => p === i) ? t : { x: ops.transpose(t.x, perm), labels: to };
}

/** Sums away the axes whose labels `keep` does not want. */
function sumAway<X>(ops: EinsumOps<X>, t: Term<X>, keep: (label: string) => boolean): Term<X> {
  const axes = t.labels.flatMap((l, i) => (keep(l) ? [] : [i]));
  if (axes.length === 0) return t;
  return { x: ops.sum(t.x, axes), labels: t.labels.filter((l) => keep(l)) };
}

/** Takes the diagonal of every label repeated within one operand (x[i, i] -> y[i]). */
function diagonals<X>(ops: EinsumOps<X>, t: Term<X>): Term<X> {
  for (;;) {
    const q = t.labels.findIndex((l, i) => t.labels.indexOf(l) !== i);
    if (q < 0) return t;
    const p = t.labels.indexOf(t.labels[q]!);
    const shape = ops.shape(t.x);
    const d = shape[p]!;
    const maskShape = shape.map((e, i) => (i === p || i === q ? d : 1));
    const eye = Array.from({ length: d * d }, (_, k) => (Math.floor(k / d) === k % d ? 1 : 0));
    t = { x: ops.sum(ops.mulConst(t.x, maskShape, eye), [q]), labels: t.labels.filter((_, i) => i !== q) };
  }
}

/** Contracts two operands over their shared labels that `keep` does not want, as one batched matmul. */
function contract<X>(ops: EinsumOps<X>, a: Term<X>, c: Term<X>, keep: (label: string) => boolean): Term<X> {
  const inC = (l: string) => c.labels.includes(l);
  const inA = (l: string) => a.labels.includes(l);
  a = sumAway(ops, a, (l) => keep(l) || inC(l));
  c = sumAway(ops, c, (l) => keep(l) || inA(l));
  const batch = a.labels.filter((l) => inC(l) && keep(l));
  const inner = a.labels.filter((l) => inC(l) && !keep(l));
  const left = a.labels.filter((l) => !inC(l));
  const right = c.labels.filter((l) => !inA(l));
  // Shared axes of extent 1 on one side broadcast (ellipsis axes may).
  const extent = (t: Term<X>, l: string) => ops.shape(t.x)[t.labels.indexOf(l)]!;
  const grow = (t: Term<X>, other: Term<X>): Term<X> => {
    const shape = t.labels.map((l) => (other.labels.includes(l) ? Math.max(extent(t, l), extent(other, l)) : extent(t, l)));
    const same = shape.every((d, i) => d === ops.shape(t.x)[i]);
    return same ? t : { x: ops.expand(t.x, shape), labels: t.labels };
  };
  a = grow(a, c);
  c = grow(c, a);
  const size = (t: Term<X>, ls: readonly string[]) => numel(ls.map((l) => extent(t, l)));
  const at = permute(ops, a, [...batch, ...left, ...inner]);
  const ct = permute(ops, c, [...batch, ...inner, ...right]);
  const [nb, m, k, nn] = [size(a, batch), size(a, left), size(a, inner), size(c, right)];
  const product = ops.matmul(ops.reshape(at.x, [nb, m, k]), ops.reshape(ct.x, [nb, k, nn]));
  const shape = [...batch.map((l) => extent(a, l)), ...left.map((l) => extent(a, l)), ...right.map((l) => extent(c, l))];
  return { x: ops.reshape(product, shape), labels: [...batch, ...left, ...right] };
}

/** Evaluates `equation` (numpy's einsum notation, with one ellipsis per term) on `xs`. */
export function einsum<X>(ops: EinsumOps<X>, equation: string, xs: readonly X[]): X {
  const [lhs, rhs] = equation.replace(/\s/g, '').split('->') as [string, string | undefined];
  const sides = lhs.split(',');
  if (sides.length !== xs.length) ops.fail(`equation '${equation}' names ${sides.length} operands but ${xs.length} are given`);
  let ellipsis = 0;
  let terms: Term<X>[] = xs.map((x, i) => {
    const rank = ops.shape(x).length;
    const labels = parseTerm(ops, sides[i]!, (count) => rank - count);
    if (labels.length !== rank) ops.fail(`term '${sides[i]}' has ${labels.length} labels for an operand of rank ${rank}`);
    ellipsis = Math.max(ellipsis, labels.filter((l) => l.startsWith('.')).length);
    return diagonals(ops, { x, labels });
  });
  // Without '->', the output is the ellipsis axes then every letter used once, alphabetically.
  const counts = new Map<string, number>();
  for (const s of sides) for (const ch of s.replace('...', '')) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  const out = rhs !== undefined
    ? parseTerm(ops, rhs, () => ellipsis)
    : [...Array.from({ length: ellipsis }, (_, i) => `.${ellipsis - 1 - i}`), ...[...counts].filter(([, c]) => c === 1).map(([l]) => l).sort()];
  for (const l of out) if (!terms.some((t) => t.labels.includes(l))) ops.fail(`output label '${l}' of '${equation}' appears in no operand`);
  if (new Set(out).size !== out.length) ops.fail(`output of '${equation}' repeats a label`);

  // Contract left to right, keeping the labels the output or a later operand needs.
  let acc = sumAway(ops, terms[0]!, (l) => out.includes(l) || terms.slice(1).some((t) => t.labels.includes(l)));
  terms = terms.slice(1);
  while (terms.length) {
    const [next, ...rest] = terms as [Term<X>, ...Term<X>[]];
    acc = contract(ops, acc, next, (l) => out.includes(l) || rest.some((t) => t.labels.includes(l)));
    terms = rest;
  }
  return permute(ops, sumAway(ops, acc, (l) => out.includes(l)), out).x;
}
