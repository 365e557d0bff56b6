import type { Graph, Node, Value } from '../ir/graph.js';
import { Graph as GraphClass } from '../ir/graph.js';
import { getOp } from '../ir/ops/index.js';
import { traceView } from '../ir/view.js';
import { shapesEqual } from '../ir/types.js';
import { resolveAxis } from '../ir/ops/concat-split.js';
import type { Pass, PassContext } from './pass.js';
import { rebuild } from './rebuild.js';

// WebGPU guarantees 8 storage buffers per shader stage: a fused kernel reads and writes at most that.
const MAX_STORAGE_BINDINGS = 8;

/** A set of nodes that become one kernel; `root` computes its single result. */
interface Group {
  members: Node[];
  root: Node;
  /** The conv or matmul whose kernel runs the rest as its epilogue. */
  anchor?: Node;
  /**
   * Work the anchor does on its input as it reads it: a per-channel scale before a conv (x * s,
   * after an SE gate), a widening cast before softmax, an elementwise chain before a reduction.
   */
  prologue?: Node[];
}

/** sum, mean, max or min of floats: the reductions whose kernel takes a prologue and an epilogue. */
function isFoldReduction(n: Node): boolean {
  return getOp(n.op).spec.reduce !== undefined && (n.output.type.dtype === 'f32' || n.output.type.dtype === 'f16');
}

/** A plain cast (one that rounds into no narrow format, so a reader may do it as it loads). */
function isPlainCast(n: Node): boolean {
  return n.op === 'cast' && n.attrs.format === undefined;
}

/** A cast between f16 and f32. */
function isFloatCast(n: Node): boolean {
  const [from, to] = [n.inputs[0]!.type.dtype, n.output.type.dtype];
  return isPlainCast(n) && from !== to && (from === 'f16' || from === 'f32') && (to === 'f16' || to === 'f32');
}

/** A cast from f16 to f32. */
function isWidening(n: Node): boolean {
  return isPlainCast(n) && n.inputs[0]!.type.dtype === 'f16' && n.output.type.dtype === 'f32';
}

/**
 * A cast of a graph input from f32 to f16 (f32 I/O under fp16): a matmul (its A) or a conv
 * (its x) reads the f32 input and converts it as it loads. (A computed value is better narrowed
 * in its producer's epilogue, which keeps the intermediate in f16.)
 */
function isNarrowingInput(n: Node): boolean {
  return isPlainCast(n) && n.inputs[0]!.producer === null && n.inputs[0]!.type.dtype === 'f32' && n.output.type.dtype === 'f16';
}

/** `mul(x, s)` with s one value per channel of x ([N or 1, C, 1, 1]): a conv can scale x as it reads it. */
function channelScale(n: Node): boolean {
  if (n.op !== 'mul' || n.output.type.shape.length !== 4) return false;
  const [a, b] = n.inputs.map((v) => v.type.shape) as [readonly number[], readonly number[]];
  const out = n.output.type.shape;
  const full = (s: readonly number[]) => s.length === 4 && s.every((d, i) => d === out[i]);
  const perChannel = (s: readonly number[]) => s.length === 4 && s[1] === out[1] && s[2] === 1 && s[3] === 1 && (s[0] === 1 || s[0] === out[0]);
  const float = n.output.type.dtype === 'f32' || n.output.type.dtype === 'f16';
  return float && ((full(a) && perChannel(b)) || (full(b) && perChannel(a)));
}

/** Elementwise under plain broadcasting (ops with their own operand indexing stay alone). */
function isElementwise(n: Node): boolean {
  const spec = getOp(n.op).spec;
  return n.outputs.length === 1 && spec.math !== undefined && spec.operandStrides === undefined && n.output.type.device === 'webgpu';
}

/** Values the group reads from outside itself, in first-use order. */
function externalInputs(members: readonly Node[]): Value[] {
  const inside = new Set(members.flatMap((m) => m.outputs));
  const out: Value[] = [];
  for (const m of members) for (const v of m.inputs) if (!inside.has(v) && !out.includes(v)) out.push(v);
  return out;
}

/** Whether `shape` broadcasts into `target` without growing it. */
function fitsIn(shape: readonly number[], target: readonly number[]): boolean {
  const off = target.length - shape.length;
  return off >= 0 && shape.every((d, i) => d === 1 || d === target[i + off]);
}

/** Storage bindings of a group's kernel: an anchor binds its operands and the epilogue's separately. */
function bindingCount(members: readonly Node[], anchor: Node | undefined): number {
  if (!anchor) return externalInputs(members).length + 1;
  const rest = members.filter((m) => m !== anchor);
  return anchor.inputs.length + externalInputs(rest).filter((v) => v !== anchor.output).length + 1;
}

/**
 * The view chains (transposes, reshapes, split outputs...) an anchor can read its operands
 * through: copied into its body so that the kernel reads the chain's base directly. The chain
 * nodes stay in the graph for other readers; dce drops them when none is left.
 */
function viewPrologue(anchor: Node, readsView: NonNullable<PassContext['readsView']>): Node[] {
  const chains = anchor.inputs.map((v, i) => {
    const t = traceView(v);
    return t && readsView(anchor.op, i, t.view) ? t.chain : [];
  });
  return [...new Set(chains.flat())];
}

/**
 * The narrowing cast of a graph input that an anchor reads as its first operand, when every
 * reader of the cast is such an anchor: each reads the f32 input and converts it as it loads,
 * so the f16 copy is never stored (dce drops the cast once no reader is left).
 */
function narrowingPrologue(
  anchor: Node, users: ReadonlyMap<Value, Node[]>, outputs: ReadonlySet<Value>, readsNarrowed: (op: string) => boolean,
): Node[] {
  const x = anchor.inputs[0]!;
  const cast = x.producer;
  if (!cast || !isNarrowingInput(cast) || outputs.has(x)) return [];
  const readsFirst = (r: Node) => readsNarrowed(r.op) && r.inputs.indexOf(x) === 0 && r.inputs.lastIndexOf(x) === 0;
  return (users.get(x) ?? []).every(readsFirst) ? [cast] : [];
}

/** The closed body graph of a group: its external inputs become parameters (names kept). */
function groupBody(groupMembers: readonly Node[], root: Node, prologue: readonly Node[]): { body: Graph; inputs: Value[] } {
  const members = [...prologue, ...groupMembers];
  const inputs = externalInputs(members);
  const body = new GraphClass(groupMembers.map((m) => m.op).join('_'));
  const map = new Map<Value, Value>();
  inputs.forEach((v) => map.set(v, body.addInput(v.name, v.type)));
  for (const m of members) {
    const n = body.addNode(m.op, m.inputs.map((v) => map.get(v)!), m.attrs, {
      types: m.outputs.map((o) => o.type), names: m.outputs.map((o) => o.name), device: m.outputs[0]!.type.device,
    });
    m.outputs.forEach((o, i) => map.set(o, n.outputs[i]!));
  }
  body.setOutputs([map.get(root.output)!]);
  return { body, inputs };
}

/**
 * Fuses chains of elementwise ops into single kernels, and into the epilogue of a conv or
 * matmul they follow. A node absorbs the group producing one of its operands when every reader
 * of that operand is in the merged group and it is not a graph output, so no value leaves a
 * group except its root's, and a group never needs a value from outside that depends on itself. A group holds at most one anchor, every value computed
 * from the anchor's result keeps its shape (the epilogue runs per output element), and a group
 * stops growing when its kernel would bind more storage buffers than WebGPU guarantees.
 */
export const fuseElementwise: Pass = {
  name: 'fuse',
  description: 'fuse elementwise chains into one kernel each, and into conv/matmul epilogues',
  run(g: Graph, ctx): Graph {
    const takesEpilogue = ctx.takesEpilogue ?? (() => false);
    const readsView = ctx.readsView ?? (() => false);
    const readsWidened = ctx.readsWidened ?? (() => false);
    const readsNarrowed = ctx.readsNarrowed ?? (() => false);
    const users = g.users();
    const outputs = new Set(g.outputs);
    const groupOf = new Map<Node, Group>();
    for (const n of g.nodes) {
      // A concat of more sources than one kernel binds runs as one copy per source, which reads
      // its source as stored: it reads no views and takes no epilogue.
      const concatInOneKernel = n.op === 'concat' && n.inputs.length < MAX_STORAGE_BINDINGS;
      if (n.outputs.length === 1 && n.output.type.device === 'webgpu' && (takesEpilogue(n.op) || concatInOneKernel)) {
        const group: Group = { members: [n], root: n, anchor: n };
        const x = n.inputs[0]!;
        const pg = x.producer ? groupOf.get(x.producer) : undefined;
        const soleReader = pg !== undefined && !pg.anchor && pg.root === x.producer && users.get(x)?.length === 1 && !outputs.has(x);
        const single = soleReader && pg.members.length === 1;
        // An ungrouped conv reads a per-channel scaling of its input through it; softmax, which
        // computes in f32 anyway, reads an f16 value being widened directly; a reduction computes
        // an elementwise chain over operands laid out like its input as it reads them.
        if ((single && ((n.op === 'conv2d' && n.attrs.groups === 1 && channelScale(pg.root)) || (readsWidened(n.op) && isWidening(pg.root))))
          || (soleReader && isFoldReduction(n) && pg.members.every((m) => shapesEqual(m.outputs[0]!.type.shape, x.type.shape))
            && externalInputs(pg.members).every((v) => shapesEqual(v.type.shape, x.type.shape)) && externalInputs(pg.members).length + 1 <= MAX_STORAGE_BINDINGS)) {
          group.members.unshift(...pg.members);
          group.prologue = [...pg.members];
        }
        for (const m of group.members) groupOf.set(m, group);
        continue;
      }
      // concat + channel_shuffle along the concat axis: one pass that writes shuffled channels.
      if (n.op === 'channel_shuffle') {
        const v = n.inputs[0]!;
        const pg = v.producer ? groupOf.get(v.producer) : undefined;
        if (pg?.anchor?.op === 'concat' && pg.root === v.producer && !outputs.has(v) && users.get(v)?.length === 1
          && resolveAxis(pg.anchor.attrs.axis as number, v.type.shape.length) === 1) {
          pg.members.push(n);
          pg.root = n;
          groupOf.set(n, pg);
        }
        continue;
      }
      if (!isElementwise(n)) continue;
      let group: Group = { members: [n], root: n };
      // A widening cast whose reader computes in f32 anyway is better read by that reader.
      const readers = users.get(n.output) ?? [];
      if (readers.length === 1 && isWidening(n) && readsWidened(readers[0]!.op)) {
        groupOf.set(n, group);
        continue;
      }
      // Until nothing changes: merging one operand's group can bring in every reader of another.
      for (let changed = true; changed;) {
        changed = false;
        for (const v of n.inputs) {
          const p = v.producer;
          const pg = p ? groupOf.get(p) : undefined;
          if (!pg || pg.root !== p || outputs.has(v) || group.members.includes(p!)) continue;
          // Every reader of v must end up inside the merged group (x * relu6(x + 3) reads x twice).
          const inside = new Set([...group.members, ...pg.members]);
          if (!(users.get(v) ?? []).every((r) => inside.has(r))) continue;
          if (pg.anchor && group.anchor) continue;
          // concat groups take no epilogue but a float cast; integer reductions none
          const concatCast = pg.anchor?.op === 'concat' && group.members.length === 1 && isFloatCast(n) && !pg.members.some((m) => m.op === 'cast');
          if (pg.anchor && !concatCast && (!takesEpilogue(pg.anchor.op) || (getOp(pg.anchor.op).spec.reduce && !isFoldReduction(pg.anchor)))) continue;
          const anchor = pg.anchor ?? group.anchor;
          const merged = [...pg.members, ...group.members.filter((m) => !pg.members.includes(m))];
          // The epilogue runs once per anchor result: nothing in it may be larger than that.
          const prologue = pg.prologue ?? group.prologue;
          if (anchor && !merged.every((m) => m === anchor || prologue?.includes(m) || fitsIn(m.outputs[0]!.type.shape, anchor.output.type.shape))) continue;
          merged.sort((a, b) => g.nodes.indexOf(a) - g.nodes.indexOf(b));
          if (bindingCount(merged, anchor) > MAX_STORAGE_BINDINGS) continue;
          group = { members: merged, root: n, ...(anchor ? { anchor } : {}), ...(prologue ? { prologue } : {}) };
          changed = true;
        }
      }
      for (const m of group.members) groupOf.set(m, group);
    }
    const prologues = new Map<Group, Node[]>();
    for (const gr of new Set(groupOf.values())) {
      if (gr.anchor) prologues.set(gr, [...narrowingPrologue(gr.anchor, users, outputs, readsNarrowed), ...viewPrologue(gr.anchor, readsView)]);
    }
    const fused = new Set([...groupOf.values()].filter((gr) => gr.members.length > 1 || (prologues.get(gr)?.length ?? 0) > 0));
    if (fused.size === 0) return g;
    return rebuild(g, (node, b) => {
      const group = groupOf.get(node);
      if (!group || !fused.has(group)) return false;
      if (group.root !== node) return true; // emitted with its root
      const { body, inputs } = groupBody(group.members, node, prologues.get(group) ?? []);
      const f = b.add('fused', inputs.map((v) => b.get(v)), { body }, node.output.type.device, [node.output.name]);
      b.replace(node.output, f.output);
      return true;
    });
  },
};
