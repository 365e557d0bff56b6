import { OpTypeError } from './errors.js';
import { dimRange, dimsEqual, dimText, evalDim, isSymbolic, sizeVarsOf, type Dim, type SizeEnv, type SizeVar } from './size-expr.js';
import { dimsOf, isDynamic, type TensorType } from './types.js';
import type { Attrs } from './attrs.js';
import type { OpDef } from './ops/registry.js';
import { broadcastShapes } from './ops/shape-util.js';

/**
 * The symbolic extents of an op's results when some operand has symbolic extents, and the
 * static shapes buffers are sized for (each extent's largest value).
 *
 * An op with a `dims` rule computes them itself (reshape's inferred extent, a strided window);
 * elementwise ops broadcast. For the rest, each result extent is found by evaluating the op's
 * numeric rule with the size variables at settings spread over their ranges (probeSettings, and
 * near the low ends where the op accepts them): an extent that follows one operand extent at
 * every setting is that extent, one that stays put is a number, and anything else is refused,
 * naming the op (it needs a `dims` rule). Copies, transposes, reductions and matrix products need
 * no rule of their own this way.
 */
export function inferDims(def: OpDef, inputs: readonly TensorType[], attrs: Attrs): (readonly Dim[] | undefined)[] | undefined {
  if (!inputs.some(isDynamic) && !def.producesSize) return undefined;
  // Elementwise results broadcast their operands; with operands of their own layout (batch_norm's
  // per-channel parameters), the result is laid out like the first operand.
  const rule = def.spec.dims ?? (def.spec.math ? (def.spec.operandStrides ? (shapes: readonly (readonly Dim[])[]) => [[...shapes[0]!]] : (shapes: readonly (readonly Dim[])[]) => [broadcastShapes(shapes)]) : undefined);
  const dims = rule ? rule(inputs.map((t) => dimsOf(t)), attrs) : probe(def, inputs, attrs);
  return dims.map((ds) => (ds.some(isSymbolic) ? ds : undefined));
}

/** Each result's static shape: its extents' largest values. */
export function boundShape(dims: readonly Dim[]): number[] {
  return dims.map((d) => dimRange(d)[1]);
}

/** Three settings of the size variables near their largest values, each variable distinct: where rules are probed. */
export function probeSettings(vars: readonly SizeVar[]): Map<string, number>[] {
  // Spread out (largest, about 3/4 and 1/2 of it), so that extents divided down by strided
  // windows still differ between settings; offset per variable, so that two differ from each
  // other; and distinct wherever a range holds three values, however small it is.
  const clamp = (v: SizeVar, x: number) => Math.max(v.min, Math.min(v.max, x));
  const values = vars.map((v, i) => {
    const a = v.max;
    let b = clamp(v, Math.ceil((v.max * 3) / 4) - i);
    if (b >= a) b = clamp(v, a - 1);
    let c = clamp(v, Math.ceil(v.max / 2) + 1 + i);
    if (c >= b) c = clamp(v, b - 1);
    return [a, b, c];
  });
  return [0, 1, 2].map((k) => new Map(vars.map((v, i) => [v.name, values[i]![k]!])));
}

function probe(def: OpDef, inputs: readonly TensorType[], attrs: Attrs): (readonly Dim[])[] {
  const vars = [...sizeVarsOf(inputs.flatMap((t) => dimsOf(t))).values()];
  const at = (env: Map<string, number>) => def.infer(inputs.map((t) => ({ ...t, shape: dimsOf(t).map((d) => evalDim(d, env)) })), attrs);
  // The probe settings, and settings near the ranges' low ends where the op accepts them: an
  // extent divided down by many strides can look fixed near the top of its range.
  const low = [1, 0].map((k) => new Map(vars.map((v, i) => [v.name, Math.min(v.max, v.min + k + i)])));
  const envs: Map<string, number>[] = [];
  const results: ReturnType<typeof at>[] = [];
  for (const [n, env] of [...probeSettings(vars), ...low].entries()) {
    try {
      results.push(at(env));
      envs.push(env);
    } catch (e) {
      if (n < 3) throw e;
    }
  }
  const candidates = inputs.flatMap((t) => dimsOf(t).filter(isSymbolic));
  return results[0]!.map((r, j) => r.shape.map((first, k) => {
    const match = dimFromProbes(results.map((res) => res[j]!.shape[k]!), envs, candidates);
    if (match !== undefined) return match;
    const sizes = inputs.map((t) => `[${dimsOf(t).map(dimText).join(',')}]`).join(', ');
    throw new OpTypeError(`${def.name} cannot size dimension ${k} of its result for operands ${sizes} when the sizes vary (it has no symbolic shape rule yet)`);
  }));
}

/**
 * The dimension whose values at the probe settings `envs` are `values`: a number where they
 * agree, else the candidate that takes exactly those values; undefined when none does.
 */
export function dimFromProbes(values: readonly number[], envs: readonly SizeEnv[], candidates: readonly Dim[]): Dim | undefined {
  if (values.every((v) => v === values[0])) return values[0]!;
  return candidates.find((c) => envs.every((env, e) => evalDim(c, env) === values[e]));
}


/**
 * Whether two lists of extents agree for every size, as far as evaluating them shows: the same
 * text, or the same values at the ranges' ends and the probe settings (two derivations of one
 * size, e.g. through a folded batch_norm and the conv it was folded into, may differ in form).
 */
export function dimsAgree(a: readonly Dim[], b: readonly Dim[]): boolean {
  if (a.length !== b.length) return false;
  if (a.every((d, i) => dimsEqual(d, b[i]!))) return true;
  const vars = [...sizeVarsOf([...a, ...b]).values()];
  const envs = [...probeSettings(vars), new Map(vars.map((v) => [v.name, v.min])), new Map(vars.map((v, i) => [v.name, Math.max(v.min, Math.min(v.max, v.min + 1 + i))]))];
  return envs.every((env) => a.every((d, i) => evalDim(d, env) === evalDim(b[i]!, env)));
}
