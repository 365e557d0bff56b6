// Control flow. If: a constant condition (typical of scripted exports whose branches test
// shapes) imports the taken branch in place; a condition computed at run time selects between
// both branches with `where` when they give results of the same types, else it is kiln's `if`
// op (ops/loop.ts has Loop). Scan (its length is a static extent) is unrolled, importing the
// body once per iteration.
import { isConst, typeOf, type Operand } from '../builder.js';
import { defineOnnxOp, type OnnxNode } from '../node.js';
import type { GraphProtoObject } from '../proto.js';
import { outerNames } from '../subgraphs.js';
import { graphInputsOf, InputValuesNeededError } from '../input-values.js';
import { KilnError } from '../../../ir/errors.js';
import { normalizeAxis, reshapeTo } from './helpers.js';
import { pick } from './rnn-unroll.js';
import { numel, shapesEqual } from '../../../ir/types.js';

/** Iterations kiln unrolls at most (each imports the body again). */
export const MAX_UNROLL = 4096;

function branch(n: OnnxNode, key: string): GraphProtoObject {
  return n.attrs.graph(key) ?? n.fail(`has no ${key}`);
}

function sameType(a: Operand, b: Operand): boolean {
  const [s, t] = [typeOf(a), typeOf(b)];
  return s.dtype === t.dtype && shapesEqual(s.shape, t.shape);
}

defineOnnxOp('If', (n) => {
  const cond = n.input(0);
  if (numel(typeOf(cond).shape) !== 1) n.fail(`its condition must hold one element, got ${numel(typeOf(cond).shape)}`);
  if (isConst(cond)) return n.importSubgraphValues(branch(n, n.values(0, 'condition')[0] !== 0 ? 'then_branch' : 'else_branch'));
  const mark = n.b.mark();
  try {
    return runTimeIf(n, cond, branch(n, 'then_branch'), branch(n, 'else_branch'));
  } catch (e) {
    n.b.rollback(mark);
    return needAtImport(n, [0], e);
  }
});

function runTimeIf(n: OnnxNode, cond: Operand, thenG: GraphProtoObject, elseG: GraphProtoObject): Operand[] {
  const mark = n.b.mark();
  const [a, b] = [n.importSubgraph(thenG), n.importSubgraph(elseG)];
  if (a.length !== b.length) n.fail(`its then_branch gives ${a.length} outputs and its else_branch ${b.length}`);
  if (a.every((x, k) => sameType(x, b[k]!))) {
    // Both branches are computed (on the GPU, fused with their readers where they can be), and
    // `where` keeps the results of the one the condition picks.
    const c = reshapeTo(n.b, cond, []);
    return a.map((x, k) => n.b.op('where', [c, x, b[k]!]));
  }
  // The branches' results differ in extents: only the branch the condition picks runs, on the
  // CPU, and the extents they disagree on are bound when it has run.
  n.b.rollback(mark);
  a.forEach((x, k) => {
    const [s, t] = [typeOf(x), typeOf(b[k]!)];
    if (s.dtype !== t.dtype || s.shape.length !== t.shape.length) {
      n.unsupported(`its branches give output ${k} as ${s.dtype}[${s.shape.join(',')}] and ${t.dtype}[${t.shape.join(',')}]; kiln takes branches whose outputs differ in extents only`);
    }
  });
  const outside = [...new Set([...outerNames(thenG), ...outerNames(elseG)])];
  const [t, e] = [n.importClosed(thenG, [], outside), n.importClosed(elseG, [], outside)];
  return n.b.ops('if', [cond, ...t.outside], { then_branch: t.graph, else_branch: e.graph });
}

/**
 * When kiln cannot import a node's control flow as decided at run time (`e`: a refusal, or an
 * error in a branch or body imported for values it may never see, such as a branch for another
 * sample rate whose shapes do not fit these inputs), the node asks for the values of the graph
 * inputs its operands `which` (condition, trip count) are computed from: with them it imports as
 * known at import, only what runs (kiln run and InferenceSession bind them from their feeds).
 * Other errors, and values needed by the subgraphs themselves, pass through.
 */
export function needAtImport(n: OnnxNode, which: readonly number[], e: unknown): never {
  if (!(e instanceof KilnError) || e instanceof InputValuesNeededError) throw e;
  const needs = which.flatMap((i) => {
    const x = n.optional(i);
    return x && !isConst(x) ? graphInputsOf(x).map((v) => ({ input: v.name, use: `the ${i === 0 && n.opType === 'Loop' ? 'trip count' : 'condition'} of ${n.where}, whose run-time form kiln refuses: ${e.message}` })) : [];
  });
  if (needs.length) throw new InputValuesNeededError(needs);
  throw e;
}

/** The body graph of a Loop or Scan. */
export function bodyOf(n: OnnxNode): GraphProtoObject {
  const body = n.attrs.graph('body');
  if (!body) return n.fail("has no 'body'");
  return body;
}

/** Stacks per-iteration values along a new `axis` (in iteration order, or reversed). */
export function stack(n: OnnxNode, xs: readonly Operand[], axis: number, reverse: boolean): Operand {
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
