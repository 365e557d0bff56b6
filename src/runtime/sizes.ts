import { KilnError } from '../ir/errors.js';
import { evalDim, parseDim, steppedVar, type Dim, type SizeVar } from '../ir/size-expr.js';
import type { Program, SizeWord, StaticBinding, StaticDispatch, StaticProgram, TensorBinding } from './program.js';

// A program compiled for a range of shapes (Program.sizes) runs as the static program its sizes
// make once bound: the same kernels, buffers and bind groups, with uniform words, workgroup
// counts and tensor shapes computed from the sizes. Binding reads the sizes off the inputs'
// shapes and checks them against their ranges and against each other.

/** The size variables' values for one run, by name. */
export type SizeValues = ReadonlyMap<string, number>;

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
    const { uniforms, workgroups, ...rest } = d;
    return {
      ...rest,
      ...(uniforms ? { uniforms: uniforms.map((w) => word(w, `a uniform of dispatch #${i} '${d.label}'`)) } : {}),
      workgroups: workgroups.map((w) => word(w, `a workgroup count of dispatch #${i} '${d.label}'`)) as [number, number, number],
    };
  });
  return { ...p, inputs: p.inputs.map(binding), outputs: p.outputs.map(binding), dispatches };
}

/** A program known to be static, for code that runs only those (eager ops); refuses a dynamic one. */
export function requireStatic(p: Program, what: string): StaticProgram {
  if (isDynamicProgram(p)) throw new KilnError(`${what} runs programs of one static shape; program '${p.name}' varies in ${describeSizes(p.sizes!)}`);
  return p as StaticProgram;
}
