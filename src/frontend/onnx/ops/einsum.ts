// Einsum, lowered to kiln ops: repeated labels of one operand take a diagonal (multiply by an
// identity mask, sum), labels no one else needs are summed early, and each pair of operands is
// contracted as one batched matmul between transposes and reshapes.
import { numel } from '../../../ir/types.js';
import { typeOf, type OnnxBuilder, type Operand } from '../builder.js';
import { defineOnnxOp, type OnnxNode } from '../node.js';
import { makeConst } from '../tensor.js';
import { reshapeTo } from './helpers.js';

/** An operand with one label per axis (ellipsis axes get labels `.k`, k counted from the right). */
interface Term { readonly x: Operand; readonly labels: readonly string[] }

/** The labels of one side of the equation, with its ellipsis expanded to `ellipsisRank` axes. */
function parseTerm(n: OnnxNode, text: string, ellipsisRank: (count: number) => number): string[] {
  const parts = text.split('...');
  if (parts.length > 2) n.fail(`'${text}' has more than one ellipsis`);
  for (const p of parts) if (!/^[A-Za-z]*$/.test(p)) n.fail(`'${text}' has characters other than letters and one ellipsis`);
  const letters = (p: string) => [...p];
  if (parts.length === 1) return letters(text);
  const count = ellipsisRank(parts[0]!.length + parts[1]!.length);
  if (count < 0) n.fail(`'${text}' has more labels than its operand has axes`);
  return [...letters(parts[0]!), ...Array.from({ length: count }, (_, i) => `.${count - 1 - i}`), ...letters(parts[1]!)];
}

/** Moves `x`'s axes into the order `to` (a permutation of `from`). */
function permute(b: OnnxBuilder, t: Term, to: readonly string[]): Term {
  const perm = to.map((l) => t.labels.indexOf(l));
  return perm.every((p, i) => p === i) ? t : { x: b.op('transpose', [t.x], { perm }), labels: to };
}

/** Sums away the axes whose labels `keep` does not want. */
function sumAway(b: OnnxBuilder, t: Term, keep: (label: string) => boolean): Term {
  const axes = t.labels.flatMap((l, i) => (keep(l) ? [] : [i]));
  if (axes.length === 0) return t;
  return { x: b.op('sum', [t.x], { axes }), labels: t.labels.filter((l) => keep(l)) };
}

/** Takes the diagonal of every label repeated within one operand (x[i, i] -> y[i]). */
function diagonals(b: OnnxBuilder, t: Term): Term {
  for (;;) {
    const q = t.labels.findIndex((l, i) => t.labels.indexOf(l) !== i);
    if (q < 0) return t;
    const p = t.labels.indexOf(t.labels[q]!);
    const shape = typeOf(t.x).shape;
    const d = shape[p]!;
    const maskShape = shape.map((e, i) => (i === p || i === q ? d : 1));
    const eye = Array.from({ length: d * d }, (_, k) => (Math.floor(k / d) === k % d ? 1 : 0));
    const mask = makeConst('einsum_eye', typeOf(t.x).dtype, maskShape, eye);
    const x = b.op('sum', [b.op('mul', [t.x, mask])], { axes: [q] });
    t = { x, labels: t.labels.filter((_, i) => i !== q) };
  }
}

/** Contracts two operands over their shared labels that `keep` does not want, as one batched matmul. */
function contract(b: OnnxBuilder, a: Term, c: Term, keep: (label: string) => boolean): Term {
  const inC = (l: string) => c.labels.includes(l);
  const inA = (l: string) => a.labels.includes(l);
  a = sumAway(b, a, (l) => keep(l) || inC(l));
  c = sumAway(b, c, (l) => keep(l) || inA(l));
  const batch = a.labels.filter((l) => inC(l) && keep(l));
  const inner = a.labels.filter((l) => inC(l) && !keep(l));
  const left = a.labels.filter((l) => !inC(l));
  const right = c.labels.filter((l) => !inA(l));
  // Shared axes of extent 1 on one side broadcast (ellipsis axes may).
  const extent = (t: Term, l: string) => typeOf(t.x).shape[t.labels.indexOf(l)]!;
  const grow = (t: Term, other: Term): Term => {
    const shape = t.labels.map((l) => (other.labels.includes(l) ? Math.max(extent(t, l), extent(other, l)) : extent(t, l)));
    const same = shape.every((d, i) => d === typeOf(t.x).shape[i]);
    return same ? t : { x: b.op('expand', [t.x], { shape }), labels: t.labels };
  };
  a = grow(a, c);
  c = grow(c, a);
  const size = (t: Term, ls: readonly string[]) => numel(ls.map((l) => extent(t, l)));
  const at = permute(b, a, [...batch, ...left, ...inner]);
  const ct = permute(b, c, [...batch, ...inner, ...right]);
  const [nb, m, k, nn] = [size(a, batch), size(a, left), size(a, inner), size(c, right)];
  const product = b.op('matmul', [reshapeTo(b, at.x, [nb, m, k]), reshapeTo(b, ct.x, [nb, k, nn])]);
  const shape = [...batch.map((l) => extent(a, l)), ...left.map((l) => extent(a, l)), ...right.map((l) => extent(c, l))];
  return { x: reshapeTo(b, product, shape), labels: [...batch, ...left, ...right] };
}

defineOnnxOp('Einsum', (n) => {
  const b = n.b;
  const equation = n.attrs.string('equation');
  if (equation === undefined) return n.fail("needs the attribute 'equation'");
  const xs = n.inputs.map((_, i) => n.input(i));
  const dtype = typeOf(xs[0]!).dtype;
  if (dtype === 'bool') n.unsupported('does not take bool operands');
  const [lhs, rhs] = equation.replace(/\s/g, '').split('->') as [string, string | undefined];
  const sides = lhs.split(',');
  if (sides.length !== xs.length) n.fail(`equation '${equation}' names ${sides.length} operands but the node has ${xs.length}`);
  let ellipsis = 0;
  let terms: Term[] = xs.map((x, i) => {
    const rank = typeOf(x).shape.length;
    const labels = parseTerm(n, sides[i]!, (count) => rank - count);
    if (labels.length !== rank) n.fail(`term '${sides[i]}' has ${labels.length} labels for an operand of rank ${rank}`);
    ellipsis = Math.max(ellipsis, labels.filter((l) => l.startsWith('.')).length);
    return diagonals(b, { x, labels });
  });
  // Without '->', the output is the ellipsis axes then every letter used once, alphabetically.
  const counts = new Map<string, number>();
  for (const s of sides) for (const ch of s.replace('...', '')) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  const out = rhs !== undefined
    ? parseTerm(n, rhs, () => ellipsis)
    : [...Array.from({ length: ellipsis }, (_, i) => `.${ellipsis - 1 - i}`), ...[...counts].filter(([, c]) => c === 1).map(([l]) => l).sort()];
  for (const l of out) if (!terms.some((t) => t.labels.includes(l))) n.fail(`output label '${l}' of '${equation}' appears in no operand`);
  if (new Set(out).size !== out.length) n.fail(`output of '${equation}' repeats a label`);

  // Contract left to right, keeping the labels the output or a later operand needs.
  let acc = sumAway(b, terms[0]!, (l) => out.includes(l) || terms.slice(1).some((t) => t.labels.includes(l)));
  terms = terms.slice(1);
  while (terms.length) {
    const [next, ...rest] = terms as [Term, ...Term[]];
    acc = contract(b, acc, next, (l) => out.includes(l) || rest.some((t) => t.labels.includes(l)));
    terms = rest;
  }
  return permute(b, sumAway(b, acc, (l) => out.includes(l)), out).x;
});
