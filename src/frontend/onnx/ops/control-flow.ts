// Control flow whose course is known at import: If with a constant condition (typical of scripted
// exports whose branches test shapes) imports the taken branch in place; Scan (its length is a
// static extent) and Loop with a constant trip count and condition are unrolled, importing the
// body once per iteration. Control flow decided at run time is not supported.
import { isConst, typeOf, type Operand } from '../builder.js';
import { defineOnnxOp, type OnnxNode } from '../node.js';
import type { GraphProtoObject } from '../proto.js';
import { constValues } from '../tensor.js';
import { normalizeAxis } from './helpers.js';
import { pick } from './rnn-unroll.js';

/** Iterations kiln unrolls at most (each imports the body again). */
const MAX_UNROLL = 4096;

defineOnnxOp('If', (n) => {
  const cond = n.values(0, 'condition');
  if (cond.length !== 1) n.fail(`its condition must hold one element, got ${cond.length}`);
  const key = cond[0] !== 0 ? 'then_branch' : 'else_branch';
  const branch = n.attrs.graph(key);
  if (!branch) return n.fail(`has no ${key}`);
  return n.importSubgraph(branch);
});

function bodyOf(n: OnnxNode): GraphProtoObject {
  const body = n.attrs.graph('body');
  if (!body) return n.fail("has no 'body'");
  return body;
}

/** Stacks per-iteration values along a new `axis` (in iteration order, or reversed). */
function stack(n: OnnxNode, xs: readonly Operand[], axis: number, reverse: boolean): Operand {
  const rank = typeOf(xs[0]!).shape.length + 1;
  const a = normalizeAxis(n, axis, rank, 'scan output axis');
  const ordered = reverse ? [...xs].reverse() : xs;
  return n.b.op('concat', ordered.map((x) => n.b.op('unsqueeze', [x], { axes: [a] })), { axis: a });
}

/**
 * Runs a Scan body over `scans` (sliced along `axes`, walked in `directions`) from `states`:
 * returns the final states and the per-iteration scan outputs.
 */
function scanLoop(n: OnnxNode, body: GraphProtoObject, states: Operand[], scans: readonly Operand[], axes: readonly number[], directions: readonly number[]): { states: Operand[]; outputs: Operand[][] } {
  const lengths = scans.map((x, i) => typeOf(x).shape[axes[i]!]!);
  const length = lengths[0] ?? 0;
  if (lengths.some((l) => l !== length)) n.fail(`its scan inputs have different lengths (${lengths.join(', ')})`);
  if (length === 0) n.unsupported('a scan of length 0 (its outputs would have no known shape)');
  if (length > MAX_UNROLL) n.unsupported(`a scan of ${length} iterations (kiln unrolls at most ${MAX_UNROLL})`);
  const outputs: Operand[][] = [];
  for (let t = 0; t < length; t++) {
    const slices = scans.map((x, i) => pick(n.b, x, axes[i]!, directions[i] ? length - 1 - t : t));
    const results = n.importSubgraph(body, [...states, ...slices]);
    states = results.slice(0, states.length);
    outputs.push(results.slice(states.length));
  }
  return { states, outputs };
}

// Scan-9+: N states then M scan inputs; the body maps (states, one slice of each scan input) to
// (states, one slice of each scan output). Scan-8 has a leading batch axis on every operand and
// optional sequence lengths in front; it runs as one scan per batch entry.
defineOnnxOp('Scan', (n) => {
  const body = bodyOf(n);
  const m = n.attrs.int('num_scan_inputs');
  if (m === undefined) return n.fail("needs the attribute 'num_scan_inputs'");
  const legacy = n.opset < 9;
  if (legacy && n.optional(0)) {
    const lens = n.values(0, 'sequence_lens');
    const full = typeOf(n.input(n.inputs.length - 1)).shape[1];
    if (lens.some((l) => l !== full)) n.unsupported('Scan-8 with sequence lengths shorter than the scan');
  }
  const operands = (legacy ? n.inputs.slice(1) : n.inputs).map((x, i) => x ?? n.fail(`input ${i} is missing`));
  const nStates = operands.length - m;
  if (nStates < 0) n.fail(`has ${operands.length} inputs but num_scan_inputs=${m}`);
  const kOut = (body.output ?? []).length - nStates;
  const rankOf = (x: Operand) => typeOf(x).shape.length - (legacy ? 1 : 0);
  const inAxes = (n.attrs.ints('scan_input_axes') ?? new Array<number>(m).fill(0)).map((a, i) => normalizeAxis(n, a, rankOf(operands[nStates + i]!), 'scan input axis'));
  const inDirs = n.attrs.ints(legacy ? 'directions' : 'scan_input_directions') ?? new Array<number>(m).fill(0);
  const outAxes = n.attrs.ints('scan_output_axes') ?? new Array<number>(kOut).fill(0);
  const outDirs = n.attrs.ints('scan_output_directions') ?? new Array<number>(kOut).fill(0);
  const run = (states: Operand[], scans: Operand[]): Operand[] => {
    const r = scanLoop(n, body, states, scans, inAxes, inDirs);
    return [...r.states, ...outAxes.map((axis, k) => stack(n, r.outputs.map((o) => o[k]!), axis, outDirs[k] === 1))];
  };
  if (!legacy) return run(operands.slice(0, nStates), operands.slice(nStates));
  const batch = typeOf(operands[0]!).shape[0]!;
  const perBatch = Array.from({ length: batch }, (_, i) => run(...splitAt(operands.map((x) => pick(n.b, x, 0, i)), nStates)));
  return perBatch[0]!.map((_, k) => stack(n, perBatch.map((r) => r[k]!), 0, false));
});

function splitAt<T>(xs: readonly T[], i: number): [T[], T[]] {
  return [xs.slice(0, i), xs.slice(i)];
}

// Loop with a trip count and condition known at import: the body maps (iteration number,
// condition, carried values) to (condition, carried values, scan outputs), and its condition
// must fold to a constant on every iteration.
defineOnnxOp('Loop', (n) => {
  const body = bodyOf(n);
  const trips = n.optionalValues(0, 'trip count');
  const cond0 = n.optionalValues(1, 'condition');
  const limit = trips ? trips[0]! : Infinity;
  let carried = n.inputs.slice(2).map((x, i) => x ?? n.fail(`input ${i + 2} is missing`));
  const scans: Operand[][] = [];
  let go = cond0 ? cond0[0] !== 0 : true;
  let i = 0;
  for (; i < limit && go; i++) {
    if (i >= MAX_UNROLL) n.unsupported(`a loop of more than ${MAX_UNROLL} iterations (kiln unrolls loops at import)`);
    const results = n.importSubgraph(body, [n.b.scalar('i32', i), n.b.scalar('bool', 1), ...carried]);
    const cond = results[0]!;
    if (!isConst(cond)) return n.unsupported('its condition is computed at run time; kiln unrolls loops whose course is known at import');
    go = constValues(cond)[0] !== 0;
    carried = results.slice(1, 1 + carried.length);
    scans.push(results.slice(1 + carried.length));
  }
  const kOut = (body.output ?? []).length - 1 - carried.length;
  if (kOut > 0 && i === 0) n.unsupported('scan outputs of a loop that runs no iteration (their shape is unknown)');
  return [...carried, ...Array.from({ length: kOut }, (_, k) => stack(n, scans.map((s) => s[k]!), 0, false))];
});
