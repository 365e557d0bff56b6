import type { Graph, Node, Value } from '../ir/graph.js';
import type { Attrs } from '../ir/attrs.js';
import { scalarConstant, MAX_STORAGE_BINDINGS, type AnchorRoles, type OperandRead } from '../ir/fusion.js';
import {
  ABSORB_MATCHERS, closedBody, COPY_MATCHERS, EPILOGUE_MATCHERS, externalInputs, isElementwise, type MatchContext,
} from './fusion-matchers.js';
import { isGpu } from '../ir/types.js';
import type { Pass } from './pass.js';
import { rebuild } from './rebuild.js';

/** A set of nodes that become one kernel; `root` computes its single result. */
interface Group {
  members: Node[];
  root: Node;
  /** The node whose kernel runs the rest (conv, matmul, reduction...), with what its roles accept. */
  anchor?: Node;
  /** Operands of the anchor whose producing nodes it computes as it reads them (absorbed into the group). */
  absorbed?: ReadonlyMap<number, { read: OperandRead; nodes: readonly Node[] }>;
  /** How the anchor reads each operand, the nodes copied in front for it, and the bindings they add (copiedReads). */
  copied?: CopiedReads;
}

interface CopiedReads {
  readonly reads: readonly OperandRead[];
  readonly nodes: readonly Node[];
  readonly extra: number;
}

/** Nodes of a group that compute an anchor's operands rather than follow it. */
function prologueOf(group: Group): Set<Node> {
  return new Set([...(group.absorbed?.values() ?? [])].flatMap((a) => a.nodes));
}

/** Whether `shape` broadcasts into `target` without growing it. */
function fitsIn(shape: readonly number[], target: readonly number[]): boolean {
  const off = target.length - shape.length;
  return off >= 0 && shape.every((d, i) => d === 1 || d === target[i + off]);
}

/**
 * Storage bindings of a group's kernel: an anchor binds one tensor per operand (or, for an operand
 * it computes as it reads, that work's operands), then its epilogue's operands but for
 * one-element constants (passed as uniforms, see scalarConstant), then the output.
 */
function bindingCount(group: Group): number {
  const { members, anchor } = group;
  if (!anchor) return externalInputs(members).length + 1;
  const own = anchor.inputs.reduce((sum, _, i) => sum + (group.absorbed?.has(i) ? externalInputs(group.absorbed.get(i)!.nodes).length : 1), 0);
  const before = prologueOf(group);
  const epilogue = members.filter((m) => m !== anchor && !before.has(m));
  return own + (group.copied?.extra ?? 0) + externalInputs(epilogue).filter((v) => v !== anchor.output && scalarConstant(v) === undefined).length + 1;
}

/**
 * How a new anchor group's anchor reads each operand no absorbed work computes: views and narrowed
 * inputs, dequantized weights, whose nodes are copied in front of it (COPY_MATCHERS). The kernel
 * binds a copied read's operands instead of the one (an int8 weight: its values and its scales),
 * so they are counted before any epilogue takes the bindings left: a weight dequantized by a
 * kernel of its own costs a dispatch and its whole f32 size every run, an epilogue op left out a
 * dispatch over the output. Past the limit, an operand is read as it is.
 */
function copiedReads(group: Group, roles: AnchorRoles, match: MatchContext): CopiedReads {
  const anchor = group.anchor!;
  const nodes: Node[] = [];
  let bindings = bindingCount(group);
  const reads = anchor.inputs.map((_, i): OperandRead => {
    const absorbed = group.absorbed?.get(i);
    if (absorbed) return absorbed.read;
    for (const m of COPY_MATCHERS) {
      const taken = roles.reads(anchor, i).includes(m.read) ? m.match(anchor, i, match) : undefined;
      const more = taken ? externalInputs(taken).length - 1 : 0;
      if (taken && bindings + more <= MAX_STORAGE_BINDINGS) {
        bindings += more;
        nodes.push(...taken.filter((t) => !nodes.includes(t)));
        return m.read;
      }
    }
    return 'plain';
  });
  return { reads, nodes, extra: bindings - bindingCount(group) };
}

/** The closed body graph of a group (copied prologue nodes first): its external inputs become parameters (names kept). */
function groupBody(group: Group, copied: readonly Node[]): { body: Graph; inputs: Value[]; anchorIndex: number } {
  const members = [...copied, ...group.members];
  const { body, inputs } = closedBody(group.members.map((m) => m.op).join('_'), members, group.root.output);
  return { body, inputs, anchorIndex: group.anchor ? members.indexOf(group.anchor) : -1 };
}

/**
 * Fuses chains of elementwise ops into single kernels, and into the kernels of anchors (conv,
 * matmul, reductions, softmax, layer_norm, concat) along the roles codegen declares for them:
 * which reads of its operands an anchor's kernel does (the matchers in fusion-matchers.ts), and
 * which work after it it takes. A node absorbs the group producing one of its operands when every
 * reader of that operand is in the merged group and it is not a graph output, so no value leaves a
 * group except its root's, and a group never needs a value from outside that depends on itself.
 * A group holds at most one anchor, every value computed from the anchor's result keeps its shape
 * (the epilogue runs per output element), and a group stops growing when its kernel would bind
 * more storage buffers than WebGPU guarantees, an anchor's copied reads (a dequantized weight's
 * buffers) counted first (copiedReads). The fused node records the anchor and its reads.
 */
export const fuseElementwise: Pass = {
  name: 'fuse',
  description: 'fuse elementwise chains into one kernel each, and into the kernels of the anchors they surround',
  run(g: Graph, ctx): Graph {
    const rolesOf = ctx.anchorRoles ?? (() => undefined);
    const users = g.users();
    const outputs = new Set(g.outputs);
    const match: MatchContext = { users, outputs, roles: rolesOf };
    const groupOf = new Map<Node, Group>();
    /** The group without an anchor that produces `v` as its root, when `reader` reads `v` once and alone. */
    const soleProducer = (v: Value, reader: Node): Group | undefined => {
      const pg = v.producer ? groupOf.get(v.producer) : undefined;
      const readers = users.get(v) ?? [];
      const once = reader.inputs.indexOf(v) === reader.inputs.lastIndexOf(v);
      return pg && !pg.anchor && pg.root === v.producer && readers.length === 1 && once && !outputs.has(v) ? pg : undefined;
    };
    for (const n of g.nodes) {
      const roles = n.outputs.length === 1 && isGpu(n.output.type.device) ? rolesOf(n.op) : undefined;
      if (roles) {
        const group: Group = { members: [n], root: n, anchor: n };
        const absorbed = new Map<number, { read: OperandRead; nodes: readonly Node[] }>();
        n.inputs.forEach((v, i) => {
          const pg = soleProducer(v, n);
          const matcher = pg && ABSORB_MATCHERS.find((m) => roles.reads(n, i).includes(m.read) && m.matches(n, i, pg.members));
          if (!pg || !matcher) return;
          absorbed.set(i, { read: matcher.read, nodes: pg.members });
          group.members.unshift(...pg.members);
        });
        if (absorbed.size) group.absorbed = absorbed;
        group.copied = copiedReads(group, roles, match);
        group.members.sort((a, b) => g.nodes.indexOf(a) - g.nodes.indexOf(b));
        for (const m of group.members) groupOf.set(m, group);
        continue;
      }
      // A single node the anchor before it does as it writes (a concat's channel shuffle or cast).
      const v = n.inputs[0];
      const pg = v?.producer ? groupOf.get(v.producer) : undefined;
      const epilogue = pg?.anchor && pg.root === v!.producer && !outputs.has(v!) && users.get(v!)?.length === 1 && n.outputs.length === 1
        ? EPILOGUE_MATCHERS.find((m) => rolesOf(pg.anchor!.op)?.epilogue(pg.anchor!).includes(m.role) && m.matches(n, pg.members)) : undefined;
      if (epilogue) {
        pg!.members.push(n);
        pg!.root = n;
        groupOf.set(n, pg!);
        continue;
      }
      if (!isElementwise(n)) continue;
      let group: Group = { members: [n], root: n };
      // A node its only reader takes alone as a read (a widening cast before softmax) stays alone.
      const readers = users.get(n.output) ?? [];
      const reader = readers.length === 1 ? readers[0]! : undefined;
      const readerRoles = reader && rolesOf(reader.op);
      if (reader && readerRoles && !outputs.has(n.output) && ABSORB_MATCHERS.some((m) => m.claimsAlone
        && reader.inputs.some((v, i) => v === n.output && readerRoles.reads(reader, i).includes(m.read)) && m.matches(reader, reader.inputs.indexOf(n.output), [n]))) {
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
          if (pg.anchor && !rolesOf(pg.anchor.op)!.epilogue(pg.anchor).includes('elementwise')) continue;
          const anchored = pg.anchor ? pg : group.anchor ? group : undefined;
          const merged: Group = {
            members: [...pg.members, ...group.members.filter((m) => !pg.members.includes(m))].sort((a, b) => g.nodes.indexOf(a) - g.nodes.indexOf(b)),
            root: n,
            ...(anchored ? { anchor: anchored.anchor! } : {}),
            ...(anchored?.absorbed ? { absorbed: anchored.absorbed } : {}),
            ...(anchored?.copied ? { copied: anchored.copied } : {}),
          };
          // The epilogue runs once per anchor result: nothing in it may be larger than that.
          const before = prologueOf(merged);
          const anchor = merged.anchor;
          if (anchor && !merged.members.every((m) => m === anchor || before.has(m) || fitsIn(m.outputs[0]!.type.shape, anchor.output.type.shape))) continue;
          if (bindingCount(merged) > MAX_STORAGE_BINDINGS) continue;
          group = merged;
          changed = true;
        }
      }
      for (const m of group.members) groupOf.set(m, group);
    }
    const fused = new Set([...groupOf.values()].filter((gr) => gr.members.length > 1 || (gr.copied?.nodes.length ?? 0) > 0));
    if (fused.size === 0) return g;
    return rebuild(g, (node, b) => {
      const group = groupOf.get(node);
      if (!group || !fused.has(group)) return false;
      if (group.root !== node) return true; // emitted with its root
      const copied = group.copied;
      const { body, inputs, anchorIndex } = groupBody(group, copied?.nodes ?? []);
      const attrs: Attrs = copied ? { body, anchor: anchorIndex, reads: copied.reads.join(',') } : { body };
      const f = b.add('fused', inputs.map((v) => b.get(v)), attrs, node.output.type.device, [node.output.name]);
      b.replace(node.output, f.output);
      return true;
    });
  },
};
