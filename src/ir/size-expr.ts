import { KilnError } from './errors.js';

/**
 * Symbolic sizes: a dimension is a number, or an expression over named size variables (`N`,
 * `W`) known only when a model runs. An expression is kept as a polynomial with integer
 * coefficients over atoms, where an atom is a size variable or `floor(p / c)` of a polynomial
 * `p` and an integer `c >= 2` (strided windows, exact divisions that are not exact). The normal
 * form makes equal sizes print equally, so comparing two dimensions is comparing their text.
 * Size variables are non-negative integers, so every atom is one too; that is what makes
 * `floor((c*q + r) / c) = q + floor(r / c)` and the interval bounds below hold.
 */
export type Dim = number | SizeExpr;

/** A size variable's name and inclusive range. */
export interface SizeVar {
  readonly name: string;
  readonly min: number;
  readonly max: number;
}

/** Values of size variables. */
export type SizeEnv = ReadonlyMap<string, number> | Readonly<Record<string, number>>;

type Atom = { readonly kind: 'var'; readonly name: string; readonly min: number; readonly max: number } | { readonly kind: 'floor'; readonly num: SizeExpr; readonly den: number };

interface Term {
  readonly coeff: number;
  /** Atoms multiplied, sorted by key (repeats are powers). */
  readonly atoms: readonly Atom[];
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function atomKey(a: Atom): string {
  if (a.kind === 'var') return a.name;
  return /[-+]/.test(a.num.text) ? `floor((${a.num.text})/${a.den})` : `floor(${a.num.text}/${a.den})`;
}

function monoKey(atoms: readonly Atom[]): string {
  return atoms.map(atomKey).join('*');
}

/** A symbolic size in normal form (see Dim). Build with `sizeVar` and the `d*` functions. */
export class SizeExpr {
  /** The normal form's text: the same for equal expressions; parses back with parseDim. */
  readonly text: string;

  private constructor(readonly terms: readonly Term[]) {
    this.text = formatTerms(terms);
  }

  /** The sum of `terms`, like terms combined: a number when no atom remains. */
  static of(terms: readonly Term[]): Dim {
    const byKey = new Map<string, Term>();
    for (const t of terms) {
      if (t.coeff === 0) continue;
      const atoms = [...t.atoms].sort((a, b) => (atomKey(a) < atomKey(b) ? -1 : atomKey(a) > atomKey(b) ? 1 : 0));
      const k = monoKey(atoms);
      const prev = byKey.get(k);
      byKey.set(k, { coeff: (prev?.coeff ?? 0) + t.coeff, atoms });
    }
    const kept = [...byKey.entries()].filter(([, t]) => t.coeff !== 0).sort(([a], [b]) => (a === '' ? 1 : b === '' ? -1 : a < b ? -1 : a > b ? 1 : 0));
    if (kept.every(([k]) => k === '')) return kept.length ? kept[0]![1].coeff : 0;
    return new SizeExpr(kept.map(([, t]) => t));
  }

  toString(): string {
    return this.text;
  }

  /** The size variables it uses, by name. */
  vars(): Map<string, SizeVar> {
    const out = new Map<string, SizeVar>();
    const visit = (e: SizeExpr) => {
      for (const t of e.terms) for (const a of t.atoms) {
        if (a.kind === 'var') out.set(a.name, { name: a.name, min: a.min, max: a.max });
        else visit(a.num);
      }
    };
    visit(this);
    return out;
  }

  /** Its value when the variables take the values in `env`. */
  evaluate(env: SizeEnv): number {
    const lookup = (name: string) => {
      const v = env instanceof Map ? env.get(name) : (env as Readonly<Record<string, number>>)[name];
      if (v === undefined) throw new KilnError(`size ${name} is not bound`);
      return v;
    };
    const atom = (a: Atom): number => (a.kind === 'var' ? lookup(a.name) : Math.floor(a.num.evaluate(env) / a.den));
    let s = 0;
    for (const t of this.terms) s += t.atoms.reduce((p, a) => p * atom(a), t.coeff);
    return s;
  }

  /** Smallest and largest values over the variables' ranges (interval arithmetic: sound, maybe loose). */
  range(): [number, number] {
    const atom = (a: Atom): [number, number] => {
      if (a.kind === 'var') return [a.min, a.max];
      const [lo, hi] = a.num.range();
      return [Math.floor(lo / a.den), Math.floor(hi / a.den)];
    };
    let lo = 0;
    let hi = 0;
    for (const t of this.terms) {
      // Atoms are non-negative, so a product's range is the product of the ends.
      let mlo = 1;
      let mhi = 1;
      for (const a of t.atoms) {
        const [l, h] = atom(a);
        mlo *= Math.max(0, l);
        mhi *= Math.max(0, h);
      }
      if (t.coeff > 0) { lo += t.coeff * mlo; hi += t.coeff * mhi; } else { lo += t.coeff * mhi; hi += t.coeff * mlo; }
    }
    return [lo, hi];
  }
}

function formatTerms(terms: readonly Term[]): string {
  let s = '';
  for (const t of terms) {
    const mono = monoKey(t.atoms);
    const mag = Math.abs(t.coeff);
    const body = mono === '' ? String(mag) : mag === 1 ? mono : `${mag}*${mono}`;
    s += s === '' ? (t.coeff < 0 ? `-${body}` : body) : t.coeff < 0 ? `-${body}` : `+${body}`;
  }
  return s;
}

const termsOf = (d: Dim): readonly Term[] => (typeof d === 'number' ? (d === 0 ? [] : [{ coeff: d, atoms: [] }]) : d.terms);

/** A size variable taking values in min..max, as a dimension. */
export function sizeVar(name: string, min: number, max: number): SizeExpr {
  if (!NAME.test(name)) throw new KilnError(`'${name}' is not a size name (letters, digits and '_', not starting with a digit)`);
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 0 || max < min) throw new KilnError(`size ${name}: range ${min}..${max} is not a range of non-negative integers`);
  return SizeExpr.of([{ coeff: 1, atoms: [{ kind: 'var', name, min, max }] }]) as SizeExpr;
}

/** The inclusive range of a dimension's values (a number's is itself). */
export function dimRange(d: Dim): [number, number] {
  return typeof d === 'number' ? [d, d] : d.range();
}

/** Every size variable the dimensions use, by name; two of one name must agree on their range. */
export function sizeVarsOf(dims: Iterable<Dim>): Map<string, SizeVar> {
  const out = new Map<string, SizeVar>();
  for (const d of dims) {
    if (typeof d === 'number') continue;
    for (const v of d.vars().values()) {
      const prev = out.get(v.name);
      if (prev && (prev.min !== v.min || prev.max !== v.max)) throw new KilnError(`size ${v.name} is given two ranges, ${prev.min}..${prev.max} and ${v.min}..${v.max}`);
      out.set(v.name, v);
    }
  }
  return out;
}

export function isSymbolic(d: Dim): d is SizeExpr {
  return typeof d !== 'number';
}

/** a + b + ... */
export function dAdd(...ds: readonly Dim[]): Dim {
  if (ds.every((d) => typeof d === 'number')) return (ds as number[]).reduce((p, d) => p + d, 0);
  return SizeExpr.of(ds.flatMap(termsOf));
}

/** a - b */
export function dSub(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return SizeExpr.of([...termsOf(a), ...termsOf(b).map((t) => ({ coeff: -t.coeff, atoms: t.atoms }))]);
}

/** a * b * ... */
export function dMul(...ds: readonly Dim[]): Dim {
  if (ds.every((d) => typeof d === 'number')) return (ds as number[]).reduce((p, d) => p * d, 1);
  let acc: readonly Term[] = [{ coeff: 1, atoms: [] }];
  for (const d of ds) {
    const ts = termsOf(d);
    acc = acc.flatMap((x) => ts.map((y) => ({ coeff: x.coeff * y.coeff, atoms: [...x.atoms, ...y.atoms] })));
  }
  return SizeExpr.of(acc);
}

/** Product of a shape's dimensions. */
export function dNumel(dims: readonly Dim[]): Dim {
  return dMul(...dims);
}

/** floor(a / c) for an integer c >= 1. */
export function dFloorDiv(a: Dim, c: number): Dim {
  if (!Number.isInteger(c) || c < 1) throw new KilnError(`internal: floor division of a size by ${c}`);
  if (typeof a === 'number') return Math.floor(a / c);
  if (c === 1) return a;
  // floor((c*q + r) / c) = q + floor(r / c), with every coefficient of r in [0, c).
  const q: Term[] = [];
  const r: Term[] = [];
  for (const t of a.terms) {
    const rem = ((t.coeff % c) + c) % c;
    q.push({ coeff: (t.coeff - rem) / c, atoms: t.atoms });
    if (rem) r.push({ coeff: rem, atoms: t.atoms });
  }
  const rest = SizeExpr.of(r);
  if (typeof rest === 'number') return dAdd(SizeExpr.of(q), Math.floor(rest / c));
  return dAdd(SizeExpr.of(q), SizeExpr.of([{ coeff: 1, atoms: [{ kind: 'floor', num: rest, den: c }] }]));
}

/** ceil(a / c) for an integer c >= 1. */
export function dCeilDiv(a: Dim, c: number): Dim {
  return dFloorDiv(dAdd(a, c - 1), c);
}

/**
 * a / b when it divides exactly for every value of the variables (a reshape's inferred
 * extent): b a number or one term; undefined when that cannot be shown.
 */
export function dExactDiv(a: Dim, b: Dim): Dim | undefined {
  if (typeof a === 'number' && typeof b === 'number') return b !== 0 && a % b === 0 ? a / b : undefined;
  const bt = termsOf(b);
  if (bt.length !== 1) return undefined;
  const [{ coeff, atoms }] = bt as [Term];
  const out: Term[] = [];
  for (const t of termsOf(a)) {
    if (t.coeff % coeff !== 0) return undefined;
    const left = [...t.atoms];
    for (const x of atoms) {
      const i = left.findIndex((y) => atomKey(y) === atomKey(x));
      if (i < 0) return undefined;
      left.splice(i, 1);
    }
    out.push({ coeff: t.coeff / coeff, atoms: left });
  }
  return SizeExpr.of(out);
}

/** Whether `d` is a multiple of `c` for every value of the variables (as far as the normal form shows). */
export function dIsMultiple(d: Dim, c: number): boolean {
  return typeof d === 'number' ? d % c === 0 : d.terms.every((t) => t.coeff % c === 0);
}

/** Whether two dimensions are equal for every value of the variables (as far as the normal form shows). */
export function dimsEqual(a: Dim, b: Dim): boolean {
  if (typeof a === 'number' || typeof b === 'number') return a === b;
  return a.text === b.text;
}

export function dimText(d: Dim): string {
  return typeof d === 'number' ? String(d) : d.text;
}

/** The value of `d` under `env`. */
export function evalDim(d: Dim, env: SizeEnv): number {
  return typeof d === 'number' ? d : d.evaluate(env);
}

/**
 * Parses a dimension as dimText prints it: integers, size names, + - *, parentheses,
 * `floor(e/c)` and `ceil(e/c)` with an integer c.
 */
export function parseDim(text: string, vars: ReadonlyMap<string, SizeVar>): Dim {
  const toks = text.match(/\s*([A-Za-z_][A-Za-z0-9_]*|\d+|[-+*/()])/gy);
  if (!toks || toks.join('').replace(/\s/g, '') !== text.replace(/\s/g, '')) throw new KilnError(`'${text}' is not a size expression`);
  const ts = toks.map((t) => t.trim());
  let i = 0;
  const fail = (): never => {
    throw new KilnError(`'${text}' is not a size expression (at '${ts.slice(i).join('')}')`);
  };
  const eat = (t: string) => {
    if (ts[i] !== t) fail();
    i++;
  };
  const sum = (): Dim => {
    let acc = product();
    while (ts[i] === '+' || ts[i] === '-') acc = ts[i++] === '+' ? dAdd(acc, product()) : dSub(acc, product());
    return acc;
  };
  const product = (): Dim => {
    let acc = factor();
    while (ts[i] === '*') { i++; acc = dMul(acc, factor()); }
    return acc;
  };
  const factor = (): Dim => {
    const t = ts[i] ?? fail();
    if (t === '-') { i++; return dMul(-1, factor()); }
    if (t === '(') { i++; const e = sum(); eat(')'); return e; }
    if (/^\d+$/.test(t)) { i++; return Number(t); }
    if ((t === 'floor' || t === 'ceil') && ts[i + 1] === '(') {
      i += 2;
      const e = sum();
      eat('/');
      const c = Number(ts[i++] ?? fail());
      if (!Number.isInteger(c) || c < 1) fail();
      eat(')');
      return t === 'floor' ? dFloorDiv(e, c) : dCeilDiv(e, c);
    }
    if (NAME.test(t)) {
      i++;
      const v = vars.get(t);
      if (!v) throw new KilnError(`size ${t} in '${text}' has no declared range`);
      return sizeVar(t, v.min, v.max);
    }
    return fail();
  };
  const d = sum();
  if (i !== ts.length) fail();
  return d;
}

/**
 * A dimension that varies, written `NAME<=MAX` or `MIN<=NAME<=MAX` (MIN defaults to 1), as
 * `--input-shape x=N<=32,3,48,W<=1280` and `inputShapes: { x: ['N<=32', 3, 48, 192] }` give it.
 * `STEP*NAME<=MAX` (or `MIN<=STEP*NAME<=MAX`) is an extent that is a multiple of STEP (a detector
 * whose strides halve the image five times takes `32*H<=960`): the size NAME counts steps, so
 * the extent is the expression STEP*NAME, and halving it stays exact (`floor((32*H+1)/2)` is
 * `16*H`). The bounds are the extent's; NAME takes ceil(MIN/STEP)..floor(MAX/STEP).
 */
export function parseSizeBound(text: string): Dim {
  const m = /^\s*(?:(\d+)\s*<=\s*)?(?:(\d+)\s*\*\s*)?([A-Za-z_][A-Za-z0-9_]*)\s*<=\s*(\d+)\s*$/.exec(text);
  if (!m) throw new KilnError(`'${text}' is not a size with its range: write NAME<=MAX or MIN<=NAME<=MAX (e.g. N<=32 or 8<=W<=1280), or STEP*NAME<=MAX for a multiple of STEP (e.g. 32*H<=960)`);
  const step = m[2] === undefined ? 1 : Number(m[2]);
  if (step < 1) throw new KilnError(`'${text}': the step of a size must be at least 1`);
  const min = m[1] === undefined ? step : Number(m[1]);
  const max = Number(m[4]);
  const [lo, hi] = [Math.ceil(min / step), Math.floor(max / step)];
  if (hi < lo) throw new KilnError(`'${text}': no multiple of ${step} lies in ${min}..${max}`);
  return dMul(step, sizeVar(m[3]!, lo, hi));
}

/**
 * A dimension that is one size variable times a step (`W`, `32*H`): what an input's extent gives
 * a run directly. Undefined for any other expression.
 */
export function steppedVar(d: Dim): { readonly v: SizeVar; readonly step: number } | undefined {
  if (typeof d === 'number' || d.terms.length !== 1) return undefined;
  const [{ coeff, atoms }] = d.terms as [Term];
  const a = atoms[0];
  if (atoms.length !== 1 || a!.kind !== 'var' || coeff < 1) return undefined;
  return { v: { name: a!.name, min: a!.min, max: a!.max }, step: coeff };
}
