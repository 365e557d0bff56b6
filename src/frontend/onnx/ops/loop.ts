// Loop. One whose course is known at import (constant trip count and condition, and a body
// whose condition folds to a constant on every iteration) is unrolled: the body is imported once
// per iteration, so it runs on the GPU and fuses. Any other is kiln's `loop` op, which runs the
// body on the CPU as many times as the run decides (see ir/ops/control-flow.ts).
import { isConst, isContainer, typeOf, type ImportValue, type Operand } from '../builder.js';
import { defineOnnxOp, type OnnxNode } from '../node.js';
import type { GraphProtoObject } from '../proto.js';
import { constValues } from '../tensor.js';
import { bodyOf, MAX_UNROLL, needAtImport, stack } from './control-flow.js';
import { numel, shapesEqual } from '../../../ir/types.js';

/** The trip count of a Loop without one: as good as none (ONNX's is int64; kiln's i32). */
const NO_TRIP_LIMIT = 2 ** 31 - 1;
/** Iterations a loop's scan outputs are sized for at most (their buffers hold that many slices)... */
const MAX_SCAN_TRIPS = 4096;
/** ...and elements in all (64 MB of f32). */
const MAX_SCAN_ELEMENTS = 2 ** 24;

// The body maps (iteration number, condition, carried values) to (condition, carried values,
// scan outputs); it runs while the iteration number is below the trip count and the condition
// holds, checked before each iteration.
defineOnnxOp('Loop', (n) => {
  const body = bodyOf(n);
  const carried = n.inputs.slice(2).map((_, i) => n.anyInput(i + 2) ?? n.fail(`input ${i + 2} is missing`));
  const known = [n.optional(0), n.optional(1)].every((x) => x === undefined || isConst(x));
  const mark = n.b.mark();
  if (known) {
    const unrolled = unroll(n, body, carried);
    if (unrolled) return unrolled;
    n.b.rollback(mark);
  }
  // Sequences and optionals are import-time lists: only an unrolled loop can carry them.
  const held = carried.findIndex(isContainer);
  try {
    if (held >= 0) n.unsupported(`it carries '${body.input?.[2 + held]?.name ?? ''}', a sequence or optional, through iterations decided at run time; kiln carries those only through loops it unrolls at import`);
    return runTimeLoop(n, body, carried as Operand[]);
  } catch (e) {
    n.b.rollback(mark);
    return needAtImport(n, [0, 1], e);
  }
});

/**
 * The loop unrolled, or undefined when its course is not known at import: its body's condition
 * is computed at run time, it runs more than MAX_UNROLL iterations, or it runs none and has scan
 * outputs (whose slice shape only the body's types tell).
 */
function unroll(n: OnnxNode, body: GraphProtoObject, carried: ImportValue[]): ImportValue[] | undefined {
  const trips = n.optionalValues(0, 'trip count');
  const cond0 = n.optionalValues(1, 'condition');
  const limit = trips ? trips[0]! : Infinity;
  const scans: Operand[][] = [];
  let go = cond0 ? cond0[0] !== 0 : true;
  let i = 0;
  for (; i < limit && go; i++) {
    if (i >= MAX_UNROLL) return undefined;
    const results = n.importSubgraphValues(body, [n.b.scalar('i32', i), n.b.scalar('bool', 1), ...carried]);
    const cond = results[0]!;
    if (isContainer(cond) || !isConst(cond)) return undefined;
    go = constValues(cond)[0] !== 0;
    carried = results.slice(1, 1 + carried.length);
    const slices = results.slice(1 + carried.length);
    const held = slices.findIndex(isContainer);
    if (held >= 0) n.unsupported(`its body's scan output ${held} is a sequence or optional; scan outputs are stacked tensors`);
    scans.push(slices as Operand[]);
  }
  const kOut = (body.output ?? []).length - 1 - carried.length;
  if (kOut > 0 && i === 0) return undefined;
  return [...carried, ...Array.from({ length: kOut }, (_, k) => stack(n, scans.map((s) => s[k]!), 0, false))];
}

/**
 * The loop as kiln's `loop` op: the body imported once as a closed graph. Carried values must
 * keep their types; scan outputs get a leading extent bound when the loop has run.
 */
function runTimeLoop(n: OnnxNode, body: GraphProtoObject, carried: readonly Operand[]): Operand[] {
  const given = n.optional(0);
  // A constant trip count past i32 (exporters write int64's largest for `while` loops) means no limit.
  const known = given && isConst(given) ? Math.max(0, constValues(given)[0]!) : undefined;
  const trips = given && known === undefined ? given : n.b.scalar('i32', Math.min(known ?? NO_TRIP_LIMIT, NO_TRIP_LIMIT));
  const cond = n.optional(1) ?? n.b.scalar('bool', 1);
  for (const [x, what, dtype] of [[trips, 'trip count', 'i32'], [cond, 'condition', 'bool']] as const) {
    const t = typeOf(x);
    if (t.dtype !== dtype || numel(t.shape) !== 1) n.fail(`its ${what} must be one ${dtype === 'i32' ? 'integer' : 'bool'}, got ${t.dtype}[${t.shape.join(',')}]`);
  }
  const types = carried.map(typeOf);
  const { graph, outside } = n.importClosed(body, [{ dtype: 'i32', shape: [] }, { dtype: 'bool', shape: [] }, ...types]);
  const outs = graph.outputs.map((v) => v.type);
  if (outs.length < 1 + types.length) n.fail(`its body gives ${outs.length} outputs; carrying ${types.length} values needs at least ${1 + types.length}`);
  types.forEach((t, k) => {
    const o = outs[1 + k]!;
    if (o.dtype !== t.dtype || !shapesEqual(o.shape, t.shape)) {
      n.unsupported(`its body changes loop-carried value ${k} ('${body.input?.[2 + k]?.name ?? ''}') from ${t.dtype}[${t.shape.join(',')}] to ${o.dtype}[${o.shape.join(',')}]; kiln runs loops whose carried values keep their types`);
    }
  });
  const slice = Math.max(1, ...outs.slice(1 + types.length).map((t) => numel(t.shape)));
  const maxTrips = Math.min(known ?? Infinity, MAX_SCAN_TRIPS, Math.floor(MAX_SCAN_ELEMENTS / slice));
  return n.b.ops('loop', [trips, cond, ...carried, ...outside], { body: graph, carried: types.length, max_trips: maxTrips });
}
