import { Graph, type Node, type Value } from '../ir/graph.js';
import { isFloatCast, isPlainCast, MAX_STORAGE_BINDINGS, type AnchorRoles, type EpilogueRole, type OperandRead } from '../ir/fusion.js';
import { getOp } from '../ir/ops/index.js';
import { dimsOf, isGpu } from '../ir/types.js';
import { dimsAgree } from '../ir/symbolic-shapes.js';
import { broadcastsTo } from '../ir/ops/shape-util.js';
import { traceView } from '../ir/view.js';
import { rebuild } from './rebuild.js';

// Named prologue matchers: each recognises one way an anchor kernel can read an operand (an
// OperandRead) in the graph. The fuse pass tries those whose read the anchor's roles accept, and
// records the read on the fused node; lowering resolves the same read in the body. A new
// prologue kind is a matcher here (with its IR-text test) and the kernels that accept its read.

export interface MatchContext {
  readonly users: ReadonlyMap<Value, readonly Node[]>;
  readonly outputs: ReadonlySet<Value>;
  readonly roles: (op: string) => AnchorRoles | undefined;
}

/**
 * The group of nodes computing an anchor's operand, which the anchor's kernel can compute as it
 * reads: the fuse pass offers a group only when the anchor is its single reader.
 */
export interface AbsorbMatcher {
  readonly name: string;
  readonly read: OperandRead;
  /** A one-node group this matcher takes stays out of its producers' chain: its reader reads it for free. */
  readonly claimsAlone?: true;
  matches(anchor: Node, input: number, members: readonly Node[]): boolean;
}

/**
 * Nodes an anchor's kernel can read through, copied in front of it: they stay in the graph for
 * other readers, and dce drops them once none is left.
 */
export interface CopyMatcher {
  readonly name: string;
  readonly read: OperandRead;
  match(anchor: Node, input: number, ctx: MatchContext): Node[] | undefined;
}

/** Values `members` read from outside themselves, in first-use order. */
export function externalInputs(members: readonly Node[]): Value[] {
  const inside = new Set(members.flatMap((m) => m.outputs));
  const out: Value[] = [];
  for (const m of members) for (const v of m.inputs) if (!inside.has(v) && !out.includes(v)) out.push(v);
  return out;
}

/**
 * `members` (in dependency order) as a closed body graph named `name`, returning `result` (one
 * value or several): the values they read from outside become its parameters (names kept), in
 * first-use order.
 */
export function closedBody(name: string, members: readonly Node[], result: Value | readonly Value[]): { body: Graph; inputs: Value[] } {
  const inputs = externalInputs(members);
  const body = new Graph(name);
  const map = new Map<Value, Value>(inputs.map((v) => [v, body.addInput(v.name, v.type)]));
  for (const m of members) {
    const n = body.addNode(m.op, m.inputs.map((v) => map.get(v)!), m.attrs, {
      types: m.outputs.map((o) => o.type), names: m.outputs.map((o) => o.name), device: m.outputs[0]!.type.device,
    });
    m.outputs.forEach((o, i) => map.set(o, n.outputs[i]!));
  }
  body.setOutputs((Array.isArray(result) ? result : [result]).map((v: Value) => map.get(v)!));
  return { body, inputs };
}

/**
 * `g` with each chain of `chains` (keyed by its last node, whose output is the chain's result)
 * made one fused node that the whole-body kernel `kernel` computes (a squeeze-excite gate, a
 * classifier's head).
 */
export function fuseChains(g: Graph, chains: ReadonlyMap<Node, readonly Node[]>, kernel: string): Graph {
  if (!chains.size) return g;
  const member = new Set([...chains.values()].flat());
  return rebuild(g, (node, b) => {
    const chain = chains.get(node);
    if (!chain) return member.has(node);
    const { body, inputs } = closedBody(kernel, chain, node.output);
    const f = b.add('fused', inputs.map((v) => b.get(v)), { body, kernel }, node.output.type.device, [node.output.name]);
    b.replace(node.output, f.output);
    return true;
  });
}

/** `mul(x, s)` with s one value per channel of x ([N or 1, C, 1, 1]): a conv scales x as it reads it (after an SE gate). */
export const channelScale: AbsorbMatcher = {
  name: 'channel-scale',
  read: 'scale',
  matches: (_, __, members) => {
    const n = members[0]!;
    if (members.length !== 1 || n.op !== 'mul' || n.output.type.shape.length !== 4) return false;
    const [a, b] = n.inputs.map((v) => v.type.shape) as [readonly number[], readonly number[]];
    const out = n.output.type.shape;
    const full = (s: readonly number[]) => s.length === 4 && s.every((d, i) => d === out[i]);
    const perChannel = (s: readonly number[]) => s.length === 4 && s[1] === out[1] && s[2] === 1 && s[3] === 1 && (s[0] === 1 || s[0] === out[0]);
    const float = n.output.type.dtype === 'f32' || n.output.type.dtype === 'f16';
    return float && ((full(a) && perChannel(b)) || (full(b) && perChannel(a)));
  },
};

/** An f16 -> f32 cast: a kernel that computes in f32 anyway reads the f16 value directly. */
export const widening: AbsorbMatcher = {
  name: 'widening',
  read: 'convert',
  claimsAlone: true,
  matches: (_, __, members) => {
    const n = members[0]!;
    return members.length === 1 && isPlainCast(n) && n.inputs[0]!.type.dtype === 'f16' && n.output.type.dtype === 'f32';
  },
};

/**
 * An elementwise chain with its result's shape, over operands laid out like it or broadcast to it
 * (a mask, one factor a row): a reduction computes it as it reads.
 */
export const elementwiseChain: AbsorbMatcher = {
  name: 'elementwise-chain',
  read: 'chain',
  matches: (anchor, input, members) => {
    const shape = dimsOf(anchor.inputs[input]!.type);
    const operands = externalInputs(members);
    return members.every((m) => dimsAgree(dimsOf(m.outputs[0]!.type), shape)) && operands.every((v) => broadcastsTo(dimsOf(v.type), shape))
      && operands.length + 1 <= MAX_STORAGE_BINDINGS;
  },
};

/**
 * A graph input cast from f32 to f16 (f32 I/O under fp16), when every reader converts it as it
 * loads: each reads the f32 input, and the f16 copy is never stored. (A computed value is better
 * narrowed in its producer's epilogue, which keeps the intermediate in f16.)
 */
export const narrowedInput: CopyMatcher = {
  name: 'narrowed-input',
  read: 'convert',
  match: (anchor, input, ctx) => {
    const x = anchor.inputs[input]!;
    const cast = x.producer;
    if (!cast || !isPlainCast(cast) || cast.inputs[0]!.producer !== null || ctx.outputs.has(x)) return undefined;
    if (cast.inputs[0]!.type.dtype !== 'f32' || x.type.dtype !== 'f16') return undefined;
    const convertsAll = (r: Node) => r.inputs.every((v, i) => v !== x || (ctx.roles(r.op)?.reads(r, i).includes('convert') ?? false));
    return (ctx.users.get(x) ?? []).every(convertsAll) ? [cast] : undefined;
  },
};

/** A view chain (transposes, reshapes, split outputs, slices...) the kernel reads through: it reads the chain's base. */
export const viewChain: CopyMatcher = {
  name: 'view',
  read: 'view',
  match: (anchor, input, ctx) => {
    const t = traceView(anchor.inputs[input]!);
    return t && ctx.roles(anchor.op)?.readsView?.(anchor, input, t.view) ? [...t.chain] : undefined;
  },
};

/**
 * A weight stored as int8 (dequantize_int8 of its packed values and scales) or blockwise
 * (dequantize_blocks of its codes, scales and zero points): the kernel binds them and
 * dequantizes as it loads, so the float weight is never stored.
 */
export const dequantizedWeight: CopyMatcher = {
  name: 'dequantized-weight',
  read: 'dequantize',
  match: (anchor, input, ctx) => {
    const v = anchor.inputs[input]!;
    const p = v.producer;
    if (p?.op === 'dequantize_int8' || p?.op === 'dequantize_blocks') return [p];
    // An int8 weight read through a view (a one-row product's [N, K] weight, transposed).
    const t = traceView(v);
    const base = t?.base.producer;
    return base?.op === 'dequantize_int8' && ctx.roles(anchor.op)?.readsView?.(anchor, input, t!.view) ? [base, ...t!.chain] : undefined;
  },
};

/**
 * A single node after an anchor that its kernel does as it writes (a role other than an
 * elementwise chain): the fuse pass appends it to the anchor's group when the anchor accepts the role.
 */
export interface EpilogueMatcher {
  readonly role: Exclude<EpilogueRole, 'elementwise'>;
  /** Whether `n` plays the role after the group `members` (which ends with the node `n` reads). */
  matches(n: Node, members: readonly Node[]): boolean;
}

/** A channel shuffle: the anchor writes each channel where the shuffle puts it. */
export const channelShuffle: EpilogueMatcher = { role: 'channel-shuffle', matches: (n) => n.op === 'channel_shuffle' };

/** One float cast (f16 <-> f32) of the result, converted as it is written. */
export const floatCast: EpilogueMatcher = { role: 'float-cast', matches: (n, members) => isFloatCast(n) && !members.some(isPlainCast) };

/** Epilogue matchers for single nodes, tried before a node joins an elementwise chain. */
export const EPILOGUE_MATCHERS: readonly EpilogueMatcher[] = [channelShuffle, floatCast];

/** Absorbing matchers, tried in order. */
export const ABSORB_MATCHERS: readonly AbsorbMatcher[] = [channelScale, widening, elementwiseChain];
/** Copying matchers, tried in order on operands no absorbing matcher took. */
export const COPY_MATCHERS: readonly CopyMatcher[] = [dequantizedWeight, narrowedInput, viewChain];

/** Elementwise under plain broadcasting on the device (ops with their own operand indexing stay alone). */
export function isElementwise(n: Node): boolean {
  const spec = getOp(n.op).spec;
  return n.outputs.length === 1 && spec.math !== undefined && spec.operandStrides === undefined && isGpu(n.output.type.device);
}
