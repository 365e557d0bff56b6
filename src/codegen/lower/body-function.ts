import type { Node, Value } from '../../ir/graph.js';
import { KilnError } from '../../ir/errors.js';
import { getOp, type ElementwiseMath } from '../../ir/ops/index.js';
import { wgslHelperDecls } from '../kernels/wgsl-math.js';
import { wgslType } from '../wgsl.js';

/**
 * A fused body's elementwise nodes as one WGSL function in SSA form: its parameters are the
 * values the nodes read from outside (operand loads, an anchor's result), each node's value is
 * one `let`, and only a value read once, by one node, is written into its reader instead. An
 * op's math may name an operand several times (tanh-gelu names x four times), so inlining any
 * other value would repeat its whole expression tree, exponentially along a chain. Call sites
 * pass each argument once, so a load is read once however often the math uses it.
 */
export interface BodyFunction {
  /** The function's declaration, followed by the helper functions its math calls. */
  readonly decls: readonly string[];
  /** The call expression over argument expressions, one per parameter. */
  call(args: readonly string[]): string;
}

function mathOf(n: Node): ElementwiseMath {
  const math = getOp(n.op).spec.math;
  if (!math) throw new KilnError(`fused kernel: ${n.op} (%${n.output.name}) is not elementwise`);
  return math;
}

// Placeholders for operands while an op's WGSL is rendered, so that uses can be counted.
const slot = (k: number) => `\u0000${k}\u0000`;

/** Occurrences of slot `k` in `text`. */
function occurrences(text: string, k: number): number {
  return text.split(slot(k)).length - 1;
}

/** Whether `text` is one call `f(...)` whose parentheses enclose all the rest. */
function isCallOf(f: string, text: string): boolean {
  if (!text.startsWith(`${f}(`) || !text.endsWith(')')) return false;
  let depth = 0;
  for (let i = f.length; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')' && --depth === 0) return i === text.length - 1;
  }
  return false;
}

/** `text` converted to WGSL type `t`, unless it is already such a conversion (a cast's math). */
function convertedTo(t: string, text: string): string {
  return isCallOf(t, text) ? text : `${t}(${text})`;
}

/** The helpers (erf, NaN-aware max...) that `nodes` call, each declared once. */
export function helpersOf(nodes: readonly Node[]): string[] {
  return wgslHelperDecls(nodes.flatMap((n) =>
    mathOf(n).helpers?.(wgslType(n.output.type.dtype), n.inputs.map((v) => wgslType(v.type.dtype)), n.attrs) ?? []));
}

/**
 * `fn name(p0, p1, ...) -> T` computing `result` from `params` through `nodes` (in dependency
 * order). With no nodes it returns its parameter: the body is the identity.
 */
export function bodyFunction(name: string, nodes: readonly Node[], params: readonly Value[], result: Value): BodyFunction {
  const uses = new Map<Value, number>();
  for (const n of nodes) for (const v of n.inputs) uses.set(v, (uses.get(v) ?? 0) + 1);
  uses.set(result, (uses.get(result) ?? 0) + 1);
  const names = new Map<Value, string>(params.map((p, k) => [p, `p${k}`]));
  const pending = new Map<Value, string>();
  const lines: string[] = [];
  /** How a reader refers to `v`: its name, or (read once, in one place) its expression. */
  const ref = (v: Value, places: number): string => {
    const named = names.get(v);
    if (named !== undefined) return named;
    const expr = pending.get(v);
    if (expr === undefined) throw new KilnError(`fused kernel ${name}: %${v.name} is read before it is computed`);
    pending.delete(v);
    if (uses.get(v) === 1 && places <= 1) return expr;
    const id = `v${lines.length}`;
    lines.push(`  let ${id} = ${expr};`);
    names.set(v, id);
    return id;
  };
  for (const n of nodes) {
    const t = wgslType(n.output.type.dtype);
    const inTypes = n.inputs.map((v) => wgslType(v.type.dtype));
    const template = mathOf(n).wgsl(n.inputs.map((_, k) => slot(k)), t, n.attrs, inTypes);
    let text = template;
    n.inputs.forEach((v, k) => { text = text.split(slot(k)).join(ref(v, occurrences(template, k))); });
    pending.set(n.output, convertedTo(t, text));
  }
  const out = wgslType(result.type.dtype);
  const body = `${lines.join('\n')}${lines.length ? '\n' : ''}  return ${ref(result, 1)};`;
  const signature = params.map((p, k) => `p${k}: ${wgslType(p.type.dtype)}`).join(', ');
  return {
    decls: [`fn ${name}(${signature}) -> ${out} {\n${body}\n}`, ...helpersOf(nodes)],
    call: (args) => `${name}(${args.join(', ')})`,
  };
}
