import type { Graph, Node, Value } from '../ir/graph.js';
import { bufferRoles, type BufferRoles } from '../ir/alias.js';
import { dtypeBytes, numel } from '../ir/types.js';
import type { Pass } from './pass.js';
import { GraphRebuilder } from './rebuild.js';

/** A stretch of nodes to order: what each node reads and the bytes its results occupy. */
export interface ScheduleProblem {
  /** For each node, the nodes (indices) whose results it reads. */
  readonly preds: readonly (readonly number[])[];
  /** Bytes of the buffers each node's results occupy (0 for aliases and graph outputs). */
  readonly allocates: readonly number[];
}

/**
 * Runs each node's inputs before it, the input branch needing the most memory first (as Sethi
 * and Ullman order register allocation), and finishes a branch before starting the next, so a
 * branch's intermediates are dead, and their buffers free, when the next one starts.
 */
export function deepestBranchFirst(p: ScheduleProblem): number[] {
  const n = p.preds.length;
  // need[i]: peak bytes to compute node i from nothing, counting shared inputs once per reader.
  const need = new Array<number>(n).fill(0);
  const byNeed = (a: number, b: number) => (need[b]! - p.allocates[b]!) - (need[a]! - p.allocates[a]!);
  const inputsFirst = p.preds.map(() => [] as number[]);
  const hasReader = new Array<boolean>(n).fill(false);
  for (let i = 0; i < n; i++) {
    inputsFirst[i] = [...p.preds[i]!].sort(byNeed);
    let held = 0;
    let peak = 0;
    for (const c of inputsFirst[i]!) {
      peak = Math.max(peak, held + need[c]!);
      held += p.allocates[c]!;
      hasReader[c] = true;
    }
    need[i] = Math.max(peak, held + p.allocates[i]!);
  }
  // Depth first from each node nobody here reads, inputs in need order, a node after its inputs.
  const order: number[] = [];
  const seen = new Array<boolean>(n).fill(false);
  for (const root of [...Array(n).keys()].filter((i) => !hasReader[i]).sort(byNeed)) {
    const stack: { node: number; next: number }[] = [{ node: root, next: 0 }];
    seen[root] = true;
    while (stack.length) {
      const top = stack.at(-1)!;
      const ins = inputsFirst[top.node]!;
      while (top.next < ins.length && seen[ins[top.next]!]) top.next++;
      if (top.next === ins.length) {
        order.push(top.node);
        stack.pop();
      } else {
        const c = ins[top.next++]!;
        seen[c] = true;
        stack.push({ node: c, next: 0 });
      }
    }
  }
  return order;
}

/** The scheduling problem of a stretch of nodes of a graph whose buffers are as `roles` says. */
function problemOf({ root, isScratch }: BufferRoles, stretch: readonly Node[]): ScheduleProblem {
  const index = new Map(stretch.map((n, i) => [n, i]));
  const bytes = (v: Value) => (root(v) === v && isScratch(v) ? dtypeBytes(v.type.dtype) * numel(v.type.shape) : 0);
  return {
    preds: stretch.map((n) => [...new Set(n.inputs.flatMap((v) => (v.producer && index.has(v.producer) ? [index.get(v.producer)!] : [])))]),
    allocates: stretch.map((n) => n.outputs.reduce((a, o) => a + bytes(o), 0)),
  };
}

/**
 * Maximal runs of nodes that may be reordered among themselves: non-constant nodes on one
 * device. A transfer stands alone, so device segments stay as placement made them.
 */
function stretches(g: Graph): Node[][] {
  const runs: Node[][] = [];
  let device: string | undefined;
  for (const n of g.nodes) {
    if (n.op === 'const') continue;
    const d = n.op === 'transfer' ? undefined : n.outputs[0]?.type.device;
    if (d === undefined || d !== device) runs.push([]);
    runs.at(-1)!.push(n);
    device = d;
  }
  return runs;
}

/** `g` with its non-constant nodes in `order`, each constant just before its first reader. */
function reordered(g: Graph, order: readonly Node[]): Graph {
  const b = new GraphRebuilder(g);
  const readers = g.users();
  for (const n of g.nodes) if (n.op === 'const' && !readers.has(n.output)) b.copy(n);
  const placed = new Set<Node>();
  for (const n of order) {
    for (const v of n.inputs) {
      const c = v.producer;
      if (c?.op === 'const' && !placed.has(c)) { placed.add(c); b.copy(c); }
    }
    b.copy(n);
  }
  return b.finish();
}

/**
 * Orders nodes so that fewer intermediates are alive at once: on a fork, the branch that needs
 * the most memory runs first, while little else is held (a ShuffleNet unit's wide 1x1 conv
 * before its narrow depthwise branch). The new order is weighed by the memory plan codegen
 * makes of it (`ctx.plannedBytes`) and kept only when that needs strictly fewer bytes.
 */
export const scheduleForMemory: Pass = {
  name: 'schedule',
  description: 'order nodes so fewer intermediates are alive at once (lower peak memory)',
  run(g: Graph, ctx): Graph {
    if (!ctx.plannedBytes) return g;
    const roles = bufferRoles(g);
    const order = stretches(g).flatMap((run) => deepestBranchFirst(problemOf(roles, run)).map((i) => run[i]!));
    const listed = g.nodes.filter((n) => n.op !== 'const');
    if (order.every((n, i) => n === listed[i])) return g;
    const candidate = reordered(g, order);
    return ctx.plannedBytes(candidate) < ctx.plannedBytes(g) ? candidate : g;
  },
};
