import { KilnError } from '../ir/errors.js';
import { evalDim, parseDim, steppedVar, type Dim, type SizeVar } from '../ir/size-expr.js';
import type { DispatchSpec, Program, SizeCondition, SizeWord, StaticBinding, StaticDispatch, StaticProgram, TensorBinding } from './program.js';

// A program compiled for a range of shapes (Program.sizes) runs as the static program its sizes
// make once bound: the same kernels, buffers and bind groups, with uniform words, workgroup
// counts and tensor shapes computed from the sizes. Binding reads the sizes off the inputs'
// shapes and checks them against their ranges and against each other.

/** The size variables' values for one run, by name. */
export type SizeValues = ReadonlyMap<string, number>;

/** Sizes as one string, to tell whether two bindings of a program's sizes are the same. */
export function sizesKeyOf(sizes: SizeValues): string {
  return [...sizes.values()].join(',');
}

export function isDynamicProgram(p: Program): boolean {
  return (p.sizes?.length ?? 0) > 0;
}

/** Parses size words once per program. */
const parsed = new WeakMap<Program, Map<string, Dim>>();

function wordDim(p: Program, w: string): Dim {
  let cache = parsed.get(p);
  if (!cache) parsed.set(p, (cache = new Map()));
  let d = cache.get(w);
  if (d === undefined) {
    const vars = new Map((p.sizes ?? []).map((v) => [v.name, v]));
    try {
      d = parseDim(w, vars);
    } catch (e) {
      throw new KilnError(`program '${p.name}': size word '${w}': ${(e as Error).message}`);
    }
    cache.set(w, d);
  }
  return d;
}

function evalWord(p: Program, w: SizeWord, env: SizeValues): number {
  return typeof w === 'number' ? w : evalDim(wordDim(p, w), env);
}

/** A binding's extents as dimensions (its shape when none vary). */
export function bindingDims(p: Program, t: TensorBinding): readonly Dim[] {
  return t.dims ? t.dims.map((w) => (typeof w === 'number' ? w : wordDim(p, w))) : t.shape;
}

/** `x: f32[N,3,48,W]` with `N in 1..32`: an input's form for messages. */
export function describeBinding(t: TensorBinding): string {
  return `${t.dtype}[${(t.dims ?? t.shape).join(',')}]`;
}

/** The size ranges, as a message reads them: `N in 1..32, W in 8..1280`. */
export function describeSizes(sizes: readonly SizeVar[]): string {
  return sizes.map((v) => `${v.name} in ${v.min}..${v.max}`).join(', ');
}

/**
 * The sizes a run's input shapes give, checked: each input's rank and fixed extents, each size
 * within its range, and inputs that share a size agreeing on it. Errors name the input, the
 * dimension and the size.
 */
export function bindSizes(p: Program, shapes: ReadonlyMap<string, readonly number[]>): SizeValues {
  const env = new Map<string, number>();
  const from = new Map<string, string>();
  const ranges = new Map((p.sizes ?? []).map((v) => [v.name, v]));
  const later: { input: TensorBinding; k: number; d: Dim; got: number }[] = [];
  for (const t of p.inputs) {
    const got = shapes.get(t.name);
    if (!got) continue;
    const dims = bindingDims(p, t);
    if (got.length !== dims.length) throw new KilnError(`input '${t.name}' expects rank ${dims.length} (${describeBinding(t)}), got [${got.join(',')}]`);
    dims.forEach((d, k) => {
      const n = got[k]!;
      const at = `input '${t.name}' dimension ${k}`;
      if (typeof d === 'number') {
        if (n !== d) throw new KilnError(`${at} must be ${d} (${describeBinding(t)}), got ${n} in [${got.join(',')}]`);
        return;
      }
      // An extent that is a size (W) or a multiple of one (32*H) gives the size; others are checked once all are bound.
      const sv = steppedVar(d);
      const v = sv && ranges.get(sv.v.name);
      if (!sv || !v) { later.push({ input: t, k, d, got: n }); return; }
      const { step } = sv;
      if (n < v.min * step || n > v.max * step) throw new KilnError(`${at} (${d.text}) is ${n}, outside the range ${v.min * step}..${v.max * step} the program was compiled for`);
      if (n % step !== 0) throw new KilnError(`${at} (${d.text}) is ${n}, not a multiple of ${step} as the program was compiled for`);
      const value = n / step;
      const prev = env.get(v.name);
      if (prev !== undefined && prev !== value) throw new KilnError(`${at} gives ${v.name} = ${value}, but ${from.get(v.name)} gave ${v.name} = ${prev}: inputs sharing a size must agree`);
      env.set(v.name, value);
      from.set(v.name, at);
    });
  }
  for (const v of p.sizes ?? []) {
    if (!env.has(v.name)) throw new KilnError(`program '${p.name}': no input's shape gives size ${v.name}`);
  }
  for (const { input, k, d, got } of later) {
    const want = evalDim(d, env);
    if (want !== got) throw new KilnError(`input '${input.name}' dimension ${k} must be ${d.toString()} = ${want} for these sizes, got ${got}`);
  }
  return env;
}

/** The sizes at their largest values: what buffers are made for and loading checks. */
export function largestSizes(p: Program): SizeValues {
  return new Map((p.sizes ?? []).map((v) => [v.name, v.max]));
}

/** The static program `p` is when its sizes take the values in `env`. */
export function resolveProgram(p: Program, env: SizeValues): StaticProgram {
  if (!isDynamicProgram(p)) return p as StaticProgram;
  const word = (w: SizeWord, what: string): number => {
    const v = evalWord(p, w, env);
    if (!Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 32) throw new KilnError(`program '${p.name}': ${what} is ${v} for these sizes, which does not fit 32 bits`);
    return v >>> 0;
  };
  const binding = (t: TensorBinding): StaticBinding => {
    const shape = bindingDims(p, t).map((d) => evalDim(d, env));
    if (shape.some((d) => d < 0)) throw new KilnError(`${t.name} would be [${shape.join(',')}] for these sizes`);
    return { name: t.name, dtype: t.dtype, shape, buffer: t.buffer };
  };
  const dispatches = p.dispatches.map((d, i): StaticDispatch => {
    const { uniforms, workgroups, variants, ...rest } = d;
    const k = chooseVariant(p, d, env);
    const chosen = k === undefined ? { kernel: d.kernel, uniforms, workgroups } : variants![k]!;
    return {
      ...rest,
      kernel: chosen.kernel,
      ...(chosen.uniforms ? { uniforms: chosen.uniforms.map((w) => word(w, `a uniform of dispatch #${i} '${d.label}'`)) } : {}),
      workgroups: chosen.workgroups.map((w) => word(w, `a workgroup count of dispatch #${i} '${d.label}'`)) as [number, number, number],
      ...(k === undefined ? {} : { variant: k }),
    };
  });
  return { ...p, inputs: p.inputs.map(binding), outputs: p.outputs.map(binding), dispatches };
}

/** Whether `c` holds for the sizes in `env`. */
export function conditionHolds(p: Program, c: SizeCondition, env: SizeValues): boolean {
  const v = evalWord(p, c.size, env);
  return (c.min === undefined || v >= c.min) && (c.max === undefined || v <= c.max);
}

/** `B*T <= 1`, `64 <= K`: a condition as messages and listings read it. */
export function describeCondition(c: SizeCondition): string {
  return `${c.min === undefined ? '' : `${c.min} <= `}${c.size}${c.max === undefined ? '' : ` <= ${c.max}`}`;
}

/** The index of the first of the dispatch's variants whose condition holds (undefined: its own kernel). */
export function chooseVariant(p: Program, d: DispatchSpec, env: SizeValues): number | undefined {
  const k = (d.variants ?? []).findIndex((v) => conditionHolds(p, v.when, env));
  return k < 0 ? undefined : k;
}

/**
 * The program with each dispatch's variants as dispatches of their own (over the same buffers),
 * so that loading it creates every variant's pipeline, uniform slice and bind group; and, per
 * dispatch of `p`, the indices of its kernels there: its variants in order, then its own.
 */
export function variantsAsDispatches(p: Program): { readonly program: Program; readonly at: readonly (readonly number[])[] } {
  if (!p.dispatches.some((d) => d.variants?.length)) return { program: p, at: p.dispatches.map((_, i) => [i]) };
  const dispatches: DispatchSpec[] = [];
  const at = p.dispatches.map(({ variants, uniforms, ...d }) => {
    const own = (variants ?? []).map((v) => {
      dispatches.push({ ...d, label: `${d.label} [${describeCondition(v.when)}]`, kernel: v.kernel, workgroups: v.workgroups, ...(v.uniforms ? { uniforms: v.uniforms } : {}) });
      return dispatches.length - 1;
    });
    dispatches.push({ ...d, ...(uniforms ? { uniforms } : {}) });
    return [...own, dispatches.length - 1];
  });
  return { program: { ...p, dispatches }, at };
}

/**
 * The program as loading makes it (variantsAsDispatches), resolved at the largest sizes: what
 * buffers, uniform slices and device checks are made for. A variant whose condition bounds a size
 * from above (`N <= 1`) is resolved with that size at its bound, so the device limits it is
 * checked against are those of the sizes it runs at.
 */
export function resolveForLoad(p: Program): { readonly program: StaticProgram; readonly at: readonly (readonly number[])[] } {
  const { program: all, at } = variantsAsDispatches(p);
  const largest = largestSizes(p);
  const resolved = resolveProgram(all, largest);
  const dispatches = [...resolved.dispatches];
  p.dispatches.forEach((d, i) => (d.variants ?? []).forEach(({ when }, k) => {
    const v = p.sizes?.find((s) => s.name === when.size);
    if (!v || when.max === undefined || when.max >= v.max) return;
    const e = at[i]![k]!;
    const env = new Map(largest).set(v.name, Math.max(v.min, when.max));
    dispatches[e] = resolveProgram({ ...all, dispatches: [all.dispatches[e]!] }, env).dispatches[0]!;
  }));
  return { program: { ...resolved, dispatches }, at };
}

/** A program known to be static, for code that runs only those (eager ops); refuses a dynamic one. */
export function requireStatic(p: Program, what: string): StaticProgram {
  if (isDynamicProgram(p)) throw new KilnError(`${what} runs programs of one static shape; program '${p.name}' varies in ${describeSizes(p.sizes!)}`);
  return p as StaticProgram;
}
