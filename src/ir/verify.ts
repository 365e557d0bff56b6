import { isGraphAttr } from './attrs.js';
import { KilnError } from './errors.js';
import type { Graph, Value } from './graph.js';
import { getOp } from './ops/index.js';
import { formatType, shapesEqual } from './types.js';

/** A graph that breaks an IR invariant; the message lists every problem found. */
export class VerifyError extends KilnError {
  override name = 'VerifyError';
  constructor(readonly problems: string[], graphName: string) {
    super(`graph ${graphName} is invalid:\n  ${problems.join('\n  ')}`);
  }
}

/**
 * Checks SSA form (one producer per value, defined before use), op arity and attributes,
 * that declared types match inference, and that every node's operands share its device
 * (only `transfer` crosses devices). Throws VerifyError listing every problem.
 */
export function verify(g: Graph): void {
  const problems: string[] = [];
  const defined = new Set<Value>();
  const names = new Set<string>();
  const define = (v: Value, where: string) => {
    if (defined.has(v)) problems.push(`%${v.name} is defined twice (${where})`);
    if (names.has(v.name)) problems.push(`the name %${v.name} is used by two values (${where})`);
    defined.add(v);
    names.add(v.name);
  };
  for (const v of g.inputs) {
    if (v.producer !== null) problems.push(`input %${v.name} has a producer`);
    define(v, 'graph input');
  }
  for (const n of g.nodes) {
    const where = `${n.op} -> ${n.outputs.map((o) => `%${o.name}`).join(', ')}`;
    for (const v of n.inputs) {
      if (!defined.has(v)) problems.push(`${where}: operand %${v.name} is used before it is defined (or never defined)`);
    }
    let def;
    try {
      def = getOp(n.op);
    } catch (e) {
      problems.push(`${where}: ${(e as Error).message}`);
      continue;
    }
    try {
      def.checkArity(n.inputs.length);
      def.withDefaults(n.attrs);
      const inferred = def.infer(n.inputs.map((v) => v.type), n.attrs, n.outputs.map((o) => o.type));
      if (inferred.length !== n.outputs.length) {
        problems.push(`${where}: has ${n.outputs.length} results, the op gives ${inferred.length}`);
      }
      inferred.forEach((t, i) => {
        const o = n.outputs[i];
        if (o && (o.type.dtype !== t.dtype || !shapesEqual(o.type.shape, t.shape))) {
          problems.push(`${where}: %${o.name} is typed ${formatType(o.type)} but ${n.op} gives ${t.dtype}[${t.shape.join(',')}]`);
        }
      });
    } catch (e) {
      problems.push(`${where}: ${(e as Error).message}`);
    }
    const devices = new Set(n.inputs.map((v) => v.type.device));
    if (devices.size > 1) {
      problems.push(`${where}: operands are on different devices (${n.inputs.map((v) => `%${v.name} @${v.type.device}`).join(', ')}); insert a transfer`);
    }
    if (n.op !== 'transfer') {
      for (const o of n.outputs) {
        const d = n.inputs[0]?.type.device;
        if (d && o.type.device !== d) problems.push(`${where}: result %${o.name} is @${o.type.device} but its operands are @${d}`);
      }
    }
    for (const v of Object.values(n.attrs)) {
      if (!isGraphAttr(v)) continue;
      try {
        verify(v);
      } catch (e) {
        problems.push(`${where}: body ${(e as Error).message}`);
      }
    }
    for (const o of n.outputs) {
      if (o.producer !== n) problems.push(`${where}: %${o.name} does not name its producer`);
      define(o, where);
    }
  }
  for (const v of g.outputs) {
    if (!defined.has(v)) problems.push(`return value %${v.name} is not defined`);
  }
  if (g.outputs.length === 0) problems.push('the graph returns nothing');
  if (problems.length) throw new VerifyError(problems, g.name);
}
